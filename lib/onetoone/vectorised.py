"""pandas functions as vectorised UDFs of the workspace's engine, one small function per engine.

Some record-scale steps are Python by nature: normalising a phone number takes
``phonenumbers``, a name ``unidecode`` and the nickname table. :func:`series_udf` wraps a
function from pandas Series to a pandas Series (the very functions the library applies to a
DataFrame, e.g. :func:`onetoone.identify.normalise.normalise_phone`) as an Ibis scalar UDF on
the backend of the table it is applied to, so it runs where the data are: on DuckDB as an
Arrow UDF (a batch of rows per call, in this process), on Spark as a pandas UDF on the
executors (a batch of rows per call, on the cluster). Either way the function sees whole
batches, so its once-per-distinct-value caching still pays, and the result is the same to the
bit on both engines: the same Python code computes it.

On a cluster the executors' Python needs onetoone installed (as for the recommenders' scoring).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import ibis
import ibis.expr.datatypes as dt
import pandas as pd
import pyarrow as pa

SeriesFn = Callable[..., pd.Series]


def _duckdb_udf(fn: SeriesFn, name: str, args: tuple, out: dt.DataType):
    """DuckDB: an Arrow UDF (DuckDB hands a batch of rows as Arrow arrays)."""
    arrow_out = out.to_pyarrow()

    def call(*arrays):
        series = [a.to_pandas() for a in arrays]
        res = pd.Series(fn(*series))
        if out.is_timestamp():
            res = pd.to_datetime(res).astype("datetime64[us]")
        return pa.Array.from_pandas(res.to_numpy() if out.is_timestamp() else res.astype(object)
                                    .where(res.notna(), None), type=arrow_out)

    call.__name__ = name
    return ibis.udf.scalar.pyarrow(call, name=name, signature=(args, out),
                                   null_handling="special")  # nulls in, nulls out: ours


def _spark_udf(fn: SeriesFn, name: str, args: tuple, out: dt.DataType):
    """Spark: a pandas UDF (Spark hands a batch of rows as pandas Series, on the executors)."""
    def call(*series):
        res = pd.Series(fn(*series))
        if out.is_timestamp():
            return pd.to_datetime(res).astype("datetime64[us]")
        return res.astype(object).where(res.notna(), None)

    call.__name__ = name
    return ibis.udf.scalar.pandas(call, name=name, signature=(args, out))


_BACKENDS = {"duckdb": _duckdb_udf, "pyspark": _spark_udf}


def series_udf(table: ibis.Table, fn: SeriesFn, name: str, args: tuple = (dt.string,),
               out: dt.DataType = dt.string):
    """``fn`` (pandas Series in, pandas Series out, element-wise) as a UDF of ``table``'s
    backend; call the result on the table's columns. ``name`` must be unique per function and
    its parameters (it is the UDF's name in the engine)."""
    backend = table._find_backend().name
    make = _BACKENDS.get(backend)
    if make is None:
        raise NotImplementedError(f"no vectorised UDF for the {backend!r} backend; "
                                  f"expected one of {sorted(_BACKENDS)}")
    return make(fn, name, tuple(dt.dtype(a) for a in args), dt.dtype(out))


def local_table(df: pd.DataFrame, name: str = "frame") -> ibis.Table:
    """A DataFrame as a table of a private in-memory DuckDB (the library's DataFrame functions
    run their engine expressions on it)."""
    con = ibis.duckdb.connect()
    con.raw_sql("SET enable_progress_bar = false")
    con.con.register("__onetoone_frame", df)
    con.raw_sql(f'CREATE TEMP TABLE "{name}" AS SELECT * FROM __onetoone_frame')
    con.con.unregister("__onetoone_frame")
    return con.table(name)


def _duckdb_materialise(expr: ibis.Table, name: str) -> ibis.Table:
    con = expr._find_backend()
    con._run_pre_execute_hooks(expr)  # its UDFs and memtables
    con.raw_sql(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {con.compile(expr)}')
    return con.table(name)


def _spark_materialise(expr: ibis.Table, name: str) -> ibis.Table:
    con = expr._find_backend()
    con._run_pre_execute_hooks(expr)
    con._session.sql(con.compile(expr)).localCheckpoint(eager=True).createOrReplaceTempView(name)
    return con.table(name)


_MATERIALISE = {"duckdb": _duckdb_materialise, "pyspark": _spark_materialise}


def materialise(expr: ibis.Table, name: str) -> ibis.Table:
    """Compute ``expr`` once and keep it in the engine as the session's temporary table (or
    view) ``name``; later expressions read it instead of recomputing (its UDFs run once).
    On DuckDB a temporary table, on Spark a checkpointed view held by the executors."""
    backend = expr._find_backend().name
    return _MATERIALISE[backend](expr, name)


def sha1_prefix(keys: pd.Series, prefix: str = "C", digits: int = 10) -> pd.Series:
    """``prefix`` + the first ``digits`` hex digits (upper case) of each key's SHA-1."""
    return keys.map(lambda k: None if pd.isna(k) else
                    prefix + hashlib.sha1(str(k).encode("utf-8")).hexdigest()[:digits].upper())


__all__ = ["local_table", "materialise", "series_udf", "sha1_prefix"]
