"""What Interact reads from the workspace, and what it does when something is missing.

Every function here returns either an Ibis expression (transaction- or contact-scale rows,
left inside the engine) or a per-customer pandas frame:

- :func:`activity`: transactions and interactions with ``customer_id`` attached;
- :func:`customer_profile`: one row per customer with consent per channel and the profile
  attributes (golden record when Identify has run, else the source records);
- :func:`customer_values`: Differentiate's ``customer_value`` when present, else the one
  documented fallback (:func:`onetoone.differentiate.read.customer_tiers`: Differentiate's
  tier rule on its historical value summary), with a note saying so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from .. import columns as C
from ..customers import identified, with_customer_id
from ..differentiate.read import customer_tiers
from ..differentiate.tiers import TIERS  # noqa: F401  (re-exported: Differentiate's tiers)
from ..differentiate.value import line_costs
from ..workspace import Workspace

PROFILE_ATTRIBUTES = (C.EMAIL, C.PHONE, C.STREET, C.POSTCODE, C.BIRTH_DATE, C.HOUSEHOLD_SIZE,
                      C.PREFERRED_CHANNEL, C.INTERESTS, C.GENDER)
"""Customer-record columns progressive profiling looks at (absent columns count as unknown)."""

CONSENT_COLUMNS = tuple(dict.fromkeys(C.CONSENT_CHANNELS.values()))


@dataclass
class Activity:
    """Transactions and interactions of recognised customers, as Ibis expressions."""

    transactions: ibis.Table | None
    interactions: ibis.Table | None
    notes: list[str] = field(default_factory=list)


def _day(as_of: dt.date | str) -> dt.date:
    return pd.Timestamp(as_of).date()


def activity(ws: Workspace) -> Activity:
    """Transactions and interactions with ``customer_id``; anonymous rows are dropped.

    A missing table gives ``None`` and a note on what it would add.
    """
    notes = []
    tx = it = None
    if ws.has("transactions"):
        t = with_customer_id(ws, "transactions")
        tx = t.filter(t[C.CUSTOMER_ID].notnull())
    else:
        notes.append("No transactions: values, lost customers and purchase history cannot be "
                     "measured; the plan can only ask profile questions.")
    if ws.has("interactions"):
        t = with_customer_id(ws, "interactions")
        it = t.filter(t[C.CUSTOMER_ID].notnull())
    else:
        notes.append("No interactions file: the plan is built from transactions alone. Contact "
                     "history would add the badgering check, quiet time after complaints, "
                     "channel costs and response rates measured from the client's own data, "
                     "repeat complainers, and questions already asked.")
    return Activity(tx, it, notes)


def customer_profile(ws: Workspace, *, customer_id: str = C.CUSTOMER_ID) -> pd.DataFrame:
    """One row per customer: consent per channel (bool, unknown = False) and profile attributes.

    The golden record (``customers``) when Identify wrote it; else each customer's most
    recently updated source record (resolved through ``record_map`` when it exists, so consent
    is the latest one the customer gave); else each source record is its own customer.
    """
    if ws.has("customers"):
        t = ws.table("customers")
    elif ws.has("customer_records"):
        t = with_customer_id(ws, "customer_records")
        if identified(ws):
            order = [ibis.desc(t[C.UPDATED_AT]) if C.UPDATED_AT in t.columns else ibis.desc(t[C.RECORD_KEY])]
            t = (t.mutate(__rn=ibis.row_number().over(group_by=t[customer_id], order_by=order))
                 .filter(lambda x: x["__rn"] == 0).drop("__rn"))
    else:
        return _empty_profile(customer_id)
    keep = [c for c in (customer_id, *CONSENT_COLUMNS, *PROFILE_ATTRIBUTES) if c in t.columns]
    df = t.select(keep).to_pandas()
    return _normalise_profile(df, customer_id)


def _empty_profile(customer_id: str) -> pd.DataFrame:
    cols = {customer_id: pd.Series([], dtype="str")}
    cols.update({c: pd.Series([], dtype=bool) for c in CONSENT_COLUMNS})
    return pd.DataFrame(cols)


def _normalise_profile(df: pd.DataFrame, customer_id: str) -> pd.DataFrame:
    df = df.drop_duplicates(customer_id).reset_index(drop=True)
    df[customer_id] = df[customer_id].astype("str")
    for c in CONSENT_COLUMNS:
        df[c] = (df[c].fillna(False).astype(bool) if c in df.columns
                 else np.zeros(len(df), dtype=bool))
    return df


# -- values ------------------------------------------------------------------------------------
VALUE_COLUMNS = (C.REVENUE, C.CONTRIBUTION, C.CLV, C.POTENTIAL, C.UNREALISED_POTENTIAL, C.TIER,
                 C.REVENUE_12M, C.REVENUE_PREV_12M, C.LAST_PURCHASE, C.P_ALIVE, C.SEGMENT_NAME)


def purchase_summary(tx: ibis.Table, as_of: dt.date | str, *, customer_id: str = C.CUSTOMER_ID,
                     date: str = C.DATE, amount: str = C.AMOUNT, cost: str = C.COST,
                     products: ibis.Table | None = None) -> pd.DataFrame:
    """Per customer: revenue, margin, orders, first/last purchase, last 12 months and the 12
    before, and revenue in the two years before the last 12 months (computed in the engine).

    Margin follows Differentiate's rule (:func:`onetoone.differentiate.value.line_costs`): the
    line's cost, else quantity x the product's unit cost (``products``), else none.
    """
    end = ibis.timestamp(pd.Timestamp(_day(as_of)) + pd.Timedelta(days=1))
    y1 = ibis.timestamp(pd.Timestamp(_day(as_of)) + pd.Timedelta(days=1) - pd.Timedelta(days=365))
    y2 = ibis.timestamp(pd.Timestamp(_day(as_of)) + pd.Timedelta(days=1) - pd.Timedelta(days=730))
    y3 = ibis.timestamp(pd.Timestamp(_day(as_of)) + pd.Timedelta(days=1) - pd.Timedelta(days=1095))
    t = line_costs(tx.filter(tx[date] < end), products, cost=cost)
    amt = t[amount].fill_null(0)
    margin = amt - t["line_cost"].fill_null(0.0)
    last = t[date] >= y1
    prev = (t[date] >= y2) & ~last
    before = (t[date] >= y3) & ~last
    positive = amt > 0
    order_key = t[C.ORDER_ID].fill_null(t[C.TRANSACTION_ID]) if C.ORDER_ID in t.columns \
        else t[C.TRANSACTION_ID]
    agg = t.group_by(t[customer_id]).aggregate(
        revenue=amt.sum(),
        margin=margin.sum(),
        orders=order_key.nunique(where=positive),
        first_purchase=t[date].min(where=positive),
        last_purchase=t[date].max(where=positive),
        revenue_12m=amt.sum(where=last),
        revenue_prev_12m=amt.sum(where=prev),
        revenue_before_12m=amt.sum(where=before),
        orders_12m=order_key.nunique(where=last & positive),
        orders_prev_12m=order_key.nunique(where=prev & positive),
        orders_before_12m=order_key.nunique(where=before & positive),
    )
    df = agg.to_pandas()
    for c in (C.REVENUE_12M, C.REVENUE_PREV_12M, C.REVENUE_BEFORE_12M):
        df[c] = df[c].fillna(0.0)
    df[customer_id] = df[customer_id].astype("str")
    return df


def fallback_values(cfg, ws: Workspace, *, customer_id: str = C.CUSTOMER_ID) -> pd.DataFrame:
    """Values when Differentiate has not run: its fallback tiers on its value summary.

    :func:`onetoone.differentiate.read.customer_tiers` gives contribution (margin - cost to
    serve) and the tier; ``clv`` stands in as last year's margin (no model), potential and
    ``p_alive`` are unknown (NaN).
    """
    df, _ = customer_tiers(cfg, ws, columns=(C.REVENUE, C.GROSS_MARGIN, C.CONTRIBUTION,
                                             C.REVENUE_12M, C.REVENUE_PREV_12M, C.LAST_PURCHASE))
    if C.REVENUE not in df.columns:  # no transactions
        return df
    margin_rate = (df[C.GROSS_MARGIN] / df[C.REVENUE].where(df[C.REVENUE] > 0)).clip(0, 1).fillna(0)
    df[C.CLV] = df[C.REVENUE_12M].clip(lower=0) * margin_rate
    df[C.POTENTIAL] = np.nan
    df[C.UNREALISED_POTENTIAL] = np.nan
    df[C.P_ALIVE] = np.nan
    return df.drop(columns=C.GROSS_MARGIN).rename(columns={C.CUSTOMER_ID: customer_id})


def customer_values(ws: Workspace, act: Activity, cfg, contact_cost: pd.DataFrame | None = None,
                    *, summary: pd.DataFrame | None = None,
                    customer_id: str = C.CUSTOMER_ID) -> tuple[pd.DataFrame, str]:
    """(values, source): Differentiate's ``customer_value`` or the fallback, and which it was.

    ``act``, ``contact_cost`` and ``summary`` are accepted for callers that have them; the
    values (and the tier rule) come from Differentiate either way.
    """
    if ws.has("customer_value"):
        df, source = customer_tiers(cfg, ws, columns=VALUE_COLUMNS)
        return df.rename(columns={C.CUSTOMER_ID: customer_id}), source
    return fallback_values(cfg, ws, customer_id=customer_id), "fallback"
