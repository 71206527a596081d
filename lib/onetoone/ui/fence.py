"""The picket fence on screen: a live widget for workshops and static figures for reports.

- :class:`FenceWidget`: a slider moves the fence along the value spectrum; controls for the
  portfolio size and the retention uplift; a live readout (customers and value inside,
  managers, cost, benefit, ROI) and a Lorenz curve with the fence drawn on it, updated in
  place.
- :func:`lorenz_figure`, :func:`fence_economics_figure`, :func:`fence_projection_figure`:
  plain plotly figures for notebooks and HTML reports.

All of them read a :class:`onetoone.differentiate.fence.PicketFence`, built once.
"""

from __future__ import annotations

import html
import time

import ipywidgets as widgets
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..differentiate.fence import FencePosition, PicketFence, _chart_ranks
from . import theme
from .theme import PALETTE

__all__ = ["FenceWidget", "fence_economics_figure", "fence_projection_figure", "lorenz_figure"]


def _as_fence(values_or_fence) -> PicketFence:
    if isinstance(values_or_fence, PicketFence):
        return values_or_fence
    return PicketFence(values_or_fence)


def _lorenz_points(fence: PicketFence, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Descending Lorenz curve at chart resolution (dense among the most valuable)."""
    k = _chart_ranks(fence.n, points)
    return k / fence.n, fence.cumsum_[k] / fence.total_value


# Trace order in lorenz_figure (the widget updates traces by these positions).
_T_AREA, _T_CURVE, _T_EQUAL, _T_FENCE = 0, 1, 2, 3


def _fence_story(pos: FencePosition, currency: str) -> tuple[str, str]:
    title = (
        f"Right of the fence: the top {theme.percent(pos.customer_share)} of customers "
        f"({pos.customers:,}) hold {theme.percent(pos.value_share)} of value"
    )
    sub = (
        f"Each is worth at least {theme.money(pos.threshold, currency)}. "
        f"{pos.managers:,} customer managers; net benefit "
        f"{theme.money(pos.net_benefit, currency)} a year"
    )
    return title, sub


def lorenz_figure(
    values_or_fence,
    *,
    fence_at: float | None = None,
    currency: str = "EUR",
    points: int = 600,
    title: str | None = None,
    subtitle: str | None = None,
    height: int = 520,
) -> go.Figure:
    """The value curve: customers ranked most valuable first against their share of value.

    Parameters
    ----------
    values_or_fence : PicketFence or array-like
        Per-customer values (or a fence built from them).
    fence_at : int or float, optional
        Draw the fence here: an int is a rank (customers inside), a float in [0, 1] a share
        of customers. Without it the top 20 % is highlighted in the title only.
    currency : str
        ISO code for money in labels.
    points : int
        Points on the curve (it is drawn at this resolution; exact values are in the hover).
    title, subtitle : str, optional
        Override the story-telling title.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fence = _as_fence(values_or_fence)
    x, y = _lorenz_points(fence, points)
    pos = None
    if fence_at is not None:
        k = fence_at if isinstance(fence_at, (int, np.integer)) else fence.rank_at_share(fence_at)
        pos = fence.at_rank(int(k))
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[],
            y=[],
            mode="lines",
            fill="tozeroy",
            name="Inside the fence",
            line={"width": 0, "color": PALETTE["accent"]},
            fillcolor="rgba(224,122,31,0.18)",
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="lines",
            name="Customers ranked by value",
            line={"color": PALETTE["primary"], "width": 3},
            hovertemplate="Top %{x:.2%} of customers hold %{y:.1%} of value<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name="If every customer were worth the same",
            line={"color": PALETTE["muted"], "dash": "dot", "width": 1.5},
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[],
            y=[],
            mode="markers+text",
            name="The fence",
            marker={"size": 11, "color": PALETTE["accent"], "line": {"color": "white", "width": 2}},
            textposition="bottom right",
            textfont={"color": PALETTE["ink"]},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    fig.add_shape(
        type="line",
        xref="x",
        yref="paper",
        x0=0,
        x1=0,
        y0=0,
        y1=1,
        line={"color": PALETTE["accent"], "width": 2},
        visible=False,
    )
    fig.update_xaxes(
        title_text="Customers, most valuable first", tickformat=".0%", range=[0, 1.005]
    )
    ymax = max(1.0, float(np.max(y)))
    fig.update_yaxes(
        title_text="Share of total value",
        tickformat=".0%",
        range=[min(0.0, float(np.min(y))) - 0.02, ymax * 1.04],
    )
    if pos is not None:
        _draw_fence(fig, fence, pos, x, y, currency)
        t, s = _fence_story(pos, currency)
    else:
        top = fence.at_share(0.2)
        t = f"The top 20 % of customers hold {theme.percent(top.value_share)} of value"
        s = (
            f"{theme.number(fence.n)} customers, total value "
            f"{theme.money(fence.total_value, currency)}"
        )
    theme.style(fig, title or t, subtitle if subtitle is not None else s, height=height)
    return fig


def _draw_fence(fig, fence: PicketFence, pos: FencePosition, x, y, currency: str) -> None:
    """Move the fence on a figure made by lorenz_figure (works on a FigureWidget too)."""
    share = pos.customer_share
    inside = x <= share
    ax = np.concatenate([x[inside], [share]])
    ay = np.concatenate([y[inside], [pos.value_share]])
    fig.data[_T_AREA].update(x=ax, y=ay)
    label = (
        f"  top {theme.percent(share)}: {theme.percent(pos.value_share)} of value"
        f"<br>  worth ≥ {theme.money(pos.threshold, currency)} each"
    )
    fig.data[_T_FENCE].update(x=[share], y=[pos.value_share], text=[label])
    fig.layout.shapes[0].update(x0=share, x1=share, visible=pos.customers > 0)


def fence_economics_figure(
    fence: PicketFence,
    *,
    currency: str = "EUR",
    points: int = 500,
    title: str | None = None,
    height: int = 520,
) -> go.Figure:
    """Yearly benefit, cost and net benefit by fence position, with the break-even marked.

    The x axis is the number of customers inside the fence (log scale: the first hundreds
    matter as much as the last hundred thousands).
    """
    be = fence.break_even()
    # show the fence positions that matter: up to a few times the widest paying fence
    reach = max(3 * be.widest.customers, 10 * be.best.customers, min(fence.n, 100))
    upto = min(fence.n, reach)
    ranks = np.union1d(
        _chart_ranks(upto, points), [be.best.customers, be.widest.customers, be.marginal.customers]
    )
    ranks = ranks[(ranks > 0) & (ranks <= upto)]
    curve = fence.curve(ranks)
    fig = go.Figure()
    hover = "%{x:,} customers inside<br>%{meta}: %{y:,.0f} " + currency + "<extra></extra>"
    for col, name, color in (
        ("benefit", "Expected benefit", PALETTE["good"]),
        ("cost", "Programme cost", PALETTE["bad"]),
        ("net_benefit", "Net benefit", PALETTE["primary"]),
    ):
        fig.add_trace(
            go.Scatter(
                x=curve["customers"],
                y=curve[col],
                name=name,
                meta=name,
                mode="lines",
                hovertemplate=hover,
                line={"color": color, "width": 3 if col == "net_benefit" else 2},
            )
        )
    best = be.best
    fig.add_trace(
        go.Scatter(
            x=[best.customers],
            y=[best.net_benefit],
            mode="markers+text",
            name="Best fence",
            marker={"size": 12, "color": PALETTE["accent"], "line": {"color": "white", "width": 2}},
            text=[
                (
                    f"best: {theme.number(best.customers)} customers, net "
                    f"{theme.money(best.net_benefit, currency)}"
                )
            ],
            textposition="top center",
            hoverinfo="skip",
            showlegend=False,
        )
    )
    if be.widest.customers > 0:
        # a shape plus an annotation: on a log axis annotations take log10 coordinates
        fig.add_shape(
            type="line",
            xref="x",
            yref="paper",
            x0=be.widest.customers,
            x1=be.widest.customers,
            y0=0,
            y1=1,
            line={"color": PALETTE["muted"], "dash": "dot", "width": 1.5},
        )
        fig.add_annotation(
            x=np.log10(be.widest.customers),
            xref="x",
            y=1,
            yref="paper",
            text=f"pays overall up to {theme.number(be.widest.customers)} customers",
            showarrow=False,
            xanchor="right",
            yanchor="top",
            font={"color": PALETTE["muted"]},
        )
    fig.add_hline(y=0, line={"color": PALETTE["muted"], "width": 1})
    fig.update_xaxes(
        type="log", title_text="Customers inside the fence (most valuable first)", tickformat="~s"
    )
    fig.update_yaxes(title_text="Per year", **theme.money_axis(currency))
    t = title or (
        f"Managing the top {best.customers:,} customers one by one pays "
        f"most: {theme.money(best.net_benefit, currency)} a year net"
    )
    s = (
        f"A customer is worth managing above {theme.money(be.threshold, currency)} of value "
        f"(cost {theme.money(fence.marginal_cost, currency)} a year, uplift "
        f"{theme.percent(fence.uplift)} of value); {fence.economics.portfolio_size} customers "
        f"per manager"
    )
    return theme.style(fig, t, s, height=height)


def _period_label(months: int) -> str:
    if months == 0:
        return "now"
    years, rest = divmod(int(months), 12)
    if rest == 0:
        return f"year {years}"
    return f"+{months} mo" if years == 0 else f"year {years}.{rest * 10 // 12}"


def fence_projection_figure(
    projection: pd.DataFrame, *, currency: str = "EUR", title: str | None = None, height: int = 520
) -> go.Figure:
    """How the fence moves as IT gets cheaper: break-even value (line) and customers (bars).

    Parameters
    ----------
    projection : pandas.DataFrame
        :meth:`PicketFence.projection` output.
    """
    need = {"months", "threshold", "customers", "it_cost_per_customer", "net_benefit"}
    missing = sorted(need - set(projection.columns))
    if missing:
        raise KeyError(
            f"fence_projection_figure: the projection lacks {missing}; pass "
            f"PicketFence.projection()"
        )
    labels = [_period_label(m) for m in projection["months"]]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=labels,
            y=projection["customers"],
            name="Customers inside the fence",
            yaxis="y2",
            marker_color=PALETTE["primary_light"],
            customdata=projection["net_benefit"],
            hovertemplate="%{x}: %{y:,} customers inside, net %{customdata:,.0f} "
            + currency
            + "<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=projection["threshold"],
            name="Value at which one-to-one pays",
            mode="lines+markers",
            line={"color": PALETTE["accent"], "width": 3},
            customdata=projection["it_cost_per_customer"],
            hovertemplate=(
                "%{x}: pays above %{y:,.0f} "
                + currency
                + " (IT %{customdata:,.2f} "
                + currency
                + " per customer)<extra></extra>"
            ),
        )
    )
    fig.update_layout(
        yaxis=dict(
            title_text="Break-even value per customer",
            rangemode="tozero",
            **theme.money_axis(currency),
        ),
        yaxis2={
            "title_text": "Customers inside",
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "tickformat": ",~s",
            "tickmode": "auto",
            "showgrid": False,
        },
        xaxis={"title_text": "Half-years from now"},
        bargap=0.35,
    )
    first, last = projection.iloc[0], projection.iloc[-1]
    yrs = last["months"] / 12
    t = title or (
        f"As IT gets cheaper the fence moves left: {int(first['customers']):,} "
        f"→ {int(last['customers']):,} customers worth managing in "
        f"{yrs:g} years"
    )
    s = (
        f"Break-even value falls from {theme.money(first['threshold'], currency)} to "
        f"{theme.money(last['threshold'], currency)} as IT cost per customer goes from "
        f"{theme.money(first['it_cost_per_customer'], currency, compact=False, decimals=2)} to "
        f"{theme.money(last['it_cost_per_customer'], currency, compact=False, decimals=2)}"
    )
    return theme.style(fig, t, s, height=height)


