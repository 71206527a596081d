"""Batch runs: two clients, one with broken data; the board pack (index, reports, PDF) on the sample.

The batch runs once per session (tests/batch_support.py); tests/test_reports_browser.py reads
the same reports. The masker and the formatting layer have quick unit tests here too.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from onetoone import masking
from onetoone.nb import figures_from_notebook
from onetoone.ui import format as F

REPORTS = ["01_identify", "02_differentiate", "03_interact", "04_customize", "readiness_results"]


@pytest.fixture(scope="session")
def batch_run():
    from batch_support import sample_batch

    return sample_batch()


@pytest.fixture(scope="session")
def good(batch_run):
    from batch_support import good_client

    return good_client(batch_run)


@pytest.mark.slow
def test_broken_client_fails_alone_and_exit_status_is_nonzero(batch_run, good):
    assert batch_run["rc"] == 1, batch_run["stderr"][-3000:]
    clients = {c["client"]: c for c in batch_run["run"]["clients"]}
    broken = clients["Broken Data Ltd"]
    assert broken["status"] == "failed"
    (failed,) = [s for s in broken["steps"] if s["status"] == "failed"]
    assert failed["name"] == "ingest" and "tills.csv" in failed["error"] and "not found" in failed["error"]
    assert "Broken Data Ltd" in batch_run["stdout"] and "tills.csv" in batch_run["stdout"]
    assert not batch_run["stale"].exists()  # re-running a client replaces its reports
    assert good["status"] == "ok", [s for s in good["steps"] if s["status"] != "ok"]
    names = [s["name"] for s in good["steps"]]
    assert names[-1] == "pdf" and all(f"{nb}.ipynb" in names for nb in REPORTS)
    client_dir = Path(good["dir"])
    for nb in REPORTS:
        assert (client_dir / f"{nb}.html").stat().st_size > 20_000
        # the executed notebook is kept beside the client's folder as the run's record
        executed = Path(good["executed_dir"]) / f"{nb}.ipynb"
        assert executed.exists() and not executed.is_relative_to(client_dir)
    figures = figures_from_notebook(Path(good["executed_dir"]) / "02_differentiate.ipynb")
    assert figures["differentiate"]["customers"] > 0
    assert (client_dir / "index.html").exists() and (client_dir / "scorecard.csv").exists()
    # the broken client's index says what failed, in its footer
    bindex = (Path(broken["dir"]) / "index.html").read_text()
    assert "tills.csv" in bindex and "failed" in bindex


@pytest.mark.slow
def test_one_plotly_copy_no_network_addresses_and_folder_under_10_mb(good):
    client_dir = Path(good["dir"])
    size = sum(f.stat().st_size for f in client_dir.rglob("*") if f.is_file())
    assert size < 10 * 2**20, f"client folder is {size / 2**20:.1f} MB"
    assert (client_dir / "plotly.min.js").stat().st_size > 1_000_000
    for page in client_dir.glob("*.html"):
        text = page.read_text()
        assert text.count("plotly.js v") == 0, page  # no embedded copy of the library
        assert '<script src="plotly.min.js">' in text or "<script src='plotly.min.js'>" in text, page
        # nothing the page loads comes from a network address (links in text are fine)
        srcs = re.findall(r"<(?:script|link|img|iframe)[^>]+(?:src|href)=[\"']([^\"']+)", text)
        assert not [s for s in srcs if re.match(r"(?i)(https?:)?//", s)], (page, srcs[:5])
        assert "require.js" not in text and "MathJax.js" not in text, page


@pytest.mark.slow
def test_reports_carry_no_code_and_no_contact_data(good):
    from onetoone import paths

    client_dir = Path(good["dir"])
    crm = pd.read_csv(next(paths.SAMPLE_DIR.rglob("crm_customers*")), dtype=str)
    emails = [e for e in crm.filter(regex="(?i)mail").iloc[:, 0].dropna() if "@" in str(e)]
    phones = [re.sub(r"\D", "", p) for p in crm.filter(regex="(?i)phone").iloc[:, 0].dropna()]
    assert emails and phones
    pdf_text = subprocess.run(["pdftotext", str(client_dir / "board_pack.pdf"), "-"],
                              capture_output=True, text=True, check=True).stdout
    for name, text in [(p.name, p.read_text()) for p in client_dir.glob("*.html")] + [
            ("board_pack.pdf", pdf_text)]:
        assert "hl-ipython3" not in text and 'class="jp-CodeMirrorEditor' not in text, name
        assert 'class="jp-InputPrompt' not in text, name
        found = [e for e in emails if e in text]
        assert not found, (name, found[:3])
        digits = re.sub(r"\D", "", text)
        assert not [p for p in phones[:3000] if len(p) >= 10 and p in digits and
                    re.search(re.escape(p[-6:]), text)], name
    # the lookup widget's golden record is in the report, masked
    identify = (client_dir / "01_identify.html").read_text()
    assert "Golden record" in identify and "***@" in identify


@pytest.mark.slow
def test_index_reads_in_plain_words(good):
    index = (Path(good["dir"]) / "index.html").read_text()
    text = re.sub(r"<style.*?</style>|<script.*?</script>", "", index, flags=re.DOTALL)
    text = re.sub(r"<[^>]+>", " ", text)
    assert "Harbour &amp; Finch" in text or "Harbour & Finch" in text
    assert "2026-09-30" in text and "£" in text
    for title, page in [("Identify", "01_identify.html"), ("Differentiate", "02_differentiate.html"),
                        ("Interact", "03_interact.html"), ("Customize", "04_customize.html"),
                        ("Readiness", "readiness_results.html")]:
        assert f'<a href="{page}">{title}</a>' in index
    assert "customers identified" in text and "picket fence" in text
    # two "lost" counts, named by the rule each uses
    assert "value rule" in text and "contact-plan rule" in text
    # no snake_case figure names, no paths, no scientific notation (above the provenance footer)
    main = text[:text.index("Run ")]
    assert not re.search(r"\b[a-z]+_[a-z0-9_]+\b", main), re.findall(r"\b[a-z]+_[a-z0-9_]+\b", main)[:5]
    assert not re.search(r"\d[eE][+-]\d", text) and ".ipynb" not in text
    footer = text[text.index("Run "):]
    assert "ingest" in footer and " s" in footer


@pytest.mark.slow
def test_widgets_render_as_their_static_state(good):
    client_dir = Path(good["dir"])
    for page, widget in [("02_differentiate.html", "FenceWidget"),
                         ("03_interact.html", "ChannelShiftSimulator"),
                         ("03_interact.html", "TimelineLookup")]:
        text = (client_dir / page).read_text()
        assert "Widget(" not in text and "children=(" not in text, page
        assert "data-widget=\"FloatProgress\"" not in text, page  # no progress bars
        m = re.search(rf"data-widget=[\"']{widget}[\"']>(.*?)<p class=[\"']static-note", text,
                      re.DOTALL)
        assert m, (page, widget)
        assert len(re.sub(r"<[^>]+>", "", m.group(1)).strip()) > 40, (page, widget)
    fence = (client_dir / "02_differentiate.html").read_text()
    m = re.search(r"data-widget=[\"']FenceWidget[\"']>(.*?)<p class=[\"']static-note", fence,
                  re.DOTALL)
    assert "plotly-graph-div" in m.group(1)  # the fence chart at its position, drawn statically


@pytest.mark.slow
def test_pdf_board_pack_pages_and_sections(good, tmp_path):
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm not installed (apt-get install -y poppler-utils)")
    client_dir = Path(good["dir"])
    pdf = client_dir / "board_pack.pdf"
    step = next(s for s in good["steps"] if s["name"] == "pdf")
    assert step["status"] == "ok" and step["refused_requests"] == []
    sections = step["sections"]
    assert sections == ["Summary", "Identify", "Differentiate", "Interact", "Customize", "Readiness"]
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    # every section starts on a page of its own, in order
    starts = []
    for i in range(1, pages + 1):
        t = subprocess.run(["pdftotext", "-f", str(i), "-l", str(i), str(pdf), "-"],
                           capture_output=True, text=True, check=True).stdout
        first = t.strip().splitlines()[0] if t.strip() else ""
        mark = first.removeprefix("Harbour & Finch: ").strip()
        if first.startswith("Harbour & Finch: ") and mark in sections:
            starts.append(mark)
        assert re.search(rf"page {i} of {pages}", t), i  # the footer numbers every page
        assert "Harbour & Finch" in t
    assert starts == sections
    assert len(sections) <= pages <= 40 * len(sections)
    r = subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "2", str(pdf),
                        str(tmp_path / "p")], capture_output=True, check=False)
    assert r.returncode == 0 and len(list(tmp_path.glob("p-*.png"))) == 2


# -- quick unit tests: the one masker and the one formatting layer ----------------------------
def test_masker_masks_contact_and_identifier_columns_and_keeps_the_rest():
    df = pd.DataFrame({"customer_id": ["C1", "C2"], "email": ["ann.lee@example.org", None],
                       "phone": ["07700 900123", "+44 7700 900456"],
                       "street": ["12 Harbour Lane", ""], "card_number": ["4111111111111111", None],
                       "revenue": [7700900123.45, 1.0]})
    out = masking.mask_frame(df)
    assert out["email"][0] == "a***@example.org" and pd.isna(out["email"][1])
    assert list(out["phone"]) == ["********123", "*********456"]
    assert list(out["street"]) == ["***", ""]
    assert out["card_number"][0] == "****1111" and pd.isna(out["card_number"][1])
    assert list(out["customer_id"]) == ["C1", "C2"] and out["revenue"][0] == 7700900123.45
    assert df["email"][0] == "ann.lee@example.org"  # the caller's frame is untouched
    # a contact value in a column not named for it (a blocking key) is masked too
    keys = masking.mask_frame(pd.DataFrame({"largest block": ["ann.lee@example.org", "smith",
                                                              "07700 900123", "2026-09-30"]}))
    assert keys["largest block"].tolist() == ["a***@example.org", "smith", "********123",
                                              "2026-09-30"]


def test_campaign_export_uses_the_same_masker():
    from onetoone.interact import pipeline

    assert pipeline._mask("ann.lee@example.org", "email") == masking.mask_value(
        "ann.lee@example.org", "email")


def test_format_values_have_units_and_no_scientific_notation():
    F.set_currency("GBP")
    assert F.value(8655815.55, "contribution") == "£8,655,816"
    assert F.value(0.3920279, "addressable_email") == "39.2 %"
    assert F.value(36524, "records") == "36,524"
    assert F.value(2.309e7, "records") == "23,090,000"
    assert F.number(-0.0) == "0" and F.number(1e-7) == "<0.0001"
    assert F.value(float("nan")) == "-" and F.value(None) == "-" and F.value("") == "-"
    assert F.value("/work/x/data/contact_plan.csv", "export_file") == "contact_plan.csv"
    assert F.date(pd.Timestamp("2026-09-30 00:00:00")) == "2026-09-30"
    assert F.mean_with_n(4.0, 2) == "4.00 (n=2)" and F.mean_with_n(3.5, 40) == "3.50"
    assert F.value({"mvc_value": 994.2997985}) == "mvc value: £994.30"


def test_format_frame_drops_the_index_and_formats_every_column():
    F.set_currency("EUR")
    df = pd.DataFrame({"revenue": [1234.7, np.nan], "p_alive": [0.968, 0.5],
                       "last_purchase": pd.to_datetime(["2026-01-02", "2026-03-04"]),
                       "orders": [3, 12000], "flag": [True, False]})
    out = F.format_frame(df)
    assert list(out.columns) == ["revenue", "p_alive", "last_purchase", "orders", "flag"]
    assert out.iloc[0].tolist() == ["€1,235", "96.8 %", "2026-01-02", "3", "yes"]
    assert out.iloc[1].tolist() == ["-", "50.0 %", "2026-03-04", "12,000", "no"]
    named = F.format_frame(df.set_index("orders"))
    assert named.columns[0] == "orders"  # a meaningful index becomes a column
    wide = pd.DataFrame(np.arange(30.0).reshape(1, 30), columns=[f"c{i}" for i in range(30)])
    html = F.table_html(wide)
    assert html.count("</th>") == 30 and "overflow-x:auto" in html and "..." not in html
    small = pd.DataFrame({"group": ["a", "b"], "satisfaction": [4.0, 3.2], "n": [2, 45]})
    cells = F.format_frame(small)["satisfaction"].tolist()
    assert cells == ["4.00 (n=2)", "3.20"]


def test_widget_static_view_protocol_and_generic_fallback():
    import ipywidgets as widgets
    import plotly.graph_objects as go

    from onetoone.ui import static

    class Shown(widgets.VBox):
        def static_view(self):
            return ["<p>readout</p>", go.Figure(go.Bar(x=[1], y=[2]))]

    html = static.static_html(Shown())
    assert "<p>readout</p>" in html and "plotly-graph-div" in html and "Widget(" not in html
    box = widgets.HBox([widgets.FloatSlider(value=0.25, description="Uplift", readout_format=".1%"),
                        widgets.HTML("<b>net benefit £5</b>"), widgets.Button(description="Go")])
    html = static.static_html(box)
    assert "Uplift" in html and "25.0 %" in html and "net benefit £5" in html and "Go" not in html


def test_index_summaries_say_when_a_stage_is_absent_or_failed():
    from onetoone.report import stage_summaries

    steps = [{"name": "ingest", "status": "ok"},
             {"name": "01_identify.ipynb", "status": "ok", "html": "01_identify.html",
              "figures": {"identify": {"records": 36524, "customers": 20070,
                                       "transactions_recognised": 0.9079}}},
             {"name": "02_differentiate.ipynb", "status": "failed", "error": "ValueError: x"},
             {"name": "03_interact.ipynb", "status": "ok", "html": "03_interact.html",
              "figures": {"interact": {"planned_contacts": 9913, "lost_valuable": 892,
                                       "policy_violations": 0}}}]
    by = {s.stem: s for s in stage_summaries(steps, "GBP")}
    assert by["01_identify"].sentence.startswith("36,524 customer records")
    assert ("customers identified", "20,070") in by["01_identify"].numbers
    assert by["02_differentiate"].status == "failed" and not by["02_differentiate"].numbers
    assert "did not finish" in by["02_differentiate"].sentence
    assert by["04_customize"].status == "absent" and "not run" in by["04_customize"].sentence
    lists = dict(by["lists"].numbers)  # only the contact plan's rule: Differentiate failed
    assert list(lists.values()) == ["892"] and "contact-plan rule" in next(iter(lists))
    assert "9,913 contacts" in by["03_interact"].sentence


def test_scorecard_counts_nobody_inside_an_empty_fence_and_counts_ratings(tmp_path):
    from onetoone.config import ClientConfig
    from onetoone.measures import ALL, INSIDE, scorecard
    from onetoone.workspace import Workspace

    cfg = ClientConfig(client="T", as_of="2026-06-30", sources=[])
    cfg.base_dir = tmp_path
    tx = pd.DataFrame([("a", "2026-05-01", 300.0, "p1", "o1"), ("b", "2026-06-01", 20.0, "p1", "o2")],
                      columns=["record_key", "date", "amount", "product_id", "order_id"])
    tx["date"] = pd.to_datetime(tx["date"])
    with Workspace(tmp_path / "w.duckdb") as ws:
        ws.write("transactions", tx)
        ws.write("interactions", pd.DataFrame({
            "record_key": ["a", "b"], "date": pd.to_datetime(["2026-05-05", "2026-06-02"]),
            "channel": ["email", "email"], "cost": [None, None], "satisfaction": [4.0, 2.0]}))
        ws.write("fence_assignment", pd.DataFrame({"customer_id": pd.Series([], dtype=str),
                                                   "manager": pd.Series([], dtype=int)}))
        ws.write("customer_value", pd.DataFrame({"customer_id": ["a", "b"], "share_of_wallet": [0.5, 0.5],
                                                 "tier": ["MVC", "maintain"]}))
        card, notes = scorecard(cfg, ws)
    assert notes["customers_inside"] == 0 and "empty" in notes["fence_source"]
    assert set(card["group"]) == {ALL} and INSIDE not in set(card["group"])  # not the MVC tier
    latest = card[card["period"] == 0].set_index("measure")["value"]
    assert latest["satisfaction"] == 3.0 and latest["satisfaction_responses"] == 2.0
    assert _fmt_satisfaction(latest) == "3.00 (n=2)"


def _fmt_satisfaction(latest) -> str:
    from onetoone.batch import _fmt_measure

    return _fmt_measure("satisfaction", latest["satisfaction"], "GBP", latest["satisfaction_responses"])
