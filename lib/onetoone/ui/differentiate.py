"""Figures for the Differentiate notebook: value, tiers, CLV check, needs, matrix, decliners.

Each builder takes library results (``customer_value`` rows, a ``HoldoutCheck``,
``NeedsSegments``, a ``MatrixPlacement``) and returns a plotly figure in the house theme, with
a title that states the finding and a subtitle that says what is shown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import columns as C
from ..differentiate.clv import HoldoutCheck
from ..differentiate.matrix import QUADRANTS, MatrixPlacement
from ..differentiate.needs import NeedsSegments
from ..differentiate.tiers import TIERS
from . import theme
from .theme import PALETTE

__all__ = [
    "clv_calibration_figure",
    "decliners_figure",
    "matrix_figure",
    "segment_profiles_figure",
    "tiers_figure",
    "value_distribution_figure",
]

TIER_COLOURS = {"MVC": PALETTE["primary"], "MGC": PALETTE["good"], "maintain": "#7b8794",
                "BZ": PALETTE["bad"]}
TIER_NAMES = {"MVC": "Most valuable (MVC)", "MGC": "Most growable (MGC)",
              "maintain": "Maintain", "BZ": "Below zero (BZ)"}


def value_distribution_figure(cv: pd.DataFrame, *, value_col: str = C.CLV,
                              contribution_col: str = C.CONTRIBUTION, currency: str = "EUR",
                              height: int = 480) -> go.Figure:
    """Value by customer decile: lifetime value and past contribution, most valuable first.

    Bars show each tenth of customers' share of the total; the last deciles' contribution
    below zero shows the money-losers.
    """
    v = cv[value_col].astype(float).to_numpy()
    order = np.argsort(-v, kind="stable")
    n = len(v)
    dec = np.minimum((np.arange(n) * 10) // max(n, 1), 9)
    clv_sum = np.bincount(dec, weights=v[order], minlength=10)
    contrib = np.bincount(dec, weights=cv[contribution_col].astype(float).to_numpy()[order],
                          minlength=10)
    labels = [f"{10 * i + 1}-{10 * (i + 1)} %" for i in range(10)]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=labels, y=clv_sum, name="Lifetime value (expected margin)",
                         marker_color=PALETTE["primary"],
                         hovertemplate="%{x}: %{y:,.0f} " + currency + "<extra></extra>"))
    fig.add_trace(go.Bar(x=labels, y=contrib, name="Past contribution",
                         marker_color=PALETTE["primary_light"],
                         hovertemplate="%{x}: %{y:,.0f} " + currency + "<extra></extra>"))
    fig.update_xaxes(title_text="Customers ranked by lifetime value (tenths, most valuable first)")
    fig.update_yaxes(title_text=f"Value ({currency})", **theme.money_axis(currency))
    top = clv_sum[0] / clv_sum.sum() if clv_sum.sum() > 0 else float("nan")
    neg = int((cv[contribution_col] < 0).sum())
    title = f"The top tenth of customers holds {theme.percent(top)} of lifetime value"
    sub = (f"{theme.number(n)} customers; {theme.number(neg)} have cost more to serve than "
           f"they brought in margin")
    fig.update_layout(barmode="group")
    return theme.style(fig, title, sub, height=height)


def tiers_figure(cv: pd.DataFrame, *, value_col: str = C.CLV, currency: str = "EUR",
                 height: int = 460) -> go.Figure:
    """Share of customers against share of lifetime value, per tier, with migrators."""
    g = cv.groupby(C.TIER).agg(customers=(value_col, "size"), value=(value_col, "sum"),
                               unrealised=(C.UNREALISED_POTENTIAL, "sum"),
                               migrators=(C.MIGRATOR, "sum"),
                               contribution=(C.CONTRIBUTION, "sum"))
    g = g.reindex(list(TIERS)).fillna(0)
    names = [TIER_NAMES[t] for t in g.index]
    tot_c, tot_v = g["customers"].sum(), g["value"].sum()
    fig = go.Figure()
    fig.add_trace(go.Bar(y=names, x=g["customers"] / tot_c, orientation="h",
                         name="Share of customers", marker_color=PALETTE["primary_light"],
                         customdata=np.c_[g["customers"], g["migrators"]],
                         hovertemplate="%{y}: %{customdata[0]:,} customers (%{x:.1%}), "
                                       "%{customdata[1]:,} near a tier edge<extra></extra>"))
    fig.add_trace(go.Bar(y=names, x=g["value"] / tot_v if tot_v else g["value"],
                         orientation="h", name="Share of lifetime value",
                         marker_color=[TIER_COLOURS[t] for t in g.index],
                         customdata=g["value"],
                         hovertemplate="%{y}: %{customdata:,.0f} " + currency
                                       + " (%{x:.1%})<extra></extra>"))
    fig.update_xaxes(title_text="Share of all customers / of all lifetime value",
                     tickformat=".0%")
    fig.update_yaxes(autorange="reversed")
    mvc = g.loc["MVC"]
    title = (f"{theme.percent(mvc['customers'] / tot_c)} of customers (MVC) hold "
             f"{theme.percent(mvc['value'] / tot_v if tot_v else 0)} of lifetime value")
    sub = (f"MGC carry {theme.money(g.loc['MGC', 'unrealised'], currency)} of unrealised "
           f"potential; {theme.number(g.loc['BZ', 'customers'])} BZ customers lost "
           f"{theme.money(-g.loc['BZ', 'contribution'], currency)}; "
           f"{theme.number(g['migrators'].sum())} customers sit near a tier edge")
    fig.update_layout(barmode="group")
    return theme.style(fig, title, sub, height=height)


def clv_calibration_figure(check: HoldoutCheck, *, height: int = 460) -> go.Figure:
    """Predicted against actual repeat purchases in the holdout, by calibration frequency."""
    t = check.table.dropna(subset=["predicted"])
    fig = go.Figure()
    fig.add_trace(go.Bar(x=t.index, y=t["actual"], name="Actual",
                         marker_color=PALETTE["primary_light"],
                         customdata=t["customers"],
                         hovertemplate="%{x} repeat purchases before: actual %{y:.2f} per "
                                       "customer (%{customdata:,} customers)<extra></extra>"))
    fig.add_trace(go.Scatter(x=t.index, y=t["predicted"], name="Predicted by BG/NBD",
                             mode="lines+markers", line={"color": PALETTE["accent"], "width": 3},
                             hovertemplate="%{x}: predicted %{y:.2f}<extra></extra>"))
    fig.update_xaxes(title_text="Repeat purchases in the calibration period", type="category")
    fig.update_yaxes(title_text="Repeat purchases in the holdout, per customer")
    err = ((check.predicted_total - check.actual_total) / check.actual_total
           if check.actual_total else float("nan"))
    title = (f"The model predicted {theme.number(check.predicted_total)} holdout purchases; "
             f"{theme.number(check.actual_total)} happened ({err:+.1%})")
    return theme.style(fig, title, check.summary, height=height)


def segment_profiles_figure(segments: NeedsSegments, *, height: int | None = None) -> go.Figure:
    """Heatmap: how far each segment sits from the average customer on every feature."""
    z = segments.z_profile
    special = {"service_contacts_per_year": "service contacts / year",
               "recency_log_days": "days since active (log)",
               "price_discount_share": "share bought on discount",
               "price_discount_depth": "average discount", "price_return_share": "share returned"}
    labels = {c: special.get(c) or c.replace("cat_", "buys ").replace("chan_", "orders via ")
              .replace("_", " ") for c in z.columns}
    y = [f"{s}: {segments.names[s]} ({segments.profile.loc[s, 'size']:,})" for s in z.index]
    # colour saturates at 3 standard deviations so one extreme small segment does not wash
    # out the others (the hover shows the exact value)
    lim = min(3.0, float(np.nanmax(np.abs(z.to_numpy())))) if z.size else 1.0
    fig = go.Figure(go.Heatmap(
        z=z.to_numpy(), x=[labels[c] for c in z.columns], y=y, zmid=0, zmin=-lim, zmax=lim,
        colorscale=[[0, PALETTE["bad"]], [0.5, "#ffffff"], [1, PALETTE["primary"]]],
        colorbar={"title": {"text": "std. dev.<br>from average"}},
        hovertemplate="%{y}<br>%{x}: %{z:+.2f} std. dev.<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title_text="Needs segment (customers)")
    fig.update_xaxes(title_text="Behaviour feature", tickangle=-35)
    title = (f"{segments.k} needs segments, told apart mostly by what they buy "
             f"(needs diversity {segments.diversity:.2f})")
    sub = ("Blue: far above the average customer; red: far below. Entropy of sizes "
           f"{segments.entropy:.2f} x separation {segments.separation:.2f}")
    return theme.style(fig, title, sub, height=height or 260 + 42 * len(y))


def matrix_figure(placement: MatrixPlacement, *, height: int = 560) -> go.Figure:
    """The differentiation matrix with its four quadrants and the client's dot."""
    sx, sy = placement.skew_threshold, placement.diversity_threshold
    fig = go.Figure()
    boxes = {"low_low": (0, sx, 0, sy), "needs": (0, sx, sy, 1), "value": (sx, 1, 0, sy),
             "high_high": (sx, 1, sy, 1)}
    for key, (x0, x1, y0, y1) in boxes.items():
        here = key == placement.quadrant
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1,
                      fillcolor=PALETTE["primary_light"] if here else "#f5f7fa",
                      opacity=0.55 if here else 1.0, line={"color": PALETTE["grid"]},
                      layer="below")
        q = QUADRANTS[key]
        fig.add_annotation(x=(x0 + x1) / 2, y=y1 - 0.04, text=f"<b>{q['label']}</b>",
                           showarrow=False, font={"size": 14, "color": PALETTE["ink"]})
        fig.add_annotation(x=(x0 + x1) / 2, y=y1 - 0.09, text=f"e.g. {q['example']}",
                           showarrow=False, font={"size": 12, "color": PALETTE["muted"]})
    if not placement.known:  # skew measured, needs not: a line at the skew, no dot
        fig.add_shape(type="line", x0=placement.value_skew, x1=placement.value_skew, y0=0, y1=1,
                      line={"color": PALETTE["accent"], "width": 3, "dash": "dash"})
        fig.add_annotation(x=placement.value_skew, y=0.5, text="  this client: needs unknown",
                           showarrow=False, xanchor="left",
                           font={"size": 13, "color": PALETTE["accent"]})
        fig.update_xaxes(range=[0, 1], title_text="Value skew: Gini coefficient of customer value",
                         showgrid=False)
        fig.update_yaxes(range=[0, 1], title_text="Needs diversity (not measured)",
                         showgrid=False)
        fig.update_layout(showlegend=False)
        return theme.style(fig, "Differentiation matrix: needs diversity unknown",
                           placement.sentence(), height=height)
    fig.add_trace(go.Scatter(
        x=[placement.value_skew], y=[placement.needs_diversity], mode="markers+text",
        marker={"size": 18, "color": PALETTE["accent"], "line": {"color": "white", "width": 2}},
        text=["  this client"], textposition="middle right", name="this client",
        hovertemplate="value skew (Gini) %{x:.2f}<br>needs diversity %{y:.2f}<extra></extra>"))
    fig.update_xaxes(range=[0, 1], title_text="Value skew: Gini coefficient of customer value",
                     showgrid=False)
    fig.update_yaxes(range=[0, 1], title_text="Needs diversity (entropy x separation)",
                     showgrid=False)
    fig.update_layout(showlegend=False)
    title = f"Differentiation matrix: {placement.label.lower()}, like a {placement.example}"
    return theme.style(fig, title, placement.emphasis, height=height)


