"""The PDF board pack: the index and every report of a client printed to one PDF by Chromium.

The pages already in the client's folder are joined into one print document
(``board_pack.html``: each page a section that starts on a new sheet, plotly.js once), which
headless Chromium (``/usr/bin/chromium``, the one the browser tests use, driven by Playwright)
prints to ``board_pack.pdf`` with the client's name and page numbers in the footer. Charts,
tables and widget snapshots are kept whole by the pages' print rules; every chart is drawn
before printing.
"""

from __future__ import annotations

import html
import os
import re
import time
from pathlib import Path

CHROMIUM = os.environ.get("ONETOONE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-default-apps"]
PRINT_SCALE = 0.8
"""Pages are printed at 80 %: a chart and its caption share a sheet with the text around it."""
PAGE_WIDTH_PX = int(1040 / PRINT_SCALE)
"""The print width of an A4 landscape sheet inside its margins, at 96 px an inch and the print
scale: charts are laid out at this width before printing, so they fit the sheet."""

_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL | re.IGNORECASE)
_STYLES = re.compile(r"<style[^>]*>.*?</style>", re.DOTALL | re.IGNORECASE)
_NAV = re.compile(r"<nav class=\"onetoone-nav[^\"]*\".*?</nav>", re.DOTALL)


class PdfError(RuntimeError):
    """The board pack could not be printed (no Chromium, a page that did not draw)."""


def _sections(client_dir: Path) -> list[tuple[str, str]]:
    """(title, page file) of the index and the reports, in the index's order."""
    from . import TITLES

    pages = [("Summary", "index.html")]
    for stem, title in TITLES.items():
        if (client_dir / f"{stem}.html").exists():
            pages.append((title, f"{stem}.html"))
    return pages


def build_print_document(client_dir: Path, client: str) -> tuple[Path, list[str]]:
    """Join the index and the reports into ``board_pack.html``; returns it and the section titles."""
    from . import PLOTLY_JS

    styles: list[str] = []
    bodies: list[str] = []
    titles: list[str] = []
    for title, name in _sections(client_dir):
        text = (client_dir / name).read_text(encoding="utf-8")
        head = text.split("</head>", 1)[0]
        for st in _STYLES.findall(head):
            if st not in styles:
                styles.append(st)
        m = _BODY.search(text)
        body = _NAV.sub("", m.group(1) if m else text)
        bodies.append(f"<section class='onetoone-section' data-section='{html.escape(title)}'>"
                      f"<p class='section-mark'>{html.escape(client)}: {html.escape(title)}</p>"
                      f"{body}</section>")
        titles.append(title)
    doc = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
           f"<title>{html.escape(client)}: board pack</title>"
           f"<script src='{PLOTLY_JS}'></script>{''.join(styles)}"
           "<style>.section-mark{color:#52606d;font-size:11px;margin:0 0 4px;"
           "font-family:system-ui,sans-serif}"
           "body{max-width:none!important;margin:0!important;padding:0!important}</style>"
           "</head><body class='jp-Notebook onetoone-report onetoone-index' "
           "data-jp-theme-light='true'>" + "".join(bodies) + "</body></html>")
    out = client_dir / "board_pack.html"
    out.write_text(doc, encoding="utf-8")
    return out, titles


def _footer(client: str) -> str:
    return ("<div style='font-size:8px;font-family:Arial,sans-serif;color:#52606d;width:100%;"
            "padding:0 12mm;display:flex;justify-content:space-between'>"
            f"<span>{html.escape(client)}: one-to-one programme</span>"
            "<span>page <span class='pageNumber'></span> of <span class='totalPages'></span>"
            "</span></div>")


def board_pack(client_dir: Path, client: str, out: Path | None = None,
               timeout_ms: int = 120_000) -> dict:
    """Print the client's index and reports to one PDF; returns what the batch records.

    Network requests are refused while printing: the pages need nothing but the folder.
    """
    from playwright.sync_api import sync_playwright

    client_dir = Path(client_dir)
    if not os.path.exists(CHROMIUM):
        raise PdfError(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium, or set "
                       "ONETOONE_CHROMIUM)")
    t0 = time.perf_counter()
    doc, titles = build_print_document(client_dir, client)
    out = Path(out) if out else client_dir / "board_pack.pdf"
    refused: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": PAGE_WIDTH_PX, "height": 1200})

            def guard(route):
                if route.request.url.startswith("file://"):
                    return route.continue_()
                refused.append(route.request.url)
                return route.abort()

            page.route("**/*", guard)
            page.goto(doc.as_uri(), wait_until="load", timeout=timeout_ms)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.plotly-graph-div')]"
                ".every(d => d.querySelector('.main-svg'))", timeout=timeout_ms)
            charts = page.locator(".plotly-graph-div").count()
            page.emulate_media(media="print")
            page.pdf(path=str(out), format="A4", landscape=True, print_background=True,
                     scale=PRINT_SCALE,
                     display_header_footer=True, header_template="<span></span>",
                     footer_template=_footer(client),
                     margin={"top": "12mm", "bottom": "16mm", "left": "10mm", "right": "10mm"})
        finally:
            browser.close()
    doc.unlink()  # the print document is a by-product; the pages stay
    return {"pdf": out.name, "sections": titles, "charts": charts, "refused_requests": refused,
            "bytes": out.stat().st_size, "pdf_seconds": round(time.perf_counter() - t0, 2)}
