"""What Interact reads from the workspace, and what it does when something is missing.

Every function here returns either an Ibis expression (transaction- or contact-scale rows,
left inside the engine) or a per-customer pandas frame:

- :func:`activity`: transactions and interactions with ``customer_id`` attached;
- :func:`customer_profile`: one row per customer with consent per channel and the profile
  attributes (golden record when Identify has run, else the source records);
- :func:`customer_values`: Differentiate's ``customer_value`` when present, else a simple
  fallback computed from transactions (:func:`fallback_values`), with a note saying so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from .. import columns as C
from ..customers import identified, with_customer_id
from ..workspace import Workspace

TIERS = ("MVC", "MGC", "maintain", "BZ")
"""Differentiate's tiers (most valuable, most growable, the rest, below zero)."""

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
VALUE_COLUMNS = ("revenue", "contribution", "clv", "potential", "unrealised_potential", "tier",
                 "revenue_12m", "revenue_prev_12m", "last_purchase", "p_alive", "segment_name")


def purchase_summary(tx: ibis.Table, as_of: dt.date | str, *, customer_id: str = C.CUSTOMER_ID,
                     date: str = C.DATE, amount: str = C.AMOUNT, cost: str = C.COST
                     ) -> pd.DataFrame:
    """Per customer: revenue, margin, orders, first/last purchase, last 12 months and the 12
    before, and revenue in the two years before the last 12 months (computed in the engine).
    """
    end = ibis.timestamp(pd.Timestamp(_day(as_of)) + pd.Timedelta(days=1))
    y1 = ibis.timestamp(pd.Timestamp(_day(as_of)) + pd.Timedelta(days=1) - pd.Timedelta(days=365))
    y2 = ibis.timestamp(pd.Timestamp(_day(as_of)) + pd.Timedelta(days=1) - pd.Timedelta(days=730))
    y3 = ibis.timestamp(pd.Timestamp(_day(as_of)) + pd.Timedelta(days=1) - pd.Timedelta(days=1095))
    t = tx.filter(tx[date] < end)
    amt = t[amount].fill_null(0)
    margin = amt - (t[cost].fill_null(0) if cost in t.columns else 0)
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
    for c in ("revenue_12m", "revenue_prev_12m", "revenue_before_12m"):
        df[c] = df[c].fillna(0.0)
    df[customer_id] = df[customer_id].astype("str")
    return df


def fallback_values(tx: ibis.Table | None, contact_cost: pd.DataFrame | None, cfg,
                    as_of: dt.date | str, *, summary: pd.DataFrame | None = None,
                    customer_id: str = C.CUSTOMER_ID) -> pd.DataFrame:
    """A simple value table from transactions when Differentiate has not run.

    contribution = margin - cost to serve (contacts x channel unit cost, when interactions
    exist); tiers from the config shares: MVC = top ``mvc_share`` by contribution, BZ =
    contribution at or below ``bz_max_contribution``, MGC = the next ``mgc_share`` by last
    year's revenue (a stand-in: without Differentiate's potential, growability is unknown),
    maintain = the rest. ``clv`` is last year's margin (no model), ``p_alive`` is unknown.
    ``summary``: a :func:`purchase_summary` already computed (saves a pass over transactions).
    """
    if tx is None:
        return pd.DataFrame({customer_id: pd.Series([], dtype="str"),
                             "tier": pd.Series([], dtype="str")})
    df = (summary.copy() if summary is not None
          else purchase_summary(tx, as_of, customer_id=customer_id))
    serve = 0.0
    if contact_cost is not None and len(contact_cost):
        serve = df[customer_id].map(contact_cost.set_index(customer_id)["cost"]).fillna(0.0)
    df["cost_to_serve"] = serve
    df["contribution"] = df["margin"] - df["cost_to_serve"]
    margin_rate = (df["margin"] / df["revenue"].where(df["revenue"] > 0)).clip(0, 1).fillna(0)
    df["clv"] = df["revenue_12m"].clip(lower=0) * margin_rate
    df["potential"] = np.nan
    df["unrealised_potential"] = np.nan
    df["p_alive"] = np.nan
    df["tier"] = assign_fallback_tiers(df, cfg.tiers.mvc_share, cfg.tiers.mgc_share,
                                       cfg.tiers.bz_max_contribution)
    return df


def assign_fallback_tiers(df: pd.DataFrame, mvc_share: float, mgc_share: float,
                          bz_max: float) -> np.ndarray:
    """MVC / MGC / BZ / maintain from contribution and last year's revenue (see above)."""
    n = len(df)
    tier = np.full(n, "maintain", dtype=object)
    if n == 0:
        return tier
    contrib = df["contribution"].to_numpy(float)
    bz = contrib <= bz_max
    order = np.argsort(-contrib, kind="stable")
    k_mvc = int(np.ceil(mvc_share * n))
    mvc = np.zeros(n, bool)
    mvc[order[:k_mvc]] = True
    mvc &= ~bz
    rev12 = df["revenue_12m"].to_numpy(float)
    rest = np.flatnonzero(~mvc & ~bz & (rev12 > 0))
    k_mgc = int(np.ceil(mgc_share * n))
    mgc = rest[np.argsort(-rev12[rest], kind="stable")[:k_mgc]]
    tier[mvc] = "MVC"
    tier[mgc] = "MGC"
    tier[bz] = "BZ"
    return tier


def customer_values(ws: Workspace, act: Activity, cfg, contact_cost: pd.DataFrame | None = None,
                    *, summary: pd.DataFrame | None = None,
                    customer_id: str = C.CUSTOMER_ID) -> tuple[pd.DataFrame, str]:
    """(values, source): Differentiate's ``customer_value`` or the fallback, and which it was."""
    if ws.has("customer_value"):
        t = ws.table("customer_value")
        keep = [c for c in (customer_id, *VALUE_COLUMNS) if c in t.columns]
        df = t.select(keep).to_pandas()
        df[customer_id] = df[customer_id].astype("str")
        if "tier" not in df.columns:
            raise ValueError("table customer_value has no column 'tier'; expected the tiers "
                             f"{TIERS} written by `onetoone run differentiate`")
        return df, "differentiate"
    return fallback_values(act.transactions, contact_cost, cfg, cfg.as_of, summary=summary,
                           customer_id=customer_id), "fallback"