def decliners_figure(decliners: pd.DataFrame, *, top: int = 20, currency: str = "EUR",
                     prev_col: str = C.REVENUE_PREV_12M, cur_col: str = C.REVENUE_12M,
                     id_col: str = "customer_id", height: int | None = None) -> go.Figure:
    """The largest decliners: last year's revenue against this year's, biggest drop first."""
    d = decliners.head(top).iloc[::-1]
    fig = go.Figure()
    for _, r in d.iterrows():
        fig.add_shape(type="line", x0=r[cur_col], x1=r[prev_col], y0=r[id_col], y1=r[id_col],
                      line={"color": PALETTE["grid"], "width": 3}, layer="below")
    fig.add_trace(go.Scatter(x=d[prev_col], y=d[id_col], mode="markers", name="Previous 12 months",
                             marker={"size": 11, "color": PALETTE["primary"]},
                             hovertemplate="%{y}: %{x:,.0f} " + currency + "<extra></extra>"))
    fig.add_trace(go.Scatter(x=d[cur_col], y=d[id_col], mode="markers", name="Last 12 months",
                             marker={"size": 11, "color": PALETTE["accent"]},
                             hovertemplate="%{y}: %{x:,.0f} " + currency + "<extra></extra>"))
    fig.update_xaxes(title_text=f"Revenue ({currency})", **theme.money_axis(currency))
    fig.update_yaxes(title_text="Customer", type="category")
    lost = float((decliners[prev_col] - decliners[cur_col]).sum()) if len(decliners) else 0.0
    title = (f"{theme.number(len(decliners))} large customers bought half as much or less: "
             f"{theme.money(lost, currency)} a year at stake")
    sub = f"The {min(top, len(decliners))} largest drops; visit them before a competitor does"
    return theme.style(fig, title, sub, height=height or 200 + 26 * len(d))
