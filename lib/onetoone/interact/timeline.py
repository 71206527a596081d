"""One customer's history across every channel, and where we left off with them.

"Remember every interaction and continue from the last one, whether it was minutes or years
ago, on the web or with a salesperson." :func:`customer_timeline` puts purchases, returns and
contacts in one list, newest first; :func:`where_we_left_off` reads it for the open threads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import ibis
import pandas as pd

from .. import columns as C

TIMELINE_COLUMNS = ("date", "event", "channel", "direction", "type", "detail", "amount",
                    "outcome", "campaign_id", "source_system", "ref")
RESPONDED = ("responded", "accepted", "declined", "answered")


def customer_timeline(transactions: ibis.Table | None, interactions: ibis.Table | None,
                      customer: str, *, products: ibis.Table | None = None,
                      customer_id: str = C.CUSTOMER_ID, limit: int | None = None) -> pd.DataFrame:
    """Every purchase, return and contact of one customer, newest first.

    Order lines are grouped into one row per order (and per return); the engine filters the
    customer's rows, so this is quick on a large workspace.

    Parameters
    ----------
    transactions, interactions
        Ibis tables with ``customer_id`` (either may be None).
    customer
        The customer id to show.
    products
        The products table, to name what was bought (optional).

    Returns
    -------
    pandas.DataFrame
        :data:`TIMELINE_COLUMNS`: event is purchase, return or contact; detail says what
        (products, or type and topic); amount is the order value (negative for a return).
    """
    parts = []
    if transactions is not None:
        t = transactions.filter(transactions[customer_id].cast("string") == str(customer))
        if products is not None and C.NAME in products.columns:
            p = products.select(__pid=products[C.PRODUCT_ID], __pname=products[C.NAME])
            t = t.left_join(p, t[C.PRODUCT_ID] == p["__pid"])
            label = t["__pname"].fill_null(t[C.PRODUCT_ID])
        else:
            label = t[C.PRODUCT_ID]
        ret = t[C.IS_RETURN].fill_null(False) if C.IS_RETURN in t.columns else t[C.AMOUNT] < 0
        order = t[C.ORDER_ID].fill_null(t[C.TRANSACTION_ID]) if C.ORDER_ID in t.columns \
            else t[C.TRANSACTION_ID]
        t = t.mutate(__ret=ret | (t[C.AMOUNT] < 0), __order=order, __label=label)
        g = t.group_by(["__order", "__ret"]).aggregate(
            date=t[C.DATE].min(), channel=t[C.CHANNEL].max() if C.CHANNEL in t.columns else
            ibis.literal(None, "string"), amount=t[C.AMOUNT].sum(), lines=t.count(),
            detail=t["__label"].collect().sort().join(", "),  # sorted: the same on any engine
            source_system=t[C.SOURCE_SYSTEM].max())
        tx = g.to_pandas()
        if len(tx):
            tx["event"] = tx["__ret"].map({True: "return", False: "purchase"})
            tx["direction"] = "inbound"
            tx["type"] = tx["event"]
            tx["detail"] = tx["lines"].astype(int).astype(str) + " line(s): " + tx["detail"].astype(str)
            tx["ref"] = tx["__order"].astype(str)
            parts.append(tx)
    if interactions is not None:
        i = interactions.filter(interactions[customer_id].cast("string") == str(customer))
        cols = {"date": i[C.DATE], "channel": i[C.CHANNEL]}
        for name, col in (("direction", C.DIRECTION), ("type", C.INTERACTION_TYPE),
                          ("topic", C.TOPIC), ("outcome", C.OUTCOME),
                          ("campaign_id", C.CAMPAIGN_ID), ("source_system", C.SOURCE_SYSTEM),
                          ("ref", C.INTERACTION_ID), ("satisfaction", C.SATISFACTION)):
            if col in i.columns:
                cols[name] = i[col]
        it = i.select(**cols).to_pandas()
        if len(it):
            it["event"] = "contact"
            topic = it["topic"].fillna("") if "topic" in it.columns else ""
            it["detail"] = (it["type"].fillna("contact").astype(str)
                            + (": " + topic.astype(str)).where(topic != "", ""))
            if "satisfaction" in it.columns:
                sat = it["satisfaction"]
                it["detail"] = it["detail"] + ("; satisfaction " + sat.astype("Int64").astype(str)
                                               ).where(sat.notna(), "")
            it["amount"] = float("nan")
            parts.append(it)
    if not parts:
        return pd.DataFrame(columns=list(TIMELINE_COLUMNS))
    out = pd.concat([p.reindex(columns=list(TIMELINE_COLUMNS)) for p in parts], ignore_index=True)
    out["date"] = pd.to_datetime(out["date"])
    out = out.sort_values(["date", "event"], ascending=[False, True], kind="stable")
    if limit:
        out = out.head(limit)
    return out.reset_index(drop=True)


@dataclass
class LeftOff:
    """Where we left off with one customer (None = nothing of the kind on record)."""

    customer_id: str
    open_complaint: str | None
    last_purchase: str | None
    last_contact: str | None
    last_question: str | None
    pending_offer: str | None
    events: int
    first_seen: str | None

    def as_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[tuple[str, str]]:
        """(label, text) pairs for display; 'none' where nothing is on record."""
        return [("Open complaint", self.open_complaint or "none"),
                ("Last purchase", self.last_purchase or "none"),
                ("Last contact", self.last_contact or "none"),
                ("Last question asked", self.last_question or "none"),
                ("Pending offer", self.pending_offer or "none")]


def _d(x) -> str:
    return pd.Timestamp(x).strftime("%d %b %Y")


def _ago(x, as_of) -> str:
    days = (pd.Timestamp(as_of).normalize() - pd.Timestamp(x).normalize()).days
    if days < 0:
        return "after the analysis date"
    if days < 60:
        return f"{days} days ago"
    if days < 730:
        return f"{days // 30} months ago"
    return f"{days / 365.25:.1f} years ago"


def where_we_left_off(timeline: pd.DataFrame, as_of: dt.date | str, customer: str = "",
                      *, offer_days: int = 30, currency: str = "") -> LeftOff:
    """The open threads in a customer's timeline (output of :func:`customer_timeline`).

    - open complaint: the latest complaint whose outcome is ``open`` (any case), with how many
      older ones are open too;
    - last purchase: date, value, channel, what;
    - last contact: the latest contact of any kind, with its outcome;
    - last question asked: the latest profile question, answered or not;
    - pending offer: an outbound offer in the last ``offer_days`` with no answer yet
      (no outcome, or no response so far).
    """
    tl = timeline
    cur = f"{currency} " if currency else ""
    if tl is None or tl.empty:
        return LeftOff(customer, None, None, None, None, None, 0, None)
    contacts = tl[tl["event"] == "contact"]
    comp = contacts[contacts["type"] == "complaint"]
    # any complaint still open, not only the latest (the timeline table lists them all)
    still = comp[comp["outcome"].astype("string").str.lower().eq("open").fillna(False)]
    open_c = None
    if len(still):
        c = still.iloc[0]
        more = f"; {len(still) - 1:,} older complaint(s) also open" if len(still) > 1 else ""
        open_c = (f"{c['detail']} on {_d(c['date'])} ({_ago(c['date'], as_of)}), still "
                  f"open{more}")
    buys = tl[tl["event"] == "purchase"]
    last_p = None
    if len(buys):
        b = buys.iloc[0]
        last_p = (f"{_d(b['date'])} ({_ago(b['date'], as_of)}): {cur}{b['amount']:,.2f} via "
                  f"{b['channel']}; {b['detail']}")
    last_c = None
    if len(contacts):
        c = contacts.iloc[0]
        out = c["outcome"] if isinstance(c["outcome"], str) else "no outcome recorded"
        last_c = (f"{_d(c['date'])} ({_ago(c['date'], as_of)}): {c['direction'] or ''} "
                  f"{c['channel']}, {c['detail']}; outcome {out}")
    q = contacts[contacts["type"] == "question"]
    last_q = None
    if len(q):
        c = q.iloc[0]
        out = c["outcome"] if isinstance(c["outcome"], str) else "no answer recorded"
        last_q = f"{c['detail']} on {_d(c['date'])} via {c['channel']}: {out}"
    pend = None
    start = pd.Timestamp(as_of) + pd.Timedelta(days=1) - pd.Timedelta(days=offer_days)
    offers = contacts[(contacts["type"] == "offer") & (contacts["direction"] == "outbound")
                      & (contacts["date"] >= start)]
    if len(offers):
        o = offers.iloc[0]
        if not (isinstance(o["outcome"], str) and o["outcome"] in RESPONDED):
            later_buy = len(buys) and buys.iloc[0]["date"] > o["date"]
            if not later_buy:
                pend = (f"{o['detail']} sent {_d(o['date'])} by {o['channel']}"
                        + (f" (campaign {o['campaign_id']})" if isinstance(o.get("campaign_id"), str)
                           else "") + ", no answer yet")
    return LeftOff(customer, open_c, last_p, last_c, last_q, pend, len(tl),
                   _d(tl["date"].min()))
