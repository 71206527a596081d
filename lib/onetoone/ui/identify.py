"""Identify on screen: figures for notebook 01 and the customer lookup widget.

Figure builders take the DataFrames the identify library returns (or the workspace tables
it writes) and return plotly figures in the house theme:
:func:`records_figure`, :func:`match_weight_figure`, :func:`cluster_size_figure`,
:func:`recognition_figure`, :func:`completeness_figure`, :func:`consent_figure`,
:func:`questions_figure`. :class:`CustomerLookup` searches by name, email or phone and shows
the golden record, the source records and why they were merged.
"""

from __future__ import annotations

import html
import math

import ipywidgets as widgets
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import columns as C
from .. import masking
from ..identify import overrides as O
from ..workspace import WorkspaceError
from . import theme
from .reader import WorkspaceReader
from .theme import PALETTE

__all__ = ["CustomerLookup", "cluster_size_figure", "completeness_figure", "consent_figure",
           "match_weight_figure", "questions_figure", "recognition_figure", "records_figure"]


def _weight_of(p: float) -> float:
    """Match weight (log2 odds, prior included) of a match probability."""
    return math.log2(p / (1 - p))


def records_figure(record_map: pd.DataFrame) -> go.Figure:
    """Records per source system before resolution, and the customers they belong to."""
    rm = record_map
    per = rm.groupby(C.SOURCE_SYSTEM).agg(records=(C.RECORD_KEY, "size"),
                                          customers=(C.CUSTOMER_ID, "nunique"))
    per.loc["all sources"] = [len(rm), rm[C.CUSTOMER_ID].nunique()]
    fig = go.Figure([
        go.Bar(name="source records", x=per.index, y=per["records"],
               marker_color=PALETTE["primary_light"],
               text=[theme.number(v) for v in per["records"]], textposition="outside"),
        go.Bar(name="customers", x=per.index, y=per["customers"], marker_color=PALETTE["primary"],
               text=[theme.number(v) for v in per["customers"]], textposition="outside"),
    ])
    n, k = len(rm), rm[C.CUSTOMER_ID].nunique()
    fig.update_layout(barmode="group", xaxis_title="source system", yaxis_title="count")
    return theme.style(fig, f"{theme.number(n)} source records are {theme.number(k)} customers",
                       f"{theme.percent(1 - k / n)} of the records were duplicates of someone "
                       "already known, within or across systems")


def match_weight_figure(weight_histogram: pd.DataFrame, threshold: float,
                        review_band: tuple[float, float] | None = None) -> go.Figure:
    """Histogram of the match weight of every scored pair, with the threshold drawn."""
    h = weight_histogram
    thr = _weight_of(threshold)
    above = h["bin_start"] >= math.floor(thr)
    colours = np.where(above, PALETTE["primary"], PALETTE["primary_light"])
    fig = go.Figure(go.Bar(x=h["bin_start"] + 0.5, y=h["pairs"], width=0.95,
                           marker_color=colours, name="pairs",
                           hovertemplate="weight %{x:.0f}: %{y:,} pairs<extra></extra>"))
    fig.add_vline(x=thr, line_color=PALETTE["accent"], line_width=3,
                  annotation_text=f"merge above p = {threshold:g}",
                  annotation_position="top right")
    if review_band:
        lo = _weight_of(review_band[0])
        fig.add_vrect(x0=lo, x1=thr, fillcolor=PALETTE["accent"], opacity=0.12, line_width=0,
                      annotation_text="review", annotation_position="bottom left")
    fig.update_yaxes(type="log", title="pairs (log scale)")
    fig.update_xaxes(title="match weight (log2 odds that the two records are one person)")
    n_above = int(h.loc[h["bin_start"] >= thr, "pairs"].sum())
    return theme.style(fig, "Most candidate pairs are clearly one person or clearly two",
                       f"{theme.number(int(h['pairs'].sum()))} pairs scored; about "
                       f"{theme.number(n_above)} weigh more than the threshold")


