"""What Customize knows about each customer: region, name, tier and needs segment.

Sources, best first: Identify's golden ``customers`` (else the source ``customer_records``,
whose ``record_key`` is the customer id before Identify has run), Differentiate's
``customer_value`` for value, tier and segment. Tiers follow one rule, Differentiate's: read
with :func:`onetoone.differentiate.read.customer_tiers`, which applies the documented fallback
(:data:`onetoone.differentiate.tiers.FALLBACK_RULE`) when Differentiate has not run; then
everybody is in one segment ("all customers"). :func:`customer_profile` says which sources it
used in ``df.attrs["sources"]``.
"""

from __future__ import annotations

import ibis
import pandas as pd

from .. import columns as C
from ..customers import with_customer_id
from ..differentiate.read import customer_tiers
from ..differentiate.tiers import FALLBACK_RULE
from ..workspace import Workspace

__all__ = ["SEGMENT", "SEGMENT_NAME", "TIER", "customer_profile"]

TIER = C.TIER
SEGMENT = C.SEGMENT
SEGMENT_NAME = C.SEGMENT_NAME


def _config_for(ws: Workspace, cfg, mvc_share: float, bz_max_contribution: float):
    """The client config, or (for callers without one) a stand-in with the tier shares given and
    the last transaction date as the analysis date."""
    if cfg is not None:
        return cfg
    from ..config import ClientConfig, Tiers

    t = ws.table("transactions")
    last = t[C.DATE].max().to_pyarrow().as_py()
    return ClientConfig(client="(no config)", as_of=pd.Timestamp(last).date(), sources=[],
                        tiers=Tiers(mvc_share=mvc_share, bz_max_contribution=bz_max_contribution))


def customer_profile(ws: Workspace, *, cfg=None, mvc_share: float = 0.05,
                     bz_max_contribution: float = 0.0) -> pd.DataFrame:
    """One row per customer who bought something: region, first_name, tier, segment.

    ``cfg``: the client config (its tier thresholds, as-of date and channel costs feed the
    fallback tiers when Differentiate has not run); without it, ``mvc_share`` and
    ``bz_max_contribution`` are used with the last transaction date.

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
    region_of_tx = (t.filter(t[C.REGION].notnull()).group_by([C.CUSTOMER_ID, C.REGION])
                    .aggregate(n=ibis._.count()) if C.REGION in t.columns else None)
    base = t.select(C.CUSTOMER_ID).distinct().to_pandas()
    base[C.CUSTOMER_ID] = base[C.CUSTOMER_ID].astype(str)
    values, source = customer_tiers(
        _config_for(ws, cfg, mvc_share, bz_max_contribution), ws,
        columns=(C.REVENUE, C.CONTRIBUTION, SEGMENT, SEGMENT_NAME, C.CLV, C.POTENTIAL))
    base = base.merge(values[[c for c in values.columns if c in (C.CUSTOMER_ID, C.REVENUE,
                                                                   C.CONTRIBUTION)]],
                      on=C.CUSTOMER_ID, how="left")
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
    extra = [c for c in values.columns if c not in (C.REVENUE, C.CONTRIBUTION)]
    df = df.merge(values[extra], on=C.CUSTOMER_ID, how="left")
    df[TIER] = df[TIER].fillna("maintain")  # bought after customer_value was written
    if source == "differentiate" and SEGMENT in df:
        if SEGMENT_NAME not in df:
            df[SEGMENT_NAME] = "segment " + df[SEGMENT].astype(str)
        df[SEGMENT] = df[SEGMENT].fillna(-1).astype(int)
        df[SEGMENT_NAME] = df[SEGMENT_NAME].fillna("unsegmented")
        sources.append("customer_value")
    else:
        df[SEGMENT] = 0
        df[SEGMENT_NAME] = "all customers"
        missing.append(f"customer_value (Differentiate): one segment for everybody; "
                       f"{FALLBACK_RULE}")
    df.attrs["sources"] = sources
    df.attrs["missing"] = missing
    return df
