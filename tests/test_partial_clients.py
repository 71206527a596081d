"""Partial clients run end to end: one `onetoone batch` over five client shapes.

The shapes (see tests/partial_clients.py): CDNOW as delivered (order lines only: customer id,
date, quantity, amount), CDNOW's first five months (less history than the CLV holdout), a small
sample client without interactions, and one without products or consent. The suite's one batch
call (--jobs 2, tests/batch_support.py) runs all four beside the sample; the tests below read its outputs: every client and every notebook
passes, every report says in plain words what the client lacks, and no figure is computed from
data that is not there.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

NOTEBOOKS = ("01_identify", "02_differentiate", "03_interact", "04_customize",
             "readiness_results")


@pytest.fixture(scope="module")
def partial_batch():
    """The partial clients' records from the suite's one batch run (tests/batch_support.py)."""
    from batch_support import sample_batch

    b = sample_batch()
    print(f"\nthe suite's batch: {len(b['run'].get('clients', []))} clients in "
          f"{b['seconds']:.0f} s (--jobs 2)")
    return {"rc": b["rc"], "stdout": b["stdout"], "stderr": b["stderr"], "run": b["run"],
            "clients": b["partial"], "configs": b["partial_configs"], "seconds": b["seconds"]}


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
    # the suite's batch also holds a deliberately broken client, so its exit status is 1; the
    # status is 0 exactly when every client is ok, so: every partial client ok, and nobody
    # failed but the broken one
    failed_clients = {c["client"] for c in partial_batch["run"]["clients"]
                      if c["status"] != "ok"}
    assert failed_clients == {"Broken Data Ltd"}, (partial_batch["stdout"][-3000:]
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


def test_interact_without_interactions_still_plans_within_the_policy(partial_batch):
    c = partial_batch["clients"]["no_interactions"]
    figs = _figures(c, "03_interact")
    assert figs["has_interactions"] is False and figs["policy_violations"] == 0
    assert figs["planned_contacts"] > 0
    text = _text(c, "03_interact")
    assert "No interactions file" in text and "badgering check" in text
