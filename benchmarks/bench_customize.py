"""Customize recommenders, every candidate, on the sample client and at scale, in one run.

Two data sets:

- **sample**: the sample client (ingested, identified and differentiated in a temporary
  workspace, so segments come from Differentiate), its own 6-month holdout;
- **simulated**: 100,000 customers x 10,000 products, 2,000,000 purchases with planted taste
  structure (200 subjects of 50 products, Zipf popularity inside a subject; each customer
  favours 3 subjects for 80 % of purchases, the rest follows overall popularity; dates uniform
  over three years; 8 segments follow the customer's main subject), last 6 months held out.

For each data set the purchase windows are aggregated once (DuckDB via Ibis). Each candidate
then runs in a fresh subprocess, which times and measures, as the pipeline runs them:

- validation: fit on purchases before the validation window, precision@10 on it (the choice);
- holdout: **fit** on everything before the holdout (timed), precision@10 of the holdout
  customers, with the 95 % bootstrap interval of the mean and of the lift over popularity
  (paired over customers, scipy.stats.bootstrap);
- **score**: top-10 with reasons for every customer of the fitted matrix (timed; what
  production writes);
- peak resident memory of the subprocess (``VmHWM``: its own, not the parent's).

``--fit engine`` (the default, as the pipeline does since issue 18) fits every candidate from
the co-occurrence counts of the engine (:class:`onetoone.customize.engine.EnginePairs` on the
data set's DuckDB workspace) and times **score** as production runs it, ranked in the engine
(:func:`onetoone.customize.engine.score_in_engine`); ``--fit numpy`` is the code before it
(matrix fetched, fit and score in numpy). ALS stays numpy either way (matrix factorisation).

**production** (after the candidates): for each engine-scored candidate, two fresh
subprocesses run production's whole recommendation step on every purchase up to ``as_of``:
``numpy`` fetches the customer x product pairs, builds the matrix, fits and scores in numpy
(the code before issue 18); ``engine`` fits from the engine's counts and ranks in the engine,
fetching only the item x item results and the top-10 rows. Time, peak memory and whether the
two give the same suggestions (share of (customer, rank) with the same product; largest
relative score difference) are printed.

The chosen model follows the pipeline's rule (:func:`onetoone.customize.select.decide`) on
the validation figures; the table says whether it matches the best candidate's holdout
precision within its interval, and whether the lift claim is backed by an interval above zero.

    .venv/bin/python benchmarks/bench_customize.py [--customers 100000] [--products 10000]
        [--purchases 2000000] [--candidates ...] [--skip-sample] [--threads 2]
        [--fit engine|numpy] [--no-production]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

CHILD = textwrap.dedent("""
    import json, resource, sys, time
    import numpy as np, pandas as pd
    from onetoone.customize.select import (evaluated_customers, make_candidates,
                                           per_customer_precision, lift_interval)
    from onetoone.customize.recommend import build_matrix
    from onetoone.customize.repeats import repeat_rule
    from onetoone.customize.engine import EnginePairs, score_in_engine
    from onetoone.customize.recommend import purchase_pairs
    folder, name, fit_mode = sys.argv[1], sys.argv[2], sys.argv[3]
    read = lambda n: pd.read_parquet(f"{folder}/{n}.parquet")
    fit_v, val, fit_h, hold = (read(n) for n in ("fit_validation", "validation",
                                                 "fit_holdout", "holdout"))
    products = read("products") if __import__("os").path.exists(f"{folder}/products.parquet") \\
        else None
    seg = read("segments")
    segment_of = dict(zip(seg["customer_id"].astype(str), seg["segment"]))
    universe = products["product_id"].astype(str) if products is not None else None
    rule = repeat_rule(fit_h, products)
    make = make_candidates([name], segment_of=segment_of)
    out = {"model": name}
    in_engine = fit_mode == "engine" and name != "als"
    if in_engine:
        from onetoone.workspace import Workspace
        from onetoone.customers import with_customer_id
        info = json.load(open(f"{folder}/ws.json"))
        ws = Workspace(info["path"], read_only=True, threads=info["threads"])
        t = (with_customer_id(ws, "transactions") if info["identified"]
             else ws.table("transactions"))
        ends = {"validation": pd.Timestamp(info["validation_start"]),
                "holdout": pd.Timestamp(info["cutoff"])}
    for window, train, test in (("validation", fit_v, val), ("holdout", fit_h, hold)):
        who = evaluated_customers(train, test)
        m = build_matrix(train, products=universe)
        t0 = time.perf_counter()
        src = (EnginePairs(purchase_pairs(t, end=ends[window]), m.products) if in_engine
               else None)
        model = make[name]().fit(m, repeat_products=rule.repeat_products, engine=src)
        fit_s = time.perf_counter() - t0
        truth = test[test["customer_id"].astype(str).isin(set(who["evaluated"]))]
        recs = model.recommend(who["evaluated"], k=10)
        prec = per_customer_precision(recs, truth, who["evaluated"], 10)
        pop = make_candidates(["popularity"])["popularity"]().fit(
            m, repeat_products=rule.repeat_products)
        base = per_customer_precision(pop.recommend(who["evaluated"], k=10), truth,
                                      who["evaluated"], 10)
        np.save(f"{folder}/{name}.{window}.npy", prec)
        out[f"{window}_precision"] = float(prec.mean())
        out[f"{window}_customers"] = who["n"]
        if window == "holdout":
            out["fit_s"] = fit_s
            out["ci"] = lift_interval(prec, np.zeros_like(prec))[1:]
            out["lift"] = lift_interval(prec, base)
            t0 = time.perf_counter()
            allrecs = (score_in_engine(model, src, 10) if in_engine else model.recommend(k=10))
            out["score_s"] = time.perf_counter() - t0
            out["scored_customers"] = int(allrecs["customer_id"].nunique())
            out["explained"] = float(allrecs["reason_product_id"].notna().mean())
    # VmHWM: the peak of this program's own memory (ru_maxrss would carry the forking
    # parent's peak across exec)
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")]
    out["peak_mb"] = (int(hwm[0].split()[1]) / 1024 if hwm else
                      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out))
