"""Workspace: one DuckDB file per client, opened through Ibis.

Canonical input tables (written by ingest) and stage results are tables in it. The library
reads and writes them through this small API only::

    ws = Workspace.open(cfg)             # or Workspace(path)
    t = ws.table("transactions")         # an Ibis table expression (work stays in DuckDB)
    df = ws.read("customer_value")       # a pandas DataFrame (per-customer or smaller only)
    ws.write("contact_plan", df)         # replace the table
    ws.has("record_map")                 # does a stage result exist?
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import ibis
import pandas as pd

if TYPE_CHECKING:
    from .config import ClientConfig


class MissingTableError(LookupError):
    """A stage asked for a table an earlier step has not written."""


WRITERS = {
    "customer_records": "onetoone ingest", "transactions": "onetoone ingest",
    "interactions": "onetoone ingest", "products": "onetoone ingest",
    "components": "onetoone ingest", "component_rules": "onetoone ingest",
    "record_map": "onetoone run identify", "customers": "onetoone run identify",
    "customer_value": "onetoone run differentiate", "segments": "onetoone run differentiate",
    "contact_plan": "onetoone run interact", "recommendations": "onetoone run customize",
    "configurations": "onetoone run customize", "fence_assignment": "onetoone run differentiate",
    "linkage_pairs": "onetoone run identify",
}


class Workspace:
    """A client's DuckDB file. Use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | Path, read_only: bool = False, threads: int | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        config = {"threads": threads or os.cpu_count() or 2}
        self.duckdb = duckdb.connect(str(self.path), read_only=read_only, config=config)
        self.con = ibis.duckdb.from_connection(self.duckdb)

    @classmethod
    def open(cls, cfg: "ClientConfig", read_only: bool = False) -> "Workspace":
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
    def write(self, name: str, df: pd.DataFrame | ibis.Table) -> None:
        """Create or replace a table from a DataFrame or an Ibis expression."""
        if isinstance(df, pd.DataFrame):
            self.duckdb.register("__onetoone_df", df)
            try:
                self.duckdb.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM __onetoone_df')
            finally:
                self.duckdb.unregister("__onetoone_df")
        else:  # an Ibis expression: compiled to SQL and run inside DuckDB, nothing fetched
            sql = str(self.con.compile(df))
            self.duckdb.execute(f'CREATE OR REPLACE TABLE "{name}" AS {sql}')

    def append(self, name: str, df: pd.DataFrame) -> None:
        """Append rows; create the table on first use."""
        if not self.has(name):
            self.write(name, df)
            return
        self.duckdb.register("__onetoone_df", df)
        try:
            cols = ", ".join(f'"{c}"' for c in df.columns)
            self.duckdb.execute(f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM __onetoone_df')
        finally:
            self.duckdb.unregister("__onetoone_df")

    def drop(self, name: str) -> None:
        self.duckdb.execute(f'DROP TABLE IF EXISTS "{name}"')

    def close(self) -> None:
        self.duckdb.close()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"
