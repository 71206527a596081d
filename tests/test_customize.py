"""Customize: recommender, holdout metrics, configurator (rules, history across restarts),
catalog editions, messages; and the precision bar on the sample client."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from onetoone import columns as C
from onetoone import paths
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


def test_sample_chosen_model_beats_popularity_with_interval(customized):
    _, s, tables = customized
    assert s["holdout_customers"] > 1000 and 0 < s["holdout_customer_share"] < 1
    assert s["chosen_model"] not in ("popularity", "segment popularity")
    assert s["personalisation_pays"] and s["lift_low"] > 0  # the sample plants tastes
    assert s["precision_at_10"] >= 1.5 * s["popularity_precision_at_10"]
    assert s["recall_at_10"] > s["popularity_recall_at_10"]
    assert s["coverage"] > 10 * s["popularity_coverage"]
    ev = tables["recommendation_evaluation"].set_index("model")
    chosen = ev[ev["chosen"]]
    assert len(chosen) == 1 and chosen.index[0] == s["chosen_model"]
    assert chosen["holdout_precision_at_10"].iat[0] == pytest.approx(s["precision_at_10"],
                                                                     abs=1e-4)
    # the chosen model is within the noise of the best candidate on the holdout
    best = ev["holdout_precision_at_10"].max()
    assert best - s["precision_at_10"] <= chosen["holdout_lift_high"].iat[0] - \
        chosen["holdout_lift"].iat[0]
    assert {"popularity", "segment popularity", "item-knn", "ease", "als"} <= set(ev.index)


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
    assert len(t["configurations"]) == 0  # nothing saved in the workbook yet
    # the web shop's export is remembered: hundreds of customers, some re-ordered theirs
    assert s["customers_with_configuration"] > 300 and s["configuration_reorder_customers"] > 0
    assert s["coverage_all_editions"] >= s["coverage_recommended"] >= s["coverage_national"]
    assert 1 <= s["editions_recommended"] <= s["editions_used"]
    assert "editions_by_segment" in s and "editions_by_region" in s


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
    cfg.customize.candidates = ["popularity", "item-knn"]  # the fallback path, not the race
    with Workspace.open(cfg) as ws:
        s = pipeline.run(cfg, ws, echo=False)
        tiers = set(ws.read("tailored_messages")["tier"])
        recs = ws.read("recommendations")
    assert s["segments_from"].startswith("fallback")
    assert tiers <= {"MVC", "BZ", "maintain"} and "MVC" in tiers
    assert recs[C.CUSTOMER_ID].str.contains(":").all()  # record keys stand in for customers
    assert s["precision_at_10"] >= 1.5 * s["popularity_precision_at_10"]


# -- candidates, choice and claims ---------------------------------------------------------------
def _simulate(tastes: bool, *, customers: int = 1500, products: int = 240, seed: int = 5):
    """Two years of purchases; with ``tastes`` each customer buys 80 % from one of 12 subjects,
    without them everybody buys from the same Zipf popularity (popularity is the truth)."""
    rng = np.random.default_rng(seed)
    subjects = 12
    per = products // subjects
    pop = 1.0 / np.arange(1, products + 1) ** 0.9
    pop = rng.permutation(pop)
    n = rng.poisson(9, customers) + 2
    cust = np.repeat(np.arange(customers), n)
    if tastes:
        subj = rng.integers(0, subjects, customers)[cust]
        w = pop.reshape(subjects, per)
        within = np.array([rng.choice(per, p=w[s] / w[s].sum()) for s in subj])
        prod = subj * per + within
        explore = rng.random(len(cust)) < 0.2
        prod[explore] = rng.choice(products, explore.sum(), p=pop / pop.sum())
    else:
        prod = rng.choice(products, len(cust), p=pop / pop.sum())
    day = rng.uniform(0, 730, len(cust))
    return pd.DataFrame({
        C.TRANSACTION_ID: np.arange(len(cust)).astype(str),
        C.ORDER_ID: np.arange(len(cust)).astype(str),
        C.RECORD_KEY: np.char.add("web:c", cust.astype(str)),
        C.DATE: pd.Timestamp("2024-01-01") + pd.to_timedelta(day, unit="D"),
        C.PRODUCT_ID: np.char.add("p", prod.astype(str)),
        C.QUANTITY: 1.0, C.AMOUNT: 10.0, C.IS_RETURN: False})


def _client(tmp_path, tx, products=None, **customize):
    from onetoone.config import ClientConfig

    cfg = ClientConfig(client="simulated", as_of="2025-12-30", sources=[],
                       workspace=str(tmp_path / "ws.duckdb"),
                       customize={"bootstrap_resamples": 500, **customize},
                       clv={"holdout_months": 4})
    with Workspace(cfg.workspace_path) as ws:
        ws.write("transactions", tx)
        if products is not None:
            ws.write("products", products)
    return cfg


def _recommend(cfg, **kw):
    from onetoone.customize import pipeline

    with Workspace(cfg.workspace_path) as ws:
        return pipeline.recommend_for_client(ws, cfg, None, **kw)


def test_no_taste_structure_no_personalisation_claim(tmp_path):
    """Popularity is the truth: the report must not say personalisation pays."""
    cfg = _client(tmp_path, _simulate(False),
                  candidates=["popularity", "item-knn", "ease", "als"])
    rec = _recommend(cfg)
    sel = rec.selection
    assert sel is not None and sel.who_holdout["n"] > 500
    assert not sel.personalisation_pays
    assert rec.chosen == "popularity"
    assert rec.message.startswith("Personalisation does not pay on this data")
    assert rec.figures()["personalisation_pays"] is False
    # and yet every suggestion carries a reason
    assert rec.recommendations["reason"].eq("popular with customers").all()


def test_planted_tastes_are_found_and_claimed(tmp_path):
    """The control: with tastes planted, a personalised model wins with an interval above 0."""
    cfg = _client(tmp_path, _simulate(True), candidates=["popularity", "item-knn", "ease"])
    rec = _recommend(cfg)
    sel = rec.selection
    assert rec.chosen in ("item-knn", "ease") and sel.personalisation_pays
    assert sel.holdout_lift[1] > 0 and rec.message.startswith("Personalisation pays")
    t = sel.table.set_index("model")
    assert t.loc[["item-knn", "ease"], "holdout_lift_low"].min() > 0
    best = t["holdout_precision_at_10"].max()
    assert best - t.at[rec.chosen, "holdout_precision_at_10"] <= \
        t.at[rec.chosen, "holdout_lift_high"] - t.at[rec.chosen, "holdout_lift"]
    assert rec.recommendations["reason"].str.startswith("because you bought").mean() > 0.9


def test_repeat_rule_is_the_same_in_evaluation_and_production_without_products(tmp_path):
    """No product table and a client whose customers re-buy: suggestions are written (owned
    products may come back) and the holdout measured the same rule."""
    tx = _simulate(False, customers=600, products=12)  # few products: re-buying is the norm
    tx[C.ORDER_ID] = tx[C.TRANSACTION_ID]
    cfg = _client(tmp_path, tx, candidates=["popularity", "item-knn"])
    rec = _recommend(cfg)
    assert rec.rule.repeat_products == "all" and "every owned product" in rec.rule.describe()
    assert rec.selection is not None and len(rec.recommendations) > 0
    owned = tx.assign(customer_id=tx[C.RECORD_KEY])[[C.CUSTOMER_ID, C.PRODUCT_ID]]
    again = rec.recommendations.merge(owned.drop_duplicates(), on=[C.CUSTOMER_ID, C.PRODUCT_ID])
    assert len(again) > 0  # production suggests owned products, as the evaluation did
    (tmp_path / "never").mkdir()
    cfg2 = _client(tmp_path / "never", tx, candidates=["popularity"], repeat="never")
    rec2 = _recommend(cfg2)
    assert rec2.rule.repeat_products is None and rec2.rule.source == "config"
    assert not len(rec2.recommendations.merge(owned.drop_duplicates(),
                                              on=[C.CUSTOMER_ID, C.PRODUCT_ID]))


def test_one_product_catalogue_gives_no_metrics_and_no_recommendations(tmp_path):
    from onetoone.customize import pipeline

    tx = _simulate(False, customers=200, products=12)
    tx[C.PRODUCT_ID] = "placeholder"
    cfg = _client(tmp_path, tx)
    with Workspace(cfg.workspace_path) as ws:
        s = pipeline.run(cfg, ws, echo=False)
        tables = set(ws.tables())
    assert s["recommendation_status"] == "small_catalogue"
    assert "precision_at_10" not in s and "recommended_customers" not in s
    assert "recommendation_evaluation" not in tables and "recommendations" not in tables
    rec = _recommend(cfg)
    assert rec.message.startswith("Only 1 distinct product bought")
    assert "no recommendation metric" in rec.message


def test_short_history_is_not_evaluated_but_still_recommends(tmp_path):
    tx = _simulate(False, customers=300, products=40)
    tx = tx[tx[C.DATE] >= "2025-10-01"]  # three months of history, a four-month holdout
    cfg = _client(tmp_path, tx)
    rec = _recommend(cfg)
    assert rec.status == "not_evaluated" and rec.selection is None
    assert rec.evaluation_table() is None and "precision_at_10" not in rec.figures()
    assert len(rec.recommendations) and rec.chosen == "segment popularity"


def test_lift_interval_is_scipy_paired_bootstrap():
    from onetoone.customize import lift_interval

    rng = np.random.default_rng(0)
    b = rng.random(400)
    d, lo, hi = lift_interval(b + 0.1, b)  # a constant paired difference: no uncertainty
    assert d == pytest.approx(0.1) and lo == pytest.approx(0.1) and hi == pytest.approx(0.1)
    a = rng.random(400)
    d, lo, hi = lift_interval(a, b)
    assert lo < d < hi and lo < 0 < hi  # two unrelated draws of the same distribution
    _, lo2, hi2 = lift_interval(np.tile(a, 4), np.tile(b, 4))
    assert hi2 - lo2 < hi - lo  # more customers, a narrower interval


def test_ease_is_the_closed_form_and_explains_from_owned_products(two_tastes):
    from onetoone.customize import Ease

    m = build_matrix(two_tastes)
    model = Ease(lam=5.0).fit(m)
    x = m.matrix.toarray() > 0
    g = x.T.astype(float) @ x + 5.0 * np.eye(x.shape[1])
    p = np.linalg.inv(g)
    b = np.eye(len(p)) - p / np.diag(p)
    np.fill_diagonal(b, 0)
    assert np.allclose(model.B_, b, atol=1e-5)
    recs = model.recommend(["a0"], k=1, product_names={"T1": "Dome tent", "T2": "Tarp"})
    assert recs[C.PRODUCT_ID].iat[0] == "T3"
    assert recs["reason"].iat[0] in {"because you bought Dome tent", "because you bought Tarp"}


@pytest.mark.parametrize("name", ["als", "bpr", "segment popularity"])
def test_every_candidate_gives_a_reason(two_tastes, name):
    from onetoone.customize import SegmentPopularity, make_candidates

    seg = {f"a{i}": 1 for i in range(20)} | {f"b{i}": 2 for i in range(20)}
    model = (SegmentPopularity(seg, {1: "Campers"}, min_customers=10)
             if name == "segment popularity" else make_candidates([name], factors=4)[name]())
    recs = model.fit(build_matrix(two_tastes)).recommend(["a1", "b2", "new"], k=2,
                                                        product_names={"T1": "Dome tent"})
    assert recs["reason"].notna().all() and (recs["reason"] != "").all()
    owned = set(two_tastes.loc[two_tastes[C.CUSTOMER_ID] == "a1", C.PRODUCT_ID])
    a1 = recs[recs[C.CUSTOMER_ID] == "a1"]
    if name == "segment popularity":
        a0 = model.recommend(["a0"], k=2)  # owns T1, T2, P: T3 is the segment's, then a book
        assert a0[C.PRODUCT_ID].tolist()[0] == "T3"
        assert a0["reason"].tolist() == ["popular in your segment (Campers)",
                                         "popular with customers"]
        assert not set(a1[C.PRODUCT_ID]) & owned
    else:
        named = a1["reason_product_id"].dropna()
        assert set(named) <= owned  # a reason is always something the customer owns


def test_edition_knee_and_what_is_shown_beside_it():
    from onetoone.customize import edition_recommendation, knee

    curve = pd.DataFrame({"editions": range(1, 9), "added": list("abcdefgh"),
                          "coverage": [0.2, 0.35, 0.42, 0.45, 0.46, 0.47, 0.475, 0.48]})
    assert knee(curve) == 3
    groupings = pd.DataFrame({"grouping": ["national", "by region", "by needs segment"],
                              "editions": [1, 5, 3], "coverage": [0.2, 0.3, 0.44]})
    adv = edition_recommendation(curve, groupings)
    assert adv["editions"] == 3 and adv["coverage"] == pytest.approx(0.42)
    assert adv["by_segment"] == (3, 0.44) and adv["by_region"] == (5, 0.3)
    assert "3 needs-segment editions cover as much" in adv["statement"]
    assert knee(curve.head(2)) == 1


def test_exported_configurations_are_remembered_and_proposed(sofa, tmp_path):
    """A client's configurator export (saved_configurations) is the customer's history."""
    from onetoone.customize import configuration_summary

    export = pd.DataFrame({
        "source": "web_configurations", C.SOURCE_SYSTEM: "web",
        C.RECORD_KEY: ["web:1", "web:1", "web:2", "web:2", "web:2"],
        C.CONFIGURATION_ID: ["K1", "K2", "K3", "K4", "K5"],
        C.RECORD_ID: ["1", "1", "2", "2", "2"], C.PRODUCT_ID: "S",
        C.OPTIONS: ["S3;BRASS;GREY", "S2;OAK;GREY", "S3;BRASS;VELVET", "S3;BRASS;GREY",
                    "GREY;BRASS;S3"],
        C.PRICE: 0.0, C.STATUS: ["ordered", "saved", "ordered", "ordered", "ordered"],
        C.CREATED_AT: pd.to_datetime(["2026-01-01", "2026-03-01", "2026-01-05", "2026-02-01",
                                      "2026-04-01"])})
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.write("saved_configurations", export)
        save_configuration(ws, sofa, "web:1", "S", {"size": "S3"}, created_at="2026-05-01",
                           status="abandoned")
        h = configuration_history(ws)
    assert len(h) == 6 and h[C.CREATED_AT].is_monotonic_increasing
    p = propose_configuration(sofa, h, "web:1", "S")
    # the abandoned one is skipped: the last kept configuration is the saved 2-seater
    assert p.source == "last" and p.configuration.options["size"] == "S2"
    assert p.reason == "your last configuration (01 Mar 2026)"
    s = configuration_summary(h)
    assert s["customers"] == 2 and s["ordered_customers"] == 2
    # web:2 ordered S3+BRASS+GREY twice (written in two orders of the codes): one re-order
    assert s["reorder_customers"] == 1 and s["reorder_share"] == pytest.approx(0.5)


@pytest.mark.slow
def test_movielens_100k_as_a_client(tmp_path):
    """Real ratings (MovieLens 100k, shipped by RecBole; tests/data/README.md) mapped as a
    client: the candidates do not beat popularity with an interval above zero, so the stage
    says so and recommends popularity."""
    from onetoone.config import load_config
    from onetoone.customize import pipeline
    from onetoone.ingest import ingest

    cfg = load_config(paths.ROOT / "tests" / "data" / "ml-100k.yaml")
    cfg.workspace = str(tmp_path / "ml.duckdb")
    with Workspace.open(cfg) as ws:
        ingest(cfg, ws, echo=False)
        prof = pipeline.load_profile(ws, cfg)
        rec = pipeline.recommend_for_client(ws, cfg, prof)
    sel = rec.selection
    assert sel.who_holdout["customers"] == 943 and sel.who_holdout["n"] == 128
    assert "128 of 943 customers (14%)" in rec.notes[0]
    assert not sel.personalisation_pays and rec.chosen in ("popularity", "segment popularity")
    assert rec.message.startswith("Personalisation does not pay on this data")
    t = sel.table.set_index("model")
    assert 0.14 < t.at["popularity", "holdout_precision_at_10"] < 0.17
    assert (t["holdout_lift_low"] <= 0).all()


@pytest.mark.parametrize("segmented", [False, True])
def test_popularity_shortcut_equals_scoring_every_product(segmented):
    """Popularity lists score only the columns that can reach a customer's top k: the same
    suggestions as scoring every product."""
    from onetoone.customize import SegmentPopularity

    rng = np.random.default_rng(4)
    n = 3000
    pairs = _pairs([(f"c{c}", f"p{p}", 1) for c, p in zip(rng.integers(0, 400, n),
                                                           rng.zipf(1.3, n) % 300)])
    m = build_matrix(pairs)
    seg = {f"c{i}": i % 3 for i in range(400)}
    make = (lambda: SegmentPopularity(seg, min_customers=5)) if segmented else Popularity
    fast = make().fit(m, repeat_products=[f"p{i}" for i in range(0, 300, 7)])
    slow = make().fit(m, repeat_products=[f"p{i}" for i in range(0, 300, 7)])
    slow._candidate_columns = lambda *a: None
    assert fast._candidate_columns(m.matrix[:50], np.arange(50), 10) is not None
    pd.testing.assert_frame_equal(fast.recommend(k=10, chunk_size=97),
                                  slow.recommend(k=10, chunk_size=97))


# -- co-occurrence counting and scoring in the engine (issue 18) ---------------------------------
def _random_pairs(seed=7, n=2500, customers=250, products=60):
    """Random purchase pairs with counts 1-4, a few heavy buyers (who need the popularity
    fill) and products nobody bought (absent from the pairs, present in the universe)."""
    rng = np.random.default_rng(seed)
    c = rng.integers(0, customers, n)
    p = (rng.zipf(1.4, n) % products)
    heavy = [(f"c{customers + i}", f"p{q:03d}") for i in range(3) for q in range(0, products, 2)]
    df = pd.DataFrame({C.CUSTOMER_ID: [f"c{i}" for i in c] + [h[0] for h in heavy],
                       C.PRODUCT_ID: [f"p{q:03d}" for q in p] + [h[1] for h in heavy]})
    df = df.groupby([C.CUSTOMER_ID, C.PRODUCT_ID]).size().rename(C.ORDERS).reset_index()
    df[C.ORDERS] = np.minimum(df[C.ORDERS] + rng.integers(0, 3, len(df)), 4)
    return df, [f"p{q:03d}" for q in range(products + 5)]


@pytest.fixture
def engine_pairs(tmp_path):
    from onetoone.customize.engine import EnginePairs

    pairs, universe = _random_pairs()
    ws = Workspace(tmp_path / "engine.duckdb")
    ws.write("pairs", pairs)
    yield pairs, build_matrix(pairs, products=universe), EnginePairs(ws.table("pairs"), universe)
    ws.close()


def test_engine_gram_and_counts_equal_scipy(engine_pairs):
    pairs, m, src = engine_pairs
    assert list(src.products) == list(m.products)
    x = m.matrix.copy()
    x.data[:] = 1.0
    np.testing.assert_array_equal(src.popularity(), np.asarray(x.sum(axis=0)).ravel())
    keep = np.array([0, 3, 4, 9, 17, 30, 59, 61])  # 61: bought by nobody
    xs = x[:, keep]
    np.testing.assert_array_equal(src.gram(keep), (xs.T @ xs).toarray())
    full = np.arange(len(m.products))
    np.testing.assert_array_equal(src.gram(full), (x.T @ x).toarray())


@pytest.mark.parametrize("weighting", ["bm25", "tfidf", "none"])
def test_engine_cosine_equals_numpy_item_knn(engine_pairs, weighting):
    from onetoone.customize.recommend import _bm25, _tfidf

    _, m, src = engine_pairs
    # the float64 reference: weights, unit columns, their Gram without the diagonal
    w = {"bm25": _bm25, "tfidf": _tfidf, "none": lambda a: a}[weighting](
        m.matrix.astype(np.float64)).toarray().astype(np.float64)
    if weighting == "bm25":  # _bm25 works in float32: recompute in float64
        xd = m.matrix.toarray().astype(np.float64)
        n = xd.shape[0]
        df = (xd > 0).sum(0)
        idf = np.clip(np.log(n / (1.0 + df)), 0, None) + 1e-3
        length = (xd > 0).sum(1, keepdims=True)
        w = np.where(xd > 0, xd * 2.2 / (1.2 * (0.25 + 0.75 * length / length.mean()) + xd)
                     * idf, 0.0)
    norms = np.sqrt((w * w).sum(0))
    wn = w / np.where(norms > 0, norms, 1.0)
    ref = wn.T @ wn
    np.fill_diagonal(ref, 0.0)
    got = src.cosine_neighbours(weighting, neighbours=1000).toarray()
    chunked = src.cosine_neighbours(weighting, neighbours=1000, cells=7 * 65).toarray()
    np.testing.assert_allclose(chunked, got, rtol=1e-6)  # 10 column ranges, the same similarity
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-7)
    # the numpy fit agrees within float32 rounding
    np.testing.assert_allclose(ItemKNN(weighting, neighbours=1000).fit(m).similarity_.toarray(),
                               got, rtol=1e-5, atol=1e-6)
    # each product keeps its `neighbours` most similar: nothing dropped beats what is kept
    top = src.cosine_neighbours(weighting, neighbours=5).toarray()
    for j in range(ref.shape[1]):
        kept = top[:, j] != 0
        assert kept.sum() == min(5, (ref[:, j] != 0).sum())
        if kept.any() and (~kept).any():
            assert ref[~kept, j].max() <= ref[kept, j].min() + 1e-7


@pytest.mark.parametrize("name", ["popularity", "segment popularity"])
def test_engine_scoring_equals_numpy_scoring(engine_pairs, name):
    """The popularity lists ranked in the engine: the same suggestions and reasons as numpy's
    scoring of the same fit, scores to float32 rounding."""
    from onetoone.customize.engine import score_in_engine
    from onetoone.customize.models import SegmentPopularity

    pairs, m, src = engine_pairs
    seg = {c: int(c[1:]) % 3 for c in pairs[C.CUSTOMER_ID].unique()}
    make = Popularity if name == "popularity" else (
        lambda: SegmentPopularity(seg, {0: "zero"}, min_customers=20))
    repeat = [f"p{q:03d}" for q in range(0, 65, 3)]  # these may be suggested again
    numpy_fit = make().fit(m, repeat_products=repeat)
    engine_fit = make().fit(m, repeat_products=repeat, engine=src)
    if name == "segment popularity":
        assert len(engine_fit.labels_) == len(numpy_fit.labels_) > 2
        np.testing.assert_array_equal(engine_fit.table_[np.argsort([str(x) for x in
                                                                    engine_fit.labels_])],
                                      numpy_fit.table_[np.argsort([str(x) for x in
                                                                   numpy_fit.labels_])])
    want = engine_fit.recommend(k=10).sort_values([C.CUSTOMER_ID, "rank"], ignore_index=True)
    got = score_in_engine(engine_fit, src, 10)
    assert len(got) == len(want) > 2000
    pd.testing.assert_frame_equal(got.drop(columns="score"), want.drop(columns="score"),
                                  check_dtype=False)
    np.testing.assert_allclose(got["score"], want["score"], rtol=1e-6)
    # owned durables are never suggested; consumables may come back
    owned = set(zip(pairs[C.CUSTOMER_ID], pairs[C.PRODUCT_ID]))
    again = [(c, p) in owned for c, p in zip(got[C.CUSTOMER_ID], got[C.PRODUCT_ID])]
    assert set(got.loc[again, C.PRODUCT_ID]) <= set(repeat) and any(again)
    assert got["reason_product_id"].isna().all()
    if name == "segment popularity":
        assert got["reason"].str.startswith("popular in your segment").any()


def test_engine_fit_needs_the_same_universe(engine_pairs):
    _, m, src = engine_pairs
    small = build_matrix(_random_pairs()[0])  # only the bought products
    with pytest.raises(ValueError, match="universe"):
        Popularity().fit(small, engine=src)
    with pytest.raises(ValueError, match="matrix or engine pairs"):
        Popularity().fit(None)


def test_favourite_subject_in_the_engine_equals_pandas(engine_pairs, tmp_path):
    pairs, m, src = engine_pairs
    products = pd.DataFrame({C.PRODUCT_ID: m.products, C.NAME: m.products,
                             C.SUBJECT: [("a_b", "c", "d", None)[i % 4]
                                         for i in range(len(m.products))]})
    profile = pd.DataFrame({C.CUSTOMER_ID: pairs[C.CUSTOMER_ID].unique()})
    profile = profile.assign(**{C.TIER: "MGC", C.SEGMENT_NAME: "x", C.REGION: "r",
                                C.FIRST_NAME: "Ann"})
    with Workspace(tmp_path / "m.duckdb") as ws:
        ws.write("pairs", pairs)
        got = tailored_messages(profile, None, products, ws.table("pairs"))
    want = tailored_messages(profile, None, products, pairs)
    pd.testing.assert_frame_equal(got, want)
    assert got["product"].str.contains("loves a b").any()
