"""BG/NBD + Gamma-Gamma fit time for 1,000,000 synthetic customers, with recovered parameters.

Simulates customers from known parameters (the BG/NBD story: Poisson purchasing at rate
lambda ~ Gamma(r, alpha), dropout after each purchase with p ~ Beta(a, b); purchase values
Gamma(p, nu) with nu ~ Gamma(q, v)), acquired over a year, observed to one end date. Writes
the purchases as a transactions table into a DuckDB workspace, then times:

1. rfm_summary on the Ibis table (inside DuckDB; only per-customer rows come to pandas),
2. BGNBD.fit (on unique patterns), 3. GammaGamma.fit, 4. predict_clv (36 months),

and prints true against recovered parameters and the peak resident memory.

    .venv/bin/python benchmarks/bench_clv.py [--customers 1000000]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TRUE_BG = {"r": 0.5, "alpha": 6.0, "a": 0.7, "b": 2.5}
TRUE_GG = {"p": 6.0, "q": 3.5, "v": 15.0}
END = pd.Timestamp("2024-12-31")


def simulate(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Transactions (customer_id, date, amount) of n customers acquired in 2024."""
    lam = rng.gamma(TRUE_BG["r"], 1 / TRUE_BG["alpha"], n)  # per week
    drop = rng.beta(TRUE_BG["a"], TRUE_BG["b"], n)
    nu = rng.gamma(TRUE_GG["q"], 1 / TRUE_GG["v"], n)
    age_days = rng.integers(0, 366, n)  # acquisition day before END
    T = age_days / 7
    cust, when = [np.arange(n)], [np.zeros(n)]
    t = np.zeros(n)
    alive = np.ones(n, bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        t[idx] += rng.exponential(1 / lam[idx])
        buy = t[idx] <= T[idx]
        b_idx = idx[buy]
        cust.append(b_idx)
        when.append(t[b_idx])
        alive[idx[~buy]] = False
        alive[b_idx[rng.random(b_idx.size) < drop[b_idx]]] = False
    c = np.concatenate(cust)
    w = np.concatenate(when)
    start = END - pd.to_timedelta(age_days[c], unit="D")
    dates = start + pd.to_timedelta(np.floor(w * 7), unit="D")
    amount = rng.gamma(TRUE_GG["p"], 1 / nu[c])
    return pd.DataFrame({"customer_id": c, "date": dates, "amount": amount})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    args = ap.parse_args()

    from onetoone.differentiate.clv import BGNBD, GammaGamma, predict_clv, rfm_summary
    from onetoone.workspace import Workspace

    rng = np.random.default_rng(2024)
    t0 = time.perf_counter()
    tx = simulate(args.customers, rng)
    n_rows = len(tx)
    print(
        f"simulated {args.customers:,} customers, {len(tx):,} purchases in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "bench.duckdb")
        ws.write("transactions", tx)
        del tx
        t0 = time.perf_counter()
        summary = rfm_summary(ws.table("transactions"), observation_end=END)
        t_rfm = time.perf_counter() - t0
        ws.close()
    print(f"rfm_summary in DuckDB (Ibis):  {t_rfm:6.2f} s  ({len(summary):,} customers)")
    merged = n_rows - int(summary["frequency"].sum()) - len(summary)
    print(
        f"  {merged:,} purchases fell on a day the customer already bought (one purchase per "
        f"day): heavy buyers look lighter, so alpha comes out a little high"
    )

    t0 = time.perf_counter()
    bg = BGNBD().fit(summary["frequency"], summary["recency"], summary["T"])
    t_bg = time.perf_counter() - t0
    print(f"BGNBD.fit:                    {t_bg:6.2f} s  ({bg.n_patterns_:,} unique patterns)")
    t0 = time.perf_counter()
    gg = GammaGamma().fit(summary["frequency"], summary["monetary_value"])
    t_gg = time.perf_counter() - t0
    print(f"GammaGamma.fit:               {t_gg:6.2f} s  ({gg.n_customers_:,.0f} repeat buyers)")
    print(f"fit total (BG/NBD + Gamma-Gamma): {t_bg + t_gg:.2f} s")
    t0 = time.perf_counter()
    clv = predict_clv(summary, bg, gg, horizon_months=36, annual_discount_rate=0.1)
    print(
        f"predict_clv (36 months):      {time.perf_counter() - t0:6.2f} s  "
        f"(mean CLV {clv['clv'].mean():,.2f})"
    )
    print("parameter  true      recovered  error")
    for true, fitted in ((TRUE_BG, bg.params_), (TRUE_GG, gg.params_)):
        for k, v in true.items():
            print(f"{k:<9}  {v:<8.3f}  {fitted[k]:<9.3f}  {fitted[k] / v - 1:+.1%}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
