"""The whole Differentiate pipeline on the sample client: median wall time of REPEATS runs.

Ingests data/sample into a temp workspace and runs Identify once, then runs
``onetoone.differentiate.pipeline.run`` REPEATS times, each in a fresh subprocess on a fresh
copy of the identified workspace, and prints the median wall time of the stage and of its
steps (value in the engine, CLV fits with the holdout check, needs features and segments,
assembly of tiers / potential / lists / fence), plus the peak resident memory.

    .venv/bin/python benchmarks/bench_differentiate.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import yaml

from onetoone import paths

CHILD = textwrap.dedent("""
    import json, resource, sys, time
    from onetoone.config import load_config
    from onetoone.differentiate import pipeline
    from onetoone.workspace import Workspace
    cfg = load_config(sys.argv[1])
    t0 = time.perf_counter()
    with Workspace.open(cfg) as ws:
        d = pipeline.differentiate(cfg, ws)
        pipeline.write(ws, d)
    secs = time.perf_counter() - t0
    print(json.dumps({"seconds": secs, **{f"step_{k}": v for k, v in d.seconds.items()},
                      "customers": len(d.customers), "segments": d.segments.k,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from onetoone.cli import run_stage
    from onetoone.ingest import ingest
    from onetoone.workspace import Workspace

    tmp = Path(tempfile.mkdtemp(prefix="bench-differentiate-"))
    try:
        raw = yaml.safe_load(paths.SAMPLE_CONFIG.read_text(encoding="utf-8"))
        for s in raw["sources"]:
            s["path"] = str((paths.SAMPLE_DIR / s["path"]).resolve())
        base = tmp / "identified.duckdb"
        raw["workspace"] = str(base)
        (tmp / "base.yaml").write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
        from onetoone.config import load_config

        cfg = load_config(tmp / "base.yaml")
        with Workspace(base) as ws:
            ingest(cfg, ws, echo=False)
            run_stage("identify", cfg, ws, echo=False)
        runs = []
        for i in range(args.repeats):
            ws_path = tmp / f"run{i}.duckdb"
            shutil.copy(base, ws_path)
            raw["workspace"] = str(ws_path)
            conf = tmp / f"run{i}.yaml"
            conf.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
            out = subprocess.run([sys.executable, "-c", CHILD, str(conf)], check=True,
                                 capture_output=True, text=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"  run {i + 1}: {runs[-1]['seconds']:.1f} s", flush=True)
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"differentiate on the sample client ({int(med['customers']):,} customers after "
              f"Identify, {int(med['segments'])} segments), median of {len(runs)} runs:")
        print(f"  whole stage (compute + write): {med['seconds']:.1f} s")
        for k in ("value", "clv", "needs", "assemble"):
            print(f"    {k:<9} {med['step_' + k]:.1f} s")
        print(f"  peak memory: {med['peak_mb']:.0f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
