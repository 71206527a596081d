"""How each stage grows with the client: the sample client generated at 20k, 100k, 300k and 1M
people, ingested and run stage by stage on DuckDB, each stage in a fresh subprocess.

    nice -n 19 .venv/bin/python benchmarks/bench_scale.py [--sizes 20000 100000 300000]
        [--work DIR] [--reuse] [--json out.json]
    .venv/bin/python benchmarks/bench_scale.py --fit a.json b.json   # growth exponents only

To measure a fixed commit while others edit the tree: ``git archive HEAD | tar -x -C SNAP``,
``git rev-parse HEAD > SNAP/COMMIT``, then ``PYTHONPATH=SNAP/lib`` before the command (the
venv's ``onetoone`` then imports the snapshot); the first line printed names the code measured.

For each size: ``onetoone sample --people N`` into ``DIR/s<N>`` (its client.yaml puts the
workspace, ``client.duckdb``, beside it: never data/sample), then ``onetoone ingest`` and
``onetoone run identify | differentiate | interact | customize``, one subprocess each. Per step
it prints the wall time, the peak resident memory (the subprocess tree's summed RSS sampled
every 0.2 s, and the kernel's ru_maxrss of the main process from wait4), the rows of the
tables the stage reads (columns.STAGE_READS) and writes (columns.STAGE_TABLES), and the load
average at its start and end (the machine is shared: 2 cores). The anchor, measured in the
same run per size, is ``onetoone status`` (interpreter start, imports, opening the workspace):
what every stage pays before it does any work.

Identify's blocking figures are the stage's own: the ``linkage_blocking`` table it writes
(exact pairs per rule from one GROUP BY per rule, and splink's
``blocking_analysis.count_comparisons_from_blocking_rules`` marginal and cumulative counts, the
data of splink's cumulative-comparisons chart; splink estimates them from a record sample above
2 million candidate pairs, flagged ``estimated``).

After the last stage every table is written to Parquet (DuckDB's writer, snappy, as Spark's
default) and its bytes are printed beside its uncompressed Arrow size: the bytes a Spark
cluster would read, and the range its shuffles of those rows would move.

``--probe`` measures, on those workspaces, Identify's steps one by one with the stage's own
functions and config: the normalisation and the golden records inside the engine
(normalise_table, golden_table, materialised), and what reaches Python: the pairs splink kept
and the clustering of the records they name (cluster_records), with the deep memory of each
frame.

``--accuracy`` scores Identify's record map against the generator's ground truth after the
stage (pairwise precision, recall, F1, and the blocking recall of the rules the run used), so
the cost of the rules :func:`onetoone.identify.linkage.tighten_rules` tightens at each size is
measured, not assumed.

``--json`` writes every figure; ``--fit`` reads such files (e.g. one for 20k-300k and one for
1M) and fits, per step, the exponent b of time = a * people^b by least squares on the logs.
One run per size (the machine is shared): single measurements, not medians.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow.parquet as pq
import yaml

import onetoone
from onetoone import columns as C
from onetoone.workspace import Workspace

CLI = str(Path(sys.executable).parent / "onetoone")  # the venv's; PYTHONPATH picks the code
STAGES = ("identify", "differentiate", "interact", "customize")
ONLY = [STAGES]  # the stages run after ingest (--stages), in their order
INPUT_TABLES = ("customer_records", "transactions", "interactions")


def code_version() -> str:
    """Which onetoone the subprocesses run: its folder, and the git commit (with a count of
    uncommitted files under lib/) when that folder is in a git work tree."""
    lib = Path(onetoone.__file__).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(lib), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(lib), "status", "--porcelain", "."],
                               capture_output=True, text=True, check=True).stdout.splitlines()
        return f"{lib} at {head}" + (f" + {len(dirty)} uncommitted file(s)" if dirty else "")
    except (subprocess.CalledProcessError, OSError):
        stamp = lib.parent.parent / "COMMIT"
        return f"{lib}" + (f" (snapshot of {stamp.read_text().strip()})" if stamp.is_file()
                           else "")


COUNT_BLOCKING = [False]
ACCURACY_ON = [False]
MAX_COMPARISONS = [0]
MAX_RSS = [float("inf")]
"""Bytes the step's process tree may hold (``--max-rss-gib``); above it the tree is killed and
the step reported as over the limit (the machine is shared: no step may take it over)."""


def _kill_tree(ps: psutil.Process) -> None:
    for p in [*ps.children(recursive=True), ps]:
        with contextlib.suppress(psutil.Error):
            p.kill()


def measured(cmd: list[str], log: Path) -> dict:
    """Run ``cmd`` to completion; wall seconds, peak RSS (tree sampled, and ru_maxrss)."""
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    with log.open("ab") as fh:
        fh.write(("$ " + " ".join(cmd) + "\n").encode())
        fh.flush()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)  # noqa: S603
        ps = psutil.Process(proc.pid)
        peak_tree = 0
        killed = False
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            try:
                rss = ps.memory_info().rss + sum(
                    c.memory_info().rss for c in ps.children(recursive=True))
                peak_tree = max(peak_tree, rss)
                if rss > MAX_RSS[0] and not killed:
                    killed = True
                    _kill_tree(ps)
            except psutil.Error:
                pass
            time.sleep(0.2)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    out = {"seconds": wall, "peak_rss_tree": peak_tree, "maxrss": ru.ru_maxrss * 1024,
           "rc": proc.returncode, "load_start": load0, "load_end": os.getloadavg()[0]}
    if killed:
        out["killed"] = f"stopped above --max-rss-gib {MAX_RSS[0] / 2**30:g}"
        with log.open("a") as fh:
            fh.write(f"bench: {out['killed']} (peak {peak_tree / 2**30:.1f} GiB seen)\n")
    return out


def counts(ws_path: Path) -> dict[str, int]:
    with Workspace(ws_path, read_only=True) as ws:
        return {t: ws.count(t) for t in ws.tables()}


def blocking(ws_path: Path) -> list[dict]:
    with Workspace(ws_path, read_only=True) as ws:
        if not ws.has("linkage_blocking"):
            return []
        df = ws.read("linkage_blocking")
    return json.loads(df.to_json(orient="records"))


def purchase_pair_rows(ws_path: Path) -> int | None:
    """Rows of customize's customer x product purchase table over the whole history
    (recommend.purchase_pairs, which select.py brings into pandas, once per window)."""
    from onetoone.customers import with_customer_id
    from onetoone.customize.recommend import purchase_pairs

    with Workspace(ws_path, read_only=True) as ws:
        if not (ws.has("transactions") and ws.has("record_map")):
            return None
        return int(purchase_pairs(with_customer_id(ws, "transactions")).count()
                   .to_pyarrow().as_py())


PROBE = """
import json, resource, sys, time
import pandas as pd
from onetoone import columns as C
from onetoone.config import load_config
from onetoone.identify import golden as G, linkage as L, normalise as N
from onetoone.vectorised import materialise
from onetoone.workspace import Workspace
cfg = load_config(sys.argv[1])
out = {}
with Workspace(cfg.workspace_path, read_only=True) as ws:
    t = time.perf_counter()
    norm = materialise(N.normalise_table(ws.table("customer_records"), region=cfg.country,
                                         as_of=cfg.as_of), "probe_norm")
    out["records"] = int(norm.count().to_pyarrow().as_py())
    out["normalise_s"] = time.perf_counter() - t
    rm = ws.table("record_map").select(C.RECORD_KEY, C.CUSTOMER_ID)
    t = time.perf_counter()
    gold = materialise(G.golden_table(norm.join(rm, C.RECORD_KEY), cfg.identify.survivorship,
                                      cfg.identify.source_priority), "probe_golden")
    out["customers"] = int(gold.count().to_pyarrow().as_py())
    out["golden_s"] = time.perf_counter() - t
    # what reaches Python: the pairs splink kept and the clustering of the records they name
    pairs = ws.read("linkage_pairs")
    out["pairs"] = len(pairs); out["pairs_bytes"] = int(pairs.memory_usage(deep=True).sum())
    keys = pd.unique(pd.concat([pairs["record_key_l"], pairs["record_key_r"]]).astype(str))
    t = time.perf_counter()
    held = pairs[~pairs["guarded"].astype(bool)] if "guarded" in pairs else pairs
    clusters, _ = L.cluster_records(pd.Series(keys), held, cfg.identify.threshold_probability)
    out["cluster_s"] = time.perf_counter() - t
    out["clustered_records"] = len(keys)
    out["clusters_bytes"] = int(clusters.memory_usage(deep=True).sum())
