"""Customize on screen: figures for the notebook; the configurator widget lives in
:mod:`onetoone.ui.configurator` (re-exported here).

- :func:`candidates_figure`: every candidate recommender's validation and holdout precision@k,
  the chosen one marked; :func:`lift_figure`: holdout lift over popularity with its 95 %
  bootstrap interval; :func:`candidates_table`: all the figures in one table.
- :func:`precision_curve_figure`: precision@k for k = 1..K per model.
- :func:`recommendations_table`: one customer's suggestions with their reasons.
- :func:`variety_figure`: how many distinct products a few modules make.
- :func:`edition_coverage_figure`: coverage bought by each number of catalog editions, the
  recommended number (the knee) marked.
- :func:`messages_table`: tailored messages, one row per tier.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .. import columns as C
from . import theme
from .configurator import ConfiguratorWidget
from .theme import COLORWAY, PALETTE

__all__ = ["ConfiguratorWidget", "candidates_figure", "candidates_table",
           "edition_coverage_figure", "lift_figure", "messages_table", "precision_curve_figure",
           "recommendations_table", "variety_figure"]

_POPULAR = ("popularity", "segment popularity")


def _colour(model: str, chosen: str | None, i: int) -> str:
    if model == chosen:
        return PALETTE["primary"]
    if model in _POPULAR:
        return PALETTE["muted"]
    return PALETTE["primary_light"]


def candidates_figure(table: pd.DataFrame, *, k: int = 10, who: dict | None = None,
                      height: int = 460) -> go.Figure:
    """Validation and holdout precision@k per candidate; the chosen model in the main colour.

    ``table`` is :attr:`onetoone.customize.select.Selection.table`.
    """
    t = table.reset_index(drop=True)
    chosen = t.loc[t["chosen"], "model"].iloc[0] if t["chosen"].any() else None
    fig = go.Figure()
    fig.add_bar(name=f"holdout precision@{k}", x=t["model"], y=t[f"holdout_precision_at_{k}"],
                marker_color=[_colour(m, chosen, i) for i, m in enumerate(t["model"])],
                text=[theme.percent(v) for v in t[f"holdout_precision_at_{k}"]],
                textposition="outside")
    fig.add_scatter(name=f"validation precision@{k} (where the choice is made)", x=t["model"],
                    y=t[f"validation_precision_at_{k}"], mode="markers",
                    marker={"symbol": "diamond-open", "size": 13, "color": PALETTE["accent"],
                            "line": {"width": 2}})
    title = f"{chosen} chosen on the validation window" if chosen else "Candidate recommenders"
    n = f"{theme.number(who['n'])} customers ({theme.percent(who['share'])} of buyers)" \
        if who else "customers"
    fig.update_layout(yaxis={"title": f"precision@{k} (share of suggestions bought)",
                             "tickformat": ".0%", "rangemode": "tozero"},
                      xaxis={"title": "candidate"}, legend={"orientation": "h"})
    return theme.style(fig, title, f"Holdout bars: {n} who bought before and during the "
                       "holdout; the choice never saw the holdout", height=height)


def lift_figure(table: pd.DataFrame, *, k: int = 10, height: int = 420) -> go.Figure:
    """Holdout lift over popularity (difference of precision@k) with 95 % bootstrap intervals."""
    t = table[table["model"] != "popularity"].reset_index(drop=True)
    chosen = table.loc[table["chosen"], "model"].iloc[0] if table["chosen"].any() else None
    d, lo, hi = t["holdout_lift"], t["holdout_lift_low"], t["holdout_lift_high"]
    fig = go.Figure(go.Scatter(
        x=t["model"], y=d, mode="markers", marker={"size": 12, "color": [
            _colour(m, chosen, i) for i, m in enumerate(t["model"])]},
        error_y={"type": "data", "symmetric": False, "array": hi - d, "arrayminus": d - lo},
        name="lift", hovertemplate="%{x}: %{y:+.4f}<extra></extra>"))
    fig.add_hline(y=0, line={"color": PALETTE["bad"], "dash": "dot"},
                  annotation_text="no better than the bestseller list")
    above = t.loc[lo > 0, "model"].tolist()
    title = (f"Beat popularity with an interval above zero: {', '.join(above)}" if above else
             "No candidate beats the bestseller list with an interval above zero")
    fig.update_layout(yaxis={"title": f"precision@{k} minus popularity's", "tickformat": "+.1%"},
                      xaxis={"title": "candidate"}, showlegend=False)
    return theme.style(fig, title, "Holdout difference per customer, paired bootstrap 95 % "
                       "interval (scipy.stats.bootstrap)", height=height)


def candidates_table(table: pd.DataFrame, *, k: int = 10, height: int | None = None) -> go.Figure:
    """Every candidate's figures: validation and holdout precision, recall, coverage, lift."""
    t = table.reset_index(drop=True)
    height = height or 150 + 34 * len(t)

    def pct(col):
        return [theme.percent(v, 2) for v in t[col]]

    def lift(prefix):
        return [f"{d:+.4f} [{lo:+.4f}, {hi:+.4f}]" for d, lo, hi in
                zip(t[f"{prefix}_lift"], t[f"{prefix}_lift_low"], t[f"{prefix}_lift_high"])]

    cols = {"model": [f"<b>{m}</b> (chosen)" if c else m for m, c in zip(t["model"], t["chosen"])],
            f"validation P@{k}": pct(f"validation_precision_at_{k}"),
            f"holdout P@{k}": pct(f"holdout_precision_at_{k}"),
            f"validation R@{k}": pct(f"validation_recall_at_{k}"),
            f"holdout R@{k}": pct(f"holdout_recall_at_{k}"),
            "holdout coverage": pct("holdout_coverage"),
            "validation lift [95 % CI]": lift("validation"),
            "holdout lift [95 % CI]": lift("holdout"),
            "fit + score (s)": [f"{a + b:.1f}" for a, b in zip(t["fit_s"], t["score_s"])]}
    fig = go.Figure(go.Table(
        columnwidth=[1.4, 0.9, 0.9, 0.9, 0.9, 0.9, 2, 2, 0.8],
        header={"values": list(cols), "fill_color": PALETTE["primary"],
                "font": {"color": "white"}, "align": "left"},
        cells={"values": list(cols.values()), "align": "left"}))
    return theme.style(fig, "Every candidate, on the validation window and on the holdout",
                       f"P = precision@{k}, R = recall@{k}; lift = precision@{k} minus "
                       "popularity's, paired over customers", height=height)