def cluster_size_figure(record_map: pd.DataFrame) -> go.Figure:
    """Customers by the number of source records they have."""
    sizes = record_map.groupby(C.CUSTOMER_ID).size().value_counts().sort_index()
    fig = go.Figure(go.Bar(x=sizes.index.astype(str), y=sizes.to_numpy(),
                           marker_color=PALETTE["primary"],
                           text=[theme.number(v) for v in sizes], textposition="outside"))
    fig.update_layout(xaxis={"title": "source records per customer", "type": "category"},
                      yaxis_title="customers")
    multi = sizes[sizes.index > 1].sum() / sizes.sum()
    return theme.style(fig, f"{theme.percent(multi)} of customers are known to more than one "
                            "system", "Customers by the number of source records resolved into "
                            "them; very large clusters would signal over-merging")


def recognition_figure(recognition: pd.DataFrame, dimension: str = C.CHANNEL) -> go.Figure:
    """Share of transactions and interactions tied to a known customer, per ``dimension``."""
    r = recognition[recognition["dimension"] == dimension]
    fig = go.Figure()
    colours = {"transactions": PALETTE["primary"], "interactions": PALETTE["accent"]}
    for table, g in r.groupby("table", sort=False):
        g = g.sort_values("rate")
        fig.add_trace(go.Bar(
            name=table, y=g["value"], x=g["rate"], orientation="h",
            marker_color=colours.get(table), text=[theme.percent(v) for v in g["rate"]],
            textposition="outside",
            customdata=np.c_[g["rows"], g["recognised"]],
            hovertemplate="%{y}: %{x:.1%} (%{customdata[1]:,} of %{customdata[0]:,})"
                          "<extra>" + table + "</extra>"))
    fig.update_layout(barmode="group", xaxis={"title": "share recognised (known customer)",
                                                  "tickformat": ".0%", "range": [0, 1.12]},
                      yaxis_title=dimension.replace("_", " "),
                      height=max(380, 40 * r["value"].nunique() + 200))
    worst = r.sort_values("rate").head(1)
    title = (f"Least recognised {dimension.replace('_', ' ')}: {worst['value'].iloc[0]} "
             f"({theme.percent(worst['rate'].iloc[0])} of its {worst['table'].iloc[0]})"
             if len(worst) else f"No activity with a {dimension}")
    return theme.style(fig, title, "Anonymous activity counts as unrecognised")


def completeness_figure(completeness: pd.DataFrame) -> go.Figure:
    """Heatmap: share of records (per source) and of golden records with each attribute."""
    z = completeness.to_numpy(dtype=float)
    fig = go.Figure(go.Heatmap(
        z=z, x=list(completeness.columns), y=list(completeness.index), zmin=0, zmax=1,
        colorscale=[[0, "#ffffff"], [1, PALETTE["primary"]]],
        text=[[theme.percent(v) for v in row] for row in z], texttemplate="%{text}",
        colorbar={"title": "known", "tickformat": ".0%"}))
    fig.update_yaxes(autorange="reversed", title="attribute")
    fig.update_xaxes(title="", side="top")
    g = completeness["golden record"]
    weakest = g.sort_values().index[0]
    return theme.style(fig, f"Resolving fills gaps; {weakest.replace('_', ' ')} is known for "
                            f"only {theme.percent(g[weakest])} of customers",
                       "Share of records (per source) and of golden records with each attribute",
                       height=120 + 34 * len(completeness))


