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

import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from .. import columns as C

BlockingRule = tuple[str, ...] | str
"""A blocking rule: records are compared when all these normalised columns are equal, or
:data:`SWAPPED` (given name of one = family name of the other, and the other way round)."""

SWAPPED = "swapped_names"
_SWAPPED_SQL = "l.first_name_n = r.last_name_n AND l.last_name_n = r.first_name_n"

IDENTIFIER_COLUMNS = ("national_id_n", "account_number_n", "loyalty_number_n", "card_number_n")

CANDIDATE_BLOCKING_RULES: tuple[BlockingRule, ...] = (
    *((c,) for c in IDENTIFIER_COLUMNS),
    ("email_n",),
    ("phone_n",),
    ("first_name_n", "last_name_n", "region_n"),
    SWAPPED,
    ("last_name_n", "birth_date_n"),
    ("first_name_n", "birth_date_n"),
    ("birth_date_n", "name_key_n"),
    ("postcode_n", "last_name_n"),
    ("postcode_n", "first_name_n"),
    ("postcode_n", "birth_date_n"),
    ("postcode_n", "house_number_n"),
    ("street_n", "house_number_n"),
    ("street_n", "postcode_n"),
    ("city_n", "last_name_n", "name_key_n"),
    ("birth_year_n", "name_key_n", "city_n"),
    ("birth_date_n", "house_number_n"),
    ("birth_date_n", "city_n"),
    ("birth_date_n", "address_line2_n"),
    ("first_name_n", "house_number_n", "city_n"),
)
"""Blocking rules the model takes when their columns are filled (in this order): every
single strong identifier, the full name within a region (the full name alone when the
region is not on nearly every record) and swapped, a name or the initials with the
birth date, an address key with a name, birth date or house number."""

DEFAULT_BLOCKING_RULES = CANDIDATE_BLOCKING_RULES

CANDIDATE_TRAINING: tuple[tuple[str, ...], ...] = (
    *((c,) for c in IDENTIFIER_COLUMNS),
    ("phone_n",),
    ("birth_date_n",),
    ("postcode_n",),
    ("last_name_n", "birth_date_n"),
    ("first_name_n", "postcode_n"),
    ("street_n",),
    ("city_n", "birth_year_n"),
    ("last_name_n",),
    ("email_n",),
)
"""Expectation-maximisation sessions, in order of preference; :func:`plan_model` takes them
until every comparison has been trained by one that does not block on its columns. Email
comes last, only when nothing else trains the names: couples who share an address book email
would be learnt as matches."""

EM_RULES = CANDIDATE_TRAINING

COMPARISON_READS: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name_n", "last_name_n"),
    "last_name": ("last_name_n", "first_name_n"),
    "birth_date": ("birth_date_n",),
    "email": ("email_n",),
    "phone": ("phone_n",),
    "national_id": ("national_id_n",),
    "account_number": ("account_number_n",),
    "loyalty_number": ("loyalty_number_n",),
    "card_number": ("card_number_n",),
    "address": ("postcode_n", "street_n"),
    "house_number": ("house_number_n",),
    "address_line2": ("address_line2_n",),
    "city": ("city_n",),
    "region": ("region_n",),
}
"""Comparison (a field of the explanation) -> the normalised columns it may read (names
read both, for the swapped-names level). A comparison is used when its first column is
filled (``address`` when the postcode or the street is)."""

COMPARISON_COLUMNS = COMPARISON_READS

LINK_COLUMNS = ("first_name_n", "last_name_n", "email_n", "phone_n", "birth_date_n",
                "postcode_n", "street_n", "city_n", "region_n", "house_number_n",
                "address_line2_n", *IDENTIFIER_COLUMNS, "name_key_n", "birth_year_n")

KEY_COLUMN = {k: f"{k}_n" for k in (
    "first_name", "last_name", "email", "phone", "postcode", "street", "city", "region",
    "birth_date", "house_number", "address_line2", "national_id", "account_number",
    "loyalty_number", "card_number", "name_key", "birth_year")}
"""Config key (``identify.blocking_rules``, ``identify.training``) -> normalised column."""


class BlockingRuleTooLoose(ValueError):
    """A blocking rule would generate more comparisons than the config allows."""


# -- blocking ---------------------------------------------------------------------------------
def _rule_name(rule: BlockingRule) -> str:
    return rule if isinstance(rule, str) else " & ".join(rule)


def _is_swapped(rule: BlockingRule) -> bool:
    """:data:`SWAPPED`, alone or tightened by :func:`tighten_rules` (``(SWAPPED, column)``)."""
    return rule == SWAPPED or (isinstance(rule, tuple) and rule[:1] == (SWAPPED,))


def _rule_columns(rule: BlockingRule) -> tuple[str, ...]:
    if _is_swapped(rule):
        return ("first_name_n", "last_name_n", *(() if rule == SWAPPED else rule[1:]))
    return tuple(rule)


def _splink_rule(rule: BlockingRule):
    from splink import block_on

    if _is_swapped(rule):
        extra = () if rule == SWAPPED else rule[1:]
        return _SWAPPED_SQL + "".join(f" AND l.{c} = r.{c}" for c in extra)
    if isinstance(rule, str):  # a rule already written in SQL (the probe rules)
        return rule
    return block_on(*rule)


def _rows(con, sql: str) -> list[tuple]:
    """Rows of a query on a DuckDB connection or an engine of :func:`link_records`."""
    return con.rows(sql) if hasattr(con, "rows") else con.execute(sql).fetchall()


