"""Recognition rate: the share of activity tied to a known customer, where it happened.

A transaction or interaction is *recognised* when it carries a record key that Identify
resolved to a customer (``record_map``). Anonymous rows (no record key) and rows whose key
matches no customer record count as unrecognised. The work is one GROUP BY in DuckDB through
Ibis; only the per-group counts come back.
"""

from __future__ import annotations

import ibis
import pandas as pd

from .. import columns as C
from ..workspace import Workspace

ACTIVITY = ("transactions", "interactions")
DIMENSIONS = (C.CHANNEL, C.LOCATION, C.DIVISION, C.SOURCE_SYSTEM)


def _recognised(ws: Workspace, table: str) -> ibis.Table:
    t = ws.table(table)
    if ws.has("record_map"):
        rm = ws.table("record_map").select(__rk=C.RECORD_KEY).distinct()
    else:
        rm = ws.table("customer_records").select(__rk=C.RECORD_KEY).distinct()
    j = t.left_join(rm, t[C.RECORD_KEY] == rm["__rk"])
    return j.mutate(recognised=j["__rk"].notnull()).drop("__rk")


def recognition_rate(ws: Workspace, table: str, by: str | None = None) -> pd.DataFrame:
    """Rows and recognised rows of ``table`` (transactions or interactions), overall or per
    value of ``by`` (channel, location, division, source_system).

    Returns
    -------
    pandas.DataFrame
        ``by`` (or ``"all"``), rows, recognised, rate; for transactions also amount,
        recognised_amount and amount_rate (the share of revenue from known customers).
        Sorted by rows, largest first. Missing ``by`` values show as "(none)".
    """
    if table not in ACTIVITY:
        raise ValueError(f"recognition is measured on {ACTIVITY}; found {table!r}")
    t = _recognised(ws, table)
    key = by or "all"
    if by is None:
        t = t.mutate(all=ibis.literal("all"))
    elif by not in t.columns:
        raise KeyError(f"{table} has no column {by!r}; expected one of {DIMENSIONS}")
    else:
        t = t.mutate(**{by: t[by].cast("string").fill_null("(none)")})
    aggs = {"rows": t.count(), "recognised": t.recognised.cast("int64").sum()}
    if table == "transactions":
        aggs["amount"] = t[C.AMOUNT].sum()
        aggs["recognised_amount"] = t.recognised.ifelse(t[C.AMOUNT], 0.0).sum()
    df = t.group_by(key).aggregate(**aggs).to_pandas()
    df["rate"] = df["recognised"] / df["rows"]
    if table == "transactions":
        df["amount_rate"] = df["recognised_amount"] / df["amount"].where(df["amount"] != 0)
    return df.sort_values("rows", ascending=False).reset_index(drop=True)


def recognition_summary(ws: Workspace) -> tuple[pd.DataFrame, list[str]]:
    """Recognition of every activity table present, overall and by each dimension it has.

    Returns
    -------
    (pandas.DataFrame, list of str)
        Long table: table, dimension, value, rows, recognised, rate; and one sentence per
        activity table that is missing, saying what it would add.
    """
    parts, missing = [], []
    for table in ACTIVITY:
        if not ws.has(table) or ws.count(table) == 0:
            missing.append(f"no {table}: load them to measure how much of that activity is tied "
                           "to a known customer")
            continue
        cols = ws.table(table).columns
        for dim in (None, *DIMENSIONS):
            if dim is not None and dim not in cols:
                continue
            if dim is not None:
                nn = ws.table(table)[dim].notnull().sum().to_pyarrow().as_py()
                if not nn:
                    continue
            r = recognition_rate(ws, table, dim)
            r = r.rename(columns={dim or "all": "value"})
            r.insert(0, "dimension", dim or "all")
            r.insert(0, "table", table)
            parts.append(r[["table", "dimension", "value", "rows", "recognised", "rate"]])
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["table", "dimension", "value", "rows", "recognised", "rate"])
    return out, missing
