"""Identify: normalisation, blocking counts, clustering with overrides, golden records,
recognition, profile; and the bar on the sample client against the generator's truth."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from onetoone import columns as C
from onetoone import paths
from onetoone.identify import golden as G
from onetoone.identify import linkage as L
from onetoone.identify import normalise as N
from onetoone.identify import overrides as O
from onetoone.identify import profile as P

needs_sample = pytest.mark.skipif(not paths.SAMPLE_CONFIG.exists(),
                                  reason=f"the sample client is not generated ({paths.SAMPLE_CONFIG})")


# -- normalisation ----------------------------------------------------------------------------
def test_names_fold_case_accents_punctuation_and_nicknames():
    s = pd.Series(["  O'Brien ", "OBRIEN", "Zoë", "ZOE", "Anne-Marie", None, "  ", "Bill", "BOB"])
    last = N.normalise_name(s).tolist()
    assert last[:5] == ["obrien", "obrien", "zoe", "zoe", "anne marie"]
    assert last[5] is None and last[6] is None
    first = N.normalise_name(s, nicknames=True).tolist()
    assert first[7:] == ["william", "robert"]
    assert last[7] == "bill"  # surnames are never mapped as nicknames


def test_emails_trimmed_lowercased_and_invalid_dropped():
    s = pd.Series(["  Jane.Doe@Example.COM ", "jane.doe@example.com", "not an email", "a@b",
                   "x@y.org", None])
    assert N.normalise_email(s).tolist() == ["jane.doe@example.com", "jane.doe@example.com",
                                             None, None, "x@y.org", None]


def test_phones_in_every_format_become_one_e164_number():
    s = pd.Series(["07700 900123", "+44 7700 900123", "0044 7700 900123", "(07700) 900-123",
                   "07700-900123", "+44 (0)7700 900123"])
    assert set(N.normalise_phone(s, region="GB")) == {"+447700900123"}
    assert N.normalise_phone(pd.Series(["020 7946 0018", "+44 20 7946 0018"])).nunique() == 1
    junk = N.normalise_phone(pd.Series(["abc", "12", None, ""]))
    assert junk.isna().all()
    fr = N.normalise_phone(pd.Series(["06 12 34 56 78", "+33 6 12 34 56 78"]), region="FR")
    assert set(fr) == {"+33612345678"}


def test_postcodes_dates_and_the_identifier_rule():
    assert N.normalise_postcode(pd.Series(["sw1a 1aa", "SW1A1AA", " SW1A-1AA"])).nunique() == 1
    d = N.normalise_date(pd.Series(["1980-02-03", "1900-01-01", "2090-01-01", "garbage", None]),
                         latest="2026-09-30")
    assert d.iloc[0] == pd.Timestamp("1980-02-03") and d.iloc[1:].isna().all()
    recs = pd.DataFrame({C.RECORD_KEY: list("abcde"), C.SOURCE_SYSTEM: "crm",
                         C.FIRST_NAME: ["Ann", None, "Ann", "Ann", None],
                         C.LAST_NAME: ["Lee", "Lee", None, "Lee", None],
                         C.EMAIL: [None, None, None, "ann@x.com", None],
                         C.BIRTH_DATE: [None, "1980-01-01", None, None, None]})
    norm = N.normalise_records(recs, as_of="2026-09-30")
    assert N.has_identifier(norm).tolist() == [True, True, False, True, False]


def test_normalise_table_in_the_engine_gives_normalise_records_values():
    """The engine's normalisation (the pandas functions as vectorised UDFs) against the pandas
    one, value for value, on records with every quirk the normalisers handle."""
    from onetoone.vectorised import local_table

    recs = pd.DataFrame({
        C.RECORD_KEY: [f"crm:{i}" for i in range(8)], C.SOURCE_SYSTEM: "crm",
        C.RECORD_ID: [str(i) for i in range(8)],
        C.FIRST_NAME: ["  Bill ", "ZOË", None, "Anne-Marie", "", "o'brien", "Sam", "Bill"],
        C.LAST_NAME: ["O'Brien", "Smith", "Lee", None, "Ng", "OBRIEN", "Ødegård", "Ng"],
        C.EMAIL: [" A@X.COM", "bad@", None, "a@b.co.uk", "x@y", "q@r.com ", "", "a @x.com"],
        C.PHONE: ["07700 900123", "+44 (0)7700 900124", "0044 7700 900125", "12", None,
                  "(07700) 900-126", "letters", "07700900123"],
        C.POSTCODE: ["sw1a 1aa", None, "LS1-4AB", "", "m1 1ae", "SW1A1AA", "x", None],
        C.BIRTH_DATE: ["1980-02-03", "1900-01-01", "2090-01-01", "garbage", None, "03/04/1975",
                       "1975-04-03", "1970-01-01"],
        C.ACCOUNT_NUMBER: ["123-456 789", "000000", "ab1", None, "A1B2C3", "", "9999", "x"],
    })
    pandas_side = N.normalise_records(recs, as_of="2026-09-30")
    engine = N.normalise_table(local_table(recs.astype("string"), "r"),
                               as_of="2026-09-30").to_pandas().sort_values(C.RECORD_KEY)
    engine = engine.reset_index(drop=True)
    for c in [c for c in pandas_side.columns if c.endswith("_n")]:
        a, b = pandas_side[c], engine[c]
        if c == "birth_date_n":
            a, b = pd.to_datetime(a), pd.to_datetime(b)
        same = (a.isna() & b.isna()) | (a.astype(object) == b.astype(object))
        assert same.all(), (c, a[~same].tolist(), b[~same].tolist())
    assert engine[C.HAS_IDENTIFIER].tolist() == N.has_identifier(pandas_side).tolist()


# -- blocking -----------------------------------------------------------------------------------
def _con_with(df: pd.DataFrame):
    import duckdb

    con = duckdb.connect()
    con.register("v", df)
    con.execute("CREATE TABLE t AS SELECT * FROM v")
    return con


def test_count_comparisons_is_exact_and_an_exploding_rule_is_refused_with_advice():
    df = pd.DataFrame({"email_n": ["a", "a", "a", "b", "b", None, None],
                       "last_name_n": ["x"] * 7})
    counts = L.count_comparisons(_con_with(df), "t", [("email_n",), ("last_name_n",)])
    assert counts["comparisons"].tolist() == [3 + 1, 21]
    assert counts.loc[0, "largest_block"] == "a" and counts.loc[0, "largest_block_records"] == 3
    L.check_blocking(counts.iloc[:1], max_comparisons=10)
    with pytest.raises(L.BlockingRuleTooLoose, match=r"last_name_n.*21 comparisons.*'x'.*Add"):
        L.check_blocking(counts, max_comparisons=10)
    with pytest.raises(L.BlockingRuleTooLoose, match="together"):
        L.check_blocking(counts, max_comparisons=22)


def _brute_pairs(df: pd.DataFrame, rule) -> int:
    """Pairs a rule generates, by looking at every pair (the reference for the counts)."""
    cols = L._rule_columns(rule)
    rows = df.to_dict("records")
    n = 0
    for a, b in combinations(rows, 2):
        if any(pd.isna(a[c]) or pd.isna(b[c]) for c in cols):
            continue
        if L._is_swapped(rule):
            same = a["first_name_n"] == b["last_name_n"] and a["last_name_n"] == b["first_name_n"]
            same = same and all(a[c] == b[c] for c in cols[2:])
        else:
            same = all(a[c] == b[c] for c in cols)
        n += same
    return n


def _common_names(n: int = 240, seed: int = 3) -> pd.DataFrame:
    """Normalised records whose names come from a tiny vocabulary (so the name rules'
    pairs grow with the square of the records), some of them swapped, with a birth year."""
    rng = np.random.default_rng(seed)
    names = np.array(["ann", "lee", "kim", "bo"])
    f, s = rng.choice(names, n), rng.choice(names, n)
    df = pd.DataFrame({"first_name_n": f, "last_name_n": s,
                       "birth_year_n": rng.choice(["1970", "1980", "1990", "2000", None], n),
                       "city_n": rng.choice(["leeds", "york"], n),
                       "email_n": [f"p{i // 2}@x.com" for i in range(n)]})
    df.loc[rng.random(n) < 0.05, "first_name_n"] = None
    return df


def test_count_comparisons_counts_swapped_and_tightened_rules_exactly():
    df = _common_names()
    rules = [("first_name_n", "last_name_n"), L.SWAPPED, (L.SWAPPED, "birth_year_n"),
             ("first_name_n", "last_name_n", "birth_year_n")]
    got = L.count_comparisons(_con_with(df), "t", rules)["comparisons"].tolist()
    assert got == [_brute_pairs(df, r) for r in rules]
    assert got[2] < got[1] and got[3] < got[0]
    sql = L._splink_rule((L.SWAPPED, "birth_year_n"))
    assert sql.endswith("AND l.birth_year_n = r.birth_year_n") and "r.last_name_n" in sql


def test_rules_that_grow_with_the_square_of_the_client_are_tightened_or_left_out(monkeypatch):
    df = _common_names()
    con = _con_with(df)
    rules = [("email_n",), ("first_name_n", "last_name_n"), L.SWAPPED,
             ("city_n", "last_name_n"), ("birth_year_n", "city_n", "last_name_n")]
    counts = L.count_comparisons(con, "t", rules)
    fill = {c: float(df[c].notna().mean()) for c in df.columns}
    # below the floor nothing changes, however many pairs per record
    same, _, notes = L.tighten_rules(con, "t", rules, counts, len(df), 0.1, fill)
    assert same == rules and notes == []
    monkeypatch.setattr(L, "PAIR_BUDGET_FLOOR", 0)
    new, got, notes = L.tighten_rules(con, "t", rules, counts, len(df), 6.0, fill)
    assert got["comparisons"].sum() <= 6.0 * len(df) < counts["comparisons"].sum()
    assert got["comparisons"].tolist() == L.count_comparisons(con, "t", new)["comparisons"].tolist()
    # the names get the birth year (first in preference, filled on 80 %); city & last name
    # plus the birth year would only repeat the birth year & city & last name rule, and no
    # other column halves it: it is left out, with the reason
    assert new == [("email_n",), ("first_name_n", "last_name_n", "birth_year_n"),
                   (L.SWAPPED, "birth_year_n"), ("birth_year_n", "city_n", "last_name_n")]
    assert notes[0].startswith("left out: blocking rule 'city & last_name' would make 3,633")
    assert any(n.startswith("tightened: blocking rule 'first_name & last_name'")
               and "'first_name & last_name & birth_year' instead (270 pairs)" in n
               and "6.7 per record" in n for n in notes)
    # the region is never added to a rule on the city (it would only drop records without one)
    regions = df.assign(region_n=np.where(df["city_n"] == "leeds", "yorkshire", None))
    con_r = _con_with(regions)
    fill_r = {**fill, "region_n": 0.5, "birth_year_n": 0.0}
    cr = [("city_n", "last_name_n")]
    kept, _, why = L.tighten_rules(con_r, "t", cr, L.count_comparisons(con_r, "t", cr),
                                   len(df), 6.0, fill_r)
    assert kept == [] and why[0].startswith("left out: blocking rule 'city & last_name'")
    # a column filled on too few records is never added
    thin = {**fill, "birth_year_n": 0.3}
    new2, _, _ = L.tighten_rules(con, "t", rules, counts, len(df), 6.0, thin)
    assert not any("birth_year_n" in L._rule_columns(r) for r in new2 if r not in rules)


def test_identify_links_with_tightened_rules_and_says_so(monkeypatch):
    from onetoone.identify import pipeline

    df = _people()
    df[C.LAST_NAME] = np.array(["Smith", "Jones"])[df["person"] % 2]  # two surnames
    base = pipeline.identify_customers(df, as_of="2026-09-30", max_pairs_per_record=1.0)
    assert not any("tightened" in n for n in base.linkage.plan.notes)  # under the floor
    monkeypatch.setattr(L, "PAIR_BUDGET_FLOOR", 0)
    names = int(base.linkage.blocking.set_index("rule").loc["first_name_n & last_name_n",
                                                             "comparisons"])
    # tightened before the limit is applied: a name rule over identify.max_comparisons gets a
    # column rather than being left out
    few = df[[C.RECORD_KEY, C.SOURCE_SYSTEM, C.RECORD_ID, C.FIRST_NAME, C.LAST_NAME, C.EMAIL,
              C.BIRTH_DATE]]
    capped = pipeline.identify_customers(few, as_of="2026-09-30", max_pairs_per_record=1.0,
                                         max_comparisons=names - 1)
    assert ("first_name_n", "last_name_n", "birth_year_n") in capped.linkage.plan.blocking
    assert not any(n.startswith("left out") for n in capped.linkage.plan.notes)
    res = pipeline.identify_customers(df, as_of="2026-09-30", max_pairs_per_record=1.0)
    notes = " ".join(res.linkage.plan.notes)
    assert "tightened: blocking rule 'first_name & last_name'" in notes
    assert ("first_name_n", "last_name_n", "birth_year_n") in res.linkage.plan.blocking
    assert ("first_name_n", "last_name_n") not in res.linkage.plan.blocking
    per_rule = res.linkage.blocking.set_index("rule")["comparisons"]
    assert (per_rule <= len(df)).all() and per_rule.sum() < base.linkage.blocking[
        "comparisons"].sum()
    assert ("email_n",) in res.linkage.plan.blocking  # rules under the limit stay
    # the strong identifiers still find every person: the same customers
    assert (res.record_map.set_index(C.RECORD_KEY)[C.CUSTOMER_ID].groupby(
        base.record_map.set_index(C.RECORD_KEY)[C.CUSTOMER_ID]).nunique() == 1).all()
    assert res.record_map[C.CUSTOMER_ID].nunique() == 60
    # a tightened swapped-names rule runs in splink and finds the people it should
    sw = _people()
    web = sw[C.SOURCE_SYSTEM] == "web"
    crm_first = sw.loc[~web].set_index("person")[C.FIRST_NAME]
    sw.loc[web, C.FIRST_NAME] = sw.loc[web, C.LAST_NAME]  # the web form took them reversed
    sw.loc[web, C.LAST_NAME] = sw.loc[web, "person"].map(crm_first)
    only = pipeline.identify_customers(sw, as_of="2026-09-30",
                                       rules=[(L.SWAPPED, "birth_year_n")])
    # 60 people less the six Bobs: the given name folds nicknames (bob -> robert), the
    # family name does not
    assert only.linkage.blocking["comparisons"].tolist() == [54]
    assert (only.linkage.pairs[C.MATCH_PROBABILITY] >= 0.95).sum() == 54


def test_blocking_recall_counts_true_pairs_no_rule_finds():
    norm = pd.DataFrame({"email_n": ["e1", "e1", None, "e3"], "phone_n": [None, None, "p", "q"]})
    truth = pd.Series(["A", "A", "B", "B"])
    r = L.blocking_recall(norm, truth, rules=[("email_n",), ("phone_n",)])
    assert (r["true_pairs"], r["blocked_true_pairs"]) == (2, 1)


# -- clustering and overrides -----------------------------------------------------------------
def _pairs(rows):
    return pd.DataFrame(rows, columns=["record_key_l", "record_key_r", "match_probability"])


def test_clusters_at_threshold_with_singletons_kept():
    pairs = _pairs([("a", "b", 0.99), ("b", "c", 0.97), ("d", "e", 0.6)])
    out, _ = L.cluster_records(list("abcdef"), pairs, 0.95)
    cl = out.set_index(C.RECORD_KEY)["cluster"]
    assert cl["a"] == cl["b"] == cl["c"] == "a"
    assert cl["d"] == "d" and cl["e"] == "e" and cl["f"] == "f"
    sizes = out.set_index(C.RECORD_KEY)["cluster_size"]
    assert sizes["a"] == 3 and sizes["f"] == 1
    assert out.set_index(C.RECORD_KEY)["match_probability"]["a"] == pytest.approx(0.99)
    assert np.isnan(out.set_index(C.RECORD_KEY)["match_probability"]["f"])


def test_cannot_link_splits_a_transitive_chain_at_its_weakest_edge_and_must_link_merges():
    pairs = _pairs([("a", "b", 0.999), ("b", "c", 0.96), ("c", "d", 0.999)])
    cannot = pd.DataFrame({"record_key_l": ["a"], "record_key_r": ["d"]})
    must = pd.DataFrame({"record_key_l": ["e"], "record_key_r": ["f"]})
    out, stats = L.cluster_records(list("abcdef"), pairs, 0.95, must_link=must,
                                   cannot_link=cannot)
    cl = out.set_index(C.RECORD_KEY)["cluster"]
    assert cl["a"] == cl["b"] and cl["c"] == cl["d"] and cl["a"] != cl["c"]
    assert cl["e"] == cl["f"]
    assert stats["clusters_split"] == 1 and stats["must_links"] == 1
    # a cannot-link on a direct edge simply removes it
    out2, _ = L.cluster_records(list("ab"), _pairs([("a", "b", 0.999)]), 0.95,
                                cannot_link=pd.DataFrame({"record_key_l": ["b"],
                                                          "record_key_r": ["a"]}))
    assert out2["cluster"].nunique() == 2


def test_customer_ids_are_stable_and_deterministic():
    a = L.customer_ids(pd.Series(["crm:1", "crm:1", "web:9"]))
    b = L.customer_ids(pd.Series(["web:9", "crm:1"]))
    assert a.iloc[0] == a.iloc[1] == b.iloc[1] and a.iloc[2] == b.iloc[0]
    assert a.iloc[0] != a.iloc[2] and a.str.match(r"^C[0-9A-F]{10}$").all()


def test_customer_ids_number_colliding_hashes_in_key_order(monkeypatch):
    """Two cluster keys whose hashes collide: the smaller key keeps the bare id, the next gets
    ``-1``; every record of one cluster gets its cluster's id (a dense rank in the engine)."""
    import onetoone.vectorised as V

    real = V.sha1_prefix
    monkeypatch.setattr(V, "sha1_prefix", lambda k, prefix="C": real(k, prefix).where(
        ~k.isin(["crm:2", "crm:7"]), "CSAME"))
    ids = L.customer_ids(pd.Series(["crm:7", "web:1", "crm:2", "crm:7", "crm:2"]))
    assert ids.tolist()[0] == "CSAME-1" and ids.tolist()[2] == "CSAME"
    assert ids.iloc[3] == ids.iloc[0] and ids.iloc[4] == ids.iloc[2]
    assert ids.iloc[1] == real(pd.Series(["web:1"])).iloc[0]


