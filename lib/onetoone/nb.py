"""What every notebook does first and last: find the client, open its workspace, record figures.

A notebook's ``parameters`` cell sets ``CONFIG = ""``; :func:`start` then uses, in order, the
``CONFIG`` value, the ``ONETOONE_CONFIG`` environment variable (set by ``onetoone lab CONFIG``
and by the batch), and the sample client. So a consultant switches clients without editing a
cell, and papermill injects ``CONFIG`` for batch runs.

The closing cell calls :func:`record` with the figures a test or the batch index reads back;
they are displayed as a table and carried in the output as ``application/json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from . import paths
from .config import ClientConfig, load_config
from .workspace import Workspace

FIGURES_MIME = "application/vnd.onetoone.figures+json"


def resolve_config_path(config: str | os.PathLike | None = "") -> Path:
    """The client YAML a notebook should use (argument, then $ONETOONE_CONFIG, then the sample)."""
    if config:
        return Path(config).expanduser().resolve()
    env = os.environ.get("ONETOONE_CONFIG")
    if env:
        return Path(env).expanduser().resolve()
    return paths.SAMPLE_CONFIG


@dataclass
class Session:
    """The client a notebook works on: its config and its workspace."""

    cfg: ClientConfig
    ws: Workspace

    def close(self) -> None:
        """Release the workspace (the DuckDB file, or a Spark warehouse's writer lock) so
        another notebook or command can write it; the lookups keep working (they reopen it
        read-only per lookup)."""
        self.ws.close()

    def describe(self) -> str:
        tables = self.ws.tables()
        where = (Path(self.ws.path).name if os.environ.get("ONETOONE_STATIC_WIDGETS")
                 else self.ws.path)  # a report does not show paths on the analyst's machine
        return (f"client: {self.cfg.client} | as of {self.cfg.as_of} | currency {self.cfg.currency}"
                f" | workspace {where} ({len(tables)} tables)")


def start(config: str | os.PathLike | None = "", renderer: str | None = None) -> Session:
    """Load the client config, open its workspace and set the plotly renderer.

    The renderer is ``$ONETOONE_PLOTLY_RENDERER`` when set (the batch sets ``notebook`` so the
    HTML reports carry plotly.js and open offline), else ``plotly_mimetype`` (JupyterLab, Voila).
    """
    import plotly.io as pio

    from .ui import format as ui_format
    from .ui import static

    static.register_renderer()  # the batch's renderer: plotly.js once per report folder
    pio.renderers.default = renderer or os.environ.get("ONETOONE_PLOTLY_RENDERER", "plotly_mimetype")
    try:
        from .ui import theme  # noqa: F401  (registers the house plotly template)
    except ImportError:
        pass
    cfg = load_config(resolve_config_path(config))
    ui_format.install(cfg)  # every DataFrame shown goes through the one formatting layer
    if static.enabled():  # a report run: widgets show their static state
        static.install()
    return Session(cfg=cfg, ws=Workspace.open(cfg))


def _plain(v):
    try:
        import numpy as np

        if isinstance(v, np.generic):
            return v.item()
    except ImportError:  # pragma: no cover
        pass
    return v


def record(stage: str, **figures) -> dict:
    """Show the notebook's key figures and carry them in the output for tests and the batch."""
    from IPython.display import display

    clean = {k: _plain(v) for k, v in figures.items()}
    json.dumps(clean)  # fail here, not in a test, when a figure is not plain data
    from .ui.format import figures_html

    html = figures_html(stage, clean)  # words and units, through the one formatting layer
    display({FIGURES_MIME: {"stage": stage, "figures": clean}, "text/html": html}, raw=True)
    return clean


def figures_from_notebook(nb_path: str | os.PathLike) -> dict:
    """Read back the figures an executed notebook recorded (``{stage: {name: value}}``)."""
    nb = json.loads(Path(nb_path).read_text(encoding="utf-8"))
    out: dict = {}
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if FIGURES_MIME in data:
                rec = data[FIGURES_MIME]
                out.setdefault(rec["stage"], {}).update(rec["figures"])
    return out
