"""Channel economics: what a contact costs on each channel, where the money goes, and what
moving routine contacts to automated channels would save.

Cost per contact comes from the client config (``channel_costs``, defaults in
:data:`onetoone.config.DEFAULT_CHANNEL_COSTS`); a contact's own ``cost`` wins when the export
carries one (a mailing's print cost, a rep's visit).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import ibis
import numpy as np
import pandas as pd

from .. import columns as C
from ..config import DEFAULT_CHANNEL_COSTS

AUTOMATED = ("web", "email", "sms")
"""Channels where no person handles the contact."""

SUBSTITUTES: dict[str, str] = {"call_centre": "web", "store": "web", "mail": "email",
                               "sales_rep": "call_centre"}
"""The cheaper channel a contact on a costly channel moves to: service calls and store-desk
visits to web self-service, post to email, rep visits to a call."""

UNRECOGNISED = "unrecognised"
"""Tier label for contacts that carry no customer."""


def unit_costs(costs: Mapping[str, float] | None = None) -> dict[str, float]:
    """Cost per contact by channel: the defaults overlaid with ``costs``."""
    out = dict(DEFAULT_CHANNEL_COSTS)
    out.update(costs or {})
    return out


def _cost_case(channel: ibis.Value, costs: Mapping[str, float]) -> ibis.Value:
    return ibis.cases(*[(channel == ch, float(v)) for ch, v in costs.items()], else_=0.0)


def with_contact_cost(interactions: ibis.Table, costs: Mapping[str, float] | None = None, *,
                      channel: str = C.CHANNEL, cost: str = C.COST,
                      out: str = "contact_cost") -> ibis.Table:
    """Interactions with ``out`` = the row's own cost, else the channel's unit cost."""
    costs = unit_costs(costs)
    unit = _cost_case(interactions[channel], costs)
    own = interactions[cost].cast("float64") if cost in interactions.columns else None
    return interactions.mutate(**{out: own.fill_null(unit) if own is not None else unit})


def _window(t: ibis.Table, as_of: dt.date | str | None, months: int | None, date: str):
    if as_of is None or months is None:
        return t
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    start = end - pd.DateOffset(months=months)
    return t.filter((t[date] >= ibis.timestamp(start)) & (t[date] < ibis.timestamp(end)))


def cost_to_serve(interactions: ibis.Table, costs: Mapping[str, float] | None = None, *,
                  customer_id: str = C.CUSTOMER_ID) -> pd.DataFrame:
    """Per customer: contacts and their total cost over the whole history (for contribution)."""
    t = with_contact_cost(interactions, costs)
    df = t.group_by(t[customer_id]).aggregate(contacts=t.count(),
                                              cost=t["contact_cost"].sum()).to_pandas()
    df[customer_id] = df[customer_id].astype("str")
    return df


def channel_volumes(interactions: ibis.Table | None, tiers: pd.DataFrame | None = None,
                    costs: Mapping[str, float] | None = None, *,
                    as_of: dt.date | str | None = None, months: int | None = 12,
                    customer_id: str = C.CUSTOMER_ID, channel: str = C.CHANNEL,
                    direction: str = C.DIRECTION, date: str = C.DATE,
                    tier: str = C.TIER) -> pd.DataFrame:
    """Contacts and their cost by channel, direction and tier over the last ``months``.

    Parameters
    ----------
    interactions
        Ibis table of interactions with ``customer_id`` (null = unrecognised caller); None
        gives an empty frame.
    tiers
        Per-customer frame with ``customer_id`` and ``tier``; contacts of customers not in it
        count as ``maintain``, anonymous ones as ``unrecognised``. None: every contact is
        ``all``.
    as_of, months
        The window is the ``months`` before ``as_of`` (whole history when either is None).

    Returns
    -------
    pandas.DataFrame
        channel, direction, tier, contacts, customers, cost, unit_cost (cost / contacts),
        automated (bool); one row per combination that occurs.
    """
    if interactions is None:
        return pd.DataFrame({channel: pd.Series([], dtype="str"),
                             direction: pd.Series([], dtype="str"),
                             tier: pd.Series([], dtype="str"), "contacts": pd.Series([], dtype=int),
                             "customers": pd.Series([], dtype=int),
                             "cost": pd.Series([], dtype=float),
                             "unit_cost": pd.Series([], dtype=float),
                             "automated": pd.Series([], dtype=bool)})
    t = with_contact_cost(_window(interactions, as_of, months, date), costs)
    if tiers is not None:
        m = ibis.memtable(pd.DataFrame({"__cid": tiers[customer_id].astype("str"),
                                        "__tier": tiers[tier].astype("str")}))
        j = t.left_join(m, t[customer_id].cast("string") == m["__cid"])
        tier_col = ibis.cases((j[customer_id].isnull(), UNRECOGNISED),
                              else_=j["__tier"].fill_null("maintain"))
        t = j.mutate(__t=tier_col)
    else:
        t = t.mutate(__t=ibis.literal("all"))
    dirn = t[direction].fill_null("unknown") if direction in t.columns else ibis.literal("unknown")
    t = t.mutate(__d=dirn)
    agg = t.group_by([t[channel].name(channel), t["__d"].name(direction), t["__t"].name(tier)]
                     ).aggregate(contacts=t.count(), customers=t[customer_id].nunique(),
                                 cost=t["contact_cost"].sum())
    df = agg.to_pandas()
    df["unit_cost"] = df["cost"] / df["contacts"].where(df["contacts"] > 0)
    df["automated"] = df[channel].isin(AUTOMATED)
    return df.sort_values([channel, direction, tier]).reset_index(drop=True)


def shift_savings(volumes: pd.DataFrame, share: float, *, keep_tiers: Iterable[str] = ("MVC",),
                  costs: Mapping[str, float] | None = None,
                  substitutes: Mapping[str, str] | None = None, channel: str = C.CHANNEL,
                  tier: str = C.TIER, months: int = 12) -> pd.DataFrame:
    """What moving ``share`` of contacts from costly channels to automated ones would save.

    Contacts of the ``keep_tiers`` stay with people; contacts already on an automated channel,
    or on a channel without a cheaper substitute, do not move.

    Parameters
    ----------
    volumes
        Output of :func:`channel_volumes` (any grouping that has channel, tier, contacts).
    share
        Share of movable contacts that move, 0..1.
    months
        Months the volumes cover; savings are scaled to a year.

    Returns
    -------
    pandas.DataFrame
        One row per (channel, tier) with contacts, moved, to_channel, cost_from, cost_to,
        saving (a year, in the client currency).
    """
    if not 0 <= share <= 1:
        raise ValueError(f"share must be between 0 and 1; found {share}")
    costs = unit_costs(costs)
    subs = dict(SUBSTITUTES if substitutes is None else substitutes)
    keep = set(keep_tiers)
    g = volumes.groupby([channel, tier], as_index=False)[["contacts", "cost"]].sum()
    to = g[channel].map(subs)
    cost_from = (g["cost"] / g["contacts"].where(g["contacts"] > 0)).astype(float)
    cost_to = to.map(costs).astype(float)
    movable = (to.notna() & ~g[tier].isin(keep) & ~g[channel].isin(AUTOMATED)
               & (cost_to < cost_from))
    moved = np.where(movable, g["contacts"] * share, 0.0)
    scale = 12.0 / months
    out = g.assign(to_channel=to.where(movable), cost_from=cost_from,
                   cost_to=cost_to.where(movable), moved=moved * scale,
                   contacts=g["contacts"] * scale, cost=g["cost"] * scale)
    out["saving"] = np.where(movable, out["moved"] * (out["cost_from"] - out["cost_to"]), 0.0)
    return out.reset_index(drop=True)


def shift_summary(savings: pd.DataFrame) -> dict[str, float]:
    """Headline of :func:`shift_savings`: contacts moved, yearly saving, cost before and after."""
    before = float(savings["cost"].sum())
    saving = float(savings["saving"].sum())
    return {"contacts_moved": float(savings["moved"].sum()), "yearly_saving": saving,
            "cost_before": before, "cost_after": before - saving,
            "saving_share": saving / before if before else 0.0}