def test_pairwise_scores_on_a_known_example():
    pred = pd.Series(["x", "x", "x", "y"])
    truth = pd.Series(["A", "A", "B", "B"])
    s = L.pairwise_scores(pred, truth)
    assert (s["predicted_pairs"], s["true_pairs"], s["correct_pairs"]) == (3, 2, 1)
    assert s["precision"] == pytest.approx(1 / 3) and s["recall"] == pytest.approx(0.5)


def test_household_guard_holds_back_different_given_names_without_personal_evidence():
    p = pd.DataFrame({"gamma_first_name": [0, 0, 0, 5], "gamma_phone": [-1, 1, 0, -1],
                      "gamma_birth_date": [-1, -1, 4, -1]})
    assert L.household_guard(p).tolist() == [True, False, False, False]


# -- golden records -----------------------------------------------------------------------------
def test_survivorship_rules_choose_per_field():
    recs = pd.DataFrame({
        C.CUSTOMER_ID: ["c1"] * 3 + ["c2"],
        C.RECORD_KEY: ["crm:1", "web:1", "loy:1", "crm:2"],
        C.SOURCE_SYSTEM: ["crm", "web", "loyalty", "crm"],
        C.FIRST_NAME: ["Jon", "John", "JOHN", "Ann"],
        C.EMAIL: ["old@x.com", None, "new@x.com", None],
        C.CITY: ["Leeds", "York", "Hull", None],
        C.UPDATED_AT: pd.to_datetime(["2024-01-01", "2025-01-01", "2026-01-01", "2024-01-01"]),
    })
    g = G.golden_records(recs, {C.FIRST_NAME: "most_frequent", C.EMAIL: "most_recent",
                                C.CITY: "source_priority"}, ["web", "crm"],
                         fields=[C.FIRST_NAME, C.EMAIL, C.CITY]).set_index(C.CUSTOMER_ID)
    assert g.loc["c1", C.FIRST_NAME].lower() == "john"  # two of three records say John
    assert g.loc["c1", C.EMAIL] == "new@x.com"  # most recent non-empty
    assert g.loc["c1", C.CITY] == "York"  # web first
    assert g.loc["c1", "n_records"] == 3 and g.loc["c1", "sources"] == "crm;loyalty;web"
    assert pd.isna(g.loc["c2", C.EMAIL]) and g.loc["c2", C.FIRST_NAME] == "Ann"
    with pytest.raises(ValueError, match="unknown survivorship"):
        G.golden_records(recs, {C.CITY: "loudest"})


