"""Lists a workshop asks for: valuable customers lost last year (call every one of them),
repeat complainers, and response rate and cost per response by channel and campaign.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import ibis
import numpy as np
import pandas as pd

from .. import columns as C
from .channels import with_contact_cost

RESPONSES = ("responded", "accepted", "answered")
"""Outcomes of an outbound contact that count as a response."""


def lost_valuable(summary: pd.DataFrame, *, value_quantile: float = 0.8, min_orders: int = 2,
                  customer_id: str = C.CUSTOMER_ID) -> pd.DataFrame:
    """Valuable customers lost in the last year, most valuable first.

    Lost in the last year: they bought in the 12 months before the last 12, and nothing
    since. Valuable: their revenue in the two years before the last 12 months is at least the
    ``value_quantile`` of that revenue among customers who bought then, from at least
    ``min_orders`` orders (regular buyers, not a one-off big basket). The list is for
    people to call, so it is ranked by that value.

    Parameters
    ----------
    summary
        Per-customer purchase summary (:func:`onetoone.interact.data.purchase_summary`):
        revenue_before_12m, orders_before_12m, revenue_prev_12m, orders_prev_12m,
        orders_12m, last_purchase.

    Returns
    -------
    pandas.DataFrame
        customer_id, revenue_before_12m, revenue_prev_12m, orders_before_12m, last_purchase,
        rank (1 = most valuable), value_threshold.
    """
    if not 0 < value_quantile < 1:
        raise ValueError(f"value_quantile must be in (0, 1); found {value_quantile}")
    s = summary
    before = s[C.REVENUE_BEFORE_12M].fillna(0)
    buyers = before[before > 0]
    if buyers.empty:
        return pd.DataFrame(columns=[customer_id, C.REVENUE_BEFORE_12M, C.REVENUE_PREV_12M,
                                     "orders_before_12m", C.LAST_PURCHASE, "rank",
                                     "value_threshold"])
    threshold = float(np.quantile(buyers, value_quantile))
    active_then = (s["orders_prev_12m"].fillna(0) > 0) if "orders_prev_12m" in s.columns \
        else (s[C.REVENUE_PREV_12M].fillna(0) > 0)
    lost = ((before >= threshold) & (s["orders_before_12m"].fillna(0) >= min_orders)
            & active_then & (s["orders_12m"].fillna(0) == 0))
    out = s.loc[lost, [customer_id, C.REVENUE_BEFORE_12M, C.REVENUE_PREV_12M,
                       "orders_before_12m", C.LAST_PURCHASE]].copy()
    out = out.sort_values([C.REVENUE_BEFORE_12M, customer_id], ascending=[False, True])
    out["rank"] = np.arange(1, len(out) + 1)
    out["value_threshold"] = threshold
    return out.reset_index(drop=True)


def repeat_complainers(interactions: ibis.Table | None, *, min_complaints: int = 3,
                       as_of: dt.date | str | None = None, months: int | None = None,
                       customer_id: str = C.CUSTOMER_ID, date: str = C.DATE,
                       kind: str = C.INTERACTION_TYPE, outcome: str = C.OUTCOME,
                       topic: str = C.TOPIC, satisfaction: str = C.SATISFACTION) -> pd.DataFrame:
    """Customers with at least ``min_complaints`` complaints (in the last ``months`` if given).

    Returns
    -------
    pandas.DataFrame
        customer_id, complaints, open_complaints, first_complaint, last_complaint, topics
        ('; '-joined, most frequent first), mean_satisfaction; most complaints first.
    """
    cols = [customer_id, "complaints", "open_complaints", "first_complaint", "last_complaint",
            "topics", "mean_satisfaction"]
    if interactions is None:
        return pd.DataFrame(columns=cols)
    t = interactions.filter((interactions[kind] == "complaint")
                            & interactions[customer_id].notnull())
    if as_of is not None and months is not None:
        end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
        t = t.filter(t[date] >= ibis.timestamp(end - pd.DateOffset(months=months)))
    sat = t[satisfaction] if satisfaction in t.columns else ibis.null("float64")
    g = t.group_by(t[customer_id].cast("string").name(customer_id)).aggregate(
        complaints=t.count(), open_complaints=(t[outcome] == "open").sum(),
        first_complaint=t[date].min(), last_complaint=t[date].max(), mean_satisfaction=sat.mean())
    g = g.filter(g["complaints"] >= min_complaints)
    df = g.to_pandas()
    if len(df):
        keys = ibis.memtable(df[[customer_id]].rename(columns={customer_id: "__k"}))
        tt = t.select(__c=t[customer_id].cast("string"), __topic=t[topic].fill_null("?"))
        tt = tt.join(keys, tt["__c"] == keys["__k"])
        tp = tt.group_by(["__c", "__topic"]).aggregate(n=tt.count()).to_pandas()
        tp = tp.sort_values(["__c", "n", "__topic"], ascending=[True, False, True])
        topics = tp.groupby("__c")["__topic"].agg("; ".join)
        df["topics"] = df[customer_id].map(topics)
    else:
        df["topics"] = pd.Series([], dtype="str")
    df["open_complaints"] = df["open_complaints"].fillna(0).astype(int)
    return df.sort_values(["complaints", "last_complaint", customer_id],
                          ascending=[False, False, True]).reset_index(drop=True)[cols]


def response_rates(interactions: ibis.Table | None, costs: Mapping[str, float] | None = None, *,
                   by: Sequence[str] = (C.CHANNEL,), as_of: dt.date | str | None = None,
                   months: int | None = None, direction: str = C.DIRECTION,
                   outcome: str = C.OUTCOME, date: str = C.DATE) -> pd.DataFrame:
    """Outbound contacts, responses, response rate, cost and cost per response.

    Parameters
    ----------
    by
        Columns to group by: ``("channel",)``, ``("campaign_id", "channel")``, ``("type",)``...
    as_of, months
        Only the ``months`` before ``as_of`` when both are given.

    Returns
    -------
    pandas.DataFrame
        the ``by`` columns, contacts, responses, response_rate, cost, cost_per_response
        (NaN when nobody responded); most contacts first.
    """
    cols = [*by, "contacts", "responses", "response_rate", "cost", "cost_per_response"]
    if interactions is None:
        return pd.DataFrame(columns=cols)
    t = interactions.filter(interactions[direction] == "outbound")
    if as_of is not None and months is not None:
        end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
        t = t.filter((t[date] >= ibis.timestamp(end - pd.DateOffset(months=months)))
                     & (t[date] < ibis.timestamp(end)))
    t = with_contact_cost(t, costs)
    resp = t[outcome].isin(list(RESPONSES))
    df = t.group_by(list(by)).aggregate(contacts=t.count(), responses=resp.sum(),
                                        cost=t["contact_cost"].sum()).to_pandas()
    df["responses"] = df["responses"].fillna(0).astype(int)
    df["response_rate"] = df["responses"] / df["contacts"]
    df["cost_per_response"] = df["cost"] / df["responses"].where(df["responses"] > 0)
    return df.sort_values(["contacts", *by], ascending=[False] + [True] * len(by)
                          ).reset_index(drop=True)[cols]
