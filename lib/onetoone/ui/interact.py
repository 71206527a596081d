"""Interact on screen: figures for the notebook and reports, a customer timeline lookup and a
channel-shift simulator for the workshop.

- Figures: :func:`channel_cost_figure`, :func:`tier_channel_figure`, :func:`shift_figure`,
  :func:`badgering_figure`, :func:`plan_figure`, :func:`lost_valuable_figure`,
  :func:`response_figure`, :func:`questions_figure`.
- Widgets: :class:`TimelineLookup` (type a customer id, see where we left off and the
  timeline), :class:`ChannelShiftSimulator` (a slider moves a share of contacts from costly to
  automated channels; the yearly saving updates live).
"""

from __future__ import annotations

import html
import time

import ibis
import ipywidgets as widgets
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import columns as C
from ..customers import with_customer_id
from ..interact import channels as CH
from ..interact.policy import Policy
from ..interact.timeline import customer_timeline, where_we_left_off
from ..workspace import WorkspaceError
from . import theme
from .reader import WorkspaceReader
from .theme import COLORWAY, PALETTE

__all__ = ["ChannelShiftSimulator", "TimelineLookup", "badgering_figure", "channel_cost_figure",
           "lost_valuable_figure", "plan_figure", "questions_figure", "response_figure",
           "shift_figure", "tier_channel_figure"]

CHANNEL_LABELS = {"web": "Web", "email": "Email", "sms": "Text (SMS)",
                  "call_centre": "Call centre", "store": "Store desk", "sales_rep": "Sales rep",
                  "mail": "Post"}
ACTION_LABELS = {"win_back": "Win back", "retain": "Retain", "grow": "Grow",
                 "serve_cheaper": "Serve cheaper", "ask": "Ask a question",
                 "leave_alone": "Leave alone"}
TIER_ORDER = ("MVC", "MGC", "maintain", "BZ", "unrecognised")


def _ch(x: str) -> str:
    return CHANNEL_LABELS.get(x, str(x))


def _empty(title: str, why: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=why, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 14, "color": PALETTE["muted"]})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return theme.style(fig, title, height=300)


def channel_cost_figure(volumes: pd.DataFrame, currency: str = "EUR") -> go.Figure:
    """Contacts and their cost by channel over the window of ``volumes`` (bars side by side)."""
    if volumes is None or volumes.empty:
        return _empty("Contact costs by channel", "No interactions in the data.")
    g = volumes.groupby(C.CHANNEL, as_index=False)[["contacts", "cost"]].sum()
    g = g.sort_values("cost")
    g["cost_share"] = g["cost"] / g["cost"].sum()
    g["contact_share"] = g["contacts"] / g["contacts"].sum()
    top = g.iloc[-1]
    fig = go.Figure()
    fig.add_bar(y=[_ch(c) for c in g[C.CHANNEL]], x=g["cost"], orientation="h",
                name="Cost", marker_color=PALETTE["primary"],
                text=[theme.money(v, currency) for v in g["cost"]], textposition="outside",
                customdata=np.c_[g["contacts"], g["cost"] / g["contacts"]],
                hovertemplate="%{y}: %{x:,.0f} for %{customdata[0]:,} contacts "
                              "(%{customdata[1]:.2f} each)<extra></extra>")
    fig.update_xaxes(title_text=f"Contact cost, last 12 months ({currency})",
                     **theme.money_axis(currency))
    fig.update_yaxes(title_text="Channel")
    title = (f"{_ch(top[C.CHANNEL])} takes {theme.percent(top['cost_share'], 0)} of contact cost "
             f"for {theme.percent(top['contact_share'], 0)} of contacts")
    return theme.style(fig, title, subtitle=f"{theme.number(g['contacts'].sum())} contacts, "
                       f"{theme.money(g['cost'].sum(), currency)} in total", height=420)


