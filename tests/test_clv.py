"""Lifetime value: RFM summary, BG/NBD, Gamma-Gamma, CLV and the holdout check.

The oracle is the literature: Fader, Hardie & Lee (2005) and Fader & Hardie (2013) on the
CDNOW sample (tests/data/README.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from onetoone.differentiate.clv import (
    BGNBD,
    ConvergenceError,
    GammaGamma,
    calibration_holdout,
    customer_lifetime_value,
    predict_clv,
    rfm_summary,
    rfm_summary_ibis,
)
from onetoone.workspace import Workspace

DATA = Path(__file__).parent / "data"
CAL_END, OBS_END = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    df = pd.read_csv(
        DATA / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        dtype={2: str},
        names=["master_id", "customer_id", "date", "quantity", "amount"],
    )
    df["date"] = pd.to_datetime(df["date"], format="%Y%m%d")
    return df


@pytest.fixture(scope="module")
def cdnow_summary(cdnow) -> pd.DataFrame:
    return rfm_summary(cdnow, observation_end=CAL_END)


def test_cdnow_file_is_the_published_sample(cdnow):
    assert len(cdnow) == 6919
    assert cdnow["customer_id"].nunique() == 2357
    assert cdnow["date"].min() == pd.Timestamp("1997-01-01")
    assert cdnow["date"].max() == pd.Timestamp("1998-06-30")


def test_summary_reproduces_fader_hardie_summary(cdnow_summary):
    ref = pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv").set_index("ID")
    s = cdnow_summary.loc[ref.index]
    assert (s["frequency"].to_numpy() == ref["x"].to_numpy()).all()
    # the published file rounds weeks to 2 decimals and dollars to cents
    np.testing.assert_allclose(s["recency"], ref["t_x"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(s["T"], ref["T"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(s["monetary_value"], ref["zbar"], atol=0.005 + 1e-9)
    assert s.loc[1, "T"] == pytest.approx(272 / 7)  # first purchase 1997-01-01


def test_bgnbd_reproduces_fader_hardie_lee_2005(cdnow_summary):
    """THE BAR: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, each within 0.5 %."""
    s = cdnow_summary
    m = BGNBD().fit(s["frequency"], s["recency"], s["T"])
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for k, v in published.items():
        assert m.params_[k] == pytest.approx(v, rel=0.005), (k, m.params_)
    assert m.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)  # the paper's LL
    assert m.n_customers_ == 2357
    assert m.n_patterns_ < 2357


def test_gamma_gamma_reproduces_fader_hardie_2013(cdnow_summary):
    """THE BAR: p = 6.25, q = 3.74, v = 15.44 on the 946 repeat buyers, each within 0.5 %."""
    s = cdnow_summary
    g = GammaGamma().fit(s["frequency"], s["monetary_value"])
    assert g.n_customers_ == 946
    for k, v in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert g.params_[k] == pytest.approx(v, rel=0.005), (k, g.params_)


def test_weekly_periods_do_not_reproduce_the_paper(cdnow):
    """Whole weeks (lifetimes' freq='W') change the data, hence the parameters."""
    s = rfm_summary(cdnow, observation_end=CAL_END, freq="W")
    assert np.all(s["T"] == np.round(s["T"]))
    m = BGNBD().fit(s["frequency"], s["recency"], s["T"])
    assert abs(m.params_["alpha"] / 4.414 - 1) > 0.05


def test_ibis_summary_equals_pandas_summary(cdnow, tmp_path):
    ws = Workspace(tmp_path / "client.duckdb")
    ws.write("transactions", cdnow)
    table = ws.table("transactions")
    for kwargs in ({}, {"freq": "W"}, {"calibration_end": CAL_END}, {"amount_col": None}):
        obs = OBS_END if "calibration_end" in kwargs else CAL_END
        a = rfm_summary(cdnow, observation_end=obs, **kwargs)
        b = rfm_summary_ibis(table, observation_end=obs, **kwargs)
        c = rfm_summary(table, observation_end=obs, **kwargs)  # dispatches on the type
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
        pd.testing.assert_frame_equal(a, c, check_dtype=False)
    assert list(b.columns) == ["frequency", "recency", "T"]
    anonymous = cdnow.head(50).astype({"customer_id": "string"})
    anonymous.loc[anonymous.index[:3], "customer_id"] = pd.NA  # purchases by nobody we know
    ws.write("anonymous", anonymous)
    a = rfm_summary(anonymous, observation_end=CAL_END)
    b = rfm_summary(ws.table("anonymous"), observation_end=CAL_END)
    pd.testing.assert_frame_equal(a, b, check_dtype=False, check_index_type=False)
    seen = anonymous[anonymous["date"] <= CAL_END]["customer_id"]
    assert a.index.notna().all() and len(a) == seen.nunique()
    ws.close()


def test_summary_conventions_on_a_small_example():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "c"],
            "date": pd.to_datetime(
                [
                    "2024-01-01 09:00",
                    "2024-01-01 17:00",
                    "2024-01-08",
                    "2024-02-01",
                    "2024-01-15",
                    "2024-01-20",
                ],
                format="ISO8601",
            ),
            "amount": [10.0, 5.0, 30.0, 999.0, 20.0, 7.0],
        }
    )
    s = rfm_summary(tx, observation_end="2024-01-29", time_unit="D")
    # a: two purchases on Jan 1 are one (15), a repeat on Jan 8; Feb 1 is after the end
    assert s.loc["a"].tolist() == [1.0, 7.0, 28.0, 30.0]
    assert s.loc["b"].tolist() == [0.0, 0.0, 14.0, 0.0]
    h = rfm_summary(tx, observation_end="2024-02-29", calibration_end="2024-01-10", time_unit="D")
    assert list(h.index) == ["a"]  # b and c first bought after the calibration period
    assert h.loc["a", "frequency_holdout"] == 1
    assert h.loc["a", "monetary_value_holdout"] == 999.0
    assert h.loc["a", "duration_holdout"] == 50
    anonymous = pd.concat(
        [
            tx,
            pd.DataFrame(
                {"customer_id": [None], "amount": [5.0], "date": [pd.Timestamp("2024-01-02")]}
            ),
        ]
    )
    pd.testing.assert_frame_equal(
        rfm_summary(anonymous, observation_end="2024-01-29", time_unit="D"), s
    )
    with pytest.raises(KeyError, match="amount"):
        rfm_summary(tx.drop(columns="amount"), observation_end="2024-01-29")
    with pytest.raises(ValueError, match="after observation_end"):
        rfm_summary(tx, observation_end="2024-01-29", calibration_end="2024-02-10")


