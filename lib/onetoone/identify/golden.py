"""Golden records: one row per customer, each field chosen by its survivorship rule.

Rules (set per field in the client config, ``identify.survivorship``):

``most_recent``
    the value of the most recently updated source record that has one (the default);
``most_frequent``
    the value most of the customer's records agree on (ties: the most recent);
``source_priority``
    the value from the first source system in ``identify.source_priority`` that has one
    (ties and unlisted systems: the most recent).

Empty values never win. Email and phone survive in their normalised form (lower-case email,
E.164 phone), so the golden record is ready for a campaign tool.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from .. import columns as C

RULES = ("most_recent", "most_frequent", "source_priority")
GOLDEN_FIELDS: tuple[str, ...] = tuple(
    c.name for c in C.columns_of("customer_records") if c.name != C.RECORD_ID)
"""Every canonical customer-record column except the source's own id."""

_TITLE_CASE = (C.FIRST_NAME, C.LAST_NAME, C.STREET, C.CITY)  # "WALKER" from an old POS -> "Walker"
_NORMALISED_OUTPUT = {C.EMAIL: "email_n", C.PHONE: "phone_n"}


def golden_records(records: pd.DataFrame, survivorship: Mapping[str, str] | None = None,
                   source_priority: Sequence[str] = (), *, fields: Sequence[str] = GOLDEN_FIELDS,
                   customer_id: str = C.CUSTOMER_ID, record_key: str = C.RECORD_KEY,
                   source_system: str = C.SOURCE_SYSTEM,
                   updated_at: str = C.UPDATED_AT, created_at: str = C.CREATED_AT) -> pd.DataFrame:
    """One golden record per customer.

    Parameters
    ----------
    records
        Source records with ``customer_id`` (and, when present, the normalised ``email_n`` /
        ``phone_n`` columns, which then survive instead of the raw ones).
    survivorship
        Field -> rule; fields not named use ``most_recent``.
    source_priority
        Source systems, most trusted first (for ``source_priority`` fields).

    Returns
    -------
    pandas.DataFrame
        customer_id, every field, n_records, sources (';'-joined source systems, sorted),
        first_seen (earliest created_at).
    """
    from ..vectorised import local_table

    df = records.copy()
    for c in df.columns:  # object columns of Python objects (dates, None) as the engine's types
        if df[c].dtype == object and df[c].map(type).isin([str, type(None)]).all():
            df[c] = df[c].astype("string")
    out = golden_table(local_table(df, "records"), survivorship, source_priority, fields=fields,
                       customer_id=customer_id, record_key=record_key,
                       source_system=source_system, updated_at=updated_at,
                       created_at=created_at).to_pandas()
    return out.sort_values(customer_id, kind="stable").reset_index(drop=True)


_RANK_SPAN = 1 << 40
"""Ranks within a customer stay below this (a composite sort key: priority * span + rank)."""


def _shouting_to_title(s: pd.Series) -> pd.Series:
    """Values written all in capitals ("WALKER" from an old POS) in title case ("Walker")."""
    out = s.astype(object)
    text = out.where(out.notna(), None)
    shout = text.notna() & text.astype(str).str.isupper()
    out = out.where(~shout, text[shout].astype(str).str.title()) if shout.any() else out
    return out.where(out.notna(), None)


def golden_table(records, survivorship: Mapping[str, str] | None = None,
                 source_priority: Sequence[str] = (), *, fields: Sequence[str] = GOLDEN_FIELDS,
                 customer_id: str = C.CUSTOMER_ID, record_key: str = C.RECORD_KEY,
                 source_system: str = C.SOURCE_SYSTEM, updated_at: str = C.UPDATED_AT,
                 created_at: str = C.CREATED_AT):
    """:func:`golden_records` as an Ibis expression on the records' own engine.

    ``records`` is an Ibis table of source records with ``customer_id`` (and the normalised
    ``email_n`` / ``phone_n``); the result has one row per customer with the columns
    :func:`golden_records` returns, computed by group-bys inside the engine (DuckDB or
    Spark): each record's recency rank is a window over its customer, a ``most_recent`` or
    ``source_priority`` field is the value with the smallest rank (``arg_min`` / ``min_by``)
    among the customer's non-empty values, a ``most_frequent`` field counts each value per
    customer first. Title-casing runs as a vectorised UDF of the same Python code
    (:func:`onetoone.vectorised.series_udf`), so both engines give identical rows.
    """
    import ibis

    from ..vectorised import series_udf

    survivorship = dict(survivorship or {})
    bad = {f: r for f, r in survivorship.items() if r not in RULES}
    if bad:
        raise ValueError(f"unknown survivorship rule(s) {bad}; expected one of {RULES}")
    t = records
    for f in (updated_at, created_at):
        if f not in t.columns:
            t = t.mutate(**{f: ibis.null().cast("timestamp")})
    order = [ibis.desc(t[updated_at], nulls_first=False),
             ibis.desc(t[created_at], nulls_first=False), t[record_key]]
    rank = ibis.row_number().over(ibis.window(group_by=t[customer_id], order_by=order))
    prio = ibis.cases(*[(t[source_system] == s, i) for i, s in enumerate(source_priority)],
                      else_=len(source_priority)) if source_priority else \
        ibis.literal(len(source_priority))
    t = t.mutate(__rank=rank, __prio=prio.cast("int64"))

    def valid(v):
        return v.notnull() & (v.strip() != "") if v.type().is_string() else v.notnull()

    aggs = {C.N_RECORDS: t.count(), "__systems": t[source_system].cast("string").collect(
                distinct=True), "first_seen": t[created_at].min()}
    frequent = []
    for f in fields:
        src = _NORMALISED_OUTPUT.get(f, f)
        src = src if src in t.columns else f
        if src not in t.columns:
            continue
        rule = survivorship.get(f, "most_recent")
        v = t[src]
        if rule == "most_recent":
            aggs[f] = v.argmin(t["__rank"], where=valid(v))
        elif rule == "source_priority":
            aggs[f] = v.argmin(t["__prio"] * _RANK_SPAN + t["__rank"], where=valid(v))
        else:
            frequent.append((f, src))
    out = t.group_by(customer_id).aggregate(**aggs)
    for f, src in frequent:  # count each value, ties go to the most recent
        v = t[src]
        key = v.strip().lower() if v.type().is_string() else v
        kept = t.filter(valid(v)).mutate(__k=key)
        cnt = kept.group_by([customer_id, "__k"]).aggregate(
            __n=kept.count(), __r=kept["__rank"].min(), __v=kept[src].argmin(kept["__rank"]))
        win = cnt.group_by(customer_id).aggregate(
            **{f: cnt["__v"].argmin((-cnt["__n"]) * _RANK_SPAN + cnt["__r"])})
        out = out.left_join(win, customer_id).select(
            *[c for c in out.columns], win[f])
    systems = out["__systems"].sort().join(";")
    title = series_udf(out, _shouting_to_title, "onetoone_golden_title_case")
    cols = {customer_id: out[customer_id]}
    for f in fields:
        if f not in out.columns:
            cols[f] = ibis.null().cast("string")
        elif f in _TITLE_CASE and out[f].type().is_string():
            cols[f] = title(out[f])
        else:
            cols[f] = out[f]
    cols[C.N_RECORDS] = out[C.N_RECORDS].cast("int64")
    cols["sources"] = ibis.coalesce(systems, ibis.literal(""))
    cols["first_seen"] = out["first_seen"]
    return out.select(**cols)