def count_comparisons(con, table: str,
                      rules: Sequence[BlockingRule] = DEFAULT_BLOCKING_RULES) -> pd.DataFrame:
    """Count the pairs each blocking rule would generate, without generating them.

    For a rule on columns (a, b) the count is the sum over distinct non-null (a, b) values of
    n (n - 1) / 2, computed with one GROUP BY on the engine (``con``: a DuckDB connection, or
    the Spark side of :func:`link_records`; for :data:`SWAPPED`, the product of
    the counts of each name pair and its reverse, plus the pairs within a block whose two
    names are equal). Pairs found by several rules are counted
    once per rule, so the total is an upper bound of what will be scored; it is what decides
    whether a rule is too loose. (splink's :mod:`splink.blocking_analysis` counts by creating
    the blocked pairs, which the prediction does anyway: what each rule adds to the rules
    before it is counted there, on the pairs splink scored, see :func:`link_records`.)

    Returns
    -------
    pandas.DataFrame
        One row per rule: rule, comparisons, largest_block (the key values of the biggest
        block), largest_block_records, largest_block_comparisons.
    """
    parts = []
    for i, rule in enumerate(rules):  # one query for every rule: one trip to the engine
        cols_t = _rule_columns(rule)
        notnull = " AND ".join(f"{c} IS NOT NULL" for c in cols_t)
        key = " || ' | ' || ".join(f"CAST({c} AS STRING)" for c in cols_t)
        swapped = _is_swapped(rule)
        extra = cols_t[2:] if swapped else ()
        g = (f"SELECT {'first_name_n AS f, last_name_n AS s, ' if swapped else ''}"
             + "".join(f"{c} AS x{j}, " for j, c in enumerate(extra))
             + f"{key} AS k, CAST(COUNT(*) AS BIGINT) AS n FROM {table} WHERE {notnull} "
             f"GROUP BY {', '.join(cols_t)}")
        # the largest block's key: the smallest of the keys of equal largest blocks (max_by
        # takes any of them, and DuckDB and Spark took different ones)
        if swapped:  # each name pair against its reverse (with the same extra columns), and
            # the blocks whose two names are equal (Lee Lee) among themselves
            same = "".join(f" AND a.x{j} = b.x{j}" for j in range(len(extra)))
            cross = (f"SELECT a.k AS k, a.n * b.n AS x, CAST(0 AS BIGINT) AS q, "
                     f"CAST(0 AS BIGINT) AS m, 2 * a.n * b.n AS c2, a.n + b.n AS nn "
                     f"FROM ({g}) a JOIN ({g}) b ON a.f = b.s AND a.s = b.f AND a.f < a.s{same}")
            self_ = (f"SELECT k, CAST(0 AS BIGINT) AS x, n * n AS q, n AS m, n * n - n AS c2, "
                     f"n AS nn FROM ({g}) gg WHERE f = s")
            parts.append(
                f"SELECT {i} AS i, CAST(COALESCE(SUM(x), 0) AS BIGINT) AS sx, "
                f"CAST(COALESCE(SUM(q), 0) AS BIGINT) AS sq, CAST(COALESCE(SUM(m), 0) AS BIGINT) "
                f"AS sn, MIN(CASE WHEN c2 = cmax THEN k END) AS kmax, "
                f"CAST(COALESCE(MAX(nn), 0) AS BIGINT) AS nmax FROM (SELECT *, MAX(c2) OVER () AS "
                f"cmax FROM ({cross} UNION ALL {self_}) j) j{i}")
        else:
            parts.append(
                f"SELECT {i} AS i, CAST(0 AS BIGINT) AS sx, "
                f"CAST(COALESCE(SUM(n * n), 0) AS BIGINT) AS sq, "
                f"CAST(COALESCE(SUM(n), 0) AS BIGINT) AS sn, MIN(CASE WHEN n = nx THEN k END) "
                f"AS kmax, CAST(COALESCE(MAX(n), 0) AS BIGINT) AS nmax "
                f"FROM (SELECT *, MAX(n) OVER () AS nx FROM ({g}) g) g{i}")
    got = {int(r[0]): r[1:] for r in _rows(con, " UNION ALL ".join(parts))} if parts else {}
    rows = []
    for i, rule in enumerate(rules):
        sx, sq, sn, kmax, nmax = got[i]
        total = int(sx) + (int(sq) - int(sn)) // 2  # pairs across blocks + sum n (n - 1) / 2
        nmax = int(nmax)
        rows.append({"rule": _rule_name(rule), "comparisons": total, "largest_block": kmax,
                     "largest_block_records": nmax,
                     "largest_block_comparisons": nmax * (nmax - 1) // 2})
    return pd.DataFrame(rows, columns=["rule", "comparisons", "largest_block",
                                       "largest_block_records", "largest_block_comparisons"])


def _too_loose_message(r, max_comparisons: int) -> str:
    return (f"blocking rule {r['rule']!r} would make {int(r['comparisons']):,} comparisons; "
            f"the limit (identify.max_comparisons) is {max_comparisons:,}. Its largest block is "
            f"{r['largest_block']!r} with {int(r['largest_block_records']):,} records "
            f"({int(r['largest_block_comparisons']):,} pairs). Add a column to the rule (e.g. "
            "birth date or postcode) so blocks stay small, clean placeholder values such as "
            "a shared default email or phone, or raise identify.max_comparisons in the config.")


def check_blocking(counts: pd.DataFrame, max_comparisons: int) -> None:
    """Raise :class:`BlockingRuleTooLoose` when a rule, or all of them, exceed the limit."""
    bad = counts[counts["comparisons"] > max_comparisons]
    total = int(counts["comparisons"].sum())
    if len(bad):
        raise BlockingRuleTooLoose(_too_loose_message(bad.iloc[0], max_comparisons))
    if total > max_comparisons:
        raise BlockingRuleTooLoose(
            f"the blocking rules together would make up to {total:,} comparisons; the limit "
            f"(identify.max_comparisons) is {max_comparisons:,}. Per rule: "
            + "; ".join(f"{a}: {b:,}" for a, b in zip(counts["rule"], counts["comparisons"]))
            + ". Drop or tighten the largest rule, or raise identify.max_comparisons.")


PAIR_BUDGET_FLOOR = 2_000_000
"""The chosen rules may always make this many pairs together, however few the records:
:func:`tighten_rules` only acts on clients above it (measured on 2 cores: the 100k-person
client's stage scored 0.85M pairs in 26 s, the 300k one 3.5M in 78 s; docs/scale.md)."""

TIGHTEN_COLUMNS = ("birth_year_n", "region_n", "city_n")
"""Columns :func:`tighten_rules` may add to a rule, in order of preference: the birth year
stays when a customer moves; region and city when there is no birth year."""

TIGHTEN_IMPLIED_BY = {"region_n": ("city_n", "postcode_n"), "city_n": ("postcode_n",)}
"""A column :func:`tighten_rules` never adds to a rule that holds one of these: the city
gives the region (and the postcode both), so adding it would only drop the pairs where either
record lacks it, not make a block smaller."""

TIGHTEN_MIN_FILL = 0.5
"""A column added to a rule must be filled on at least this share of the records (pairs
where either record lacks it are no longer generated by that rule)."""


def _pretty(rule: BlockingRule) -> str:
    return " & ".join(c.removesuffix("_n") for c in _rule_name(rule).split(" & "))


def tighten_rules(con, table: str, rules: list[BlockingRule], counts: pd.DataFrame,
                  n_records: int, pairs_per_record: float, fill: dict[str, float],
                  ) -> tuple[list[BlockingRule], pd.DataFrame, list[str]]:
    """Keep the chosen rules' pairs growing linearly with the client.

    A rule whose key comes from a vocabulary that does not grow with the client (a full
    name: the number of John Smiths grows with the population) makes pairs that grow with the
    square of the records, nearly all of them non-matches; a rule on an email, a phone or a
    birth date makes about as many pairs as there are duplicates, well under one per record.
    While the rules together (:func:`count_comparisons`' upper bound) would make more than
    :data:`PAIR_BUDGET_FLOOR` pairs, the largest rule that alone makes more than
    ``pairs_per_record`` pairs per record gets one more column of :data:`TIGHTEN_COLUMNS`
    (the first, filled on at least :data:`TIGHTEN_MIN_FILL` of the records, not implied by a
    column the rule has (:data:`TIGHTEN_IMPLIED_BY`), that at least halves its pairs and does
    not make it a narrower copy of another rule), or is left out when no column does.

    Returns the rules, their counts (rows in the same order) and one note per change.
    """
    budget = pairs_per_record * n_records
    rules, counts, notes = list(rules), counts.reset_index(drop=True), []
    for _ in range(3 * len(rules)):  # each step tightens or removes a rule: bounded
        total = int(counts["comparisons"].sum())
        if total <= PAIR_BUDGET_FLOOR or not rules or counts["comparisons"].max() <= budget:
            break
        i = int(counts["comparisons"].to_numpy().argmax())
        rule, row = rules[i], counts.iloc[i]
        cols = set(_rule_columns(rule))
        others = [set(_rule_columns(r)) for j, r in enumerate(rules)
                  if j != i and _is_swapped(r) == _is_swapped(rule)]
        cands = [c for c in TIGHTEN_COLUMNS if c not in cols and fill.get(c, 0) >= TIGHTEN_MIN_FILL
                 and not cols & set(TIGHTEN_IMPLIED_BY.get(c, ()))
                 and not any(o <= cols | {c} for o in others)]
        new_rules = [((SWAPPED,) if rule == SWAPPED else tuple(rule)) + (c,) for c in cands]
        got = count_comparisons(con, table, new_rules) if new_rules else counts.iloc[:0]
        ok = got[got["comparisons"] <= row["comparisons"] / 2]
        head = (f"blocking rule {_pretty(rule)!r} would make {int(row['comparisons']):,} pairs "
                f"({row['comparisons'] / max(n_records, 1):.1f} per record; its largest block "
                f"{row['largest_block']!r} has {int(row['largest_block_records']):,} records), over "
                f"identify.max_pairs_per_record = {pairs_per_record:g}, while the rules together "
                f"would make {total:,} (over {PAIR_BUDGET_FLOOR:,})")
        if len(ok):
            k = int(ok.index[0])
            rules[i] = new_rules[k]
            counts.iloc[i] = got.iloc[k]
            notes.append(f"tightened: {head}; it blocks on {_pretty(rules[i])!r} instead "
                         f"({int(got.iloc[k]['comparisons']):,} pairs)")
        else:
            notes.append(f"left out: {head}; no column of "
                         f"{', '.join(c.removesuffix('_n') for c in TIGHTEN_COLUMNS)} filled on "
                         f"{TIGHTEN_MIN_FILL:.0%} of the records halves it without repeating "
                         "another rule or a column it has")
            del rules[i]
            counts = counts.drop(index=i).reset_index(drop=True)
    return rules, counts, notes


def blocking_recall(norm: pd.DataFrame, truth: pd.Series,
                    rules: Sequence[BlockingRule] = DEFAULT_BLOCKING_RULES) -> dict:
    """Share of true pairs (same ``truth`` label) that at least one blocking rule generates.

    Pairs a rule misses are never scored, whatever the model; this is the ceiling of recall.
    ``truth`` is aligned with ``norm`` (one label per record, null = unknown). Rules on
    columns ``norm`` lacks generate nothing.
    """
    df = norm.assign(__t=truth.to_numpy(), __i=np.arange(len(norm)))
    df = df[df["__t"].notna()]
    con = duckdb.connect()
    con.register("r", df[["__t", "__i"]])
    pairs = con.execute('SELECT a.__i AS i, b.__i AS j FROM r a JOIN r b ON a.__t = b.__t '
                        'AND a.__i < b.__i').fetch_df()
    con.close()
    n_true = len(pairs)
    if n_true == 0:
        return {"true_pairs": 0, "blocked_true_pairs": 0, "blocking_recall": float("nan")}
    hit = np.zeros(n_true, bool)
    by_i = df.set_index("__i")

    def side(c: str):
        v = by_i[c] if c in by_i.columns else pd.Series(None, index=by_i.index, dtype=object)
        return v.reindex(pairs["i"]).to_numpy(), v.reindex(pairs["j"]).to_numpy()

    for rule in rules:
        ok = np.ones(n_true, bool)
        if _is_swapped(rule):
            (fa, fb), (la, lb) = side("first_name_n"), side("last_name_n")
            ok = pd.notna(fa) & pd.notna(lb) & pd.notna(la) & pd.notna(fb) \
                & (fa == lb) & (la == fb)
        for c in (_rule_columns(rule)[2:] if _is_swapped(rule) else rule):
            a, b = side(c)
            ok &= pd.notna(a) & pd.notna(b) & (a == b)
        hit |= ok
    return {"true_pairs": int(n_true), "blocked_true_pairs": int(hit.sum()),
            "blocking_recall": float(hit.mean())}


# -- choosing the model from the data ------------------------------------------------------------
@dataclass
class ModelPlan:
    """What :func:`plan_model` chose from the columns the records fill.

    Attributes
    ----------
    fill
        Normalised column -> share of records with a value.
    comparisons
        Comparisons the model uses (keys of :data:`COMPARISON_READS`).
    blocking
        Blocking rules of the prediction.
    prior_rules
        Deterministic rules (near-certain matches) that estimate the prior.
    training
        Blocking rules of the expectation-maximisation sessions.
    notes
        One plain sentence per column, rule or session left out, and why.
    set_in_config
        Which of blocking / comparisons / training came from the client config.
    """

    fill: dict[str, float]
    comparisons: list[str]
    blocking: list[BlockingRule]
    prior_rules: list[BlockingRule]
    training: list[tuple[str, ...]]
    notes: list[str] = field(default_factory=list)
    set_in_config: tuple[str, ...] = ()


def _config_rule(rule) -> BlockingRule:
    if isinstance(rule, str):
        return SWAPPED if rule == SWAPPED else (KEY_COLUMN[rule],)
    return tuple(KEY_COLUMN[k] for k in rule)


def _comparison_used(name: str, present: set[str]) -> bool:
    if name == "address":
        return "postcode_n" in present or "street_n" in present
    return COMPARISON_READS[name][0] in present


def _reads(name: str, present: set[str]) -> set[str]:
    return {c for c in COMPARISON_READS[name] if c in present}


def fill_stats(norm) -> tuple[int, dict[str, int], dict[str, bool]]:
    """Rows, and per link column present: values filled, and whether it takes two or more
    distinct values. ``norm``: a DataFrame, or an Ibis table (one aggregate in its engine)."""
    cols = [c for c in LINK_COLUMNS if c in norm.columns]
    if isinstance(norm, pd.DataFrame):
        return (len(norm), {c: int(norm[c].notna().sum()) for c in cols},
                {c: bool(norm[c].nunique(dropna=True) >= 2) for c in cols})
    aggs = {"__rows": norm.count()}
    for i, c in enumerate(cols):
        aggs[f"f{i}"] = norm[c].count()
        aggs[f"v{i}"] = (norm[c].min() != norm[c].max()).fill_null(False)
    r = norm.aggregate(**aggs).to_pandas().iloc[0]
    return (int(r["__rows"]), {c: int(r[f"f{i}"]) for i, c in enumerate(cols)},
            {c: bool(r[f"v{i}"]) for i, c in enumerate(cols)})


def plan_model(norm, *, blocking_rules=None, comparisons=None, training=None,
               min_fill_rate: float = 0.01) -> ModelPlan:
    """Choose comparisons, blocking rules, prior rules and training sessions from what the
    records hold.

    A normalised column is *filled* when at least ``min_fill_rate`` of the records have a
    value and it takes at least two distinct values. Comparisons: every one whose column is
    filled (or those of ``comparisons``). Blocking rules: every rule of
    :data:`CANDIDATE_BLOCKING_RULES` whose columns are filled (or ``blocking_rules``, config
    keys as in ``identify.blocking_rules``). Training: sessions of
    :data:`CANDIDATE_TRAINING` on filled columns, taken in order while they train a
    comparison no earlier session trained (a session cannot train a comparison that reads a
    column it blocks on), or ``training``. Comparisons no session can train are named in
    ``notes`` (their m stays at splink's default).
    """
    rows, filled, varied = fill_stats(norm)
    n = max(rows, 1)
    fill = {c: float(filled.get(c, 0) / n) for c in LINK_COLUMNS}
    present = {c for c, f in fill.items() if f >= min_fill_rate and f > 0 and varied.get(c)}
    notes: list[str] = []
    set_in = []
    for c in LINK_COLUMNS:
        if c in norm.columns and 0 < fill[c] and c not in present:
            notes.append(f"{c.removesuffix('_n')}: filled on {fill[c]:.1%} of the records "
                         f"(or one value only), below identify.min_fill_rate = "
                         f"{min_fill_rate:g}; not used")
    if comparisons is not None:
        set_in.append("comparisons")
        comps = []
        for name in comparisons:
            if _comparison_used(name, present):
                comps.append(name)
            else:
                notes.append(f"comparison {name!r} (identify.comparisons) is left out: its "
                             "column is not filled in these records")
    else:
        comps = [c for c in COMPARISON_READS if _comparison_used(c, present)]
    if blocking_rules is not None:
        set_in.append("blocking_rules")
        rules = []
        for r in blocking_rules:
            rule = _config_rule(r)
            missing = [c for c in _rule_columns(rule) if c not in present]
            if missing:
                notes.append(f"blocking rule {_rule_name(rule)!r} (identify.blocking_rules) is "
                             f"left out: {', '.join(missing)} not filled")
            else:
                rules.append(rule)
    else:
        cands = [("first_name_n", "last_name_n")
                 if r == ("first_name_n", "last_name_n", "region_n") and fill["region_n"] < 0.95
                 else r for r in CANDIDATE_BLOCKING_RULES]
        rules = [r for r in cands if all(c in present for c in _rule_columns(r))]
    prior: list[BlockingRule] = []
    for c in (*IDENTIFIER_COLUMNS, "email_n", "phone_n"):
        if c in present:
            partner = next((x for x in ("first_name_n", "last_name_n", "birth_date_n")
                            if x in present), None)
            prior.append((c, partner) if partner else (c,))
    if {"first_name_n", "last_name_n"} <= present:
        for third in ("birth_date_n", "postcode_n", "street_n"):
            if third in present:
                prior.append(("first_name_n", "last_name_n", third))
                break
    if not prior:
        prior = list(rules[:1])
    if training is not None:
        set_in.append("training")
        sessions = []
        for r in training:
            rule = _config_rule(r)
            missing = [c for c in rule if c not in present]
            if missing:
                notes.append(f"training session {_rule_name(rule)!r} (identify.training) is "
                             f"skipped: {', '.join(missing)} not filled")
            else:
                sessions.append(rule)
        candidates = sessions
        chosen_all = True
    else:
        candidates = [r for r in CANDIDATE_TRAINING if all(c in present for c in r)]
        chosen_all = False
    untrained = set(comps)
    chosen: list[tuple[str, ...]] = []
    for r in candidates:
        trains = {c for c in comps if not (_reads(c, present) & set(r))}
        if chosen_all or trains & untrained:
            chosen.append(r)
            untrained -= trains
        if not untrained and not chosen_all:
            break
    for c in sorted(untrained, key=comps.index):
        notes.append(f"comparison {c!r}: no training session on the filled columns avoids "
                     f"{', '.join(sorted(_reads(c, present)))}, so its m values are not trained")
    return ModelPlan(fill=fill, comparisons=comps, blocking=rules, prior_rules=prior,
                     training=chosen, notes=notes, set_in_config=tuple(set_in))


# -- the splink model ---------------------------------------------------------------------------
_YMD = {"duckdb": lambda c: f"strftime({c}, '%Y%m%d')",
        "spark": lambda c: f"date_format({c}, 'yyyyMMdd')"}
"""A date as YYYYMMDD text, per engine (the custom levels' one engine-specific function)."""


# -- Jaro-Winkler, the same function on both engines --------------------------------------------
SPARK_JW = "onetoone_jaro_winkler"
SPARK_JW_AT_LEAST = "onetoone_jaro_winkler_at_least"


def _spark_jaro_winkler_sql(left: str, right: str) -> str:
    """DuckDB's ``jaro_winkler_similarity(l, r)`` written in Spark SQL, bit for bit (``left``
    and ``right``: the SQL of l and r).

    DuckDB (rapidfuzz) and splink's Spark jar (Apache Commons Text) differ: DuckDB counts half
    the transpositions rounded down (as Winkler's strcmp95 does), Commons Text keeps the half
    (a pair with 3 out-of-order characters scores 1/(6m) lower in Jaro); DuckDB boosts the
    common prefix above 0.7, Commons Text from 0.7; DuckDB compares UTF-8 bytes, Java UTF-16
    characters. This is DuckDB's algorithm on the UTF-8 bytes: every character of ``r`` in
    turn takes the first unmatched equal byte of ``l`` within max(|l|, |r|) / 2 - 1 positions;
    m matches, t of them out of order; Jaro = (m/|l| + m/|r| + (m - floor(t/2))/m) / 3, plus
    0.1 x the common prefix (at most 4) x (1 - Jaro) when Jaro > 0.7; 0 when either is empty,
    equality when both have one byte. Checked equal to DuckDB on 408,660 string pairs of the
    sample (tests/test_spark_parity.py checks it on the way).
    """
    match = ("aggregate(sequence(0, t.lb - 1), cast(array() AS array<int>), (acc, j) -> "
             "concat(acc, array(coalesce(IF(greatest(0, j - t.w) <= least(t.la - 1, j + t.w), "
             "array_min(filter(sequence(greatest(0, j - t.w), least(t.la - 1, j + t.w)), "
             "i -> substring(t.a, i + 1, 1) = substring(t.b, j + 1, 1) "
             "AND NOT array_contains(acc, i))), NULL), -1))))")
    m = "size(filter(ma, x -> x >= 0))"
    trans = ("size(filter(zip_with(array_sort(filter(ma, x -> x >= 0)), "
             "filter(sequence(0, t.lb - 1), q -> element_at(ma, q + 1) >= 0), "
             "(p, q) -> substring(t.a, p + 1, 1) != substring(t.b, q + 1, 1)), x -> x))")
    prefix = ("(array_position(concat(transform(sequence(1, least(4, t.la, t.lb)), "
              "k -> substring(t.a, k, 1) = substring(t.b, k, 1)), array(false)), false) - 1)")
    jaro = (f"element_at(transform(array({match}), ma -> IF({m} = 0, 0.0D, "
            f"({m} / t.la + {m} / t.lb + ({m} - {trans} div 2) / {m}) / 3.0D)), 1)")
    jw = (f"element_at(transform(array({jaro}), sim -> "
          f"IF(sim > 0.7D, sim + {prefix} * 0.1D * (1.0D - sim), sim)), 1)")
    return (f"element_at(transform(array(named_struct('a', encode({left}, 'UTF-8'), "
            f"'b', encode({right}, 'UTF-8'))), s -> element_at(transform(array(named_struct("
            "'a', s.a, 'b', s.b, 'la', length(s.a), 'lb', length(s.b), "
            "'w', CAST(greatest(length(s.a), length(s.b)) div 2 - 1 AS INT))), t -> "
            "CASE WHEN t.la = 0 OR t.lb = 0 THEN 0.0D "
            "WHEN t.la = 1 AND t.lb = 1 THEN IF(t.a = t.b, 1.0D, 0.0D) "
            f"ELSE {jw} END), 1)), 1)")


def _register_spark_jaro_winkler(spark) -> None:
    """``onetoone_jaro_winkler(l, r)``: DuckDB's value (:func:`_spark_jaro_winkler_sql`); and
    ``onetoone_jaro_winkler_at_least(l, r, t)``: whether it is at least ``t``, asked of the
    jar's fast ``jaro_winkler`` first. Both count the same matches m, transpositions and prefix
    (the greedy matching finds the same m and t from either side), so for ASCII text DuckDB's
    Jaro exceeds the jar's by at most 1/(6m) <= 1/18 (t odd needs t >= 3, so m >= 3), and a
    value of at least t >= 0.7 needs Jaro > 0.7, so the jar's value > 0.7 - 1/18 > 0.64: below
    0.64 the answer is no without the slow expression. Non-ASCII text always takes it."""
    spark.sql(f"CREATE OR REPLACE TEMPORARY FUNCTION {SPARK_JW}(l STRING, r STRING) "
              f"RETURNS DOUBLE RETURN {_spark_jaro_winkler_sql('l', 'r')}")
    spark.sql(f"CREATE OR REPLACE TEMPORARY FUNCTION {SPARK_JW_AT_LEAST}(l STRING, r STRING, "
              "t DOUBLE) RETURNS BOOLEAN RETURN NOT coalesce(t >= 0.7D AND length(l) = "
              "octet_length(l) AND length(r) = octet_length(r) AND jaro_winkler(l, r) < 0.64D, "
              f"false) AND {SPARK_JW}(l, r) >= t")


def _comparisons(names: Sequence[str] = tuple(COMPARISON_READS),
                 present: set[str] | None = None, dialect: str = "duckdb") -> list:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink.internals.dialects import SplinkDialect

    present = set(LINK_COLUMNS) if present is None else present
    d = SplinkDialect.from_string(dialect)
    jw, dl = d.jaro_winkler_function_name, d.damerau_levenshtein_function_name
    ymd = _YMD[dialect]

    def jw_at_least(left: str, right: str, threshold: float) -> str:
        if dialect == "spark":  # DuckDB's Jaro-Winkler (the jar's differs), see above
            return f"{SPARK_JW_AT_LEAST}({left}, {right}, {threshold!r}D)"
        return f"{jw}({left}, {right}) >= {threshold!r}"

    def jw_level(col: str, threshold: float):
        if dialect == "spark":
            return cll.CustomLevel(jw_at_least(f"{col}_l", f"{col}_r", threshold))
        return cll.JaroWinklerLevel(col, threshold)

    def name(col: str, other: str, label: str):
        levels = [cll.NullLevel(col),
                  cll.ExactMatchLevel(col).configure(tf_adjustment_column=col,
                                                     label_for_charts="exact")]
        if other in present:
            levels.append(cll.CustomLevel(
                f"{jw_at_least(f'{col}_l', f'{other}_r', 0.9)} AND "
                f"{jw_at_least(f'{other}_l', f'{col}_r', 0.9)}",
                label_for_charts="first and last name swapped"))
        levels += [jw_level(col, 0.92).configure(label_for_charts="Jaro-Winkler >= 0.92"),
                   jw_level(col, 0.80).configure(label_for_charts="Jaro-Winkler >= 0.80"),
                   cll.DamerauLevenshteinLevel(col, 2).configure(label_for_charts="two edits"),
                   cll.ElseLevel().configure(label_for_charts="different")]
        return cl.CustomComparison(
            output_column_name=label,
            comparison_description=f"{label}: Jaro-Winkler with term-frequency adjustment",
            comparison_levels=levels)

    def exact(col: str, label: str, typo: bool = False, fuzzy: bool = False):
        levels = [cll.NullLevel(col),
                  cll.ExactMatchLevel(col).configure(tf_adjustment_column=col,
                                                     label_for_charts="exact")]
        if typo:
            levels.append(cll.DamerauLevenshteinLevel(col, 1).configure(
                label_for_charts="one typo"))
        if fuzzy:
            levels.append(jw_level(col, 0.9).configure(label_for_charts="Jaro-Winkler >= 0.9"))
        levels.append(cll.ElseLevel().configure(label_for_charts="different"))
        return cl.CustomComparison(
            output_column_name=label,
            comparison_description=f"{label}: exact{', one typo' if typo else ''}",
            comparison_levels=levels)

    def dob():
        return cl.CustomComparison(
            output_column_name="birth_date", comparison_description="birth date with tolerance",
            comparison_levels=[
                cll.NullLevel("birth_date_n"),
                cll.ExactMatchLevel("birth_date_n").configure(
                    tf_adjustment_column="birth_date_n", label_for_charts="exact"),
                cll.CustomLevel(
                    "(month(birth_date_n_l) = day(birth_date_n_r) AND day(birth_date_n_l) = "
                    "month(birth_date_n_r) AND year(birth_date_n_l) = year(birth_date_n_r))",
                    label_for_charts="day and month swapped"),
                cll.CustomLevel(
                    f"{dl}({ymd('birth_date_n_l')}, {ymd('birth_date_n_r')}) <= 1",
                    label_for_charts="one digit differs"),
                cll.AbsoluteDateDifferenceLevel("birth_date_n", threshold=31, metric="day",
                                                input_is_string=False).configure(
                    label_for_charts="within a month"),
                cll.AbsoluteDateDifferenceLevel("birth_date_n", threshold=1, metric="year",
                                                input_is_string=False).configure(
                    label_for_charts="within a year"),
                cll.ElseLevel().configure(label_for_charts="different"),
            ])

    def address():
        if "postcode_n" not in present:
            return exact("street_n", "address", fuzzy=True)
        levels = [cll.NullLevel("postcode_n")]
        if "street_n" in present:
            levels.append(cll.And(cll.ExactMatchLevel("postcode_n"),
                                  jw_level("street_n", 0.9)).configure(
                label_for_charts="same postcode and street"))
        levels += [cll.ExactMatchLevel("postcode_n").configure(
                       tf_adjustment_column="postcode_n", label_for_charts="same postcode"),
                   cll.DamerauLevenshteinLevel("postcode_n", 1).configure(
                       label_for_charts="postcode one edit")]
        if "street_n" in present:
            levels.append(jw_level("street_n", 0.9).configure(
                label_for_charts="same street, postcode differs"))
        levels.append(cll.ElseLevel().configure(label_for_charts="different"))
        return cl.CustomComparison(
            output_column_name="address",
            comparison_description="postcode and street together (one piece of evidence)",
            comparison_levels=levels)

    build = {
        "first_name": lambda: name("first_name_n", "last_name_n", "first_name"),
        "last_name": lambda: name("last_name_n", "first_name_n", "last_name"),
        "birth_date": dob,
        "email": lambda: exact("email_n", "email"),
        "phone": lambda: exact("phone_n", "phone"),
        **{k: (lambda k=k: exact(f"{k}_n", k, typo=True))
           for k in ("national_id", "account_number", "loyalty_number", "card_number")},
        "address": address,
        "house_number": lambda: exact("house_number_n", "house_number"),
        "address_line2": lambda: exact("address_line2_n", "address_line2", fuzzy=True),
        "city": lambda: exact("city_n", "city", fuzzy=True),
        "region": lambda: exact("region_n", "region"),
    }
    return [build[n]() for n in names]


def build_settings(rules: Sequence[BlockingRule] = DEFAULT_BLOCKING_RULES,
                   comparisons: Sequence[str] = tuple(COMPARISON_READS),
                   present: set[str] | None = None, extra_columns: Sequence[str] = (),
                   dialect: str = "duckdb"):
    """The splink settings: comparisons on the normalised columns and the blocking rules
    (custom levels written in the engine's SQL: ``duckdb`` or ``spark``)."""
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name=C.RECORD_KEY,
        comparisons=_comparisons(comparisons, present, dialect),
        blocking_rules_to_generate_predictions=[_splink_rule(r) for r in rules],
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=[C.SOURCE_SYSTEM, *extra_columns],
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
        Per rule: :func:`count_comparisons` (the upper bound checked before anything runs)
        and, from the prediction, the pairs the rule added to the rules before it
        (new_comparisons, cumulative_comparisons: splink scores a pair once, under the first
        rule that finds it; exact, so ``estimated`` is false).
    levels
        Per field and level: field, gamma, label, m, u, weight, m_trained (the fitted model).
    scored_pairs
        How many pairs the blocking rules generated and the model scored.
    lambda_
        The fitted prior: probability that two random records match.
    plan
        The :class:`ModelPlan` (comparisons, rules, sessions, notes).
    training
        One row per training session: session, pairs, status (trained / skipped and why).
    recall_estimate
        Blocking recall estimated without ground truth (:func:`link_records`).
    seconds
        Time spent per step.
    """

    pairs: pd.DataFrame
    weight_histogram: pd.DataFrame
    blocking: pd.DataFrame
    levels: pd.DataFrame
    scored_pairs: int
    lambda_: float
    plan: ModelPlan | None = None
    training: pd.DataFrame | None = None
    recall_estimate: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)


PROBE_RULES: tuple[tuple[str, ...], ...] = (("last_name_n",), ("first_name_n",),
                                             ("birth_date_n",), ("postcode_n",))
"""Loose rules used only to estimate blocking recall (never to merge)."""

PROBE_MIN_PAIRS = 20_000
PROBE_PAIRS_PER_BLOCKED = 0.5
"""Probe pairs scored for the recall estimate: this share of the blocking rules' upper bound
(:func:`count_comparisons`), at least ``PROBE_MIN_PAIRS``; the sample of records around which
they are generated is sized to it."""


def link_records(norm: pd.DataFrame, *, rules: Sequence[BlockingRule] | None = None,
                 max_comparisons: int = 50_000_000, keep_probability: float = 0.5,
                 u_max_pairs: float | None = None, seed: int = 1994,
                 em_rules: Sequence[BlockingRule] | None = None, m_floor: float = 1e-4,
                 threads: int | None = None, comparisons: Sequence[str] | None = None,
                 min_fill_rate: float = 0.01, estimate_recall: bool = True,
                 recall_threshold: float = 0.95, plan: ModelPlan | None = None,
                 refine_prior: bool = True, spark=None, pairs_per_record: float = 5.0,
                 record_key: str = C.RECORD_KEY,
                 source_system: str = C.SOURCE_SYSTEM) -> LinkageResult:
    """Score candidate pairs of records with a splink model trained on the records themselves.

    Parameters
    ----------
    norm
        Normalised records (:func:`onetoone.identify.normalise.normalise_records`), one row per
        source record with ``record_key`` unique. Records without any identifier should be
        left out by the caller (they cannot match and only cost comparisons).
    rules, comparisons, em_rules
        Blocking rules (tuples of normalised columns, or :data:`SWAPPED`), comparisons and
        training sessions; each chosen from the filled columns by :func:`plan_model` when None
        (or pass a ``plan``). Rules given here that are too loose are refused; chosen rules
        that are too loose are left out with a note.
    max_comparisons
        Refuse to run when a rule (or all together) would generate more pairs than this.
    pairs_per_record
        A chosen rule (not ``rules`` or the config's) that alone would make more pairs per
        record than this is tightened or left out, largest first, while all together make
        over :data:`PAIR_BUDGET_FLOOR` (:func:`tighten_rules`).
    keep_probability
        Pairs below this match probability are counted in the histogram but not returned.
    u_max_pairs
        Random pairs sampled to estimate u; default 10 per record, between 50,000 and
        2,000,000 (exact levels are term-frequency adjusted, so their u does not rest on it).
    seed
        Seed of the u sampling (results are reproducible).
    m_floor
        Smallest m a level may keep: EM can drive a level that true matches rarely reach to
        1e-30 (a weight of -100), letting one typo veto everything else; data entry errors
        exist, so no single disagreement may weigh less than log2(m_floor / u).
    estimate_recall
        Also score, on a sample of records, the pairs only loose single-column rules
        (:data:`PROBE_RULES`) find; the share of pairs above ``recall_threshold`` that the
        real rules find too estimates blocking recall without ground truth. Probe pairs are
        never returned or merged.
    spark
        A SparkSession (the Spark workspace's ``ws.spark``): splink runs there through its
        ``SparkAPI``, with the same settings, training and prior. None: a private DuckDB
        connection (the DuckDB workspace).

    Raises
    ------
    BlockingRuleTooLoose
        When the blocking rules would explode; nothing is scored.
    """
    t0 = time.perf_counter()
    secs: dict[str, float] = {}
    log = logging.getLogger(__name__)
    if record_key != C.RECORD_KEY or source_system != C.SOURCE_SYSTEM:
        norm = norm.rename({record_key: C.RECORD_KEY, source_system: C.SOURCE_SYSTEM}
                           if isinstance(norm, pd.DataFrame) else
                           {C.RECORD_KEY: record_key, C.SOURCE_SYSTEM: source_system})
    for c in (C.RECORD_KEY, C.SOURCE_SYSTEM):
        if c not in norm.columns:
            raise KeyError(f"link_records expected normalised records with column {c!r} "
                           "(run normalise_records first)")
    df = (_link_frame(norm, seed) if isinstance(norm, pd.DataFrame)
          else _link_table(norm, seed))
    n_records, dup = _key_counts(df)
    if dup is not None:
        raise ValueError(f"record keys must be unique; {dup!r} appears more than once")
    if plan is None:
        plan = plan_model(df, blocking_rules=None, comparisons=comparisons, training=None,
                          min_fill_rate=min_fill_rate)
        if rules is not None:
            plan.blocking, plan.set_in_config = list(rules), (*plan.set_in_config, "blocking_rules")
        if em_rules is not None:
            plan.training = [tuple(r) for r in em_rules]
    explicit_rules = "blocking_rules" in plan.set_in_config
    present = {c for c in LINK_COLUMNS if plan.fill.get(c, 0) > 0}

    eng = (_SparkSide(spark) if spark is not None else _DuckDBSide(threads))
    eng.load(df, "records")
    del df  # the records live in the engine from here
    counts = count_comparisons(eng, "records", plan.blocking)
    if not explicit_rules:  # tightened first: a name rule over the limit gets a column
        plan.blocking, counts, tight = tighten_rules(eng, "records", plan.blocking, counts,
                                                     n_records, pairs_per_record, plan.fill)
        plan.notes.extend(tight)
        loose = counts["comparisons"] > max_comparisons
        for _, r in counts[loose].iterrows():
            plan.notes.append("left out: " + _too_loose_message(r, max_comparisons))
        plan.blocking = [r for r, bad in zip(plan.blocking, loose) if not bad]
        counts = counts[~loose].reset_index(drop=True)
    if not plan.blocking:
        eng.close()
        raise BlockingRuleTooLoose("no blocking rule is left to compare records with: "
                                   + "; ".join(plan.notes[-3:]))
    check_blocking(counts, max_comparisons)
    secs["count"] = time.perf_counter() - t0

    logging.getLogger("splink").setLevel(logging.ERROR)
    sdf = eng.db_api().register("records")

    # loose rules on a sample of records, scored with the real rules in one prediction (they
    # come last, so a pair a real rule finds keeps that rule's match_key)
    probe_rules: list[str] = []
    probe_share = 0.0
    if estimate_recall:
        probes = [r for r in PROBE_RULES if r[0] in present]
        pc = count_comparisons(eng, "records", probes)
        total = int(pc["comparisons"].sum())
        budget = max(PROBE_MIN_PAIRS, PROBE_PAIRS_PER_BLOCKED * float(counts["comparisons"].sum()))
        if total:
            # a probe pair is kept when either record is in the sample: 1 - (1 - share)^2
            probe_share = float(1.0 - np.sqrt(1.0 - min(1.0, budget / total)))
            # one rule per side: a filter on one side is applied before the join, so whole
            # blocks of a common name are never enumerated (an OR of both sides would be)
            probe_rules = [f"l.{r[0]} = r.{r[0]} AND {side}.probe_u < {probe_share:.6f}"
                           for r in probes for side in ("l", "r")]
    settings = build_settings([*plan.blocking, *probe_rules], plan.comparisons, present,
                              extra_columns=["probe_u"] if probe_rules else [],
                              dialect=eng.dialect)
    linker = _linker_class()(sdf, settings, log_level=None, validate_settings=False)
    t = time.perf_counter()
    try:
        linker.training.estimate_probability_two_random_records_match(
            [_splink_rule(r) for r in plan.prior_rules], recall=0.7)
    except Exception as exc:  # noqa: BLE001
        log.warning("prior from deterministic rules failed (%s); using 1 match per record", exc)
        linker._settings_obj._probability_two_random_records_match = min(
            0.5, 1.0 / max(n_records - 1, 1))
    lam_rules = linker._settings_obj._probability_two_random_records_match
    if not lam_rules or not np.isfinite(lam_rules) or lam_rules <= 0:
        # no deterministic match at all (every rule's pair disagrees somewhere): start from
        # one match per record; the prior is re-estimated from the scored pairs below
        linker._settings_obj._probability_two_random_records_match = min(
            0.5, 1.0 / max(n_records - 1, 1))
    if u_max_pairs is None:
        u_max_pairs = float(min(2e6, max(5e4, 10 * n_records)))
    linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed,
                                                      num_chunks=1)
    secs["u"] = time.perf_counter() - t
    t = time.perf_counter()
    linker, sessions = _train(linker, sdf, eng, plan)
    _floor_m(linker, m_floor)
    _tie_swapped_levels(linker)
    secs["em"] = time.perf_counter() - t
    t = time.perf_counter()
    pred = linker.inference.predict().physical_name
    n_real = len(plan.blocking)
    real = f"CAST(match_key AS INTEGER) < {n_real}"
    # what each rule added to the rules before it: the pairs splink scored, by the rule that
    # found them first (exact at any size; the per-rule upper bounds above decided the limit)
    found = dict(eng.rows(f"SELECT CAST(match_key AS INTEGER) AS k, COUNT(*) AS n FROM {pred} "
                          f"WHERE {real} GROUP BY CAST(match_key AS INTEGER)"))
    new = [int(found.get(i, 0)) for i in range(n_real)]
    counts = counts.assign(new_comparisons=new, cumulative_comparisons=np.cumsum(new),
                           estimated=False)
    lam0 = float(linker._settings_obj._probability_two_random_records_match)
    lam = _refine_prior(eng, pred, real, lam0, n_records) if refine_prior else lam0
    shift = _logit2(lam) - _logit2(lam0)
    weight = f"(match_weight + {shift!r})"
    prob = f"(1.0 / (1.0 + pow(2.0, -{weight})))"
    recall_est = {}
    if probe_rules:
        recall_est = _probe_recall(eng, pred, real, prob, probe_share,
                                   _logit2(max(lam, lam0)) - _logit2(lam0), recall_threshold)
    hist = eng.frame(f"SELECT CAST(floor({weight}) AS DOUBLE) AS bin_start, COUNT(*) AS pairs "
                     f"FROM {pred} WHERE {real} GROUP BY CAST(floor({weight}) AS DOUBLE) "
                     "ORDER BY bin_start")
    scored = int(hist["pairs"].sum()) if len(hist) else 0
    pairs = eng.frame(f"SELECT * FROM {pred} WHERE {real} AND {prob} >= {keep_probability!r}")
    pairs["match_weight"] = pairs["match_weight"].astype(float) + shift
    pairs[C.MATCH_PROBABILITY] = 1.0 / (1.0 + np.power(2.0, -pairs["match_weight"]))
    pairs = pairs.drop(columns=[c for c in ("probe_u_l", "probe_u_r") if c in pairs.columns])
    secs["predict"] = time.perf_counter() - t
    levels = _levels(linker)
    eng.close()
    pairs = _tidy_pairs(pairs)
    secs["total"] = time.perf_counter() - t0
    return LinkageResult(pairs=pairs, weight_histogram=hist, blocking=counts, levels=levels,
                         scored_pairs=scored, lambda_=lam, plan=plan, training=sessions,
                         recall_estimate=recall_est, seconds=secs)


# -- the records splink reads ------------------------------------------------------------------
def _probe_u(keys: pd.Series) -> pd.Series:
    """A deterministic uniform number per record key in [0, 1): the recall probe's sample."""
    h = pd.util.hash_pandas_object(pd.Series(keys, dtype=object), index=False).to_numpy()
    return pd.Series((h % np.uint64(1_000_003)).astype(np.float64) / 1_000_003.0,
                     index=keys.index)


def _link_frame(norm: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The columns splink reads, from normalised records in a DataFrame."""
    link_cols = [c for c in LINK_COLUMNS if c in norm.columns]
    df = norm[[C.RECORD_KEY, C.SOURCE_SYSTEM, *link_cols]].copy()
    for c in LINK_COLUMNS:
        if c not in df.columns:
            df[c] = None
    df["birth_date_n"] = pd.to_datetime(df["birth_date_n"]).astype("datetime64[s]")
    for c in LINK_COLUMNS:
        if c != "birth_date_n":
            df[c] = df[c].astype(object).where(df[c].notna(), None)
    df["probe_u"] = _probe_u(df[C.RECORD_KEY]).to_numpy()
    df[U_SAMPLE] = _u_sample_bucket(df[C.RECORD_KEY], seed)  # u's sample, the same on any engine
    return df


def _link_table(norm, seed: int):
    """The columns splink reads, as an Ibis expression on the normalised records' engine: the
    probe number and u's sample bucket by the same Python code, as vectorised UDFs."""
    import ibis

    from ..vectorised import series_udf

    cols = {C.RECORD_KEY: norm[C.RECORD_KEY].cast("string"),
            C.SOURCE_SYSTEM: norm[C.SOURCE_SYSTEM].cast("string")}
    for c in LINK_COLUMNS:
        kind = "timestamp" if c == "birth_date_n" else "string"
        cols[c] = norm[c].cast(kind) if c in norm.columns else ibis.null().cast(kind)
    probe = series_udf(norm, _probe_u, "onetoone_probe_u", out="float64")
    bucket = series_udf(norm, lambda k: pd.Series(_u_sample_bucket(k, seed), index=k.index),
                        f"onetoone_u_sample_{int(seed)}", out="int64")
    cols["probe_u"] = probe(norm[C.RECORD_KEY].cast("string"))
    cols[U_SAMPLE] = bucket(norm[C.RECORD_KEY].cast("string"))
    return norm.select(**cols)


def _key_counts(df) -> tuple[int, str | None]:
    """Records, and a record key that appears more than once (None when they are unique)."""
    if isinstance(df, pd.DataFrame):
        dup = df.loc[df[C.RECORD_KEY].duplicated(), C.RECORD_KEY]
        return len(df), (str(dup.iloc[0]) if len(dup) else None)
    per_key = df.group_by(C.RECORD_KEY).aggregate(n=df.count())
    r = per_key.aggregate(n=per_key.n.sum(), dup=per_key[C.RECORD_KEY].argmax(per_key.n),
                          most=per_key.n.max()).to_pandas()
    if not len(r) or pd.isna(r["n"].iloc[0]):
        return 0, None
    return int(r["n"].iloc[0]), (str(r["dup"].iloc[0]) if r["most"].iloc[0] > 1 else None)


# -- u from the same records on every engine ---------------------------------------------------
U_SAMPLE = "u_sample"


def _u_sample_bucket(keys: pd.Series, seed: int) -> np.ndarray:
    """Per record key, the bucket splink's DuckDB backend samples u's records by (its
    ``proportion_sample_sql``: DuckDB's ``hash`` of the key and the seed, modulo 10^9),
    computed once here on the driver's DuckDB: the same numbers whichever engine then runs
    splink, and on DuckDB exactly the sample splink drew before."""
    from splink.internals.dialects import _DETERMINISTIC_SAMPLE_MODULUS, SplinkDialect

    bucket = SplinkDialect.from_string("duckdb").hash_bucket_expression(
        f"(k) || '_{int(seed)}'", _DETERMINISTIC_SAMPLE_MODULUS)
    con = duckdb.connect(config={"threads": 1})
    con.register("keys", pd.DataFrame({"i": np.arange(len(keys)),
                                       "k": keys.astype(str).to_numpy()}))
    out = con.execute(f"SELECT CAST({bucket} AS BIGINT) FROM keys ORDER BY i").fetchnumpy()
    con.close()
    return next(iter(out.values())).astype(np.int64)


@functools.cache
def _linker_class():
    """splink's ``Linker`` with u's sample of records taken on the records' ``u_sample``.

    ``estimate_u_using_random_sampling`` takes every pair among a sample of records (all
    records when their pairs fit in ``max_pairs``, so u is then exhaustive on any engine);
    splink picks the sample with the engine's own hash function (DuckDB's ``hash`` and Spark's
    Murmur3 ``hash`` pick different records, so each engine had its own u). Here a record is
    in the sample when its :data:`U_SAMPLE` (:func:`_u_sample_bucket`) is below splink's
    threshold for the proportion: the same records, hence the same pairs and the same u, on
    DuckDB and on Spark (and on DuckDB the very records splink itself would take).
    """
    from splink import Linker
    from splink.internals.dialects import _DETERMINISTIC_SAMPLE_MODULUS

    class SameSampleLinker(Linker):
        def _proportion_sample_sql(self, proportion, unique_id_cols, seed=None):
            if proportion >= 1.0:
                return ""
            threshold = max(1, round(proportion * _DETERMINISTIC_SAMPLE_MODULUS))
            return f" AND {U_SAMPLE} < {threshold}"

    return SameSampleLinker


# -- the engine splink runs on: one small class per engine, side by side ---------------------------
_LINK_TYPES = {"birth_date_n": "timestamp", "probe_u": "double", U_SAMPLE: "bigint"}
"""Types of the records splink reads (every other column: text)."""


SPLINK_MEMORY_SHARE = 0.4
"""Share of the machine's memory splink's private DuckDB may hold before it spills to disk."""


class _DuckDBSide:
    """splink on a private in-memory DuckDB connection (the DuckDB workspace's engine): the
    records are already in this process, and splink's many small scratch tables stay out of
    the client's workspace file (nothing to write to disk, nothing to clean up)."""

    dialect = "duckdb"

    def __init__(self, threads: int | None = None):
        import tempfile

        import psutil

        # DuckDB takes up to 80 % of the machine by default, beside the records this process
        # already holds in pandas; capped, splink's joins spill to a private folder instead
        self._spill = tempfile.TemporaryDirectory(prefix="onetoone-splink-")  # gone with it
        limit = int(psutil.virtual_memory().total * SPLINK_MEMORY_SHARE) // 2**20
        self.con = duckdb.connect(config={"threads": threads or 2, "memory_limit": f"{limit}MB",
                                          "temp_directory": self._spill.name})
        self.con.execute("SET enable_progress_bar = false")

    def load(self, df, name: str) -> None:
        if not isinstance(df, pd.DataFrame):  # an Ibis expression of the DuckDB workspace
            df = df.to_pyarrow()  # Arrow between two DuckDB connections of this process
        self.con.register("__records_df", df)
        names = df.columns if isinstance(df, pd.DataFrame) else df.column_names
        typed = ", ".join(f'CAST("{c}" AS {_LINK_TYPES.get(c, "varchar").upper()}) AS "{c}"'
                          for c in names)  # an all-empty column is not INTEGER
        self.con.execute(f"CREATE TABLE {name} AS SELECT {typed} FROM __records_df")
        self.con.unregister("__records_df")

    def db_api(self):
        from splink import DuckDBAPI

        return DuckDBAPI(self.con)

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def frame(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).fetch_df()

    def close(self) -> None:
        self.con.close()
        self._spill.cleanup()


class _SparkSide:
    """splink on the Spark workspace's session (splink's ``SparkAPI``): the records become a
    temporary view; only counts and the pairs above the keep threshold come back."""

    dialect = "spark"

    def __init__(self, spark):
        self.spark = spark
        self.views: list[str] = []

    def load(self, df, name: str) -> None:
        from pyspark.sql import types as T

        if not isinstance(df, pd.DataFrame):  # an Ibis expression of the Spark workspace
            self._load_table(df, name)
            return
        kinds = {"timestamp": T.TimestampType(), "double": T.DoubleType(), "bigint": T.LongType()}
        schema = T.StructType([T.StructField(c, kinds.get(_LINK_TYPES.get(c, ""), T.StringType()))
                               for c in df.columns])
        out = df.copy()
        if "birth_date_n" in out.columns:  # Arrow hands Spark microseconds
            out["birth_date_n"] = out["birth_date_n"].astype("datetime64[us]")
        for c in out.columns:
            if c not in _LINK_TYPES:
                out[c] = out[c].astype(object).where(out[c].notna(), None)
        # held by the executors, not as a local relation in every query's plan: Spark's
        # optimiser copies a local relation into each of splink's joins (36k records and 13
        # blocking rules ran a 2 GB driver out of memory while planning)
        sdf = self.spark.createDataFrame(out, schema=schema).localCheckpoint(eager=True)
        sdf.createOrReplaceTempView(name)
        self.views.append(name)

    def _load_table(self, expr, name: str) -> None:
        """Records computed by Spark itself: nothing passes through the driver."""
        con = expr._find_backend()
        con._run_pre_execute_hooks(expr)  # its UDFs and memtables
        sdf = self.spark.sql(con.compile(expr))
        kinds = {"timestamp": "timestamp", "double": "double", "bigint": "bigint"}
        sdf = sdf.select(*[sdf[c].cast(kinds.get(_LINK_TYPES.get(c, ""), "string")).alias(c)
                           for c in sdf.columns]).localCheckpoint(eager=True)
        sdf.createOrReplaceTempView(name)
        self.views.append(name)

    def db_api(self):
        from splink.backends.spark import SparkAPI

        # splink writes each intermediate table to Parquet to cut Spark's lineage (right for a
        # cluster); in local mode the data fit one machine, so they are kept in memory instead
        local = self.spark.sparkContext.master.startswith("local")
        api = SparkAPI(spark_session=self.spark, break_lineage_method="persist" if local else None)
        _register_spark_jaro_winkler(self.spark)  # after the jar's functions, which it asks first
        return api

    def rows(self, sql: str) -> list[tuple]:
        return [tuple(r) for r in self.spark.sql(sql).collect()]

    def frame(self, sql: str) -> pd.DataFrame:
        return self.spark.sql(sql).toPandas()

    def close(self) -> None:
        for v in self.views:
            self.spark.catalog.dropTempView(v)


def _logit2(p: float) -> float:
    return float(np.log2(p / (1.0 - p)))


def _refine_prior(eng, table: str, real: str, lam0: float, n_records: int,
                  iterations: int = 30) -> float:
    """The prior re-estimated from the scored pairs: with m and u fixed, the expected number
    of matches is the sum of the pairs' match probabilities (pairs no rule generates add
    next to nothing), so lambda = that sum / all possible pairs, iterated to a fixed point
    (expectation maximisation of the mixing share alone). The deterministic rules' estimate
    rests on a guessed recall; this one does not. The engine returns each distinct weight
    with its count; the iterations run here."""
    n_pairs = n_records * (n_records - 1) / 2
    if n_pairs <= 0:
        return lam0
    w = eng.frame(f"SELECT match_weight AS w, COUNT(*) AS n FROM {table} WHERE {real} "
                  "GROUP BY match_weight")
    bf = w["w"].to_numpy(dtype=float) - _logit2(lam0)
    cnt = w["n"].to_numpy(dtype=float)
    lam = lam0
    for _ in range(iterations):
        total = float((cnt / (1.0 + np.power(2.0, -(bf + _logit2(lam))))).sum())
        new = float(min(max(total / n_pairs, 1e-12), 0.5))
        if abs(new - lam) <= 1e-4 * lam:
            lam = new
            break
        lam = new
    return lam


def _probe_recall(eng, pred: str, real: str, prob: str, share: float, probe_shift: float,
                  threshold: float) -> dict:
    """Blocking recall estimated without ground truth. The loose probe rules (pairs sharing a
    surname, given name, birth date or postcode, around a sample of records of share
    ``share``) were scored in the same prediction as the real rules, after them, so a probe
    pair carries a probe match_key only when no real rule finds it. Among likely matches
    (probability ``prob`` >= ``threshold``; probe pairs with the prediction's weight shifted
    by ``probe_shift``, to the larger of the two priors) touching a probe record, the share
    the real rules found."""
    found, only_loose = eng.rows(
        f"SELECT SUM(CASE WHEN {real} AND {prob} >= {threshold!r} AND (probe_u_l < {share!r} "
        f"OR probe_u_r < {share!r}) THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN NOT ({real}) AND 1.0 / (1.0 + pow(2.0, -(match_weight + "
        f"{probe_shift!r}))) >= {threshold!r} THEN 1 ELSE 0 END) FROM {pred}")[0]
    found, only_loose = int(found or 0), int(only_loose or 0)
    return {"probe_share": share, "pairs_found_by_rules": found,
            "pairs_found_only_by_loose_rules": only_loose,
            "estimated_blocking_recall": (found / (found + only_loose)
                                          if found + only_loose else float("nan"))}


def _train(linker, sdf, eng, plan: ModelPlan):
    """Run the plan's EM sessions; a session that fails leaves the model as it was (the
    linker is rebuilt from the model saved before it)."""
    from splink import block_on

    rows = []
    if plan.training:
        cnt = count_comparisons(eng, "records", plan.training)["comparisons"].tolist()
    else:
        cnt = []
    for rule, n_pairs in zip(plan.training, cnt):
        name = _rule_name(rule)
        if n_pairs < 10:
            rows.append({"session": name, "pairs": int(n_pairs),
                         "status": "skipped: fewer than 10 pairs to learn from"})
            continue
        saved = linker.misc.save_model_to_json()
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*rule), estimate_without_term_frequencies=True,
                max_pairs=2e6 if n_pairs > 2e6 else None)
            rows.append({"session": name, "pairs": int(n_pairs), "status": "trained"})
        except Exception as exc:  # noqa: BLE001  (nothing to learn: the model stays as it was)
            linker = _linker_class()(sdf, saved, log_level=None, validate_settings=False)
            rows.append({"session": name, "pairs": int(n_pairs),
                         "status": f"skipped: {str(exc).splitlines()[0][:160]}"})
    return linker, pd.DataFrame(rows, columns=["session", "pairs", "status"])


def _tie_swapped_levels(linker) -> None:
    """A swapped given and family name is the same evidence as both names agreeing (without
    the term-frequency adjustment), counted once per name comparison: its m and u are set to
    those of the comparison's exact level. Left to EM and random sampling, u is near zero
    (swaps are rare among random pairs), so a swapped common name (Noah Smith / Smith Noah)
    would outweigh every disagreement."""
    for comp in linker._settings_obj.comparisons:
        levels = [lv for lv in comp.comparison_levels if not lv.is_null_level]
        exact = next((lv for lv in levels if lv.label_for_charts == "exact"), None)
        swapped = next((lv for lv in levels if lv.label_for_charts == "first and last name swapped"),
                       None)
        if exact is None or swapped is None or not exact.m_probability or not exact.u_probability:
            continue
        swapped.m_probability = exact.m_probability
        swapped.u_probability = exact.u_probability


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
                         "weight": float(np.log2(m / u)) if m and u else np.nan,
                         "m_trained": bool(lvl._trained_m_probabilities)})
    return pd.DataFrame(rows)


def _tidy_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    ren = {f"{C.RECORD_KEY}_l": "record_key_l", f"{C.RECORD_KEY}_r": "record_key_r"}
    pairs = pairs.rename(columns=ren)
    for f in COMPARISON_READS:
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
                       labels: np.ndarray, unique: dict[int, object] | None = None
                       ) -> list[tuple[int, int]]:
    """Greedy re-clustering of one component: strongest edges first (must-links, with an
    infinite probability, before all), never joining a cannot-link pair, nor two records of
    one unique source unless by a must-link. Writes new labels into ``labels``; returns the
    edges it refused."""
    unique = unique or {}
    parent = {int(v): int(v) for v in nodes}
    members = {int(v): {int(v)} for v in nodes}
    banned: dict[int, set[int]] = {int(v): set() for v in nodes}
    tags: dict[int, set] = {int(v): ({unique[int(v)]} if int(v) in unique else set())
                            for v in nodes}
    for a, b in cannot:
        banned[a].add(b)
        banned[b].add(a)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    refused = []
    forced = np.isinf(edges[C.MATCH_PROBABILITY].to_numpy(dtype=float))
    for a, b, must in zip(edges["i"].to_numpy(), edges["j"].to_numpy(), forced):
        ra, rb = find(int(a)), find(int(b))
        if ra == rb:
            continue
        if members[rb] & banned[ra] or (not must and tags[ra] & tags[rb]):
            refused.append((int(a), int(b)))
            continue
        if len(members[ra]) < len(members[rb]):
            ra, rb = rb, ra
        parent[rb] = ra
        members[ra] |= members.pop(rb)
        banned[ra] |= banned.pop(rb)
        tags[ra] |= tags.pop(rb)
    base = int(labels.max()) + 1
    roots = {}
    for v in nodes:
        r = find(int(v))
        roots.setdefault(r, base + len(roots))
        labels[int(v)] = roots[r]
    return refused


