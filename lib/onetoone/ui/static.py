"""Widgets in reports: each renders as what it shows (its figure and readout), not its repr.

A live widget needs a kernel; an HTML or PDF report has none. When a notebook runs for a report
(``$ONETOONE_STATIC_WIDGETS``, set by the batch), :func:`install` registers an IPython display
formatter for every ipywidget: displaying one writes its *static state* as HTML.

The protocol: a widget may define ``static_view(self) -> list`` returning what a reader should
see, in order: HTML strings, plotly figures (``go.Figure`` or ``FigureWidget``), DataFrames
(formatted and masked by :mod:`onetoone.ui.format`) or other widgets. A widget without it is
drawn from its children: HTML and labels as they are, a control as "its description: its
value", a figure as the figure, boxes side by side or stacked as laid out.
"""

from __future__ import annotations

import html
import os

STATIC_ENV = "ONETOONE_STATIC_WIDGETS"
"""Set to ``1`` (the batch does) to display widgets as their static state."""

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                 "modeBarButtonsToRemove": ["sendDataToCloud"]}


def enabled() -> bool:
    return os.environ.get(STATIC_ENV, "") not in ("", "0", "false", "no")


def figure_html(fig) -> str:
    """A plotly figure as a div for a page that loads plotly.js once (no copy of it here)."""
    import plotly.graph_objects as go
    import plotly.io as pio

    if not isinstance(fig, go.Figure) or type(fig) is not go.Figure:
        fig = go.Figure(fig.to_dict() if hasattr(fig, "to_dict") else fig)
    return pio.to_html(fig, include_plotlyjs=False, full_html=False, config=PLOTLY_CONFIG,
                       validate=False)


def _control_text(w) -> str:
    from . import format as F

    desc = getattr(w, "description", "") or ""
    v = getattr(w, "value", None)
    if isinstance(v, (tuple, list)):
        text = " to ".join(F.value(x) for x in v)
    elif isinstance(v, float):
        fmt = getattr(w, "readout_format", "") or ""
        text = F.percent(v) if fmt.endswith("%") else F.number(v)
    else:
        text = F.value(v)
    if not desc:
        return html.escape(text)
    return (f"<span class='static-control'><span class='static-label'>{html.escape(desc)}"
            f"</span> <b>{html.escape(text)}</b></span>")


def _output_html(out) -> str:
    from . import format as F

    parts = []
    for o in getattr(out, "outputs", ()):
        data = o.get("data", {})
        if "text/html" in data:
            parts.append(data["text/html"])
        elif "application/vnd.plotly.v1+json" in data:
            parts.append(figure_html(data["application/vnd.plotly.v1+json"]))
        elif o.get("output_type") == "stream":
            parts.append(f"<pre>{html.escape(o.get('text', ''))}</pre>")
        elif "text/plain" in data:
            parts.append(f"<pre>{html.escape(F.value(data['text/plain']))}</pre>")
    return "".join(parts)


def render(item) -> str:
    """One item of a static view (HTML, figure, DataFrame, widget, list) as HTML."""
    import ipywidgets as widgets
    import pandas as pd
    import plotly.graph_objects as go

    from . import format as F

    if item is None:
        return ""
    if isinstance(item, str):
        return item
    if isinstance(item, (list, tuple)):
        return "".join(render(i) for i in item)
    if isinstance(item, pd.DataFrame):
        return F.table_html(item)
    if isinstance(item, (go.Figure, go.FigureWidget)) or type(item).__name__ == "FigureWidget":
        return figure_html(item)
    if hasattr(item, "static_view") and callable(item.static_view):
        return render(item.static_view())
    if isinstance(item, widgets.Widget):
        if isinstance(item, widgets.Output):
            return _output_html(item)
        if isinstance(item, (widgets.HTML, widgets.HTMLMath)):
            return item.value or ""
        if isinstance(item, widgets.Label):
            return f"<div>{html.escape(str(item.value))}</div>"
        if isinstance(item, (widgets.Button, widgets.FileUpload)):
            return ""
        if isinstance(item, widgets.Tab) or type(item).__name__ in ("Accordion", "Stack"):
            kids = list(getattr(item, "children", ()))
            titles = list(getattr(item, "titles", ()) or [])
            return "".join(f"<h4>{html.escape(str(titles[i]) if i < len(titles) else '')}</h4>"
                           f"{render(k)}" for i, k in enumerate(kids))
        if isinstance(item, widgets.Box):
            row = isinstance(item, widgets.HBox) or getattr(item.layout, "flex_flow", "") == "row"
            style = ("display:flex;flex-wrap:wrap;gap:12px 24px;align-items:flex-start"
                     if row else "display:flex;flex-direction:column;gap:8px")
            kids = "".join(f"<div style='min-width:0;max-width:100%'>{render(k)}</div>"
                           for k in item.children if getattr(k.layout, "display", "") != "none")
            return f"<div style='{style}'>{kids}</div>"
        if hasattr(item, "value"):
            return f"<div>{_control_text(item)}</div>"
        return ""
    return f"<div>{html.escape(F.value(item))}</div>"


def static_html(widget) -> str:
    """The static state of a widget, framed as a snapshot of the live view."""
    body = render(widget)
    name = html.escape(type(widget).__name__)
    return (f"<div class='onetoone-static-widget' data-widget='{name}'>{body}"
            f"<p class='static-note'>A snapshot of the interactive view at the position "
            f"described here; open the notebook to move it.</p></div>")


def _is_progress(widget) -> bool:
    """A progress bar (tqdm's notebook bar is a box around one): nothing to show in a report."""
    import ipywidgets as widgets

    if isinstance(widget, (widgets.FloatProgress, widgets.IntProgress)):
        return True
    return isinstance(widget, widgets.Box) and any(_is_progress(c) for c in widget.children)


def static_bundle(widget) -> dict:
    if _is_progress(widget):
        return {"text/html": ""}
    return {"text/html": static_html(widget),
            "text/plain": f"[{type(widget).__name__}: interactive view, shown as a snapshot]"}


def install(ip=None) -> bool:
    """Display every ipywidget as its static state from now on in this kernel."""
    from .format import running_ipython

    ip = running_ipython(ip)
    if ip is None:
        return False
    import ipywidgets as widgets

    ip.display_formatter.mimebundle_formatter.for_type(widgets.Widget, static_bundle)
    return True


# -- plotly figures in reports -----------------------------------------------------------------
REPORT_RENDERER = "onetoone_report"
"""The plotly renderer a report run uses: a div per figure, plotly.js loaded once by the page."""


def register_renderer() -> None:
    """Register :data:`REPORT_RENDERER` with plotly (idempotent)."""
    import plotly.io as pio
    from plotly.io._base_renderers import MimetypeRenderer

    class ReportRenderer(MimetypeRenderer):
        def to_mimebundle(self, fig_dict):
            return {"text/html": figure_html(fig_dict)}

    if REPORT_RENDERER not in pio.renderers:
        pio.renderers[REPORT_RENDERER] = ReportRenderer()
