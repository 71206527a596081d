"""Map, coerce and validate a source; write good rows to the workspace, bad ones to quarantine.

Row-level rules (a row that breaks one is quarantined with file, line, column, value, reason):
an empty required value (identifiers, dates, amounts), an unparseable required date or
number, an event dated after the config's as-of date, a duplicate key, an unknown channel or
rule. A bad *optional* value (a birth date that is not a date) is cleared and recorded with
action ``value cleared``; the rest of that row is kept, so nothing usable is lost.
Re-ingesting a source first deletes that source's earlier rows, so it never duplicates.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import columns as C
from ..config import ClientConfig, Source
from ..workspace import Workspace
from .readers import FILE_COL, ROW_COL, IngestError, read_source

SOURCE_COL = "source"  # config source name, kept on every canonical row (re-ingest replaces by it)
QUARANTINE = "quarantine"
INGEST_LOG = "ingest_log"
QUARANTINE_COLUMNS = ["source", "table", "file", "row", "column", "value", "reason", "action"]

_DDL_TYPES = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN",
              "date": "DATE", "timestamp": "TIMESTAMP"}
_EVENT_DATES = {"transactions": C.DATE, "interactions": C.DATE}


@dataclass
class SourceResult:
    """What happened to one source: counts add up (read = loaded + quarantined)."""

    source: str
    table: str
    files: list[str]
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    cleared: int = 0
    seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"{self.source} -> {self.table}: read {self.read:,}, loaded {self.loaded:,}, "
                 f"quarantined {self.quarantined:,}, values cleared {self.cleared:,} "
                 f"({self.seconds:.1f} s)"]
        for reason, n in sorted(self.reasons.items(), key=lambda kv: -kv[1]):
            lines.append(f"    {n:>8,}  {reason}")
        return "\n".join(lines)


def table_columns(table: str) -> list[tuple[str, str]]:
    """(name, dtype) of a canonical table as stored: keys first, then the canonical columns."""
    cols = [(c.name, c.dtype) for c in C.columns_of(table)]
    if table in C.LINKED_TABLES:
        cols = [(C.SOURCE_SYSTEM, "str"), (C.RECORD_KEY, "str")] + cols
    return [(SOURCE_COL, "str")] + cols


def ensure_table(ws: Workspace, table: str) -> None:
    cols = ", ".join(f'"{n}" {_DDL_TYPES[t]}' for n, t in table_columns(table))
    ws.duckdb.execute(f'CREATE TABLE IF NOT EXISTS "{table}" ({cols})')


def ensure_quarantine(ws: Workspace) -> None:
    ws.duckdb.execute(
        f'CREATE TABLE IF NOT EXISTS {QUARANTINE} (source VARCHAR, "table" VARCHAR, file VARCHAR, '
        'row BIGINT, "column" VARCHAR, value VARCHAR, reason VARCHAR, action VARCHAR, '
        'ingested_at TIMESTAMP)')
    ws.duckdb.execute(
        f'CREATE TABLE IF NOT EXISTS {INGEST_LOG} (source VARCHAR, "table" VARCHAR, files VARCHAR, '
        '"read" BIGINT, loaded BIGINT, quarantined BIGINT, cleared BIGINT, seconds DOUBLE, '
        'ingested_at TIMESTAMP)')


class _Checker:
    """Collects problems for one source's frame; rows with a fatal problem are dropped later."""

    def __init__(self, df: pd.DataFrame, source: Source, table: str):
        self.df = df
        self.source = source
        self.table = table
        self.bad = np.zeros(len(df), dtype=bool)
        self.issues: list[pd.DataFrame] = []

    def flag(self, mask: np.ndarray | pd.Series, column: str, reason: str, fatal: bool,
             values: pd.Series | None = None) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        idx = np.flatnonzero(mask)
        vals = values if values is not None else self.df.get(column)
        vals = (pd.Series("", index=idx) if vals is None
                else pd.Series(vals).iloc[idx].astype(object).where(lambda v: v.notna(), ""))
        self.issues.append(pd.DataFrame({
            "source": self.source.name, "table": self.table,
            "file": self.df[FILE_COL].iloc[idx].to_numpy(dtype=object),
            "row": self.df[ROW_COL].iloc[idx].to_numpy(),
            "column": column, "value": vals.astype(str).to_numpy(dtype=object),
            "reason": reason, "action": "row quarantined" if fatal else "value cleared",
        }))
        if fatal:
            self.bad[idx] = True


