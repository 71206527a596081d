"""Time and peak memory to build the contact plan for 1,000,000 customers.

Writes a synthetic client into a DuckDB workspace with SQL (one record per customer with
consents and a partly filled profile; about 5 order lines and 5 contacts per customer over three
years: outbound campaigns on email, sms, post and phone, inbound calls, complaints and profile
questions), then, in a fresh child process per repeat, times:

1. ``plan_inputs``: purchase summary, contact facts, response rates, lost list, questions (the
   transaction-scale work runs in DuckDB; only per-customer rows come to pandas);
2. ``build_contact_plan``: next best action, channel, schedule, reasons, priority;
3. ``check``: the independent policy checker over the whole plan;

and prints the medians over repeats and the child's peak resident memory (ru_maxrss).

    .venv/bin/python benchmarks/bench_interact.py [--customers 1000000] [--repeats 1]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import tempfile
import time
from pathlib import Path

AS_OF = "2026-09-30"


def build_workspace(path: Path, n: int, seed: float = 0.42) -> dict:
    """Synthetic customer_records, transactions and interactions (no record_map: each record
    is a customer; no customer_value: the fallback tiers are computed)."""
    from onetoone.workspace import Workspace

    with Workspace(path) as ws:
        con = ws.duckdb
        con.execute(f"SELECT setseed({seed})")
        con.execute(f"""
            CREATE OR REPLACE TABLE customer_records AS
            SELECT 'crm' AS source_system, 'r' || i AS record_id, 'crm:r' || i AS record_key,
                   CASE WHEN random() < 0.6 THEN 'p' || i || '@example.com' END AS email,
                   CASE WHEN random() < 0.5 THEN '0700' || i END AS phone,
                   CASE WHEN random() < 0.7 THEN i || ' High St' END AS street,
                   CASE WHEN random() < 0.8 THEN 'AB' || (i % 97) END AS postcode,
                   CASE WHEN random() < 0.4 THEN DATE '1960-01-01' + CAST(i % 15000 AS INT) END
                       AS birth_date,
                   CASE WHEN random() < 0.3 THEN CAST(1 + i % 5 AS BIGINT) END AS household_size,
                   CASE WHEN random() < 0.25 THEN 'email' END AS preferred_channel,
                   CASE WHEN random() < 0.2 THEN 'garden;books' END AS interests,
                   NULL::VARCHAR AS gender,
                   random() < 0.55 AS consent_email, random() < 0.2 AS consent_sms,
                   random() < 0.15 AS consent_phone, random() < 0.4 AS consent_mail
            FROM range({n}) t(i)""")
        con.execute(f"""
            CREATE OR REPLACE TABLE transactions AS
            WITH base AS (
                SELECT i, CAST(floor(pow(random(), 1.6) * {n}) AS BIGINT) AS c, random() AS u,
                       random() AS v FROM range({5 * n}) t(i))
            SELECT 't' || i AS transaction_id, 'o' || (i // 2) AS order_id, 'crm' AS source_system,
                   'crm:r' || c AS record_key,
                   TIMESTAMP '{AS_OF} 12:00:00' - INTERVAL (CAST(u * 1095 AS INT)) DAY AS date,
                   'p' || (i % 1500) AS product_id, round(5 + v * 120, 2) AS amount,
                   round((5 + v * 120) * 0.6, 2) AS cost, v < 0.03 AS is_return,
                   CASE WHEN v < 0.5 THEN 'web' WHEN v < 0.9 THEN 'store' ELSE 'mail' END AS channel
            FROM base""")
        con.execute(f"""
            CREATE OR REPLACE TABLE interactions AS
            WITH base AS (
                SELECT i, CAST(floor(random() * {n}) AS BIGINT) AS c, random() AS u, random() AS v,
                       random() AS w FROM range({5 * n}) t(i))
            SELECT 'k' || i AS interaction_id, 'crm' AS source_system, 'crm:r' || c AS record_key,
                   TIMESTAMP '{AS_OF} 12:00:00' - INTERVAL (CAST(u * 1095 AS INT)) DAY AS date,
                   CASE WHEN v < 0.45 THEN 'email' WHEN v < 0.55 THEN 'sms' WHEN v < 0.70 THEN 'mail'
                        ELSE 'call_centre' END AS channel,
                   CASE WHEN v < 0.80 THEN 'outbound' ELSE 'inbound' END AS direction,
                   CASE WHEN v >= 0.80 AND w < 0.1 THEN 'complaint'
                        WHEN v >= 0.80 THEN 'service'
                        WHEN w < 0.05 THEN 'question' ELSE 'offer' END AS type,
                   CASE WHEN w < 0.05 THEN 'responded' WHEN v >= 0.8 AND w < 0.02 THEN 'open'
                        ELSE 'no_response' END AS outcome,
                   CASE WHEN v < 0.80 AND w < 0.05 THEN 'interests' END AS topic,
                   NULL::DOUBLE AS cost, 'CMP' || (i % 300) AS campaign_id,
                   NULL::DOUBLE AS satisfaction
            FROM base""")
        return {t: ws.count(t) for t in ("customer_records", "transactions", "interactions")}


def _child(path: str, q) -> None:
    from onetoone.config import ClientConfig
    from onetoone.interact import pipeline
    from onetoone.workspace import Workspace

    cfg = ClientConfig(client="bench", as_of=AS_OF, sources=[], workspace=path)
    with Workspace(path, read_only=True) as ws:
        t0 = time.perf_counter()
        inputs = pipeline.plan_inputs(cfg, ws)
        t1 = time.perf_counter()
        plan = pipeline.build_contact_plan(cfg, ws, inputs)
        t2 = time.perf_counter()
        bad = pipeline.check(cfg, plan, inputs)
        t3 = time.perf_counter()
    q.put({"inputs_s": t1 - t0, "plan_s": t2 - t1, "total_s": t2 - t0, "check_s": t3 - t2,
           "customers": len(plan), "contacts": int((plan["action"] != "leave_alone").sum()),
           "violations": len(bad), "actions": plan["action"].value_counts().to_dict(),
           "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--dir", default=None, help="folder for the workspace (default: a temp dir)")
    args = ap.parse_args()
    folder = Path(args.dir or tempfile.mkdtemp(prefix="bench-interact-"))
    path = folder / f"interact_{args.customers}.duckdb"
    t0 = time.perf_counter()
    counts = build_workspace(path, args.customers)
    print(f"synthetic client: {counts} written in {time.perf_counter() - t0:.1f} s")
    ctx = mp.get_context("spawn")
    runs = []
    for _ in range(args.repeats):
        q = ctx.Queue()
        p = ctx.Process(target=_child, args=(str(path), q))
        p.start()
        runs.append(q.get())
        p.join()
    med = {k: statistics.median(r[k] for r in runs) for k in
           ("inputs_s", "plan_s", "total_s", "check_s", "peak_mb")}
    r = runs[-1]
    print(f"customers {r['customers']:,}; planned contacts {r['contacts']:,}; "
          f"policy violations {r['violations']}; actions {r['actions']}")
    print(f"median of {len(runs)} run(s): plan inputs {med['inputs_s']:.1f} s + next best action "
          f"{med['plan_s']:.1f} s = contact plan {med['total_s']:.1f} s (aim < 60 s); "
          f"policy check {med['check_s']:.1f} s; peak memory {med['peak_mb']:,.0f} MB")


if __name__ == "__main__":
    main()