def tier_channel_figure(volumes: pd.DataFrame, currency: str = "EUR") -> go.Figure:
    """Contact cost by tier, stacked by channel: who the expensive channels serve."""
    if volumes is None or volumes.empty:
        return _empty("Contact cost by tier", "No interactions in the data.")
    g = volumes.groupby([C.TIER, C.CHANNEL], as_index=False)[["contacts", "cost"]].sum()
    tiers = [t for t in TIER_ORDER if t in set(g[C.TIER])] + sorted(set(g[C.TIER]) - set(TIER_ORDER))
    fig = go.Figure()
    for i, ch in enumerate(sorted(g[C.CHANNEL].unique(), key=lambda c: -g.loc[g[C.CHANNEL] == c, "cost"].sum())):
        s = g[g[C.CHANNEL] == ch].set_index(C.TIER).reindex(tiers)
        fig.add_bar(x=tiers, y=s["cost"], name=_ch(ch), marker_color=COLORWAY[i % len(COLORWAY)],
                    customdata=s["contacts"].fillna(0),
                    hovertemplate=f"{_ch(ch)}, %{{x}}: %{{y:,.0f}} for %{{customdata:,}} "
                                  "contacts<extra></extra>")
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text=f"Contact cost, last 12 months ({currency})",
                     **theme.money_axis(currency))
    fig.update_xaxes(title_text="Tier (MVC most valuable, MGC most growable, BZ below zero)")
    per = g.groupby(C.TIER)["cost"].sum()
    low = [t for t in ("BZ", "maintain") if t in per.index]
    share_low = per[low].sum() / per.sum() if per.sum() else 0
    title = (f"{theme.percent(share_low, 0)} of contact cost goes to the maintain and below-zero "
             "tiers")
    return theme.style(fig, title, subtitle="Cost of contacts in the last 12 months by the "
                       f"customer's tier and channel ({theme.number(g['contacts'].sum())} "
                       "contacts)", height=460)


def shift_figure(savings: pd.DataFrame, currency: str = "EUR") -> go.Figure:
    """Cost by channel now and after the shift (output of :func:`channels.shift_savings`)."""
    if savings is None or savings.empty:
        return _empty("Moving contacts to automated channels", "No interactions in the data.")
    now = savings.groupby(C.CHANNEL)["cost"].sum()
    d = savings.assign(out=savings["moved"] * savings["cost_from"].fillna(0),
                       into=savings["moved"] * savings["cost_to"].fillna(0))
    after = now.sub(d.groupby(C.CHANNEL)["out"].sum(), fill_value=0).add(
        d.dropna(subset=["to_channel"]).groupby("to_channel")["into"].sum(), fill_value=0)
    idx = sorted(set(now.index) | set(after.index), key=lambda c: -now.get(c, 0))
    fig = go.Figure()
    fig.add_bar(x=[_ch(c) for c in idx], y=[now.get(c, 0) for c in idx], name="Now",
                marker_color=PALETTE["primary_light"])
    fig.add_bar(x=[_ch(c) for c in idx], y=[after.get(c, 0) for c in idx], name="After the shift",
                marker_color=PALETTE["primary"])
    s = CH.shift_summary(savings)
    fig.update_yaxes(title_text=f"Contact cost a year ({currency})", **theme.money_axis(currency))
    fig.update_xaxes(title_text="Channel")
    fig.update_layout(barmode="group")
    title = (f"Moving {theme.number(s['contacts_moved'])} contacts a year saves "
             f"{theme.money(s['yearly_saving'], currency)} ({theme.percent(s['saving_share'], 0)})")
    return theme.style(fig, title, subtitle="Costly channels to web self-service, email or a call; "
                       "the protected tiers keep their people", height=440)


