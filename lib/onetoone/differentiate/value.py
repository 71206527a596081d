"""Historical value per customer, computed inside the engine (Ibis on the workspace).

Definitions (docs/stages.md, section 2):

revenue
    Sum of the line amounts, returns included (a return line has a negative amount), so it is
    net revenue.
gross_margin
    Sum of ``amount - line cost`` where the line cost is the line's ``cost`` and, when that is
    empty, ``quantity x products.unit_cost``. Lines with neither count at zero cost; how many
    there were is reported in ``result.attrs["lines_without_cost"]``.
cost_to_serve
    Every contact the customer had (interactions) at its own ``cost``, else at the channel's
    unit cost from the client config (``channel_costs``), plus handling of returns: each
    returned order counts as one contact on the channel it was returned through (a store return
    costs a store contact, a web return a web contact) unless ``return_handling_cost`` gives a
    flat amount per returned order.
contribution
    gross_margin - cost_to_serve.
gross_margin_12m, cost_to_serve_12m, contribution_12m
    The same over the last 12 months (a return counts in the month it came back, a contact in
    its month): the yearly margin the picket fence ranks by.
revenue_12m, revenue_prev_12m, revenue_before_12m
    Net revenue in the 12 months up to ``as_of`` (``as_of - 12 months < date <= as_of``), in
    the 12 months before those, and in all history before the last 12 months.

Only the per-customer result becomes pandas; the row-level work is one query per input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis
import pandas as pd

from .. import columns as C

__all__ = ["contact_costs", "historical_value", "line_costs", "months_before", "purchases"]


def months_before(as_of, months: int) -> dt.datetime:
    """The timestamp ``months`` calendar months before the end of day ``as_of``."""
    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    return (end - pd.DateOffset(months=int(months))).to_pydatetime()


def _end_of(as_of) -> dt.datetime:
    return (pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)).to_pydatetime()


def _require(table: ibis.Table, cols: list[str], what: str) -> None:
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise KeyError(f"{what}: expected column(s) {missing}; found {list(table.columns)}")


def _is_return(t: ibis.Table, is_return: str, amount: str) -> ibis.Value:
    """A line is a return when flagged, or (flag empty) when its amount is negative."""
    if is_return in t.columns:
        return ibis.coalesce(t[is_return], t[amount] < 0)
    return t[amount] < 0


def line_costs(
    transactions: ibis.Table,
    products: ibis.Table | None = None,
    *,
    cost: str = C.COST,
    quantity: str = C.QUANTITY,
    product_id: str = C.PRODUCT_ID,
    unit_cost: str = C.UNIT_COST,
) -> ibis.Table:
    """The transactions with ``line_cost``: the line's cost, else quantity x unit cost, else null.

    Returns an Ibis expression (nothing is fetched).
    """
    t = transactions
    own = t[cost].cast("float64") if cost in t.columns else ibis.null("float64")
    if products is not None and unit_cost in products.columns and quantity in t.columns:
        p = products.select(__pid=products[product_id], __uc=products[unit_cost].cast("float64"))
        j = t.left_join(p, t[product_id] == p["__pid"])
        return j.mutate(line_cost=ibis.coalesce(own, j[quantity].cast("float64") * j["__uc"])
                        ).drop("__pid", "__uc")
    return t.mutate(line_cost=own)


def purchases(
    transactions: ibis.Table,
    *,
    amount: str = C.AMOUNT,
    is_return: str = C.IS_RETURN,
    customer_id: str = C.CUSTOMER_ID,
) -> ibis.Table:
    """Purchase lines of known customers: not returns, positive amount (for RFM and CLV)."""
    t = transactions
    return t.filter(t[customer_id].notnull() & ~_is_return(t, is_return, amount) & (t[amount] > 0))


def contact_costs(
    interactions: ibis.Table,
    channel_costs: Mapping[str, float],
    *,
    channel: str = C.CHANNEL,
    cost: str = C.COST,
) -> ibis.Value:
    """Cost of each contact: its own cost, else the channel's unit cost, else 0 (an expression)."""
    t = interactions
    unit = ibis.cases(*((t[channel] == k, float(v)) for k, v in channel_costs.items()),
                      else_=0.0) if channel_costs else ibis.literal(0.0)
    own = t[cost].cast("float64") if cost in t.columns else ibis.null("float64")
    return ibis.coalesce(own, unit)


