"""Every HTML report of the sample batch, opened in Chromium with all network requests blocked.

Per page: zero requests to anything but the report folder, no visible text that reads as a
working file (scientific notation, widget reprs, notebook file names, NaN), nothing wider than
the page (wide tables scroll inside their box), every chart drawn; and navigation between the
reports and back to the index. The batch is the session's one run (tests/batch_support.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PAGES = ["index.html", "01_identify.html", "02_differentiate.html", "03_interact.html",
         "04_customize.html", "readiness_results.html"]
FORBIDDEN = {"scientific notation (e+0)": r"\de\+0", "scientific notation (e-0)": r"\de-0",
             "a widget repr": r"Widget\(", "a notebook file name": r"\.ipynb",
             "nan": r"(?i)\bnan\b"}

# elements wider than the page, outside a box that scrolls sideways
_TOO_WIDE = """() => {
  const page = document.documentElement.clientWidth;
  const scrolls = el => { for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll') return true; }
    return false; };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > page + 2 && !scrolls(el))
      out.push(el.tagName + '.' + el.className + ' ' + Math.round(r.right) + 'px');
    if (out.length > 5) break;
  }
  return {page, scrollWidth: document.documentElement.scrollWidth, wide: out};
}"""
_CHARTS = """() => [...document.querySelectorAll('.plotly-graph-div')].map(d => ({
  id: d.id, drawn: !!d.querySelector('.main-svg') && !!d._fullData && d._fullData.length > 0}))"""


@pytest.fixture(scope="module")
def client_dir():
    from batch_support import good_client, sample_batch

    good = good_client(sample_batch())
    assert good["status"] == "ok", [s for s in good["steps"] if s["status"] != "ok"]
    return Path(good["dir"])


@pytest.mark.parametrize("name", PAGES)
def test_report_page_offline_clean_and_drawn(client_dir, page, name):
    requests: list[str] = []

    def guard(route):
        if route.request.url.startswith("file://"):
            return route.continue_()
        requests.append(route.request.url)
        return route.abort()

    page.set_viewport_size({"width": 1280, "height": 900})
    page.route("**/*", guard)
    page.goto((client_dir / name).as_uri(), wait_until="load", timeout=120_000)
    charts = page.evaluate(_CHARTS)
    if charts:
        page.wait_for_function("() => [...document.querySelectorAll('.plotly-graph-div')]"
                               ".every(d => d.querySelector('.main-svg'))", timeout=60_000)
        charts = page.evaluate(_CHARTS)
    assert requests == [], requests[:5]
    text = page.inner_text("body")
    for what, pattern in FORBIDDEN.items():
        m = re.search(pattern, text)
        assert not m, f"{name} shows {what}: ...{text[max(m.start() - 80, 0):m.end() + 40]}..."
    wide = page.evaluate(_TOO_WIDE)
    assert wide["scrollWidth"] <= wide["page"] + 2 and not wide["wide"], (name, wide)
    if name not in ("index.html", "readiness_results.html"):  # readiness: none before answers
        assert len(charts) >= 2, name
    assert all(c["drawn"] for c in charts), (name, [c for c in charts if not c["drawn"]])


def test_navigation_between_reports_and_back_to_the_index(client_dir, page):
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://")
               else r.abort())
    page.goto((client_dir / "index.html").as_uri(), wait_until="load")
    page.get_by_role("link", name="Differentiate", exact=True).first.click()
    page.wait_for_load_state("load")
    assert page.url.endswith("02_differentiate.html")
    page.get_by_role("link", name="Interact", exact=True).first.click()
    page.wait_for_load_state("load")
    assert page.url.endswith("03_interact.html")
    page.get_by_role("link", name=re.compile("back to the summary")).click()
    page.wait_for_load_state("load")
    assert page.url.endswith("index.html")
    assert "Harbour & Finch" in page.title()
