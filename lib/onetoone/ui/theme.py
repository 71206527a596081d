"""One look for the whole product: a plotly template, a colour palette and number formats.

Every figure builder in :mod:`onetoone.ui` ends with :func:`style` (or passes
``template=TEMPLATE``), and every number a person reads goes through :func:`money`,
:func:`number` or :func:`percent`, so charts, widgets and reports agree::

    from onetoone.ui import theme
    fig = go.Figure(...)
    theme.style(fig, "The top 5 % of customers hold 44 % of value",
                subtitle="Customers ranked by last year's contribution")
    theme.money(1_234_567, "EUR")     # '€1.23M'
    theme.percent(0.4427)             # '44.3 %'

Colours: :data:`PALETTE` names roles (ink, muted, grid, primary, accent, good, bad);
:data:`COLORWAY` is the order of series, distinguishable for the common colour-vision
deficiencies (after Okabe & Ito). The accent (orange) is kept for "the thing to look at":
the fence, a selected customer, a threshold.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
import plotly.io as pio

__all__ = [
    "COLORWAY",
    "PALETTE",
    "TEMPLATE",
    "currency_symbol",
    "money",
    "money_axis",
    "number",
    "percent",
    "style",
    "use",
]

PALETTE: dict[str, str] = {
    "ink": "#1f2933",  # text, axes
    "muted": "#52606d",  # secondary text, reference lines
    "grid": "#d9e2ec",  # grid lines, rules
    "background": "#ffffff",
    "primary": "#0b4f6c",  # the main series
    "primary_light": "#9fc3d6",  # fills under the main series
    "accent": "#e07a1f",  # the fence, a selection, a threshold
    "good": "#2e8540",  # benefit, gain
    "bad": "#c0392b",  # cost, loss
}
"""Colours by role."""

COLORWAY: list[str] = [
    "#0b4f6c",
    "#e07a1f",
    "#2e8540",
    "#8e5ea2",
    "#56b4e9",
    "#c0392b",
    "#cc79a7",
    "#7b8794",
]
"""Series colours in order."""

TEMPLATE = "onetoone"
"""Name of the registered plotly template (use ``template=TEMPLATE``)."""

FONT = "Inter, 'Segoe UI', 'Helvetica Neue', Arial, sans-serif"

_SYMBOLS = {
    "EUR": "€",
    "USD": "$",
    "GBP": "£",
    "JPY": "¥",
    "CNY": "¥",
    "INR": "₹",
    "KRW": "₩",
    "AUD": "A$",
    "CAD": "C$",
    "NZD": "NZ$",
    "HKD": "HK$",
    "SGD": "S$",
}
_PREFIXES = ((1e12, "T"), (1e9, "bn"), (1e6, "M"), (1e3, "k"))


def _register() -> None:
    axis = {
        "gridcolor": PALETTE["grid"],
        "linecolor": PALETTE["muted"],
        "zerolinecolor": PALETTE["grid"],
        "ticks": "outside",
        "tickcolor": PALETTE["grid"],
        "title_standoff": 8,
        "automargin": True,
        "title_font": {"size": 13, "color": PALETTE["muted"]},
    }
    pio.templates[TEMPLATE] = go.layout.Template(
        layout={
            "font": {"family": FONT, "size": 13, "color": PALETTE["ink"]},
            "title": {
                "font": {"size": 18, "color": PALETTE["ink"]},
                "x": 0.0,
                "xanchor": "left",
                "xref": "paper",
                "subtitle": {"font": {"size": 13, "color": PALETTE["muted"]}},
            },
            "colorway": COLORWAY,
            "paper_bgcolor": PALETTE["background"],
            "plot_bgcolor": PALETTE["background"],
            "xaxis": axis,
            "yaxis": axis,
            "legend": {
                "orientation": "h",
                "yanchor": "bottom",
                "y": 1.01,
                "xanchor": "left",
                "x": 0.0,
                "bgcolor": "rgba(0,0,0,0)",
                "font": {"size": 12},
            },
            "hoverlabel": {"font": {"family": FONT, "size": 12}, "bgcolor": "white"},
            "hovermode": "closest",
            "margin": {"l": 70, "r": 30, "t": 110, "b": 60},
            "separators": ".,",
        }
    )


_register()


def use() -> None:
    """Make the onetoone template the default for every figure in this process."""
    pio.templates.default = TEMPLATE


def style(
    fig: go.Figure, title: str | None = None, subtitle: str | None = None, height: int | None = None
) -> go.Figure:
    """Apply the template and a story-telling title (the finding) with a subtitle (what is shown).

    Returns the same figure, for chaining.
    """
    layout: dict = {"template": TEMPLATE}
    if title is not None:
        layout["title"] = {"text": title, "subtitle": {"text": subtitle or ""}}
    if height is not None:
        layout["height"] = height
    fig.update_layout(**layout)
    return fig


def currency_symbol(currency: str) -> tuple[str, str]:
    """(prefix, suffix) for a 3-letter currency code: ('€', '') for EUR, ('', ' CHF') for CHF."""
    code = (currency or "").upper()
    if code in _SYMBOLS:
        return _SYMBOLS[code], ""
    return "", f" {code}" if code else ""


def number(x: float, compact: bool = True, decimals: int | None = None) -> str:
    """A count or amount for people: '1,234', '12.3k', '1.23M' (compact), '–' for missing.

    Parameters
    ----------
    compact : bool
        Abbreviate from 10,000 up (k, M, bn, T) to three significant digits; below that
        numbers are written in full ('9,876').
    decimals : int, optional
        Decimals when not abbreviated (default 0 from 100 up, else up to 2).
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "-∞"
    sign = "-" if x < 0 else ""
    a = abs(float(x))
    if compact and a >= 9999.5:
        for size, suffix in _PREFIXES:
            if a >= size * 0.9995:
                v = a / size
                digits = 2 if v < 10 else 1 if v < 100 else 0
                return f"{sign}{v:.{digits}f}{suffix}"
    if decimals is None:
        decimals = 0 if a >= 100 or float(a).is_integer() else 2
    return f"{sign}{a:,.{decimals}f}"


def money(
    x: float, currency: str = "EUR", compact: bool = True, decimals: int | None = None
) -> str:
    """An amount with its currency: '€1.23M', '$950', '9,400 CHF', '-€32.5k'."""
    text = number(x, compact=compact, decimals=decimals)
    if text in ("–", "∞", "-∞"):
        return text
    prefix, suffix = currency_symbol(currency)
    sign, body = ("-", text[1:]) if text.startswith("-") else ("", text)
    return f"{sign}{prefix}{body}{suffix}"


def percent(x: float, decimals: int = 1) -> str:
    """A share as a percentage: 0.4427 -> '44.3 %'; small shares keep two significant digits."""
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return "–"
    p = 100 * float(x)
    if 0 < abs(p) < 1 and decimals < 2:
        decimals = 2
    return f"{p:.{decimals}f} %"


def money_axis(currency: str = "EUR") -> dict:
    """Axis settings for money: currency prefix or suffix and SI abbreviations (1.2M)."""
    prefix, suffix = currency_symbol(currency)
    return {"tickprefix": prefix, "ticksuffix": suffix, "tickformat": "~s", "hoverformat": ",.0f"}
