"""Differentiate: value, needs, potential, tiers, matrix, lists, pipeline; bars on the sample.

Unit tests run on small synthetic frames; the bar tests run the stage on the sample client
(through Identify) and check it finds the planted stories in data/sample/ground_truth.
"""

from __future__ import annotations

import json

import ibis
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from onetoone.config import Tiers
from onetoone.differentiate import lists as L
from onetoone.differentiate.matrix import differentiation_matrix
from onetoone.differentiate.needs import needs_diversity, segment_needs
from onetoone.differentiate.potential import potential_value, tenure_band
from onetoone.differentiate.tiers import assign_tiers
from onetoone.differentiate.value import historical_value

COSTS = {"call_centre": 6.5, "email": 0.05, "store": 4.0, "web": 0.1}


# ------------------------------------------------------------------------------------------
# historical value
# ------------------------------------------------------------------------------------------
@pytest.fixture
def small():
    tx = pd.DataFrame({
        "transaction_id": ["1", "2", "3", "4", "5", "6"],
        "order_id": ["o1", "o1", "o2", "o3", "o4", "o5"],
        "customer_id": ["a", "a", "a", "b", None, "b"],
        "date": pd.to_datetime(["2024-01-05", "2024-01-05", "2025-08-01", "2025-09-01",
                                "2025-01-01", "2025-10-02"]),
        "product_id": ["p1", "p2", "p1", "p2", "p1", "p1"],
        "quantity": [1, 2, -1, 1, 1, 1.0],
        "amount": [100, 50, -100, 30, 10, 999.0],  # row 6 is after as_of
        "cost": [60, None, -60, None, 5, 1.0],
        "is_return": [False, False, True, None, False, False],
        "channel": ["store", "store", "store", "web", "web", "web"]})
    products = pd.DataFrame({"product_id": ["p1", "p2"], "unit_cost": [60.0, 10.0]})
    it = pd.DataFrame({
        "customer_id": ["a", "c", "b", None],
        "date": pd.to_datetime(["2025-01-01"] * 4),
        "channel": ["call_centre", "email", "web", "call_centre"],
        "cost": [None, None, 2.0, None],
        "direction": ["inbound", "outbound", None, "inbound"],
        "type": ["complaint", "offer", None, "complaint"]})
    return ibis.memtable(tx), ibis.memtable(it), ibis.memtable(products)


def test_historical_value_by_hand(small):
    tx, it, products = small
    v = historical_value(tx, it, products, as_of="2025-09-30", channel_costs=COSTS)
    v = v.set_index("customer_id")
    assert list(v.index) == ["a", "b", "c"]  # anonymous rows left out; c only has a contact
    a, b, c = v.loc["a"], v.loc["b"], v.loc["c"]
    # a: 100 + 50 - 100 revenue; margin 40 + (50 - 2 x 10 unit cost) - 40 for the return
    assert a["revenue"] == pytest.approx(50.0)
    assert a["gross_margin"] == pytest.approx(30.0)
    # cost to serve: one complaint call (6.50) + one returned order handled in store (4.00)
    assert a["cost_to_serve"] == pytest.approx(10.5)
    assert a["contribution"] == pytest.approx(19.5)
    assert a["orders"] == 1 and a["returned_orders"] == 1
    assert a["revenue_prev_12m"] == pytest.approx(150.0)
    assert a["revenue_12m"] == pytest.approx(-100.0)
    assert a["complaints"] == 1 and a["inbound_contacts"] == 1
    # b: the line after as_of is ignored; unit-cost fallback; its contact has its own cost
    assert b["revenue"] == pytest.approx(30.0)
    assert b["gross_margin"] == pytest.approx(20.0)
    assert b["cost_to_serve"] == pytest.approx(2.0)
    assert b["last_purchase"] == pd.Timestamp("2025-09-01")
    assert c["revenue"] == 0 and c["contribution"] == pytest.approx(-0.05)


def test_historical_value_without_interactions_says_so(small):
    tx, _, products = small
    v = historical_value(tx, None, products, as_of="2025-09-30", channel_costs=COSTS,
                         return_handling_cost=1.0)
    assert v.set_index("customer_id").loc["a", "cost_to_serve"] == pytest.approx(1.0)
    assert any("no interactions" in n for n in v.attrs["notes"])