def test_golden_records_title_case_names_written_in_capitals_whatever_the_dtype():
    """"WALKER" from an old till becomes "Walker" in the golden record, in a pandas 3 string
    column as in an object one (the string dtype once skipped it), and "McDonald" is kept."""
    recs = pd.DataFrame({C.CUSTOMER_ID: ["c1", "c2", "c3"], C.RECORD_KEY: ["a", "b", "c"],
                         C.SOURCE_SYSTEM: "pos", C.LAST_NAME: ["WALKER", "McDonald", None],
                         C.CITY: ["LEEDS", "York", "HULL"]}).astype("string")
    g = G.golden_records(recs, fields=[C.LAST_NAME, C.CITY]).set_index(C.CUSTOMER_ID)
    assert g[C.LAST_NAME].tolist()[:2] == ["Walker", "McDonald"] and pd.isna(g.loc["c3", C.LAST_NAME])
    assert g[C.CITY].tolist() == ["Leeds", "York", "Hull"]


# -- profile ------------------------------------------------------------------------------------
def test_addressable_needs_both_contact_and_consent_and_questions_rank_by_value():
    cust = pd.DataFrame({C.CUSTOMER_ID: ["a", "b", "c"],
                         C.EMAIL: ["a@x.com", None, "c@x.com"],
                         C.CONSENT_EMAIL: [True, True, False],
                         C.PHONE: [None, None, None], C.CONSENT_SMS: [True, True, True]})
    a = P.addressable(cust).set_index("channel")
    assert a.loc["email", "addressable"] == 1 and a.loc["sms", "addressable"] == 0
    from onetoone.vectorised import local_table  # counted in the engine: the same table

    blank = cust.assign(**{C.EMAIL: ["a@x.com", " ", "c@x.com"]}).astype(
        {C.EMAIL: "string", C.PHONE: "string"})
    pd.testing.assert_frame_equal(P.addressable(local_table(blank, "c")), P.addressable(blank))
    q = P.questions_to_ask(cust, {C.EMAIL: (3.0, "cheap"), C.PHONE: (2.0, "calls")})
    assert q["attribute"].tolist() == [C.PHONE, C.EMAIL]  # 3 x 2.0 beats 1 x 3.0
    assert q["missing"].tolist() == [3, 1]
    nq = P.next_question(cust).set_index(C.CUSTOMER_ID)["question"]
    assert nq["b"] == C.EMAIL and nq["a"] == C.PREFERRED_CHANNEL


