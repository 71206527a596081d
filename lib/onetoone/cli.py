"""The ``onetoone`` command: sample, ingest, run, batch, survey, lab, demo.

Each subcommand is a thin wrapper over library calls; ``onetoone SUBCOMMAND --help`` says what
it does. Exit status: 0 on success, 1 when a client or stage failed, 2 on bad usage or config.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

from . import paths

STAGES = ("identify", "differentiate", "interact", "customize")


def _config(path: str):
    from .config import load_config

    return load_config(path)


# -- sample ----------------------------------------------------------------------------------
def cmd_sample(args: argparse.Namespace) -> int:
    from .sample import generate

    t0 = time.perf_counter()
    counts = generate(Path(args.out), seed=args.seed, people=args.people)
    for k, v in counts.items():
        print(f"  {k:<28} {v:>10,}" if isinstance(v, int) else f"  {k:<28} {v}")
    print(f"sample client written to {args.out} in {time.perf_counter() - t0:.1f} s")
    return 0


# -- ingest ----------------------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace) -> int:
    from .ingest import ingest
    from .workspace import Workspace

    cfg = _config(args.config)
    ws_path = Path(args.workspace) if args.workspace else cfg.workspace_path
    with (Workspace(ws_path) if args.workspace else Workspace.open(cfg)) as ws:
        results = ingest(cfg, ws, sources=args.source or None)
    total_q = sum(r.quarantined for r in results)
    print(f"workspace: {ws_path}  ({sum(r.loaded for r in results):,} rows loaded, "
          f"{total_q:,} quarantined; see table 'quarantine')")
    return 0


# -- run -------------------------------------------------------------------------------------
def run_stage(stage: str, cfg, ws, echo: bool = True) -> dict:
    """Run one stage's library pipeline (no notebook) on a workspace; returns its summary."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {STAGES}")
    module = importlib.import_module(f"onetoone.{stage}.pipeline")
    with ws.stage_run(stage):  # every table the stage writes commits together, in the ledger
        return module.run(cfg, ws, echo=echo)


def cmd_run(args: argparse.Namespace) -> int:
    from .workspace import StaleInputError, Workspace

    cfg = _config(args.config)
    stages = STAGES if args.stage == "all" else (args.stage,)
    with Workspace.open(cfg) as ws:
        if not ws.has("customer_records") and not ws.has("transactions"):
            print(f"the workspace {ws.path} has no ingested data; run `onetoone ingest "
                  f"{args.config}` first", file=sys.stderr)
            return 1
        for stage in stages:
            t0 = time.perf_counter()
            print(f"== {stage}", flush=True)
            try:
                summary = run_stage(stage, cfg, ws)
            except StaleInputError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            for k, v in (summary or {}).items():
                print(f"  {k}: {v}")
            print(f"   {stage} done in {time.perf_counter() - t0:.1f} s", flush=True)
    return 0


# -- status ----------------------------------------------------------------------------------
def status_text(ws) -> str:
    """The run ledger as text: one line per stage run, then whether each stage may run now."""
    import pandas as pd

    led = ws.ledger()
    if not len(led):
        return (f"no stage runs recorded in {ws.path}; `onetoone run all CONFIG` (or the "
                f"notebooks) record one row per stage run")
    lines = [(f"{'stage':<14} {'run id':<38} {'started':<19} {'seconds':>8}  {'status':<11} "
             "inputs (rows) -> outputs (rows)")]
    for r in led.itertuples(index=False):
        secs = (f"{(r.ended_at - r.started_at).total_seconds():8.1f}"
                if r.ended_at is not None and not pd.isna(r.ended_at) else " " * 8)
        ins = json.loads(r.inputs or "{}")
        ins.pop("upstream", None)
        outs = json.loads(r.outputs or "{}")

        def rows(fps: dict) -> str:
            return ", ".join(f"{t} {v[0]:,}" for t, v in fps.items() if v) or "-"

        lines.append(f"{r.stage:<14} {r.run_id:<38} {r.started_at:%Y-%m-%d %H:%M:%S} {secs}  "
                     f"{r.status:<11} {rows(ins)} -> {rows(outs)}")
        if r.status in ("failed", "refused") and r.message:
            lines.append(f"{'':<14} {r.message}")
    lines.append("")
    for stage in STAGES:
        up, reasons = ws.stage_problems(stage)
        lines.append(f"{stage:<14} " + (f"re-run {up} first: {'; '.join(reasons)}" if up
                                         else "inputs current"))
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    from .workspace import Workspace

    cfg = _config(args.config)
    if not cfg.workspace_path.exists():
        print(f"no workspace yet at {cfg.workspace_path}; run `onetoone ingest {args.config}`")
        return 1
    with Workspace.open(cfg, read_only=True) as ws:
        print(status_text(ws))
    return 0


