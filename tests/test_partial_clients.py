"""Partial clients run end to end: one `onetoone batch` over five client shapes.

The shapes (see tests/partial_clients.py): CDNOW as delivered (order lines only: customer id,
date, quantity, amount), CDNOW's first five months (less history than the CLV holdout), a small
sample client without interactions, and one without products or consent. One batch call
(--jobs 2) runs all four; the tests below read its outputs: every client and every notebook
passes, every report says in plain words what the client lacks, and no figure is computed from
data that is not there.
"""

from __future__ import annotations

import html
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from partial_clients import build_sample_clients, copy_cdnow_clients  # noqa: E402

pytestmark = pytest.mark.slow

NOTEBOOKS = ("01_identify", "02_differentiate", "03_interact", "04_customize",
             "readiness_results")


@pytest.fixture(scope="module")
def partial_batch(tmp_path_factory):
    d = tmp_path_factory.mktemp("partial")
    configs = {**copy_cdnow_clients(d), **build_sample_clients(d)}
    out = d / "reports"
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "onetoone.cli", "batch",
                        *[str(p) for p in configs.values()], "--jobs", "2", "--out", str(out),
                        "--quiet"], check=False, capture_output=True, text=True, timeout=3000)
    seconds = time.perf_counter() - t0
    print(f"\npartial-client batch: {len(configs)} clients in {seconds:.0f} s (--jobs 2)")
    run = json.loads((out / "run.json").read_text())
    by_config = {Path(c["config"]).resolve(): c for c in run["clients"]}
    clients = {name: by_config[Path(p).resolve()] for name, p in configs.items()}
    return {"rc": r.returncode, "stdout": r.stdout, "stderr": r.stderr, "clients": clients,
            "configs": configs, "seconds": seconds}


def _executed(client: dict, notebook: str) -> Path:
    (step,) = [s for s in client["steps"] if s["name"] == f"{notebook}.ipynb"]
    return Path(step["executed"])


def _text(client: dict, notebook: str) -> str:
    """The executed notebook's outputs as one string (what the report shows)."""
    nb = json.loads(_executed(client, notebook).read_text())
    parts = []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            parts.append("".join(o.get("text", "")))
            data = o.get("data", {})
            parts.append("".join(data.get("text/plain", "")) + "".join(data.get("text/html", "")))
    return html.unescape("\n".join(parts))


def _figures(client: dict, notebook: str) -> dict:
    from onetoone.nb import figures_from_notebook

    figs = figures_from_notebook(_executed(client, notebook))
    return next(iter(figs.values())) if figs else {}


def test_every_client_and_notebook_passes(partial_batch):
    assert partial_batch["rc"] == 0, (partial_batch["stdout"][-3000:]
                                      + partial_batch["stderr"][-3000:])
    for name, c in partial_batch["clients"].items():
        failed = [(s["name"], s.get("error")) for s in c["steps"] if s["status"] != "ok"]
        assert c["status"] == "ok" and not failed, (name, failed)
        steps = {s["name"] for s in c["steps"]}
        assert {f"{n}.ipynb" for n in NOTEBOOKS} <= steps
        for n in NOTEBOOKS:
            assert (Path(c["dir"]) / f"{n}.html").stat().st_size > 20_000, (name, n)


@pytest.mark.parametrize("client, notebook, says", [
    ("cdnow_transactions_only", "01_identify", "has no customer records, so there is nothing to resolve"),
    ("cdnow_transactions_only", "02_differentiate", "There is no product catalogue"),
    ("cdnow_transactions_only", "03_interact", "no outbound contact can be planned"),
    ("cdnow_transactions_only", "04_customize", "There is no product catalogue"),
    ("cdnow_transactions_only", "readiness_results", "Identify's readiness cannot be measured"),
    ("no_interactions", "01_identify", "There is no interactions file"),
    ("no_interactions", "02_differentiate", "cost to serve counts returns only"),
    ("no_interactions", "03_interact", "the plan is built from purchases alone"),
    ("no_products_no_consent", "04_customize", "There is no product catalogue"),
    ("no_products_no_consent", "02_differentiate", "There is no product catalogue"),
    ("no_products_no_consent", "01_identify", "carry no consent"),
    ("no_products_no_consent", "03_interact", "carry no consent, so no outbound contact can be planned"),
])
def test_each_report_says_what_is_missing(partial_batch, client, notebook, says):
    c = partial_batch["clients"][client]
    assert says in _text(c, notebook)
    page = html.unescape((Path(c["dir"]) / f"{notebook}.html").read_text())
    assert says in page  # in the HTML report, not only the log


def test_full_client_shapes_say_nothing_is_missing(partial_batch):
    text = _text(partial_batch["clients"]["no_interactions"], "04_customize")
    assert "There is no product catalogue" not in text and "carry no consent" not in text


def test_transactions_only_client_gets_no_needs_figures(partial_batch):
    c = partial_batch["clients"]["cdnow_transactions_only"]
    figs = _figures(c, "02_differentiate")
    assert figs["segments"] == 0 and figs["needs_diversity"] is None
    assert figs["matrix"] == "needs unknown"
    text = _text(c, "02_differentiate")
    assert "No needs segments" in text and "cannot place the client" in text
    assert "like a airline" not in text and "Differentiation matrix: key accounts" not in text
    assert figs["customers"] == 2357  # every CDNOW customer is valued
    ident = _figures(c, "01_identify")
    assert ident["records"] == 0 and ident["missing"] == "customer_records"


def test_short_history_shrinks_the_holdout_and_every_stage_runs(partial_batch):
    c = partial_batch["clients"]["cdnow_five_months"]
    text = _text(c, "02_differentiate")
    assert "holdout shortened from 6 to 2 month(s)" in text
    figs = _figures(c, "02_differentiate")
    assert figs["holdout_actual"] > 0 and figs["holdout_mae"] is not None
    assert _figures(c, "03_interact") and _figures(c, "04_customize")


def test_readiness_scores_no_stage_without_its_input(partial_batch):
    from onetoone.config import load_config
    from onetoone.readiness.data_readiness import measure_data_readiness, stage_data_scores
    from onetoone.workspace import Workspace

    cfg = load_config(partial_batch["configs"]["cdnow_transactions_only"])
    with Workspace.open(cfg, read_only=True) as ws:
        scores = stage_data_scores(measure_data_readiness(ws)).set_index("stage")["data_score"]
    assert scores.isna()[["identify", "interact", "customize"]].all()
    assert scores["differentiate"] >= 1


def test_one_tier_per_customer_across_stages(partial_batch):
    from onetoone.config import load_config
    from onetoone.workspace import Workspace

    cfg = load_config(partial_batch["configs"]["no_products_no_consent"])
    with Workspace.open(cfg, read_only=True) as ws:
        both = ws.sql("SELECT p.tier AS plan_tier, v.tier AS value_tier FROM contact_plan p "
                      "JOIN customer_value v USING (customer_id)")
    assert len(both) > 500
    assert (both["plan_tier"] == both["value_tier"]).all()
