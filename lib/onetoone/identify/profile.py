"""Profile completeness and consent: what we know about each customer and how we may reach them.

- :func:`completeness`: share of customers (golden records) with each attribute known, and
  the same per source system (what each source contributes).
- :func:`addressable`: who can be contacted on which outbound channel: the contact detail is
  known *and* the customer opted in.
- :func:`questions_to_ask`: the attributes most worth asking next ("ask one or two questions
  at every contact"): how many customers lack each, weighted by what knowing it unlocks.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .. import columns as C

PROFILE_ATTRIBUTES: tuple[str, ...] = (
    C.FIRST_NAME, C.LAST_NAME, C.EMAIL, C.PHONE, C.STREET, C.POSTCODE, C.CITY, C.BIRTH_DATE,
    C.GENDER, C.HOUSEHOLD_SIZE, C.PREFERRED_CHANNEL, C.INTERESTS)
"""Attributes whose presence is measured."""

QUESTION_VALUE: dict[str, tuple[float, str]] = {
    C.EMAIL: (3.0, "opens the cheapest outbound channel and identifies the customer online"),
    C.PREFERRED_CHANNEL: (2.5, "lets every contact use the channel the customer asked for"),
    C.INTERESTS: (2.5, "drives recommendations and subject catalog editions"),
    C.PHONE: (2.0, "recognises the customer at the call centre; opens SMS and phone"),
    C.BIRTH_DATE: (1.5, "separates namesakes in matching; birthday offers; life stage"),
    C.HOUSEHOLD_SIZE: (1.0, "sizes the wallet and the needs segment"),
    C.STREET: (1.0, "opens postal mail; regional editions"),
    C.POSTCODE: (1.0, "regional editions; address matching"),
    C.GENDER: (0.5, "only when the offer differs"),
}
"""Attribute -> (value of knowing it, why). Attributes not listed are not asked for."""

CHANNEL_NEEDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "email": (C.CONSENT_EMAIL, (C.EMAIL,)),
    "sms": (C.CONSENT_SMS, (C.PHONE,)),
    "call_centre": (C.CONSENT_PHONE, (C.PHONE,)),
    "mail": (C.CONSENT_MAIL, (C.STREET, C.POSTCODE)),
}
"""Outbound channel -> (consent column, contact details it needs)."""


def _known(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df.columns:
        return pd.Series(False, index=df.index)
    s = df[col]
    k = s.notna()
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        k &= s.astype(str).str.strip().ne("")
    return k


def known_matrix(df: pd.DataFrame, attributes=PROFILE_ATTRIBUTES) -> pd.DataFrame:
    """Boolean frame: is each attribute known, per row (customer or record)."""
    return pd.DataFrame({a: _known(df, a).to_numpy() for a in attributes}, index=df.index)


def completeness(customers: pd.DataFrame, records: pd.DataFrame | None = None,
                 attributes=PROFILE_ATTRIBUTES, *,
                 source_system: str = C.SOURCE_SYSTEM) -> pd.DataFrame:
    """Share of rows with each attribute known: per source system (records) and for the
    golden records (column ``"golden record"``). Rows are attributes.
    """
    cols = {}
    if records is not None and len(records):
        for sysname, g in records.groupby(source_system, sort=True):
            cols[f"{sysname} records"] = known_matrix(g, attributes).mean()
    cols["golden record"] = known_matrix(customers, attributes).mean()
    out = pd.DataFrame(cols)
    out.index.name = "attribute"
    return out


def addressable(customers, channels: Mapping = CHANNEL_NEEDS) -> pd.DataFrame:
    """Per outbound channel: customers with the contact detail, with consent, and both.

    ``customers``: the golden records as a DataFrame, or as an Ibis table (the counts are then
    one aggregate in its engine and no customer is fetched).

    Returns
    -------
    pandas.DataFrame
        channel, customers, with_contact, with_consent, addressable, share (addressable /
        customers).
    """
    if not isinstance(customers, pd.DataFrame):
        return _addressable_in_engine(customers, channels)
    n = len(customers)
    rows = []
    for ch, (consent, needs) in channels.items():
        contact = np.ones(n, bool)
        for col in needs:
            contact &= _known(customers, col).to_numpy()
        ok = (customers[consent].fillna(False).astype(bool).to_numpy() if consent in customers
              else np.zeros(n, bool))
        rows.append({"channel": ch, "customers": n, "with_contact": int(contact.sum()),
                     "with_consent": int(ok.sum()), "addressable": int((contact & ok).sum()),
                     "share": float((contact & ok).mean()) if n else float("nan")})
    return pd.DataFrame(rows)


def _addressable_in_engine(t, channels: Mapping) -> pd.DataFrame:
    import ibis
    import ibis.expr.types as ir

    def known(col: str):
        if col not in t.columns:
            return ibis.literal(False)
        v = t[col]
        return (v.notnull() & (v.cast("string").strip() != "")) if v.type().is_string() \
            else v.notnull()

    aggs = {"n": t.count()}
    for i, (_, (consent, needs)) in enumerate(channels.items()):
        contact = ibis.literal(True)
        for col in needs:
            contact = contact & known(col)
        ok = (t[consent].cast("boolean").fill_null(False) if consent in t.columns
              else ibis.literal(False))
        for key, cond in ((f"c{i}", contact), (f"o{i}", ok), (f"b{i}", contact & ok)):
            # a column missing altogether makes a constant False: nobody counts
            aggs[key] = (cond.cast("int64").sum() if isinstance(cond, ir.Column)
                         else ibis.literal(0, "int64"))
    r = t.aggregate(**aggs).to_pandas().iloc[0]
    n = int(r["n"])
    rows = []
    for i, ch in enumerate(channels):
        both = int(r[f"b{i}"] or 0)
        rows.append({"channel": ch, "customers": n, "with_contact": int(r[f"c{i}"] or 0),
                     "with_consent": int(r[f"o{i}"] or 0), "addressable": both,
                     "share": both / n if n else float("nan")})
    return pd.DataFrame(rows)


def addressable_flags(customers: pd.DataFrame, channels: Mapping = CHANNEL_NEEDS,
                      customer_id: str = C.CUSTOMER_ID) -> pd.DataFrame:
    """Per customer: one boolean column per outbound channel (may we reach them there?)."""
    out = pd.DataFrame({customer_id: customers[customer_id].to_numpy()})
    for ch, (consent, needs) in channels.items():
        ok = (customers[consent].fillna(False).astype(bool).to_numpy() if consent in customers
              else np.zeros(len(customers), bool))
        for col in needs:
            ok &= _known(customers, col).to_numpy()
        out[f"addressable_{ch}"] = ok
    return out


def questions_to_ask(customers: pd.DataFrame,
                     values: Mapping[str, tuple[float, str]] = QUESTION_VALUE) -> pd.DataFrame:
    """The attributes most worth asking next, best first.

    Score = customers missing the attribute x its value (:data:`QUESTION_VALUE`).

    Returns
    -------
    pandas.DataFrame
        attribute, missing (customers), share_missing, value, score, why.
    """
    n = max(len(customers), 1)
    rows = []
    for a, (v, why) in values.items():
        miss = int((~_known(customers, a)).sum())
        rows.append({"attribute": a, "missing": miss, "share_missing": miss / n, "value": v,
                     "score": miss * v, "why": why})
    return pd.DataFrame(rows).sort_values(["score", "attribute"], ascending=[False, True]) \
        .reset_index(drop=True)


def next_question(customers: pd.DataFrame,
                  values: Mapping[str, tuple[float, str]] = QUESTION_VALUE,
                  customer_id: str = C.CUSTOMER_ID) -> pd.DataFrame:
    """Per customer, the single most valuable attribute still unknown (None when complete)."""
    order = sorted(values, key=lambda a: -values[a][0])
    q = pd.Series(None, index=customers.index, dtype=object)
    for a in reversed(order):  # the most valuable missing attribute is written last
        q = q.mask(~_known(customers, a), a)
    return pd.DataFrame({customer_id: customers[customer_id].to_numpy(), "question": q.to_numpy()})