# -- batch -----------------------------------------------------------------------------------
def cmd_batch(args: argparse.Namespace) -> int:
    from .batch import run_batch

    summary = run_batch([Path(c) for c in args.configs], out_dir=Path(args.out), jobs=args.jobs,
                        notebooks=args.notebook or None, progress=not args.quiet,
                        pdf=args.pdf)
    return 0 if summary["ok"] else 1


# -- lab -------------------------------------------------------------------------------------
def lab_folder(cfg) -> Path:
    """The client's working copy of the notebooks: ``<workspace stem>.notebooks`` beside its
    workspace (JupyterLab's autosave writes outputs there, never into the repository)."""
    ws = Path(cfg.workspace_path)
    return ws.parent / f"{ws.stem}.notebooks"


def prepare_lab(config: str | None, port: int = 8888, no_browser: bool = False,
                refresh: bool = False) -> tuple[list[str], dict[str, str], Path]:
    """The JupyterLab command, its environment and the working folder it serves.

    The workbook's notebooks are copied into :func:`lab_folder` (missing ones only, unless
    ``refresh``: the consultant's edits are kept). ``--allow-root`` is passed when running as
    root (JupyterLab refuses to start as root without it).
    """
    import shutil

    from .nb import resolve_config_path

    env = dict(os.environ)
    cfg_path = resolve_config_path(config)
    cfg = _config(str(cfg_path))  # validate before starting
    env["ONETOONE_CONFIG"] = str(cfg_path)
    folder = lab_folder(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    for nb in sorted(paths.NOTEBOOKS.glob("*.ipynb")):
        dest = folder / nb.name
        if refresh or not dest.exists():
            shutil.copy2(nb, dest)
    cmd = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={folder}",
           "--ip=127.0.0.1", f"--port={port}"]
    if no_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd, env, folder


def cmd_lab(args: argparse.Namespace) -> int:
    cmd, env, folder = prepare_lab(args.config, args.port, args.no_browser, args.refresh)
    print(f"client: {env['ONETOONE_CONFIG']}")
    print(f"notebooks: working copy in {folder} (the tracked notebooks/ stay untouched)")
    os.chdir(folder)
    os.execvpe(cmd[0], cmd, env)
    return 0  # pragma: no cover


