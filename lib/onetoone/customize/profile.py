"""What Customize knows about each customer: region, name, tier and needs segment.

Sources, best first: Identify's golden ``customers`` (else the source ``customer_records``,
whose ``record_key`` is the customer id before Identify has run), Differentiate's
``customer_value`` for tier and segment. Without ``customer_value`` everybody is in one
segment ("all customers") and the tier comes from the revenue rank (top ``mvc_share`` = MVC,
contribution at or below ``bz_max_contribution`` = BZ, the rest maintain; MGC needs the
potential Differentiate estimates, so nobody is MGC). :func:`customer_profile` says which
sources it used in ``df.attrs["sources"]``.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from .. import columns as C
from ..customers import with_customer_id
from ..workspace import Workspace

__all__ = ["SEGMENT", "SEGMENT_NAME", "TIER", "customer_profile", "fallback_tiers"]

TIER = "tier"
SEGMENT = "segment"
SEGMENT_NAME = "segment_name"


def fallback_tiers(revenue: pd.Series, contribution: pd.Series | None = None, *,
                   mvc_share: float = 0.05, bz_max_contribution: float = 0.0) -> pd.Series:
    """Tiers from the revenue rank when Differentiate has not run: MVC, BZ or maintain."""
    tier = pd.Series("maintain", index=revenue.index, dtype=object)
    n_top = int(np.ceil(mvc_share * len(revenue)))
    if n_top:
        tier[revenue.rank(ascending=False, method="first") <= n_top] = "MVC"
    if contribution is not None:
        tier[(contribution <= bz_max_contribution) & (tier != "MVC")] = "BZ"
    return tier


def customer_profile(ws: Workspace, *, mvc_share: float = 0.05,
                     bz_max_contribution: float = 0.0) -> pd.DataFrame:
    """One row per customer who bought something: region, first_name, tier, segment.

    Returns
    -------
    DataFrame
        ``customer_id, region, first_name, revenue, contribution, tier, segment,
        segment_name`` (and ``clv`` when Differentiate ran). ``attrs["sources"]`` names the
        tables used and ``attrs["missing"]`` what was missing.
    """
    sources, missing = [], []
    t = with_customer_id(ws, "transactions")
    t = t.filter(t[C.CUSTOMER_ID].notnull())
    cost = t[C.COST].fill_null(0) if C.COST in t.columns else ibis.literal(0.0)
    region_of_tx = (t.filter(t[C.REGION].notnull()).group_by([C.CUSTOMER_ID, C.REGION])
                    .aggregate(n=ibis._.count()) if C.REGION in t.columns else None)
    base = (t.group_by(C.CUSTOMER_ID)
            .aggregate(revenue=t[C.AMOUNT].sum(), contribution=(t[C.AMOUNT] - cost).sum())
            .to_pandas())
    base[C.CUSTOMER_ID] = base[C.CUSTOMER_ID].astype(str)
    people = None
    if ws.has("customers"):
        cols = [c for c in (C.CUSTOMER_ID, C.REGION, C.FIRST_NAME) if c in
                ws.table("customers").columns]
        people = ws.read("customers", cols)
        sources.append("customers")
    elif ws.has("customer_records"):
        rec = ws.table("customer_records")
        cols = [c for c in (C.REGION, C.FIRST_NAME) if c in rec.columns]
        people = rec.select(rec[C.RECORD_KEY].name(C.CUSTOMER_ID), *cols).to_pandas()
        people = people.drop_duplicates(C.CUSTOMER_ID)
        sources.append("customer_records")
        missing.append("customers (Identify): each source record counts as a customer")
    df = base
    if people is not None:
        people[C.CUSTOMER_ID] = people[C.CUSTOMER_ID].astype(str)
        df = df.merge(people, on=C.CUSTOMER_ID, how="left")
    for c in (C.REGION, C.FIRST_NAME):
        if c not in df:
            df[c] = None
    if region_of_tx is not None and df[C.REGION].isna().any():
        modal = region_of_tx.to_pandas().sort_values([C.CUSTOMER_ID, "n", C.REGION],
                                                     ascending=[True, False, True])
        modal = modal.drop_duplicates(C.CUSTOMER_ID).set_index(C.CUSTOMER_ID)[C.REGION]
        modal.index = modal.index.astype(str)
        df[C.REGION] = df[C.REGION].fillna(df[C.CUSTOMER_ID].map(modal))
    df[C.REGION] = df[C.REGION].fillna("(unknown)")
    cv_cols = None
    if ws.has("customer_value"):
        have = ws.table("customer_value").columns
        cv_cols = [c for c in (C.CUSTOMER_ID, TIER, SEGMENT, SEGMENT_NAME, "clv", "potential")
                   if c in have]
    if cv_cols and TIER in cv_cols and SEGMENT in cv_cols:
        cv = ws.read("customer_value", cv_cols)
        cv[C.CUSTOMER_ID] = cv[C.CUSTOMER_ID].astype(str)
        df = df.merge(cv, on=C.CUSTOMER_ID, how="left")
        if SEGMENT_NAME not in df:
            df[SEGMENT_NAME] = "segment " + df[SEGMENT].astype(str)
        fb = fallback_tiers(df["revenue"], df["contribution"], mvc_share=mvc_share,
                            bz_max_contribution=bz_max_contribution)
        df[TIER] = df[TIER].fillna(fb)
        df[SEGMENT] = df[SEGMENT].fillna(-1).astype(int)
        df[SEGMENT_NAME] = df[SEGMENT_NAME].fillna("unsegmented")
        sources.append("customer_value")
    else:
        df[TIER] = fallback_tiers(df["revenue"], df["contribution"], mvc_share=mvc_share,
                                  bz_max_contribution=bz_max_contribution)
        df[SEGMENT] = 0
        df[SEGMENT_NAME] = "all customers"
        missing.append("customer_value (Differentiate): one segment for everybody, tiers from "
                       "the revenue rank (MVC, BZ, maintain; no MGC without potential)")
    df.attrs["sources"] = sources
    df.attrs["missing"] = missing
    return df
