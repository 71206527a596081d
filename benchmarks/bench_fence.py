"""Picket fence: queries and widget handlers in Python, then the widget in a real browser.

Part 1 (Python): builds a PicketFence from 1M lognormal customer values (plus 3 %
money-losers), then prints the median time of many fence queries at random positions (by rank, by share, by value
threshold), of a full slider-move handler of the FenceWidget (fence query, readout HTML and
the in-place FigureWidget update), and the time of the one-off steps (build, break-even,
projection, manager assignment for the top 5 %). Peak resident memory at the end.

Part 2 (browser): JupyterLab (the `onetoone lab` command, per-client working copy) on
loopback, Playwright on Debian chromium. A notebook shows a FenceWidget over N customers (default 1,000,000 synthetic
lognormal values with the sample's economics); the slider handle gets 20 key presses
(ArrowRight, one slider step each). In the page, a keydown listener and MutationObservers on
the readout and on the chart's fence line record performance.now(); per move the delay to the
first readout change and to the first chart change are taken; the medians are printed, beside
the Python-side update time (FenceWidget.last_update_seconds, the anchor: what the kernel
spends) and the aims (readout < 50 ms, chart < 150 ms).

    .venv/bin/python benchmarks/bench_fence.py [--customers 1000000] [--moves 20] [--no-browser]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-default-apps"]
CLIENT_YAML = "client: Bench Retail\nas_of: 2026-06-30\ncurrency: GBP\nsources: []\n"

WATCH = """() => {
  const root = document.querySelector('.onetoone-fence');
  const readout = root.querySelector('.fence-readout');
  const chart = root.querySelector('.js-plotly-plot');
  window.__fence = {keys: [], readout: [], chart: []};
  document.addEventListener('keydown', () => window.__fence.keys.push(performance.now()), true);
  new MutationObserver(() => window.__fence.readout.push(performance.now()))
    .observe(readout, {subtree: true, childList: true, characterData: true});
  new MutationObserver(() => window.__fence.chart.push(performance.now()))
    .observe(chart.querySelector('.layer-above') || chart,
             {subtree: true, childList: true, attributes: true});
  return true;
}"""


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def python_side(args) -> None:
    """Fence queries and the widget handlers in the kernel process (no browser)."""

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

    widget, wbuild = timed(FenceWidget, fence, currency="EUR")
    _, again = timed(FenceWidget, fence, currency="EUR")
    print(
        f"widget construction: first in the process {wbuild:.2f} s (plotly/anywidget "
        f"FigureWidget set-up), again {again:.2f} s"
    )
    times = []
    for i in rng.integers(0, len(widget.scale), args.slider_moves):
        t0 = time.perf_counter()
        widget.slider.value = int(widget.scale[i])  # runs the observer synchronously
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
    print(f"portfolio-size change (new break-even, slider scale and curves): median "
          f"{statistics.median(times) * 1e3:.2f} ms")

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


def _first_after(times: list[float], t0: float, t1: float) -> float | None:
    later = [t for t in times if t0 <= t < t1]
    return later[0] - t0 if later else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--slider-moves", type=int, default=200)
    ap.add_argument("--moves", type=int, default=20, help="slider moves in the browser")
    ap.add_argument("--screenshot", default="", help="save a PNG of the widget here")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    python_side(args)
    if not args.no_browser:
        browser_side(args)


def browser_side(args) -> None:
    """The widget in JupyterLab and chromium: input -> readout, input -> chart."""

    from playwright.sync_api import expect, sync_playwright

    from onetoone.labserver import lab_server, write_notebook

    folder = Path(tempfile.mkdtemp(prefix="bench_fence_"))
    config = folder / "client.yaml"
    config.write_text(CLIENT_YAML, encoding="utf-8")
    load = os.getloadavg()[0]
    with lab_server(config) as lab:
        write_notebook(lab.folder / "bench_fence.ipynb", [
            ("import numpy as np\n"
            "from onetoone.differentiate.fence import PicketFence\n"
            "from onetoone.ui.fence import FenceWidget\n"
            f"values = np.random.default_rng(0).lognormal(5, 1.6, {args.customers})\n"
            "fence = PicketFence(values, portfolio_size=100, manager_cost=60000.0,\n"
            "                    it_cost_per_customer=50.0, retention_uplift=0.10,\n"
            "                    growth_uplift=0.05)\n"
            "w = FenceWidget(fence, currency='GBP')\n"
            "w"),
            ("print('python update ms', round(1000 * w.last_update_seconds, 2), "
            "w.current.customers)"),
        ])
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.set_default_timeout(120_000)
            page.goto(lab.url("bench_fence.ipynb"), wait_until="domcontentloaded")
            run_all(page)
            readout = page.locator(".onetoone-fence .fence-readout")
            expect(readout).to_contain_text("Customers inside", timeout=180_000)
            expect(page.locator(".onetoone-fence .js-plotly-plot")).to_be_visible()
            time.sleep(2)
            page.evaluate(WATCH)
            handle = page.locator(".onetoone-fence .fence-position .noUi-handle")
            handle.focus()
            for _ in range(args.moves):
                page.keyboard.press("ArrowRight")
                time.sleep(0.6)
            t = page.evaluate("window.__fence")
            if args.screenshot:
                page.locator(".onetoone-fence").screenshot(path=args.screenshot)
            shown = page.locator(".onetoone-fence .fence-k").inner_text()
            browser.close()
    keys = t["keys"]
    ends = keys[1:] + [float("inf")]
    readout_ms = [d for k, e in zip(keys, ends, strict=True)
                  if (d := _first_after(t["readout"], k, e)) is not None]
    chart_ms = [d for k, e in zip(keys, ends, strict=True)
                if (d := _first_after(t["chart"], k, e)) is not None]
    print(f"fence widget in JupyterLab + chromium, {args.customers:,} customers, "
          f"{len(keys)} slider moves (load average {load:.1f} on {os.cpu_count()} cores)")
    print(f"  readout changed on {len(readout_ms)} of {len(keys)} moves; chart on "
          f"{len(chart_ms)}; last shown: {shown} customers")
    if readout_ms:
        print(f"  input -> readout: median {statistics.median(readout_ms):.0f} ms "
              f"(min {min(readout_ms):.0f}, max {max(readout_ms):.0f}); aim < 50 ms")
    if chart_ms:
        print(f"  input -> chart:   median {statistics.median(chart_ms):.0f} ms "
              f"(min {min(chart_ms):.0f}, max {max(chart_ms):.0f}); aim < 150 ms")


def run_all(page) -> None:
    """Run every cell of the open notebook once the kernel is ready (JupyterLab's Run menu)."""
    from playwright.sync_api import expect

    expect(page.locator(".jp-Notebook")).to_be_visible(timeout=120_000)
    # the status bar names the kernel once it is connected and idle
    expect(page.get_by_text("(Python 3.11) | Idle")).to_be_visible(timeout=120_000)
    time.sleep(1)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


if __name__ == "__main__":
    main()
