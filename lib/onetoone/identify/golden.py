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

import numpy as np
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
    survivorship = dict(survivorship or {})
    bad = {f: r for f, r in survivorship.items() if r not in RULES}
    if bad:
        raise ValueError(f"unknown survivorship rule(s) {bad}; expected one of {RULES}")
    df = records.copy()
    for f in (updated_at, created_at):
        if f not in df.columns:
            df[f] = pd.NaT
    # recency rank: 0 = most recently updated record of the customer
    df = df.sort_values([customer_id, updated_at, created_at, record_key],
                        ascending=[True, False, False, True], na_position="last", kind="stable")
    df["__rank"] = np.arange(len(df))
    prio = {s: i for i, s in enumerate(source_priority)}
    df["__prio"] = df[source_system].map(prio).fillna(len(prio)).astype(int)
    base = df.groupby(customer_id, sort=True)
    out = pd.DataFrame(index=pd.Index(base.size().index, name=customer_id))
    out[C.N_RECORDS] = base.size().astype("int64")
    systems = (df[[customer_id, source_system]].dropna().astype({source_system: str})
               .drop_duplicates().sort_values([customer_id, source_system]))
    joined = (systems[source_system] + ";").groupby(systems[customer_id], sort=True).sum()
    out["sources"] = joined.str[:-1].reindex(out.index).fillna("")
    out["first_seen"] = base[created_at].min()
    for f in fields:
        src = _NORMALISED_OUTPUT.get(f, f)
        if src not in df.columns:
            src = f
        if src not in df.columns:
            out[f] = None
            continue
        rule = survivorship.get(f, "most_recent")
        vals = df[[customer_id, src, "__rank", "__prio"]].rename(columns={src: "v"})
        if vals["v"].dtype == object:
            blank = vals["v"].astype(str).str.strip().eq("")
            vals = vals[vals["v"].notna() & ~blank]
        else:
            vals = vals[vals["v"].notna()]
        if rule == "most_recent":
            win = vals.drop_duplicates(customer_id)  # already in recency order
        elif rule == "source_priority":
            win = vals.sort_values([customer_id, "__prio", "__rank"]).drop_duplicates(customer_id)
        else:  # most_frequent: count each value, ties go to the most recent
            key = vals["v"].astype(str).str.strip().str.lower() if vals["v"].dtype == object \
                else vals["v"]
            vals = vals.assign(__k=key)
            cnt = vals.groupby([customer_id, "__k"], sort=False).agg(
                n=("v", "size"), r=("__rank", "min"), v=("v", "first")).reset_index()
            win = cnt.sort_values([customer_id, "n", "r"], ascending=[True, False, True]) \
                .drop_duplicates(customer_id)
        out[f] = win.set_index(customer_id)["v"].reindex(out.index)
    for f in _TITLE_CASE:
        if f in out.columns and out[f].dtype == object:
            v = out[f]
            shout = v.notna() & v.astype(str).str.isupper()
            out.loc[shout, f] = v[shout].astype(str).str.title()
    out = out.reset_index()
    lead = [customer_id, *[f for f in fields], C.N_RECORDS, "sources", "first_seen"]
    return out[lead]
