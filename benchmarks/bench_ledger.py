"""What a ledgered stage run costs: three 1M-row tables written in one stage run (one
transaction, fingerprints of inputs and outputs, the ledger row) beside the same writes
committed one by one (the anchor, measured in the same run). Medians of 3.

    .venv/bin/python benchmarks/bench_ledger.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from onetoone.workspace import Workspace


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "revenue": rng.gamma(2.0, 300.0, n), "contribution": rng.normal(50, 200, n),
        "clv": rng.gamma(1.5, 400.0, n), "p_alive": rng.uniform(0, 1, n),
        "tier": rng.choice(["MVC", "MGC", "maintain", "BZ"], n),
        "segment": rng.integers(0, 6, n), "migrator": rng.uniform(0, 1, n) < 0.1,
    })


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    tables = {name: frame(args.rows, i) for i, name in
              enumerate(("customer_value", "contact_plan", "recommendations"))}
    with tempfile.TemporaryDirectory() as d:
        ws = Workspace(Path(d) / "bench.duckdb")
        ws.write("record_map", tables["customer_value"][["customer_id"]])
        ws.write("customers", tables["customer_value"][["customer_id"]])
        ws.write("transactions", pd.concat([tables["customer_value"]] * 2, ignore_index=True))
        plain, staged, fp = [], [], []
        for _ in range(3):
            t0 = time.perf_counter()
            for name, df in tables.items():
                ws.write(name, df)
            plain.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            with ws.stage_run("differentiate", check=False):
                for name, df in tables.items():
                    ws.write(name, df)
            staged.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            ws.fingerprint(["transactions"])
            fp.append(time.perf_counter() - t0)
        ws.close()
    print(f"rows per table: {args.rows:,}; 3 tables per run; transactions {2 * args.rows:,} rows")
    print(f"  anchor: 3 writes committed one by one   {statistics.median(plain):7.2f} s")
    print(f"  one ledgered stage run (same writes)    {statistics.median(staged):7.2f} s")
    print(f"  fingerprint of transactions             {statistics.median(fp) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