def test_historical_value_names_missing_columns(small):
    tx, _, _ = small
    with pytest.raises(KeyError, match="amount"):
        historical_value(tx.drop("amount"), as_of="2025-09-30")


# ------------------------------------------------------------------------------------------
# needs
# ------------------------------------------------------------------------------------------
def _blobs(n_per=300, seed=0):
    """Three planted needs groups: books by mail, electronics online, deal-seeking fashion."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    spec = [({"books": 0.8, "electronics": 0.1, "fashion": 0.1}, {"mail": 0.8, "web": 0.2}, 0.05),
            ({"books": 0.1, "electronics": 0.8, "fashion": 0.1}, {"mail": 0.0, "web": 0.9}, 0.1),
            ({"books": 0.1, "electronics": 0.1, "fashion": 0.8}, {"mail": 0.1, "web": 0.4}, 0.7)]
    for g, (cats, chans, disc) in enumerate(spec):
        c = rng.dirichlet(np.array(list(cats.values())) * 20, n_per)
        w = np.clip(rng.normal(chans["web"], 0.1, n_per), 0, 1)
        m = np.clip(rng.normal(chans["mail"], 0.1, n_per), 0, 1 - w)
        rows.append(pd.DataFrame({
            "cat_books": c[:, 0], "cat_electronics": c[:, 1], "cat_fashion": c[:, 2],
            "chan_web": w, "chan_mail": m, "chan_store": 1 - w - m,
            "price_discount_share": np.clip(rng.normal(disc, 0.08, n_per), 0, 1),
            "price_return_share": np.clip(rng.normal(0.05, 0.03, n_per), 0, 1),
            "service_contacts_per_year": rng.gamma(1, 0.5, n_per),
            "recency_log_days": rng.normal(4, 1, n_per)}))
        truth += [g] * n_per
    f = pd.concat(rows, ignore_index=True)
    f.index = [f"c{i}" for i in range(len(f))]
    return f, np.array(truth)


def test_segments_recover_planted_groups_and_name_them():
    f, truth = _blobs()
    seg = segment_needs(f, k_range=(2, 6), random_state=1)
    assert seg.k == 3
    assert adjusted_rand_score(truth, seg.labels) > 0.9
    names = set(seg.names.values())
    assert any(n.startswith("Books buyers") and "mail order" in n for n in names), names
    assert any("Electronics" in n for n in names), names
    assert any("deal seekers" in n for n in names), names
    assert seg.profile["size"].sum() == len(f)
    assert list(seg.profile["size"]) == sorted(seg.profile["size"], reverse=True)
    assert seg.diversity > 0.25
    tab = seg.table()
    assert {"segment", "segment_name", "size", "cat_books"} <= set(tab.columns)


def test_needs_diversity_low_on_noise_high_on_structure():
    rng = np.random.default_rng(3)
    noise = rng.normal(size=(2000, 12))
    lab = segment_needs(pd.DataFrame(noise, columns=[f"cat_{i}" for i in range(12)]),
                        k_range=(3, 6)).labels.to_numpy()
    d_noise = needs_diversity(noise, lab)[0]
    assert d_noise < 0.25  # the matrix's midline sits above featureless noise
    centres = rng.normal(scale=4, size=(4, 12))
    blobs = np.repeat(centres, 500, axis=0) + rng.normal(size=(2000, 12))
    d_blobs, entropy, sep = needs_diversity(blobs, np.repeat(np.arange(4), 500))
    assert d_blobs > 0.6 and entropy == pytest.approx(1.0) and sep == pytest.approx(d_blobs)
    assert needs_diversity(blobs, np.zeros(2000)) == (0.0, 0.0, 0.0)
    lopsided = np.r_[np.zeros(1990), np.ones(10)]
    assert needs_diversity(blobs, lopsided)[1] < 0.1


def test_segment_needs_rejects_bad_input():
    f, _ = _blobs(50)
    f.iloc[3, 0] = np.nan
    with pytest.raises(ValueError, match="c3"):
        segment_needs(f)
    with pytest.raises(ValueError, match="k_range"):
        segment_needs(_blobs(50)[0], k_range=(1, 3))


# ------------------------------------------------------------------------------------------
# potential, tiers, matrix, lists
# ------------------------------------------------------------------------------------------
def test_potential_from_lookalikes_with_fallback():
    cv = pd.DataFrame({"clv": [*range(1, 101), 5.0, 500.0, -3.0],
                       "segment": [0] * 100 + [1, 1, 0], "profile": ["x"] * 103})
    p = potential_value(cv, group_cols=("segment", "profile"), percentile=0.8, min_group=30)
    q80 = cv.loc[cv.segment == 0, "clv"].quantile(0.8)
    assert p.loc[0, "potential"] == pytest.approx(q80)
    assert p.loc[99, "potential"] == 100  # never below the actual value
    assert p.loc[100, "potential_basis"] == "all customers"  # segment 1 has 2 customers
    assert p.loc[102, "share_of_wallet"] == 0 and p.loc[102, "unrealised_potential"] == q80
    assert p["share_of_wallet"].between(0, 1).all()
    assert (p["unrealised_potential"] >= 0).all()
    wallet = pd.Series({0: 1000.0})
    assert potential_value(cv, wallet=wallet).loc[0, "share_of_wallet"] == pytest.approx(0.001)


def test_tenure_band():
    b = tenure_band(pd.Series(pd.to_datetime(["2025-06-01", "2023-01-01", None])), "2025-09-30")
    assert list(b) == ["<1y", "2-3y", "no purchase"]


def test_tiers_rules_and_migrators():
    n = 200
    cv = pd.DataFrame({"clv": np.arange(n, dtype=float), "unrealised_potential": 0.0,
                       "contribution": 10.0})
    cv.loc[5, "contribution"] = -1.0  # a money-loser
    cv.loc[199, "contribution"] = -50.0  # the most valuable, but below zero: BZ wins
    cv.loc[[20, 30, 40], "unrealised_potential"] = [500.0, 400.0, 300.0]
    t = assign_tiers(cv, Tiers(mvc_share=0.05, mgc_share=0.01, migrator_band=0.1))
    tier = t.table["tier"]
    assert tier[5] == "BZ" and tier[199] == "BZ"
    assert set(tier[tier == "MVC"].index) == set(range(190, 199))
    assert list(tier[tier == "MGC"].index) == [20, 30]
    assert t.counts().sum() == n
    mvc_thr = t.thresholds["mvc_value"]
    near = (cv["clv"] - mvc_thr).abs() <= 0.1 * mvc_thr
    assert t.table.loc[near, "migrator"].all()
    assert (t.table.loc[near, "migrator_edge"] == "MVC").all()
    assert not t.table.loc[50, "migrator"]


@pytest.mark.parametrize("skew, needs, quadrant, example", [
    (0.2, 0.1, "low_low", "petrol station"), (0.2, 0.6, "needs", "bookstore"),
    (0.8, 0.1, "value", "airline"), (0.8, 0.6, "high_high", "computer systems")])
def test_matrix_quadrants(skew, needs, quadrant, example):
    m = differentiation_matrix(skew, needs)
    assert m.quadrant == quadrant and m.example == example
    assert example in m.sentence()


def test_matrix_rejects_out_of_range():
    with pytest.raises(ValueError, match="needs_diversity"):
        differentiation_matrix(0.5, float("nan"))


def test_lists():
    cv = pd.DataFrame({
        "customer_id": list("abcdefghij"),
        "revenue_prev_12m": [1000, 900, 800, 10, 20, 30, 40, 50, 60, 0.0],
        "revenue_12m": [400, 0, 700, 1, 2, 3, 4, 5, 6, 7.0],
        "revenue_before_12m": [1000, 2000, 800, 10, 20, 30, 40, 50, 60, 0.0],
        "last_purchase": pd.to_datetime(["2025-09-01", "2024-05-01", "2025-09-01"]
                                        + ["2025-09-01"] * 7),
        "orders": [5, 6, 5, 1, 1, 1, 1, 1, 1, 1],
        "share_of_wallet": [0.9, 0.1, 0.2, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.05],
        "potential": 1.0, "unrealised_potential": [0, 900, 800, 0, 0, 0, 0, 0, 0, 10.0]})
    d = L.decliners(cv, top_share=0.3)
    assert list(d["customer_id"]) == ["a"]  # b lapsed, c kept 7/8
    assert d.loc[0, "drop"] == 600
    assert set(L.decliners(cv, top_share=0.3, include_lapsed=True)["customer_id"]) == {"a", "b"}
    lost = L.lost_valuable(cv, "2025-09-30", top_share=0.3)
    assert list(lost["customer_id"]) == ["b"]
    low = L.low_share_high_potential(cv, max_share=0.25, top_share=0.2)
    assert list(low["customer_id"]) == ["b", "c"]


# ------------------------------------------------------------------------------------------
# the pipeline on a small workspace with transactions only
# ------------------------------------------------------------------------------------------
def _tiny_workspace(tmp_path, n=400, seed=7):
    from onetoone.config import ClientConfig
    from onetoone.workspace import Workspace

    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2023-10-01")
    for i in range(n):
        lam = rng.gamma(1.0, 8.0)  # purchases a year while alive
        t = rng.uniform(0, 1000)
        k = 0
        while t < 1095:
            rows.append((f"pos:{i}", start + pd.Timedelta(days=float(t)), rng.gamma(2, 40), k))
            if rng.random() < 0.15:
                break
            t += rng.exponential(365 / lam)
            k += 1
    tx = pd.DataFrame(rows, columns=["record_key", "date", "amount", "k"])
    tx["transaction_id"] = [f"t{j}" for j in range(len(tx))]
    tx["order_id"] = tx["transaction_id"]
    tx["product_id"] = rng.choice(["p1", "p2", "p3"], len(tx))
    tx["cost"] = (tx["amount"] * 0.6).round(2)
    tx["channel"] = rng.choice(["store", "web"], len(tx))
    tx["quantity"] = 1.0
    cfg = ClientConfig(client="tiny", as_of="2026-09-30", sources=[],
                       workspace=str(tmp_path / "tiny.duckdb"))
    ws = Workspace(cfg.workspace_path)
    ws.write("transactions", tx.drop(columns="k"))
    ws.write("customer_records", pd.DataFrame({"record_key": [f"pos:{i}" for i in range(n + 5)]}))
    return cfg, ws


def test_pipeline_runs_on_transactions_only(tmp_path):
    from onetoone.differentiate.pipeline import run

    cfg, ws = _tiny_workspace(tmp_path)
    with ws:
        out = run(cfg, ws, echo=False)
        cv = ws.read("customer_value")
        seg = ws.read("segments")
        assert ws.has("clv_holdout")
    assert out["customers"] == len(cv) == 405  # five records never bought
    assert set(cv["tier"]) <= {"MVC", "MGC", "BZ", "maintain"}
    never = cv[cv["orders"] == 0]
    assert len(never) == 5 and (never["segment"] == -1).all() and (never["clv"] == 0).all()
    assert (cv["cost_to_serve"] == 0).all()  # no interactions, no returns
    assert cv["p_alive"].dropna().between(0, 1).all()
    assert len(seg) >= 2 and out["bgnbd_r"] > 0
    json.dumps(out)  # plain numbers and strings for the CLI and the batch index
    from onetoone.differentiate.pipeline import fence_for

    f = fence_for(cfg, cv, "clv")
    assert f.value_years == cfg.clv.horizon_months / 12 and f.n == len(cv)
    with pytest.raises(ValueError, match="contribution_12m"):
        fence_for(cfg, cv, "margin")


def test_pipeline_without_transactions_says_what_is_missing(tmp_path):
    from onetoone.differentiate.pipeline import run
    from onetoone.workspace import Workspace

    cfg, ws = _tiny_workspace(tmp_path, n=30)
    ws.drop("transactions")
    with ws, pytest.raises(LookupError, match="no transactions"):
        run(cfg, ws, echo=False)
    assert isinstance(ws, Workspace)


# ------------------------------------------------------------------------------------------
# bars on the sample client (through Identify)
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_truth():
    """customer_value of the sample joined to the planted people (customer -> person)."""
    from sample_support import ground_truth, sample_workspace

    from onetoone.workspace import Workspace

    cfg = sample_workspace("differentiate")
    with Workspace(cfg.workspace_path, read_only=True) as ws:
        cv = ws.read("customer_value")
        rmap = ws.read("record_map", ["record_key", "customer_id"]) if ws.has("record_map") \
            else pd.DataFrame({"record_key": cv["customer_id"], "customer_id": cv["customer_id"]})
        seg = ws.read("segments")
        fence = ws.read("fence_assignment") if ws.has("fence_assignment") else None
    rec = ground_truth("records")
    rec["record_key"] = rec["source_system"] + ":" + rec["record_id"]
    people = ground_truth("people")
    m = rmap.merge(rec[["record_key", "person_id"]], on="record_key")
    # a customer's person: the person most of its records belong to
    person = (m.groupby(["customer_id", "person_id"]).size().rename("n").reset_index()
              .sort_values(["customer_id", "n"], ascending=[True, False])
              .drop_duplicates("customer_id").set_index("customer_id")["person_id"])
    cv["person_id"] = cv["customer_id"].map(person)
    return cfg, cv, people, seg, fence


def _recall_precision(cv, people, flag: pd.Series, truth_col: str):
    planted = set(people.loc[people[truth_col] == "True", "person_id"])
    found = cv.loc[flag, "person_id"]
    recall = len(set(found) & planted) / len(planted)
    precision = float(found.isin(planted).mean()) if len(found) else 0.0
    print(f"{truth_col}: {int(flag.sum())} customers flagged, {len(planted)} planted; "
          f"recall {recall:.3f}, precision {precision:.3f}")
    return recall, precision


def test_sample_contract_columns(sample_truth):
    _, cv, _, seg, fence = sample_truth
    need = {"customer_id", "revenue", "gross_margin", "cost_to_serve", "contribution", "orders",
            "first_purchase", "last_purchase", "revenue_12m", "revenue_prev_12m", "frequency",
            "recency", "T", "monetary_value", "p_alive", "expected_purchases", "clv",
            "potential", "share_of_wallet", "unrealised_potential", "tier", "migrator",
            "segment", "segment_name"}
    assert need <= set(cv.columns)
    assert cv["customer_id"].is_unique
    assert set(cv["tier"]) == {"MVC", "MGC", "BZ", "maintain"}
    assert cv["migrator"].dtype == bool
    assert {"segment", "segment_name", "size"} <= set(seg.columns)
    assert np.allclose(cv["contribution"], cv["gross_margin"] - cv["cost_to_serve"])
    assert fence is not None and fence["manager"].notna().all()
    assert fence["customer_id"].isin(cv["customer_id"]).all()


def test_sample_decliners_found(sample_truth):
    _, cv, people, _, _ = sample_truth
    recall, precision = _recall_precision(cv, people, cv["is_decliner"], "is_decliner")
    # the sample README: 246 planted + ~430 natural slowdowns meet the same definition
    assert recall >= 0.85
    assert precision >= 0.3  # measured 0.36: 678 flagged vs 674 meeting the definition


def test_sample_lost_valuable_found(sample_truth):
    _, cv, people, _, _ = sample_truth
    recall, precision = _recall_precision(cv, people, cv["is_lost_valuable"], "is_lost_valuable")
    # 200 planted + ~1,260 natural BG/NBD dropouts meet the definition
    assert recall >= 0.9
    assert precision >= 0.1  # measured 0.14: 1,460 flagged vs 1,456 by definition


def test_sample_below_zero_found(sample_truth):
    _, cv, people, _, _ = sample_truth
    recall, precision = _recall_precision(cv, people, cv["tier"] == "BZ", "is_below_zero")
    assert recall >= 0.95
    # ~1,230 other people are truly below zero too: precision against the planted is low
    assert precision >= 0.05


def test_sample_segments_recover_planted_needs(sample_truth):
    _, cv, people, _, _ = sample_truth
    m = cv[(cv["segment"] >= 0) & cv["person_id"].notna()].merge(
        people[["person_id", "segment"]].rename(columns={"segment": "planted"}), on="person_id")
    ari = adjusted_rand_score(m["planted"], m["segment"])
    print(f"needs segments vs planted groups: ARI {ari:.3f} on {len(m):,} customers, "
          f"{cv['segment'].max() + 1} segments")
    assert ari >= ARI_PIN


ARI_PIN = 0.55
"""Measured 0.61 on the identified sample (8 segments chosen by the silhouette against 6
planted groups). The planted groups overlap by design (each person buys from 2-3 subjects
drawn through the group's category weights, 20 % of lines explore, fashion and toys are shared
by two groups), so a perfect score is not attainable from behaviour; the sample's own check
(KMeans with k=6 on simple features) reaches the same 0.61. 0.55 leaves room for library and
seed changes but fails if clustering slips back to channel-dominated segments (0.06 with equal
group weights before Identify)."""
