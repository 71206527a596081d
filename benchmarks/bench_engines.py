"""Each stage's time on DuckDB and on local Spark for the same client, and `run all` end to end.

    nice -n 19 .venv/bin/python benchmarks/bench_engines.py [--config data/sample/client.yaml]
        [--people N] [--engines duckdb spark] [--work DIR] [--master local[2]]

The client (the sample by default; ``--people N`` generates the sample at that size into the
work folder instead) is copied twice into a temporary folder with absolute source paths: once
as it is (``engine: duckdb``) and once with ``engine: spark`` (``master``, the warehouse and
its checkpoints inside the work folder, never data/sample). Per engine, each step runs in a
fresh subprocess: ``onetoone ingest``, ``onetoone run identify | differentiate | interact |
customize``, then ``onetoone run all`` on the same ingested workspace (the four stages in one
process: one interpreter, and on Spark one session). It prints the wall time and peak RSS of
the subprocess tree (the JVM included) of each step, side by side, and the rows of the main
tables each engine wrote.

Anchors measured in the same run: ``onetoone status`` per engine (interpreter, imports, the
workspace opened) and, for Spark, a bare local session started and asked ``range(1).count()``
with the same settings (what every Spark step pays before its first table).

A failing step is reported in one line (its exit code and the last line it printed, which the
CLI makes the reason) and the run goes on: the next stages then say which upstream is missing.
One run (the machine is shared, 2 cores): single measurements, not medians.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import yaml

from onetoone import paths

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import CLI, banner, measured, mib  # noqa: E402

STAGES = ("identify", "differentiate", "interact", "customize")
TABLES = ("customer_records", "transactions", "record_map", "customers", "customer_value",
          "contact_plan", "recommendations")


def client_copy(src: Path, folder: Path, engine: str, master: str) -> Path:
    raw = yaml.safe_load(src.read_text(encoding="utf-8"))
    for s in raw["sources"]:
        s["path"] = str((src.parent / s["path"]).resolve())
    raw.pop("workspace", None)
    if engine == "spark":
        raw["engine"] = {"name": "spark", "master": master,
                         "warehouse": str(folder / "client.spark"),
                         "checkpoint": str(folder / "checkpoints")}
    else:
        raw.pop("engine", None)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "client.yaml"
    out.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return out


def last_line(log: Path) -> str:
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    return (lines[-1] if lines else "(no output)")[:240]


STEP_TIMEOUT = [0.0]


def step(name: str, cmd: list[str], folder: Path) -> dict:
    log = folder / f"{name}.log"
    if STEP_TIMEOUT[0]:  # coreutils timeout: SIGTERM, then the CLI's one-line exit
        cmd = ["timeout", "-k", "30", str(int(STEP_TIMEOUT[0])), *cmd]
    m = measured(cmd, log)
    m["why"] = "" if m["rc"] == 0 else last_line(log)
    text = log.read_text(errors="replace")
    m["stage_seconds"] = {a: float(b) for a, b in re.findall(r"^\s*(\w+) done in ([\d.]+) s",
                                                            text, flags=re.MULTILINE)}
    heads = re.findall(r"^== (\w+)", text, flags=re.MULTILINE)
    if m["rc"] and heads:  # run all: which stage it was in
        m["why"] = f"in {heads[-1]}: {m['why']}"
    if m["rc"] == 124:
        m["why"] = f"not finished within --step-timeout {STEP_TIMEOUT[0]:g} s"
    m["log"] = str(log)
    return m


def spark_floor(folder: Path, master: str) -> dict:
    code = ("from onetoone.config import Engine; from onetoone.spark import spark_session; "
            f"s = spark_session(Engine(name='spark', master={master!r}), {str(folder / 'ck')!r}); "
            "print(s.range(1).count()); s.stop()")
    return step("spark_session", [sys.executable, "-c", code], folder)


def table_rows(cfg_path: Path) -> dict[str, int | None]:
    from onetoone.config import load_config
    from onetoone.workspace import Workspace

    out: dict[str, int | None] = {}
    try:
        with Workspace.open(load_config(cfg_path), read_only=True) as ws:
            for t in TABLES:
                out[t] = ws.count(t) if ws.has(t) else None
    except Exception as exc:  # noqa: BLE001  (a figure to print, not a check)
        out["error"] = f"{type(exc).__name__}: {exc}"[:200]
    return out


def fmt(m: dict | None) -> str:
    if m is None:
        return f"{'-':>24s}"
    if m["rc"] != 0:
        return f"{'FAILED':>10s} {m['seconds']:6.1f} s      "
    return f"{m['seconds']:8.1f} s {mib(m['peak_rss_tree']):>11s}  "


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", type=Path, default=paths.SAMPLE_CONFIG)
    ap.add_argument("--people", type=int, default=None,
                    help="generate the sample client at this size instead of --config")
    ap.add_argument("--engines", nargs="+", default=["duckdb", "spark"],
                    choices=["duckdb", "spark"])
    ap.add_argument("--master", default="local[2]", help="Spark master (default: %(default)s)")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--step-timeout", type=float, default=0,
                    help="stop a step after this many seconds and report it (0: no limit)")
    args = ap.parse_args()
    STEP_TIMEOUT[0] = args.step_timeout
    work = banner("bench_engines", args.work)
    src = args.config
    if args.people:
        g = step("sample", [CLI, "sample", "--out", str(work / "client"), "--people",
                            str(args.people)], work)
        if g["rc"]:
            sys.exit(f"sample generation failed: {g['why']}")
        src = work / "client" / "client.yaml"
    print(f"client: {src}")
    res: dict[str, dict] = {}
    rows: dict[str, dict] = {}
    for engine in args.engines:
        folder = work / engine
        cfg = client_copy(src, folder, engine, args.master)
        r: dict[str, dict] = {}
        print(f"\n== {engine}  ({cfg})", flush=True)
        if engine == "spark":
            f = r["spark session (anchor)"] = spark_floor(folder, args.master)
            print(f"  {'spark session (anchor)':24s}{f['seconds']:8.1f} s  peak "
                  f"{mib(f['peak_rss_tree'])}" + (f"  FAILED: {f['why']}" if f["rc"] else ""),
                  flush=True)
        for name, cmd in [("ingest", [CLI, "ingest", str(cfg)]),
                          *[(s, [CLI, "run", s, str(cfg)]) for s in STAGES],
                          ("run all", [CLI, "run", "all", str(cfg)]),
                          ("status (anchor)", [CLI, "status", str(cfg)])]:
            m = step(name.split(" ")[0] + ("_all" if name == "run all" else ""), cmd, folder)
            r[name] = m
            line = (f"  {name:24s}{m['seconds']:8.1f} s  peak {mib(m['peak_rss_tree'])}  "
                    f"load {m['load_start']:.1f}->{m['load_end']:.1f}")
            if m["rc"]:
                line += f"\n    {name} failed on {engine} (rc {m['rc']}): {m['why']}"
            print(line, flush=True)
        res[engine] = r
        rows[engine] = table_rows(cfg)

    names = ["spark session (anchor)", "status (anchor)", "ingest", *STAGES, "run all"]
    print("\n== side by side (wall time, peak RSS of the step's process tree)")
    print(f"  {'step':24s}" + "".join(f"{e:>24s}" for e in res) + "   spark / duckdb")
    for n in names:
        ms = [res[e].get(n) for e in res]
        ratio = ""
        if len(ms) == 2 and all(m and m["rc"] == 0 for m in ms):
            ratio = f"{ms[1]['seconds'] / ms[0]['seconds']:8.1f}x"
        print(f"  {n:24s}" + "".join(fmt(m) for m in ms) + ratio)
    for e, r in res.items():
        ok = [n for n in ("ingest", *STAGES) if n in r]
        if all(r[n]["rc"] == 0 for n in ok):
            total = sum(r[n]["seconds"] for n in ok)
            print(f"  {e}: ingest + stages one by one {total:.1f} s; ingest + run all "
                  f"{r['ingest']['seconds'] + r['run all']['seconds']:.1f} s"
                  + ("" if r["run all"]["rc"] == 0 else " (run all FAILED)"))
        ra = r.get("run all")
        if ra and ra.get("stage_seconds"):
            print(f"  {e} run all, each stage's own time inside the one process: " + ", ".join(
                f"{k} {v:.1f} s" for k, v in ra["stage_seconds"].items()))
        for n, m in r.items():
            if m["rc"]:
                print(f"  {e} {n} failed: {m['why']}  (log {m['log']})")
    print("\n== rows written (same client on both engines)")
    print(f"  {'table':20s}" + "".join(f"{e:>14s}" for e in rows))
    for t in TABLES:
        vals = [rows[e].get(t) for e in rows]
        print(f"  {t:20s}" + "".join(f"{v:>14,d}" if isinstance(v, int) else f"{'-':>14s}"
                                     for v in vals))
    for e, rw in rows.items():
        if "error" in rw:
            print(f"  {e}: could not open its workspace to count: {rw['error']}")
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
