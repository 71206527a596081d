"""Interact: timeline, channel economics, contact policy, next best action, lists, profiling.

Unit and property tests run on small synthetic frames; the bar tests read the sample client's
workspace built through Interact (sample_support) and check the planted stories in
data/sample/ground_truth are found, and that the whole sample plan keeps the policy.
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onetoone import columns as C
from onetoone.config import ClientConfig
from onetoone.interact import channels as CH
from onetoone.interact import lists as L
from onetoone.interact import nba, pipeline, policy, profiling, timeline
from onetoone.interact.policy import Policy, check_plan
from onetoone.workspace import Workspace

AS_OF = dt.date(2026, 9, 30)
COSTS = {"web": 0.10, "email": 0.05, "sms": 0.08, "call_centre": 6.50, "store": 4.00,
         "sales_rep": 45.00, "mail": 1.20}
CONSENTS = list(C.CONSENT_CHANNELS.values())


def _policy(caps=None, quiet=14, horizon=30) -> Policy:
    return Policy(caps_per_month=caps or {"MVC": 4, "MGC": 4, "maintain": 2, "BZ": 1},
                  quiet_days=quiet,
                  channels_by_tier={"MVC": ("call_centre",), "MGC": ("email", "mail", "call_centre"),
                                    "maintain": ("email", "sms", "mail"), "BZ": ("email", "sms")},
                  channels_by_action={"win_back": ("call_centre",)}, horizon_days=horizon)


def _interactions(rows: list[tuple]) -> pd.DataFrame:
    """rows: (customer_id, date, channel, direction, type, outcome[, cost[, topic]])."""
    out = []
    for i, r in enumerate(rows):
        r = list(r) + [None] * (8 - len(r))
        out.append({"interaction_id": f"i{i}", "customer_id": r[0], "date": pd.Timestamp(r[1]),
                    "channel": r[2], "direction": r[3], "type": r[4], "outcome": r[5],
                    "cost": r[6], "topic": r[7], "campaign_id": "c1" if r[3] == "outbound" else None,
                    "satisfaction": None, "source_system": "crm"})
    df = pd.DataFrame(out)
    df["cost"] = df["cost"].astype(float)
    df["satisfaction"] = df["satisfaction"].astype(float)
    return df


def _mem(df: pd.DataFrame) -> ibis.Table:
    return ibis.memtable(df)


# ------------------------------------------------------------------------------------------
# channel economics
# ------------------------------------------------------------------------------------------
def test_channel_volumes_cost_per_contact_and_own_cost_wins():
    it = _interactions([("a", "2026-09-01", "call_centre", "inbound", "service", "resolved"),
                        ("a", "2026-08-01", "mail", "outbound", "campaign", None, 2.0),
                        ("b", "2026-07-01", "email", "outbound", "offer", "responded"),
                        (None, "2026-07-01", "call_centre", "inbound", "enquiry", "resolved"),
                        ("b", "2024-01-01", "call_centre", "inbound", "service", "resolved")])
    tiers = pd.DataFrame({"customer_id": ["a", "b"], "tier": ["BZ", "MVC"]})
    v = CH.channel_volumes(_mem(it), tiers, COSTS, as_of=AS_OF, months=12)
    got = {(r.channel, r.tier): (r.contacts, round(r.cost, 2)) for r in v.itertuples()}
    assert got == {("call_centre", "BZ"): (1, 6.5), ("call_centre", "unrecognised"): (1, 6.5),
                   ("mail", "BZ"): (1, 2.0), ("email", "MVC"): (1, 0.05)}


def test_shift_savings_moves_share_and_keeps_protected_tiers():
    vols = pd.DataFrame({"channel": ["call_centre", "call_centre", "email", "mail"],
                         "tier": ["MVC", "maintain", "maintain", "BZ"],
                         "contacts": [100, 200, 1000, 50], "cost": [650.0, 1300.0, 50.0, 60.0]})
    s = CH.shift_savings(vols, 0.5, keep_tiers=("MVC",), costs=COSTS)
    row = s.set_index(["channel", "tier"])
    assert row.loc[("call_centre", "MVC"), "moved"] == 0
    assert row.loc[("call_centre", "maintain"), "moved"] == 100
    assert row.loc[("call_centre", "maintain"), "saving"] == pytest.approx(100 * (6.5 - 0.10))
    assert row.loc[("mail", "BZ"), "saving"] == pytest.approx(25 * (1.2 - 0.05))
    assert row.loc[("email", "maintain"), "saving"] == 0
    summ = CH.shift_summary(s)
    assert summ["yearly_saving"] == pytest.approx(640 + 28.75)
    assert CH.shift_summary(CH.shift_savings(vols, 0.0, costs=COSTS))["yearly_saving"] == 0
    with pytest.raises(ValueError, match="between 0 and 1"):
        CH.shift_savings(vols, 1.5)
    # half a year of volumes is scaled to a year
    half = CH.shift_savings(vols, 0.5, costs=COSTS, months=6)
    assert CH.shift_summary(half)["yearly_saving"] == pytest.approx(2 * summ["yearly_saving"])


# ------------------------------------------------------------------------------------------
# contact policy: badgering report and plan checker
# ------------------------------------------------------------------------------------------
def test_badgering_report_finds_cap_and_quiet_breaches_only():
    rows = [("a", f"2026-03-{d:02d}", "email", "outbound", "offer", "no_response") for d in
            (1, 5, 9, 13, 20)]  # 5 in March, maintain cap 2 -> 3 over
    rows += [("b", "2026-03-01", "email", "outbound", "offer", None),
             ("b", "2026-03-02", "sms", "outbound", "offer", None)]  # exactly the cap
    rows += [("c", "2026-05-01", "call_centre", "inbound", "complaint", "open"),
             ("c", "2026-05-04", "email", "outbound", "offer", None),  # 3 days after: quiet
             ("c", "2026-05-20", "email", "outbound", "offer", None)]  # 19 days: fine
    rows += [("d", f"2026-04-{d:02d}", "call_centre", "inbound", "service", None) for d in range(1, 9)]
    tiers = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "tier": "maintain"})
    r = policy.badgering_report(_mem(_interactions(rows)), tiers, _policy())
    assert set(r["customer_id"]) == {"a", "c"}
    a = r.set_index("customer_id").loc["a"]
    assert (a["max_per_month"], a["contacts_over_cap"], a["cap"], a["quiet_breaches"]) == (5, 3, 2, 0)
    c = r.set_index("customer_id").loc["c"]
    assert (c["contacts_over_cap"], c["quiet_breaches"]) == (0, 1)
    # an MVC may have 4 a month: the same 5 contacts are 1 over
    r2 = policy.badgering_report(_mem(_interactions(rows)), pd.Series({"a": "MVC"}), _policy())
    assert r2.set_index("customer_id").loc["a", "contacts_over_cap"] == 1


def _plan_row(cid, action="ask", channel="email", day="2026-10-01", tier="maintain"):
    return {"customer_id": cid, "action": action, "channel": channel,
            "planned_date": pd.Timestamp(day) if day else pd.NaT, "tier": tier}


def test_check_plan_catches_every_kind_of_breach():
    consent = pd.DataFrame({"customer_id": list("abcdefg"), "consent_email": True,
                            "consent_sms": False, "consent_phone": False, "consent_mail": True})
    hist = _interactions([("c", "2026-10-01", "email", "outbound", "offer", None),
                          ("c", "2026-10-01", "mail", "outbound", "offer", None),
                          ("d", "2026-09-25", "call_centre", "inbound", "complaint", "open")])
    plan = pd.DataFrame([
        _plan_row("a"),                                   # fine
        _plan_row("b", channel="sms"),                    # no consent
        _plan_row("c", day="2026-10-02"),                 # 2 already in October, cap 2
        _plan_row("d", day="2026-10-05"),                 # 10 days after a complaint
        _plan_row("e", day="2026-12-01"),                 # beyond the 30-day horizon
        _plan_row("f", action="leave_alone"),             # leave alone with a channel
        _plan_row("g", channel="web"),                    # web has no consent column
    ])
    bad = check_plan(plan, consent, _mem(hist), _policy(), AS_OF)
    rules = dict(zip(bad["customer_id"], bad["rule"]))
    assert "a" not in rules
    assert rules["b"] == "no consent"
    assert rules["c"] == "over the monthly cap"
    assert rules["d"] == "within the quiet time after a complaint"
    assert rules["e"] == "outside the plan horizon"
    assert rules["f"] == "leave_alone with a contact"
    assert rules["g"] == "channel needs no consent column"
    with pytest.raises(policy.PolicyViolation, match="breaks the contact policy"):
        policy.assert_plan_keeps_policy(plan, consent, _mem(hist), _policy(), AS_OF)


# ------------------------------------------------------------------------------------------
# next best action: the plan keeps the policy by construction (property test)
# ------------------------------------------------------------------------------------------
TIER_ST = st.sampled_from(["MVC", "MGC", "maintain", "BZ"])


@st.composite
def customers_and_history(draw):
    n = draw(st.integers(1, 12))
    as_of = pd.Timestamp("2026-09-30") - pd.Timedelta(days=draw(st.integers(0, 40)))
    custs, rows = [], []
    for i in range(n):
        cid = f"c{i}"
        row = {"customer_id": cid, "tier": draw(TIER_ST)}
        for c in CONSENTS:
            row[c] = draw(st.booleans())
        row["revenue_12m"] = draw(st.sampled_from([0.0, 50.0, 900.0]))
        row["revenue_prev_12m"] = draw(st.sampled_from([0.0, 100.0, 2000.0]))
        row["revenue_before_12m"] = row["revenue_prev_12m"] * 2
        row["lost_valuable"] = row["revenue_12m"] == 0 and row["revenue_prev_12m"] > 0
        row["unrealised_potential"] = draw(st.sampled_from([np.nan, 0.0, 500.0]))
        row["human_inbound_12m"] = draw(st.integers(0, 20))
        row["human_inbound_cost_12m"] = row["human_inbound_12m"] * 6.5
        row["question_1"] = draw(st.sampled_from([None, "email", "interests"]))
        row["question_1_score"] = 0.0 if row["question_1"] is None else 0.8
        row["question_1_text"] = row["question_1"]
        custs.append(row)
        for _ in range(draw(st.integers(0, 8))):
            back = draw(st.integers(-3, 60))  # a few rows just after as_of, too
            rows.append((cid, as_of - pd.Timedelta(days=back),
                         draw(st.sampled_from(["email", "sms", "mail", "call_centre"])),
                         draw(st.sampled_from(["outbound", "inbound"])),
                         draw(st.sampled_from(["offer", "complaint", "service"])), None))
    caps = {t: draw(st.integers(0, 3)) for t in ("MVC", "MGC", "maintain", "BZ")}
    pol = _policy(caps=caps, quiet=draw(st.integers(0, 45)), horizon=draw(st.integers(1, 62)))
    return pd.DataFrame(custs), (_interactions(rows) if rows else None), pol, as_of.date()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(customers_and_history())
def test_property_no_planned_contact_breaks_consent_cap_or_quiet_time(case):
    custs, hist, pol, as_of = case
    it = _mem(hist) if hist is not None else None
    facts = nba.contact_facts(it, as_of, COSTS)
    cust = custs.merge(facts[["customer_id", "last_complaint"]], on="customer_id", how="left") \
        if len(facts) else custs
    plan = nba.next_best_actions(cust, pol, as_of, costs=COSTS,
                                 future_contacts=nba.future_outbound(it, as_of))
    bad = check_plan(plan, custs, it, pol, as_of, tiers=custs.set_index("customer_id")["tier"])
    assert bad.empty, bad.to_string()
    assert len(plan) == len(custs) and plan["customer_id"].is_unique
    contacts = plan[plan["action"] != "leave_alone"]
    # every contact is on the cheapest consented channel among those that suit it, if any
    for r in contacts.itertuples():
        c = custs.set_index("customer_id").loc[r.customer_id]
        consented = [ch for ch, col in C.CONSENT_CHANNELS.items() if c[col]]
        suits = pol.channels_by_action.get(r.action) or pol.channels_by_tier[c["tier"]]
        pool = [ch for ch in consented if ch in suits] or consented
        assert r.channel == min(pool, key=lambda ch: COSTS[ch])
        assert r.expected_value > 0
    assert sorted(plan["priority"].head(len(contacts))) == list(range(1, len(contacts) + 1))


def test_next_best_action_rules_and_reasons():
    base = {c: True for c in CONSENTS}
    rows = [
        {"customer_id": "lost", "tier": "maintain", "lost_valuable": True, "revenue_12m": 0.0,
         "revenue_prev_12m": 3000.0, "revenue_before_12m": 6000.0, **base},
        {"customer_id": "declining", "tier": "MVC", "revenue_12m": 1000.0,
         "revenue_prev_12m": 5000.0, **base},
        {"customer_id": "bz", "tier": "BZ", "human_inbound_12m": 12,
         "human_inbound_cost_12m": 78.0, **base},
        {"customer_id": "mgc", "tier": "MGC", "unrealised_potential": 2000.0,
         "revenue_12m": 500.0, "top_product": "Oak Table", **base},
        {"customer_id": "gap", "tier": "maintain", "question_1": "email",
         "question_1_score": 0.8, "question_1_text": "May we have your email address?", **base},
        {"customer_id": "quiet", "tier": "maintain", **base},
        {"customer_id": "nocons", "tier": "MGC", "unrealised_potential": 2000.0,
         **{c: False for c in CONSENTS}},
    ]
    plan = nba.next_best_actions(pd.DataFrame(rows), _policy(), AS_OF, costs=COSTS,
                                 currency="GBP").set_index("customer_id")
    assert plan.loc["lost", ["action", "channel"]].tolist() == ["win_back", "call_centre"]
    assert "GBP 6,000" in plan.loc["lost", "reason"]
    assert plan.loc["declining", ["action", "channel"]].tolist() == ["retain", "call_centre"]
    assert plan.loc["bz", ["action", "channel"]].tolist() == ["serve_cheaper", "email"]
    assert plan.loc["mgc", ["action", "channel"]].tolist() == ["grow", "email"]
    assert "Oak Table" in plan.loc["mgc", "reason"]
    assert plan.loc["gap", ["action", "question"]].tolist() == ["ask", "email"]
    assert plan.loc["quiet", "action"] == "leave_alone"
    assert plan.loc["nocons", "action"] == "leave_alone"
    assert "No opt-in" in plan.loc["nocons", "reason"]
    # priority 1 = the biggest expected value; the left-alone come last
    ranked = plan.sort_values("priority")
    contacts = ranked[ranked["action"] != "leave_alone"]
    assert contacts["expected_value"].is_monotonic_decreasing
    assert plan.loc["declining", "priority"] == 1  # 0.12 x 4,000 x 35 % - 6.50
    assert plan.loc["declining", "expected_value"] == pytest.approx(0.12 * 4000 * 0.35 - 6.5)
    assert (ranked.tail(2)["action"] == "leave_alone").all()
    assert (plan["planned_date"].dropna() == pd.Timestamp("2026-10-01")).all()


def test_schedule_respects_quiet_days_and_moves_past_a_full_month():
    pol = _policy(caps={"maintain": 2}, quiet=14, horizon=60)
    ids = pd.Series(["a", "b", "c"])
    last_c = pd.Series([pd.Timestamp("2026-09-28"), pd.NaT, pd.NaT])
    future = pd.DataFrame({"customer_id": ["b"], "month": [pd.Timestamp("2026-10-01")],
                           "contacts": [2]})
    days = nba.schedule(ids, np.array([2, 2, 0]), last_c, future, pol, AS_OF)
    assert pd.Timestamp(days[0]) == pd.Timestamp("2026-10-13")  # 28 Sep + 14 quiet days + 1
    assert pd.Timestamp(days[1]) == pd.Timestamp("2026-11-01")  # October is full
    assert pd.isna(days[2])  # cap 0: never


# ------------------------------------------------------------------------------------------
# lists
# ------------------------------------------------------------------------------------------
def test_lost_valuable_needs_value_regularity_and_a_silent_year():
    s = pd.DataFrame({
        "customer_id": ["big_lost", "big_active", "small_lost", "one_off", "long_gone"],
        "revenue_before_12m": [5000.0, 6000.0, 50.0, 7000.0, 8000.0],
        "orders_before_12m": [10, 12, 3, 1, 9], "revenue_prev_12m": [2000.0, 3000.0, 20.0,
                                                                     7000.0, 0.0],
        "orders_prev_12m": [4, 5, 1, 1, 0], "orders_12m": [0, 3, 0, 0, 0],
        "last_purchase": pd.to_datetime(["2025-08-01"] * 5)})
    lost = L.lost_valuable(s, value_quantile=0.2, min_orders=2)
    assert lost["customer_id"].tolist() == ["big_lost"]
    assert lost["rank"].tolist() == [1]


def test_repeat_complainers_and_response_rates():
    rows = [("a", f"2026-0{m}-01", "call_centre", "inbound", "complaint", o, None, t)
            for m, o, t in ((1, "resolved", "late"), (2, "open", "late"), (3, "resolved", "rude"))]
    rows += [("b", "2026-01-01", "call_centre", "inbound", "complaint", "resolved")]
    rows += [("a", "2026-06-01", "email", "outbound", "offer", "responded"),
             ("b", "2026-06-01", "email", "outbound", "offer", "no_response"),
             ("b", "2026-06-02", "mail", "outbound", "campaign", "no_response", 1.0)]
    it = _mem(_interactions(rows))
    rc = L.repeat_complainers(it, min_complaints=3)
    assert rc["customer_id"].tolist() == ["a"]
    assert (rc.loc[0, "complaints"], rc.loc[0, "open_complaints"]) == (3, 1)
    assert rc.loc[0, "topics"] == "late; rude"
    rr = L.response_rates(it, COSTS).set_index("channel")
    assert rr.loc["email", "response_rate"] == 0.5
    assert rr.loc["email", "cost_per_response"] == pytest.approx(0.10)
    assert np.isnan(rr.loc["mail", "cost_per_response"])


# ------------------------------------------------------------------------------------------
# profiling
# ------------------------------------------------------------------------------------------
def test_next_questions_missing_weighted_by_tier_and_not_asked_again():
    prof = pd.DataFrame({"customer_id": ["mvc", "bz", "full", "asked"],
                         "email": [None, None, "x@y.z", None], "phone": [None, "1", "1", "1"],
                         "street": ["s", "s", "s", "s"], "postcode": ["p", "p", "p", "p"],
                         "birth_date": [None, None, pd.Timestamp("1980-01-01"), None],
                         "household_size": [2, 2, 2, 2], "preferred_channel": ["email"] * 4,
                         "interests": ["x", "x", "x", " "]})
    tiers = pd.Series({"mvc": "MVC", "bz": "BZ", "full": "maintain", "asked": "MGC"})
    asked = pd.DataFrame({"customer_id": ["asked"], "attribute": ["interests"],
                          "last_asked": [pd.Timestamp("2026-09-01")], "last_outcome": ["declined"]})
    q = profiling.next_questions(prof, tiers, asked).set_index("customer_id")
    assert q.loc["mvc", "question_1"] == "phone"  # a person can call the most valuable
    assert q.loc["bz", "question_1"] == "email"  # the cheapest channel for a below-zero
    assert pd.isna(q.loc["full", "question_1"]) and q.loc["full", "missing"] == 0
    assert q.loc["asked", "question_1"] == "email"  # interests asked last month: not again
    assert q.loc["asked", "missing"] == 3
    assert isinstance(q.loc["mvc", "question_1_text"], str)


# ------------------------------------------------------------------------------------------
# timeline
# ------------------------------------------------------------------------------------------
def test_timeline_newest_first_and_where_we_left_off():
    tx = pd.DataFrame({"transaction_id": ["t1", "t2", "t3"], "order_id": ["o1", "o1", "o2"],
                       "customer_id": ["a", "a", "a"],
                       "date": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-06-01"]),
                       "product_id": ["p1", "p2", "p1"], "amount": [10.0, 5.0, 20.0],
                       "is_return": [False, False, False], "channel": ["web", "web", "store"],
                       "source_system": "web"})
    it = _interactions([("a", "2026-07-01", "call_centre", "inbound", "complaint", "open", None, "late"),
                        ("a", "2026-08-01", "email", "outbound", "question", "answered", None, "email"),
                        ("a", "2026-09-20", "email", "outbound", "offer", "no_response", None, "sofas"),
                        ("b", "2026-09-21", "email", "outbound", "offer", None)])
    products = _mem(pd.DataFrame({"product_id": ["p1", "p2"], "name": ["Lamp", "Bulb"]}))
    tl = timeline.customer_timeline(_mem(tx), _mem(it), "a", products=products)
    assert tl["date"].is_monotonic_decreasing
    assert tl["event"].tolist() == ["contact", "contact", "contact", "purchase", "purchase"]
    assert tl.iloc[-1]["amount"] == 15.0 and "Lamp" in tl.iloc[-1]["detail"]
    left = timeline.where_we_left_off(tl, AS_OF, "a")
    assert "late" in left.open_complaint and "still open" in left.open_complaint
    assert left.last_purchase.startswith("01 Jun 2026")
    assert "offer" in left.last_contact
    assert "email" in left.last_question and "answered" in left.last_question
    assert "sofas" in left.pending_offer
    empty = timeline.where_we_left_off(timeline.customer_timeline(_mem(tx), None, "zzz"), AS_OF)
    assert empty.events == 0 and empty.last_purchase is None


# ------------------------------------------------------------------------------------------
# a client with no interactions file at all; export
# ------------------------------------------------------------------------------------------
def _tiny_workspace(path, with_interactions: bool):
    rng = np.random.default_rng(7)
    n = 40
    recs = pd.DataFrame({"source_system": "crm", "record_id": [f"r{i}" for i in range(n)]})
    recs["record_key"] = "crm:" + recs["record_id"]
    recs["email"] = [f"p{i}@example.com" if i % 3 else None for i in range(n)]
    recs["phone"] = [f"0700 900 {i:03d}" for i in range(n)]
    recs["first_name"], recs["last_name"] = "Ann", "Lee"
    recs["street"], recs["postcode"], recs["city"] = "1 High St", "AB1 2CD", "Leeds"
    for c in CONSENTS:
        recs[c] = rng.random(n) < 0.6
    days = rng.integers(0, 1000, 400)
    tx = pd.DataFrame({"transaction_id": [f"t{i}" for i in range(400)],
                       "order_id": [f"o{i}" for i in range(400)],
                       "record_key": "crm:r" + pd.Series(rng.integers(0, n - 5, 400)).astype(str),
                       "date": pd.Timestamp("2026-09-30") - pd.to_timedelta(days, unit="D"),
                       "product_id": "p1", "amount": rng.gamma(2, 50, 400).round(2),
                       "cost": 30.0, "channel": "web", "source_system": "crm"})
    ws = Workspace(path)
    ws.write("customer_records", recs)
    ws.write("transactions", tx)
    if with_interactions:
        it = _interactions([(f"crm:r{i}", "2026-09-25", "call_centre", "inbound", "complaint", "open")
                            for i in range(5)]).rename(columns={"customer_id": "record_key"})
        ws.write("interactions", it)
    return ws


def _cfg(path) -> ClientConfig:
    return ClientConfig(client="tiny", as_of=AS_OF, currency="GBP", sources=[],
                        workspace=str(path))


def test_client_without_interactions_still_gets_a_plan_and_is_told_what_is_missing(tmp_path):
    ws = _tiny_workspace(tmp_path / "t.duckdb", with_interactions=False)
    cfg = _cfg(tmp_path / "t.duckdb")
    out = pipeline.run(cfg, ws, echo=False)
    plan = ws.read("contact_plan")
    assert out["has_interactions"] is False and out["policy_violations"] == 0
    assert len(plan) == 40 and set(plan.columns) >= {"customer_id", "action", "channel", "reason",
                                                      "priority", "expected_value",
                                                      "planned_date", "question"}
    assert out["planned_contacts"] > 0
    inputs = pipeline.plan_inputs(cfg, ws)
    assert any("No interactions file" in n and "badgering" in n for n in inputs.notes)
    assert inputs.value_source == "fallback"
    # customers with no purchases (r35..r39) are in the plan too
    assert {f"crm:r{i}" for i in range(35, 40)} <= set(plan["customer_id"])
    ws.close()


def test_plan_with_interactions_waits_out_the_complaint_and_exports(tmp_path):
    ws = _tiny_workspace(tmp_path / "t.duckdb", with_interactions=True)
    cfg = _cfg(tmp_path / "t.duckdb")
    pipeline.run(cfg, ws, echo=False)
    plan = ws.read("contact_plan")
    complained = plan[plan["customer_id"].isin([f"crm:r{i}" for i in range(5)])
                      & (plan["action"] != "leave_alone")]
    assert (complained["planned_date"] > pd.Timestamp("2026-10-09")).all()
    inputs = pipeline.plan_inputs(cfg, ws)
    path = pipeline.export_contact_plan(plan, tmp_path / "plan.csv", profile=inputs.profile)
    csv = pd.read_csv(path, dtype=str)
    assert list(csv.columns) == list(pipeline.EXPORT_COLUMNS)
    assert len(csv) == int((plan["action"] != "leave_alone").sum())
    assert csv["priority"].astype(int).is_monotonic_increasing
    assert not csv["email"].dropna().str.contains(r"^p\d+@", regex=True).any()
    assert csv["email"].dropna().str.contains(r"\*\*\*@example\.com").all()
    assert csv["phone"].dropna().str.match(r"^\*+\d{3}$").all()
    full = pd.read_csv(pipeline.export_contact_plan(plan, tmp_path / "full.csv",
                                                    profile=inputs.profile, mask=False), dtype=str)
    assert full["email"].dropna().str.contains(r"^p\d+@example\.com$").all()
    ws.close()


# ------------------------------------------------------------------------------------------
# bars on the sample client
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample():
    from sample_support import ground_truth, sample_workspace

    cfg = sample_workspace("interact")
    ws = Workspace(cfg.workspace_path, read_only=True)
    people = ground_truth("people")
    recs = ground_truth("records")
    recs["record_key"] = recs["source_system"] + ":" + recs["record_id"]
    rm = ws.read("record_map")[["record_key", "customer_id"]]
    c2p = recs.merge(rm, on="record_key")[["customer_id", "person_id"]].drop_duplicates()
    yield cfg, ws, people, c2p
    ws.close()


def _persons(c2p, ids) -> set:
    return set(c2p.loc[c2p["customer_id"].isin(set(map(str, ids))), "person_id"])


def _flag(people, col) -> set:
    return set(people.loc[people[col].astype(str) == "True", "person_id"])


def test_sample_whole_plan_keeps_the_policy(sample):
    cfg, ws, _, _ = sample
    inputs = pipeline.plan_inputs(cfg, ws)
    plan = ws.read("contact_plan")
    assert len(plan) == len(inputs.customers) and plan["customer_id"].is_unique
    bad = pipeline.check(cfg, plan, inputs)
    assert bad.empty, bad.head().to_string()
    assert (plan["action"] != "leave_alone").sum() > 1000
    assert set(plan["action"]) >= {"win_back", "retain", "grow", "serve_cheaper", "ask",
                                   "leave_alone"}


def test_sample_planted_over_contacted_are_found(sample):
    _, ws, people, c2p = sample
    truth = _flag(people, "is_over_contacted")
    rep = ws.read("contact_breaches")
    found = _persons(c2p, rep.loc[rep["contacts_over_cap"] > 0, "customer_id"])
    assert len(truth & found) == len(truth)  # every planted one
    top = rep.sort_values("contacts_over_cap", ascending=False).head(len(truth))
    assert len(truth & _persons(c2p, top["customer_id"])) / len(truth) >= 0.9
    # half of them were also contacted within the quiet days after a complaint
    quiet = _persons(c2p, rep.loc[rep["quiet_breaches"] > 0, "customer_id"])
    assert len(quiet & truth) >= 0.4 * len(truth)


def test_sample_planted_lost_valuable_are_found(sample):
    _, ws, people, c2p = sample
    truth = _flag(people, "is_lost_valuable")
    lost = ws.read("lost_valuable")
    found = _persons(c2p, lost["customer_id"])
    assert len(truth & found) / len(truth) >= 0.95
    assert lost["rank"].tolist() == list(range(1, len(lost) + 1))
    assert lost["revenue_before_12m"].is_monotonic_decreasing
    plan = ws.read("contact_plan")
    wb = plan[plan["action"] == "win_back"]
    assert set(wb["customer_id"]) <= set(lost["customer_id"])


def test_sample_repeat_complainers_are_found(sample):
    _, ws, people, c2p = sample
    truth = _flag(people, "is_repeat_complainer")
    rc = ws.read("repeat_complainers")
    assert len(truth & _persons(c2p, rc["customer_id"])) / len(truth) >= 0.95


# ------------------------------------------------------------------------------------------
# widgets and figures (onetoone.ui.interact)
# ------------------------------------------------------------------------------------------
def test_timeline_lookup_and_channel_shift_simulator(tmp_path):
    from onetoone.ui import interact as UI

    ws = _tiny_workspace(tmp_path / "t.duckdb", with_interactions=True)
    cfg = _cfg(tmp_path / "t.duckdb")
    pipeline.run(cfg, ws, echo=False)
    plan = ws.read("contact_plan")
    lookup = UI.TimelineLookup.snapshot(ws, AS_OF, plan=plan, currency="GBP")
    ws.close()  # the snapshot keeps working without the workspace
    lookup.customer.value = "crm:r0"
    assert lookup.last is not None and lookup.last.events > 1
    assert "Where we left off" in lookup.summary.value and "Open complaint" in lookup.summary.value
    assert "still open" in lookup.summary.value and "Next best" in lookup.summary.value
    assert lookup.table.value.count("<tr>") == min(len(lookup.timeline), lookup.rows) + 1
    lookup.show("nobody")
    assert "no transactions or contacts" in lookup.summary.value

    vols = pd.DataFrame({"channel": ["call_centre", "call_centre", "email"],
                         "direction": "inbound", "tier": ["MVC", "maintain", "maintain"],
                         "contacts": [100, 200, 1000], "customers": [50, 80, 400],
                         "cost": [650.0, 1300.0, 50.0]})
    sim = UI.ChannelShiftSimulator(vols, COSTS, currency="GBP", share=0.0)
    assert sim.current["yearly_saving"] == 0
    sim.share.value = 50
    assert sim.current["yearly_saving"] == pytest.approx(100 * (6.5 - 0.1))
    for box in sim.keep_boxes.values():
        box.value = False
    assert sim.current["yearly_saving"] == pytest.approx(150 * (6.5 - 0.1))
    assert "£" in sim.readout.value and "saves" in sim.figure.layout.title.text
    after = {tr.name: list(tr.y) for tr in sim.figure.data}["After the shift"]
    assert sum(after) == pytest.approx(2000 - 150 * (6.5 - 0.1))