def _blank(s: pd.Series) -> np.ndarray:
    return s.isna().to_numpy(dtype=bool) | (s.str.strip() == "").to_numpy(dtype=bool, na_value=True)


def _clean_number_text(s: pd.Series, decimal: str) -> pd.Series:
    text = s.astype(str).str.strip().str.replace(r"[\s\u00a0£$€]", "", regex=True)
    if decimal == ",":
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        text = text.str.replace(",", "", regex=False)
    return text.where(text != "")


def _to_number(s: pd.Series, decimal: str) -> pd.Series:
    """Numbers as the client wrote them: thousands separators, currency signs, decimal commas."""
    if decimal == ",":
        return pd.to_numeric(_clean_number_text(s, decimal), errors="coerce")
    stripped = s.str.strip()
    out = pd.to_numeric(stripped.where(stripped != ""), errors="coerce").astype("float64")
    retry = out.isna().to_numpy() & (stripped != "").to_numpy(dtype=bool, na_value=False)
    if retry.any():  # only the unusual cells pay for the slow clean-up
        out.iloc[np.flatnonzero(retry)] = pd.to_numeric(
            _clean_number_text(s.iloc[np.flatnonzero(retry)], decimal), errors="coerce").to_numpy()
    return out


def _to_datetime(s: pd.Series, fmt: str | None) -> pd.Series:
    text = s.astype(str).str.strip()
    text = text.where(text != "")
    if fmt:
        out = pd.to_datetime(text, format=fmt, errors="coerce")
    else:
        out = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True).dt.tz_localize(None)
    return out


def _to_bool(s: pd.Series, source: Source) -> tuple[pd.Series, np.ndarray]:
    text = s.astype(str).str.strip().str.lower()
    truthy = {v.lower() for v in source.true_values}
    falsy = {v.lower() for v in source.false_values}
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[text.isin(truthy)] = True
    out[text.isin(falsy)] = False
    unknown = (~text.isin(truthy | falsy) & (text != "")).to_numpy()
    return out, unknown


