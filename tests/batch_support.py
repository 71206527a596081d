"""The sample batch, run once per test session and shared by the tests that read its reports.

``sample_batch()`` runs ``onetoone batch --pdf`` once, with ``--jobs 2``, on every client the
suite needs: the sample, one whose export is missing, and the partial clients of
tests/partial_clients.py. It returns the same result after, so test_batch.py,
test_reports_browser.py, test_partial_clients.py and the notebook tests read one set of
reports and executed notebooks: each notebook runs once per client in the whole suite.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BROKEN_YAML = ("client: Broken Data Ltd\nas_of: 2026-06-30\ncurrency: GBP\nsources:\n"
               "  - {name: tills, path: exports/tills.csv, table: transactions, system: pos}\n")
_RUN: dict = {}


def sample_batch() -> dict:
    """rc, stdout, stderr, out (the reports folder), run (run.json), good (its config), stale,
    partial (name -> its run.json record), partial_configs (name -> YAML), seconds."""
    if "run" in _RUN:
        return _RUN["run"]
    from partial_clients import build_sample_clients, copy_cdnow_clients
    from sample_support import sample_config_file

    d = Path(tempfile.mkdtemp(prefix="onetoone-batch-"))
    (d / "good").mkdir()
    good = sample_config_file("ingest", d / "good")
    (d / "broken").mkdir()
    broken = d / "broken" / "client.yaml"
    broken.write_text(BROKEN_YAML, encoding="utf-8")
    partial = {**copy_cdnow_clients(d / "partial"), **build_sample_clients(d / "partial")}
    out = d / "reports"
    stale = out / "broken-data-ltd" / "stale.html"  # from an earlier run: must not survive
    stale.parent.mkdir(parents=True)
    stale.write_text("old report")
    t0 = time.perf_counter()
    # one run for every client the suite needs, so each notebook executes once per client
    # and both jobs stay busy (the broken client fails at once)
    r = subprocess.run([sys.executable, "-m", "onetoone.cli", "batch", str(good), str(broken),
                        *[str(p) for p in partial.values()],
                        "--jobs", "2", "--out", str(out), "--quiet", "--pdf"],
                       capture_output=True, text=True, timeout=3600, check=False)
    seconds = time.perf_counter() - t0
    run = json.loads((out / "run.json").read_text()) if (out / "run.json").exists() else {}
    by_config = {Path(c["config"]).resolve(): c for c in run.get("clients", [])}
    _RUN["run"] = {"rc": r.returncode, "stdout": r.stdout, "stderr": r.stderr, "out": out,
                   "run": run, "good": good, "stale": stale, "seconds": seconds,
                   "partial_configs": partial,
                   "partial": {n: by_config.get(Path(p).resolve()) for n, p in partial.items()}}
    return _RUN["run"]


def executed_notebook(client: dict, notebook: str) -> Path:
    """The executed copy of ``notebook`` (e.g. '02_differentiate') in a client's run record."""
    (step,) = [s for s in client["steps"] if s["name"] == f"{notebook}.ipynb"]
    return Path(step["executed"])


def sample_figures(notebook: str) -> tuple[dict, Path]:
    """The figures the sample batch's run of ``notebook`` recorded (first stage key), and the
    sample client's config (its workspace holds what the notebooks wrote)."""
    from onetoone.nb import figures_from_notebook

    batch = sample_batch()
    good = good_client(batch)
    assert good["status"] == "ok", [s for s in good["steps"] if s["status"] != "ok"]
    figs = figures_from_notebook(executed_notebook(good, notebook))
    return (next(iter(figs.values())) if figs else {}), batch["good"]


def good_client(batch: dict) -> dict:
    """The sample client's record in run.json."""
    return next(c for c in batch["run"]["clients"] if c["client"] != "Broken Data Ltd")
