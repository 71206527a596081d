"""Recommender fit and scoring time at scale: 100,000 customers x 10,000 products, 2M purchases.

Simulates purchases with planted taste structure (200 subjects of 50 products, Zipf popularity
inside a subject; each customer favours 3 subjects for 80 % of purchases, the rest follows
overall popularity; purchase dates uniform over three years), stores them in DuckDB, then
times each step of the Customize recommender as the pipeline runs it:

- aggregate: ``purchase_pairs`` in DuckDB (Ibis) into customer x product counts, fetched;
- matrix: the sparse customer x product matrix;
- fit: item-item similarity (BM25 cosine, 200 neighbours);
- score: top-10 for every customer, with the reason per suggestion;
- evaluate: time-based holdout (last 6 months): precision@10, recall@10, coverage of item-item
  and of the popularity baseline.

Each repeat runs in a fresh subprocess; medians and the peak resident memory are printed.

    .venv/bin/python benchmarks/bench_customize.py [--customers 100000] [--products 10000]
        [--purchases 2000000] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

CHILD = textwrap.dedent("""
    import json, resource, sys, time
    import pandas as pd
    from onetoone.workspace import Workspace
    from onetoone.customize.recommend import ItemKNN, build_matrix, purchase_pairs
    from onetoone.customize.evaluate import time_split, evaluate_holdout
    path, as_of, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    out = {}
    with Workspace(path, read_only=True, threads=threads) as ws:
        t = ws.table("transactions")
        products = ws.read("products")
        t0 = time.perf_counter()
        pairs = purchase_pairs(t).to_pandas()
        out["aggregate_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        m = build_matrix(pairs, products=products["product_id"])
        out["matrix_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        model = ItemKNN().fit(m)
        out["fit_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        recs = model.recommend(k=10)
        out["score_s"] = time.perf_counter() - t0
        out["recommendations"] = len(recs)
        out["customers"] = int(m.shape[0])
        out["similarity_nnz"] = int(model.similarity_.nnz)
        t0 = time.perf_counter()
        split = time_split(t, as_of, 6)
        ev = evaluate_holdout(split, products, k=10)
        out["evaluate_s"] = time.perf_counter() - t0
        metrics = ev["metrics"].set_index("model")
        out["holdout_customers"] = ev["customers"]
        for name in metrics.index:
            for col in ("precision_at_10", "recall_at_10", "coverage"):
                out[f"{name}:{col}"] = float(metrics.at[name, col])
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))
""")


def simulate(customers: int, products: int, purchases: int, seed: int = 11,
             subjects: int = 200, days: int = 3 * 365) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Purchases with planted tastes; returns (transactions, products)."""
    rng = np.random.default_rng(seed)
    per = products // subjects
    subj_of = np.repeat(np.arange(subjects), per)
    products = len(subj_of)
    # Zipf popularity inside each subject
    w = 1.0 / (rng.permuted(np.tile(np.arange(1, per + 1), (subjects, 1)), axis=1) ** 1.1)
    cum = np.cumsum(w, axis=1) / w.sum(axis=1, keepdims=True)
    global_w = w.ravel() * rng.lognormal(0, 0.5, subjects).repeat(per)
    global_cum = np.cumsum(global_w) / global_w.sum()
    # purchases per customer: negative binomial with the requested mean
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
    tx = pd.DataFrame({
        "transaction_id": np.arange(m).astype(str), "order_id": np.arange(m).astype(str),
        "customer_id": np.char.add("C", np.char.zfill(cust.astype(str), 7)),
        "product_id": np.char.add("P", np.char.zfill(prod.astype(str), 6)),
        "date": start + pd.to_timedelta(day, unit="D"), "quantity": 1.0,
        "amount": 20.0, "is_return": False})
    prods = pd.DataFrame({"product_id": np.char.add("P", np.char.zfill(
        np.arange(products).astype(str), 6)), "category": np.char.add("s", subj_of.astype(str))})
    return tx, prods


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--products", type=int, default=10_000)
    ap.add_argument("--purchases", type=int, default=2_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from onetoone.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        tx, prods = simulate(args.customers, args.products, args.purchases)
        as_of = str((tx["date"].max()).date())
        with Workspace(path) as ws:
            ws.write("transactions", tx)
            ws.write("products", prods)
        print(f"{args.customers:,} customers x {len(prods):,} products, {len(tx):,} purchases "
              f"(as of {as_of}); {args.repeats} runs, {args.threads} threads", flush=True)
        runs = []
        for i in range(args.repeats):
            r = subprocess.run([sys.executable, "-c", CHILD, str(path), as_of, str(args.threads)],
                               capture_output=True, text=True, check=True)
            runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
            print(f"  run {i + 1}: fit+score {runs[-1]['fit_s'] + runs[-1]['score_s']:.1f} s",
                  flush=True)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print("\nmedian over runs")
    for k in ("aggregate_s", "matrix_s", "fit_s", "score_s", "evaluate_s"):
        print(f"  {k:<14} {med[k]:8.2f} s")
    print(f"  fit + score    {med['fit_s'] + med['score_s']:8.2f} s  (aim: under 30 s on 2 cores)")
    print(f"  peak memory    {max(r['peak_mb'] for r in runs):8.0f} MB")
    print(f"  customers scored {int(med['customers']):,}, suggestions {int(med['recommendations']):,}, "
          f"similarity entries {int(med['similarity_nnz']):,}")
    print(f"\nholdout (last 6 months, {int(med['holdout_customers']):,} customers in both windows)")
    for name in ("item-item", "popularity"):
        print(f"  {name:<11} precision@10 {med[f'{name}:precision_at_10']:.4f}  "
              f"recall@10 {med[f'{name}:recall_at_10']:.4f}  "
              f"coverage {med[f'{name}:coverage']:.3f}")
    lift = med["item-item:precision_at_10"] / max(med["popularity:precision_at_10"], 1e-12)
    print(f"  lift over popularity: {lift:.1f}x")


if __name__ == "__main__":
    main()