def badgering_figure(breaches: pd.DataFrame, policy: Policy | None = None) -> go.Figure:
    """Customers over the cap, by their worst month's outbound contacts."""
    if breaches is None or breaches.empty:
        return _empty("Nobody was contacted more than the policy allows",
                      "No customer exceeded a cap or was contacted in a quiet period.")
    over = breaches[breaches["contacts_over_cap"] > 0]
    fig = go.Figure()
    for i, (tier, d) in enumerate(over.groupby(C.TIER)):
        counts = d["max_per_month"].value_counts().sort_index()
        fig.add_bar(x=counts.index, y=counts.values, name=f"{tier} (cap {int(d['cap'].iloc[0])})",
                    marker_color=COLORWAY[i % len(COLORWAY)],
                    hovertemplate="%{y:,} customers had %{x} contacts in their worst month"
                                  "<extra></extra>")
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title_text="Outbound contacts in the customer's worst month", dtick=1)
    fig.update_yaxes(title_text="Customers")
    heavy = int((over["max_per_month"] >= 8).sum())
    quiet = int((breaches["quiet_breaches"] > 0).sum())
    title = (f"{len(over):,} customers were contacted more than the policy allows; "
             f"{heavy:,} got 8 or more contacts in a month")
    caps = ", ".join(f"{k} {v}" for k, v in policy.caps_per_month.items()) if policy else ""
    sub = (f"{quiet:,} were contacted within the quiet days after a complaint"
           + (f". Caps a month: {caps}; {policy.quiet_days} quiet days" if policy else ""))
    return theme.style(fig, title, subtitle=sub, height=440)


def plan_figure(plan: pd.DataFrame, currency: str = "EUR") -> go.Figure:
    """Planned contacts by action, stacked by channel, with expected value in the labels."""
    if plan is None or plan.empty:
        return _empty("The contact plan", "No customers.")
    p = plan[plan["action"] != "leave_alone"]
    acts = [a for a in ACTION_LABELS if a != "leave_alone" and a in set(p["action"])]
    fig = go.Figure()
    for i, ch in enumerate(sorted(p["channel"].dropna().unique())):
        s = p[p["channel"] == ch].groupby("action").agg(n=("action", "size"),
                                                       ev=(C.EXPECTED_VALUE, "sum")).reindex(acts)
        fig.add_bar(x=[ACTION_LABELS[a] for a in acts], y=s["n"], name=_ch(ch),
                    marker_color=COLORWAY[i % len(COLORWAY)], customdata=s["ev"].fillna(0),
                    hovertemplate=f"{_ch(ch)}: %{{y:,}} contacts, expected value "
                                  f"%{{customdata:,.0f}} {currency}<extra></extra>")
    ev = p.groupby("action")[C.EXPECTED_VALUE].sum().reindex(acts)
    tot = p.groupby("action").size().reindex(acts)
    for a in acts:
        fig.add_annotation(x=ACTION_LABELS[a], y=tot[a], text=theme.money(ev[a], currency),
                           showarrow=False, yshift=12, font={"color": PALETTE["muted"]})
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text="Planned contacts")
    fig.update_xaxes(title_text="Next best action (label: expected value)")
    title = (f"{len(p):,} contacts planned, worth {theme.money(p['expected_value'].sum(), currency)}"
             f" expected; {int((plan['action'] == 'leave_alone').sum()):,} customers left alone")
    return theme.style(fig, title, subtitle="Each on the cheapest channel the customer opted in to "
                       "that suits their tier, inside the contact policy", height=460)


def lost_valuable_figure(lost: pd.DataFrame, currency: str = "EUR", top: int = 30) -> go.Figure:
    """The most valuable lost customers, ranked: the call list."""
    if lost is None or lost.empty:
        return _empty("Valuable customers lost last year", "Nobody valuable stopped buying.")
    d = lost.head(top).iloc[::-1]
    fig = go.Figure()
    fig.add_bar(y=d[C.CUSTOMER_ID].astype(str), x=d[C.REVENUE_BEFORE_12M], orientation="h",
                marker_color=PALETTE["accent"],
                customdata=pd.to_datetime(d[C.LAST_PURCHASE]).dt.strftime("%d %b %Y"),
                hovertemplate="%{y}: %{x:,.0f}; last purchase %{customdata}<extra></extra>")
    fig.update_xaxes(title_text=f"Revenue in the two years before the last 12 months ({currency})",
                     **theme.money_axis(currency))
    fig.update_yaxes(title_text="Customer", type="category")
    title = (f"{len(lost):,} valuable customers bought nothing in the last 12 months: worth "
             f"{theme.money(lost['revenue_before_12m'].sum(), currency)} before")
    return theme.style(fig, title, subtitle=f"The top {min(top, len(lost))}; call every one of "
                       "them before a competitor does", height=max(420, 18 * len(d) + 160))