# -- linkage end to end on a small synthetic population ---------------------------------------
def test_link_records_on_synthetic_people_separates_namesakes():
    rows = []
    for i in range(300):
        first = ["John", "Mary", "Ahmed", "Zoë"][i % 4]
        last = ["Smith", "Jones"][i % 2]
        base = {"first_name": first, "last_name": last, "email": f"p{i}@mail.com",
                    "phone": f"07700{900000 + i}", "postcode": f"LS{i % 9} {i % 7}AB",
                    "street": f"{i} High Street", "birth_date": f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}"}
        rows.append({**base, C.RECORD_KEY: f"crm:{i}", C.SOURCE_SYSTEM: "crm", "person": i})
        if i % 3 == 0:  # a second record: upper-case name, phone in another format, no email
            rows.append({**base, C.RECORD_KEY: f"web:{i}", C.SOURCE_SYSTEM: "web", "person": i,
                         "first_name": first.upper(), "email": None,
                         "phone": "+44 7700 " + str(900000 + i)})
    df = pd.DataFrame(rows)
    norm = N.normalise_records(df, as_of="2026-09-30")
    res = L.link_records(norm, u_max_pairs=1e5)
    assert res.scored_pairs > 0 and set(res.levels["field"]) >= {"first_name", "email", "phone"}
    clusters, _ = L.cluster_records(norm[C.RECORD_KEY], res.pairs, 0.95)
    s = L.pairwise_scores(clusters.set_index(C.RECORD_KEY)["cluster"].loc[norm[C.RECORD_KEY]],
                          df["person"])
    assert s["precision"] >= 0.99 and s["recall"] >= 0.95, s


