"""Value skew, the picket fence model, its widget and figures, and the ui theme."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onetoone.config import Fence
from onetoone.differentiate.fence import PicketFence
from onetoone.differentiate.skew import gini, lorenz, skew_summary, top_share
from onetoone.ui import theme
from onetoone.ui.fence import (
    FenceWidget,
    fence_economics_figure,
    fence_projection_figure,
    fence_scale,
    lorenz_figure,
)

money_values = st.lists(st.floats(-1e4, 1e6, allow_nan=False, width=32), min_size=1, max_size=60)
economics = st.fixed_dictionaries(
    {
        "portfolio_size": st.integers(1, 40),
        "manager_cost": st.floats(0, 1e5),
        "it_cost_per_customer": st.floats(0, 500),
        "retention_uplift": st.floats(0, 1),
        "growth_uplift": st.floats(0, 1),
    }
)


def _brute(values, k, e: dict, value_years=1.0):
    """Everything a fence at rank k means, computed the slow obvious way."""
    ranked = sorted(values, reverse=True)
    inside = ranked[:k]
    managers = math.ceil(k / e["portfolio_size"])
    cost = managers * e["manager_cost"] + k * e["it_cost_per_customer"]
    benefit = sum(inside) * (e["retention_uplift"] + e["growth_uplift"]) / value_years
    return {
        "customers": k,
        "value_inside": sum(inside),
        "managers": managers,
        "cost": cost,
        "benefit": benefit,
        "net_benefit": benefit - cost,
        "threshold": inside[-1] if inside else math.inf,
    }


@settings(max_examples=150, deadline=None)
@given(values=money_values, e=economics, data=st.data())
def test_fence_answers_equal_brute_force(values, e, data):
    fence = PicketFence(values, **e)
    k = data.draw(st.integers(0, len(values)))
    pos = fence.at_rank(k)
    want = _brute(values, k, e)
    for key, v in want.items():
        assert getattr(pos, key) == pytest.approx(v, rel=1e-9, abs=1e-6), key
    assert pos.customer_share == pytest.approx(k / len(values))
    if pos.cost > 0:
        assert pos.roi == pytest.approx(pos.net_benefit / pos.cost)
    # a value threshold: everybody worth at least v is inside
    v = data.draw(st.sampled_from(values) | st.floats(-2e4, 2e6, allow_nan=False))
    assert fence.at_value(v).customers == sum(x >= v for x in np.float64(values))
    s = data.draw(st.floats(0, 1))
    assert fence.at_share(s).customers == round(s * len(values))


def test_fence_from_series_keeps_ids_and_config_economics():
    values = pd.Series(
        [5.0, 50.0, 500.0, -20.0], index=pd.Index(["a", "b", "c", "d"], name="customer_id")
    )
    cfg = Fence(
        portfolio_size=2,
        manager_cost=100.0,
        it_cost_per_customer=1.0,
        retention_uplift=0.1,
        growth_uplift=0.1,
    )
    fence = PicketFence(values, economics=cfg, value_years=2)
    inside = fence.inside(2)
    assert inside["customer_id"].tolist() == ["c", "b"]
    assert inside["rank"].tolist() == [1, 2]
    pos = fence.at_rank(3)
    assert pos.managers == 2 and pos.cost == 203.0
    assert pos.benefit == pytest.approx(555 * 0.2 / 2)
    assert pos.threshold == 5.0
    assert fence.at_rank(0).threshold == math.inf and math.isnan(fence.at_rank(0).roi)
    cheaper = fence.with_economics(manager_cost=0.0)
    assert cheaper.at_rank(3).cost == 3.0 and fence.at_rank(3).cost == 203.0
    assert cheaper.values_ is fence.values_  # no re-sorting
    with pytest.raises(TypeError, match="unknown fence economics"):
        fence.with_economics(portfolio=3)
    with pytest.raises(ValueError, match="between 0 and 4"):
        fence.at_rank(5)
    with pytest.raises(ValueError, match="without a finite value"):
        PicketFence([1.0, float("nan")])


def test_break_even_is_where_the_next_customer_stops_paying():
    rng = np.random.default_rng(3)
    values = rng.lognormal(7, 1.3, 5000)
    fence = PicketFence(
        values,
        portfolio_size=50,
        manager_cost=50_000.0,
        it_cost_per_customer=100.0,
        retention_uplift=0.06,
        growth_uplift=0.04,
    )
    be = fence.break_even()
    assert be.threshold == pytest.approx((100 + 50_000 / 50) / 0.1)
    inside = fence.values_[: be.marginal.customers]
    assert inside.min() >= be.threshold
    assert fence.values_[be.marginal.customers] < be.threshold  # the next one does not pay
    # best: the highest net benefit of all positions, by brute force
    nets = [fence.at_rank(k).net_benefit for k in range(fence.n + 1)]
    assert be.best.net_benefit == pytest.approx(max(nets))
    assert abs(be.best.customers - be.marginal.customers) <= 50  # within one portfolio
    assert be.widest.net_benefit >= 0 > fence.at_rank(be.widest.customers + 1).net_benefit
    assert be.widest.customers > be.best.customers


def test_projection_halves_the_threshold_with_it_cost():
    rng = np.random.default_rng(4)
    values = rng.lognormal(6, 1.5, 20_000)
    it_only = PicketFence(
        values,
        manager_cost=0.0,
        it_cost_per_customer=40.0,
        retention_uplift=0.05,
        growth_uplift=0.03,
    )
    p = it_only.projection(years=6, halving_months=18)
    assert p["months"].tolist() == list(range(0, 73, 6))
    assert p["threshold"].iloc[0] == pytest.approx(40 / 0.08)
    by_month = p.set_index("months")
    assert by_month.loc[18, "threshold"] == pytest.approx(by_month.loc[0, "threshold"] / 2)
    assert by_month.loc[36, "threshold"] == pytest.approx(by_month.loc[0, "threshold"] / 4)
    assert by_month.loc[36, "it_cost_per_customer"] == pytest.approx(10.0)
    assert p["customers"].is_monotonic_increasing and p["customers"].iloc[-1] > p["customers"][0]
    for row in p.itertuples():  # without managers the best fence is everyone above break-even
        assert row.customers == (values > row.threshold).sum()
        assert row.customers == it_only.best_rank(row.it_cost_per_customer)
    # with managers the IT part of the threshold halves; the manager part stays
    full = PicketFence(
        values,
        portfolio_size=200,
        manager_cost=60_000.0,
        it_cost_per_customer=40.0,
        retention_uplift=0.05,
        growth_uplift=0.03,
    )
    q = full.projection(years=3).set_index("months")
    # one best fence: the first half-year is today's best fence, not the marginal break-even
    assert q.loc[0, "customers"] == full.break_even().best.customers
    assert q.loc[0, "net_benefit"] == pytest.approx(full.break_even().best.net_benefit)
    manager_part = 60_000 / 200 / 0.08
    assert (q.loc[18, "threshold"] - manager_part) == pytest.approx(
        (q.loc[0, "threshold"] - manager_part) / 2
    )
    # (net benefit can dip for a half-year: the first customers past a full portfolio need a
    # whole new manager) but over the years cheaper IT pays
    assert q["net_benefit"].iloc[-1] > q["net_benefit"].iloc[0]


@pytest.mark.parametrize("method, bound", [("lpt", 1.05), ("snake", 1.5)])
def test_manager_assignment_is_balanced_and_complete(method, bound):
    rng = np.random.default_rng(5)
    ids = [f"C{i:05d}" for i in range(30_000)]
    values = pd.Series(rng.lognormal(7, 1.0, 30_000), index=pd.Index(ids, name="customer_id"))
    fence = PicketFence(values, portfolio_size=100)
    k = 5_432
    a = fence.assign_managers(k, method=method)
    c = a.customers
    assert len(c) == k and c["customer_id"].is_unique
    assert set(c["customer_id"]) == set(values.nlargest(k).index)
    assert len(a.portfolios) == math.ceil(k / 100) == c["manager"].nunique()
    assert a.portfolios["customers"].max() <= 100
    assert a.portfolios["customers"].sum() == k
    assert a.portfolios["value"].sum() == pytest.approx(values.nlargest(k).sum())
    assert a.spread == pytest.approx(a.portfolios["value"].max() / a.portfolios["value"].min())
    assert 1 <= a.spread < bound
    assert c["manager"].str.fullmatch(r"CM-\d{3}").all()
    with pytest.raises(ValueError, match="no customers"):
        fence.assign_managers(0)


def test_lorenz_gini_and_top_shares():
    x, y = lorenz([1, 1, 1, 1])
    np.testing.assert_allclose(y, x)
    assert gini([5, 5, 5]) == pytest.approx(0)
    assert gini([0, 0, 0, 10]) == pytest.approx(3 / 4)  # (n - 1) / n
    rng = np.random.default_rng(6)
    v = rng.lognormal(0, 1, 300)
    slow = np.abs(v[:, None] - v[None, :]).sum() / (2 * len(v) ** 2 * v.mean())
    assert gini(v) == pytest.approx(slow)
    x, y = lorenz(v)
    assert x[0] == y[0] == 0 and x[-1] == y[-1] == 1
    assert np.all(np.diff(y) >= 0) and np.all(y >= x - 1e-12)  # concave above the diagonal
    xa, ya = lorenz(v, order="ascending")
    assert np.all(ya <= xa + 1e-12)
    shares = top_share(v, (0.01, 0.1, 0.5))
    assert shares[0.1] == pytest.approx(np.sort(v)[::-1][:30].sum() / v.sum())
    assert shares.is_monotonic_increasing


def test_negative_values_give_a_whale_curve():
    v = np.array([100.0, 50.0, 10.0, -20.0, -40.0])  # net total 100
    _x, y = lorenz(v)
    assert y.max() == pytest.approx(1.6) and y[-1] == 1.0
    assert top_share(v, [0.4])[0.4] == pytest.approx(1.5)
    assert gini(v) == pytest.approx(gini([100, 50, 10, 0, 0]))  # clip by default
    slow = np.abs(v[:, None] - v[None, :]).sum() / (2 * len(v) ** 2 * v.mean())
    assert gini(v, negatives="keep") == pytest.approx(slow) and slow > 1  # net values: above 1
    with pytest.raises(ValueError, match="negative"):
        gini(v, negatives="error")
    with pytest.raises(ValueError, match="positive net total"):
        lorenz([-5.0, 1.0])
    with pytest.raises(ValueError, match="missing"):
        gini([1.0, np.nan])
    summary = skew_summary(v)
    assert summary["negative_customers"] == 2 and summary["negative_value"] == -60
    assert summary["top_20%"] == pytest.approx(1.0)


def test_theme_formats_numbers_for_people():
    assert theme.money(1_234_567, "EUR") == "€1.23M"
    assert theme.money(-32_500, "EUR") == "-€32.5k"
    assert theme.money(9_400, "CHF") == "9,400 CHF"
    assert theme.money(950, "USD") == "$950"
    assert theme.money(12.5, "GBP", compact=False, decimals=2) == "£12.50"
    assert theme.number(9_876) == "9,876" and theme.number(2.5e9) == "2.50bn"
    assert theme.number(float("nan")) == "–"
    assert theme.percent(0.4427) == "44.3 %" and theme.percent(0.0012) == "0.12 %"
    assert theme.TEMPLATE in __import__("plotly.io").io.templates


@pytest.fixture(scope="module")
def fence():
    rng = np.random.default_rng(8)
    values = np.concatenate([rng.lognormal(6, 1.4, 20_000), -rng.exponential(50, 500)])
    return PicketFence(values)


def test_widget_opens_at_the_best_fence_and_follows_the_slider(fence):
    w = FenceWidget(fence, currency="EUR")
    best = fence.break_even().best
    assert w.current == best and w.slider.value == best.customers == w.exact.value
    before = w.readout.value
    k = int(w.scale[len(w.scale) // 2])
    w.slider.value = k
    assert w.current == fence.at_rank(k)
    assert w.readout.value != before
    assert f"<b class='fence-k'>{k:,}</b>" in w.readout.value
    assert theme.money(w.current.net_benefit, "EUR") in w.readout.value
    # the chart is drawn on the slider's scale: the fence line sits at the slider's index
    i = int(np.searchsorted(w.scale, k))
    assert w.figure.layout.shapes[0].x0 == i == w.figure.layout.shapes[1].xanchor
    assert w.figure.layout.shapes[1].yanchor == pytest.approx(w.current.net_benefit)
    assert f"Best fence: {best.customers:,} customers" in w.figure.layout.title.text
    assert w.last_update_seconds < 0.5
    # an exact count off the scale is inserted, and the best-fence button comes back
    w.exact.value = 251
    assert w.current.customers == 251 == w.slider.value and 251 in w.scale
    w.go_to_best()
    assert w.current == best
    # economics: both uplifts, portfolio, manager and IT cost change the figures
    managers = w.current.managers
    w.portfolio.value = 125
    assert w.current.managers == math.ceil(w.current.customers / 125) != managers
    benefit = w.current.benefit
    w.growth.value = 0.10
    assert w.current.benefit > benefit and w.fence.economics.growth_uplift == 0.10
    w.retention.value = 0.20
    assert w.fence.economics.retention_uplift == 0.20
    assert w.current == w.fence.at_rank(w.current.customers)
    assert w.break_even.best == w.fence.break_even().best
    assert f"{w.break_even.best.customers:,} customers" in w.readout.value


def test_slider_scale_gives_the_first_thousands_most_of_the_track():
    scale = fence_scale(1_000_000, positions=360, extra=(250, 316))
    assert scale[0] == 1 and scale[-1] == 1_000_000 and np.all(np.diff(scale) > 0)
    assert {250, 316} <= set(scale.tolist())
    assert (scale <= 3000).mean() > 0.7  # the first few thousand take most of the track
    assert scale[:20].tolist() == list(range(1, 21))  # one customer a step at the start
    assert 300 <= len(scale) <= 400
    assert fence_scale(50).tolist() == list(range(1, 51))


def test_fence_names_what_it_ranks_by():
    values = pd.Series([9000.0, 5000.0, 100.0], index=pd.Index(["a", "b", "c"],
                                                                name="customer_id"))
    f = PicketFence(values, portfolio_size=2, value_name="contribution_12m",
                    value_label="contribution, last 12 months")
    w = FenceWidget(f, currency="GBP")
    assert "contribution, last 12 months" in w.readout.value
    assert "contribution, last 12 months" in w.figure.layout.title.text
    econ = fence_economics_figure(f, currency="GBP")
    assert "Ranked by contribution, last 12 months" in econ.layout.title.subtitle.text
    a = f.assign_managers(2)
    assert a.customers["value_basis"].eq("contribution_12m").all()
    lor = lorenz_figure(f, fence_at=0.5, shade_name="MVC tier")
    assert lor.data[0].name == "MVC tier"
    assert "contribution, last 12 months" in lor.layout.yaxis.title.text


def test_figures_tell_the_story(fence):
    fig = lorenz_figure(fence, fence_at=0.05, currency="USD")
    assert "top 5.0 %" in fig.layout.title.text
    assert fig.data[1].y[-1] == pytest.approx(1.0) and max(fig.data[1].y) > 1  # whale curve
    assert fig.layout.template.layout.font.family.startswith("Inter")
    plain = lorenz_figure(fence.values_, currency="USD")
    assert "top 20 %" in plain.layout.title.text
    econ = fence_economics_figure(fence, currency="EUR")
    best = fence.break_even().best
    assert f"{best.customers:,}" in econ.layout.title.text
    assert [t.name for t in econ.data][:3] == ["Expected benefit", "Programme cost", "Net benefit"]
    proj = fence_projection_figure(fence.projection(), currency="EUR")
    assert len(proj.data[0].x) == 11 and proj.data[0].x[0] == "now"
    with pytest.raises(KeyError, match="projection"):
        fence_projection_figure(pd.DataFrame({"months": [0]}))


def test_contribution_12m_is_last_years_margin_less_cost_to_serve():
    import ibis

    from onetoone.differentiate.value import historical_value

    tx = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b"], "transaction_id": ["t1", "t2", "t3", "t4"],
        "order_id": ["o1", "o2", "o2", "o3"],
        "date": pd.to_datetime(["2024-03-01", "2025-03-01", "2025-03-20", "2025-06-01"]),
        "amount": [500.0, 200.0, -50.0, 80.0], "cost": [300.0, 120.0, -30.0, 50.0],
        "is_return": [False, False, True, False], "channel": ["store"] * 4})
    it = pd.DataFrame({"customer_id": ["a", "a", "b"],
                       "date": pd.to_datetime(["2024-05-01", "2025-05-01", "2025-07-01"]),
                       "channel": ["call_centre"] * 3})
    v = historical_value(ibis.memtable(tx), ibis.memtable(it), as_of="2025-09-30",
                         channel_costs={"call_centre": 6.5, "store": 4.0}).set_index("customer_id")
    # a: last year's margin 80 - 20 (the return), one call 6.50 and one returned order 4.00
    assert v.loc["a", "gross_margin_12m"] == pytest.approx(60.0)
    assert v.loc["a", "cost_to_serve_12m"] == pytest.approx(10.5)
    assert v.loc["a", "contribution_12m"] == pytest.approx(49.5)
    assert v.loc["a", "contribution"] == pytest.approx(200 + 60 - 13 - 4)
    assert v.loc["b", "contribution_12m"] == pytest.approx(30 - 6.5)


@pytest.mark.slow
def test_sample_fence_on_margin_is_one_fence_everywhere():
    from sample_support import sample_workspace

    from onetoone.differentiate import pipeline
    from onetoone.workspace import Workspace

    cfg = sample_workspace("differentiate")
    with Workspace(cfg.workspace_path, read_only=True) as ws:
        cv = ws.read("customer_value")
        fa = ws.read("fence_assignment")
    fence = pipeline.fence_for(cfg, cv)
    assert fence.value_name == cfg.fence.value == "contribution_12m"
    be = fence.break_even()
    # the bar: the best fence on margin holds 100-1,000 customers and pays (measured 200,
    # GBP 144k net a year, with the sample's trade accounts and economics)
    assert 100 <= be.best.customers <= 1000 and be.best.net_benefit > 0
    w = FenceWidget(fence, currency=cfg.currency)
    assert w.current == be.best  # the widget's first readout is the report's best fence
    assert len(fa) == be.best.customers
    assert set(fa["customer_id"]) == set(fence.inside(be.best.customers)["customer_id"])
    assert (fa["value_basis"] == "contribution_12m").all()
    assert fence.projection()["customers"].iloc[0] == be.best.customers