out["maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print("PROBE " + json.dumps(out))
"""


COUNT = """
import json, sys, time
import duckdb
from onetoone import columns as C
from onetoone.config import load_config
from onetoone.identify import linkage as L, normalise as N
from onetoone.workspace import Workspace
cfg = load_config(sys.argv[1])
with Workspace(cfg.workspace_path, read_only=True) as ws:
    rec = ws.read("customer_records")
t = time.perf_counter()
norm = N.normalise_records(rec, region=cfg.country, as_of=cfg.as_of)
norm = norm[N.has_identifier(norm)]
secs = {"normalise": time.perf_counter() - t}
plan = L.plan_model(norm, min_fill_rate=cfg.identify.min_fill_rate)
cols = [c for c in L.LINK_COLUMNS if c in norm.columns]
df = norm[[C.RECORD_KEY, *cols]].copy()
df["birth_date_n"] = df["birth_date_n"].astype("datetime64[s]")
con = duckdb.connect(config={"threads": 2})
con.register("df", df)
typed = ", ".join(f'CAST("{c}" AS {"TIMESTAMP" if c == "birth_date_n" else "VARCHAR"}) AS "{c}"'
                  for c in df.columns)
con.execute(f"CREATE TABLE records AS SELECT {typed} FROM df")
t = time.perf_counter()
counts = L.count_comparisons(con, "records", plan.blocking)
secs["count"] = time.perf_counter() - t
from splink import DuckDBAPI
from splink.blocking_analysis import count_comparisons_from_blocking_rules
t = time.perf_counter()
try:  # splink's own count of what each rule adds to the rules before it
    total = int(counts["comparisons"].sum())
    prop = 1.0 if total <= 2_000_000 else max(0.01, (2_000_000 / total) ** 0.5)
    sdf = DuckDBAPI(con).register("records")
    recs = count_comparisons_from_blocking_rules(
        sdf, blocking_rules=[L._splink_rule(r) for r in plan.blocking], link_type="dedupe_only",
        unique_id_column_name=C.RECORD_KEY, record_sample_proportion=prop)
    counts["new_comparisons"] = [int(r["marginal_comparison_count"]) for r in recs]
    counts["cumulative_comparisons"] = [int(r["cumulative_comparison_count"]) for r in recs]
    counts["estimated"] = [bool(r["is_estimate"]) for r in recs]
except Exception as exc:
    print("splink blocking analysis failed:", exc)
secs["splink"] = time.perf_counter() - t
print("COUNT " + json.dumps({"records": len(norm), "seconds": secs,
                             "max_comparisons": cfg.identify.max_comparisons,
                             "rules": json.loads(counts.to_json(orient="records"))}))
"""


def count_blocking(cfg: Path, log: Path) -> dict | None:
    """The blocking rules identify would choose for these records (linkage.plan_model on the
    normalised records with an identifier, as the stage does) and what each would generate:
    linkage.count_comparisons (exact, one GROUP BY per rule) and splink's
    blocking_analysis.count_comparisons_from_blocking_rules (what each rule adds; from a record
    sample above 2M pairs). Nothing is scored, so it runs where the model would not fit."""
    m = measured([sys.executable, "-c", COUNT, str(cfg)], log)
    lines = [ln for ln in log.read_text().splitlines() if ln.startswith("COUNT ")]
    if m["rc"] or not lines:
        print(f"  blocking count failed (see {log})")
        return None
    r = json.loads(lines[-1][6:]) | {"step": m}
    print(f"  blocking rules the default model chooses, counted without scoring "
          f"({r['records']:,} records with an identifier; {m['seconds']:.0f} s, peak "
          f"{mib(m['peak_rss_tree'])}; identify.max_comparisons {r['max_comparisons']:,}):")
    for b in r["rules"]:
        over = "  over the limit: left out" if b["comparisons"] > r["max_comparisons"] else ""
        print(f"      {b['rule']:40s} {b['comparisons']:15,d} new (splink) "
              f"{(b.get('new_comparisons') or 0):14,.0f}  largest block "
              f"{b['largest_block_records']:,}{over}")
    return r


ACCURACY = """
import json, sys, time
from onetoone.config import load_config
from onetoone.identify import pipeline
from onetoone.workspace import Workspace
cfg = load_config(sys.argv[1])
truth = pipeline.load_truth(cfg)
t = time.perf_counter()
with Workspace(cfg.workspace_path, read_only=True) as ws:
    r = pipeline.evaluate(ws, truth, region=cfg.country, as_of=cfg.as_of)
print("ACCURACY " + json.dumps({k: (v.item() if hasattr(v, "item") else v)
                                for k, v in r.items()} | {"seconds": time.perf_counter() - t}))
"""


def accuracy(cfg: Path, log: Path) -> dict | None:
    """Identify's record map against the generator's ground truth (pipeline.evaluate: pairwise
    precision, recall and F1, and the blocking recall of the rules the run used)."""
    m = measured([sys.executable, "-c", ACCURACY, str(cfg)], log)
    lines = [ln for ln in log.read_text().splitlines() if ln.startswith("ACCURACY ")]
    if m["rc"] or not lines:
        print(f"  accuracy failed (see {log})")
        return None
    r = json.loads(lines[-1][9:])
    print(f"  accuracy against the ground truth: precision {r['precision']:.4f}, recall "
          f"{r['recall']:.4f}, F1 {r['f1']:.4f}; blocking recall {r['blocking_recall']:.4f} "
          f"({int(r['blocked_true_pairs']):,} of {int(r['true_pairs']):,} true pairs; "
          f"{m['seconds']:.0f} s)", flush=True)
    return r


def cap(src: Path, dst: Path, limit: int, res: dict) -> None:
    """``src`` with identify.max_comparisons = ``limit`` written to ``dst``."""
    raw = yaml.safe_load(src.read_text(encoding="utf-8"))
    raw.setdefault("identify", {})["max_comparisons"] = int(limit)
    dst.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    res["identify_max_comparisons"] = int(limit)
    print(f"  identify.max_comparisons set to {int(limit):,} in {dst.name} (rules over it are "
          "left out by the stage, with a note)", flush=True)


def auto_cap(rules: list[dict], budget: int) -> int:
    """The limit that leaves out the largest rules until the rest generate at most ``budget``
    pairs: the rest's total (each left-out rule is above it when the largest are far apart)."""
    n = sorted((int(r["comparisons"]) for r in rules), reverse=True)
    while len(n) > 1 and sum(n) > budget:
        n.pop(0)
    return max(sum(n), 1)


def probe(people: int, work: Path) -> dict | None:
    """Identify step by step on the ingested and identified workspace of WORK/s<N> (the
    stage's functions and config): normalisation and golden records in the engine, and the
    pairs and clusters that reach Python, with their deep memory."""
    cfg = work / f"s{people}" / "client.yaml"
    log = work / f"s{people}.probe.log"
    m = measured([sys.executable, "-c", PROBE, str(cfg)], log)
    lines = [ln for ln in log.read_text().splitlines() if ln.startswith("PROBE ")]
    if m["rc"] or not lines:
        print(f"  probe of {people:,} failed (see {log})")
        return None
    r = json.loads(lines[-1][6:]) | {"seconds": m["seconds"], "load_start": m["load_start"],
                                     "load_end": m["load_end"]}
    n = r["records"]
    print(f"  {people:>10,d} people: {n:,} records normalised in the engine "
          f"{r['normalise_s']:.1f} s, golden records {r['golden_s']:.1f} s for "
          f"{r['customers']:,} customers; in Python: linkage_pairs {r['pairs']:,} rows "
          f"({r['pairs_bytes'] / max(r['pairs'], 1):,.0f} B/pair, {mib(r['pairs_bytes'])}), "
          f"clustering of {r['clustered_records']:,} records {r['cluster_s']:.1f} s "
          f"({mib(r['clusters_bytes'])}); process peak {mib(r['maxrss'])} "
          f"({r['maxrss'] / n:,.0f} B/record, DuckDB included); load "
          f"{r['load_start']:.1f}->{r['load_end']:.1f}", flush=True)
    return r


def parquet_sizes(ws_path: Path, folder: Path) -> dict[str, dict]:
    out = {}
    with Workspace(ws_path, read_only=True) as ws:
        for t in ws.tables():
            p = folder / f"{t}.parquet"
            ws.duckdb.execute(f"COPY \"{t}\" TO '{p}' (FORMAT parquet, COMPRESSION snappy)")
            arrow = sum(b.nbytes for b in ws.table(t).to_pyarrow_batches(chunk_size=500_000))
            meta = pq.ParquetFile(p).metadata
            cols: dict[str, list[int]] = {}
            for g in range(meta.num_row_groups):
                for c in range(meta.num_columns):
                    cc = meta.row_group(g).column(c)
                    v = cols.setdefault(cc.path_in_schema, [0, 0])
                    v[0] += cc.total_compressed_size
                    v[1] += cc.total_uncompressed_size
            out[t] = {"rows": ws.count(t), "bytes": p.stat().st_size, "arrow_bytes": arrow,
                      "columns": cols}
            p.unlink()
    return out


def mib(b: float) -> str:
    return f"{b / 2**20:,.0f} MiB"


def run_size(people: int, work: Path, reuse: bool, seed: int, save=lambda res: None) -> dict:
    data = work / f"s{people}"
    log = work / f"s{people}.log"
    res: dict = {"people": people, "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                 "cores": os.cpu_count(), "code": code_version(), "steps": {}}
    print(f"\n== {people:,} people  ({data}; log {log})", flush=True)
    if not (reuse and (data / "client.yaml").is_file()):
        g = measured([CLI, "sample", "--out", str(data), "--seed", str(seed), "--people",
                      str(people)], log)
        res["steps"]["sample"] = g
        print(f"  sample       {g['seconds']:8.1f} s  peak {mib(g['peak_rss_tree'])}", flush=True)
    cfg = data / "client.yaml"
    ws_path = data / "client.duckdb"
    default_cfg = cfg
    if MAX_COMPARISONS[0]:
        cfg = data / "client_capped.yaml"
        ws_path = data / "client_capped.duckdb"
        if MAX_COMPARISONS[0] > 0:
            cap(default_cfg, cfg, MAX_COMPARISONS[0], res)
        else:
            cfg.write_text(default_cfg.read_text(encoding="utf-8"), encoding="utf-8")
    for suffix in ("", ".wal"):
        Path(str(ws_path) + suffix).unlink(missing_ok=True)
    res["export_bytes"] = sum(p.stat().st_size for p in data.iterdir() if p.is_file()
                              and p.suffix in (".gz", ".parquet", ".csv"))
    steps = [("ingest", [CLI, "ingest", str(cfg)])] + [
        (s, [CLI, "run", s, str(cfg)]) for s in STAGES if s in ONLY[0]]
    before: dict[str, int] = {}
    for name, cmd in steps:
        m = measured(cmd, log)
        after = counts(ws_path) if ws_path.exists() else {}
        reads = C.STAGE_READS.get(name, ())
        writes = C.STAGE_TABLES.get(name, {})
        m["rows_in"] = {t: before.get(t, after.get(t)) for t in reads if t in after}
        m["rows_out"] = {t: after[t] for t in writes if t in after}
        res["steps"][name] = m
        status = "ok" if m["rc"] == 0 else m.get("killed") or f"FAILED rc={m['rc']} (see {log})"
        print(f"  {name:13s}{m['seconds']:8.1f} s  peak {mib(m['peak_rss_tree'])} tree / "
              f"{mib(m['maxrss'])} maxrss  load {m['load_start']:.1f}->{m['load_end']:.1f}"
              f"  {status}", flush=True)
        if m["rows_in"]:
            print("      in : " + ", ".join(f"{t} {n:,}" for t, n in m["rows_in"].items()))
        if m["rows_out"]:
            print("      out: " + ", ".join(f"{t} {n:,}" for t, n in m["rows_out"].items()))
        before = after
        res["customers"] = after.get("customers")
        if name == "ingest" and m["rc"] == 0 and (COUNT_BLOCKING[0] or MAX_COMPARISONS[0] < 0):
            res["blocking_counts"] = count_blocking(cfg, log)
            if MAX_COMPARISONS[0] < 0 and res["blocking_counts"]:
                cap(default_cfg, cfg, auto_cap(res["blocking_counts"]["rules"],
                                               -MAX_COMPARISONS[0]), res)
        if name == "identify" and m["rc"] == 0 and ACCURACY_ON[0]:
            res["accuracy"] = accuracy(cfg, log)
        save(res)
        if m["rc"] != 0:
            break
    res["rows"] = before
    res["customers"] = before.get("customers")
    res["blocking"] = blocking(ws_path) if ws_path.exists() else []
    if res["blocking"]:
        print("  identify blocking rules (the stage's linkage_blocking table):")
        print(f"      {'rule':40s} {'pairs (exact)':>15s} {'new (splink)':>14s} "
              f"{'cumulative':>14s} {'largest block':>14s}  est.")
        for r in res["blocking"]:
            print(f"      {r['rule']:40s} {r['comparisons']:15,d} "
                  f"{(r.get('new_comparisons') or 0):14,.0f} "
                  f"{(r.get('cumulative_comparisons') or 0):14,.0f} "
                  f"{r['largest_block_records']:14,d}  {r.get('estimated')}")
    a = measured([CLI, "status", str(cfg)], log)
    res["steps"]["anchor_status"] = a
    print(f"  anchor: `onetoone status` {a['seconds']:.1f} s "
          f"(start + imports + open; every step above includes it)")
    if ws_path.exists():
        with tempfile.TemporaryDirectory(dir=work) as tmp:
            res["parquet"] = parquet_sizes(ws_path, Path(tmp))
        res["duckdb_bytes"] = ws_path.stat().st_size
        res["purchase_pairs"] = purchase_pair_rows(ws_path)
        if res["purchase_pairs"] is not None:
            print(f"  customer x product purchase pairs (customize's pandas table, whole "
                  f"history): {res['purchase_pairs']:,}")
        print(f"  workspace {mib(res['duckdb_bytes'])} (DuckDB file); exports "
              f"{mib(res['export_bytes'])}; as Parquet (snappy):")
        for t, v in sorted(res["parquet"].items(), key=lambda kv: -kv[1]["bytes"]):
            if v["bytes"] >= 2**20:
                print(f"      {t:24s} {v['rows']:12,d} rows {mib(v['bytes']):>10s} "
                      f"({v['bytes'] / max(v['rows'], 1):.0f} B/row; in memory as Arrow "
                      f"{v['arrow_bytes'] / max(v['rows'], 1):.0f} B/row)")
    return res


def fit(results: list[dict]) -> None:
    """Exponent b of seconds = a * people^b (least squares on log-log) per step."""
    results = sorted({r["people"]: r for r in results}.values(),  # the later run of a size
                     key=lambda r: r["people"])
    names = ["ingest", *STAGES]
    print("\n== growth (seconds per step; exponent b of t ~ people^b, least squares on the "
          "logs; customers after identify are ~1.02 x people, so the exponent is the same)")
    print(f"  {'people':>10s} {'customers':>10s} " + " ".join(f"{n:>13s}" for n in names)
          + "  load")
    for r in results:
        st = r["steps"]
        loads = [st[n]["load_start"] for n in names if n in st]
        print(f"  {r['people']:10,d} {r.get('customers') or 0:10,d} "
              + " ".join(f"{st[n]['seconds']:13.1f}" if n in st and st[n]["rc"] == 0
                         else f"{'-':>13s}" for n in names)
              + f"  {min(loads):.0f}-{max(loads):.0f}")
    def net(r: dict, n: str) -> float:  # the step's own work: less start-up and imports
        a = r["steps"].get("anchor_status")
        return max(r["steps"][n]["seconds"] - (a["seconds"] if a else 0.0), 0.1)

    for key, label in (("seconds", "time"), ("net", "time less the anchor"),
                       ("peak_rss_tree", "peak RSS")):
        line = []
        for n in names:
            pts = [(r["people"], net(r, n) if key == "net" else r["steps"][n][key])
                   for r in results if n in r["steps"] and r["steps"][n]["rc"] == 0]
            if len(pts) >= 2:
                x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
                b = float(np.polyfit(x, y, 1)[0])
                line.append(f"{n} {b:.2f} ({len(pts)} pts)")
        print(f"  exponent of {label}: " + "; ".join(line))
    if len(results) >= 3:  # where the data dominates the fixed costs: the slope to extrapolate
        a, b = results[-2], results[-1]
        k = np.log(b["people"] / a["people"])
        for label, f in (("time", lambda r, n: r["steps"][n]["seconds"]),
                         ("time less the anchor", net)):
            got = [f"{n} {np.log(f(b, n) / f(a, n)) / k:.2f}" for n in names
                   if all(n in r["steps"] and r["steps"][n]["rc"] == 0 for r in (a, b))]
            print(f"  exponent of {label} between {a['people']:,} and {b['people']:,}: "
                  + "; ".join(got))
    print("  memory per input row (slope of peak RSS on the rows the step reads, least "
          "squares):")
    for n, table in (("ingest", "transactions"), ("identify", "customer_records"),
                     ("differentiate", "transactions"), ("interact", "transactions"),
                     ("customize", "transactions")):
        pts = [(r["rows"].get(table), r["steps"][n]["peak_rss_tree"]) for r in results
               if n in r["steps"] and r["steps"][n]["rc"] == 0 and r.get("rows", {}).get(table)]
        if len(pts) >= 2:
            slope = float(np.polyfit([p[0] for p in pts], [p[1] for p in pts], 1)[0])
            print(f"      {n:14s} {slope:8,.0f} B per {table} row ({len(pts)} pts)")
    rules: dict[str, list] = {}
    counted = all(r.get("blocking_counts") for r in results)  # --count-blocking at every size
    for r in results:
        for b in (r["blocking_counts"]["rules"] if counted else r.get("blocking", [])):
            rules.setdefault(b["rule"], []).append((r["people"], b["comparisons"]))
    if rules:
        print("  exponent of each blocking rule's exact pairs (pairs ~ people^b), "
              + ("as chosen, before any is tightened (--count-blocking):" if counted
                 else "as the stage used them (its linkage_blocking table):"))
        for rule, pts in rules.items():
            pts = [p for p in pts if p[1] > 0 and p[0]]
            if len(pts) >= 2:
                b = float(np.polyfit(np.log([p[0] for p in pts]),
                                     np.log([p[1] for p in pts]), 1)[0])
                last = float(np.log(pts[-1][1] / pts[-2][1]) / np.log(pts[-1][0] / pts[-2][0]))
                print(f"      {rule:40s} {b:5.2f}, {last:5.2f} between the two largest  ("
                      + ", ".join(f"{int(p[1]):,}" for p in pts) + ")")


def banner(name: str, work: Path | None) -> Path:
    """Print the machine, its load, the time and the code measured; return the work folder."""
    work = work or Path(tempfile.mkdtemp(prefix=f"{name}."))
    work.mkdir(parents=True, exist_ok=True)
    print(f"{name}: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
          f"load average {os.getloadavg()}, nice {os.nice(0)}; "
          f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; work {work}")
    print(f"code: {code_version()}")
    return work

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[20000, 100000, 300000])
    ap.add_argument("--work", type=Path, default=None, help="folder for clients and logs "
                    "(default: a new temporary folder under /tmp)")
    ap.add_argument("--reuse", action="store_true",
                    help="use a client already generated in WORK/s<N> (only its workspace is "
                         "rebuilt)")
    ap.add_argument("--seed", type=int, default=1994)
    ap.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES),
                    help="stages to run after ingest (in the workbook's order; default all)")
    ap.add_argument("--count-blocking", action="store_true",
                    help="after ingest, count what the default model's blocking rules would "
                         "generate, without scoring (linkage.count_comparisons and splink)")
    ap.add_argument("--identify-max-comparisons", default="0",
                    help="write identify.max_comparisons into a copy of the client YAML "
                         "(client_capped.yaml, its own workspace): rules over it are left out; "
                         "auto:N counts the rules after ingest and leaves out the largest until "
                         "the rest make at most N pairs")
    ap.add_argument("--max-rss-gib", type=float, default=None,
                    help="stop a step whose process tree holds more than this (shared machine)")
    ap.add_argument("--accuracy", action="store_true",
                    help="after identify, score its record map against the generated ground "
                         "truth (precision, recall, F1, blocking recall)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--probe", action="store_true",
                    help="only measure identify's driver-side pandas (read, normalise, golden "
                         "records) on the workspaces already built in WORK/s<N>")
    ap.add_argument("--tables", action="store_true",
                    help="only measure the Parquet sizes (per table and column) of the "
                         "workspaces already built in WORK/s<N>")
    ap.add_argument("--fit", type=Path, nargs="+", default=None,
                    help="only fit growth exponents from these --json files")
    args = ap.parse_args()
    if args.fit:
        results = []
        for p in args.fit:
            results.extend(json.loads(p.read_text())["results"])
        fit(results)
        return
    COUNT_BLOCKING[0] = args.count_blocking
    ACCURACY_ON[0] = args.accuracy
    ONLY[0] = tuple(args.stages)
    mc = str(args.identify_max_comparisons)
    MAX_COMPARISONS[0] = -int(mc[5:]) if mc.startswith("auto:") else int(mc)
    if args.max_rss_gib:
        MAX_RSS[0] = args.max_rss_gib * 2**30
    if args.tables:
        if not args.work:
            sys.exit("--tables needs --work (the folder of an earlier run)")
        found = {}
        for n in args.sizes:
            ws_path = args.work / f"s{n}" / "client.duckdb"
            with tempfile.TemporaryDirectory(dir=args.work) as tmp:
                found[n] = parquet_sizes(ws_path, Path(tmp))
            print(f"  {n:,} people: " + ", ".join(
                f"{t} {v['rows']:,} rows {mib(v['bytes'])}" for t, v in found[n].items()
                if v["bytes"] >= 2**20), flush=True)
        if args.json:
            args.json.write_text(json.dumps({"tables": found}, indent=1))
        return
    if args.probe:
        if not args.work:
            sys.exit("--probe needs --work (the folder of an earlier run)")
        print(f"identify's pandas on the driver; load average {os.getloadavg()}; "
              f"code: {code_version()}")
        found = {n: probe(n, args.work) for n in args.sizes}
        if args.json:
            args.json.write_text(json.dumps({"probe": found}, indent=1))
        return
    work = banner("bench_scale", args.work)
    results: list[dict] = []

    def save(res: dict) -> None:  # after every step: a long run still leaves its figures
        if args.json:
            done = [r for r in results if r is not res]
            args.json.write_text(json.dumps({"results": [*done, res]}, indent=1, default=str))

    for n in args.sizes:
        res = run_size(n, work, args.reuse, args.seed, save)
        results.append(res)
        save(res)
    if len(results) >= 2:
        fit(results)
    if math.isfinite(os.getloadavg()[0]):
        print(f"load average at the end {os.getloadavg()}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