def test_fit_on_patterns_with_weights_equals_fit_per_customer(cdnow_summary):
    s = cdnow_summary
    per_customer = BGNBD().fit(s["frequency"], s["recency"], s["T"]).params_
    pat = s.groupby(["frequency", "recency", "T"]).size().reset_index(name="w")
    weighted = BGNBD().fit(pat["frequency"], pat["recency"], pat["T"], weights=pat["w"]).params_
    for k in per_customer:
        assert weighted[k] == pytest.approx(per_customer[k], rel=1e-5)


def _posterior_expectation(params, t, x, tx, T, nodes=300):
    """E[purchases in (T, T+t] | x, tx, T] by integrating over the posterior of (lambda, p).

    Gauss-Legendre on lambda in (0, 10) and on u in (0, 1) with p = u^2 (which removes the
    p^(a-2) singularity of the integrand at p = 0).
    """
    r, alpha, a, b = params
    g, gw = special.roots_legendre(nodes)
    lam, lw = 5 * (g + 1), 5 * gw
    u, uw = (g + 1) / 2, gw / 2
    p, pw = u**2, uw * 2 * u
    L, P = np.meshgrid(lam, p, indexing="ij")
    W = np.outer(lw, pw) * stats.gamma.pdf(L, r, scale=1 / alpha) * stats.beta.pdf(P, a, b)
    alive = (1 - P) ** x * L**x * np.exp(-L * T)
    dead = P * (1 - P) ** (x - 1) * L**x * np.exp(-L * tx) if x > 0 else 0.0
    num = np.sum(W * alive * (1 - np.exp(-L * P * t)) / P)
    return num / np.sum(W * (alive + dead))


