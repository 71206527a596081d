"""The picket fence on screen: a live widget for workshops and static figures for reports.

- :class:`FenceWidget`: a slider moves the fence customer by customer (the first few thousand
  take most of the track); "best fence" button; both uplifts, portfolio size, manager and IT
  cost settable; a live readout (customers and value inside, managers, cost, benefit, ROI)
  and a chart of benefit, cost and net benefit on the slider's scale with the fence, the best
  fence and the break-even marked, updated in place. It opens at the best fence.
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

__all__ = ["FenceWidget", "fence_economics_figure", "fence_projection_figure", "fence_scale",
           "lorenz_figure"]


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
    shade_name: str = "Inside the fence",
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
    shade_name : str
        Legend name of the shaded area left of ``fence_at`` ("Inside the fence"; say "MVC
        tier" when the line marks a tier rather than the fence).

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
            name=shade_name,
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
        title_text=f"Share of total {fence.value_label}" if fence.value_name != "value"
        else "Share of total value",
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
        f"Ranked by {fence.value_label}. A customer is worth managing above "
        f"{theme.money(be.threshold, currency)} (cost "
        f"{theme.money(fence.marginal_cost, currency)} a year, uplift "
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
    projection: pd.DataFrame, *, currency: str = "EUR", title: str | None = None,
    value_label: str | None = None, height: int = 520
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
            name="Customers inside the best fence",
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
    if title:
        t = title
    elif int(last["customers"]) > int(first["customers"]):
        t = (f"As IT gets cheaper the best fence widens: {int(first['customers']):,} "
             f"→ {int(last['customers']):,} customers worth managing in {yrs:g} years")
    else:
        t = (f"Cheaper IT barely moves the fence: {int(first['customers']):,} customers now and "
             f"in {yrs:g} years (managers, not IT, are most of the cost)")
    s = (
        f"Break-even value falls from {theme.money(first['threshold'], currency)} to "
        f"{theme.money(last['threshold'], currency)} as IT cost per customer goes from "
        f"{theme.money(first['it_cost_per_customer'], currency, compact=False, decimals=2)} to "
        f"{theme.money(last['it_cost_per_customer'], currency, compact=False, decimals=2)}"
        + (f"; ranked by {value_label}" if value_label else "")
    )
    return theme.style(fig, t, s, height=height)


def fence_scale(n: int, positions: int = 360, knee: int = 3000, knee_share: float = 0.8,
                extra=()) -> np.ndarray:
    """Customers inside at each slider position: 1..n, the first ``knee`` taking most of the track.

    Every count from 1 to 20, then geometric steps up to ``knee`` customers over
    ``knee_share`` of the positions, then geometric steps to ``n``; ``extra`` counts (the best
    fence, the break-even) are inserted exactly. Small populations get every count.
    """
    n = int(n)
    if n <= 0:
        return np.array([0], dtype=np.int64)
    if n <= positions:
        base = np.arange(1, n + 1)
    else:
        knee = min(int(knee), n)
        low_n = max(2, round(positions * (knee_share if knee < n else 1.0)))
        low = np.concatenate([np.arange(1, min(20, knee) + 1),
                              np.geomspace(min(20, knee), knee, max(2, low_n - 20))])
        high = np.geomspace(knee, n, positions - low_n + 1) if knee < n else np.array([n])
        base = np.concatenate([low, high, [n]])
    extra = [int(e) for e in extra if 1 <= int(e) <= n]
    return np.unique(np.concatenate([np.round(base), extra]).astype(np.int64))


# Trace order in the widget's chart (updated in place by these positions).
_W_BENEFIT, _W_COST, _W_NET, _W_BEST = 0, 1, 2, 3
# Shapes: the fence line, the fence's point on the net-benefit curve, the break-even line. A
# slider step only moves shapes (plotly's fast relayout path), never traces or the title.
_S_FENCE, _S_HERE, _S_BREAK_EVEN = 0, 1, 2


class FenceWidget(widgets.VBox):
    """Move the picket fence live: customers slider, economics, readout and chart.

    The slider counts customers inside the fence (1 to all) on a scale where the first few
    thousand take most of the track; it opens at the best fence (the same position as
    :meth:`PicketFence.break_even` ``.best``, the report, the key figures and
    ``fence_assignment``). The chart draws benefit, cost and net benefit on the slider's own
    scale, so the fence line moves on every step; the break-even (net benefit 0) and the best
    fence are marked. Retention and growth uplift, portfolio size, manager and IT cost are
    settable; the readout names what the fence ranks by (``fence.value_label``).

    Parameters
    ----------
    fence : PicketFence
        Built once from per-customer values; the widget never re-sorts.
    currency : str
        ISO currency code for the readout and labels.
    customers : int, optional
        Initial customers inside (default: the best fence, at least one customer).
    positions : int
        Slider positions (about one per 1.5 pixels of the chart).

    Attributes
    ----------
    slider : ipywidgets.SelectionSlider
        Customers inside; ``slider.value`` is the count.
    exact : ipywidgets.BoundedIntText
        Type an exact count (inserted on the slider's scale).
    best_button : ipywidgets.Button
    retention, growth : ipywidgets.FloatSlider
        Uplifts: share of yearly value kept and added by managing a customer one to one.
    portfolio, manager_cost, it_cost : ipywidgets.BoundedIntText / BoundedFloatText
    readout : ipywidgets.HTML
    figure : plotly.graph_objects.FigureWidget
    current : FencePosition
        The fence as shown.
    break_even : BreakEven
        Of the current economics.
    last_update_seconds : float
        Wall time of the last update (position, readout, figure).
    """

    def static_view(self) -> list:
        """What a report shows of the widget: the readout and the chart at this position."""
        return [self.readout, self.figure]

    def __init__(self, fence: PicketFence, currency: str = "EUR", customers: int | None = None,
                 positions: int = 360, height: int = 440, **kwargs):
        self._base = fence
        self.fence = fence
        self.currency = currency
        self.positions = int(positions)
        self._busy = False
        self.break_even = fence.break_even()
        k0 = max(self.break_even.best.customers, 1) if customers is None else int(customers)
        k0 = min(max(k0, 1), fence.n) if fence.n else 0
        e = fence.economics
        wide = {"description_width": "130px"}
        self.slider = widgets.SelectionSlider(
            options=[0], value=0, description="Customers inside", continuous_update=True,
            style=wide, layout=widgets.Layout(width="620px"))
        self.exact = widgets.BoundedIntText(value=k0, min=1 if fence.n else 0, max=fence.n,
                                            description="exactly", style={"description_width":
                                                                          "50px"},
                                            layout=widgets.Layout(width="170px"))
        self.best_button = widgets.Button(description="Best fence", icon="star",
                                          tooltip="Move the fence to the highest net benefit",
                                          layout=widgets.Layout(width="120px"))
        pct = {"min": 0.0, "max": 0.5, "step": 0.005, "readout_format": ".1%", "style": wide,
               "layout": widgets.Layout(width="420px"), "continuous_update": False}
        self.retention = widgets.FloatSlider(value=e.retention_uplift,
                                             description="Retention uplift", **pct)
        self.growth = widgets.FloatSlider(value=e.growth_uplift, description="Growth uplift",
                                          **pct)
        box = {"style": wide, "layout": widgets.Layout(width="260px")}
        self.portfolio = widgets.BoundedIntText(value=e.portfolio_size, min=1, max=1_000_000,
                                                step=10, description="Portfolio size", **box)
        self.manager_cost = widgets.BoundedFloatText(value=e.manager_cost, min=0, max=1e9,
                                                     step=1000, description="Manager cost / yr",
                                                     **box)
        self.it_cost = widgets.BoundedFloatText(value=e.it_cost_per_customer, min=0, max=1e7,
                                                step=5, description="IT cost / customer",
                                                **box)
        self.readout = widgets.HTML()
        self.figure = go.FigureWidget(self._base_figure(height))
        for name, w in (("position", self.slider), ("exact", self.exact),
                        ("best", self.best_button), ("retention", self.retention),
                        ("growth", self.growth), ("portfolio", self.portfolio),
                        ("manager-cost", self.manager_cost), ("it-cost", self.it_cost),
                        ("readout", self.readout)):
            w.add_class(f"fence-{name}")
        self.add_class("onetoone-fence")
        self.slider.observe(self._on_slider, names="value")
        self.exact.observe(self._on_exact, names="value")
        self.best_button.on_click(lambda _: self.go_to_best())
        for w in (self.retention, self.growth, self.portfolio, self.manager_cost, self.it_cost):
            w.observe(self._on_economics, names="value")
        controls = widgets.VBox([self.retention, self.growth, self.portfolio, self.manager_cost,
                                 self.it_cost], layout=widgets.Layout(min_width="440px"))
        super().__init__([widgets.HBox([self.slider, self.exact, self.best_button]),
                          widgets.HBox([controls, self.readout]), self.figure], **kwargs)
        self.last_update_seconds = 0.0
        self._rescale(k0)
        self.update()

    # -- scale and chart ------------------------------------------------------------------
    def _base_figure(self, height: int) -> go.Figure:
        fig = go.Figure()
        hover = ("%{customdata:,} customers inside<br>%{meta}: %{y:,.0f} " + self.currency
                 + "<extra></extra>")
        for name, color, width in (("Expected benefit", PALETTE["good"], 2),
                                   ("Programme cost", PALETTE["bad"], 2),
                                   ("Net benefit", PALETTE["primary"], 3)):
            fig.add_trace(go.Scatter(x=[], y=[], name=name, meta=name, mode="lines",
                                     hovertemplate=hover, line={"color": color, "width": width}))
        fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name="Best fence",
                                 marker={"size": 12, "symbol": "star", "color": PALETTE["good"],
                                         "line": {"color": "white", "width": 1}},
                                 hoverinfo="skip"))
        fig.add_shape(type="line", xref="x", yref="paper", x0=0, x1=0, y0=0, y1=1,
                      line={"color": PALETTE["accent"], "width": 3})
        fig.add_shape(type="circle", xref="x", yref="y", xsizemode="pixel", ysizemode="pixel",
                      xanchor=0, yanchor=0, x0=-6, x1=6, y0=-6, y1=6,
                      fillcolor=PALETTE["accent"], line={"color": "white", "width": 2})
        fig.add_shape(type="line", xref="x", yref="paper", x0=0, x1=0, y0=0, y1=1,
                      line={"color": PALETTE["muted"], "dash": "dot", "width": 1.5},
                      visible=False)
        fig.add_annotation(x=0, xref="x", y=1, yref="paper", text="", showarrow=False,
                           xanchor="left", yanchor="top", font={"color": PALETTE["muted"]})
        fig.add_hline(y=0, line={"color": PALETTE["muted"], "width": 1})
        fig.update_xaxes(title_text="Customers inside the fence, most valuable first "
                                    "(the slider's scale)", showgrid=False)
        fig.update_yaxes(title_text="Per year", **theme.money_axis(self.currency))
        fig.update_layout(uirevision="fence")
        return theme.style(fig, "", "", height=height)

    def _index(self, k: int) -> int:
        return int(np.searchsorted(self.scale, k))

    def _rescale(self, keep: int) -> None:
        """Slider options and chart curves for the current economics (keeps ``keep`` exact)."""
        be = self.break_even
        self.scale = fence_scale(self.fence.n, self.positions,
                                 extra=(keep, be.best.customers, be.widest.customers))
        curve = self.fence.curve(self.scale)
        self._net = curve["net_benefit"].to_numpy()
        x = np.arange(len(self.scale))
        self._busy = True
        try:
            self.slider.options = [(f"{int(k):,}", int(k)) for k in self.scale]
            self.slider.value = int(keep)
        finally:
            self._busy = False
        ticks = [k for k in (10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)
                 if k < self.fence.n * 0.8] + [self.fence.n]
        with self.figure.batch_update():
            for t, col in ((_W_BENEFIT, "benefit"), (_W_COST, "cost"), (_W_NET, "net_benefit")):
                self.figure.data[t].update(x=x, y=curve[col].to_numpy(), customdata=self.scale)
            bi = self._index(be.best.customers)
            self.figure.data[_W_BEST].update(x=[bi], y=[be.best.net_benefit])
            wi = self._index(be.widest.customers)
            paying = be.widest.customers > 0
            self.figure.layout.shapes[_S_BREAK_EVEN].update(x0=wi, x1=wi, visible=paying)
            self.figure.layout.annotations[0].update(
                x=wi, text=(f" break-even: {theme.number(be.widest.customers)} customers"
                            if paying else " pays for nobody"),
                xanchor="right" if wi > len(x) * 0.6 else "left")
            self.figure.layout.xaxis.update(
                tickmode="array", tickvals=[self._index(k) for k in ticks],
                ticktext=[theme.number(k) for k in ticks], range=[-2, len(x) + 1])
            # the y range shows where the fence can pay, not the cost of managing everybody
            reach = self.scale <= max(3 * be.widest.customers, 10 * be.best.customers, 100)
            hi = max(float(curve["benefit"].to_numpy()[reach].max()),
                     float(self._net.max()), 1.0) * 1.15
            lo = max(min(float(self._net[reach].min()), -0.15 * hi), -hi)
            self.figure.layout.yaxis.update(range=[lo, hi])
            # one title text with the subtitle as a second line: a subtitle set on a live
            # FigureWidget was drawn above the title in JupyterLab
            self.figure.layout.title.text = (
                f"Best fence: {be.best.customers:,} customers, net benefit "
                f"{theme.money(be.best.net_benefit, self.currency)} a year<br>"
                f"<span style='font-size:13px;color:{PALETTE['muted']}'>Ranked by "
                f"{html.escape(self.fence.value_label)}; per year by fence position</span>")

    # -- events ---------------------------------------------------------------------------
    def _on_slider(self, change) -> None:
        if not self._busy:
            self.update()

    def _on_exact(self, change) -> None:
        if self._busy:
            return
        self.set_customers(int(change["new"]))

    def _on_economics(self, change) -> None:
        self.fence = self._base.with_economics(
            retention_uplift=float(self.retention.value), growth_uplift=float(self.growth.value),
            portfolio_size=int(self.portfolio.value), manager_cost=float(self.manager_cost.value),
            it_cost_per_customer=float(self.it_cost.value))
        self.break_even = self.fence.break_even()
        self._rescale(self.customers)
        self.update()

    # -- actions --------------------------------------------------------------------------
    @property
    def customers(self) -> int:
        return int(self.slider.value)

    def set_customers(self, k: int) -> FencePosition:
        """Put the fence at exactly ``k`` customers (added to the slider's scale if needed)."""
        k = min(max(int(k), 1 if self.fence.n else 0), self.fence.n)
        if k not in set(self.scale.tolist()):
            self._rescale(k)
        else:
            self._busy = True
            try:
                self.slider.value = k
            finally:
                self._busy = False
        return self.update()

    def go_to_best(self) -> FencePosition:
        """Move the fence to the best position (highest net benefit) of the current economics."""
        return self.set_customers(max(self.break_even.best.customers, 1))

    def update(self) -> FencePosition:
        """Recompute the fence at the controls' values; redraw readout and chart in place."""
        t0 = time.perf_counter()
        k = self.customers
        pos = self.fence.at_rank(k)
        self.current = pos
        i = self._index(k)
        # the chart's message first (its redraw takes longest in the browser), then the readout
        with self.figure.batch_update():
            self.figure.layout.shapes[_S_FENCE].update(x0=i, x1=i)
            self.figure.layout.shapes[_S_HERE].update(xanchor=i, yanchor=pos.net_benefit)
        self.readout.value = self._readout_html(pos)
        if self.exact.value != k:
            self._busy = True
            try:
                self.exact.value = k
            finally:
                self._busy = False
        self.last_update_seconds = time.perf_counter() - t0
        return pos

    def _readout_html(self, p: FencePosition) -> str:
        c, f, be = self.currency, self.fence, self.break_even
        e = f.economics
        good = p.net_benefit >= 0
        colour = PALETTE["good"] if good else PALETTE["bad"]
        per = " a year" if f.value_years == 1 else f" over {f.value_years:g} years"
        rows = [
            ("Ranked by", html.escape(f.value_label)),
            ("Customers inside",
             (f"<b class='fence-k'>{p.customers:,}</b> of {f.n:,} "
             f"({theme.percent(p.customer_share)})")),
            ("Each worth at least", f"{theme.money(p.threshold, c)}{per}"),
            ("Value inside", (f"{theme.money(p.value_inside, c)}{per} "
                             f"({theme.percent(p.value_share)} of all)")),
            ("Customer managers", f"{p.managers:,} ({e.portfolio_size:,} customers each)"),
            ("Programme cost / yr", (f"{theme.money(p.cost, c)} (managers "
                                    f"{theme.money(p.manager_cost, c)}, IT "
                                    f"{theme.money(p.it_cost, c)})")),
            ("Expected benefit / yr", (f"{theme.money(p.benefit, c)} "
                                      f"({theme.percent(f.uplift)} of value a year)")),
            ("Net benefit / yr",
             f"<b class='fence-net' style='color:{colour}'>{theme.money(p.net_benefit, c)}</b>"),
            ("ROI", f"<b style='color:{colour}'>{theme.percent(p.roi, 0)}</b>"),
            ("Best fence", (f"{be.best.customers:,} customers, net "
                           f"{theme.money(be.best.net_benefit, c)}")),
            ("Break-even", (f"net benefit 0 at {be.widest.customers:,} customers; each "
                            f"customer pays above {theme.money(be.threshold, c)}{per}")
             if be.widest.customers else "the fence pays for nobody with these economics"),
        ]
        body = "".join(
            f"<tr><td style='padding:2px 14px 2px 0;white-space:nowrap;"
            f"color:{PALETTE['muted']}'>"
            f"{html.escape(k)}</td><td>{v}</td></tr>" for k, v in rows)
        return (f"<table style='font-size:14px;color:{PALETTE['ink']};"
                f"border-collapse:collapse'>{body}</table>")
