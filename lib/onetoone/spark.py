"""The Spark workspace: the same API as the DuckDB one, with Parquet tables in a warehouse folder.

``engine: spark`` in a client config opens this instead of a DuckDB file (see docs/scale.md)::

    <warehouse>/                   the workspace (``<config stem>.spark`` beside the YAML)
      manifest.json                which files make each table now, and the run ledger
      tables/<name>/<version>/     one folder of Parquet files per write (append adds a folder)
      landing.duckdb               ingest's validation (read and checked on the machine holding
                                   the exports, as on DuckDB; the checked rows land here as Parquet)
      _checkpoints/                Spark's checkpoints (splink's connected components)

Stage code reads and writes through :class:`~onetoone.workspace.Workspace`'s API only:
``ws.table`` is an Ibis expression on Ibis's PySpark backend, so the work runs in Spark and
only what a stage fetches (``to_pandas``) reaches the driver. A write puts a new version folder
beside the old one; nothing is visible to another process until the manifest is replaced
(``os.replace``, atomic on a POSIX filesystem), so a stage's tables and its ledger row still
commit together and a killed process leaves the tables as they were.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .workspace import LEDGER_COLUMNS, StageRun, Workspace, WorkspaceError, _now

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from .config import Engine

MANIFEST = "manifest.json"
KEEP_VERSIONS = 2
"""Version folders kept per table (the current one and the one before, which a reader that
opened the workspace just before a write may still be reading)."""


def spark_session(settings: Engine | None = None, checkpoint: str | Path | None = None,
                  log: str | Path | None = None) -> SparkSession:
    """The active SparkSession (a notebook on a cluster), or a new one started from the config.

    A session started here has splink's similarity functions on ``spark.jars``, UTC as its
    time zone (timestamps read back as written) and Arrow transfers to and from pandas. Its
    JVM writes to ``log`` (the warehouse's ``spark.log``) instead of the consultant's terminal:
    Spark's start-up notices are nobody's business, and its errors reach Python as exceptions.
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    reuse = settings is None or settings.use_active_session
    spark = SparkSession.getActiveSession() if reuse else None
    if spark is None:
        master = settings.master if settings else "local[*]"
        if master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no host-name warning
            # Python workers (the recommenders' scoring, customize/engine.py) run this
            # interpreter; on a cluster, the nodes' Python, which needs onetoone installed
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        log4j = Path(__file__).with_name("spark_log4j2.properties")
        conf = SparkConf().setAppName("onetoone").setMaster(master).setAll([
            ("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log4j}"),
            ("spark.jars", similarity_jar_location()),
            ("spark.sql.session.timeZone", "UTC"),
            ("spark.sql.shuffle.partitions", str(settings.shuffle_partitions if settings else 8)),
            ("spark.driver.memory", settings.driver_memory if settings else "4g"),
            ("spark.sql.execution.arrow.pyspark.enabled", "true"),
            ("spark.sql.execution.arrow.pyspark.fallback.enabled", "true"),
            ("spark.ui.enabled", "false"),
            ("spark.ui.showConsoleProgress", "false"),
            ("spark.sql.legacy.timeParserPolicy", "CORRECTED"),
            *((settings.conf if settings else {}).items())])
        if SparkContext._gateway is None and log is not None:
            Path(log).parent.mkdir(parents=True, exist_ok=True)
            with open(log, "ab") as out:  # the JVM keeps its own copy of the descriptor
                gateway = launch_gateway(conf, popen_kwargs={"stdout": out, "stderr": out})
            SparkContext(conf=conf, gateway=gateway)
        spark = SparkSession.builder.config(conf=conf).getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
    if checkpoint is not None:
        Path(checkpoint).mkdir(parents=True, exist_ok=True)
        spark.sparkContext.setCheckpointDir(str(checkpoint))
    return spark


def _arrow_for_parquet(table: pa.Table) -> pa.Table:
    """Types Spark reads back as written: no all-null columns, no nanosecond timestamps, no
    unsigned or dictionary types."""
    fields, arrays = [], []
    for f, col in zip(table.schema, table.columns):
        t = f.type
        if pa.types.is_null(t):
            t = pa.string()
        elif pa.types.is_dictionary(t):
            t = t.value_type
        elif pa.types.is_timestamp(t) and t.unit == "ns":
            t = pa.timestamp("us", t.tz)
        elif pa.types.is_unsigned_integer(t):
            t = pa.int64()
        elif pa.types.is_large_string(t):
            t = pa.string()
        if t != f.type:
            col = col.cast(t, safe=False)
        fields.append(pa.field(f.name, t))
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


class SparkWorkspace(Workspace):
    """A client's Parquet warehouse, worked on by Spark through Ibis."""

    engine = "spark"

    def __init__(self, path: str | Path, read_only: bool = False, threads: int | None = None,
                 settings: Engine | None = None, checkpoint: str | Path | None = None,
                 spark: SparkSession | None = None):
        self._run: StageRun | None = None
        self.read_only = read_only
        self.path = Path(path)
        self._lock = None
        try:
            if not read_only:
                (self.path / "tables").mkdir(parents=True, exist_ok=True)
                self._lock = open(self.path / ".writer.lock", "a+")  # noqa: SIM115 - held open
                try:
                    fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    self._lock.seek(0)
                    pid = self._lock.read().strip() or "?"
                    self._lock.close()
                    self._lock = None
                    raise WorkspaceError(
                        f"the workspace {self.path} is locked by another process (pid {pid}): "
                        f"close the notebook kernel or command that has it open (or `kill {pid}`), "
                        "then run this again") from None
                self._lock.seek(0)
                self._lock.truncate()
                self._lock.write(str(os.getpid()))
                self._lock.flush()
        except PermissionError as exc:
            raise WorkspaceError(f"cannot write the workspace {self.path}: its folder is read-only; "
                                 "run from a writable copy or set `engine.warehouse:` in the client "
                                 "YAML to a writable path") from exc
        self.checkpoint_dir = str(checkpoint or self.path / "_checkpoints")
        log = (self.path / "spark.log" if os.access(self.path, os.W_OK)
               else Path(tempfile.gettempdir()) / "onetoone-spark.log")
        self.spark = spark or spark_session(settings, None if read_only else self.checkpoint_dir, log)
        self.con = ibis.pyspark.connect(self.spark)
        self.con._register_in_memory_table = self._register_memtable  # see _register_memtable
        self._manifest = self._load_manifest()
        self._pending: dict[str, list[str] | None] = {}
        self._pending_ledger: list[dict] | None = None  # a finished run's rows, until commit
        self._views: dict[str, tuple[tuple[str, ...], ibis.Table]] = {}
        self._tag = f"ws{uuid.uuid4().hex[:8]}"

    # -- the manifest -----------------------------------------------------------------------
    def _load_manifest(self) -> dict[str, Any]:
        f = self.path / MANIFEST
        if not f.is_file():
            return {"format": 1, "tables": {}, "ledger": []}
        return json.loads(f.read_text(encoding="utf-8"))

    def _save_manifest(self, manifest: dict[str, Any]) -> None:
        live = {"|".join(p) for p in manifest["tables"].values()}
        live |= {"|".join(p) for p in self._pending.values() if p}
        fps = {**manifest.get("fingerprints", {}), **self._manifest.get("fingerprints", {})}
        manifest = {**manifest, "fingerprints": {k: v for k, v in fps.items() if k in live}}
        tmp = self.path / f".{MANIFEST}.{uuid.uuid4().hex[:8]}"
        tmp.write_text(json.dumps(manifest, default=str, indent=1), encoding="utf-8")
        os.replace(tmp, self.path / MANIFEST)  # atomic: readers see the old or the new one
        self._manifest = manifest

    def _current(self) -> dict[str, list[str]]:
        cur = dict(self._manifest["tables"])
        for name, parts in self._pending.items():
            if parts is None:
                cur.pop(name, None)
            else:
                cur[name] = parts
        return cur

    # -- reading ----------------------------------------------------------------------------
    def tables(self) -> list[str]:
        return sorted(self._current())

    def has(self, name: str) -> bool:
        return name in self._current()

    def table(self, name: str) -> ibis.Table:
        parts = self._current().get(name)
        if parts is None:
            super().table(name)  # raises MissingTableError naming the writer
        parts = tuple(parts)
        view = self._views.get(name)
        if view is None or view[0] != parts:  # a version folder never changes: one view each
            paths = [str(self.path / p) for p in parts]
            reader = self.spark.read.option("mergeSchema", "true") if len(paths) > 1 else self.spark.read
            reader.parquet(*paths).createOrReplaceTempView(self._view(name))
            view = self._views[name] = (parts, self.con.table(self._view(name)))
        return view[1]

    def _view(self, name: str) -> str:
        """The session's temporary view of a table: one name per workspace, so two workspaces
        open in one Spark session never read each other's tables."""
        return f"{name}__{self._tag}"

    def sql(self, query: str, params: list | None = None) -> pd.DataFrame:
        raise NotImplementedError("raw SQL is the DuckDB workspace's; on Spark build the query "
                                  "with ws.table(name) (Ibis)")

    # -- writing ----------------------------------------------------------------------------
    def _new_part(self, name: str) -> tuple[str, Path]:
        rel = f"tables/{name}/{dt.datetime.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        return rel, self.path / rel

    def _write_part(self, name: str, df) -> str:
        if self.read_only:
            raise WorkspaceError(f"the workspace {self.path} is open read-only")
        rel, out = self._new_part(name)
        if isinstance(df, pd.DataFrame | pa.Table):
            table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
            out.mkdir(parents=True)
            pq.write_table(_arrow_for_parquet(table), out / "part-0.parquet")
        else:  # an Ibis expression: compiled to Spark SQL and written by Spark, nothing fetched
            self.frame(df).write.parquet(str(out))
        return rel

    def frame(self, expr: ibis.Table):
        """An Ibis expression as a Spark DataFrame (its memtables registered), for the few
        steps Ibis cannot express: nothing is computed until Spark is asked."""
        self.con._run_pre_execute_hooks(expr)
        return self.spark.sql(self.con.compile(expr))

    def _set(self, name: str, parts: list[str] | None) -> None:
        if self._run is not None and self._run.in_transaction:
            self._pending[name] = parts
        else:  # outside a stage run a write commits on its own, as on DuckDB
            self._pending = {name: parts}
            self._commit()

    def _write(self, name: str, df) -> None:
        self._set(name, [self._write_part(name, df)])

    def publish(self, folders: dict[str, Path]) -> None:
        """Make each folder of Parquet files (written elsewhere: ingest's DuckDB) its table,
        all in one commit."""
        if self._run is not None:
            raise RuntimeError("publish is ingest's, outside any stage run")
        self._begin()
        try:
            for name, folder in folders.items():
                rel, out = self._new_part(name)
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(folder), out)
                self._pending[name] = [rel]
            self._commit()
        except BaseException:
            self._rollback()
            raise

    def append(self, name: str, df: pd.DataFrame) -> None:
        if not self.has(name):
            self.write(name, df)
            return
        with self._writing(name):
            self._set(name, [*self._current()[name], self._write_part(name, df)])

    def drop(self, name: str) -> None:
        with self._writing(name):
            if self.has(name):
                self._set(name, None)

    # -- the engine's transaction: a manifest swap -------------------------------------------
    def _begin(self) -> None:
        self._pending = {}

    def _commit(self) -> None:
        manifest = json.loads(json.dumps(self._manifest))
        replaced = {n: manifest["tables"].get(n) for n in self._pending}
        for name, parts in self._pending.items():
            if parts is None:
                manifest["tables"].pop(name, None)
            else:
                manifest["tables"][name] = parts
        if self._pending_ledger is not None:  # the stage's finished ledger row
            manifest["ledger"] = self._pending_ledger
        self._save_manifest(manifest)
        self._pending = {}
        self._pending_ledger = None
        for name, old in replaced.items():
            if old:
                self._collect(name, manifest["tables"].get(name) or [])

    def _rollback(self) -> None:
        for parts in self._pending.values():
            for p in parts or []:
                if p not in {q for v in self._manifest["tables"].values() for q in v}:
                    shutil.rmtree(self.path / p, ignore_errors=True)
        self._pending = {}
        self._pending_ledger = None

    def _collect(self, name: str, keep: list[str]) -> None:
        """Delete a table's version folders older than the last :data:`KEEP_VERSIONS`."""
        folder = self.path / "tables" / name
        if not folder.is_dir():
            return
        versions = sorted(p for p in folder.iterdir() if p.is_dir())
        live = {Path(k).name for k in keep}
        old = [p for p in versions if p.name not in live]
        for p in old[:max(0, len(old) - (KEEP_VERSIONS - 1))]:
            shutil.rmtree(p, ignore_errors=True)

    # -- the ledger, kept in the manifest ----------------------------------------------------
    def fingerprint(self, tables) -> dict[str, list | None]:
        """``{table: [rows, content hash]}``: Spark's xxhash64 of each row, summed (order-free).

        A version folder never changes once written, so each table's figure is computed once
        per version and kept in the manifest (``fingerprints``): the ledger's staleness check
        then costs no scan of tables nobody rewrote."""
        out: dict[str, list | None] = {}
        known = self._manifest.setdefault("fingerprints", {})
        current = self._current()
        for t in tables:
            if t not in current:
                out[t] = None
                continue
            key = "|".join(current[t])
            if key not in known:
                self.table(t)
                n, h = self.spark.sql(
                    "SELECT count(*), sum(CAST(xxhash64(*) AS DECIMAL(38, 0))) "
                    f"FROM `{self._view(t)}`").first()
                known[key] = [int(n), str(int(h or 0))]
            out[t] = list(known[key])
        return out

    def _ensure_ledger(self) -> None:
        pass  # the ledger lives in the manifest

    def _ledger_rows(self) -> pd.DataFrame | None:
        rows = self._ledger_rows_list()
        if not rows:
            return None
        df = pd.DataFrame(rows, columns=list(LEDGER_COLUMNS))
        for c in ("started_at", "ended_at"):
            df[c] = pd.to_datetime(df[c])
        return df.sort_values(["started_at", "run_id"], kind="stable").reset_index(drop=True)

    def _ledger_rows_list(self) -> list[dict]:
        rows = (self._pending_ledger if self._pending_ledger is not None
                else self._manifest.get("ledger", []))
        return [dict(r) for r in rows]

    def _ledger_insert(self, run: StageRun, status: str, message: str = "") -> None:
        rows = self._ledger_rows_list()
        rows.append({"run_id": run.run_id, "stage": run.stage,
                     "started_at": run.started_at.isoformat(),
                     "ended_at": _now().isoformat() if status == "refused" else None,
                     "status": status, "inputs": "{}", "outputs": "{}", "message": message})
        manifest = {**self._manifest, "ledger": rows}
        self._save_manifest(manifest)  # committed now: a killed process leaves this row

    def _ledger_finish(self, run: StageRun, status: str, inputs: dict | None = None,
                       outputs: dict | None = None, message: str = "") -> None:
        rows = self._ledger_rows_list()
        for r in rows:
            if r["run_id"] == run.run_id:
                r.update(ended_at=_now().isoformat(), status=status,
                         inputs=json.dumps(inputs or {}), outputs=json.dumps(outputs or {}),
                         message=message)
        if status == "ok":  # committed with the tables by _commit
            self._pending_ledger = rows
        else:
            self._save_manifest({**self._manifest, "ledger": rows})

    # -- memtables ---------------------------------------------------------------------------
    def _register_memtable(self, op) -> None:
        """Register an ``ibis.memtable`` through Arrow: Ibis 12 passes pandas to Spark, which
        turns pandas 3's missing strings into the text ``'nan'``."""
        from ibis.formats.pyarrow import PyArrowSchema

        table = op.data.to_pyarrow(op.schema)
        table = table.cast(PyArrowSchema.from_ibis(op.schema))
        self.spark.createDataFrame(_arrow_for_parquet(table)).createOrReplaceTempView(op.name)

    def close(self) -> None:
        for name in self._views:
            with contextlib.suppress(Exception):  # the session may be gone already
                self.spark.catalog.dropTempView(self._view(name))
        self._views = {}
        if self._lock is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock, fcntl.LOCK_UN)
                self._lock.close()
            self._lock = None

    def __repr__(self) -> str:
        return f"SparkWorkspace({str(self.path)!r})"


def to_parquet_folder(con, query: str, folder: Path) -> Path:
    """Write a DuckDB query's rows as Parquet into ``folder`` (ingest's landing on Spark)."""
    folder.mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY ({query}) TO '{folder / 'part-0.parquet'}' (FORMAT parquet)")
    return folder


__all__ = ["SparkWorkspace", "spark_session", "to_parquet_folder"]