def test_expected_purchases_match_the_posterior_by_numerical_integration():
    m = BGNBD()
    m.params_ = {"r": 2.0, "alpha": 3.0, "a": 1.5, "b": 4.0}  # smooth densities for quadrature
    for x, tx, T in ((2, 30.43, 38.86), (0, 0.0, 20.0), (5, 10.0, 30.0)):
        got = float(m.expected_purchases(39, x, tx, T)[0])
        want = _posterior_expectation((2.0, 3.0, 1.5, 4.0), 39, x, tx, T)
        assert got == pytest.approx(want, rel=1e-4), (x, tx, T)


def test_predictions_are_consistent(cdnow_summary):
    s = cdnow_summary
    m = BGNBD().fit(s["frequency"], s["recency"], s["T"])
    # a brand-new customer (x = 0, T = 0) expects the unconditional E[X(t)]
    assert float(m.expected_purchases(39, 0, 0, 0)[0]) == pytest.approx(
        m.expected_purchases_new(39), rel=1e-9
    )
    pa = m.probability_alive(s["frequency"], s["recency"], s["T"])
    assert isinstance(pa, pd.Series) and pa.index.equals(s.index)
    assert ((pa > 0) & (pa <= 1)).all()
    assert (pa[s["frequency"] == 0] == 1).all()
    # buying recently keeps you alive; a long silence after many purchases does not
    assert m.probability_alive(5, 38, 39)[0] > m.probability_alive(5, 10, 39)[0]
    e = [float(m.expected_purchases(t, 2, 30, 39)[0]) for t in (13.0, 26.0, 52.0)]
    assert np.all(np.diff(e) > 0)
    assert float(m.expected_purchases(0, 3, 20, 39)[0]) == 0.0


def _simulate_bgnbd(n, r, alpha, a, b, T_max, rng):
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.integers(1, int(T_max * 7) + 1, n) / 7  # whole days, in weeks
    t = np.zeros(n)
    x = np.zeros(n)
    tx = np.zeros(n)
    alive = np.ones(n, bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        t[idx] += rng.exponential(1 / lam[idx])
        buy = t[idx] <= T[idx]
        b_idx = idx[buy]
        x[b_idx] += 1
        tx[b_idx] = t[b_idx]
        alive[idx[~buy]] = False
        drop = rng.random(b_idx.size) < p[b_idx]
        alive[b_idx[drop]] = False
    return x, np.floor(tx * 7) / 7, T


def test_fit_recovers_simulated_parameters():
    rng = np.random.default_rng(7)
    true = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 3.0}
    x, tx, T = _simulate_bgnbd(20_000, *true.values(), T_max=52, rng=rng)
    m = BGNBD().fit(x, tx, T)
    for k, v in true.items():
        assert m.params_[k] == pytest.approx(v, rel=0.2), (k, m.params_)
    # gamma-gamma: values ~ Gamma(p, nu), nu ~ Gamma(q, v)
    p, q, v = 6.0, 4.0, 15.0
    rep = x > 0
    nu = rng.gamma(q, 1 / v, rep.sum())
    mean = rng.gamma(p * x[rep], 1 / (nu * x[rep]))  # mean of x Gamma(p, nu) draws
    g = GammaGamma().fit(x[rep], mean)
    for k, want in {"p": p, "q": q, "v": v}.items():
        assert g.params_[k] == pytest.approx(want, rel=0.2), (k, g.params_)