def cluster_records(record_keys: Sequence[str], pairs: pd.DataFrame, threshold: float,
                    must_link: pd.DataFrame | None = None,
                    cannot_link: pd.DataFrame | None = None,
                    unique_source: pd.Series | None = None) -> tuple[pd.DataFrame, dict]:
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
    unique_source
        Per record key, the name of its source when that source is declared unique (null
        otherwise): a cluster never holds two records of one unique source unless a
        must-link joins them (the cluster is re-built from its strongest edges).

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
             "clusters_split": 0, "edges_refused": 0, "unique_source_splits": 0}
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
    unique: dict[int, object] = {}
    if unique_source is not None:
        us = pd.Series(unique_source).reindex(keys)
        unique = {int(i): v for i, v in zip(np.flatnonzero(us.notna().to_numpy()),
                                            us.dropna().to_numpy())}
    bad_components = {labels[a] for a, b in cannot if labels[a] == labels[b]}
    if unique:
        u = pd.DataFrame({"label": labels[list(unique)], "src": list(unique.values())})
        dup = u[u.duplicated(["label", "src"], keep=False)]["label"].unique()
        stats["unique_source_splits"] = int(len(set(dup) - bad_components))
        bad_components |= set(int(x) for x in dup)
    if bad_components:
        order = e.sort_values([C.MATCH_PROBABILITY, "i", "j"], ascending=[False, True, True])
        for comp in sorted(bad_components):
            nodes = np.flatnonzero(labels == comp)
            inside = order[np.isin(order["i"].to_numpy(), nodes)]
            cset = [(a, b) for a, b in cannot if labels[a] == comp and labels[b] == comp]
            refused = _split_constrained(nodes, inside, set(cset), labels, unique)
            stats["clusters_split"] += 1
            stats["edges_refused"] += len(refused)
    out = pd.DataFrame({C.RECORD_KEY: keys.to_numpy(), "__label": labels})
    out["cluster"] = out.groupby("__label")[C.RECORD_KEY].transform("min")
    out[C.CLUSTER_SIZE] = out.groupby("__label")[C.RECORD_KEY].transform("size").astype("int64")
    # the cluster's strongest pairwise probability (edges kept inside a final cluster)
    e = e.assign(li=labels[e["i"].to_numpy()], lj=labels[e["j"].to_numpy()])
    inside = e[e["li"] == e["lj"]]
    prob = inside.assign(p=inside[C.MATCH_PROBABILITY].clip(upper=1.0)).groupby("li")["p"].max()
    out[C.MATCH_PROBABILITY] = out["__label"].map(prob).astype("float64")
    out.loc[out[C.CLUSTER_SIZE] == 1, C.MATCH_PROBABILITY] = np.nan
    return out.drop(columns="__label"), stats


