"""The sample batch, run once per test session and shared by the tests that read its reports.

``sample_batch()`` runs ``onetoone batch --pdf`` on two clients (the sample, and one whose
export is missing) with ``--jobs 2`` the first time it is called and returns the same result
after, so test_batch.py and test_reports_browser.py read one set of reports and executed
notebooks.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

BROKEN_YAML = ("client: Broken Data Ltd\nas_of: 2026-06-30\ncurrency: GBP\nsources:\n"
               "  - {name: tills, path: exports/tills.csv, table: transactions, system: pos}\n")
_RUN: dict = {}


def sample_batch() -> dict:
    """rc, stdout, stderr, out (the reports folder), run (run.json), good (its config), stale."""
    if "run" in _RUN:
        return _RUN["run"]
    from sample_support import sample_config_file

    d = Path(tempfile.mkdtemp(prefix="onetoone-batch-"))
    (d / "good").mkdir()
    good = sample_config_file("ingest", d / "good")
    (d / "broken").mkdir()
    broken = d / "broken" / "client.yaml"
    broken.write_text(BROKEN_YAML, encoding="utf-8")
    out = d / "reports"
    stale = out / "broken-data-ltd" / "stale.html"  # from an earlier run: must not survive
    stale.parent.mkdir(parents=True)
    stale.write_text("old report")
    r = subprocess.run([sys.executable, "-m", "onetoone.cli", "batch", str(good), str(broken),
                        "--jobs", "2", "--out", str(out), "--quiet", "--pdf"],
                       capture_output=True, text=True, timeout=1800, check=False)
    run = json.loads((out / "run.json").read_text()) if (out / "run.json").exists() else {}
    _RUN["run"] = {"rc": r.returncode, "stdout": r.stdout, "stderr": r.stderr, "out": out,
                   "run": run, "good": good, "stale": stale}
    return _RUN["run"]


def good_client(batch: dict) -> dict:
    """The sample client's record in run.json."""
    return next(c for c in batch["run"]["clients"] if c["client"] != "Broken Data Ltd")