""")

PRODUCTION = textwrap.dedent("""
    import json, sys, time
    import pandas as pd
    from onetoone.customers import with_customer_id
    from onetoone.customize.engine import EnginePairs, score_in_engine
    from onetoone.customize.recommend import build_matrix, purchase_pairs
    from onetoone.customize.repeats import repeat_rule
    from onetoone.customize.select import make_candidates
    from onetoone.workspace import Workspace
    folder, name, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    info = json.load(open(f"{folder}/ws.json"))
    rule = repeat_rule(pd.read_parquet(f"{folder}/fit_holdout.parquet"),
                       pd.read_parquet(f"{folder}/products.parquet"))
    seg = pd.read_parquet(f"{folder}/segments.parquet")
    universe = pd.read_parquet(f"{folder}/products.parquet")["product_id"].astype(str)
    make = make_candidates([name], segment_of=dict(zip(seg["customer_id"].astype(str),
                                                       seg["segment"])))[name]
    ws = Workspace(info["path"], read_only=True, threads=info["threads"])
    t = with_customer_id(ws, "transactions") if info["identified"] else ws.table("transactions")
    pairs = purchase_pairs(t, end=pd.Timestamp(info["end"]))
    t0 = time.perf_counter()
    if mode == "numpy":  # the production step before issue 18: the pairs fetched
        m = build_matrix(pairs.to_pandas(), products=universe)
        recs = make().fit(m, repeat_products=rule.repeat_products).recommend(k=10)
        fetched = m.matrix.nnz
    else:
        src = EnginePairs(pairs, universe)
        model = make().fit(None, repeat_products=rule.repeat_products, engine=src)
        recs = score_in_engine(model, src, 10)
        fetched = 0
    seconds = time.perf_counter() - t0
    recs[["customer_id", "rank", "product_id", "score", "reason_product_id"]].to_parquet(
        f"{folder}/prod.{name}.{mode}.parquet")
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")]
    print(json.dumps({"seconds": seconds, "peak_mb": int(hwm[0].split()[1]) / 1024,
                      "rows": len(recs), "pairs_fetched": fetched}))