# -- the sample client ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def identified():
    from sample_support import sample_workspace

    return sample_workspace("identify")


@pytest.fixture(scope="module")
def sample_truth(identified):
    from sample_support import ground_truth

    from onetoone.workspace import Workspace

    gt = ground_truth("records")
    gt[C.RECORD_KEY] = gt[C.SOURCE_SYSTEM] + ":" + gt[C.RECORD_ID]
    with Workspace(identified.workspace_path, read_only=True) as ws:
        rm = ws.read("record_map")
        records = ws.read("customer_records")
    rm["person"] = rm[C.RECORD_KEY].map(gt.set_index(C.RECORD_KEY)["person_id"])
    return rm, records


def _rule_of(item: str):
    return item if item == L.SWAPPED else tuple(item.split(" & "))


@needs_sample
def test_sample_meets_the_precision_and_recall_bar(sample_truth, identified):
    from onetoone.workspace import Workspace

    rm, records = sample_truth
    assert rm["person"].notna().all(), "every sample record must have a true person"
    s = L.pairwise_scores(rm[C.CUSTOMER_ID], rm["person"])
    norm = N.normalise_records(records, as_of="2026-09-30")
    with Workspace(identified.workspace_path, read_only=True) as ws:
        model = ws.read("linkage_model")
    rules = [_rule_of(r) for r in model.loc[model["what"] == "blocking rule", "item"]]
    br = L.blocking_recall(norm, norm[C.RECORD_KEY].map(rm.set_index(C.RECORD_KEY)["person"]),
                           rules)
    est = model[(model["what"] == "blocking recall estimate")
                & (model["item"] == "estimated_blocking_recall")]["detail"].astype(float)
    print(f"\nsample: blocking recall estimated without truth {est.iloc[0]:.4f}")
    print(f"\nsample: pairwise precision {s['precision']:.4f}, recall {s['recall']:.4f}, "
          f"F1 {s['f1']:.4f}; blocking recall {br['blocking_recall']:.4f} of "
          f"{br['true_pairs']:,} true pairs; exact clusters {s['exact_clusters']:.4f}; "
          f"{s['predicted_entities']:,} customers for {s['true_entities']:,} people")
    assert s["precision"] >= 0.98 and s["recall"] >= 0.97
    # pairs no rule generates cannot be merged, except through a third record of the person
    assert br["blocking_recall"] >= s["recall"] - 0.01


@needs_sample
def test_records_without_identifier_stay_single_customers_and_are_counted(sample_truth,
                                                                          identified):
    rm, records = sample_truth
    assert len(rm) == len(records) and rm[C.RECORD_KEY].is_unique
    none = rm[~rm["has_identifier"]]
    assert len(none) > 0
    assert (none["cluster_size"] == 1).all() and none[C.CUSTOMER_ID].is_unique
    from onetoone.workspace import Workspace

    with Workspace(identified.workspace_path, read_only=True) as ws:
        cust = ws.read("customers")
    assert len(cust) == rm[C.CUSTOMER_ID].nunique()
    assert cust["n_records"].sum() == len(records)


@needs_sample
def test_an_override_survives_a_full_rerun_and_explains_itself(identified, tmp_path):
    from sample_support import private_copy

    from onetoone.identify import pipeline
    from onetoone.workspace import Workspace

    cfg = private_copy(identified, tmp_path)
    with Workspace(cfg.workspace_path) as ws:
        rm = ws.read("record_map")
        big = rm[rm["cluster_size"] >= 3].sort_values(C.RECORD_KEY)
        cid = big[C.CUSTOMER_ID].iloc[0]
        keys = sorted(big.loc[big[C.CUSTOMER_ID] == cid, C.RECORD_KEY])
        singles = rm[(rm["cluster_size"] == 1) & rm["has_identifier"]].sort_values(C.RECORD_KEY)
        s1, s2 = singles[C.RECORD_KEY].iloc[:2]
        O.add_override(ws, keys[0], keys[-1], "cannot_link", reason="test: different people")
        O.add_override(ws, s1, s2, "must_link", reason="test: same person")
        with pytest.raises(ValueError, match="not in the workspace"):
            O.add_override(ws, keys[0], "crm:NOPE", "must_link")
        summary = pipeline.run(cfg, ws, echo=False)
        after = ws.read("record_map").set_index(C.RECORD_KEY)[C.CUSTOMER_ID]
        assert after[keys[0]] != after[keys[-1]]
        assert after[s1] == after[s2]
        # customer ids are stable: every record outside the two touched customers keeps its id
        before = rm.set_index(C.RECORD_KEY)[C.CUSTOMER_ID]
        touched = set(keys) | {s1, s2}
        untouched = [k for k in before.index if k not in touched]
        assert (after[untouched] == before[untouched]).all()
        assert summary["cannot_links"] == 1 and summary["must_links"] == 1
        assert len(O.read_overrides(ws)) == 2
        info = O.explain(ws, keys[0])
        assert keys[0] in set(info["records"][C.RECORD_KEY])
        assert {"agree_first_name", "match_weight"} <= set(info["pairs"].columns)
        assert len(info["overrides"]) == 1
        # undoing the cannot-link merges them back
        O.add_override(ws, keys[0], keys[-1], "undo")
        pipeline.run(cfg, ws, echo=False)
        again = ws.read("record_map").set_index(C.RECORD_KEY)[C.CUSTOMER_ID]
        assert again[keys[0]] == again[keys[-1]]
        assert again[s1] == again[s2]