def consent_figure(addressable: pd.DataFrame) -> go.Figure:
    """Per outbound channel: customers with the contact detail, with consent, and both."""
    a = addressable
    fig = go.Figure()
    for col, name, colour in (("with_contact", "contact detail known", PALETTE["primary_light"]),
                              ("with_consent", "opted in", PALETTE["muted"]),
                              ("addressable", "addressable (both)", PALETTE["primary"])):
        fig.add_trace(go.Bar(name=name, x=a["channel"], y=a[col] / a["customers"],
                             marker_color=colour, text=[theme.percent(v) for v in
                                                        a[col] / a["customers"]],
                             textposition="outside"))
    fig.update_layout(barmode="group", yaxis={"title": "share of customers", "tickformat": ".0%",
                                                  "range": [0, 1.1]}, xaxis_title="outbound channel")
    best = a.sort_values("share", ascending=False).iloc[0]
    return theme.style(fig, f"At most {theme.percent(best['share'])} of customers can be "
                            f"reached on any one channel ({best['channel']})",
                       "Addressable = the contact detail is known and the customer opted in")


def questions_figure(questions: pd.DataFrame, top: int = 6) -> go.Figure:
    """The attributes most worth asking next: customers missing each, by priority."""
    q = questions.head(top).iloc[::-1]
    fig = go.Figure(go.Bar(y=q["attribute"], x=q["missing"], orientation="h",
                           marker_color=PALETTE["primary"], text=q["why"],
                           textposition="auto", insidetextanchor="start",
                           insidetextfont={"color": "white"},
                           outsidetextfont={"color": PALETTE["ink"]}))
    fig.update_layout(xaxis_title="customers who have not told us", yaxis_title="")
    return theme.style(fig, f"Ask for {questions['attribute'].iloc[0].replace('_', ' ')} first",
                       "Ranked by customers missing it x what knowing it unlocks")


# -- the lookup widget -------------------------------------------------------------------------
def _table_html(df: pd.DataFrame, max_rows: int = 30) -> str:
    if df is None or df.empty:
        return "<p><i>none</i></p>"
    from .format import table_html  # the one formatting layer (masks contact data in reports)

    return table_html(df, max_rows=max_rows)


