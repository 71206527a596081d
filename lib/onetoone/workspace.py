"""Workspace: one DuckDB file per client, opened through Ibis.

Canonical input tables (written by ingest) and stage results are tables in it. The library
reads and writes them through this small API only::

    ws = Workspace.open(cfg)             # or Workspace(path)
    t = ws.table("transactions")         # an Ibis table expression (work stays in DuckDB)
    df = ws.read("customer_value")       # a pandas DataFrame (per-customer or smaller only)
    ws.write("contact_plan", df)         # replace the table
    ws.has("record_map")                 # does a stage result exist?

A stage writes its tables inside :meth:`Workspace.stage_run`: every table it writes commits in
one transaction, together with its row in the run ledger (table ``run_ledger``: stage, run id,
start, end, status, fingerprint of its inputs and outputs). A process killed mid-stage leaves
the tables as they were and its ledger row ``running`` (shown as interrupted). Before a stage
runs, the ledger is checked: a stage refuses (:class:`StaleInputError`, naming what to re-run)
when an upstream stage's last run did not finish, when its inputs changed after it ran, or when
its tables were changed by something other than that run::

    with ws.stage_run("differentiate"):
        ws.write("customer_value", cv)
        ws.write("segments", seg)          # both, or neither, are committed
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Self

import duckdb
import ibis
import pandas as pd

from . import columns as C

if TYPE_CHECKING:
    from .config import ClientConfig


class MissingTableError(LookupError):
    """A stage asked for a table an earlier step has not written."""


class WorkspaceError(OSError):
    """The workspace file cannot be opened or written; the message says why and what to do."""


def explain_duckdb_error(path: Path, exc: BaseException) -> WorkspaceError | None:
    """A one-line WorkspaceError for DuckDB's lock, permission and disk-full errors, else None."""
    import re

    msg = str(exc)
    m = re.search(r"Conflicting lock is held in (.+?) \(PID (\d+)\)", msg)
    if m:
        return WorkspaceError(f"the workspace {path} is locked by another process (pid {m.group(2)}, "
                              f"{m.group(1)}): close the notebook kernel or command that has it "
                              f"open (or `kill {m.group(2)}`), then run this again")
    low = msg.lower()
    if "permission denied" in low or "read-only file system" in low or "read only" in low:
        return WorkspaceError(f"cannot write the workspace {path}: its folder is read-only; run "
                              "from a writable copy or set `workspace:` in the client YAML to a "
                              "writable path")
    if "no space left" in low or "disk is full" in low or "disk full" in low:
        return WorkspaceError(f"the disk is full while writing {path}: free some space (or set "
                              "`workspace:` to another disk) and run this again; the sources "
                              "already committed are kept, the interrupted one is unchanged")
    return None


class StaleInputError(RuntimeError):
    """A stage would read tables from an interrupted, failed or out-of-date upstream run.

    ``rerun`` names the stage to re-run first; the message says why, in one sentence each.
    """

    def __init__(self, stage: str, rerun: str, reasons: list[str]):
        self.stage, self.rerun, self.reasons = stage, rerun, reasons
        super().__init__(
            f"{stage} will not run on these inputs: " + "; ".join(reasons)
            + f". Re-run `onetoone run {rerun} CONFIG` first (or `onetoone run all CONFIG`).")


LEDGER = C.RUN_LEDGER
LEDGER_COLUMNS = C.RUN_LEDGER_COLUMNS


WRITERS = {table: "onetoone ingest" if stage == "ingest" else f"onetoone run {stage}"
           for stage, tables in C.STAGE_TABLES.items() for table in tables}
"""The command that writes each table (named when a stage asks for a table that is absent)."""


@dataclass
class StageRun:
    """The stage run a workspace is writing in (see :meth:`Workspace.stage_run`)."""

    run_id: str
    stage: str
    started_at: dt.datetime
    written: list[str] = field(default_factory=list)
    in_transaction: bool = False