def customer_ids(cluster_keys: pd.Series, prefix: str = "C") -> pd.Series:
    """Stable customer ids: ``C`` + 10 hex digits of a hash of the cluster's smallest record
    key. The same cluster gets the same id on every run, on any machine; collisions (about one
    in 10^12 per pair) get a numbered suffix, deterministically (:func:`customer_id_table`)."""
    from ..vectorised import local_table

    keys = pd.DataFrame({"cluster": pd.unique(cluster_keys.astype(str))}).astype("string")
    ids = customer_id_table(local_table(keys, "clusters"), "cluster", prefix).to_pandas()
    ids = ids.astype({"cluster": str})
    return cluster_keys.astype(str).map(ids.set_index("cluster")[C.CUSTOMER_ID])


def customer_id_table(clusters, key: str = "cluster", prefix: str = "C"):
    """The Ibis table ``clusters`` with a ``customer_id`` column from its cluster key
    ``key``, inside the engine. The hash is a vectorised UDF
    (:func:`onetoone.vectorised.sha1_prefix`); distinct keys whose hashes collide are
    numbered in key order (the first keeps the bare id, the next gets ``-1``, ...) by a dense
    rank over the hash."""
    import ibis

    from ..vectorised import series_udf, sha1_prefix

    sha = series_udf(clusters, lambda k: sha1_prefix(k, prefix), f"onetoone_customer_id_{prefix}")
    t = clusters.mutate(__id=sha(clusters[key].cast("string")))
    nth = ibis.dense_rank().over(ibis.window(group_by=t["__id"], order_by=t[key]))
    t = t.mutate(__nth=nth)
    cid = ibis.ifelse(t["__nth"] == 0, t["__id"], t["__id"].concat("-", t["__nth"].cast("string")))
    return t.mutate(**{C.CUSTOMER_ID: cid}).drop("__id", "__nth")


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
BIRTH_DATE_AGREES = (3, 4, 5)  # one digit differs, day and month swapped, exact


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
    none = pd.Series(-1, index=pairs.index)
    strong = pd.Series(False, index=pairs.index)
    for c in IDENTIFIER_COLUMNS:  # an identifier in common is personal evidence too
        g = pairs.get(f"gamma_{c.removesuffix('_n')}")
        if g is not None:
            strong |= g >= 1  # exact or one typo
    return ((pairs["gamma_first_name"] == GIVEN_NAME_DIFFERENT)
            & (pairs.get("gamma_phone", none) != PHONE_EXACT)
            & ~pairs.get("gamma_birth_date", none).isin(BIRTH_DATE_AGREES) & ~strong)