""")

DEFAULT_CANDIDATES = ["popularity", "segment popularity", "item-knn", "ease", "als"]


def simulate(customers: int, products: int, purchases: int, seed: int = 11,
             subjects: int = 200, days: int = 3 * 365) -> tuple[pd.DataFrame, pd.DataFrame,
                                                                pd.DataFrame]:
    """Purchases with planted tastes; returns (transactions, products, segments)."""
    rng = np.random.default_rng(seed)
    per = products // subjects
    subj_of = np.repeat(np.arange(subjects), per)
    products = len(subj_of)
    w = 1.0 / (rng.permuted(np.tile(np.arange(1, per + 1), (subjects, 1)), axis=1) ** 1.1)
    cum = np.cumsum(w, axis=1) / w.sum(axis=1, keepdims=True)
    global_w = w.ravel() * rng.lognormal(0, 0.5, subjects).repeat(per)
    global_cum = np.cumsum(global_w) / global_w.sum()
    mean = purchases / customers
    n_per = rng.negative_binomial(1.2, 1.2 / (1.2 + mean), customers) + 1
    n_per = np.round(n_per * purchases / n_per.sum()).astype(int).clip(1)
    cust = np.repeat(np.arange(customers), n_per)
    m = len(cust)
    taste = rng.integers(0, subjects, (customers, 3))
    pick = taste[cust, rng.choice(3, m, p=[0.5, 0.3, 0.2])]
    within = (rng.random(m)[:, None] > cum[pick]).sum(1).clip(max=per - 1)
    prod = pick * per + within
    explore = rng.random(m) >= 0.8
    prod[explore] = np.searchsorted(global_cum, rng.random(explore.sum())).clip(max=products - 1)
    day = rng.uniform(0, days, m)
    start = pd.Timestamp("2023-10-01")
    cid = np.char.add("C", np.char.zfill(np.arange(customers).astype(str), 7))
    tx = pd.DataFrame({
        "transaction_id": np.arange(m).astype(str), "order_id": np.arange(m).astype(str),
        "customer_id": cid[cust],
        "product_id": np.char.add("P", np.char.zfill(prod.astype(str), 6)),
        "date": start + pd.to_timedelta(day, unit="D"), "quantity": 1.0,
        "amount": 20.0, "is_return": False})
    prods = pd.DataFrame({"product_id": np.char.add("P", np.char.zfill(
        np.arange(products).astype(str), 6)), "category": np.char.add("s", subj_of.astype(str))})
    segs = pd.DataFrame({"customer_id": cid, "segment": taste[:, 0] * 8 // subjects})
    return tx, prods, segs


def _windows(ws, t, as_of, folder: Path, products, segments, *, identified: bool,
             threads: int) -> dict:
    from onetoone.customize.select import time_windows

    t0 = time.perf_counter()
    w = time_windows(t, as_of, 6)
    for n in ("fit_validation", "validation", "fit_holdout", "holdout"):
        getattr(w, n).to_parquet(folder / f"{n}.parquet")
    if products is not None:
        products[["product_id", "category"]].to_parquet(folder / "products.parquet")
    segments.to_parquet(folder / "segments.parquet")
    (folder / "ws.json").write_text(json.dumps({
        "path": str(ws.path), "identified": identified, "threads": threads,
        "validation_start": str(w.validation_start), "cutoff": str(w.cutoff),
        "end": str(w.end)}))
    return {"aggregate_s": time.perf_counter() - t0, "pairs": int(w.pairs.count().execute()),
            "customers": len(w.everyone)}


def _sample(folder: Path, threads: int) -> tuple[dict, str]:
    from onetoone import paths
    from onetoone.cli import run_stage
    from onetoone.config import load_config
    from onetoone.customers import with_customer_id
    from onetoone.ingest import ingest
    from onetoone.workspace import Workspace

    cfg = load_config(paths.SAMPLE_CONFIG)
    cfg.workspace = str(folder / "sample.duckdb")
    t0 = time.perf_counter()
    with Workspace.open(cfg) as ws:
        ingest(cfg, ws, echo=False)
        for stage in ("identify", "differentiate"):
            run_stage(stage, cfg, ws, echo=False)
        prep = time.perf_counter() - t0
        segs = ws.read("customer_value", ["customer_id", "segment"])
        info = _windows(ws, with_customer_id(ws, "transactions"), cfg.as_of, folder,
                        ws.read("products"), segs, identified=True, threads=threads)
    info["prepare_s"] = prep
    return info, f"sample client ({info['customers']:,} customers with purchases)"


def _simulated(folder: Path, args) -> tuple[dict, str]:
    from onetoone.workspace import Workspace

    tx, prods, segs = simulate(args.customers, args.products, args.purchases)
    as_of = str(tx["date"].max().date())
    with Workspace(folder / "sim.duckdb", threads=args.threads) as ws:
        ws.write("transactions", tx)
        info = _windows(ws, ws.table("transactions"), as_of, folder, prods, segs,
                        identified=False, threads=args.threads)
    return info, (f"simulated: {args.customers:,} customers x {len(prods):,} products, "
                  f"{len(tx):,} purchases")


def _run_candidates(folder: Path, names: list[str], fit: str) -> list[dict]:
    rows = []
    for name in names:
        r = subprocess.run([sys.executable, "-c", CHILD, str(folder), name, fit],
                           check=False, capture_output=True, text=True)
        if r.returncode:
            print(f"  {name}: failed\n{r.stderr[-2000:]}", flush=True)
            continue
        rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
        x = rows[-1]
        print(f"  {name:<19} fit {x['fit_s']:6.1f} s  score {x['score_s']:6.1f} s  "
              f"peak {x['peak_mb']:6.0f} MB  holdout P@10 {x['holdout_precision']:.4f}",
              flush=True)
    return rows


ENGINE_SCORED = ["popularity", "segment popularity", "item-knn", "ease"]


def _production(folder: Path, names: list[str]) -> list[dict]:
    """Production's recommendation step, before (numpy) and after (engine), per candidate."""
    rows = []
    for name in [n for n in names if n in ENGINE_SCORED]:
        row = {"model": name}
        for mode in ("numpy", "engine"):
            r = subprocess.run([sys.executable, "-c", PRODUCTION, str(folder), name, mode],
                               check=False, capture_output=True, text=True)
            if r.returncode:
                print(f"  production {name} {mode}: failed\n{r.stderr[-2000:]}", flush=True)
                break
            row[mode] = json.loads(r.stdout.strip().splitlines()[-1])
        else:
            a = pd.read_parquet(folder / f"prod.{name}.numpy.parquet")
            b = pd.read_parquet(folder / f"prod.{name}.engine.parquet")
            m = a.merge(b, on=["customer_id", "rank"], how="outer", suffixes=("_n", "_e"))
            same = m["product_id_n"] == m["product_id_e"]
            rel = ((m["score_n"] - m["score_e"]).abs() / m["score_n"].abs())[same]
            row.update(same=float(same.mean()), max_rel=float(rel.max()),
                       same_reason=float(((m["reason_product_id_n"] == m["reason_product_id_e"])
                                          | (m["reason_product_id_n"].isna()
                                             & m["reason_product_id_e"].isna()))[same].mean()))
            n, e = row["numpy"], row["engine"]
            print(f"  production {name:<19} numpy {n['seconds']:6.1f} s {n['peak_mb']:6.0f} MB"
                  f" ({n['pairs_fetched']:,} pairs fetched)   engine {e['seconds']:6.1f} s "
                  f"{e['peak_mb']:6.0f} MB   same product {row['same']:.4%}, same reason "
                  f"{row['same_reason']:.4%}, max rel score diff {row['max_rel']:.1e}",
                  flush=True)
            rows.append(row)
    return rows


