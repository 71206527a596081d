"""Ingest throughput and peak memory for a 1,000,000-line transactions CSV.

Writes a synthetic export (client-style column names, 2% bad rows of several kinds) to a temp
folder, then ingests it REPEATS times in fresh subprocesses and prints the median wall time,
rows per second and peak resident memory (ru_maxrss of the child).

    .venv/bin/python benchmarks/bench_ingest.py [--rows 1000000] [--repeats 3]
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
    from onetoone.config import load_config
    from onetoone.ingest import ingest
    from onetoone.workspace import Workspace
    cfg = load_config(sys.argv[1])
    t0 = time.perf_counter()
    with Workspace.open(cfg) as ws:
        (res,) = ingest(cfg, ws, echo=False)
    secs = time.perf_counter() - t0
    print(json.dumps({"seconds": secs, "read": res.read, "loaded": res.loaded,
                      "quarantined": res.quarantined,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")


def make_csv(path: Path, rows: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    dates = pd.Timestamp("2023-07-01") + pd.to_timedelta(rng.integers(0, 3 * 365 * 86400, rows), "s")
    amount = np.round(rng.lognormal(3, 1, rows), 2).astype(str)
    channel = rng.choice(["POS", "WEB", "CC", "REP"], rows, p=[0.6, 0.3, 0.08, 0.02])
    df = pd.DataFrame({
        "LineNo": [f"L{i:08d}" for i in range(rows)],
        "Basket": [f"B{i // 3:08d}" for i in range(rows)],
        "Card": np.where(rng.random(rows) < 0.15, "", "C" + pd.Series(rng.integers(0, 200_000, rows)).astype(str)),
        "SaleDate": dates.strftime("%d/%m/%Y %H:%M"),
        "SKU": "P" + pd.Series(rng.integers(0, 5000, rows)).astype(str),
        "Qty": rng.integers(1, 4, rows),
        "Net": amount,
        "Till": channel,
        "Store": rng.choice(["Leeds", "York", "Bath", "web"], rows),
    })
    bad = rng.random(rows) < 0.02
    kinds = rng.integers(0, 4, rows)
    df.loc[bad & (kinds == 0), "Net"] = "n/a"
    df.loc[bad & (kinds == 1), "SaleDate"] = "31/02/2025 10:00"
    df.loc[bad & (kinds == 2), "Till"] = "KIOSK"
    df.loc[bad & (kinds == 3), "LineNo"] = ""
    df.to_csv(path, index=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        csv = d / "pos_lines.csv"
        make_csv(csv, args.rows)
        (d / "client.yaml").write_text(textwrap.dedent(f"""
            client: Bench
            as_of: 2026-06-30
            sources:
              - name: pos
                path: pos_lines.csv
                table: transactions
                system: pos
                date_format: "%d/%m/%Y %H:%M"
                columns: {{LineNo: transaction_id, Basket: order_id, Card: record_id, SaleDate: date,
                           SKU: product_id, Qty: quantity, Net: amount, Till: channel, Store: location}}
                values: {{channel: {{POS: store, WEB: web, CC: call_centre, REP: sales_rep}}}}
        """))
        size_mb = csv.stat().st_size / 1e6
        runs = []
        for _ in range(args.repeats):
            (d / "client.duckdb").unlink(missing_ok=True)
            out = subprocess.run([sys.executable, "-c", CHILD, str(d / "client.yaml")],
                                 capture_output=True, text=True, check=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
    secs = statistics.median(r["seconds"] for r in runs)
    peak = statistics.median(r["peak_mb"] for r in runs)
    r0 = runs[0]
    print(f"ingest of a {args.rows:,}-line transactions CSV ({size_mb:.0f} MB), {args.repeats} runs")
    print(f"  median wall time      {secs:8.2f} s   ({args.rows / secs:,.0f} rows/s, "
          f"{size_mb / secs:.1f} MB/s)")
    print(f"  median peak memory    {peak:8.0f} MB  (whole process, ru_maxrss)")
    print(f"  loaded / quarantined  {r0['loaded']:,} / {r0['quarantined']:,} of {r0['read']:,}")


if __name__ == "__main__":
    main()