@needs_sample
def test_recognition_counts_anonymous_activity_as_unrecognised(identified):
    from onetoone.identify import recognition as R
    from onetoone.workspace import Workspace

    with Workspace(identified.workspace_path, read_only=True) as ws:
        r = R.recognition_rate(ws, "transactions")
        direct = ws.sql("SELECT count(*) AS n, count(m.record_key) AS k FROM transactions t "
                        "LEFT JOIN record_map m USING (record_key)")
        by = R.recognition_rate(ws, "transactions", C.CHANNEL)
        summary, missing = R.recognition_summary(ws)
    assert r["rows"].iloc[0] == direct["n"].iloc[0]
    assert r["recognised"].iloc[0] == direct["k"].iloc[0] < direct["n"].iloc[0]
    assert by["rows"].sum() == r["rows"].iloc[0]
    assert set(summary["table"]) == {"transactions", "interactions"} and not missing
    assert 0 < r["rate"].iloc[0] < 1


def test_pipeline_runs_without_activity_tables_and_says_what_is_missing(tmp_path, capsys):
    from onetoone.config import ClientConfig
    from onetoone.identify import pipeline
    from onetoone.workspace import Workspace

    cfg = ClientConfig.model_validate({"client": "Tiny", "as_of": "2026-06-30", "sources": []})
    rows = []
    for i in range(40):
        base = {C.FIRST_NAME: ["Ann", "Bob", "Cem", "Dee"][i % 4], C.LAST_NAME: f"Name{i}",
                C.EMAIL: f"p{i}@mail.com", C.PHONE: f"07700 9{i:05d}"}
        rows.append({**base, C.SOURCE_SYSTEM: "crm", C.RECORD_ID: str(i)})
        if i % 2 == 0:
            rows.append({**base, C.SOURCE_SYSTEM: "web", C.RECORD_ID: f"w{i}", C.EMAIL: None})
    rows.append({C.SOURCE_SYSTEM: "loyalty", C.RECORD_ID: "anon"})  # nothing to match on
    df = pd.DataFrame(rows)
    df[C.RECORD_KEY] = df[C.SOURCE_SYSTEM] + ":" + df[C.RECORD_ID]
    with Workspace(tmp_path / "tiny.duckdb") as ws:
        ws.write("customer_records", df)
        summary = pipeline.run(cfg, ws)
        assert summary["records"] == 61 and summary["records_without_identifier"] == 1
        assert summary["customers"] == 41
        assert ws.has("link_overrides") and ws.count("link_overrides") == 0
    out = capsys.readouterr().out
    assert "no transactions" in out and "no interactions" in out


@needs_sample
def test_lookup_finds_by_name_email_and_phone_and_figures_tell_the_story(identified):
    from onetoone.identify import profile, recognition
    from onetoone.ui import identify as U
    from onetoone.workspace import Workspace

    with Workspace(identified.workspace_path, read_only=True) as ws:
        cust = ws.read("customers")
        rm = ws.read("record_map")
        one = cust[(cust["n_records"] >= 3) & cust[C.EMAIL].notna() & cust[C.PHONE].notna()].iloc[0]
        by_email = O.find_customers(ws, "  " + one[C.EMAIL].upper())
        by_phone = O.find_customers(ws, "0" + one[C.PHONE][3:], region="GB")
        by_name = O.find_customers(ws, f"{one[C.FIRST_NAME]} {one[C.LAST_NAME]}", limit=500)
        assert by_email[C.CUSTOMER_ID].tolist() == [one[C.CUSTOMER_ID]]
        assert one[C.CUSTOMER_ID] in set(by_phone[C.CUSTOMER_ID])
        assert one[C.CUSTOMER_ID] in set(by_name[C.CUSTOMER_ID])
        lookup = U.CustomerLookup.snapshot(ws)
        rec, _ = recognition.recognition_summary(ws)
        weights, levels = ws.read("linkage_weights"), ws.read("linkage_levels")
    found = lookup.search(one[C.EMAIL])  # the snapshot works after the workspace is closed
    assert len(found) == 1 and one[C.CUSTOMER_ID] in lookup.detail.value
    assert "Why they were merged" in lookup.detail.value and "exact" in lookup.detail.value
    assert lookup.search("zzzz qqqq").empty and "No customer" in lookup.status.value
    fig = U.records_figure(rm)
    assert f"{rm[C.CUSTOMER_ID].nunique() / 1000:.1f}k customers" in fig.layout.title.text
    fig = U.match_weight_figure(weights, 0.95, (0.5, 0.95))
    assert fig.data[0].y.sum() == weights["pairs"].sum() and fig.layout.shapes
    assert U.cluster_size_figure(rm).data[0].y.sum() == rm[C.CUSTOMER_ID].nunique()
    assert len(U.recognition_figure(rec, C.CHANNEL).data) == 2
    comp = profile.completeness(cust, None)
    assert U.completeness_figure(comp).data[0].z.shape == (len(comp), 1)
    assert len(U.consent_figure(profile.addressable(cust)).data) == 3
    assert U.questions_figure(profile.questions_to_ask(cust)).layout.title.text.startswith("Ask")
    assert set(levels["field"]) >= set(O.FIELDS)
    # a search with more matches than the cap says how many it shows of how many
    many = lookup.search("smith")
    assert len(many) == U.CustomerLookup.LIMIT
    assert f"{len(many):,} of " in lookup.status.value and "shown" in lookup.status.value
    total = int(lookup.status.value.split(" of ")[1].split(" ")[0].replace(",", ""))
    assert total > len(many)
    # reusable: the same search by customer id, in any case
    by_id, n = O.search_customers(lookup.ws, one[C.CUSTOMER_ID].lower())
    assert n == 1 and by_id[C.CUSTOMER_ID].tolist() == [one[C.CUSTOMER_ID]]