def response_figure(responses: pd.DataFrame, currency: str = "EUR") -> go.Figure:
    """Response rate (bars) and cost per response (labels) by channel."""
    if responses is None or responses.empty:
        return _empty("Response by channel", "No outbound contacts in the data.")
    d = responses.sort_values("response_rate")
    fig = go.Figure()
    fig.add_bar(y=[_ch(c) for c in d[C.CHANNEL]], x=d["response_rate"], orientation="h",
                marker_color=PALETTE["primary"],
                text=[f"{theme.percent(r)} · {theme.money(c, currency, decimals=2)} per response"
                      for r, c in zip(d["response_rate"], d["cost_per_response"])],
                textposition="outside", customdata=d["contacts"],
                hovertemplate="%{y}: %{x:.1%} of %{customdata:,} contacts<extra></extra>")
    fig.update_xaxes(title_text="Response rate (responded, accepted or answered)",
                     tickformat=".0%", range=[0, float(d["response_rate"].max()) * 1.6 + 0.01])
    fig.update_yaxes(title_text="Channel")
    best = d.loc[d["cost_per_response"].idxmin()] if d["cost_per_response"].notna().any() else None
    title = ("Response rate and cost per response by channel" if best is None else
             f"{_ch(best[C.CHANNEL])} buys a response cheapest: "
             f"{theme.money(best['cost_per_response'], currency, decimals=2)}")
    return theme.style(fig, title, subtitle="Outbound contacts in the last 24 months", height=380)


def questions_figure(summary: pd.DataFrame) -> go.Figure:
    """How often each profile question is the first or second one to ask."""
    if summary is None or summary.empty:
        return _empty("Questions to ask", "Every profile is complete.")
    d = summary.iloc[::-1]
    fig = go.Figure()
    fig.add_bar(y=d["attribute"], x=d["first_choice"], name="First question", orientation="h",
                marker_color=PALETTE["primary"])
    fig.add_bar(y=d["attribute"], x=d["second_choice"], name="Second question", orientation="h",
                marker_color=PALETTE["primary_light"])
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title_text="Customers")
    fig.update_yaxes(title_text="Profile attribute")
    top = summary.iloc[0]
    return theme.style(fig, f"Most worth asking: {top['attribute'].replace('_', ' ')} "
                       f"({int(top['first_choice']):,} customers first)",
                       subtitle="Missing, not asked lately, and weighted by how much the answer "
                       "changes what we do for the customer's tier", height=400)


# -- widgets ----------------------------------------------------------------------------------
def _timeline_html(tl: pd.DataFrame, rows: int, currency: str) -> str:
    if tl.empty:
        return "<i>No transactions or interactions on record.</i>"
    head = ("<tr>" + "".join(f"<th style='text-align:left;padding:2px 8px'>{h}</th>" for h in
                             ("Date", "Event", "Channel", "Direction", "What", "Amount", "Outcome"))
            + "</tr>")
    body = []
    for _, r in tl.head(rows).iterrows():
        amt = "" if pd.isna(r["amount"]) else theme.money(r["amount"], currency, compact=False,
                                                         decimals=2)
        cells = (pd.Timestamp(r["date"]).strftime("%Y-%m-%d %H:%M"), r["event"],
                 _ch(r["channel"]) if isinstance(r["channel"], str) else "",
                 r["direction"] if isinstance(r["direction"], str) else "",
                 r["detail"] if isinstance(r["detail"], str) else "", amt,
                 r["outcome"] if isinstance(r["outcome"], str) else "")
        body.append("<tr>" + "".join(f"<td style='padding:2px 8px'>{html.escape(str(c))}</td>"
                                     for c in cells) + "</tr>")
    more = (f"<div style='color:{PALETTE['muted']}'>{len(tl) - rows:,} older events not shown"
            "</div>" if len(tl) > rows else "")
    return f"<table style='border-collapse:collapse;font-size:13px'>{head}{''.join(body)}</table>{more}"


