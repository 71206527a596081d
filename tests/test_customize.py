"""Customize: recommender, holdout metrics, configurator (rules, history across restarts),
catalog editions, messages; and the precision bar on the sample client."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from onetoone import columns as C
from onetoone.customize import (
    Configurator,
    InvalidConfiguration,
    ItemKNN,
    Popularity,
    build_editions,
    build_matrix,
    configuration_history,
    coverage_curve,
    propose_configuration,
    ranking_metrics,
    repeat_categories,
    save_configuration,
    tailored_messages,
)
from onetoone.workspace import Workspace


# -- recommender ---------------------------------------------------------------------------------
def _pairs(rows):
    return pd.DataFrame(rows, columns=[C.CUSTOMER_ID, C.PRODUCT_ID, "orders"])


@pytest.fixture
def two_tastes():
    """Customers a* buy tents (T1-T3), customers b* buy books (B1-B3); P is bought by all."""
    rows = []
    for i in range(20):
        rows += [(f"a{i}", "T1", 1), (f"a{i}", "T2", 1), (f"a{i}", "P", 1)]
        if i % 2:
            rows.append((f"a{i}", "T3", 1))
        rows += [(f"b{i}", "B1", 1), (f"b{i}", "B2", 1), (f"b{i}", "P", 1)]
        if i % 2:
            rows.append((f"b{i}", "B3", 1))
    rows += [("new", "T1", 1)]
    return _pairs(rows)


def test_item_knn_recommends_within_taste_and_gives_reason(two_tastes):
    m = build_matrix(two_tastes)
    recs = ItemKNN(weighting="none").fit(m).recommend(["a0", "new"], k=2,
                                                      product_names={"T1": "Dome tent"})
    a0 = recs[recs[C.CUSTOMER_ID] == "a0"]
    assert a0.iloc[0][C.PRODUCT_ID] == "T3"  # the unowned tent, not a book
    assert a0.iloc[0]["reason_product_id"] in {"T1", "T2"}
    new = recs[recs[C.CUSTOMER_ID] == "new"].set_index("rank")
    assert set(new[C.PRODUCT_ID]) == {"T2", "T3"} or new.at[1, C.PRODUCT_ID] in {"T2", "T3"}
    assert new.at[1, "reason"] == "because you bought Dome tent"
    assert "T1" not in set(new[C.PRODUCT_ID])  # owned durable excluded
    assert list(new.index) == [1, 2]


def test_owned_products_allowed_again_when_repeat_listed(two_tastes):
    m = build_matrix(two_tastes)
    recs = ItemKNN().fit(m, repeat_products=["T1", "T2", "P"]).recommend(["a1"], k=3)
    assert {"T1", "T2"} & set(recs[C.PRODUCT_ID])  # owned consumables may come back
    recs = ItemKNN().fit(m).recommend(["a1"], k=3)
    assert not {"T1", "T2", "T3", "P"} & set(recs[C.PRODUCT_ID])


def test_popularity_fill_and_chunking_agree(two_tastes):
    m = build_matrix(two_tastes)
    model = ItemKNN().fit(m)
    a = model.recommend(k=5, chunk_size=3)
    b = model.recommend(k=5, chunk_size=1000)
    pd.testing.assert_frame_equal(a, b)
    # every unowned product is listed (zero-similarity ones by popularity), owned ones never
    owned = two_tastes.groupby(C.CUSTOMER_ID).size()
    expect = (7 - owned).clip(upper=5).sort_index()
    assert a.groupby(C.CUSTOMER_ID).size().sort_index().equals(expect)
    assert not a.merge(two_tastes, on=[C.CUSTOMER_ID, C.PRODUCT_ID]).shape[0]
    pop = Popularity().fit(m).recommend(["new"], k=1)
    assert pop[C.PRODUCT_ID].iat[0] == "P" and pop["reason"].iat[0] == "popular with customers"


def test_repeat_categories_flags_consumables():
    pairs = _pairs([("a", "X", 3), ("b", "X", 2), ("a", "Y", 1), ("b", "Y", 1)])
    products = pd.DataFrame({C.PRODUCT_ID: ["X", "Y"], C.CATEGORY: ["coffee", "chairs"]})
    rep = repeat_categories(pairs, products, threshold=0.5).set_index(C.CATEGORY)
    assert rep.at["coffee", "consumable"] and not rep.at["chairs", "consumable"]
    assert rep.at["coffee", "repeat_rate"] == 1.0


def test_ranking_metrics_by_hand():
    recs = pd.DataFrame({C.CUSTOMER_ID: ["u"] * 2 + ["v"] * 2, "rank": [1, 2, 1, 2],
                         C.PRODUCT_ID: ["A", "B", "C", "D"]})
    truth = pd.DataFrame({C.CUSTOMER_ID: ["u", "u", "v", "w"], C.PRODUCT_ID: ["A", "Z", "Q", "A"]})
    m = ranking_metrics(recs, truth, k=2, n_products=8)
    assert m["customers"] == 3  # w had no recommendation: counts with zero hits
    assert m["precision_at_2"] == pytest.approx((0.5 + 0 + 0) / 3)
    assert m["recall_at_2"] == pytest.approx((0.5 + 0 + 0) / 3)
    assert m["coverage"] == pytest.approx(4 / 8)


# -- configurator --------------------------------------------------------------------------------
@pytest.fixture
def sofa():
    products = pd.DataFrame({C.PRODUCT_ID: ["S", "T"], C.NAME: ["Sofa", "Table"],
                             C.PRICE: [900.0, 100.0], C.UNIT_COST: [500.0, 50.0],
                             C.CONFIGURABLE: [True, False]})
    components = pd.DataFrame({
        C.PRODUCT_ID: ["S"] * 6,
        C.MODULE: ["size", "size", "legs", "legs", "fabric", "fabric"],
        C.OPTION_ID: ["S2", "S3", "OAK", "BRASS", "GREY", "VELVET"],
        C.OPTION_NAME: ["2-seater", "3-seater", "Oak", "Brass", "Grey", "Velvet"],
        C.PRICE: [0.0, 250.0, 0.0, 80.0, 0.0, 120.0],
        C.UNIT_COST: [0.0, 140.0, 0.0, 40.0, 0.0, 60.0],
        C.IS_DEFAULT: [True, False, True, False, True, False]})
    rules = pd.DataFrame({C.PRODUCT_ID: ["S", "S"], C.OPTION_ID: ["BRASS", "VELVET"],
                          C.RULE: ["requires", "excludes"], C.OTHER_OPTION_ID: ["S3", "OAK"]})
    return Configurator(products, components, rules)


def test_price_is_base_plus_options(sofa):
    pc = sofa.price("S", {"size": "S3", "legs": "BRASS"})
    assert pc.price == 900 + 250 + 80 + 0
    assert pc.options == {"size": "S3", "legs": "BRASS", "fabric": "GREY"}
    assert pc.cost == 500 + 140 + 40


@pytest.mark.parametrize("options, kind, rule", [
    (["BRASS"], "requires", "BRASS requires S3"),
    (["VELVET"], "excludes", "VELVET excludes OAK"),
    (["S2", "S3"], "one_per_module", "one option per module 'size'"),
    (["PINK"], "unknown_option", "unknown option 'PINK'"),
])
def test_invalid_configuration_names_the_rule(sofa, options, kind, rule):
    with pytest.raises(InvalidConfiguration) as err:
        sofa.validate("S", options)
    assert err.value.kind == kind and err.value.rule == rule
    assert rule in str(err.value)


def test_unknown_and_plain_products_refused(sofa):
    with pytest.raises(InvalidConfiguration, match="not_configurable|is configurable"):
        sofa.validate("T", [])
    with pytest.raises(InvalidConfiguration) as err:
        sofa.validate("NOPE", [])
    assert err.value.kind == "unknown_product"
    with pytest.raises(InvalidConfiguration) as err:
        sofa.validate("S", {"size": "S3"}, fill_defaults=False)
    assert err.value.kind == "missing_module"


def test_contradictory_rules_are_reported(sofa):
    assert sofa.conflicts().empty
    rules = pd.concat([sofa.rules, pd.DataFrame({C.PRODUCT_ID: ["S"], C.OPTION_ID: ["BRASS"],
                                                 C.RULE: ["excludes"],
                                                 C.OTHER_OPTION_ID: ["S3"]})])
    bad = Configurator(sofa.products.reset_index(drop=True), sofa.components, rules)
    assert bad.conflicts()[C.OPTION_ID].tolist() == ["BRASS"]
    assert bad.variety().set_index(C.PRODUCT_ID).at["S", "valid"] == 2  # BRASS never valid


def test_variety_counts_valid_products_by_enumeration(sofa):
    v = sofa.variety().set_index(C.PRODUCT_ID)
    assert v.at["S", "combinations"] == 8
    # BRASS needs S3 drops BRASS+S2 (2 fabrics); VELVET excludes OAK drops VELVET+OAK
    # (2 sizes); the two sets cannot overlap (BRASS and OAK are one module): 8 - 2 - 2
    assert v.at["S", "valid"] == 4


def test_saved_configuration_survives_restart_and_is_proposed(sofa, tmp_path):
    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        save_configuration(ws, sofa, "c1", "S", {"size": "S3", "legs": "BRASS"},
                           created_at="2026-01-01")
        save_configuration(ws, sofa, "c1", "S", {"fabric": "VELVET", "legs": "BRASS",
                                                 "size": "S3"}, created_at="2026-02-01")
        with pytest.raises(InvalidConfiguration):
            save_configuration(ws, sofa, "c1", "S", ["BRASS"])  # nothing written
    with Workspace(path) as ws:  # a restart: a new connection to the file
        h = configuration_history(ws, "c1")
        everyone = configuration_history(ws)
    assert len(h) == 2 and len(everyone) == 2  # append-only: both versions kept
    assert json.loads(h["options"].iat[1])["fabric"] == "VELVET"
    assert h[C.PRICE].tolist() == [1230.0, 1350.0]
    p = propose_configuration(sofa, everyone, "c1", "S")
    assert p.source == "last" and p.configuration.options["fabric"] == "VELVET"
    # a newcomer in c1's segment gets the segment's favourite, else the defaults
    seg = {"c1": 2, "c2": 2, "c3": 5}
    p2 = propose_configuration(sofa, everyone, "c2", "S", segment_of=seg,
                               segment_names={2: "Home makers"})
    assert p2.source == "segment" and "Home makers" in p2.reason
    p3 = propose_configuration(sofa, everyone.iloc[:0], "c3", "S", segment_of=seg)
    assert p3.source == "default" and p3.configuration.price == 900


# -- editions and messages -----------------------------------------------------------------------
def test_editions_cover_more_than_national():
    profile = pd.DataFrame({C.CUSTOMER_ID: [f"n{i}" for i in range(40)] + [f"s{i}" for i in range(40)],
                            C.REGION: ["North"] * 40 + ["South"] * 40,
                            "segment_name": ["all"] * 80})
    train = _pairs([(f"n{i}", "Wool", 1) for i in range(40)]
                   + [(f"n{i}", "Boots", 1) for i in range(30)]
                   + [(f"s{i}", "Sunhat", 1) for i in range(40)]
                   + [(f"s{i}", "Boots", 1) for i in range(30)])
    test = _pairs([("n1", "Wool", 1), ("s1", "Sunhat", 1), ("s2", "Sunhat", 1), ("n2", "Boots", 1)])
    ed = build_editions(train, profile, size=1, min_customers=10)
    assert ed.products("national") == ["Boots"]
    assert ed.products("North | all") == ["Wool"] and ed.products("South | all") == ["Sunhat"]
    curve = coverage_curve(ed, test, profile)
    assert curve["coverage"].iat[0] == pytest.approx(1 / 4)
    assert curve["added"].iat[1] == "South | all"  # the larger gain first
    # North's edition wins Wool (n1) but loses Boots (n2): no net gain, so it is not added
    assert curve["coverage"].tolist() == pytest.approx([0.25, 0.75])


def test_messages_follow_tier_and_known_facts():
    profile = pd.DataFrame({C.CUSTOMER_ID: ["a", "b"], "tier": ["MVC", "BZ"],
                            "segment_name": ["Home makers", "Bargain hunters"],
                            C.REGION: ["Wales", "(unknown)"], C.FIRST_NAME: ["Ann", None]})
    recs = pd.DataFrame({C.CUSTOMER_ID: ["a"], "rank": [1], C.PRODUCT_ID: ["P1"],
                         "reason": ["because you bought Kettle"]})
    products = pd.DataFrame({C.PRODUCT_ID: ["P1"], C.NAME: ["Teapot"], C.SUBJECT: ["tea"]})
    m = tailored_messages(profile, recs, products).set_index(C.CUSTOMER_ID)
    assert m.at["a", "product"].startswith("Dear Ann, we set aside Teapot for you, because")
    assert "Wales" in m.at["a", "delivery"] and "customer manager" in m.at["a", "service"]
    assert m.at["b", "product"].startswith("Hello,") and "your area" not in m.at["b", "product"]
    assert "online" in m.at["b", "service"]


# -- the bar on the sample client ----------------------------------------------------------------
@pytest.fixture(scope="module")
def customized(tmp_path_factory):
    from sample_support import private_copy, sample_workspace

    from onetoone.customize import pipeline

    cfg = private_copy(sample_workspace("differentiate"), tmp_path_factory.mktemp("customize"))
    with Workspace.open(cfg) as ws:
        summary = pipeline.run(cfg, ws, echo=False)
        tables = {n: ws.read(n) for n in ("recommendations", "recommendation_evaluation",
                                          "edition_coverage", "configurations")}
    return cfg, summary, tables


def test_sample_precision_beats_popularity_by_half(customized):
    _, s, tables = customized
    assert s["holdout_customers"] > 1000
    assert s["precision_at_10"] >= 1.5 * s["popularity_precision_at_10"]
    assert s["recall_at_10"] > s["popularity_recall_at_10"]
    assert s["coverage"] > 10 * s["popularity_coverage"]
    ev = tables["recommendation_evaluation"].set_index("model")
    assert ev.at["item-item", "precision_at_10"] == pytest.approx(s["precision_at_10"], abs=1e-4)


def test_sample_tables_follow_contract(customized):
    _, s, t = customized
    recs = t["recommendations"]
    assert {C.CUSTOMER_ID, "rank", C.PRODUCT_ID, "score", "reason"} <= set(recs.columns)
    assert recs.groupby(C.CUSTOMER_ID)["rank"].max().max() == 10
    assert recs["reason"].str.startswith("because you bought").mean() > 0.9
    assert not recs.duplicated([C.CUSTOMER_ID, C.PRODUCT_ID]).any()
    cov = t["edition_coverage"]["coverage"]
    assert cov.is_monotonic_increasing and 0 < cov.iat[0] <= cov.iat[-1] <= 1
    assert s["segments_from"] == "customer_value"
    assert s["configurator_valid_products"] > s["configurable_products"]
    assert len(t["configurations"]) == 0 and s["configurations_saved"] == 0


def test_configurator_widget_refuses_saves_and_remembers(sofa, tmp_path):
    from onetoone.ui.customize import ConfiguratorWidget

    path = tmp_path / "ws.duckdb"
    Workspace(path).close()
    profile = pd.DataFrame({C.CUSTOMER_ID: ["c1"], "tier": ["MVC"], "segment": [1],
                            "segment_name": ["Home makers"], C.FIRST_NAME: ["Ann"]})
    w = ConfiguratorWidget(sofa, path, profile, customer_id="c1")
    assert "Ann" in w.who.value and "standard configuration" in w.status.value
    w._dropdowns["legs"].value = "BRASS"  # needs the 3-seater
    assert "BRASS requires S3" in w.price.value and w.save.disabled
    assert not w.save_current() and "BRASS requires S3" in w.status.value
    w._dropdowns["size"].value = "S3"
    assert "1,230.00" in w.price.value and w.save_current()
    again = ConfiguratorWidget(sofa, path, profile, customer_id="c1")  # a fresh session
    assert again.options == {"size": "S3", "legs": "BRASS", "fabric": "GREY"}
    assert "your last configuration" in again.status.value and "Sofa" in again.history.value


@pytest.mark.parametrize("n", [7, 64, 1000, 10001])
def test_top_k_rows_matches_a_full_sort(n):
    from onetoone.customize.recommend import top_k_rows

    rng = np.random.default_rng(n)
    a = rng.random((200, n)).astype(np.float32)
    a[a < 0.6] = 0
    a[rng.random(a.shape) < 0.5] = -np.inf
    a[:5] = -np.inf  # rows with nothing to suggest
    a[5:10, 1:] = -np.inf  # rows with a single candidate
    idx, val = top_k_rows(a, 10)
    assert np.array_equal(val, -np.sort(-a, axis=1)[:, :min(10, n)])
    ok = np.isfinite(val)
    assert np.array_equal(np.take_along_axis(a, idx, 1)[ok], val[ok])
    assert all(len(set(r[m])) == m.sum() for r, m in zip(idx, ok))  # no product twice


def test_precision_curve_agrees_with_metrics():
    from onetoone.customize.evaluate import precision_at_k_curve

    rng = np.random.default_rng(3)
    recs = pd.DataFrame({C.CUSTOMER_ID: np.repeat([f"c{i}" for i in range(30)], 5),
                         "rank": np.tile(np.arange(1, 6), 30),
                         C.PRODUCT_ID: rng.integers(0, 12, 150).astype(str)})
    recs = recs.drop_duplicates([C.CUSTOMER_ID, C.PRODUCT_ID])
    truth = pd.DataFrame({C.CUSTOMER_ID: rng.choice([f"c{i}" for i in range(35)], 60),
                          C.PRODUCT_ID: rng.integers(0, 12, 60).astype(str)})
    curve = precision_at_k_curve(recs, truth, range(1, 6)).set_index("k")
    for k in range(1, 6):
        m = ranking_metrics(recs, truth, k)
        assert curve.at[k, "precision"] == pytest.approx(m[f"precision_at_{k}"])
        assert curve.at[k, "recall"] == pytest.approx(m[f"recall_at_{k}"])


def test_pipeline_runs_before_identify_and_differentiate(tmp_path):
    """On an ingested-only workspace: source records are customers, one segment, revenue tiers."""
    from sample_support import private_copy, sample_workspace

    from onetoone.customize import pipeline

    cfg = private_copy(sample_workspace("ingest"), tmp_path)
    with Workspace.open(cfg) as ws:
        s = pipeline.run(cfg, ws, echo=False)
        tiers = set(ws.read("tailored_messages")["tier"])
        recs = ws.read("recommendations")
    assert s["segments_from"].startswith("fallback")
    assert tiers <= {"MVC", "BZ", "maintain"} and "MVC" in tiers
    assert recs[C.CUSTOMER_ID].str.contains(":").all()  # record keys stand in for customers
    assert s["precision_at_10"] >= 1.5 * s["popularity_precision_at_10"]