class FenceWidget(widgets.VBox):
    """Move the picket fence live: slider, economics controls, readout and Lorenz curve.

    Parameters
    ----------
    fence : PicketFence
        Built once from per-customer values; the widget never re-sorts.
    currency : str
        ISO currency code for the readout and labels.
    share : float, optional
        Initial share of customers inside (default: the best fence by net benefit, at least
        one customer).
    points : int
        Resolution of the drawn curve.

    Attributes
    ----------
    position : ipywidgets.FloatSlider
        Customers inside, as a percentage of all customers (0-100).
    portfolio : ipywidgets.BoundedIntText
        Customers per customer manager.
    retention : ipywidgets.FloatSlider
        Retention uplift (share of value kept by managing a customer).
    readout : ipywidgets.HTML
    figure : plotly.graph_objects.FigureWidget
    current : FencePosition
        The fence as shown.
    last_update_seconds : float
        Wall time of the last full update (position, readout, figure).
    """

    def __init__(
        self,
        fence: PicketFence,
        currency: str = "EUR",
        share: float | None = None,
        points: int = 600,
        **kwargs,
    ):
        self.fence = fence
        self.currency = currency
        self._base = fence
        if share is None:
            share = max(fence.break_even().best.customers, 1) / fence.n
        step = max(0.01, round(100 / fence.n, 4)) if fence.n < 10_000 else 0.01
        self.position = widgets.FloatSlider(
            value=100 * share,
            min=0.0,
            max=100.0,
            step=step,
            description="Customers inside (%)",
            readout_format=".2f",
            continuous_update=True,
            style={"description_width": "150px"},
            layout=widgets.Layout(width="500px"),
        )
        self.portfolio = widgets.BoundedIntText(
            value=fence.economics.portfolio_size,
            min=1,
            max=100_000,
            step=10,
            description="Portfolio size",
            style={"description_width": "150px"},
            layout=widgets.Layout(width="240px"),
        )
        self.retention = widgets.FloatSlider(
            value=fence.economics.retention_uplift,
            min=0.0,
            max=0.5,
            step=0.005,
            description="Retention uplift",
            readout_format=".1%",
            style={"description_width": "150px"},
            layout=widgets.Layout(width="500px"),
        )
        self.readout = widgets.HTML()
        self._x, self._y = _lorenz_points(fence, points)
        base = lorenz_figure(
            fence, fence_at=fence.rank_at_share(share), currency=currency, points=points, height=460
        )
        self.figure = go.FigureWidget(base)
        for w in (self.position, self.portfolio, self.retention):
            w.observe(self._on_change, names="value")
        self.position.add_class("fence-position")
        self.portfolio.add_class("fence-portfolio")
        self.retention.add_class("fence-retention")
        self.readout.add_class("fence-readout")
        controls = widgets.VBox(
            [self.position, self.retention, self.portfolio],
            layout=widgets.Layout(min_width="520px"),
        )
        super().__init__([widgets.HBox([controls, self.readout]), self.figure], **kwargs)
        self.last_update_seconds = 0.0
        self.update()

    # -- updating -------------------------------------------------------------------------
    def _on_change(self, change) -> None:
        self.update()

    def update(self) -> FencePosition:
        """Recompute the fence at the controls' values and redraw readout and figure in place."""
        t0 = time.perf_counter()
        e = self._base.economics
        if self.portfolio.value != e.portfolio_size or self.retention.value != e.retention_uplift:
            self.fence = self._base.with_economics(
                portfolio_size=int(self.portfolio.value),
                retention_uplift=float(self.retention.value),
            )
        else:
            self.fence = self._base
        pos = self.fence.at_rank(self.fence.rank_at_share(self.position.value / 100))
        self.current = pos
        self.readout.value = self._readout_html(pos)
        title, sub = _fence_story(pos, self.currency)
        with self.figure.batch_update():
            _draw_fence(self.figure, self.fence, pos, self._x, self._y, self.currency)
            self.figure.layout.title.text = title
            self.figure.layout.title.subtitle.text = sub
        self.last_update_seconds = time.perf_counter() - t0
        return pos

    def _readout_html(self, p: FencePosition) -> str:
        c = self.currency
        roi_color = PALETTE["good"] if p.net_benefit >= 0 else PALETTE["bad"]
        rows = [
            ("Customers inside", f"{p.customers:,} ({theme.percent(p.customer_share)})"),
            ("Value threshold", f"≥ {theme.money(p.threshold, c)}"),
            (
                "Value inside",
                (f"{theme.money(p.value_inside, c)} ({theme.percent(p.value_share)})"),
            ),
            ("Customer managers", f"{p.managers:,}"),
            ("Programme cost / yr", theme.money(p.cost, c)),
            ("Expected benefit / yr", theme.money(p.benefit, c)),
            (
                "Net benefit / yr",
                (f"<b style='color:{roi_color}'>{theme.money(p.net_benefit, c)}</b>"),
            ),
            ("ROI", f"<b style='color:{roi_color}'>{theme.percent(p.roi, 0)}</b>"),
        ]
        body = "".join(
            f"<tr><td style='padding:2px 14px 2px 0;color:{PALETTE['muted']}'>"
            f"{html.escape(k)}</td><td style='text-align:right'>{v}</td></tr>"
            for k, v in rows
        )
        return (
            f"<table style='font-size:14px;color:{PALETTE['ink']};"
            f"border-collapse:collapse'>{body}</table>"
        )
