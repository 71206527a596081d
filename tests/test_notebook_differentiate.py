"""The Differentiate notebook runs end to end on the sample client (in the suite's one batch run)
and records its figures."""

from __future__ import annotations

import pytest
from batch_support import sample_figures

from onetoone.config import load_config
from onetoone.differentiate.skew import gini
from onetoone.workspace import Workspace


@pytest.mark.slow
def test_differentiate_notebook():
    # the suite's one batch run executed the notebook on the sample (tests/batch_support.py)
    figures, config = sample_figures("02_differentiate")
    cfg = load_config(config)
    with Workspace(cfg.workspace_path, read_only=True) as ws:
        cv = ws.read("customer_value")
        fence = ws.read("fence_assignment")
        segments = ws.read("segments")
        assert ws.has("clv_holdout")
    # what the notebook recorded is what it wrote
    assert figures["customers"] == len(cv)
    assert sum(figures[f"tier_{t}"] for t in ("MVC", "MGC", "maintain", "BZ")) == len(cv)
    assert figures["segments"] == len(segments) >= 3
    assert figures["fence_customers"] == len(fence) > 0
    # one fence everywhere: key figures, fence_assignment and the projection's first half-year
    assert figures["projection_first_customers"] == figures["fence_customers"]
    assert figures["fence_value"] == cfg.fence.value
    assert (fence["value_basis"] == cfg.fence.value).all()
    assert 100 <= figures["fence_customers"] <= 1000 and figures["fence_net_benefit"] > 0
    assert figures["gini_clv"] == pytest.approx(gini(cv["clv"]), abs=1e-4)
    assert figures["decliners"] == figures["decliners_listed"] == int(cv["is_decliner"].sum())
    # the BG/NBD holdout forecast is close to what happened (measured +3.9 %)
    assert figures["holdout_predicted"] == pytest.approx(figures["holdout_actual"], rel=0.15)
    assert 0 < figures["needs_diversity"] < 1
    assert figures["matrix"] in {"Mass marketing", "Customize cheaply", "Key accounts by value",
                                 "Full one-to-one"}
    assert figures["projection_last_customers"] > 0
    assert fence["manager"].str.startswith("CM-").all()
