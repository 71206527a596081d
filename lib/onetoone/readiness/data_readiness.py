"""Data-measured readiness: each IDIC stage scored 1-5 from the client's own workspace.

What respondents believe is set beside what the data shows. Each measure is a share (0..1)
computed by the workspace's engine (DuckDB or Spark, through Ibis) and mapped to 1..5 by a fixed rule (:data:`SCALES`); a measure whose
tables or columns are missing is reported as unavailable, with the reason, never guessed.

=======================  =============  ======================================================
measure                  stage          how
=======================  =============  ======================================================
recognition_rate         identify       transactions + interactions tied to a known customer
profile_completeness     identify       mean share of filled profile fields per customer
duplicate_rate           identify       records repeating a customer within one source (lower is better)
value_measurability      differentiate  customers with a measured value in customer_value
margin_measurability     differentiate  transaction lines with a cost, so margin is known
efficient_channel_share  interact       contacts on web, email and sms
contact_history_coverage interact       customers with at least one recognised contact
offer_coverage           customize      customers with at least one personalised recommendation
=======================  =============  ======================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from .. import columns as C
from .model import STAGES

EFFICIENT_CHANNELS: tuple[str, ...] = ("web", "email", "sms")
"""Automated, cheap channels: the share of contacts on them measures Interact's efficiency."""

VALUE_COLUMNS: tuple[str, ...] = (C.CLV, C.CONTRIBUTION, C.GROSS_MARGIN, C.REVENUE)
"""customer_value columns that count as a measured value (any one non-empty)."""

PROFILE_FIELDS: tuple[str, ...] = (C.FIRST_NAME, C.LAST_NAME, C.EMAIL, C.PHONE, C.STREET,
                                   C.POSTCODE, C.CITY, C.BIRTH_DATE)


@dataclass(frozen=True)
class Scale:
    """Map a share onto 1..5 linearly between ``worst`` (score 1) and ``best`` (score 5)."""

    worst: float
    best: float

    def score(self, x: float) -> float:
        t = (x - self.worst) / (self.best - self.worst)
        return float(1 + 4 * np.clip(t, 0.0, 1.0))


SCALES: dict[str, Scale] = {
    "recognition_rate": Scale(0.2, 0.95),
    "profile_completeness": Scale(0.2, 0.9),
    "duplicate_rate": Scale(0.25, 0.01),  # fewer duplicates is better
    "value_measurability": Scale(0.0, 0.95),
    "margin_measurability": Scale(0.0, 0.95),
    "efficient_channel_share": Scale(0.05, 0.6),
    "contact_history_coverage": Scale(0.05, 0.8),
    "offer_coverage": Scale(0.0, 0.8),
}

MEASURES: dict[str, tuple[str, str]] = {
    "recognition_rate": ("identify", "transactions and contacts tied to a known customer"),
    "profile_completeness": ("identify", "profile fields filled per customer"),
    "duplicate_rate": ("identify", "records repeating a customer within one source system"),
    "value_measurability": ("differentiate", "customers with a measured value"),
    "margin_measurability": ("differentiate", "order lines with a cost (margin known)"),
    "efficient_channel_share": ("interact", "contacts on web, email or sms"),
    "contact_history_coverage": ("interact", "customers with a recognised contact history"),
    "offer_coverage": ("customize", "customers with a personalised offer"),
}


def _columns(ws, table: str) -> set[str]:
    if not ws.has(table):
        return set()
    return set(ws.table(table).columns)


def _scalar(expr) -> float | None:
    """An Ibis scalar, computed by the workspace's engine (DuckDB or Spark)."""
    v = expr.to_pyarrow().as_py()
    return None if v is None else float(v)


def _flag(cond) -> ibis.Value:
    """1 where ``cond`` holds, 0 where it does not or is null (SQL's CASE WHEN); integers, so
    their mean is a double on every engine (Spark reads a bare 1.0 as a decimal, whose mean
    it rounds to 5 places)."""
    return ibis.ifelse(cond.fill_null(False), 1, 0)