def precision_curve_figure(curve: pd.DataFrame, *, height: int = 420) -> go.Figure:
    """precision@k for k = 1..K per model."""
    fig = go.Figure()
    for i, (model, g) in enumerate(curve.groupby("model", sort=False)):
        fig.add_scatter(x=g["k"], y=g["precision"], mode="lines+markers", name=model,
                        line={"color": COLORWAY[i % len(COLORWAY)]})
    fig.update_layout(xaxis={"title": "length of the suggestion list (k)", "dtick": 2},
                      yaxis={"title": "precision@k (share of suggestions bought)",
                             "tickformat": ".0%", "rangemode": "tozero"})
    return theme.style(fig, "The first suggestions are the surest: precision falls as the list "
                       "grows", "Share of suggested products the customer bought in the holdout",
                       height=height)


def recommendations_table(recs: pd.DataFrame, products: pd.DataFrame | None,
                          customer_id: str, *, model: str = "", height: int = 420) -> go.Figure:
    """One customer's ranked suggestions with product names and reasons."""
    r = recs[recs[C.CUSTOMER_ID].astype(str) == str(customer_id)].sort_values("rank")
    if products is not None and C.NAME in products:
        cols = [c for c in (C.PRODUCT_ID, C.NAME, C.CATEGORY) if c in products]
        r = r.merge(products[cols], on=C.PRODUCT_ID, how="left")
    r = r.assign(**{c: r.get(c, r[C.PRODUCT_ID] if c == C.NAME else "")
                    for c in (C.NAME, C.CATEGORY) if c not in r})
    fig = go.Figure(go.Table(
        columnwidth=[0.5, 2.2, 1.2, 3.2],
        header={"values": ["rank", "product", "category", "why"],
                "fill_color": PALETTE["primary"], "font": {"color": "white"}, "align": "left"},
        cells={"values": [r["rank"], r[C.NAME], r[C.CATEGORY], r["reason"]], "align": "left",
               "fill_color": [["white", "#f3f6f9"] * (len(r) // 2 + 1)]}))
    return theme.style(fig, f"What we would suggest to customer {customer_id}, and why",
                       f"Model: {model or 'the chosen recommender'}; owned products the repeat "
                       "rule keeps out are not suggested again", height=height)


def variety_figure(variety: pd.DataFrame, *, height: int | None = None) -> go.Figure:
    """Options offered against distinct valid products, per configurable product."""
    v = variety.sort_values("valid")
    height = height or 180 + 26 * len(v)
    fig = go.Figure()
    fig.add_bar(y=v[C.NAME], x=v["options"], orientation="h", name="options to choose from",
                marker_color=PALETTE["primary_light"])
    fig.add_bar(y=v[C.NAME], x=v["valid"], orientation="h", name="distinct valid products",
                marker_color=PALETTE["primary"])
    title = (f"{int(v['modules'].sum())} modules with {int(v['options'].sum())} options make "
             f"{theme.number(int(v['valid'].sum()))} distinct products from {len(v)} bases")
    fig.update_layout(barmode="group", xaxis={"title": "count (log scale)", "type": "log"},
                      yaxis={"title": None, "dtick": 1}, legend={"traceorder": "reversed"},
                      bargap=0.25)
    return theme.style(fig, title, "Per configurable product: options offered and the "
                       "combinations the compatibility rules allow", height=height)


def edition_coverage_figure(curve: pd.DataFrame, groupings: pd.DataFrame | None = None,
                            advice: dict | None = None, *, height: int = 460) -> go.Figure:
    """Coverage of customers' purchases by the number of catalog editions.

    ``advice`` (from :func:`onetoone.customize.catalog.edition_recommendation`) marks the
    recommended number of editions, the knee of the curve; ``groupings`` (from
    :func:`~onetoone.customize.catalog.grouping_coverage`) adds the national, region-only and
    segment-only editions as dots beside it.
    """
    fig = go.Figure()
    fig.add_scatter(x=curve["editions"], y=curve["coverage"], mode="lines+markers",
                    name="region x segment editions, best first",
                    line={"color": PALETTE["primary"]},
                    customdata=curve["added"], hovertemplate="%{x} editions: %{y:.1%}"
                    "<br>added: %{customdata}<extra></extra>")
    c0, c1 = curve["coverage"].iloc[0], curve["coverage"].iloc[-1]
    n = int(curve["editions"].iloc[-1])
    title = (f"One catalogue covers {theme.percent(c0)} of what customers buy; "
             f"{n} editions cover {theme.percent(c1)}")
    if groupings is not None:
        for i, row in enumerate(groupings.itertuples()):
            fig.add_scatter(x=[row.editions], y=[row.coverage], mode="markers+text",
                            name=row.grouping,
                            text=[f"{row.grouping}: {theme.percent(row.coverage)}"],
                            textposition="top left" if row.editions > n * 0.7 else "top right",
                            marker={"size": 11, "color": COLORWAY[(i + 1) % len(COLORWAY)]},
                            showlegend=False)
    if advice is not None:
        kn = advice["editions"]
        fig.add_vline(x=kn, line={"color": PALETTE["accent"], "dash": "dot"},
                      annotation_text=f"knee: {kn} editions, {theme.percent(advice['coverage'])}",
                      annotation_position="bottom right")
        title = (f"Recommended: {kn} editions (the knee) cover {theme.percent(advice['coverage'])}"
                 f" against {theme.percent(c0)} for one catalogue")
        seg = advice.get("by_segment")
        if seg and seg[0] <= kn and seg[1] >= advice["coverage"]:
            title = (f"{seg[0]} needs-segment editions cover {theme.percent(seg[1])}: as much as "
                     f"the {kn} at the knee of the region x segment curve")
    fig.update_layout(xaxis={"title": "number of catalog editions"},
                      yaxis={"title": "share of purchases in the customer's edition",
                             "tickformat": ".0%"})
    return theme.style(fig, title,
                       "Line: region x segment editions added best first (others get the "
                       "national one); dots: one edition per group. Editions built on purchases "
                       "before the holdout, coverage measured on purchases in it", height=height)


def messages_table(messages: pd.DataFrame, *, per_tier: int = 1,
                   height: int | None = None) -> go.Figure:
    """A few tailored messages per tier (product, packaging, delivery, service). The height
    grows with the rows (wrapped messages take up to three lines), so every tier shows."""
    m = messages.groupby(C.TIER, sort=True).head(per_tier)
    if height is None:
        height = 190 + 100 * len(m)
    fig = go.Figure(go.Table(
        columnwidth=[0.7, 1.1, 3, 1.8, 1.8, 2],
        header={"values": [C.TIER, C.SEGMENT, "product", "packaging", "delivery", "service"],
                "fill_color": PALETTE["primary"], "font": {"color": "white"}, "align": "left"},
        cells={"values": [m[C.TIER], m[C.SEGMENT_NAME], m["product"], m["packaging"],
                          m["delivery"], m["service"]], "align": "left", "height": 48}))
    return theme.style(fig, "Each tier hears a different offer, packaging, delivery and service",
                       "One customer per tier, messages filled from what we know about them",
                       height=height)
