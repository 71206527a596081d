"""Probabilistic record linkage with splink (DuckDB backend) and clustering into customers.

The model is Fellegi-Sunter as splink implements it: each candidate pair of records gets, per
field, a comparison level (exact, close, different, missing); each level carries m (how often
true matches land there) and u (how often random pairs do). u comes from random sampling, m
from expectation maximisation, and the sum of log2(m/u) over the fields is the pair's match
weight. Only pairs that share a blocking key are scored; :func:`count_comparisons` counts what
each blocking rule would generate *before* anything runs, and :func:`check_blocking` refuses a
rule that would explode, with advice.

Clustering (:func:`cluster_records`) joins records whose pairs pass the threshold, adds the
must-link decisions, drops cannot-link edges and splits any cluster that would still hold a
cannot-link pair through transitive links (greedy, strongest edges first). Customer ids are
derived from the smallest record key in a cluster (:func:`customer_ids`), so they do not move
when unrelated records change.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from .. import columns as C

BlockingRule = tuple[str, ...]
"""A blocking rule: records are compared when all these normalised columns are equal."""

DEFAULT_BLOCKING_RULES: tuple[BlockingRule, ...] = (
    ("email_n",),
    ("phone_n",),
    ("last_name_n", "birth_date_n"),
    ("first_name_n", "birth_date_n"),
    ("postcode_n", "last_name_n"),
    ("postcode_n", "first_name_n"),
)
"""Candidate pairs: same email, same phone, same surname or given name with the same birth
date, same postcode with the same surname or given name."""

EM_RULES: tuple[BlockingRule, ...] = (
    ("phone_n",),
    ("last_name_n", "birth_date_n"),
    ("postcode_n", "first_name_n"),
)
"""Training sessions for m (expectation maximisation). Not on email: couples who share an
address book email would be learnt as matches and weaken a different given name."""

COMPARISON_COLUMNS: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name_n", "last_name_n"),
    "last_name": ("last_name_n", "first_name_n"),
    "email": ("email_n",),
    "phone": ("phone_n",),
    "birth_date": ("birth_date_n",),
    "address": ("postcode_n", "street_n", "city_n"),
}
"""Comparison (a field of the explanation) -> the normalised columns it reads."""

LINK_COLUMNS = ("first_name_n", "last_name_n", "email_n", "phone_n", "birth_date_n",
                "postcode_n", "street_n", "city_n")


class BlockingRuleTooLoose(ValueError):
    """A blocking rule would generate more comparisons than the config allows."""


# -- blocking ---------------------------------------------------------------------------------
def _rule_name(rule: BlockingRule) -> str:
    return " & ".join(rule)


def count_comparisons(con: duckdb.DuckDBPyConnection, table: str,
                      rules: Sequence[BlockingRule] = DEFAULT_BLOCKING_RULES) -> pd.DataFrame:
    """Count the pairs each blocking rule would generate, without generating them.

    For a rule on columns (a, b) the count is the sum over distinct non-null (a, b) values of
    n (n - 1) / 2, computed with one GROUP BY in DuckDB. Pairs found by several rules are
    counted once per rule, so the total is an upper bound of what will be scored.

    Returns
    -------
    pandas.DataFrame
        One row per rule: rule, comparisons, largest_block (the key values of the biggest
        block), largest_block_records, largest_block_comparisons.
    """
    rows = []
    for rule in rules:
        cols = ", ".join(f'"{c}"' for c in rule)
        notnull = " AND ".join(f'"{c}" IS NOT NULL' for c in rule)
        key = " || ' | ' || ".join(f'CAST("{c}" AS VARCHAR)' for c in rule)
        q = (f"WITH g AS (SELECT {key} AS k, COUNT(*)::HUGEINT AS n FROM \"{table}\" "
             f"WHERE {notnull} GROUP BY {cols}) "
             "SELECT COALESCE(SUM(n * (n - 1) / 2), 0)::BIGINT, arg_max(k, n), COALESCE(MAX(n), 0) "
             "FROM g")
        total, kmax, nmax = con.execute(q).fetchall()[0]
        nmax = int(nmax)
        rows.append({"rule": _rule_name(rule), "comparisons": int(total), "largest_block": kmax,
                     "largest_block_records": nmax,
                     "largest_block_comparisons": nmax * (nmax - 1) // 2})
    return pd.DataFrame(rows)


def check_blocking(counts: pd.DataFrame, max_comparisons: int) -> None:
    """Raise :class:`BlockingRuleTooLoose` when a rule, or all of them, exceed the limit."""
    bad = counts[counts["comparisons"] > max_comparisons]
    total = int(counts["comparisons"].sum())
    if len(bad):
        r = bad.iloc[0]
        raise BlockingRuleTooLoose(
            f"blocking rule {r['rule']!r} would make {int(r['comparisons']):,} comparisons; "
            f"the limit (identify.max_comparisons) is {max_comparisons:,}. Its largest block is "
            f"{r['largest_block']!r} with {int(r['largest_block_records']):,} records "
            f"({int(r['largest_block_comparisons']):,} pairs). Add a column to the rule (e.g. "
            "birth date or postcode) so blocks stay small, clean placeholder values such as "
            "a shared default email or phone, or raise identify.max_comparisons in the config.")
    if total > max_comparisons:
        raise BlockingRuleTooLoose(
            f"the blocking rules together would make up to {total:,} comparisons; the limit "
            f"(identify.max_comparisons) is {max_comparisons:,}. Per rule: "
            + "; ".join(f"{a}: {b:,}" for a, b in zip(counts["rule"], counts["comparisons"]))
            + ". Drop or tighten the largest rule, or raise identify.max_comparisons.")


def blocking_recall(norm: pd.DataFrame, truth: pd.Series,
                    rules: Sequence[BlockingRule] = DEFAULT_BLOCKING_RULES) -> dict:
    """Share of true pairs (same ``truth`` label) that at least one blocking rule generates.

    Pairs a rule misses are never scored, whatever the model; this is the ceiling of recall.
    ``truth`` is aligned with ``norm`` (one label per record, null = unknown).
    """
    df = norm.assign(__t=truth.to_numpy(), __i=np.arange(len(norm)))
    df = df[df["__t"].notna()]
    con = duckdb.connect()
    con.register("r", df)
    pairs = con.execute('SELECT a.__i AS i, b.__i AS j FROM r a JOIN r b ON a.__t = b.__t '
                        'AND a.__i < b.__i').fetch_df()
    n_true = len(pairs)
    if n_true == 0:
        return {"true_pairs": 0, "blocked_true_pairs": 0, "blocking_recall": float("nan")}
    hit = np.zeros(n_true, bool)
    for rule in rules:
        ok = np.ones(n_true, bool)
        for c in rule:
            v = df.set_index("__i")[c]
            a, b = v.reindex(pairs["i"]).to_numpy(), v.reindex(pairs["j"]).to_numpy()
            ok &= pd.notna(a) & pd.notna(b) & (a == b)
        hit |= ok
    con.close()
    return {"true_pairs": int(n_true), "blocked_true_pairs": int(hit.sum()),
            "blocking_recall": float(hit.mean())}


# -- the splink model ---------------------------------------------------------------------------
def _comparisons() -> list:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    def name(col: str, other: str, label: str):
        return cl.CustomComparison(
            output_column_name=label,
            comparison_description=f"{label}: Jaro-Winkler with term-frequency adjustment",
            comparison_levels=[
                cll.NullLevel(col),
                cll.ExactMatchLevel(col).configure(tf_adjustment_column=col,
                                                   label_for_charts="exact"),
                cll.CustomLevel(
                    f"jaro_winkler_similarity({col}_l, {other}_r) >= 0.9 AND "
                    f"jaro_winkler_similarity({other}_l, {col}_r) >= 0.9",
                    label_for_charts="first and last name swapped"),
                cll.JaroWinklerLevel(col, 0.92).configure(label_for_charts="Jaro-Winkler >= 0.92"),
                cll.JaroWinklerLevel(col, 0.80).configure(label_for_charts="Jaro-Winkler >= 0.80"),
                cll.DamerauLevenshteinLevel(col, 2).configure(label_for_charts="two edits"),
                cll.ElseLevel().configure(label_for_charts="different"),
            ])

    def exact(col: str, label: str):
        return cl.CustomComparison(
            output_column_name=label, comparison_description=f"{label}: exact",
            comparison_levels=[cll.NullLevel(col),
                               cll.ExactMatchLevel(col).configure(
                                   tf_adjustment_column=col, label_for_charts="exact"),
                               cll.ElseLevel().configure(label_for_charts="different")])

    dob = cl.CustomComparison(
        output_column_name="birth_date", comparison_description="birth date with tolerance",
        comparison_levels=[
            cll.NullLevel("birth_date_n"),
            cll.ExactMatchLevel("birth_date_n").configure(
                tf_adjustment_column="birth_date_n", label_for_charts="exact"),
            cll.CustomLevel(
                "(month(birth_date_n_l) = day(birth_date_n_r) AND day(birth_date_n_l) = "
                "month(birth_date_n_r) AND year(birth_date_n_l) = year(birth_date_n_r))",
                label_for_charts="day and month swapped"),
            cll.AbsoluteDateDifferenceLevel("birth_date_n", threshold=31, metric="day",
                                            input_is_string=False).configure(
                label_for_charts="within a month"),
            cll.AbsoluteDateDifferenceLevel("birth_date_n", threshold=1, metric="year",
                                            input_is_string=False).configure(
                label_for_charts="within a year"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ])
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_description="postcode and street together (one piece of evidence)",
        comparison_levels=[
            cll.NullLevel("postcode_n"),
            cll.And(cll.ExactMatchLevel("postcode_n"),
                    cll.JaroWinklerLevel("street_n", 0.9)).configure(
                label_for_charts="same postcode and street"),
            cll.ExactMatchLevel("postcode_n").configure(
                tf_adjustment_column="postcode_n", label_for_charts="same postcode"),
            cll.LevenshteinLevel("postcode_n", 1).configure(label_for_charts="postcode one edit"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ])
    return [name("first_name_n", "last_name_n", "first_name"),
            name("last_name_n", "first_name_n", "last_name"),
            exact("email_n", "email"), exact("phone_n", "phone"), dob, address]


def build_settings(rules: Sequence[BlockingRule] = DEFAULT_BLOCKING_RULES):
    """The splink settings: comparisons on the normalised columns and the blocking rules."""
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name=C.RECORD_KEY,
        comparisons=_comparisons(),
        blocking_rules_to_generate_predictions=[block_on(*r) for r in rules],
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=[C.SOURCE_SYSTEM],
        max_iterations=25,
        em_convergence=0.001,
    )


@dataclass
class LinkageResult:
    """What :func:`link_records` found.

    Attributes
    ----------
    pairs
        Scored candidate pairs with match_probability >= the keep threshold: record_key_l,
        record_key_r, source_system_l/_r, match_weight, match_probability, match_key (the
        blocking rule that found the pair), per field ``gamma_<field>`` (the comparison level)
        and ``weight_<field>`` (its match weight, log2 Bayes factor with the term-frequency
        adjustment), and the compared values ``<col>_l/_r``.
    weight_histogram
        Match weights of every scored pair in bins of 1: bin_start, pairs.
    blocking
        :func:`count_comparisons` of the rules.
    levels
        Per field and level: field, gamma, label, m, u, weight (the fitted model).
    scored_pairs
        How many pairs the blocking rules generated and the model scored.
    lambda_
        The fitted prior: probability that two random records match.
    seconds
        Time spent per step.
    """

    pairs: pd.DataFrame
    weight_histogram: pd.DataFrame
    blocking: pd.DataFrame
    levels: pd.DataFrame
    scored_pairs: int
    lambda_: float
    seconds: dict = field(default_factory=dict)


def link_records(norm: pd.DataFrame, *, rules: Sequence[BlockingRule] = DEFAULT_BLOCKING_RULES,
                 max_comparisons: int = 50_000_000, keep_probability: float = 0.5,
                 u_max_pairs: float | None = None, seed: int = 1994,
                 em_rules: Sequence[BlockingRule] = EM_RULES, m_floor: float = 1e-4, threads: int | None = None,
                 record_key: str = C.RECORD_KEY,
                 source_system: str = C.SOURCE_SYSTEM) -> LinkageResult:
    """Score candidate pairs of records with a splink model trained on the records themselves.

    Parameters
    ----------
    norm
        Normalised records (:func:`onetoone.identify.normalise.normalise_records`), one row per
        source record with ``record_key`` unique. Records without any identifier should be
        left out by the caller (they cannot match and only cost comparisons).
    rules
        Blocking rules (tuples of normalised columns).
    max_comparisons
        Refuse to run when a rule (or all together) would generate more pairs than this.
    keep_probability
        Pairs below this match probability are counted in the histogram but not returned.
    u_max_pairs
        Random pairs sampled to estimate u; default 20 per record, between 500,000 and
        2,000,000 (exact levels are term-frequency adjusted, so their u does not rest on it).
    seed
        Seed of the u sampling (results are reproducible).
    em_rules
        Blocking rules of the expectation-maximisation sessions that estimate m.
    m_floor
        Smallest m a level may keep: EM can drive a level that true matches rarely reach to
        1e-30 (a weight of -100), letting one typo veto everything else; data entry errors
        exist, so no single disagreement may weigh less than log2(m_floor / u).

    Raises
    ------
    BlockingRuleTooLoose
        When the blocking rules would explode; nothing is scored.
    """
    from splink import DuckDBAPI, Linker, block_on

    t0 = time.perf_counter()
    secs: dict[str, float] = {}
    cols = [record_key, source_system, *LINK_COLUMNS]
    missing = [c for c in cols if c not in norm.columns]
    if missing:
        raise KeyError(f"link_records expected normalised records with columns {cols}; "
                       f"missing {missing} (run normalise_records first)")
    df = norm[cols].copy()
    if record_key != C.RECORD_KEY or source_system != C.SOURCE_SYSTEM:
        df = df.rename(columns={record_key: C.RECORD_KEY, source_system: C.SOURCE_SYSTEM})
    if df[C.RECORD_KEY].duplicated().any():
        dup = df.loc[df[C.RECORD_KEY].duplicated(), C.RECORD_KEY].iloc[0]
        raise ValueError(f"record keys must be unique; {dup!r} appears more than once")
    df["birth_date_n"] = pd.to_datetime(df["birth_date_n"]).astype("datetime64[s]")
    for c in LINK_COLUMNS:
        if c != "birth_date_n":
            df[c] = df[c].astype(object).where(df[c].notna(), None)

    con = duckdb.connect(config={"threads": threads or 2})
    con.register("__records_df", df)
    typed = ", ".join(f'CAST("{c}" AS {"TIMESTAMP" if c == "birth_date_n" else "VARCHAR"}) '
                      f'AS "{c}"' for c in df.columns)  # an all-empty column is not INTEGER
    con.execute(f"CREATE TABLE records AS SELECT {typed} FROM __records_df")
    con.unregister("__records_df")
    counts = count_comparisons(con, "records", rules)
    check_blocking(counts, max_comparisons)
    secs["count"] = time.perf_counter() - t0

    logging.getLogger("splink").setLevel(logging.ERROR)
    db_api = DuckDBAPI(con)
    sdf = db_api.register("records")
    linker = Linker(sdf, build_settings(rules), log_level=None)
    t = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email_n", "first_name_n"), block_on("phone_n", "first_name_n")], recall=0.7)
    if u_max_pairs is None:
        u_max_pairs = float(min(2e6, max(5e5, 20 * len(df))))
    linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed,
                                                      num_chunks=1)
    secs["u"] = time.perf_counter() - t
    t = time.perf_counter()
    for rule in em_rules:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*rule), estimate_without_term_frequencies=True)
        except Exception as exc:  # noqa: BLE001  (a session with too few pairs: keep going)
            logging.getLogger(__name__).warning("EM session on %s skipped: %s", _rule_name(rule), exc)
    _floor_m(linker, m_floor)
    secs["em"] = time.perf_counter() - t
    t = time.perf_counter()
    pred = linker.inference.predict()
    pname = pred.physical_name
    hist = con.execute(f"SELECT floor(match_weight) AS bin_start, COUNT(*) AS pairs FROM {pname} "
                       "GROUP BY 1 ORDER BY 1").fetch_df()
    scored = int(hist["pairs"].sum()) if len(hist) else 0
    pairs = con.execute(f"SELECT * FROM {pname} WHERE match_probability >= ?",
                        [keep_probability]).fetch_df()
    secs["predict"] = time.perf_counter() - t
    levels = _levels(linker)
    lam = float(linker._settings_obj._probability_two_random_records_match)
    con.close()
    pairs = _tidy_pairs(pairs)
    secs["total"] = time.perf_counter() - t0
    return LinkageResult(pairs=pairs, weight_histogram=hist, blocking=counts, levels=levels,
                         scored_pairs=scored, lambda_=lam, seconds=secs)


def _floor_m(linker, m_floor: float) -> None:
    for comp in linker._settings_obj.comparisons:
        for lvl in comp.comparison_levels:
            if lvl.is_null_level:
                continue
            m = lvl.m_probability
            if m is not None and m < m_floor:
                lvl.m_probability = m_floor


def _levels(linker) -> pd.DataFrame:
    rows = []
    for comp in linker._settings_obj.comparisons:
        for lvl in comp.comparison_levels:
            if lvl.is_null_level:
                continue
            m, u = lvl.m_probability, lvl.u_probability
            rows.append({"field": comp.output_column_name, "gamma": lvl.comparison_vector_value,
                         "label": lvl.label_for_charts, "m": m, "u": u,
                         "weight": float(np.log2(m / u)) if m and u else np.nan})
    return pd.DataFrame(rows)


def _tidy_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    ren = {f"{C.RECORD_KEY}_l": "record_key_l", f"{C.RECORD_KEY}_r": "record_key_r"}
    pairs = pairs.rename(columns=ren)
    for f in COMPARISON_COLUMNS:
        mw = pairs.get(f"mw_{f}")
        if mw is None:
            continue
        w = mw.astype(float)
        tf = pairs.get(f"mw_tf_adj_{f}")
        if tf is not None:
            w = w + tf.astype(float).fillna(0.0)
        pairs[f"weight_{f}"] = w
    drop = [c for c in pairs.columns if c.startswith(("bf_", "tf_", "mw_"))]
    return pairs.drop(columns=drop)


# -- clustering --------------------------------------------------------------------------------
def _union_find_components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    g = coo_matrix((np.ones(len(i), np.int8), (i, j)), shape=(n, n))
    _, labels = connected_components(g, directed=False)
    return labels


def _split_constrained(nodes: np.ndarray, edges: pd.DataFrame, cannot: set[tuple[int, int]],
                       labels: np.ndarray) -> list[tuple[int, int]]:
    """Greedy re-clustering of one component: strongest edges first, never joining a
    cannot-link pair. Writes new labels into ``labels``; returns the edges it refused."""
    parent = {int(v): int(v) for v in nodes}
    members = {int(v): {int(v)} for v in nodes}
    banned: dict[int, set[int]] = {int(v): set() for v in nodes}
    for a, b in cannot:
        banned[a].add(b)
        banned[b].add(a)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    refused = []
    for a, b in zip(edges["i"].to_numpy(), edges["j"].to_numpy()):
        ra, rb = find(int(a)), find(int(b))
        if ra == rb:
            continue
        if members[rb] & banned[ra]:
            refused.append((int(a), int(b)))
            continue
        if len(members[ra]) < len(members[rb]):
            ra, rb = rb, ra
        parent[rb] = ra
        members[ra] |= members.pop(rb)
        banned[ra] |= banned.pop(rb)
    base = int(labels.max()) + 1
    roots = {}
    for v in nodes:
        r = find(int(v))
        roots.setdefault(r, base + len(roots))
        labels[int(v)] = roots[r]
    return refused


def cluster_records(record_keys: Sequence[str], pairs: pd.DataFrame, threshold: float,
                    must_link: pd.DataFrame | None = None,
                    cannot_link: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    """Group records into customers: connected components of the pairs at ``threshold``,
    with must-link edges added and cannot-link pairs kept apart.

    Parameters
    ----------
    record_keys
        Every record to place (records in no pair become single customers).
    pairs
        record_key_l, record_key_r, match_probability.
    threshold
        Pairs with match_probability >= threshold join their records.
    must_link, cannot_link
        Frames with record_key_l, record_key_r: decisions from clerical review. A must-link
        joins the two records' clusters; a cannot-link removes the edge between them and
        splits any cluster that would still hold both (strongest edges kept first).

    Returns
    -------
    (pandas.DataFrame, dict)
        Per record: record_key, cluster (smallest record key of its cluster), cluster_size,
        match_probability (the strongest edge inside the cluster touching any record, i.e.
        the cluster's max pairwise probability; null for a single record). The dict counts
        edges, must-links applied, cannot-links enforced, clusters split, refused edges.
    """
    keys = pd.Index(pd.unique(pd.Series(record_keys, dtype=object)))
    n = len(keys)
    e = pairs.loc[pairs[C.MATCH_PROBABILITY] >= threshold,
                  ["record_key_l", "record_key_r", C.MATCH_PROBABILITY]].copy()
    stats = {"edges_at_threshold": len(e), "must_links": 0, "cannot_links": 0,
             "clusters_split": 0, "edges_refused": 0}
    if must_link is not None and len(must_link):
        ml = must_link[["record_key_l", "record_key_r"]].assign(match_probability=np.inf)
        ml = ml[ml["record_key_l"].isin(keys) & ml["record_key_r"].isin(keys)]
        stats["must_links"] = len(ml)
        e = pd.concat([e, ml], ignore_index=True)
    e["i"] = keys.get_indexer(e["record_key_l"])
    e["j"] = keys.get_indexer(e["record_key_r"])
    e = e[(e["i"] >= 0) & (e["j"] >= 0)]
    cannot: list[tuple[int, int]] = []
    if cannot_link is not None and len(cannot_link):
        ci = keys.get_indexer(cannot_link["record_key_l"])
        cj = keys.get_indexer(cannot_link["record_key_r"])
        ok = (ci >= 0) & (cj >= 0)
        cannot = [(int(min(a, b)), int(max(a, b))) for a, b in zip(ci[ok], cj[ok]) if a != b]
        stats["cannot_links"] = len(cannot)
        if cannot:
            lo, hi = np.minimum(e["i"], e["j"]), np.maximum(e["i"], e["j"])
            cset = set(cannot)
            direct = np.array([(a, b) in cset for a, b in zip(lo, hi)], dtype=bool)
            e = e[~direct]
    labels = _union_find_components(n, e["i"].to_numpy(), e["j"].to_numpy())
    if cannot:
        bad_components = {labels[a] for a, b in cannot if labels[a] == labels[b]}
        for comp in sorted(bad_components):
            nodes = np.flatnonzero(labels == comp)
            inside = e[np.isin(e["i"], nodes)].sort_values(
                [C.MATCH_PROBABILITY, "i", "j"], ascending=[False, True, True])
            cset = [(a, b) for a, b in cannot if labels[a] == comp and labels[b] == comp]
            refused = _split_constrained(nodes, inside, set(cset), labels)
            stats["clusters_split"] += 1
            stats["edges_refused"] += len(refused)
    out = pd.DataFrame({C.RECORD_KEY: keys.to_numpy(), "__label": labels})
    out["cluster"] = out.groupby("__label")[C.RECORD_KEY].transform("min")
    out["cluster_size"] = out.groupby("__label")[C.RECORD_KEY].transform("size").astype("int64")
    # the cluster's strongest pairwise probability (edges kept inside a final cluster)
    e = e.assign(li=labels[e["i"].to_numpy()], lj=labels[e["j"].to_numpy()])
    inside = e[e["li"] == e["lj"]]
    prob = inside.assign(p=inside[C.MATCH_PROBABILITY].clip(upper=1.0)).groupby("li")["p"].max()
    out[C.MATCH_PROBABILITY] = out["__label"].map(prob).astype("float64")
    out.loc[out["cluster_size"] == 1, C.MATCH_PROBABILITY] = np.nan
    return out.drop(columns="__label"), stats


def customer_ids(cluster_keys: pd.Series, prefix: str = "C") -> pd.Series:
    """Stable customer ids: ``C`` + 10 hex digits of a hash of the cluster's smallest record
    key. The same cluster gets the same id on every run, on any machine; collisions (about one
    in 10^12 per pair) get a numbered suffix, deterministically."""
    uniq = pd.Series(pd.unique(cluster_keys.astype(str)))
    ids = uniq.map(lambda k: prefix + hashlib.sha1(k.encode("utf-8")).hexdigest()[:10].upper())
    if ids.duplicated().any():
        order = uniq.sort_values().index
        seen: dict[str, int] = {}
        for ix in order:
            v = ids[ix]
            if v in seen:
                seen[v] += 1
                ids[ix] = f"{v}-{seen[v]}"
            else:
                seen[v] = 0
    mapping = dict(zip(uniq, ids))
    return cluster_keys.astype(str).map(mapping)


# -- evaluation against a ground truth -------------------------------------------------------
def pairwise_scores(predicted: pd.Series, truth: pd.Series) -> dict:
    """Pairwise precision, recall and F1 of a clustering against true labels.

    A pair of records is a predicted match when both carry the same ``predicted`` label and a
    true match when they carry the same ``truth`` label; counts come from the contingency
    table (no pair is enumerated). Also returns cluster-level figures: the share of true
    entities whose records form exactly one predicted cluster (``exact_clusters``), and the
    number of predicted and true entities.
    """
    df = pd.DataFrame({"p": predicted.to_numpy(), "t": truth.to_numpy()}).dropna()

    def pairs(counts: pd.Series) -> int:
        c = counts.to_numpy(dtype=np.int64)
        return int((c * (c - 1) // 2).sum())

    pp = pairs(df.groupby("p").size())
    tp_all = pairs(df.groupby("t").size())
    both = pairs(df.groupby(["p", "t"]).size())
    precision = both / pp if pp else 1.0
    recall = both / tp_all if tp_all else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    # exact clusters: a true entity whose records are all in one predicted cluster and that
    # predicted cluster holds nobody else
    t_np = df.groupby("t")["p"].nunique()
    p_nt = df.groupby("p")["t"].nunique()
    first_p = df.groupby("t")["p"].first()
    exact = (t_np == 1) & first_p.map(p_nt).eq(1)
    return {"precision": precision, "recall": recall, "f1": f1, "predicted_pairs": pp,
            "true_pairs": tp_all, "correct_pairs": both,
            "exact_clusters": float(exact.mean()) if len(exact) else float("nan"),
            "predicted_entities": int(df["p"].nunique()), "true_entities": int(df["t"].nunique())}


# -- the household guard -----------------------------------------------------------------------
GIVEN_NAME_DIFFERENT = 0
PHONE_EXACT = 1
BIRTH_DATE_AGREES = (3, 4)  # day and month swapped, exact


def household_guard(pairs: pd.DataFrame) -> pd.Series:
    """Pairs that must not merge automatically: the given names differ and neither the phone
    nor the birth date agrees.

    Members of one household share a surname, an address and often an email; each of these
    counts as independent evidence in the model, so a couple can score like one person. A
    different given name with nothing personal in common sends the pair to clerical review
    instead of merging it (a must-link still merges it).
    """
    if len(pairs) == 0 or "gamma_first_name" not in pairs.columns:
        return pd.Series(False, index=pairs.index)
    return ((pairs["gamma_first_name"] == GIVEN_NAME_DIFFERENT)
            & (pairs["gamma_phone"] != PHONE_EXACT)
            & ~pairs["gamma_birth_date"].isin(BIRTH_DATE_AGREES))