def _ratio(num, den) -> float | None:
    """``num / den`` of two Ibis integer scalars; None when ``den`` is 0 (SQL's nullif)."""
    n, d = _scalar(num), _scalar(den)
    return None if n is None or not d else n / d


STAGE_INPUTS: dict[str, tuple[tuple[str, ...], str]] = {
    "identify": (("customer_records",),
                 "no customer records, so nothing identifies a customer across systems"),
    "differentiate": (("transactions",), "no transactions, so no customer's value is known"),
    "interact": (("interactions",), "no interactions, so no contact history is known"),
    "customize": (("products", "recommendations"),
                  "no product catalogue and no recommendations, so nothing is tailored"),
}
"""The inputs a stage cannot be scored without (any one of them with rows will do): when all
are absent or empty, every measure of the stage is unavailable, with this reason (a stage with
nothing to work on gets no score, not a perfect one)."""


def _rows_of(ws, table: str) -> int:
    if not ws.has(table):
        return 0
    return ws.count(table)


def measure_data_readiness(ws, *, customer_id: str = C.CUSTOMER_ID, record_key: str = C.RECORD_KEY,
                           channel: str = C.CHANNEL, cost: str = C.COST,
                           efficient_channels: tuple[str, ...] = EFFICIENT_CHANNELS,
                           value_columns: tuple[str, ...] = VALUE_COLUMNS) -> pd.DataFrame:
    """Measure readiness from the workspace; one row per measure.

    Parameters
    ----------
    ws
        The client's :class:`~onetoone.workspace.Workspace` (tables may be missing).

    Returns
    -------
    DataFrame
        stage, measure, label, value (share 0..1 or NaN), score (1..5 or NaN), available (bool),
        note (how it was measured, or why it is unavailable).
    """
    rows: list[dict] = []

    def add(measure: str, value: float | None, note: str) -> None:
        stage, label = MEASURES[measure]
        ok = value is not None and np.isfinite(value)
        rows.append({"stage": stage, "measure": measure, "label": label,
                     "value": float(value) if ok else np.nan,
                     "score": round(SCALES[measure].score(value), 2) if ok else np.nan,
                     "available": bool(ok), "note": note})

    cols = {t: _columns(ws, t) for t in ("record_map", "customers", "customer_records", "transactions",
                                         "interactions", "customer_value", "recommendations",
                                         "contact_plan")}
    has_map = {record_key, customer_id} <= cols["record_map"]
    events = [t for t in ("transactions", "interactions") if record_key in cols[t]]

    # each measure is an Ibis expression computed by the workspace's engine; only the share
    # (one number) comes back
    # -- identify ---------------------------------------------------------------------------
    if events and has_map:
        rm = ws.table("record_map")
        m = rm.select(__rk=rm[record_key], __cid=rm[customer_id]).distinct()
        parts = []
        for t in events:
            e = ws.table(t).select(__ek=ws.table(t)[record_key])
            j = e.left_join(m, e["__ek"] == m["__rk"])
            parts.append(j.select(known=_flag(j["__ek"].notnull() & j["__cid"].notnull())))
        v = _scalar(ibis.union(*parts, distinct=False)["known"].mean())
        add("recognition_rate", v, f"{' and '.join(events)} joined to record_map")
    elif events:
        parts = [ws.table(t).select(known=_flag(ws.table(t)[record_key].notnull())) for t in events]
        v = _scalar(ibis.union(*parts, distinct=False)["known"].mean())
        add("recognition_rate", v, f"no record_map yet: share of {' and '.join(events)} with any "
                                   "source record (run identify for the linked rate)")
    else:
        add("recognition_rate", None, "unavailable: no transactions or interactions with record keys")

    prof_table = "customers" if cols["customers"] else ("customer_records" if cols["customer_records"] else None)
    fields = [f for f in PROFILE_FIELDS if prof_table and f in cols[prof_table]]
    if fields:
        p = ws.table(prof_table)
        filled = sum(_flag(p[f].notnull() & (p[f].cast("string").strip() != "")) for f in fields)
        v = _scalar((filled / len(fields)).mean())
        add("profile_completeness", v, f"{len(fields)} profile fields in {prof_table}")
    else:
        add("profile_completeness", None, "unavailable: no customers or customer_records table")

    if has_map:
        # records of one customer in one source system beyond the first are duplicates; the same
        # customer known to several systems is what Identify links, not a duplicate
        rm = ws.table("record_map")
        system = rm[record_key].split(":")[0]
        pairs = rm.select(__cid=rm[customer_id], __sys=system).distinct().count()
        r = _ratio(pairs, rm[record_key].nunique())
        add("duplicate_rate", None if r is None else 1 - r,
            "records that repeat a customer within one source system (record_map)")
    else:
        add("duplicate_rate", None, "unavailable: no record_map (run identify)")

    # -- differentiate ------------------------------------------------------------------------
    cv = cols["customer_value"]
    if customer_id in cv:
        value_cols = [c for c in value_columns if c in cv]
        base = "customers" if customer_id in cols["customers"] else "customer_value"
        if value_cols:
            val = ws.table("customer_value")
            b = ws.table(base).select(__b=ws.table(base)[customer_id]).distinct()
            j = b.left_join(val, b["__b"] == val[customer_id])
            anyv = ibis.or_(*(j[c].notnull() for c in value_cols))
            v = _scalar(_flag(anyv).mean())
            add("value_measurability", v, f"customers in {base} with a value in customer_value")
        else:
            add("value_measurability", None, f"unavailable: customer_value has none of {list(value_columns)}")
    else:
        add("value_measurability", None, "unavailable: no customer_value (run differentiate)")

    if cost in cols["transactions"]:
        tx = ws.table("transactions")
        v = _scalar(_flag(tx[cost].notnull()).mean())
        add("margin_measurability", v, "transaction lines with a cost")
    else:
        add("margin_measurability", None, "unavailable: transactions have no cost column")

    # -- interact ---------------------------------------------------------------------------
    if channel in cols["interactions"]:
        it = ws.table("interactions")
        v = _scalar(_flag(it[channel].isin(list(efficient_channels))).mean())
        add("efficient_channel_share", v, f"interactions on {', '.join(efficient_channels)}")
    else:
        add("efficient_channel_share", None, "unavailable: no interactions with a channel")

    if has_map and record_key in cols["interactions"]:
        rm, it = ws.table("record_map"), ws.table("interactions")
        e = it.select(__ik=it[record_key])
        j = e.join(rm, e["__ik"] == rm[record_key])
        v = _ratio(j[customer_id].nunique(), rm[customer_id].nunique())
        add("contact_history_coverage", v, "customers with at least one recognised interaction")
    else:
        add("contact_history_coverage", None,
            "unavailable: needs interactions with record keys and a record_map")

    # -- customize --------------------------------------------------------------------------
    if customer_id in cols["recommendations"]:
        base = ("customers" if customer_id in cols["customers"] else
                "record_map" if has_map else "recommendations")
        r = ws.table("recommendations")
        v = _ratio(r[customer_id].nunique(), ws.table(base)[customer_id].nunique())
        add("offer_coverage", v, f"customers in {base} with a recommendation")
    else:
        add("offer_coverage", None, "unavailable: no recommendations (run customize)")
    out = pd.DataFrame(rows)
    for stage, (tables, why) in STAGE_INPUTS.items():
        if not any(_rows_of(ws, t) for t in tables):
            m = (out["stage"] == stage) & out["available"]
            out.loc[m, ["value", "score"]] = np.nan
            out.loc[m, "available"] = False
            out.loc[m, "note"] = f"unavailable: {why}"
    return out


def stage_data_scores(measures: pd.DataFrame) -> pd.DataFrame:
    """One data-measured score per stage: the mean of its available measures.

    Returns stage, data_score (NaN when nothing is measurable), measured, unavailable (names).
    """
    out = []
    for stage in STAGES:
        m = measures[measures["stage"] == stage]
        ok = m[m["available"]]
        out.append({"stage": stage,
                    "data_score": round(float(ok["score"].mean()), 2) if len(ok) else np.nan,
                    "measured": ", ".join(ok["measure"]),
                    "unavailable": ", ".join(m.loc[~m["available"], "measure"])})
    return pd.DataFrame(out)