class CustomerLookup(widgets.VBox):
    """Search a customer by name, email or phone; show the golden record, the source
    records and why they were merged.

    Parameters
    ----------
    ws
        The client's workspace (after Identify has run).
    region
        Country for national phone numbers typed in the search box.
    """

    def static_view(self) -> list:
        """What a report shows: the customer looked up, or what the search box is for."""
        if self.detail.value:
            return [self.status, self.detail]
        return [("<p><i>Customer lookup: search by name, email or phone in the live notebook "
                 "to see a golden record, its source records and why they were merged.</i></p>")]

    def __init__(self, ws, region: str = "GB", **kwargs):
        self.reader = WorkspaceReader(ws)
        self.region = region
        self.query = widgets.Text(placeholder="name, email or phone", description="Search",
                                  continuous_update=False)
        self.results = widgets.Dropdown(options=[], description="Customer",
                                        layout=widgets.Layout(width="60%"))
        self.status = widgets.HTML()
        self.detail = widgets.HTML()
        self.query.add_class("identify-lookup-query")
        self.results.add_class("identify-lookup-results")
        self.query.observe(self._on_query, names="value")
        self.results.observe(self._on_pick, names="value")
        super().__init__([self.query, self.status, self.results, self.detail], **kwargs)

    @property
    def ws(self):
        """The workspace searched (read-only once the notebook has closed its own)."""
        return self.reader.workspace()

    @classmethod
    def snapshot(cls, ws, region: str = "GB", **kwargs) -> CustomerLookup:
        """A lookup that keeps working after the notebook closes the workspace and never holds
        its file lock between lookups: each search and each customer shown asks the engine
        for the matching rows only (:class:`~onetoone.ui.reader.WorkspaceReader`), on DuckDB
        or Spark; nothing is copied into the kernel."""
        return cls(ws, region=region, **kwargs)

    LIMIT = 20

    def search(self, text: str) -> pd.DataFrame:
        """Run a search (also what typing in the box does); returns the customers shown.

        Searches by customer id, record key or id, name, email or phone, ignoring case
        (:func:`onetoone.identify.overrides.search_customers`); at most :attr:`LIMIT` are
        listed, and the status line says how many matched in all ("20 of 1,392 shown")."""
        try:
            with self.reader.open() as ws:
                found, total = O.search_customers(ws, text, limit=self.LIMIT, region=self.region)
        except WorkspaceError as exc:  # the file is being written by a command right now
            self.status.value = f"<i>{html.escape(str(exc))}</i>"
            return pd.DataFrame()
        if found.empty:
            self.status.value = f"<i>No customer matches {html.escape(text)!s}.</i>" if text else ""
            self.results.options = []
            self.detail.value = ""
            return found
        self.status.value = (f"{len(found):,} of {total:,} shown (the customers with the most "
                             "records first; type more to narrow the search)"
                             if total > len(found) else f"{total:,} customer(s) found")
        opts = [((f"{r[C.CUSTOMER_ID]}: {r[C.FIRST_NAME] or ''} {r[C.LAST_NAME] or ''} "
                 f"({r['n_records']} records; {r['sources']})"), r[C.CUSTOMER_ID])
                for _, r in found.iterrows()]
        self.results.options = opts
        self.results.value = opts[0][1]
        self.show(opts[0][1])
        return found

    def show(self, customer_id: str) -> str:
        """Render one customer; returns the HTML shown."""
        try:
            with self.reader.open() as ws:
                info = O.explain(ws, customer_id)
                cust = ws.table("customers")
                golden = cust.filter(cust[C.CUSTOMER_ID] == customer_id).to_pandas()
        except WorkspaceError as exc:
            self.detail.value = f"<i>{html.escape(str(exc))}</i>"
            return self.detail.value
        if masking.enabled():  # a report: contact fields masked before the record is turned
            golden = masking.mask_frame(golden)
        g = golden.T.reset_index()
        g.columns = ["field", "value"]
        g = g[g["value"].notna() & (g["value"].astype(str) != "")]
        rec_cols = [C.RECORD_KEY, C.FIRST_NAME, C.LAST_NAME, C.EMAIL, C.PHONE, C.HOUSE_NUMBER,
                    C.STREET, C.ADDRESS_LINE2, C.POSTCODE, C.CITY, C.BIRTH_DATE, C.UPDATED_AT]
        recs = info["records"][[c for c in rec_cols if c in info["records"].columns]]
        if masking.enabled():
            recs = masking.mask_frame(recs)
        pairs = info["pairs"]
        why = "<p><i>A single source record: nothing was merged.</i></p>"
        if len(pairs):
            agree = [c for c in pairs.columns if c.startswith("agree_")]
            show = pairs[["record_key_l", "record_key_r", "match_weight", C.MATCH_PROBABILITY,
                          *(["same_customer"] if "same_customer" in pairs else []), *agree]]
            show = show.rename(columns=lambda c: c.replace("agree_", ""))
            show["match_weight"] = show["match_weight"].round(1)
            show[C.MATCH_PROBABILITY] = show[C.MATCH_PROBABILITY].round(4)
            why = ("<p>Pairs scored between these records (fields: how they compared; a pair "
                   "with same_customer False was not merged):</p>" + _table_html(show))
        ov = info["overrides"]
        ov_html = _table_html(ov) if len(ov) else "<p><i>no manual decisions</i></p>"
        out = (f"<h3>{html.escape(customer_id)}</h3><h4>Golden record</h4>{_table_html(g, 40)}"
               f"<h4>Source records ({len(recs)})</h4>{_table_html(recs)}"
               f"<h4>Why they were merged</h4>{why}<h4>Decisions</h4>{ov_html}"
               "<p style='color:#52606d'>To undo a merge, store a cannot-link between two of "
               "its records: <code>identify.add_override(ws, key_a, key_b, 'cannot_link', "
               "reason=...)</code> and re-run the stage.</p>")
        self.detail.value = out
        return out

    def _on_query(self, change) -> None:
        self.search(change["new"])

    def _on_pick(self, change) -> None:
        if change["new"]:
            self.show(change["new"])