def coerce_and_validate(df: pd.DataFrame, source: Source, cfg: ClientConfig,
                        existing_keys: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn a source's text frame into typed canonical rows and quarantine records.

    Returns ``(good, issues)``: ``good`` has exactly the stored columns of the table;
    ``issues`` has QUARANTINE_COLUMNS (fatal ones and cleared values).
    """
    table = source.table
    canon = {c.name: c for c in C.columns_of(table)}
    missing_required = [n for n, c in canon.items() if c.required and n not in df.columns]
    if missing_required:
        files = sorted(set(df[FILE_COL]))
        raise IngestError(source, files[0] if len(files) == 1 else None,
                          f"required column(s) {missing_required} of table {table!r} are not mapped "
                          f"or not in the file; mapped columns found: "
                          f"{[c for c in df.columns if c in canon]}")
    chk = _Checker(df, source, table)
    out: dict[str, pd.Series] = {}
    as_of_end = pd.Timestamp(cfg.as_of) + pd.Timedelta(days=1)
    for name, col in canon.items():
        if name not in df.columns:
            out[name] = pd.Series(pd.NA, index=df.index)
            continue
        raw = df[name]
        if name in source.values:  # client vocabulary -> canonical
            m = source.values[name]
            stripped = raw.str.strip()
            raw = stripped.map(m).fillna(stripped)
        blank = _blank(raw)
        if col.required:
            what = "empty identifier" if name.endswith("_id") else f"empty required value"
            chk.flag(blank, name, f"{what} ({name})", fatal=True)
        if col.dtype == "str":
            val = raw.astype(str).str.strip().where(~blank)
        elif col.dtype in ("float", "int"):
            val = _to_number(raw, source.decimal)
            bad = val.isna().to_numpy() & ~blank
            label = "non-numeric amount" if name in (C.AMOUNT, C.PRICE, C.COST) else "not a number"
            chk.flag(bad, name, f"{label} ({name}, decimal '{source.decimal}')", fatal=col.required)
            if col.dtype == "int":
                frac = val.notna().to_numpy() & (val.fillna(0) % 1 != 0).to_numpy()
                chk.flag(frac, name, f"not a whole number ({name})", fatal=col.required)
                val = val.where(~frac).round().astype("Int64")
        elif col.dtype in ("date", "timestamp"):
            val = _to_datetime(raw, source.date_format)
            bad = val.isna().to_numpy() & ~blank
            expected = source.date_format or "ISO 8601"
            chk.flag(bad, name, f"unparseable date ({name}, expected {expected})", fatal=col.required)
            late = (val >= as_of_end).fillna(False).to_numpy()
            if name == _EVENT_DATES.get(table) or name in (C.CREATED_AT, C.UPDATED_AT, C.BIRTH_DATE,
                                                           C.CONSENT_DATE):
                fatal = name == _EVENT_DATES.get(table)
                chk.flag(late, name, f"date after the as-of date {cfg.as_of} ({name})", fatal=fatal)
                val = val.where(~late)
            if col.dtype == "date":
                val = val.dt.normalize()
        elif col.dtype == "bool":
            val, unknown = _to_bool(raw, source)
            chk.flag(unknown, name, f"not a yes/no value ({name}; expected one of "
                     f"{source.true_values + source.false_values})", fatal=col.required)
        else:  # pragma: no cover - the data model only uses the types above
            raise AssertionError(col.dtype)
        out[name] = val
    good = pd.DataFrame(out, index=df.index)

    # vocabularies
    if C.CHANNEL in good:
        ch = good[C.CHANNEL].str.lower().str.replace(" ", "_")
        unknown = (ch.notna() & ~ch.isin(C.CHANNELS)).to_numpy()
        chk.flag(unknown, C.CHANNEL, f"unknown channel (expected one of {list(C.CHANNELS)}; map "
                 f"client values under sources[{source.name}].values.channel)", fatal=True,
                 values=df.get(C.CHANNEL))
        good[C.CHANNEL] = ch
    if C.DIRECTION in good:
        d = good[C.DIRECTION].str.lower()
        unknown = (d.notna() & ~d.isin(C.DIRECTIONS)).to_numpy()
        chk.flag(unknown, C.DIRECTION, f"unknown direction (expected {list(C.DIRECTIONS)})",
                 fatal=False)
        good[C.DIRECTION] = d.where(~unknown)
    if C.RULE in good and table == "component_rules":
        r = good[C.RULE].str.lower()
        chk.flag((r.notna() & ~r.isin(C.RULES)).to_numpy(), C.RULE,
                 f"unknown rule (expected {list(C.RULES)})", fatal=True)
        good[C.RULE] = r
    if C.SATISFACTION in good:
        s = good[C.SATISFACTION]
        bad = (s.notna() & ((s < 1) | (s > 5))).to_numpy()
        chk.flag(bad, C.SATISFACTION, "satisfaction outside 1-5", fatal=False)
        good[C.SATISFACTION] = s.where(~bad)

    # keys and duplicates (first occurrence wins; later ones are quarantined)
    key = list(C.UNIQUE_KEYS[table])
    key_in_frame = [k for k in key if k != C.SOURCE_SYSTEM]
    alive = ~chk.bad
    keyframe = good[key_in_frame].astype(str)
    dup = keyframe.duplicated(keep="first").to_numpy() & alive
    chk.flag(dup, key_in_frame[0], f"duplicate {'+'.join(key_in_frame)} within the source",
             fatal=True, values=good[key_in_frame[0]])
    if existing_keys is not None and len(existing_keys):
        k = keyframe.agg("|".join, axis=1) if len(key_in_frame) > 1 else keyframe[key_in_frame[0]]
        ek = (existing_keys.astype(str).agg("|".join, axis=1) if existing_keys.shape[1] > 1
              else existing_keys.iloc[:, 0].astype(str))
        clash = k.isin(set(ek)).to_numpy() & ~chk.bad
        chk.flag(clash, key_in_frame[0], f"duplicate {'+'.join(key_in_frame)}: already loaded "
                 "from another source", fatal=True, values=good[key_in_frame[0]])

    good = good.loc[~chk.bad].copy()
    good.insert(0, SOURCE_COL, source.name)
    if table in C.LINKED_TABLES:
        rid = good[C.RECORD_ID]
        good.insert(1, C.SOURCE_SYSTEM, source.system)
        good.insert(2, C.RECORD_KEY, (source.system + ":" + rid.astype(str)).where(rid.notna()))
    if table == "customer_records" and C.COUNTRY in good:
        good[C.COUNTRY] = good[C.COUNTRY].fillna(cfg.country)
    issues = (pd.concat(chk.issues, ignore_index=True) if chk.issues
              else pd.DataFrame(columns=QUARANTINE_COLUMNS))
    return good[[n for n, _ in table_columns(table)]], issues


def ingest_source(ws: Workspace, cfg: ClientConfig, source: Source) -> SourceResult:
    """Read, validate and (re)load one source; its earlier rows and quarantine are replaced."""
    t0 = time.perf_counter()
    raw = read_source(cfg, source)
    table = source.table
    ensure_table(ws, table)
    ensure_quarantine(ws)
    key = [k for k in C.UNIQUE_KEYS[table] if k != C.SOURCE_SYSTEM]
    if table == "customer_records":
        existing = None  # record ids are unique per source system, not across systems
        others = ws.duckdb.execute(
            f'SELECT DISTINCT "{SOURCE_COL}" FROM customer_records WHERE "{SOURCE_COL}" <> ? '
            f'AND "{C.SOURCE_SYSTEM}" = ?', [source.name, source.system]).fetchall()
        if others:
            existing = ws.sql(f'SELECT "{C.RECORD_ID}" FROM customer_records WHERE '
                              f'"{C.SOURCE_SYSTEM}" = ? AND "{SOURCE_COL}" <> ?',
                              [source.system, source.name])
    else:
        cols = ", ".join(f'"{k}"' for k in key)
        existing = ws.sql(f'SELECT {cols} FROM "{table}" WHERE "{SOURCE_COL}" <> ?', [source.name])
    good, issues = coerce_and_validate(raw, source, cfg, existing)

    con = ws.duckdb
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f'DELETE FROM "{table}" WHERE "{SOURCE_COL}" = ?', [source.name])
        con.execute(f"DELETE FROM {QUARANTINE} WHERE source = ?", [source.name])
        con.register("__good", good)
        cols = ", ".join(f'"{n}"' for n, _ in table_columns(table))
        con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM __good')
        con.unregister("__good")
        if len(issues):
            issues = issues.assign(ingested_at=pd.Timestamp.now().floor("s"))
            con.register("__issues", issues)
            con.execute(f'INSERT INTO {QUARANTINE} SELECT source, "table", file, row, "column", '
                        'value, reason, action, ingested_at FROM __issues')
            con.unregister("__issues")
        res = SourceResult(source.name, table, sorted(set(raw[FILE_COL])), read=len(raw),
                           loaded=len(good))
        fatal = issues[issues["action"] == "row quarantined"] if len(issues) else issues
        res.quarantined = res.read - res.loaded
        res.cleared = int((issues["action"] == "value cleared").sum()) if len(issues) else 0
        # a row may break several rules: count each quarantined row under its first reason
        if len(fatal):
            first = fatal.drop_duplicates(["file", "row"])
            res.reasons = first["reason"].value_counts().to_dict()
        res.seconds = time.perf_counter() - t0
        con.execute(f"DELETE FROM {INGEST_LOG} WHERE source = ?", [source.name])
        con.execute(f"INSERT INTO {INGEST_LOG} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [res.source, table, ";".join(res.files), res.read, res.loaded, res.quarantined,
                     res.cleared, res.seconds, dt.datetime.now().replace(microsecond=0)])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return res


def ingest(cfg: ClientConfig, ws: Workspace | None = None, sources: list[str] | None = None,
           echo: bool = True) -> list[SourceResult]:
    """Ingest every source of the config (or the named ones) into the client's workspace.

    Products are loaded before the tables that may refer to them. A file-level problem raises
    IngestError naming the file; row-level problems are quarantined and counted.
    """
    own = ws is None
    ws = ws or Workspace.open(cfg)
    order = ["products", "components", "component_rules", "customer_records", "transactions",
             "interactions", "saved_configurations"]
    chosen = [s for s in cfg.sources if sources is None or s.name in sources]
    if sources:
        unknown = sorted(set(sources) - {s.name for s in cfg.sources})
        if unknown:
            raise KeyError(f"no source named {unknown}; the config has {[s.name for s in cfg.sources]}")
    chosen.sort(key=lambda s: order.index(s.table))
    results = []
    try:
        for s in chosen:
            r = ingest_source(ws, cfg, s)
            results.append(r)
            if echo:
                print(r.summary(), flush=True)
    finally:
        if own:
            ws.close()
    return results
