"""notebooks/04_customize.ipynb runs end to end on the sample client (in the suite's one batch
run) and writes its tables."""

from __future__ import annotations

import pytest
import yaml
from batch_support import sample_figures

from onetoone.workspace import Workspace


@pytest.mark.slow
def test_customize_notebook_on_sample():
    # the suite's one batch run executed the notebook on the sample (tests/batch_support.py)
    figures, config = sample_figures("04_customize")
    assert figures["segments_from"] == "customer_value"
    assert figures["recommendation_status"] == "ok"
    assert figures["holdout_customers"] > 1000 and 0 < figures["holdout_customer_share"] < 1
    # the chosen model is within noise of the best candidate on the holdout
    assert figures["precision_at_10"] >= figures["best_holdout_precision_at_10"] - 0.01
    # the sample plants tastes: personalisation pays there, with an interval above zero
    assert figures["personalisation_pays"] and figures["lift_low"] > 0
    assert figures["precision_at_10"] >= 1.5 * figures["popularity_precision_at_10"]
    assert figures["coverage_all_editions"] >= figures["coverage_recommended"] \
        >= figures["coverage_national"] > 0
    assert figures["configurator_valid_products"] > figures["configurable_products"] > 0
    # the sample ships the web shop's configuration history: remembered, some re-ordered
    assert figures["customers_with_configuration"] > 300
    assert figures["configuration_reorder_customers"] > 0
    ws_path = yaml.safe_load(config.read_text(encoding="utf-8"))["workspace"]
    with Workspace(ws_path, read_only=True) as ws:  # the notebook released its lock
        for table in ("recommendations", "configurations", "catalog_editions",
                      "edition_coverage", "tailored_messages", "recommendation_evaluation"):
            assert ws.has(table), table
        assert ws.sql("select count(distinct customer_id) n from recommendations")["n"].iat[0] \
            == figures["recommended_customers"]
        assert ws.count("tailored_messages") == figures["messages"]
        ev = ws.read("recommendation_evaluation")
        assert set(ev["model"]) >= {"popularity", "segment popularity", "item-knn", "ease"}
        assert ev["chosen"].sum() == 1