# -- demo ------------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    from .batch import run_batch

    summary = run_batch([paths.SAMPLE_CONFIG], out_dir=Path(args.out), jobs=1, progress=True)
    index = summary["clients"][0].get("index")
    print(f"\nreports: {index}" if index else "\nthe demo batch failed; see run.json")
    return 0 if summary["ok"] else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="onetoone",
        description="Run the one-to-one programme (Identify, Differentiate, Interact, Customize) "
                    "on a client's own customer data.")
    p.add_argument("--debug", action="store_true",
                   help="show the full traceback of a failure (otherwise one line says what "
                        "happened and what to do)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    s = sub.add_parser("sample", help="regenerate the sample client (deterministic with a seed)",
                       description="Write the sample retailer's exports, client.yaml and ground "
                                   "truth. The same seed gives byte-identical files.")
    s.add_argument("--out", default=str(paths.SAMPLE_DIR), help="output folder (default: %(default)s)")
    s.add_argument("--seed", type=int, default=1994, help="random seed (default: %(default)s)")
    s.add_argument("--people", type=int, default=20000, help="people to simulate (default: %(default)s)")
    s.set_defaults(func=cmd_sample)

    s = sub.add_parser("ingest", help="load a client's exports into its workspace",
                       description="Read every source in the client config, validate it, load good "
                                   "rows into the DuckDB workspace and quarantine bad ones.")
    s.add_argument("config", help="client YAML")
    s.add_argument("--source", action="append", help="only this source (repeatable)")
    s.add_argument("--workspace", help="DuckDB file (default: from the config)")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("run", help="run a stage's library pipeline (no notebook)",
                       description="Run identify, differentiate, interact, customize (or all, in "
                                   "order) on an ingested workspace and write the stage's tables.")
    s.add_argument("stage", choices=(*STAGES, "all"))
    s.add_argument("config", help="client YAML")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("status", help="print the run ledger: every stage run and its inputs",
                       description="List every recorded stage run of a client's workspace (start, "
                                   "seconds, status, rows read and written) and say, per stage, "
                                   "whether its upstream is current or what to re-run first.")
    s.add_argument("config", help="client YAML")
    s.set_defaults(func=cmd_status)

    s = sub.add_parser("batch", help="run every notebook per client and write HTML reports",
                       description="For each client: ingest, run notebooks 01-04 and the readiness "
                                   "results with papermill, write HTML reports, an index page and "
                                   "run.json. A failing client does not stop the others.")
    s.add_argument("configs", nargs="+", metavar="CONFIG", help="client YAML files")
    s.add_argument("--out", default="reports", help="output folder (default: %(default)s)")
    s.add_argument("--jobs", type=int, default=1, help="clients in parallel (default: %(default)s)")
    s.add_argument("--notebook", action="append", help="only this notebook (repeatable)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--pdf", action="store_true",
                   help="also print each client's index and reports to one PDF board pack "
                        "(board_pack.pdf, with Chromium)")
    s.set_defaults(func=cmd_batch)

    from .readiness.cli import add_parser as add_survey_parser

    add_survey_parser(sub)

    s = sub.add_parser("lab", help="JupyterLab on the notebooks, with a client preselected",
                       description="Start JupyterLab on a per-client working copy of the "
                                   "workbook's notebooks (beside the client's workspace). With "
                                   "CONFIG, every notebook opens on that client (ONETOONE_CONFIG) "
                                   "without edits; without it, on the sample client.")
    s.add_argument("config", nargs="?", help="client YAML")
    s.add_argument("--port", type=int, default=8888)
    s.add_argument("--no-browser", action="store_true")
    s.add_argument("--refresh", action="store_true",
                   help="overwrite the working copy's notebooks with the workbook's")
    s.set_defaults(func=cmd_lab)

    s = sub.add_parser("demo", help="run the whole workbook on the sample client",
                       description="Batch-run the sample client and print where the reports are.")
    s.add_argument("--out", default="reports", help="output folder (default: %(default)s)")
    s.set_defaults(func=cmd_demo)
    return p


def explain(exc: BaseException) -> tuple[str, int]:
    """One line for a failure (what happened and what to do) and the exit status."""
    import errno

    import duckdb

    from .config import ConfigError
    from .ingest import IngestError
    from .workspace import MissingTableError, WorkspaceError, explain_duckdb_error

    if isinstance(exc, ConfigError | IngestError):
        return f"error: {exc}", 2
    if isinstance(exc, WorkspaceError | MissingTableError):
        return f"error: {exc}", 1
    if isinstance(exc, duckdb.Error | OSError):
        path = getattr(exc, "filename", None) or "the workspace"
        clear = explain_duckdb_error(path, exc)
        if clear is not None:
            return f"error: {clear}", 1
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return ((f"error: the disk is full while writing {path}: free some space and run this "
                    "again"), 1)
        if isinstance(exc, PermissionError | OSError) and exc.errno in (errno.EACCES, errno.EROFS,
                                                                         errno.EPERM):
            return ((f"error: cannot write {path}: the folder is read-only or not yours; run from "
                    "a writable copy"), 1)
        if isinstance(exc, OSError) and exc.errno == errno.ENOENT:
            return f"error: file not found: {path}", 1
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return ((f"error: {type(exc).__name__}: {first} (an unexpected failure; run again with --debug "
            "for the traceback and report it)"), 1)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere on the line, not only before the subcommand
    args = build_parser().parse_args([a for a in argv if a != "--debug"])
    args.debug = debug
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted: every source or stage committed before it is kept; the one that was "
              "running is unchanged", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line (--debug: traceback)
        if args.debug:
            raise
        line, status = explain(exc)
        print(line, file=sys.stderr)
        return status


if __name__ == "__main__":
    sys.exit(main())