class TimelineLookup(widgets.VBox):
    """Find a customer by id, name, email or phone: where we left off with them, their next
    best action, and every transaction and contact, newest first.

    The search is Identify's (:func:`onetoone.identify.overrides.search_customers`: case
    ignored, names with or without accents, phones in any format) when the workspace has
    Identify's tables; without them a customer id is matched, case ignored.

    Parameters
    ----------
    transactions, interactions
        Ibis tables with ``customer_id`` (either may be None).
    as_of
        The analysis date ("3 days ago" is counted from it).
    products
        Ibis products table, to name what was bought.
    plan
        The contact plan (pandas), to show the next best action (or :meth:`set_plan` later).
    search_ws
        A workspace with Identify's tables (customers, record_map, customer_records) to search.

    Attributes
    ----------
    customer : ipywidgets.Text
        The search box (id, name, email or phone).
    results : ipywidgets.Dropdown
        The customers found ("20 of 1,392 shown" in ``status``).
    summary, table, status : ipywidgets.HTML
    last : LeftOff or None
    """

    LIMIT = 20

    def static_view(self) -> list:
        """What a report shows: where we left off with the customer shown, and the timeline."""
        return [self.summary, self.table]

    def __init__(self, transactions, interactions, as_of, *, products=None,
                 plan: pd.DataFrame | None = None, currency: str = "EUR", rows: int = 25,
                 examples: list[str] | None = None, search_ws=None, region: str = "GB",
                 reader: WorkspaceReader | None = None, **kwargs):
        self.reader = reader
        self._tables = {"transactions": transactions, "interactions": interactions,
                        "products": products}
        self.as_of, self.currency, self.rows = as_of, currency, rows
        self.search_ws, self.region = search_ws, region
        self.plan = None
        self.set_plan(plan, refresh=False)
        self.customer = widgets.Text(placeholder="customer id, name, email or phone",
                                     description="Customer", continuous_update=False,
                                     layout=widgets.Layout(width="420px"))
        self.results = widgets.Dropdown(options=[], description="Found",
                                        layout=widgets.Layout(width="620px", display="none"))
        self.status = widgets.HTML()
        self.summary = widgets.HTML()
        self.table = widgets.HTML()
        self.customer.add_class("interact-timeline-customer")
        self.results.add_class("interact-timeline-results")
        self.status.add_class("interact-timeline-status")
        self.summary.add_class("interact-timeline-summary")
        self._picking = False
        self.customer.observe(lambda ch: self.search(ch["new"]), names="value")
        self.results.observe(self._on_pick, names="value")
        self.last = None
        self.shown: str | None = None
        self.timeline = pd.DataFrame()
        super().__init__([self.customer, self.status, self.results, self.summary, self.table],
                         **kwargs)

    EVENT_TABLES = ("transactions", "interactions")
    SEARCH_TABLES = ("customers", "record_map", "customer_records")

    @classmethod
    def snapshot(cls, ws, as_of, **kwargs) -> TimelineLookup:
        """A lookup on the workspace that keeps working after the notebook closes it and never
        holds its file lock between lookups: each customer shown asks the engine for that
        customer's rows only (their record keys from ``record_map``, then those keys' order
        lines and contacts), on DuckDB or Spark; nothing is copied into the kernel. Identify's
        search is used when its tables are there; the contact plan is read when one was
        written."""
        if kwargs.get("plan") is None and ws.has("contact_plan"):
            kwargs["plan"] = ws.read("contact_plan")
        return cls(None, None, as_of, reader=WorkspaceReader(ws), **kwargs)

    # the Ibis tables (with customer_id) a lookup made by snapshot reads; handed out on demand
    # (they keep a read-only workspace open until release() once the notebook has closed its own)
    def _table(self, name: str):
        if self.reader is None:
            return self._tables[name]
        ws = self.reader.workspace()
        if not ws.has(name):
            return None
        return ws.table(name) if name == "products" else with_customer_id(ws, name)

    transactions = property(lambda self: self._table("transactions"))
    interactions = property(lambda self: self._table("interactions"))
    products = property(lambda self: self._table("products"))

    def release(self) -> None:
        """Close a read-only workspace the table attributes opened."""
        if self.reader is not None:
            self.reader.release()

    @staticmethod
    def _customer_rows(ws, present: set[str], customer: str) -> dict:
        """The customer's transactions and interactions (customer_id attached, as
        :func:`~onetoone.customers.with_customer_id` gives it) and the products table: the
        engine filters on the customer's record keys, so only their rows are read."""
        keys = [customer]  # an unresolved record counts as its own customer
        if "record_map" in present:
            m = ws.table("record_map")
            mine = m.filter((m[C.CUSTOMER_ID].cast("string") == customer)
                            | (m[C.RECORD_KEY].cast("string") == customer)).select(
                __rk=m[C.RECORD_KEY].cast("string"), __cid=m[C.CUSTOMER_ID].cast("string")
            ).to_pandas()
            keys = mine.loc[mine["__cid"] == customer, "__rk"].dropna().tolist()
            if customer not in set(mine["__rk"]):  # a record key of nobody else: its own
                keys.append(customer)
        out = {}
        for name in ("transactions", "interactions"):
            if name in present:
                t = ws.table(name)
                t = t.filter(t[C.RECORD_KEY].cast("string").isin(sorted(set(keys))))
                out[name] = t.mutate(**{C.CUSTOMER_ID: ibis.literal(customer, "string")})
            else:
                out[name] = None
        out["products"] = ws.table("products") if "products" in present else None
        return out

    def set_plan(self, plan: pd.DataFrame | None, refresh: bool = True) -> None:
        """Give the lookup the contact plan (its next best actions); redraws the customer shown."""
        if plan is not None:
            plan = plan.drop_duplicates(C.CUSTOMER_ID)
            plan.index = plan[C.CUSTOMER_ID].astype(str)
        self.plan = plan
        if refresh and getattr(self, "shown", None):
            self.show(self.shown)

    # -- search -----------------------------------------------------------------------------
    def _ids_like(self, text: str, ws=None) -> list[str]:
        """Customer ids equal to ``text``, case ignored (no Identify tables to search)."""
        found = []
        tables = ((self._tables["transactions"], self._tables["interactions"]) if ws is None else
                  tuple(with_customer_id(ws, t) for t in self.EVENT_TABLES if ws.has(t)))
        for t in tables:
            if t is None:
                continue
            hit = t.filter(t[C.CUSTOMER_ID].upper() == text.upper()).select(C.CUSTOMER_ID)
            found += hit.distinct().to_pandas()[C.CUSTOMER_ID].astype(str).tolist()
        return sorted(set(found))

    def _search_identify(self, ws, text: str) -> tuple[pd.DataFrame, int]:
        from ..identify import overrides

        if hasattr(overrides, "search_customers"):  # matches and their total
            return overrides.search_customers(ws, text, limit=self.LIMIT, region=self.region)
        # an Identify without the counting search: the matches shown are the count
        found = overrides.find_customers(ws, text, limit=self.LIMIT, region=self.region)
        return found, len(found)

    def search(self, text: str):
        """Find customers (also what typing in the box does); shows the first; returns LeftOff."""
        text = (text or "").strip()
        self.results.layout.display = "none"
        if not text:
            self.status.value = self.summary.value = self.table.value = ""
            return None
        try:
            if self.reader is not None:
                with self.reader.open() as ws:
                    searchable = all(ws.has(t) for t in self.SEARCH_TABLES)
                    found = self._search_identify(ws, text) if searchable else None
                    ids = None if searchable else self._ids_like(text, ws)
            else:
                found = (self._search_identify(self.search_ws, text)
                         if self.search_ws is not None else None)
                ids = self._ids_like(text) if found is None else None
        except WorkspaceError as exc:  # the file is being written by a command right now
            self.status.value = f"<i>{html.escape(str(exc))}</i>"
            return None
        if found is not None:
            found, total = found
            options = [(f"{r[C.CUSTOMER_ID]}: {r.get(C.FIRST_NAME) or ''} "
                        f"{r.get(C.LAST_NAME) or ''}".strip(), str(r[C.CUSTOMER_ID]))
                       for _, r in found.iterrows()]
        else:
            total, options = len(ids), [(i, i) for i in ids[: self.LIMIT]]
        if not options:
            self.status.value = ""
            return self.show(text)  # says there is nothing on record for it
        self.status.value = (f"{len(options):,} of {total:,} shown (type more to narrow it)"
                             if total > len(options) else f"{total:,} customer(s) found")
        self._picking = True
        try:
            self.results.options = options
            self.results.value = options[0][1]
        finally:
            self._picking = False
        if len(options) > 1:
            self.results.layout.display = None
        return self.show(options[0][1])

    def _on_pick(self, change) -> None:
        if not self._picking and change["new"]:
            self.show(change["new"])

    # -- one customer -----------------------------------------------------------------------
    def show(self, customer: str):
        """One customer's timeline and where we left off; returns the LeftOff."""
        customer = (customer or "").strip()
        if not customer:
            self.summary.value = self.table.value = ""
            return None
        t0 = time.perf_counter()
        try:
            if self.reader is not None:
                with self.reader.open() as ws:
                    rows = self._customer_rows(ws, set(ws.tables()), customer)
                    tl = customer_timeline(rows["transactions"], rows["interactions"],
                                           customer, products=rows["products"])
            else:
                tl = customer_timeline(self._tables["transactions"], self._tables["interactions"],
                                       customer, products=self._tables["products"])
        except WorkspaceError as exc:  # the file is being written by a command right now
            self.summary.value, self.table.value = f"<i>{html.escape(str(exc))}</i>", ""
            return None
        self.timeline = tl
        self.shown = customer
        left = where_we_left_off(tl, self.as_of, customer, currency=self.currency)
        self.last = left
        if tl.empty:
            self.summary.value = (f"<b>{html.escape(customer)}</b>: no transactions or contacts "
                                  "on record (check the id, or search by name, email or phone).")
            self.table.value = ""
            return left
        label = f"style='padding:2px 10px 2px 0;color:{PALETTE['muted']}'"
        rows = "".join(f"<tr><td {label}>{k}</td><td>{html.escape(v)}</td></tr>"
                       for k, v in left.lines())
        if self.plan is None:
            nba = (f"<tr><td {label}>Next best action</td><td><i>no contact plan yet (section 7 "
                   f"of 03 builds it)</i></td></tr>")
        elif customer in self.plan.index:
            p = self.plan.loc[customer]
            when = "" if pd.isna(p.get(C.PLANNED_DATE)) else \
                f" on {pd.Timestamp(p[C.PLANNED_DATE]):%d %b %Y} by {_ch(p['channel'])}"
            nba = (f"<tr><td {label}>Next best action</td><td><b class='interact-nba' "
                   f"style='color:{PALETTE['accent']}'>"
                   f"{ACTION_LABELS.get(p['action'], p['action'])}</b>{html.escape(when)}: "
                   f"{html.escape(str(p['reason']))}</td></tr>")
        else:
            nba = (f"<tr><td {label}>Next best action</td><td><i>not in the contact plan"
                   f"</i></td></tr>")
        self.summary.value = (f"<h4 style='margin:6px 0'>Where we left off with "
                              f"{html.escape(customer)} ({left.events:,} events since "
                              f"{left.first_seen})</h4><table>{rows}{nba}</table>"
                              f"<div style='color:{PALETTE['muted']};font-size:11px'>"
                              f"looked up in {time.perf_counter() - t0:.2f} s</div>")
        self.table.value = _timeline_html(tl, self.rows, self.currency)
        return left


