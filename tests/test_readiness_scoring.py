"""Scoring, gaps, agreement, priorities and data-measured readiness, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from onetoone.readiness import data_readiness, priorities, scoring
from onetoone.readiness.model import load_questionnaires
from onetoone.workspace import Workspace


def _answers(spec: dict[tuple[str, str], dict[str, int]]) -> pd.DataFrame:
    """spec: (token, group) -> {section: value for every item of that section}."""
    qs = load_questionnaires()
    rows = []
    for (token, group), per_section in spec.items():
        for q in qs.questionnaires:
            for s, it in q.items():
                if s.id in per_section:
                    rows.append({"token": token, "group": group, "questionnaire": q.id,
                                 "section": s.id, "item_id": it.id, "value": per_section[s.id]})
    return pd.DataFrame(rows)


@pytest.fixture
def answers():
    return _answers({
        ("m1", "managers"): {"identify": 4, "differentiate": 4, "interact": 5, "customize": 3},
        ("m2", "managers"): {"identify": 2, "differentiate": 4, "interact": 5, "customize": 3},
        ("c1", "customers"): {"identify": 2, "differentiate": 1, "interact": 2, "customize": 3},
        ("c2", "customers"): {"identify": 2, "differentiate": 3, "interact": 2, "customize": 3},
    })


def test_group_scores_gap_and_agreement(answers):
    s = scoring.group_scores(answers).set_index(["section", "group"])
    assert s.loc[("identify", "managers"), "score"] == 3.0
    assert s.loc[("identify", "customers"), "score"] == 2.0
    # managers answered 4 and 2 on every identify item: variance 2 = the random-answer variance
    assert s.loc[("identify", "managers"), "rwg"] == 0.0
    assert s.loc[("identify", "customers"), "rwg"] == 1.0
    # customers 1 and 3 on differentiate: variance 2 -> r_wg 0; managers 4 and 4 -> 1
    assert s.loc[("differentiate", "customers"), "rwg"] == 0.0
    assert s.loc[("identify", "managers"), "respondents"] == 2
    # the t interval of identify/managers: mean 3, sd sqrt(2), n 2 -> 3 +- 12.706 * 1
    assert s.loc[("identify", "managers"), "high"] == pytest.approx(3 + 12.7062, abs=1e-3)

    profile = scoring.stage_profile(scoring.group_scores(answers))
    assert list(profile.index) == ["identify", "differentiate", "interact", "customize"]
    assert profile.loc["interact", "managers"] == 5.0

    g = scoring.gaps(scoring.group_scores(answers))
    top = g.iloc[0]
    assert (top["section"], top["pair"], top["gap"]) == ("interact", "managers - customers", 3.0)
    assert g.set_index("section").loc["customize", "gap"] == 0.0

    overall = scoring.overall_stage_scores(scoring.group_scores(answers))
    assert overall["identify"] == 2.5 and overall["interact"] == 3.5


def test_rwg_needs_two_respondents():
    a = _answers({("m1", "managers"): {"identify": 4}})
    s = scoring.group_scores(a)
    assert math.isnan(s["rwg"].iloc[0]) and s["respondents"].iloc[0] == 1


def test_empty_answers_score_to_empty_tables():
    empty = pd.DataFrame(columns=["token", "group", "questionnaire", "section", "item_id", "value"])
    s = scoring.group_scores(empty)
    assert s.empty and scoring.gaps(s).empty and scoring.stage_profile(s).empty
    assert priorities.rank_priorities(scoring.overall_stage_scores(s)).empty


def test_priorities_put_the_weak_foundation_and_large_gaps_first(answers):
    s = scoring.group_scores(answers)
    stage_scores = scoring.overall_stage_scores(s)  # identify 2.5, differentiate 3, interact 3.5, customize 3
    p = priorities.rank_priorities(stage_scores, scoring.gaps(s))
    assert p.iloc[0]["stage"] == "identify" and p.iloc[0]["kind"] == "foundation"
    assert "weaker than a later stage" in p.iloc[0]["reason"]
    assert p.iloc[0]["urgency"] == pytest.approx((5 - 2.5) * 1.6 + 0.5)
    gap_rows = p[p["kind"] == "gap"]
    assert "interact" in set(gap_rows["stage"])  # the 3-point managers-customers gap
    assert p["activities"].str.len().gt(20).all()
    assert list(p["rank"]) == list(range(1, len(p) + 1))
    data = pd.DataFrame({"stage": ["interact"], "data_score": [1.5]})
    p2 = priorities.rank_priorities(stage_scores, None, data, matrix_quadrant="needs")
    assert {"data", "matrix"} <= set(p2["kind"])
    assert "the data shows 1.5" in p2.set_index("kind").loc["data", "reason"]
    with pytest.raises(ValueError, match="unknown matrix quadrant"):
        priorities.rank_priorities(stage_scores, matrix_quadrant="petrol")


def test_data_readiness_from_a_small_workspace(tmp_path):
    with Workspace(tmp_path / "ws.duckdb") as ws:
        assert set(data_readiness.measure_data_readiness(ws)["available"]) == {False}
        ws.write("customer_records", pd.DataFrame({
            "record_key": ["crm:1", "crm:2", "web:1", "web:2"], "first_name": ["A", "B", None, "D"],
            "email": ["a@x", None, None, "d@x"]}))
        # c1 is known to crm and web (linked, not a duplicate) and twice within crm (a duplicate)
        ws.write("record_map", pd.DataFrame({"record_key": ["crm:1", "crm:2", "web:1", "web:2", "crm:3"],
                                             "customer_id": ["c1", "c2", "c1", "c3", "c1"]}))
        ws.write("customers", pd.DataFrame({"customer_id": ["c1", "c2", "c3"],
                                            "first_name": ["A", "B", "D"], "last_name": ["a", None, None],
                                            "email": ["a@x", None, "d@x"], "phone": [None, None, "1"]}))
        ws.write("transactions", pd.DataFrame({"record_key": ["crm:1", None, "web:2", "crm:9"],
                                               "amount": [1.0, 2, 3, 4], "cost": [0.5, None, 1, 1]}))
        ws.write("interactions", pd.DataFrame({"record_key": ["crm:1", "web:1", None, "crm:2"],
                                               "channel": ["email", "store", "web", "call_centre"]}))
        ws.write("customer_value", pd.DataFrame({"customer_id": ["c1", "c2"], "clv": [10.0, None]}))
        ws.write("recommendations", pd.DataFrame({"customer_id": ["c1", "c1", "c3"], "product_id": ["p"] * 3}))
        m = data_readiness.measure_data_readiness(ws).set_index("measure")
    # 8 events: transactions crm:1, web:2 known, null and crm:9 not; interactions crm:1, web:1, crm:2 known
    assert m.loc["recognition_rate", "value"] == pytest.approx(5 / 8)
    # customers: 4 profile fields present (first_name, last_name, email, phone): c1 3, c2 1, c3 3 of 4 filled
    assert m.loc["profile_completeness", "value"] == pytest.approx((3 / 4 + 1 / 4 + 3 / 4) / 3)
    assert m.loc["duplicate_rate", "value"] == pytest.approx(1 / 5)
    assert m.loc["value_measurability", "value"] == pytest.approx(1 / 3)
    assert m.loc["margin_measurability", "value"] == pytest.approx(3 / 4)
    assert m.loc["efficient_channel_share", "value"] == pytest.approx(2 / 4)
    assert m.loc["contact_history_coverage", "value"] == pytest.approx(2 / 3)
    assert m.loc["offer_coverage", "value"] == pytest.approx(2 / 3)
    assert m["available"].all()
    assert m.loc["efficient_channel_share", "score"] == pytest.approx(1 + 4 * (0.5 - 0.05) / 0.55, abs=0.01)
    st = data_readiness.stage_data_scores(m.reset_index()).set_index("stage")
    assert st.loc["customize", "data_score"] == pytest.approx(m.loc["offer_coverage", "score"])
    assert st.loc["identify", "unavailable"] == ""


def test_data_readiness_names_what_is_missing(tmp_path):
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.write("interactions", pd.DataFrame({"record_key": ["crm:1"], "channel": ["web"]}))
        m = data_readiness.measure_data_readiness(ws).set_index("measure")
        st = data_readiness.stage_data_scores(m.reset_index()).set_index("stage")
    assert m.loc["efficient_channel_share", "value"] == 1.0
    # no customer records: Identify has nothing to work on, so it gets no score (not 5 of 5)
    assert not m.loc["recognition_rate", "available"]
    assert "no customer records" in m.loc["recognition_rate", "note"]
    assert np.isnan(st.loc["identify", "data_score"])
    assert not m.loc["offer_coverage", "available"] and "run customize" in m.loc["offer_coverage", "note"]
    assert np.isnan(st.loc["customize", "data_score"])
    assert "offer_coverage" in st.loc["customize", "unavailable"]
