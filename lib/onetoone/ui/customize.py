"""Customize on screen: figures for the notebook and a configurator widget for one customer.

- :func:`holdout_figure`, :func:`precision_curve_figure`: the recommender against the
  popularity baseline on the time-based holdout.
- :func:`recommendations_table`: one customer's suggestions with their reasons.
- :func:`variety_figure`: how many distinct products a few modules make.
- :func:`edition_coverage_figure`: coverage bought by each number of catalog editions.
- :func:`messages_table`: tailored messages, one row per tier.
- :class:`ConfiguratorWidget` (in :mod:`onetoone.ui.configurator`, re-exported here): look up
  a customer, get a proposed configuration, change options with a live price, save.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .. import columns as C
from . import theme
from .configurator import ConfiguratorWidget
from .theme import COLORWAY, PALETTE

__all__ = ["ConfiguratorWidget", "edition_coverage_figure", "holdout_figure", "messages_table",
           "precision_curve_figure", "recommendations_table", "variety_figure"]

_MODEL_COLOURS = {"item-item": PALETTE["primary"], "popularity": PALETTE["muted"]}


def holdout_figure(metrics: pd.DataFrame, *, k: int = 10, months: int | None = None,
                   height: int = 460) -> go.Figure:
    """Precision@k, recall@k and coverage per model (one group of bars per measure)."""
    m = metrics.set_index("model")
    measures = [(f"precision_at_{k}", f"precision@{k}"), (f"recall_at_{k}", f"recall@{k}"),
                ("coverage", "catalogue coverage")]
    fig = go.Figure()
    for i, (model, row) in enumerate(m.iterrows()):
        fig.add_bar(name=model, x=[lab for _, lab in measures], y=[row[c] for c, _ in measures],
                    marker_color=_MODEL_COLOURS.get(model, COLORWAY[i % len(COLORWAY)]),
                    text=[theme.percent(row[c]) for c, _ in measures], textposition="outside")
    title = "Suggestions from purchase history"
    if {"item-item", "popularity"} <= set(m.index):
        p, b = m.at["item-item", f"precision_at_{k}"], m.at["popularity", f"precision_at_{k}"]
        if b > 0:
            title = (f"Suggestions from purchase history hit {p / b:.1f}x as often as the "
                     "bestseller list")
    n = int(m["customers"].iloc[0]) if "customers" in m else None
    sub = (f"Time-based holdout{f' (last {months} months)' if months else ''}: "
           f"{theme.number(n) if n else ''} customers who bought before and during it")
    fig.update_layout(barmode="group", yaxis={"title": "share", "tickformat": ".0%"},
                      xaxis={"title": "measure"})
    return theme.style(fig, title, sub, height=height)


def precision_curve_figure(curve: pd.DataFrame, *, height: int = 420) -> go.Figure:
    """precision@k for k = 1..K per model."""
    fig = go.Figure()
    for i, (model, g) in enumerate(curve.groupby("model", sort=False)):
        fig.add_scatter(x=g["k"], y=g["precision"], mode="lines+markers", name=model,
                        line={"color": _MODEL_COLOURS.get(model, COLORWAY[i % len(COLORWAY)])})
    fig.update_layout(xaxis={"title": "length of the suggestion list (k)", "dtick": 2},
                      yaxis={"title": "precision@k (share of suggestions bought)",
                             "tickformat": ".0%", "rangemode": "tozero"})
    return theme.style(fig, "The first suggestions are the surest: precision falls as the list "
                       "grows", "Share of suggested products the customer bought in the holdout",
                       height=height)


def recommendations_table(recs: pd.DataFrame, products: pd.DataFrame | None,
                          customer_id: str, *, height: int = 420) -> go.Figure:
    """One customer's ranked suggestions with product names and reasons."""
    r = recs[recs[C.CUSTOMER_ID].astype(str) == str(customer_id)].sort_values("rank")
    if products is not None:
        r = r.merge(products[[C.PRODUCT_ID, C.NAME, C.CATEGORY]], on=C.PRODUCT_ID, how="left")
    else:
        r = r.assign(**{C.NAME: r[C.PRODUCT_ID], C.CATEGORY: ""})
    fig = go.Figure(go.Table(
        columnwidth=[0.5, 2.2, 1.2, 3.2],
        header={"values": ["rank", "product", "category", "why"],
                "fill_color": PALETTE["primary"], "font": {"color": "white"}, "align": "left"},
        cells={"values": [r["rank"], r[C.NAME], r[C.CATEGORY], r["reason"]], "align": "left",
               "fill_color": [["white", "#f3f6f9"] * (len(r) // 2 + 1)]}))
    return theme.style(fig, f"What we would suggest to customer {customer_id}, and why",
                       "Item-item similarity to what they bought; owned durables left out",
                       height=height)


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


def edition_coverage_figure(curve: pd.DataFrame, groupings: pd.DataFrame | None = None, *,
                            height: int = 460) -> go.Figure:
    """Coverage of customers' purchases by the number of catalog editions."""
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
                            name=row.grouping, text=[f"{row.grouping}: {theme.percent(row.coverage)}"],
                            textposition="top left" if row.editions > n * 0.7 else "top right",
                            marker={"size": 11, "color": COLORWAY[(i + 1) % len(COLORWAY)]},
                            showlegend=False)
        best = groupings.sort_values(["coverage", "editions"], ascending=[False, True]).iloc[0]
        if best["grouping"] != "national" and best["coverage"] > c0:
            title = (f"One catalogue covers {theme.percent(c0)} of what customers buy; "
                     f"{int(best['editions'])} editions {best['grouping']} cover "
                     f"{theme.percent(best['coverage'])}")
    half = curve[curve["coverage"] >= c0 + 0.8 * (c1 - c0)]["editions"].iloc[0]
    fig.add_vline(x=half, line={"color": PALETTE["accent"], "dash": "dot"},
                  annotation_text=f"{half} editions buy 80 % of the curve's gain",
                  annotation_position="bottom right")
    fig.update_layout(xaxis={"title": "number of catalog editions"},
                      yaxis={"title": "share of purchases in the customer's edition",
                             "tickformat": ".0%"})
    return theme.style(fig, title,
                       "Line: region x segment editions added best first (others get the "
                       "national one); dots: one edition per group. Editions built on purchases before the holdout, coverage measured on "
                       "purchases in it", height=height)


def messages_table(messages: pd.DataFrame, *, per_tier: int = 1, height: int = 420) -> go.Figure:
    """A few tailored messages per tier (product, packaging, delivery, service)."""
    m = messages.groupby("tier", sort=True).head(per_tier)
    fig = go.Figure(go.Table(
        columnwidth=[0.7, 1.1, 3, 1.8, 1.8, 2],
        header={"values": ["tier", "segment", "product", "packaging", "delivery", "service"],
                "fill_color": PALETTE["primary"], "font": {"color": "white"}, "align": "left"},
        cells={"values": [m["tier"], m["segment_name"], m["product"], m["packaging"],
                          m["delivery"], m["service"]], "align": "left", "height": 48}))
    return theme.style(fig, "Each tier hears a different offer, packaging, delivery and service",
                       "One customer per tier, messages filled from what we know about them",
                       height=height)
