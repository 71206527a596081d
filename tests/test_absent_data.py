"""No figure from absent data: each case where an input is missing computes nothing that needs it.

- needs segments are not fitted on features that do not vary (NoNeedsData), and the
  differentiation matrix then says needs diversity is unknown instead of naming a quadrant;
- data-measured readiness gives no score to a stage whose input table is absent;
- the CLV holdout shrinks to what the history allows, or is skipped with a note;
- :mod:`onetoone.gaps` names what each stage lacks, in one sentence per gap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from onetoone.differentiate.matrix import differentiation_matrix
from onetoone.differentiate.needs import NoNeedsData, segment_needs
from onetoone.differentiate.pipeline import holdout_months_for


def _constant_needs(n=300, seed=0):
    """What an order-lines export gives: one channel, no prices, no contacts; recency varies."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"chan_unknown": 1.0, "price_return_share": 0.0,
                         "service_contacts_per_year": 0.0,
                         "recency_log_days": rng.uniform(1, 6, n)},
                        index=[f"c{i}" for i in range(n)])


def test_no_segments_from_constant_features():
    with pytest.raises(NoNeedsData, match="no needs data") as exc:
        segment_needs(_constant_needs())
    assert "channel" in str(exc.value) and "price" in str(exc.value)


def test_segments_still_fitted_when_one_need_varies():
    f = _constant_needs()
    f["cat_books"] = np.r_[np.zeros(150), np.ones(150)]
    seg = segment_needs(f, k_range=(2, 4))
    assert seg.k >= 2 and seg.scores["silhouette"].max() > 0.5


def test_matrix_without_needs_names_no_quadrant():
    m = differentiation_matrix(0.7, None, unknown="no needs data")
    assert not m.known and m.quadrant is None and m.label is None and m.example is None
    s = m.sentence()
    assert "unknown" in s and "no needs data" in s and "cannot place" in s
    assert "airline" in s and "computer-systems" in s  # what needs data would decide between
    low = differentiation_matrix(0.3, None).sentence()
    assert "petrol station" in low and "bookstore" in low
    assert differentiation_matrix(0.7, 0.1).example == "airline"  # measured: placed as before
    with pytest.raises(ValueError, match="value_skew"):
        differentiation_matrix(1.5, None)


def test_matrix_figure_draws_no_client_dot_without_needs():
    from onetoone.ui.differentiate import matrix_figure

    fig = matrix_figure(differentiation_matrix(0.7, None, unknown="no needs data"))
    assert not [t for t in fig.data if t.type == "scatter"]
    assert "unknown" in fig.layout.title.text
    known = matrix_figure(differentiation_matrix(0.7, 0.4))
    assert [t for t in known.data if t.type == "scatter"]


@pytest.mark.parametrize("configured, history, months, noted", [
    (6, 36.0, 6, False), (6, 4.9, 2, True), (6, 1.5, 0, True), (6, 12.0, 6, False),
    (0, 36.0, 0, False)])
def test_holdout_shrinks_to_the_history(configured, history, months, noted):
    got, note = holdout_months_for(configured, history)
    assert got == months and (note is not None) == noted
    if noted:
        assert str(configured) in note


# -- on a workspace ----------------------------------------------------------------------------
def _workspace(tmp_path, *, records: bool, interactions: bool, products: int):
    from onetoone.workspace import Workspace

    ws = Workspace(tmp_path / "w.duckdb")
    n = 60
    tx = pd.DataFrame({"transaction_id": [f"t{i}" for i in range(n)],
                       "record_key": [f"pos:{i % 20}" for i in range(n)],
                       "date": pd.date_range("2025-01-01", periods=n, freq="5D"),
                       "product_id": [f"p{i % max(products, 1)}" for i in range(n)],
                       "amount": 10.0, "cost": None})
    ws.write("transactions", tx)
    if records:
        ws.write("customer_records", pd.DataFrame({
            "record_key": [f"pos:{i}" for i in range(20)], "record_id": [str(i) for i in range(20)],
            "first_name": "A", "consent_email": None, "consent_sms": None}))
    if interactions:
        ws.write("interactions", pd.DataFrame({"interaction_id": ["i1"], "record_key": ["pos:1"],
                                               "date": [pd.Timestamp("2025-03-01")],
                                               "channel": ["email"]}))
    if products:
        ws.write("products", pd.DataFrame({"product_id": [f"p{i}" for i in range(products)],
                                           "category": "c", "unit_cost": 4.0}))
    return ws


def test_readiness_gives_no_score_to_a_stage_without_its_input(tmp_path):
    from onetoone.readiness.data_readiness import measure_data_readiness, stage_data_scores

    with _workspace(tmp_path, records=False, interactions=False, products=0) as ws:
        m = measure_data_readiness(ws)
        scores = stage_data_scores(m).set_index("stage")["data_score"]
    ident = m[m["stage"] == "identify"]
    assert not ident["available"].any() and ident["score"].isna().all()
    # the measure that could have been computed anyway says why it is not
    assert "no customer records" in ident.set_index("measure").loc["recognition_rate", "note"]
    assert np.isnan(scores["identify"]) and np.isnan(scores["interact"])
    assert np.isnan(scores["customize"])
    assert scores["differentiate"] == scores["differentiate"]  # transactions are there: measured


def test_readiness_scores_identify_when_records_exist(tmp_path):
    from onetoone.readiness.data_readiness import measure_data_readiness

    with _workspace(tmp_path, records=True, interactions=True, products=3) as ws:
        m = measure_data_readiness(ws).set_index("measure")
    assert m.loc["recognition_rate", "available"] and m.loc["profile_completeness", "available"]


def test_gaps_name_what_each_stage_lacks(tmp_path):
    from onetoone.gaps import stage_gaps

    with _workspace(tmp_path, records=False, interactions=False, products=0) as ws:
        gaps = {s: [g.missing for g in stage_gaps(ws, s)]
                for s in ("identify", "differentiate", "interact", "customize", "readiness")}
        sentence = stage_gaps(ws, "identify")[0].sentence
    assert gaps["identify"] == ["customer_records", "interactions"]  # consent: no records at all
    assert gaps["differentiate"] == ["interactions", "products", "line_cost"]
    assert gaps["customize"][0] == "products"
    assert sentence.count(". ") == 0 and sentence.endswith(".")  # one plain sentence
    assert "no customer records" in sentence and "would show" in sentence


def test_gaps_see_consent_and_a_one_product_catalogue(tmp_path):
    from onetoone.gaps import stage_gaps

    with _workspace(tmp_path, records=True, interactions=True, products=1) as ws:
        interact = [g.missing for g in stage_gaps(ws, "interact")]
        customize = [g.missing for g in stage_gaps(ws, "customize")]
        differentiate = [g.missing for g in stage_gaps(ws, "differentiate")]
    assert interact == ["consent"]  # records without any opt-in
    assert customize[0] == "products"  # one placeholder product is no catalogue
    assert "line_cost" in differentiate  # no line cost and no usable unit costs
    with pytest.raises(ValueError, match="unknown stage"):
        stage_gaps(None, "nowhere")
