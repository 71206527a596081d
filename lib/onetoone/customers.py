"""Who a row belongs to: the resolved customer when Identify has run, the source record otherwise.

Every stage after Identify works on ``customer_id``. Before Identify has written ``record_map``,
each source record counts as its own customer (``customer_id = record_key``), so Differentiate,
Interact and Customize still run on a client whose records have not been resolved yet.
Anonymous rows (no record key) keep a null customer id and count as unrecognised.
"""

from __future__ import annotations

import ibis

from . import columns as C
from .workspace import Workspace

RECORD_MAP = "record_map"


def identified(ws: Workspace) -> bool:
    """Has Identify written the record -> customer map?"""
    return ws.has(RECORD_MAP)


def with_customer_id(ws: Workspace, table: str | ibis.Table, *, record_key: str = C.RECORD_KEY,
                     customer_id: str = C.CUSTOMER_ID) -> ibis.Table:
    """``table`` (a workspace table name or expression) with a ``customer_id`` column added.

    The join happens inside DuckDB; nothing is fetched.
    """
    t = ws.table(table) if isinstance(table, str) else table
    if customer_id in t.columns:
        t = t.drop(customer_id)
    if not identified(ws):
        return t.mutate(**{customer_id: t[record_key]})
    m = ws.table(RECORD_MAP).select(
        __rk=ws.table(RECORD_MAP)[record_key], __cid=ws.table(RECORD_MAP)[customer_id])
    j = t.left_join(m, t[record_key] == m["__rk"])
    return j.mutate(**{customer_id: ibis.coalesce(j["__cid"], j[record_key])}).drop("__rk", "__cid")


def spread_sample(ws: Workspace, table: str = "customer_records", n: int = 6,
                  key: str = C.RECORD_KEY):
    """``n`` rows of ``table`` spread evenly over its ``key`` order (so every source system
    shows when keys are ``<system>:<id>``), the same rows on either engine, as pandas."""
    t = ws.table(table)
    total = ws.count(table)
    step = max(1, total // max(n, 1))
    rn = ibis.row_number().over(order_by=t[key])
    picked = t.mutate(__rn=rn)
    picked = picked.filter(picked["__rn"] % step == 0).order_by(key).limit(n)
    return picked.drop("__rn").to_pandas()
