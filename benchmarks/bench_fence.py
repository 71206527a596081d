"""Picket fence: query time, widget update time and the one-off work, for 1,000,000 customers.

Builds a PicketFence from 1M lognormal customer values (plus 3 % money-losers), then prints
the median time of many fence queries at random positions (by rank, by share, by value
threshold), of a full slider-move handler of the FenceWidget (fence query, readout HTML and
the in-place FigureWidget update), and the time of the one-off steps (build, break-even,
projection, manager assignment for the top 5 %). Peak resident memory at the end.

    .venv/bin/python benchmarks/bench_fence.py [--customers 1000000] [--queries 2000]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--slider-moves", type=int, default=200)
    args = ap.parse_args()

    from onetoone.differentiate.fence import PicketFence
    from onetoone.ui.fence import FenceWidget

    rng = np.random.default_rng(42)
    n = args.customers
    n_neg = n * 3 // 100
    values = np.concatenate([rng.lognormal(6.0, 1.5, n - n_neg), -rng.exponential(80, n_neg)])
    ids = np.array([f"C{i:07d}" for i in range(n)], dtype=object)

    fence, build = timed(PicketFence, values, ids=ids)
    print(f"customers: {n:,}   build (sort + cumulative sums): {build * 1e3:,.0f} ms")

    ranks = rng.integers(0, n + 1, args.queries)
    shares = rng.random(args.queries)
    thresholds = rng.choice(values, args.queries)
    for label, fn, xs in (
        ("at_rank", fence.at_rank, ranks),
        ("at_share", fence.at_share, shares),
        ("at_value", fence.at_value, thresholds),
    ):
        times = []
        for x in xs:
            t0 = time.perf_counter()
            fn(x)
            times.append(time.perf_counter() - t0)
        print(
            f"query {label:<9} median {statistics.median(times) * 1e6:8.1f} us   "
            f"p99 {np.percentile(times, 99) * 1e6:8.1f} us   ({len(xs):,} queries)"
        )

    widget, wbuild = timed(FenceWidget, fence, currency="EUR", share=0.05)
    _, again = timed(FenceWidget, fence, currency="EUR", share=0.05)
    print(
        f"widget construction: first in the process {wbuild:.2f} s (plotly/anywidget "
        f"FigureWidget set-up), again {again:.2f} s"
    )
    times = []
    for s in rng.uniform(0.1, 30.0, args.slider_moves):
        t0 = time.perf_counter()
        widget.position.value = float(round(s, 2))  # runs the observer synchronously
        times.append(time.perf_counter() - t0)
    print(
        f"slider move (fence query + readout + FigureWidget batch update): median "
        f"{statistics.median(times) * 1e3:.2f} ms   p99 {np.percentile(times, 99) * 1e3:.2f} ms "
        f"({len(times)} moves)"
    )
    times = []
    for p in rng.integers(50, 1000, 50):
        t0 = time.perf_counter()
        widget.portfolio.value = int(p)
        times.append(time.perf_counter() - t0)
    print(f"portfolio-size change: median {statistics.median(times) * 1e3:.2f} ms")

    be, t = timed(fence.break_even)
    print(
        f"break_even (all {n:,} positions): {t * 1e3:,.0f} ms   best fence "
        f"{be.best.customers:,} customers, net {be.best.net_benefit:,.0f}"
    )
    proj, t = timed(fence.projection)
    print(
        f"projection ({len(proj)} half-years): {t * 1e3:,.1f} ms   customers inside "
        f"{proj['customers'].iloc[0]:,} -> {proj['customers'].iloc[-1]:,}"
    )
    k = n // 20
    for method in ("lpt", "snake"):
        a, t = timed(fence.assign_managers, k, method=method)
        print(
            f"assign_managers top 5 % ({k:,} customers, {len(a.portfolios)} managers, "
            f"{method}): {t * 1e3:,.0f} ms   spread max/min {a.spread:.4f}"
        )
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