def historical_value(
    transactions: ibis.Table,
    interactions: ibis.Table | None = None,
    products: ibis.Table | None = None,
    *,
    as_of,
    channel_costs: Mapping[str, float] | None = None,
    return_handling_cost: float | None = None,
    customer_id: str = C.CUSTOMER_ID,
    date: str = C.DATE,
    amount: str = C.AMOUNT,
    cost: str = C.COST,
    quantity: str = C.QUANTITY,
    is_return: str = C.IS_RETURN,
    order_id: str = C.ORDER_ID,
    transaction_id: str = C.TRANSACTION_ID,
    channel: str = C.CHANNEL,
    product_id: str = C.PRODUCT_ID,
    unit_cost: str = C.UNIT_COST,
    direction: str = C.DIRECTION,
    interaction_type: str = C.INTERACTION_TYPE,
) -> pd.DataFrame:
    """Revenue, gross margin, cost to serve and contribution per customer.

    Parameters
    ----------
    transactions : ibis.Table
        Order lines with a ``customer_id`` (see :func:`onetoone.customers.with_customer_id`);
        rows with a null customer (anonymous) and rows dated after ``as_of`` are left out.
    interactions : ibis.Table, optional
        Contacts with a ``customer_id``; without them cost to serve holds returns only
        (``result.attrs["notes"]`` says so).
    products : ibis.Table, optional
        Catalogue with ``unit_cost``, the fallback for lines without a cost.
    as_of : date-like
        Analysis date (inclusive).
    channel_costs : mapping, optional
        Unit cost per contact by channel (``cfg.channel_costs``).
    return_handling_cost : float, optional
        Flat cost per returned order; by default a returned order costs one contact on the
        channel it came back through.

    Returns
    -------
    pandas.DataFrame
        One row per customer (every customer with a transaction or an interaction):
        ``customer_id, revenue, gross_margin, cost_to_serve, contribution, orders,
        first_purchase, last_purchase, revenue_12m, revenue_prev_12m, revenue_before_12m,
        returned_orders, returns_value, return_cost, contacts, inbound_contacts, complaints,
        contact_cost, last_contact, gross_margin_12m, cost_to_serve_12m, contribution_12m``. ``attrs`` carries ``notes`` (list of str) and
        ``lines_without_cost``.
    """
    channel_costs = dict(channel_costs or {})
    _require(transactions, [customer_id, date, amount], "historical_value(transactions)")
    end = _end_of(as_of)
    y1 = months_before(as_of, 12)
    y2 = months_before(as_of, 24)
    notes: list[str] = []

    t = transactions.filter(transactions[customer_id].notnull()
                            & (transactions[date].cast("timestamp") < end))
    t = line_costs(t, products, cost=cost, quantity=quantity, product_id=product_id,
                   unit_cost=unit_cost)
    ts = t[date].cast("timestamp")
    ret = _is_return(t, is_return, amount)
    order_key = (ibis.coalesce(t[order_id].cast("string"), t[transaction_id].cast("string"))
                 if order_id in t.columns else t[transaction_id].cast("string")
                 if transaction_id in t.columns else ts.cast("string"))
    amt = t[amount].cast("float64")
    if return_handling_cost is not None:
        ret_unit = ibis.literal(float(return_handling_cost))
    elif channel in t.columns and channel_costs:
        ret_unit = ibis.cases(*((t[channel] == k, float(v)) for k, v in channel_costs.items()),
                              else_=0.0)
    else:
        ret_unit = ibis.literal(0.0)
    t = t.mutate(__amt=amt, __ts=ts, __ret=ret, __order=order_key,
                 __margin=amt - t.line_cost.fill_null(0.0), __nocost=t.line_cost.isnull(),
                 __ret_unit=ret_unit)
    agg = t.group_by(t[customer_id].name("customer_id")).aggregate(
        revenue=t.__amt.sum(),
        gross_margin=t.__margin.sum(),
        orders=t.__ret.ifelse(ibis.null("string"), t.__order).nunique(),
        first_purchase=t.__ret.ifelse(ibis.null("timestamp"), t.__ts).min(),
        last_purchase=t.__ret.ifelse(ibis.null("timestamp"), t.__ts).max(),
        revenue_12m=(t.__ts >= y1).ifelse(t.__amt, 0.0).sum(),
        gross_margin_12m=(t.__ts >= y1).ifelse(t.__margin, 0.0).sum(),
        revenue_prev_12m=((t.__ts >= y2) & (t.__ts < y1)).ifelse(t.__amt, 0.0).sum(),
        revenue_before_12m=(t.__ts < y1).ifelse(t.__amt, 0.0).sum(),
        returned_orders=t.__ret.ifelse(t.__order, ibis.null("string")).nunique(),
        returns_value=t.__ret.ifelse(-t.__amt, 0.0).sum(),
        lines_without_cost=t.__nocost.ifelse(1, 0).sum(),
    )
    # handling: one contact per returned order, on the channel of its first return line
    r = t.filter(t.__ret)
    per_order = r.group_by([r[customer_id].name("customer_id"), r.__order]).aggregate(
        u=r.__ret_unit.max(), recent=r.__ts.max() >= y1)
    rc = per_order.group_by("customer_id").aggregate(
        return_cost=per_order.u.sum(),
        return_cost_12m=per_order.recent.ifelse(per_order.u, 0.0).sum())
    tx = agg.left_join(rc, agg.customer_id == rc.customer_id).drop("customer_id_right")
    value = tx.to_pandas()
    value["return_cost"] = value["return_cost"].fillna(0.0)
    value["return_cost_12m"] = value["return_cost_12m"].fillna(0.0)
    missing_cost = int(value.pop("lines_without_cost").sum())
    if missing_cost:
        notes.append(f"{missing_cost:,} order line(s) have no cost and no product unit cost; "
                     f"their margin counts the whole amount")

    if interactions is not None:
        _require(interactions, [customer_id, date], "historical_value(interactions)")
        i = interactions.filter(interactions[customer_id].notnull()
                                & (interactions[date].cast("timestamp") < end))
        if channel in i.columns:
            c = contact_costs(i, channel_costs, channel=channel, cost=cost)
        else:
            c = i[cost].cast("float64").fill_null(0.0) if cost in i.columns else ibis.literal(0.0)
            notes.append("interactions have no channel: contacts without their own cost count 0")
        inbound = (i[direction] == "inbound").fill_null(False) if direction in i.columns \
            else ibis.literal(False)
        complaint = (i[interaction_type] == "complaint").fill_null(False) \
            if interaction_type in i.columns else ibis.literal(False)
        i = i.mutate(__c=c, __in=inbound, __cp=complaint, __ts=i[date].cast("timestamp"))
        contacts = i.group_by(i[customer_id].name("customer_id")).aggregate(
            contacts=i.count(), inbound_contacts=i.__in.ifelse(1, 0).sum(),
            complaints=i.__cp.ifelse(1, 0).sum(), contact_cost=i.__c.sum(),
            contact_cost_12m=(i.__ts >= y1).ifelse(i.__c, 0.0).sum(),
            last_contact=i.__ts.max()).to_pandas()
    else:
        notes.append("no interactions: cost to serve counts returns only; load contacts "
                     "(call centre, campaigns) to see who costs more to serve than they bring")
        contacts = pd.DataFrame({"customer_id": pd.Series(dtype="string"),
                                 "contacts": pd.Series(dtype="int64"),
                                 C.INBOUND_CONTACTS: pd.Series(dtype="int64"),
                                 "complaints": pd.Series(dtype="int64"),
                                 "contact_cost": pd.Series(dtype="float64"),
                                 "contact_cost_12m": pd.Series(dtype="float64"),
                                 "last_contact": pd.Series(dtype="datetime64[us]")})
    out = value.merge(contacts, on="customer_id", how="outer")
    for col in (C.REVENUE, C.GROSS_MARGIN, C.REVENUE_12M, C.REVENUE_PREV_12M,
                C.REVENUE_BEFORE_12M, C.RETURNS_VALUE, "return_cost", "contact_cost",
                "gross_margin_12m", "return_cost_12m", "contact_cost_12m"):
        out[col] = out[col].astype("float64").fillna(0.0)
    for col in (C.ORDERS, C.RETURNED_ORDERS, "contacts", C.INBOUND_CONTACTS, "complaints"):
        out[col] = out[col].fillna(0).astype("int64")
    out[C.COST_TO_SERVE] = out["contact_cost"] + out["return_cost"]
    out[C.CONTRIBUTION] = out[C.GROSS_MARGIN] - out[C.COST_TO_SERVE]
    out["cost_to_serve_12m"] = out.pop("contact_cost_12m") + out.pop("return_cost_12m")
    out["contribution_12m"] = out["gross_margin_12m"] - out["cost_to_serve_12m"]
    cols = ["customer_id", C.REVENUE, C.GROSS_MARGIN, C.COST_TO_SERVE, C.CONTRIBUTION, C.ORDERS,
            C.FIRST_PURCHASE, C.LAST_PURCHASE, C.REVENUE_12M, C.REVENUE_PREV_12M,
            C.REVENUE_BEFORE_12M, C.RETURNED_ORDERS, C.RETURNS_VALUE, "return_cost", "contacts",
            C.INBOUND_CONTACTS, "complaints", "contact_cost", "last_contact",
            "gross_margin_12m", "cost_to_serve_12m", "contribution_12m"]
    out = out[cols].sort_values("customer_id", kind="stable").reset_index(drop=True)
    out["customer_id"] = out["customer_id"].astype(str)
    out.attrs["notes"] = notes
    out.attrs["lines_without_cost"] = missing_cost
    return out
