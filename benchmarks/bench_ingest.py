"""Ingest time and peak memory for generated order-line CSVs, beside DuckDB's bare read_csv.

For each size (default 1,000,000 and 10,000,000 lines) this writes a transactions export with
client-style column names and 2 % bad rows (unparseable or impossible dates, amounts in the
wrong number format, unknown channels, empty ids, duplicate ids) to a temp folder, then in
fresh subprocesses measures, REPEATS times each:

- ``onetoone`` ingest of the file into a new workspace (read, cast, validate, quarantine, load);
- the floor: DuckDB's bare ``read_csv`` of the same file into a table of an in-memory database.

It prints medians of wall time and peak RSS (ru_maxrss of the child) and the ratio to the
floor. The files are deleted afterwards.

    .venv/bin/python benchmarks/bench_ingest.py [--rows 1000000 10000000] [--repeats 3]
        [--repeats-large 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import duckdb

INGEST = textwrap.dedent("""
    import json, resource, sys, time
    t0 = time.perf_counter()
    from onetoone.config import load_config
    from onetoone.ingest import ingest
    from onetoone.workspace import Workspace
    cfg = load_config(sys.argv[1])
    t1 = time.perf_counter()
    with Workspace.open(cfg) as ws:
        (res,) = ingest(cfg, ws, echo=False)
    secs = time.perf_counter() - t1
    print(json.dumps({"seconds": secs, "read": res.read, "loaded": res.loaded,
                      "quarantined": res.quarantined, "reasons": res.reasons,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")

FLOOR = textwrap.dedent("""
    import json, resource, sys, time
    import duckdb
    t0 = time.perf_counter()
    con = duckdb.connect()
    n = con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [sys.argv[1]]).fetchone()[0]
    secs = time.perf_counter() - t0
    print(json.dumps({"seconds": secs, "rows": n,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")

CONFIG = """\
client: Bench
as_of: 2026-06-30
currency: GBP
sources:
  - name: pos
    path: pos_lines.csv
    table: transactions
    system: pos
    date_format: "%d/%m/%Y %H:%M"
    columns: {LineNo: transaction_id, Basket: order_id, Card: record_id, SaleDate: date,
              SKU: product_id, Qty: quantity, Net: amount, Till: channel, Store: location}
    values: {channel: {POS: store, WEB: web, CC: call_centre, REP: sales_rep}}
"""


def make_csv(path: Path, rows: int) -> None:
    """The export, written by DuckDB (deterministic: every value is a hash of the line index)."""
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute(f"""
        COPY (
          SELECT
            CASE WHEN bad AND kind = 3 THEN ''
                 WHEN bad AND kind = 5 THEN 'L' || lpad(CAST(i - 1 AS VARCHAR), 9, '0')
                 ELSE 'L' || lpad(CAST(i AS VARCHAR), 9, '0') END AS LineNo,
            'B' || CAST(i // 3 AS VARCHAR) AS Basket,
            CASE WHEN hash(i, 1) % 100 < 15 THEN '' ELSE 'C' || CAST(hash(i, 2) % 200000 AS VARCHAR) END AS Card,
            CASE WHEN bad AND kind = 1 THEN '31/02/2025 10:00'
                 ELSE strftime(TIMESTAMP '2023-07-01' + to_seconds(CAST(hash(i, 3) % 94608000 AS BIGINT)),
                               '%d/%m/%Y %H:%M') END AS SaleDate,
            'P' || CAST(hash(i, 4) % 5000 AS VARCHAR) AS SKU,
            CAST(1 + hash(i, 5) % 3 AS VARCHAR) AS Qty,
            CASE WHEN bad AND kind = 0 THEN 'n/a' WHEN bad AND kind = 4 THEN '12,50'
                 ELSE CAST(round(1 + (hash(i, 6) % 20000) / 100.0, 2) AS VARCHAR) END AS Net,
            CASE WHEN bad AND kind = 2 THEN 'KIOSK'
                 ELSE ['POS', 'POS', 'POS', 'WEB', 'WEB', 'CC', 'REP'][CAST(1 + hash(i, 7) % 7 AS BIGINT)] END AS Till,
            ['Leeds', 'York', 'Bath', 'web'][CAST(1 + hash(i, 8) % 4 AS BIGINT)] AS Store
          FROM (SELECT i, hash(i, 9) % 1000 < 20 AS bad, hash(i, 10) % 6 AS kind
                FROM range({rows}) r(i))
        ) TO '{path}' (HEADER, DELIMITER ',')""")
    con.close()


def child(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--repeats-large", type=int, default=1,
                    help="runs for sizes of 5,000,000 lines and more (default: %(default)s)")
    args = ap.parse_args()
    print(f"ingest vs DuckDB's bare read_csv (the floor); medians of {args.repeats} runs "
          f"({args.repeats_large} from 5M lines), each in a fresh subprocess")
    print(f"{'lines':>11} {'MB':>6} | {'ingest s':>8} {'peak MB':>8} | {'floor s':>7} {'peak MB':>8} |"
          f" {'time x':>6} {'mem x':>6} | loaded / quarantined")
    for rows in args.rows:
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as d:
            d = Path(d)
            csv = d / "pos_lines.csv"
            t0 = time.perf_counter()
            make_csv(csv, rows)
            gen = time.perf_counter() - t0
            (d / "client.yaml").write_text(CONFIG)
            size_mb = csv.stat().st_size / 1e6
            runs, floors = [], []
            for _ in range(args.repeats if rows < 5_000_000 else args.repeats_large):
                (d / "client.duckdb").unlink(missing_ok=True)
                (d / "client.duckdb.wal").unlink(missing_ok=True)
                runs.append(child(INGEST, str(d / "client.yaml")))
                floors.append(child(FLOOR, str(csv)))
        secs = statistics.median(r["seconds"] for r in runs)
        peak = statistics.median(r["peak_mb"] for r in runs)
        fsecs = statistics.median(r["seconds"] for r in floors)
        fpeak = statistics.median(r["peak_mb"] for r in floors)
        r0 = runs[0]
        assert r0["loaded"] + r0["quarantined"] == r0["read"] == rows, r0
        print(f"{rows:>11,} {size_mb:>6.0f} | {secs:>8.2f} {peak:>8.0f} | {fsecs:>7.2f} {fpeak:>8.0f} |"
              f" {secs / fsecs:>6.1f} {peak / fpeak:>6.1f} | {r0['loaded']:,} / {r0['quarantined']:,}"
              f"   (file generated in {gen:.1f} s)")
        for reason, n in sorted(r0["reasons"].items(), key=lambda kv: -kv[1]):
            print(f"{'':>14}{n:>9,}  {reason}")


if __name__ == "__main__":
    main()