def test_bad_input_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="recency greater than T"):
        BGNBD().fit([1, 2], [5.0, 3.0], [4.0, 10.0])
    with pytest.raises(ValueError, match="recency > 0 with frequency 0"):
        BGNBD().fit([0, 2], [1.0, 3.0], [4.0, 10.0])
    with pytest.raises(ValueError, match="negative"):
        BGNBD().fit([-1, 2], [0.0, 3.0], [4.0, 10.0])
    with pytest.raises(ConvergenceError, match="nobody made a repeat purchase"):
        BGNBD().fit([0, 0, 0], [0.0, 0.0, 0.0], [4.0, 10.0, 3.0])
    with pytest.raises(ValueError, match="monetary_value > 0"):
        GammaGamma().fit(pd.Series([1, 2, 0], index=["x", "y", "z"]), [10.0, -3.0, 0.0])
    with pytest.raises(ConvergenceError, match="repeat buyer"):
        GammaGamma().fit([1, 0], [10.0, 0.0])
    with pytest.raises(RuntimeError, match="not fitted"):
        BGNBD().probability_alive([1], [1], [2])


def test_clv_is_discounted_expected_value(cdnow_summary):
    s = cdnow_summary
    m = BGNBD().fit(s["frequency"], s["recency"], s["T"])
    g = GammaGamma().fit(s["frequency"], s["monetary_value"])
    args = (m, g, s["frequency"], s["recency"], s["T"], s["monetary_value"])
    undiscounted = customer_lifetime_value(*args, horizon_months=12, annual_discount_rate=0.0)
    weeks = 12 * 365.25 / 12 / 7
    want = g.conditional_expected_value(s["frequency"], s["monetary_value"]) * m.expected_purchases(
        weeks, s["frequency"], s["recency"], s["T"]
    )
    np.testing.assert_allclose(undiscounted, want, rtol=1e-9)
    discounted = customer_lifetime_value(*args, horizon_months=12, annual_discount_rate=0.1)
    assert (discounted < undiscounted).all() and (discounted > undiscounted / 1.1).all()
    longer = customer_lifetime_value(*args, horizon_months=36, annual_discount_rate=0.1)
    assert (longer > discounted).all()
    half = customer_lifetime_value(*args, horizon_months=12, annual_discount_rate=0.0, margin=0.5)
    np.testing.assert_allclose(half, undiscounted / 2)
    table = predict_clv(s, m, g, horizon_months=36, annual_discount_rate=0.1)
    assert list(table.columns) == ["p_alive", "expected_purchases", "expected_value", "clv"]
    np.testing.assert_allclose(table["clv"], longer)
    # gamma-gamma shrinks a customer's own mean toward the population mean
    ev = g.conditional_expected_value([0, 1, 50], [0.0, 100.0, 100.0])
    assert ev[0] == pytest.approx(g.mean_value())
    assert g.mean_value() < ev[1] < ev[2] < 100


def test_calibration_holdout_on_cdnow(cdnow):
    check = calibration_holdout(cdnow, CAL_END, OBS_END)
    t = check.table
    assert list(t.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert t["customers"].sum() == 2357
    # actual holdout repeat purchases counted directly: distinct purchase days in the holdout
    hold = cdnow[cdnow["date"] > CAL_END].drop_duplicates(["customer_id", "date"])
    assert check.actual_total == len(hold) == t["actual_total"].sum()
    assert check.predicted_total == pytest.approx(t["predicted_total"].sum())
    assert abs(check.predicted_total / check.actual_total - 1) < 0.15
    assert check.mae < 0.4
    # more calibration purchases -> more holdout purchases, predicted and actual
    assert t["predicted"].is_monotonic_increasing
    assert t["actual"].iloc[-1] > t["actual"].iloc[0]
    assert f"{check.actual_total:,.0f}" in check.summary and "predicted" in check.summary
    assert check.data["duration_holdout"].iloc[0] == pytest.approx(39.0)