# -- the model is built from what is there ---------------------------------------------------------
def _people(n: int = 60, seed: int = 7) -> pd.DataFrame:
    """Two records per person in two systems; the second with a typo in the given name,
    an upper-case surname and a phone in another format."""
    rng = np.random.default_rng(seed)
    first = ["Ann", "Bob", "Cem", "Dee", "Eva", "Finn", "Gus", "Hana", "Ivo", "Jan"]
    rows = []
    for i in range(n):
        f, la = first[i % 10], f"Surname{i // 2}"
        base = {C.FIRST_NAME: f, C.LAST_NAME: la, C.EMAIL: f"p{i}@mail.com",
                C.PHONE: f"07700 9{i:05d}", C.BIRTH_DATE: f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}",
                C.POSTCODE: f"LS{i % 9} {i % 7}AB", C.STREET: f"{i} High Street",
                C.CITY: ["Leeds", "York"][i % 2], C.NATIONAL_ID: f"AB{100000 + 37 * i}"}
        rows.append({**base, C.SOURCE_SYSTEM: "crm", C.RECORD_ID: f"c{i}", "person": i})
        rows.append({**base, C.SOURCE_SYSTEM: "web", C.RECORD_ID: f"w{i}", "person": i,
                     C.FIRST_NAME: f + "a", C.LAST_NAME: la.upper(),
                     C.PHONE: "+44 7700 9" + f"{i:05d}"})
    df = pd.DataFrame(rows)
    df[C.RECORD_KEY] = df[C.SOURCE_SYSTEM] + ":" + df[C.RECORD_ID]
    df = df.sample(frac=1.0, random_state=int(rng.integers(100))).reset_index(drop=True)
    return df


COLUMN_SETS = [ids for k in range(4) for ids in combinations((C.EMAIL, C.PHONE, C.NATIONAL_ID), k)]
"""Every combination of the strong identifiers (none, each alone, each pair, all three)."""


@pytest.mark.slow
@pytest.mark.parametrize("ids", COLUMN_SETS, ids=lambda t: "+".join(t) or "no-identifier")
@pytest.mark.parametrize("extra", [(C.BIRTH_DATE, C.POSTCODE, C.STREET, C.CITY), ()],
                         ids=["dob+address", "names-only"])
def test_identify_runs_on_every_combination_of_present_columns(ids, extra):
    from onetoone.identify import pipeline

    df = _people()
    keep = [C.RECORD_KEY, C.SOURCE_SYSTEM, C.RECORD_ID, C.FIRST_NAME, C.LAST_NAME, *ids, *extra]
    res = pipeline.identify_customers(df[keep], as_of="2026-09-30")
    assert res.linkage is not None
    levels = res.linkage.levels
    untrained = set(levels.loc[~levels["m_trained"], "field"])
    notes = " ".join(res.linkage.plan.notes)
    for f in untrained:  # every comparison is trained, or the plan says why not
        assert repr(f) in notes, (f, notes)
    assert {"first_name", "last_name"} <= set(levels["field"])
    assert not (set(levels["field"]) & {"email", "phone", "national_id"} - {c for c in ids})
    person = res.record_map[C.RECORD_KEY].map(df.set_index(C.RECORD_KEY)["person"])
    s = L.pairwise_scores(res.record_map[C.CUSTOMER_ID], person)
    assert s["precision"] >= 0.95, s
    if ids or extra:  # with only a name and a typo in it, a namesake is as likely
        assert s["recall"] >= 0.9, s


def test_a_training_session_that_cannot_train_is_skipped_and_leaves_the_model_whole():
    from onetoone.identify import pipeline

    df = _people()
    df[C.PHONE] = [f"0770090{i:04d}" for i in range(len(df))]  # every phone different
    res = pipeline.identify_customers(df, as_of="2026-09-30",
                                      training=[["phone"], ["loyalty_number"], ["birth_date"]])
    t = res.linkage.training.set_index("session")
    assert t.loc["phone_n", "status"].startswith("skipped") and t.loc["phone_n", "pairs"] == 0
    assert t.loc["birth_date_n", "status"] == "trained"
    assert any("loyalty_number_n" in n and "skipped" in n for n in res.linkage.plan.notes)
    assert "phone" in set(res.linkage.levels["field"])  # the comparison is still in the model
    assert "gamma_phone" in res.pairs.columns and res.pairs["guarded"].dtype == bool


def test_config_choices_with_one_message_per_mistake(tmp_path):
    from onetoone.config import ConfigError, load_config

    y = tmp_path / "c.yaml"
    y.write_text("client: X\nas_of: '2026-01-01'\nsources: []\nidentify:\n"
                 "  blocking_rules: [[first_name, surname], swaped, [email], []]\n"
                 "  comparisons: [email, adress]\n  training: [[birth_date], [dob]]\n")
    with pytest.raises(ConfigError) as e:
        load_config(y)
    probs = e.value.problems
    assert len(probs) == 5, probs
    assert probs[0].startswith("identify.blocking_rules[0]") and "surname" in probs[0]
    assert any(p.startswith("identify.blocking_rules[1]") and "swaped" in p for p in probs)
    assert any(p.startswith("identify.blocking_rules[3]") for p in probs)
    assert any(p.startswith("identify.comparisons[1]") and "adress" in p for p in probs)
    assert any(p.startswith("identify.training[1]") and "dob" in p for p in probs)
    y.write_text("client: X\nas_of: '2026-01-01'\nsources: []\nidentify:\n"
                 "  blocking_rules: [[last_name, birth_date], swapped_names, email]\n")
    assert load_config(y).identify.blocking_rules == [["last_name", "birth_date"],
                                                       "swapped_names", ["email"]]


def test_rules_from_the_config_are_used_and_a_too_loose_one_is_refused_with_advice():
    from onetoone.identify import pipeline

    df = _people()
    res = pipeline.identify_customers(df, as_of="2026-09-30",
                                      blocking_rules=[["email"], ["last_name", "birth_date"]],
                                      comparisons=["first_name", "last_name", "email"])
    assert res.linkage.plan.blocking == [("email_n",), ("last_name_n", "birth_date_n")]
    assert set(res.linkage.levels["field"]) == {"first_name", "last_name", "email"}
    assert {"new_comparisons", "cumulative_comparisons"} <= set(res.linkage.blocking.columns)
    with pytest.raises(L.BlockingRuleTooLoose, match=r"city_n.*Add a column"):
        pipeline.identify_customers(df, as_of="2026-09-30", blocking_rules=[["city"]],
                                    max_comparisons=500)