class ChannelShiftSimulator(widgets.VBox):
    """Move a share of contacts from costly channels to automated ones; see the yearly saving.

    Parameters
    ----------
    volumes
        Output of :func:`onetoone.interact.channels.channel_volumes` (12 months).
    costs
        Cost per contact by channel (the client config's ``channel_costs``).
    keep_tiers
        Tiers whose contacts stay with people at first (the widget lets you change them).

    Attributes
    ----------
    share : ipywidgets.FloatSlider
        Share of movable contacts that move, 0-100 %.
    keep_boxes : dict of ipywidgets.Checkbox
        One per tier: ticked tiers keep their contacts with people (``keep_tiers``).
    readout : ipywidgets.HTML
    figure : plotly.graph_objects.FigureWidget
    current : dict
        :func:`channels.shift_summary` at the controls' values.
    """

    def static_view(self) -> list:
        """What a report shows: the readout and the chart at the share set here."""
        return [self.readout, self.figure]

    def __init__(self, volumes: pd.DataFrame, costs=None, *, currency: str = "EUR",
                 share: float = 0.3, keep_tiers=("MVC",), months: int = 12, **kwargs):
        self.volumes, self.costs, self.currency, self.months = volumes, costs, currency, months
        tiers = [t for t in TIER_ORDER if t in set(volumes.get(C.TIER, []))]
        self.share = widgets.FloatSlider(value=100 * share, min=0, max=100, step=5,
                                         description="Contacts moved (%)", readout_format=".0f",
                                         style={"description_width": "140px"},
                                         layout=widgets.Layout(width="460px"))
        # multi-choice: one checkbox per tier (a plain click on one never clears the others)
        self.keep_boxes = {t: widgets.Checkbox(value=t in keep_tiers, description=t, indent=False,
                                               layout=widgets.Layout(width="110px"))
                           for t in tiers}
        for t, box in self.keep_boxes.items():
            box.add_class(f"interact-shift-keep-{t}")
        self.keep = widgets.HBox([widgets.Label("Keep people for", layout=widgets.Layout(
            width="140px")), *self.keep_boxes.values()])
        self.readout = widgets.HTML()
        self.share.add_class("interact-shift-share")
        self.readout.add_class("interact-shift-readout")
        self.figure = go.FigureWidget(shift_figure(self._savings(), currency))
        self.share.observe(lambda ch: self.update(), names="value")
        for box in self.keep_boxes.values():
            box.observe(lambda ch: self.update(), names="value")
        super().__init__([widgets.HBox([widgets.VBox([self.share, self.keep]), self.readout]),
                          self.figure], **kwargs)
        self.current: dict = {}
        self.update()

    @property
    def keep_tiers(self) -> tuple[str, ...]:
        """Tiers whose contacts stay with people (the ticked boxes)."""
        return tuple(t for t, box in self.keep_boxes.items() if box.value)

    def _savings(self) -> pd.DataFrame:
        return CH.shift_savings(self.volumes, self.share.value / 100, keep_tiers=self.keep_tiers,
                                costs=self.costs, months=self.months)

    def update(self) -> dict:
        """Recompute at the controls' values; redraw the readout and the figure in place."""
        sav = self._savings()
        s = CH.shift_summary(sav)
        self.current = s
        c = self.currency
        rows = [("Contacts moved a year", theme.number(s["contacts_moved"])),
                ("Contact cost a year now", theme.money(s["cost_before"], c)),
                ("After the shift", theme.money(s["cost_after"], c)),
                ("Yearly saving", (f"<b style='color:{PALETTE['good']}'>"
                                   f"{theme.money(s['yearly_saving'], c)}</b> "
                                   f"({theme.percent(s['saving_share'])})"))]
        self.readout.value = "<table>" + "".join(
            f"<tr><td style='padding:2px 12px;color:{PALETTE['muted']}'>{k}</td><td>{v}</td></tr>"
            for k, v in rows) + "</table>"
        new = shift_figure(sav, c)
        with self.figure.batch_update():
            for tr, nt in zip(self.figure.data, new.data):
                tr.x, tr.y = nt.x, nt.y
            self.figure.layout.title.text = new.layout.title.text
        return s
