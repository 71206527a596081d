"""The board pack: report pages, the client's index, and the PDF, from executed notebooks.

- :func:`notebook_to_html`: an executed notebook as a page with the code hidden, no request to
  any network address (no require.js, MathJax or mermaid), plotly.js from the folder's one copy
  (:func:`write_plotly_js`), navigation to the index and the other reports, print rules that
  keep charts and tables whole.
- :func:`write_index`: what an executive reads in two minutes: each stage in a sentence and a
  few numbers with units (:mod:`onetoone.report.summary`), the scorecard, and a small footer
  with run status, timings and provenance.
- :func:`onetoone.report.pdf.board_pack`: index and reports printed to one PDF by Chromium.

Tables are formatted and contact data masked in the kernel, before anything is rendered
(:mod:`onetoone.ui.format`, :mod:`onetoone.masking`); pages are Jinja2 templates.
"""

from __future__ import annotations

from pathlib import Path

from .summary import STAGES, TITLES, StageSummary, stage_summaries

__all__ = ["PLOTLY_JS", "STAGES", "TITLES", "StageSummary", "css", "environment",
           "notebook_to_html", "stage_summaries", "write_index", "write_plotly_js"]

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
PLOTLY_JS = "plotly.min.js"


def css() -> str:
    return (HERE / "report.css").read_text(encoding="utf-8")


def environment():
    """The Jinja2 environment of the index and board-pack pages (autoescaped)."""
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                              autoescape=jinja2.select_autoescape(["html", "j2"]),
                              trim_blocks=True, lstrip_blocks=True)


def write_plotly_js(folder: Path) -> Path:
    """The report folder's one copy of plotly.js (every page loads it with a relative src)."""
    from plotly.offline import get_plotlyjs

    path = Path(folder) / PLOTLY_JS
    path.write_text(get_plotlyjs(), encoding="utf-8")
    return path


def nav_items(reports: list[tuple[str, str]], current: str | None = None) -> list[dict]:
    """[(title, href)] as navigation entries, the current page marked."""
    return [{"title": t, "href": h, "current": h == current} for t, h in reports]


def notebook_to_html(nb_path: Path, html_path: Path, *, client: str, title: str,
                     reports: list[tuple[str, str]]) -> None:
    """An executed notebook as a report page (code hidden, widget state dropped)."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(nb_path), as_version=4)
    nb.metadata.pop("widgets", None)
    nb.metadata["title"] = f"{client}: {title}"
    for cell in nb.cells:  # a widget's live view needs a kernel: keep its snapshot only
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if data.pop("application/vnd.jupyter.widget-view+json", None) is not None:
                if "text/html" not in data:  # a widget shown without its snapshot
                    data["text/plain"] = "(an interactive view: open the notebook to use it)"
    exporter = HTMLExporter(template_name="onetoone_report",
                            extra_template_basedirs=[str(TEMPLATES)],
                            exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    href = html_path.name
    idx = [h for _, h in reports].index(href) if href in [h for _, h in reports] else -1
    nxt = reports[idx + 1] if 0 <= idx < len(reports) - 1 else None
    resources = {"onetoone": {"client": client, "plotly_js": PLOTLY_JS, "css": css(),
                              "nav": nav_items(reports, href),
                              "next": {"title": nxt[0], "href": nxt[1]} if nxt else None}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    html_path.write_text(body, encoding="utf-8")


def write_index(path: Path, *, cfg, result: dict, summaries: list[StageSummary],
                scorecard: dict | None, provenance: dict,
                reports: list[tuple[str, str]]) -> None:
    """The client's index page (``index.html``)."""
    from ..ui import format as F

    steps = [{"name": TITLES.get(s["name"].removesuffix(".ipynb"), s["name"]),
              "status": s["status"], "seconds": F.number(s.get("seconds"), 1),
              "error": s.get("error")} for s in result.get("steps", [])]
    html = environment().get_template("index.html.j2").render(
        client=cfg.client, as_of=F.date(cfg.as_of), currency=cfg.currency,
        summaries=summaries, scorecard=scorecard, steps=steps, status=result.get("status"),
        seconds=F.number(result.get("seconds"), 1), css=css(),
        prov={**provenance, "config_name": Path(str(provenance.get("config") or "-")).name},
        plotly_js=PLOTLY_JS, nav=nav_items(reports, "index.html"),
        files=[{"source": f.get("source", ""), "file": Path(str(f.get("file", ""))).name,
                "bytes": F.number(f.get("bytes")) if f.get("bytes") is not None else "-",
                "sha": f.get("sha256") or f.get("error", "")} for f in provenance.get("files", [])])
    Path(path).write_text(html, encoding="utf-8")