def _is_spark_warehouse(path: str | Path) -> bool:
    p = Path(path)
    return str(path) != ":memory:" and (p.suffix == ".spark" or (p / "manifest.json").is_file())


def _now() -> dt.datetime:
    return dt.datetime.now()  # microseconds kept: they order runs started within one second


class Workspace:
    """A client's DuckDB file. Use as a context manager or call :meth:`close`.

    ``Workspace(path)`` on a Spark warehouse folder (``*.spark`` or a folder holding
    ``manifest.json``) opens a :class:`~onetoone.spark.SparkWorkspace`; :meth:`open` follows
    the config's ``engine``."""

    engine = "duckdb"

    def __new__(cls, path: str | Path = ":memory:", *args, **kwargs):
        if cls is Workspace and _is_spark_warehouse(path):
            from .spark import SparkWorkspace

            return super().__new__(SparkWorkspace)
        return super().__new__(cls)

    def __init__(self, path: str | Path, read_only: bool = False, threads: int | None = None):
        self._run: StageRun | None = None
        self.read_only = read_only
        self.path = Path(path)
        config = {"threads": threads or os.cpu_count() or 2}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.duckdb = duckdb.connect(str(self.path), read_only=read_only, config=config)
        except (duckdb.Error, OSError) as exc:
            clear = explain_duckdb_error(self.path, exc)
            if clear is None:
                raise
            raise clear from exc
        self.con = ibis.duckdb.from_connection(self.duckdb)

    @classmethod
    def open(cls, cfg: ClientConfig, read_only: bool = False) -> Workspace:
        """The client's workspace on the engine its config names."""
        if cfg.engine.name == "spark":
            from .spark import SparkWorkspace

            return SparkWorkspace(cfg.workspace_path, read_only=read_only, settings=cfg.engine,
                                  checkpoint=cfg.checkpoint_path)
        return cls(cfg.workspace_path, read_only=read_only)

    # -- reading ----------------------------------------------------------------------------
    def tables(self) -> list[str]:
        return sorted(self.con.list_tables())

    def has(self, name: str) -> bool:
        return name in self.con.list_tables()

    def table(self, name: str) -> ibis.Table:
        """The table as an Ibis expression; MissingTableError says which command writes it."""
        if not self.has(name):
            hint = WRITERS.get(name)
            raise MissingTableError(
                f"the workspace {self.path} has no table {name!r}"
                + (f"; it is written by `{hint}`" if hint else ""))
        return self.con.table(name)

    def read(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        t = self.table(name)
        if columns:
            t = t.select(columns)
        return t.to_pandas()

    def count(self, name: str) -> int:
        return int(self.table(name).count().to_pyarrow().as_py())

    def sql(self, query: str, params: list | None = None) -> pd.DataFrame:
        """Run SQL on the DuckDB connection and fetch the whole result as pandas."""
        return self.duckdb.execute(query, params or []).fetch_df()

    # -- writing ----------------------------------------------------------------------------
    @contextmanager
    def _writing(self, name: str) -> Iterator[None]:
        """Inside a stage run: join its transaction (begun at its first write). Outside one:
        the single statement commits on its own, as before."""
        run = self._run
        if run is None:
            yield
            return
        if not run.in_transaction:
            self._begin()
            run.in_transaction = True
        yield
        if name not in run.written:
            run.written.append(name)

    def write(self, name: str, df: pd.DataFrame | ibis.Table) -> None:
        """Create or replace a table from a DataFrame or an Ibis expression."""
        with self._writing(name):
            self._write(name, df)

    def _write(self, name: str, df: pd.DataFrame | ibis.Table) -> None:
        if isinstance(df, pd.DataFrame):
            self.duckdb.register("__onetoone_df", df)
            try:
                self.duckdb.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM __onetoone_df')
            finally:
                self.duckdb.unregister("__onetoone_df")
        else:  # an Ibis expression: compiled to SQL and run inside DuckDB, nothing fetched
            self.con._run_pre_execute_hooks(df)  # its memtables and UDFs
            sql = str(self.con.compile(df))
            self.duckdb.execute(f'CREATE OR REPLACE TABLE "{name}" AS {sql}')

    def append(self, name: str, df: pd.DataFrame) -> None:
        """Append rows; create the table on first use."""
        if not self.has(name):
            self.write(name, df)
            return
        with self._writing(name):
            self.duckdb.register("__onetoone_df", df)
            try:
                cols = ", ".join(f'"{c}"' for c in df.columns)
                self.duckdb.execute(
                    f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM __onetoone_df')
            finally:
                self.duckdb.unregister("__onetoone_df")

    def drop(self, name: str) -> None:
        with self._writing(name):
            self.duckdb.execute(f'DROP TABLE IF EXISTS "{name}"')

    # -- stage runs and the ledger ------------------------------------------------------------
    def fingerprint(self, tables) -> dict[str, list | None]:
        """``{table: [rows, content hash]}`` (None when absent); the hash is order-free, so
        the same rows written again give the same fingerprint."""
        out: dict[str, list | None] = {}
        for t in tables:
            if not self.has(t):
                out[t] = None
                continue
            n, h = self.duckdb.execute(f'SELECT count(*), sum(hash(__row)) FROM "{t}" AS __row').fetchone()
            out[t] = [int(n), str(h or 0)]
        return out

    def _ensure_ledger(self) -> None:
        cols = ", ".join(f'"{c}" {t}' for c, t in LEDGER_COLUMNS.items())
        self.duckdb.execute(f'CREATE TABLE IF NOT EXISTS "{LEDGER}" ({cols})')

    def ledger(self) -> pd.DataFrame:
        """Every recorded stage run, oldest first; ``running`` rows of no live process read
        ``interrupted`` (a workspace is open for writing in one process at a time)."""
        df = self._ledger_rows()
        if df is None:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in LEDGER_COLUMNS})
        live = self._run.run_id if self._run else None
        df.loc[(df["status"] == "running") & (df["run_id"] != live), "status"] = "interrupted"
        return df

    def _ledger_rows(self) -> pd.DataFrame | None:
        if not self.has(LEDGER):
            return None
        return self.sql(f'SELECT * FROM "{LEDGER}" ORDER BY started_at, run_id')

    def last_run(self, stage: str) -> dict | None:
        """The stage's latest run that was not refused, as a dict (inputs/outputs decoded)."""
        led = self.ledger()
        led = led[(led["stage"] == stage) & (led["status"] != "refused")]
        if not len(led):
            return None
        row = led.iloc[-1].to_dict()
        for k in ("inputs", "outputs"):
            row[k] = json.loads(row[k]) if isinstance(row[k], str) and row[k] else {}
        return row

    def stage_problems(self, stage: str) -> tuple[str | None, list[str]]:
        """Why ``stage`` should not run now: (the upstream stage to re-run, reasons), or
        (None, []) when its upstream runs finished and nothing changed under them."""
        for up in C.UPSTREAM.get(stage, ()):
            last = self.last_run(up)
            if last is None:
                continue  # never run here (or before the ledger existed): the stage's fallbacks apply
            when = f"run {last['run_id']}, started {last['started_at']:%Y-%m-%d %H:%M:%S}"
            if last["status"] != "ok":
                what = ("did not finish" if last["status"] == "interrupted" else
                        f"failed ({last['message']})" if last["message"] else last["status"])
                return up, [(f"the last `onetoone run {up}` ({when}) {what}; its tables are still "
                            f"those of the run before it")]
            reasons = []
            for kind, fps in (("inputs", last["inputs"]), ("outputs", last["outputs"])):
                now = self.fingerprint([t for t in fps if t != "upstream"])
                for t, fp in now.items():
                    # a table that is gone now is read by nobody, so it cannot be stale: the
                    # reading stage's fallback for a missing input applies
                    if fp is not None and fp != fps[t]:
                        then = "absent" if fps[t] is None else f"{fps[t][0]:,} rows"
                        cur = (f"{fp[0]:,} rows" if fps[t] is None or fp[0] != fps[t][0]
                               else "the same number of rows with different contents")
                        reasons.append(
                            f"`{t}` changed after `onetoone run {up}` ({when}) "
                            f"{'read' if kind == 'inputs' else 'wrote'} it (then {then}, now {cur})")
            if reasons:
                return up, reasons
        return None, []

    def check_stage(self, stage: str) -> None:
        """Raise :class:`StaleInputError` when :meth:`stage_problems` finds any."""
        up, reasons = self.stage_problems(stage)
        if up:
            raise StaleInputError(stage, up, reasons)

    @contextmanager
    def stage_run(self, stage: str, check: bool = True) -> Iterator[StageRun]:
        """Run a stage's writes as one transaction, recorded in the run ledger.

        Re-entrant: inside a run of the same stage it joins that run (``onetoone run``
        opens the run, the pipeline's write step joins it). The upstream check
        (:meth:`check_stage`) runs first; a refusal is recorded in the ledger too. On an
        exception everything the run wrote is rolled back and the run is marked failed.
        """
        if self._run is not None:
            if self._run.stage != stage:
                raise RuntimeError(f"cannot start a {stage} run inside a {self._run.stage} run")
            yield self._run
            return
        self._ensure_ledger()
        started = _now()
        run = StageRun(f"{stage}-{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}", stage, started)
        problems = self.stage_problems(stage) if check else (None, [])
        if problems[0]:
            err = StaleInputError(stage, *problems)
            self._ledger_insert(run, "refused", message=str(err))
            raise err
        self._ledger_insert(run, "running")  # committed now: a killed process leaves this row
        self._run = run
        try:
            yield run
        except BaseException as exc:
            self._run = None
            if run.in_transaction:
                self._rollback()
            status = "failed" if isinstance(exc, Exception) else "interrupted"
            self._ledger_finish(run, status, message=f"{type(exc).__name__}: {exc}"[:500])
            raise
        self._run = None
        upstream = {u: (self.last_run(u) or {}).get("run_id") for u in C.UPSTREAM.get(stage, ())}
        inputs = self.fingerprint([t for t in C.STAGE_READS.get(stage, ()) if t not in run.written])
        outputs = self.fingerprint(run.written)
        try:
            if not run.in_transaction:
                self._begin()
            self._ledger_finish(run, "ok", inputs={**inputs, "upstream": upstream},
                                outputs=outputs)
            self._commit()
        except BaseException:
            self._rollback()
            self._ledger_finish(run, "failed", message="the commit failed")
            raise

    # -- the engine's transaction (DuckDB's own; the Spark workspace swaps a manifest) ---------
    def _begin(self) -> None:
        self.duckdb.execute("BEGIN TRANSACTION")

    def _commit(self) -> None:
        self.duckdb.execute("COMMIT")

    def _rollback(self) -> None:
        self.duckdb.execute("ROLLBACK")

    def _ledger_insert(self, run: StageRun, status: str, message: str = "") -> None:
        self.duckdb.execute(
            f'INSERT INTO "{LEDGER}" (run_id, stage, started_at, ended_at, status, inputs, '
            'outputs, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            [run.run_id, run.stage, run.started_at, _now() if status == "refused" else None,
             status, "{}", "{}", message])

    def _ledger_finish(self, run: StageRun, status: str, inputs: dict | None = None,
                       outputs: dict | None = None, message: str = "") -> None:
        self.duckdb.execute(
            f'UPDATE "{LEDGER}" SET ended_at = ?, status = ?, inputs = ?, outputs = ?, '
            'message = ? WHERE run_id = ?',
            [_now(), status, json.dumps(inputs or {}), json.dumps(outputs or {}), message,
             run.run_id])

    def close(self) -> None:
        self.duckdb.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"
