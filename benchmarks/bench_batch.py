"""Wall time of the whole sample batch, of each notebook, and how it scales with more clients;
the size of a client's report folder and the time to print its PDF board pack.

Runs `onetoone batch --pdf` on 1, 2 and 4 copies of the sample client (each its own folder and
workspace) with --jobs 2 (this machine has 2 cores) and prints the wall time, the per-step
times from run.json (the `pdf` step is the board pack), and each client folder's size beside
the 10 MB bar. One run per size: a batch is minutes long, and its steps are what vary.

    .venv/bin/python benchmarks/bench_batch.py [--sizes 1 2 4] [--jobs 2] [--no-pdf]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from onetoone import paths


def client_copy(folder: Path, i: int) -> Path:
    raw = yaml.safe_load(paths.SAMPLE_CONFIG.read_text(encoding="utf-8"))
    raw["client"] = f"{raw['client']} copy {i}"
    for s in raw["sources"]:
        s["path"] = str((paths.SAMPLE_DIR / s["path"]).resolve())
    raw.pop("workspace", None)
    folder.mkdir(parents=True)
    out = folder / "client.yaml"
    out.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-pdf", action="store_true", help="HTML reports only")
    args = ap.parse_args()
    pdf = [] if args.no_pdf else ["--pdf"]
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            configs = [client_copy(d / f"c{i}", i) for i in range(n)]
            t0 = time.perf_counter()
            r = subprocess.run([sys.executable, "-m", "onetoone.cli", "batch", *map(str, configs),
                                "--jobs", str(min(args.jobs, n)), "--out", str(d / "out"), "--quiet", *pdf],
                               capture_output=True, text=True, check=False)
            wall = time.perf_counter() - t0
            run = json.loads((d / "out" / "run.json").read_text())
            sizes = [sum(f.stat().st_size for f in Path(c["dir"]).rglob("*") if f.is_file())
                     for c in run["clients"] if c.get("dir")]
        ok = sum(c["status"] == "ok" for c in run["clients"])
        print(f"{n} client(s), --jobs {min(args.jobs, n)}: wall {wall:7.1f} s "
              f"({wall / n:6.1f} s per client), {ok}/{n} ok, exit {r.returncode}")
        steps: dict[str, list[float]] = {}
        for c in run["clients"]:
            for s in c["steps"]:
                steps.setdefault(s["name"], []).append(s.get("seconds", 0.0))
        for name, secs in steps.items():
            print(f"    {name:<28} median {statistics.median(secs):6.1f} s")
        if sizes:
            print(f"    client folder size: median {statistics.median(sizes) / 2**20:5.2f} MB, "
                  f"largest {max(sizes) / 2**20:5.2f} MB (bar: under 10 MB)")
        pdfs = [s.get("pdf_seconds") for c in run["clients"] for s in c["steps"]
                if s["name"] == "pdf" and s.get("pdf_seconds") is not None]
        if pdfs:
            pages = [s.get("bytes", 0) for c in run["clients"] for s in c["steps"] if s["name"] == "pdf"]
            print(f"    PDF board pack: median {statistics.median(pdfs):5.1f} s to print "
                  f"({statistics.median(pages) / 2**20:.2f} MB); the batch before it: "
                  f"median {statistics.median(c.get('seconds', 0) for c in run['clients']) - statistics.median(pdfs):.1f} s a client")


if __name__ == "__main__":
    main()
