"""Figures of the readiness results: stage profile per group, gap bars, item heatmap, agreement.

Each builder takes the tables of :mod:`onetoone.readiness.scoring` (or a
:class:`~onetoone.readiness.results.ReadinessResults`) and returns a plotly figure styled with
the house theme; titles state the finding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..readiness.model import GROUPS, STAGES
from . import theme

GROUP_COLOURS = {"managers": theme.COLORWAY[0], "employees": theme.COLORWAY[2],
                 "customers": theme.COLORWAY[1]}
DATA_COLOUR = theme.PALETTE["ink"]


def _empty(title: str, why: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=why, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 14, "color": theme.PALETTE["muted"]})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return theme.style(fig, title, height=260)


def stage_profile_figure(profile: pd.DataFrame, data_scores: pd.DataFrame | None = None) -> go.Figure:
    """Broad View score per stage (x, in IDIC order) and respondent group (one line each),
    with the data-measured readiness as a dashed line when available."""
    if profile.empty:
        return _empty("Stage profile", "No submitted answers yet")
    stages = [s for s in STAGES if s in profile.index]
    x = [s.title() for s in stages]
    fig = go.Figure()
    for g in [g for g in GROUPS if g in profile.columns]:
        fig.add_trace(go.Scatter(x=x, y=profile.loc[stages, g], name=g, mode="lines+markers",
                                 line={"color": GROUP_COLOURS[g], "width": 3}, marker={"size": 9},
                                 hovertemplate="%{x}: %{y:.2f}<extra>" + g + "</extra>"))
    if data_scores is not None and data_scores["data_score"].notna().any():
        d = data_scores.set_index("stage").reindex(stages)
        fig.add_trace(go.Scatter(x=x, y=d["data_score"], name="measured in the data",
                                 mode="lines+markers", line={"color": DATA_COLOUR, "dash": "dash"},
                                 marker={"symbol": "diamond", "size": 10},
                                 hovertemplate="%{x}: %{y:.2f}<extra>data</extra>"))
    fig.update_yaxes(range=[0.8, 5.2], dtick=1, title="score (1 = mass market, 5 = one-to-one)")
    overall = profile.loc[stages].mean(axis=1)
    weakest = overall.idxmin()
    return theme.style(fig, f"{weakest.title()} is the weakest stage ({overall[weakest]:.1f} of 5)",
                       subtitle="Broad View: mean score per stage and respondent group", height=420)


def gap_bars_figure(gaps: pd.DataFrame, pair: str = "managers - customers", top: int = 12) -> go.Figure:
    """The difference between two groups per stage and area; positive = the first group scores higher."""
    g = gaps[gaps["pair"] == pair]
    if g.empty:
        available = sorted(gaps["pair"].unique()) if len(gaps) else []
        if available:
            pair = available[0]
            g = gaps[gaps["pair"] == pair]
        else:
            return _empty("Gaps between groups", "Gaps need answers from at least two groups")
    g = g.head(top).sort_values("gap")
    a, b = pair.split(" - ")
    colours = [theme.PALETTE["bad"] if v > 0 else theme.PALETTE["good"] for v in g["gap"]]
    fig = go.Figure(go.Bar(x=g["gap"], y=g["section_title"], orientation="h", marker_color=colours,
                           customdata=np.c_[g["score_a"], g["score_b"]],
                           hovertemplate=f"%{{y}}<br>{a} %{{customdata[0]:.2f}}, {b} "
                                         f"%{{customdata[1]:.2f}}<br>gap %{{x:+.2f}}<extra></extra>"))
    fig.add_vline(x=0, line_color=theme.PALETTE["muted"])
    fig.update_xaxes(title=f"{a} minus {b} (points on 1-5)")
    top_row = g.iloc[g["gap"].abs().argmax()]
    return theme.style(fig, f"Largest gap: {top_row['section_title'].split(':')[0]} "
                            f"({top_row['gap']:+.1f} points)",
                       subtitle=f"What {a} believe against what {b} report, per stage and area",
                       height=max(300, 60 + 28 * len(g)))


def item_heatmap_figure(items: pd.DataFrame, max_label: int = 60) -> go.Figure:
    """Mean answer per item (rows) and group (columns)."""
    if items.empty:
        return _empty("Item heatmap", "No submitted answers yet")
    order = list(dict.fromkeys(items["item_id"]))
    wide = items.pivot_table(index="item_id", columns="group", values="mean").reindex(order)
    wide = wide[[g for g in GROUPS if g in wide.columns]]
    labels = items.drop_duplicates("item_id").set_index("item_id")["item"].reindex(order)
    short = [t if len(t) <= max_label else t[: max_label - 1] + "…" for t in labels]
    fig = go.Figure(go.Heatmap(z=wide.values, x=list(wide.columns), y=short, zmin=1, zmax=5,
                               colorscale=[[0, theme.PALETTE["bad"]], [0.5, "#f5f0e6"],
                                           [1, theme.PALETTE["primary"]]],
                               text=np.round(wide.values, 1), texttemplate="%{text}",
                               hovertemplate="%{y}<br>%{x}: %{z:.2f}<extra></extra>",
                               colorbar={"title": "mean"}))
    fig.update_yaxes(autorange="reversed", tickfont={"size": 10})
    low = items.loc[items["mean"].idxmin()]
    return theme.style(fig, f"Lowest item: {low['item_id']} ({low['group']}, {low['mean']:.1f})",
                       subtitle="Mean answer per item and respondent group (1-5)",
                       height=max(400, 40 + 22 * len(order)))


def agreement_figure(scores: pd.DataFrame) -> go.Figure:
    """Agreement within each group (r_wg, 0..1) per stage and area."""
    s = scores.dropna(subset=["rwg"])
    if s.empty:
        return _empty("Agreement within groups", "Agreement needs at least two respondents per group")
    fig = go.Figure()
    for g in [g for g in GROUPS if g in set(s["group"])]:
        d = s[s["group"] == g]
        fig.add_trace(go.Bar(x=d["section"], y=d["rwg"], name=g, marker_color=GROUP_COLOURS[g],
                             hovertemplate="%{x}: r_wg %{y:.2f}<extra>" + g + "</extra>"))
    fig.add_hline(y=0.7, line_dash="dot", line_color=theme.PALETTE["accent"],
                  annotation_text="0.7: usually read as agreement")
    fig.update_yaxes(range=[0, 1.05], title="r_wg")
    fig.update_layout(barmode="group")
    worst = s.loc[s["rwg"].idxmin()]
    return theme.style(fig, f"Least agreement: {worst['group']} on {worst['section']} "
                            f"(r_wg {worst['rwg']:.2f})",
                       subtitle="Agreement within each respondent group", height=380)