def test_a_unique_source_never_holds_one_customer_twice_unless_must_linked():
    from onetoone.identify import pipeline

    df = _people()
    twin = df[df[C.SOURCE_SYSTEM] == "crm"].iloc[:3].copy()  # entered twice in the unique CRM
    twin[C.RECORD_ID] = twin[C.RECORD_ID] + "-again"
    twin[C.RECORD_KEY] = "crm:" + twin[C.RECORD_ID]
    both = pd.concat([df, twin], ignore_index=True)
    free = pipeline.identify_customers(both, as_of="2026-09-30")
    cid = free.record_map.set_index(C.RECORD_KEY)[C.CUSTOMER_ID]
    k0, k1 = twin[C.RECORD_KEY].iloc[0].removesuffix("-again"), twin[C.RECORD_KEY].iloc[0]
    assert cid[k0] == cid[k1]  # without the declaration they look like one person
    uniq = pipeline.identify_customers(both, as_of="2026-09-30", unique_sources=["crm"])
    rm = uniq.record_map
    crm = rm[rm[C.SOURCE_SYSTEM] == "crm"]
    assert not crm[C.CUSTOMER_ID].duplicated().any()
    assert uniq.cluster_stats["unique_source_splits"] >= 3
    # the web record still joins one of them
    w = rm.set_index(C.RECORD_KEY)[C.CUSTOMER_ID]
    web = "web:" + k0.split(":")[1].replace("c", "w")
    assert w[web] in (w[k0], w[k1])
    must = pd.DataFrame({"record_key_l": [k0], "record_key_r": [k1]})
    forced = pipeline.identify_customers(both, as_of="2026-09-30", unique_sources=["crm"],
                                         must_link=must)
    f = forced.record_map.set_index(C.RECORD_KEY)[C.CUSTOMER_ID]
    assert f[k0] == f[k1]


def test_blocking_recall_is_estimated_without_ground_truth():
    from onetoone.identify import pipeline

    df = _people(n=80)
    res = pipeline.identify_customers(df, as_of="2026-09-30")
    est = res.linkage.recall_estimate
    assert 0 < est["probe_share"] <= 1 and est["pairs_found_by_rules"] > 0
    assert 0.9 <= est["estimated_blocking_recall"] <= 1.0
    # a rule set that finds only the exact-name pairs misses the typo'd given names
    narrow = pipeline.identify_customers(df, as_of="2026-09-30",
                                         rules=[("first_name_n", "last_name_n")])
    assert narrow.linkage.recall_estimate["estimated_blocking_recall"] < 0.5


def test_records_without_a_usable_name_or_identifier_stay_single_and_are_counted():
    from onetoone.identify import pipeline

    df = _people(n=20)
    lone = pd.DataFrame({C.RECORD_KEY: ["loy:1", "loy:2", "cc:1"],
                         C.SOURCE_SYSTEM: ["loyalty", "loyalty", "callcentre"],
                         C.RECORD_ID: ["1", "2", "1"], C.FIRST_NAME: [None, None, "Ann"],
                         C.CITY: ["Leeds", "Leeds", None]})
    res = pipeline.identify_customers(pd.concat([df, lone], ignore_index=True),
                                      as_of="2026-09-30")
    rm = res.record_map.set_index(C.RECORD_KEY)
    assert (~rm["has_identifier"]).sum() == 3
    assert rm.loc[["loy:1", "loy:2", "cc:1"], C.CUSTOMER_ID].nunique() == 3


# -- FEBRL: labelled data nobody here generated (tests/data/febrl/README.md) ----------------------


def febrl_scores(yaml_name: str, tmp_path) -> dict:
    """Ingest a FEBRL YAML and run Identify with default settings, as `onetoone ingest` and
    `onetoone run identify` do; pairwise scores against rec-N = person N."""
    from pathlib import Path

    from onetoone.cli import run_stage
    from onetoone.config import load_config
    from onetoone.ingest import ingest
    from onetoone.workspace import Workspace

    cfg = load_config(Path(__file__).parent / "data" / "febrl" / yaml_name)
    cfg.workspace = str(tmp_path / "febrl.duckdb")
    with Workspace(cfg.workspace_path) as ws:
        ingest(cfg, ws, echo=False)
        summary = run_stage("identify", cfg, ws, echo=False)
        rm = ws.read("record_map")
    person = rm[C.RECORD_ID].str.extract(r"rec-(\d+)-")[0]
    assert person.notna().all()
    return {**L.pairwise_scores(rm[C.CUSTOMER_ID], person), "summary": summary}


@pytest.mark.slow
@pytest.mark.parametrize("yaml_name, f1", [("febrl1.yaml", 0.995), ("febrl2.yaml", 0.995),
                                           ("febrl1_no_id.yaml", 0.99),
                                           ("febrl2_no_id.yaml", 0.99)])
def test_febrl_through_ingest_and_identify_with_default_settings(yaml_name, f1, tmp_path):
    s = febrl_scores(yaml_name, tmp_path)
    print(f"\n{yaml_name}: precision {s['precision']:.4f} recall {s['recall']:.4f} "
          f"F1 {s['f1']:.4f} ({s['true_pairs']:,} true pairs); blocking recall estimated "
          f"{s['summary'].get('estimated_blocking_recall', float('nan')):.4f}")
    assert s["precision"] >= 0.995 and s["f1"] >= f1, s
    assert s["summary"]["untrained_comparisons"] == []


def test_the_generated_settings_pass_splinks_validation(caplog):
    """link_records builds its linkers without splink's settings validation (it re-parses
    every column reference of every level, twice per linker): the settings it generates are
    validated here instead, with every comparison and rule on a table holding every column."""
    import logging

    import duckdb
    from splink import DuckDBAPI, Linker

    cols = {c: ["a", "b"] for c in (C.RECORD_KEY, C.SOURCE_SYSTEM, *L.LINK_COLUMNS, "probe_u")}
    df = pd.DataFrame(cols)
    df["birth_date_n"] = pd.to_datetime(["1980-01-02", "1981-02-03"])
    df["probe_u"] = [0.1, 0.9]
    con = duckdb.connect()
    con.register("v", df)
    con.execute("CREATE TABLE records AS SELECT * FROM v")
    probe = "l.last_name_n = r.last_name_n AND l.probe_u < 0.5"
    settings = L.build_settings([*L.DEFAULT_BLOCKING_RULES, probe], extra_columns=["probe_u"])
    with caplog.at_level(logging.WARNING, logger="splink"):
        Linker(DuckDBAPI(con).register("records"), settings, log_level=None,
               validate_settings=True)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