def _report(title: str, info: dict, rows: list[dict], folder: Path) -> None:
    from onetoone.customize.select import POPULARITY_MODELS, decide

    val = {r["model"]: np.load(folder / f"{r['model']}.validation.npy") for r in rows}
    chosen, baseline, why = decide(val)
    best = max(rows, key=lambda r: r["holdout_precision"])
    print(f"\n{title}: aggregation {info['aggregate_s']:.1f} s "
          f"({info['pairs']:,} customer-product pairs); holdout customers "
          f"{rows[0]['holdout_customers']:,}, validation customers {rows[0]['validation_customers']:,}")
    print(f"  {'model':<19}{'fit s':>7}{'score s':>9}{'fit+score':>10}{'peak MB':>9}"
          f"{'val P@10':>10}{'hold P@10 [95% CI]':>27}{'lift over popularity [95% CI]':>36}")
    for r in rows:
        lo, hi = r["ci"]
        d, llo, lhi = r["lift"]
        mark = " <- chosen" if r["model"] == chosen else ""
        print(f"  {r['model']:<19}{r['fit_s']:7.1f}{r['score_s']:9.1f}"
              f"{r['fit_s'] + r['score_s']:10.1f}{r['peak_mb']:9.0f}"
              f"{r['validation_precision']:10.4f}   {r['holdout_precision']:.4f} "
              f"[{lo:.4f}, {hi:.4f}]   {d:+.4f} [{llo:+.4f}, {lhi:+.4f}]{mark}")
    c = next(r for r in rows if r["model"] == chosen)
    hold = {r["model"]: np.load(folder / f"{r['model']}.holdout.npy") for r in rows}
    from onetoone.customize.select import lift_interval

    gap = lift_interval(hold[best["model"]], hold[chosen])
    print(f"  chosen: {chosen} ({why})")
    print(f"  best on the holdout: {best['model']}; best minus chosen {gap[0]:+.4f} "
          f"(95 % CI {gap[1]:+.4f} to {gap[2]:+.4f}): "
          f"{'matches within the interval' if gap[1] <= 0 else 'does NOT match'}")
    hl = lift_interval(hold[chosen], hold[baseline])
    claim = chosen not in POPULARITY_MODELS and hl[1] > 0
    print(f"  lift of the chosen model over {baseline} on the holdout {hl[0]:+.4f} "
          f"(95 % CI {hl[1]:+.4f} to {hl[2]:+.4f}): "
          f"{'claim backed (interval above zero)' if claim else 'no lift claim made'}")
    print(f"  chosen fit + score {c['fit_s'] + c['score_s']:.1f} s (aim: under 30 s at "
          f"100k x 10k on 2 cores); suggestions explained by an owned product "
          f"{c['explained']:.0%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--products", type=int, default=10_000)
    ap.add_argument("--purchases", type=int, default=2_000_000)
    ap.add_argument("--candidates", nargs="+", default=DEFAULT_CANDIDATES)
    ap.add_argument("--skip-sample", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fit", choices=["engine", "numpy"], default="engine",
                    help="candidates fitted from the engine's counts (the pipeline) or numpy")
    ap.add_argument("--no-production", action="store_true",
                    help="skip production's numpy-against-engine comparison")
    args = ap.parse_args()
    print(f"candidates: {', '.join(args.candidates)}; each in a fresh subprocess; fitted "
          f"from {args.fit}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        sets = []
        if not args.skip_sample:
            f = Path(tmp) / "sample"
            f.mkdir()
            print("preparing the sample client (ingest, identify, differentiate) ...", flush=True)
            info, title = _sample(f, args.threads)
            print(f"{title}: prepared in {info['prepare_s']:.0f} s", flush=True)
            sets.append((title, info, f))
        f = Path(tmp) / "sim"
        f.mkdir()
        info, title = _simulated(f, args)
        print(title, flush=True)
        sets.append((title, info, f))
        results = []
        for title, info, f in sets:
            print(f"\n{title}", flush=True)
            results.append((title, info, _run_candidates(f, args.candidates, args.fit), f))
            if not args.no_production:
                _production(f, args.candidates)
        for title, info, rows, f in results:
            if rows:
                _report(title, info, rows, f)


if __name__ == "__main__":
    main()
