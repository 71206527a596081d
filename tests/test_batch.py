"""Batch runs: two clients, one with broken data; reports open offline with charts and no code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from onetoone.batch import PiiMasker

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def batch_run(tmp_path_factory):
    from sample_support import sample_config_file

    d = tmp_path_factory.mktemp("batch")
    (d / "good").mkdir()
    good = sample_config_file("ingest", d / "good")
    broken_dir = d / "broken"
    broken_dir.mkdir()
    broken = broken_dir / "client.yaml"
    broken.write_text("client: Broken Data Ltd\nas_of: 2026-06-30\ncurrency: GBP\nsources:\n"
                      "  - {name: tills, path: exports/tills.csv, table: transactions, system: pos}\n")
    out = d / "reports"
    stale = out / "broken-data-ltd" / "stale.html"  # from an earlier run: must not survive
    stale.parent.mkdir(parents=True)
    stale.write_text("old report")
    r = subprocess.run([sys.executable, "-m", "onetoone.cli", "batch", str(good), str(broken),
                        "--jobs", "2", "--out", str(out), "--quiet"],
                       capture_output=True, text=True, timeout=1500)
    return {"rc": r.returncode, "stdout": r.stdout, "stderr": r.stderr, "out": out,
            "run": json.loads((out / "run.json").read_text()), "good": good, "stale": stale}


def test_broken_client_fails_alone_and_exit_status_is_nonzero(batch_run):
    assert batch_run["rc"] == 1, batch_run["stderr"][-3000:]
    clients = {c["client"]: c for c in batch_run["run"]["clients"]}
    broken = clients["Broken Data Ltd"]
    assert broken["status"] == "failed"
    (failed,) = [s for s in broken["steps"] if s["status"] == "failed"]
    assert failed["name"] == "ingest" and "tills.csv" in failed["error"] and "not found" in failed["error"]
    assert "Broken Data Ltd" in batch_run["stdout"] and "tills.csv" in batch_run["stdout"]
    assert not batch_run["stale"].exists()  # re-running a client replaces its reports
    good = next(c for name, c in clients.items() if name != "Broken Data Ltd")
    assert good["status"] == "ok", [s for s in good["steps"] if s["status"] != "ok"]
    names = [s["name"] for s in good["steps"]]
    for nb in ["01_identify.ipynb", "02_differentiate.ipynb", "03_interact.ipynb",
               "04_customize.ipynb", "readiness_results.ipynb"]:
        assert nb in names
    client_dir = Path(good["dir"])
    for nb in ["01_identify", "02_differentiate", "03_interact", "04_customize", "readiness_results"]:
        assert (client_dir / f"{nb}.html").stat().st_size > 100_000
        assert (client_dir / "executed" / f"{nb}.ipynb").exists()
    assert (client_dir / "index.html").exists() and (client_dir / "scorecard.csv").exists()
    index = (client_dir / "index.html").read_text()
    assert "Short-term measures" in index and "sha256" in index


def test_reports_carry_no_code_and_no_personal_data(batch_run):
    import pandas as pd

    from onetoone import paths

    good = next(c for c in batch_run["run"]["clients"] if c["status"] == "ok")
    client_dir = Path(good["dir"])
    crm = pd.read_csv(next((paths.SAMPLE_DIR).rglob("crm_customers*")), dtype=str)
    emails = [e for e in crm.filter(regex="(?i)mail").iloc[:, 0].dropna().head(2000)
              if "@" in str(e)]
    assert emails
    for html_file in client_dir.glob("*.html"):
        text = html_file.read_text()
        # markdown cells keep their (rendered) input area; code cells must show none
        assert "hl-ipython3" not in text and 'class="jp-CodeMirrorEditor' not in text, html_file
        assert 'class="jp-InputPrompt' not in text, html_file
        assert "nb.start(" not in text and "import onetoone" not in text, html_file
        found = [e for e in emails if e.strip().lower() in text.lower()]
        assert not found, (html_file.name, found[:3])


@pytest.mark.browser
def test_report_draws_plotly_charts_offline(batch_run, page):
    good = next(c for c in batch_run["run"]["clients"] if c["status"] == "ok")
    report = Path(good["dir"]) / "02_differentiate.html"
    blocked: list[str] = []

    def guard(route):
        if route.request.url.startswith("file://"):
            return route.continue_()
        blocked.append(route.request.url)
        return route.abort()

    page.route("**/*", guard)
    page.goto(report.as_uri(), wait_until="load", timeout=120_000)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
    charts = page.locator(".js-plotly-plot").count()
    assert charts >= 3
    # a drawn chart has axis ticks or pie/bar shapes, not just an empty frame
    assert page.locator(".js-plotly-plot .xtick, .js-plotly-plot .slice").count() > 0
    page.goto((Path(good["dir"]) / "index.html").as_uri(), wait_until="load")
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)


def test_masker_leaves_numbers_alone_and_masks_contact_data():
    m = PiiMasker(phones={"447700900123"}, streets={"Harbour Lane"})
    text = ("Mail ann.lee@example.org or call 07700 900123; lives at 12 Harbour Lane. "
            "Revenue 7700900123.45 and ids [1234567890, 447700900124]")
    out = m(text)
    assert "ann.lee@example.org" not in out and "a\u2022\u2022\u2022@e\u2022\u2022\u2022.org" in out
    assert "07700 900123" not in out and out.count("123") >= 1
    assert "12 Harbour Lane" not in out
    assert "7700900123.45" in out and "447700900124" in out
    assert re.search(r"\u2022+123", out)
