"""Cast and validate a staged source in DuckDB; replace its rows and quarantine in one transaction.

Every rule is SQL on the engine; only the per-source summary comes back to Python. A row that
breaks a rule on a required column (or an unknown channel or rule) is quarantined with file,
true line, column, value and reason; a bad *optional* value is cleared and recorded with action
``value cleared`` and the rest of the row is kept. Rules:

- numbers exactly as declared (``decimal``, ``thousands``): the text must match the declared
  pattern before any separator is removed; the client currency's symbol or code may surround it;
  ``inf``, ``nan`` and values beyond the column's range are refused;
- dates exactly as declared (``date_format`` / ``date_formats``, ISO 8601 when empty): no partial
  dates, no impossible ones; a date after ``as_of`` is refused;
- vocabularies (channel, direction, rule) after the source's ``values`` mapping;
- duplicates are decided among the rows that pass every other rule: the first wins, the later
  ones are quarantined naming the line of the one kept; a key already loaded by another source
  is quarantined too.
Re-ingesting a source deletes its earlier rows and quarantine and inserts the new ones in one
DuckDB transaction: an interrupted ingest leaves the previous state of that source.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import columns as C
from ..config import ClientConfig, Source
from ..workspace import Workspace
from .readers import (
    FILE_COL,
    ORD_COL,
    ROW_COL,
    STAGE,
    FileRead,
    IngestError,
    _lit,
    _q,
    drop_staging,
    stage_source,
)

SOURCE_COL = "source"  # config source name, kept on every canonical row (re-ingest replaces by it)
QUARANTINE = "quarantine"
INGEST_LOG = "ingest_log"
QUARANTINE_COLUMNS = ["source", "table", "file", "row", "column", "value", "reason", "action"]
TYPED = "__ingest_typed"
ISSUES = "__ingest_issues"
INGEST_MEMORY_LIMIT = "500MB"
"""DuckDB's memory limit while ingesting: beyond it the staging tables spill to disk, so a
file ten times larger needs no more memory."""

_DDL_TYPES = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN",
              "date": "DATE", "timestamp": "TIMESTAMP"}
_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥", "CNY": "¥", "INR": "₹", "KRW": "₩",
            "AUD": "$", "CAD": "$", "NZD": "$", "CHF": "Fr.", "SEK": "kr", "NOK": "kr", "DKK": "kr",
            "PLN": "zł", "BRL": "R$", "ZAR": "R", "TRY": "₺", "ILS": "₪"}
_VOCAB = {C.CHANNEL: C.CHANNELS, C.DIRECTION: C.DIRECTIONS, C.RULE: C.RULES}
_VOCAB_FATAL = {C.CHANNEL, C.RULE}
_ISO = (r"^(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?)"
        r"(Z|[+-]\d{2}(?::?\d{2})?)?$")


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
    notes: list[str] = field(default_factory=list)
    refused_files: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [(f"{self.source} -> {self.table}: read {self.read:,}, loaded {self.loaded:,}, "
                 f"quarantined {self.quarantined:,}, values cleared {self.cleared:,} "
                 f"({self.seconds:.1f} s)")]
        for reason, n in sorted(self.reasons.items(), key=lambda kv: -kv[1]):
            lines.append(f"    {n:>8,}  {reason}")
        for msg in self.refused_files.values():
            lines.append(f"    file {msg}")
        for note in self.notes:
            lines.append(f"    note: {note}")
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
    have = {r[0] for r in ws.duckdb.execute(f'DESCRIBE "{table}"').fetchall()}
    for n, t in table_columns(table):  # a column added to columns.py since the table was made
        if n not in have:
            ws.duckdb.execute(f'ALTER TABLE "{table}" ADD COLUMN "{n}" {_DDL_TYPES[t]}')


def ensure_quarantine(ws: Workspace) -> None:
    ws.duckdb.execute(
        f'CREATE TABLE IF NOT EXISTS {QUARANTINE} (source VARCHAR, "table" VARCHAR, file VARCHAR, '
        'row BIGINT, "column" VARCHAR, value VARCHAR, reason VARCHAR, action VARCHAR, '
        'ingested_at TIMESTAMP)')
    ws.duckdb.execute(
        f'CREATE TABLE IF NOT EXISTS {INGEST_LOG} (source VARCHAR, "table" VARCHAR, files VARCHAR, '
        '"read" BIGINT, loaded BIGINT, quarantined BIGINT, cleared BIGINT, seconds DOUBLE, '
        'ingested_at TIMESTAMP)')


# -- SQL per column --------------------------------------------------------------------------
def _rx(ch: str) -> str:
    return re.escape(ch)


def number_pattern(decimal: str, thousands: str | None, native: bool = False) -> str:
    """The RE2 pattern a number must match (after the currency is taken off)."""
    if native:
        return r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
    d = _rx(decimal)
    frac = rf"({d}\d+)?"
    if thousands is None:
        return rf"^[+-]?(\d+{frac}|{d}\d+)$"
    t = "[ \u00a0\u202f]" if thousands in (" ", "\u00a0", "\u202f") else _rx(thousands)
    return rf"^[+-]?(\d{{1,3}}({t}\d{{3}})+|\d+){frac}$|^[+-]?{d}\d+$"


def _number_text_sql(t: str, cfg: ClientConfig, source: Source, native: bool) -> str:
    cur = [re.escape(cfg.currency)]
    if cfg.currency in _SYMBOLS:
        cur.insert(0, re.escape(_SYMBOLS[cfg.currency]))
    cur_rx = "(?:" + "|".join(cur) + ")"
    stripped = (f"regexp_replace(regexp_replace({t}, '^([+-]?)\\s*{cur_rx}\\s*', '\\1'), "
                f"'\\s*{cur_rx}$', '')")
    # only values with a character other than digits, signs and marks pay for the regexes
    return f"CASE WHEN regexp_matches({t}, '[^0-9.,+\\-]') THEN {stripped} ELSE {t} END"


def _to_double_sql(s: str, source: Source, native: bool) -> str:
    if native:
        return f"try_cast({s} AS DOUBLE)"
    x = s
    if source.thousands:
        if source.thousands in (" ", "\u00a0", "\u202f"):
            x = f"regexp_replace({x}, '[ \u00a0\u202f]', '', 'g')"
        else:
            x = f"replace({x}, {_lit(source.thousands)}, '')"
    if source.decimal != ".":
        x = f"replace({x}, {_lit(source.decimal)}, '.')"
    return f"try_cast({x} AS DOUBLE)"


def _iso_sql(t: str) -> str:
    base = f"try_cast(regexp_extract({t}, {_lit(_ISO)}, 1) AS TIMESTAMP)"
    off = f"regexp_extract({t}, {_lit(_ISO)}, 2)"
    minutes = (f"(CASE WHEN {off} IN ('', 'Z') THEN 0 ELSE "
               f"(CASE WHEN left({off}, 1) = '-' THEN -1 ELSE 1 END) * "
               f"(CAST(substr({off}, 2, 2) AS INTEGER) * 60 + "
               f"coalesce(try_cast(nullif(right(replace({off}, ':', ''), 2), "
               f"substr({off}, 2, 2)) AS INTEGER), 0)) END)")
    # the offset only counts after a time (2024-01-05 alone has no offset)
    return (f"CASE WHEN regexp_full_match({t}, {_lit(_ISO)}) AND NOT regexp_full_match({t}, "
            r"'^\d{4}-\d{2}-\d{2}[+-].*$') THEN "
            f"{base} - to_minutes(CAST({minutes} AS BIGINT)) END")


@dataclass
class _Col:
    name: str
    text: str  # the trimmed text after the values mapping (NULL when empty)
    parsed: str  # the typed value
    error: str  # SQL giving the reason, or NULL
    fatal: bool
    mid: list[tuple[str, str]] = field(default_factory=list)  # (alias, SQL on the text), computed once


def _column_sql(col: C.Column, source: Source, cfg: ClientConfig, kinds: dict[str, str]) -> _Col:
    q = _q(col.name)
    raw = f"nullif(trim({q}), '')"
    mapping = source.values.get(col.name)
    if mapping:
        cases = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in mapping.items())
        text = f"(CASE {raw} {cases} ELSE {raw} END)"
    else:
        text = raw
    t = f"t_{col.name}"
    tq = _q(t)
    errs: list[tuple[str, str]] = []
    fatal = col.required
    if col.required:
        what = "empty identifier" if col.name.endswith("_id") else "empty required value"
        errs.append((f"{tq} IS NULL", f"{what} ({col.name})"))
    as_of_end = f"TIMESTAMP '{cfg.as_of + dt.timedelta(days=1)} 00:00:00'"
    mid: list[tuple[str, str]] = []
    if col.dtype == "str":
        parsed = tq
        if col.name in _VOCAB and (col.name != C.RULE or source.table == "component_rules"):
            vocab = _VOCAB[col.name]
            parsed = f"lower(replace({tq}, ' ', '_'))" if col.name == C.CHANNEL else f"lower({tq})"
            listed = ", ".join(_lit(v) for v in vocab)
            hint = (f"; map client values under sources[{source.name}].values.{col.name}"
                    if col.name == C.CHANNEL else "")
            errs.append((f"{tq} IS NOT NULL AND {parsed} NOT IN ({listed})",
                         f"unknown {col.name} (expected one of {list(vocab)}{hint})"))
            fatal = fatal or col.name in _VOCAB_FATAL
    elif col.dtype in ("float", "int"):
        native = kinds.get(col.name) == "number"
        s = _number_text_sql(tq, cfg, source, native)
        pat = number_pattern(source.decimal, source.thousands, native)
        ok_a, dbl_a = _q(f"ok_{col.name}"), _q(f"d_{col.name}")
        mid = [(f"s_{col.name}", s),
               (f"ok_{col.name}", f"regexp_full_match({_q('s_' + col.name)}, {_lit(pat)})"),
               (f"d_{col.name}", (f"CASE WHEN {ok_a} THEN "
                                 f"{_to_double_sql(_q('s_' + col.name), source, native)} END"))]
        ok, dbl = ok_a, dbl_a
        desc = ("a plain number" if native else
                f"decimal {source.decimal!r}, " + (f"thousands {source.thousands!r}"
                                                   if source.thousands else "no thousands separator"))
        errs.append(((f"{tq} IS NOT NULL AND NOT {ok} AND lower({tq}) IN ('inf', '+inf', '-inf', "
                     "'infinity', '+infinity', '-infinity', 'nan', '-nan')"),
                     f"not a finite number ({col.name})"))
        errs.append((f"{tq} IS NOT NULL AND NOT {ok}",
                     f"does not match the declared number format ({col.name}; {desc})"))
        errs.append((f"{tq} IS NOT NULL AND {ok} AND NOT isfinite({dbl})",
                     f"not a finite number ({col.name})"))
        if col.dtype == "int":
            errs.append((f"{tq} IS NOT NULL AND {ok} AND isfinite({dbl}) AND abs({dbl}) >= 9.2e18",
                         f"beyond the range of {col.name} (whole numbers up to 9.2e18)"))
            errs.append((f"{tq} IS NOT NULL AND {ok} AND abs({dbl}) < 9.2e18 AND {dbl} <> round({dbl})",
                         f"not a whole number ({col.name})"))
            parsed = (f"CASE WHEN {ok} AND abs({dbl}) < 9.2e18 AND {dbl} = round({dbl}) "
                      f"THEN CAST({dbl} AS BIGINT) END")
        else:
            errs.append((f"{tq} IS NOT NULL AND {ok} AND isfinite({dbl}) AND abs({dbl}) >= 1e15",
                         f"beyond the range of {col.name} (up to 1e15)"))
            parsed = f"CASE WHEN {ok} AND isfinite({dbl}) AND abs({dbl}) < 1e15 THEN {dbl} END"
        if col.name == C.SATISFACTION:
            errs.append((f"{tq} IS NOT NULL AND {ok} AND ({dbl} < 1 OR {dbl} > 5)",
                         "satisfaction outside 1-5"))
            parsed = f"CASE WHEN {dbl} BETWEEN 1 AND 5 THEN {parsed} END"
    elif col.dtype in ("date", "timestamp"):
        fmt = source.date_formats.get(col.name, source.date_format)
        if kinds.get(col.name) == "datetime" or not fmt:
            mid = [(f"d_{col.name}", _iso_sql(tq))]
            expected = "ISO 8601 (YYYY-MM-DD, optionally with a time)"
        else:
            mid = [(f"d_{col.name}", f"try_strptime({tq}, {_lit(fmt)})")]
            expected = fmt
        parsed = _q(f"d_{col.name}")
        errs.append((f"{tq} IS NOT NULL AND ({parsed}) IS NULL",
                     (f"does not match the declared date format ({col.name}; {expected}) "
                     "or is not a real date")))
        errs.append((f"({parsed}) < TIMESTAMP '1900-01-01'",
                     f"a date before 1900 ({col.name}): check the declared format {expected}"))
        errs.append((f"({parsed}) >= {as_of_end}",
                     f"date after the as-of date {cfg.as_of} ({col.name})"))
        parsed = (f"CASE WHEN ({parsed}) < {as_of_end} AND ({parsed}) >= TIMESTAMP '1900-01-01' "
                  f"THEN ({parsed}) END")
        if col.dtype == "date":
            parsed = f"CAST({parsed} AS DATE)"
    elif col.dtype == "bool":
        truthy = {v.strip().lower() for v in source.true_values} - {""}
        falsy = {v.strip().lower() for v in source.false_values} - {""}
        if kinds.get(col.name) == "bool":  # a Parquet boolean column, whatever the config says
            truthy, falsy = truthy | {"true"}, falsy | {"false"}
        blank_false = any(v.strip() == "" for v in source.false_values)
        tl = f"lower({tq})"
        tv = ", ".join(_lit(v) for v in sorted(truthy)) or "NULL"
        fv = ", ".join(_lit(v) for v in sorted(falsy)) or "NULL"
        parsed = (f"CASE WHEN {tl} IN ({tv}) THEN true WHEN {tl} IN ({fv}) THEN false "
                  + ("WHEN " + tq + " IS NULL THEN false " if blank_false else "") + "END")
        errs.append((f"{tq} IS NOT NULL AND {tl} NOT IN ({tv}) AND {tl} NOT IN ({fv})",
                     (f"not a yes/no value ({col.name}; expected one of "
                     f"{source.true_values + source.false_values})")))
    else:  # pragma: no cover - the data model only uses the types above
        raise AssertionError(col.dtype)
    error = "CASE " + " ".join(f"WHEN {c} THEN {_lit(r)}" for c, r in errs) + " END" if errs else "NULL"
    return _Col(col.name, text, parsed, error, fatal, mid)


# -- one source ------------------------------------------------------------------------------
def _validate(con, cfg: ClientConfig, source: Source, cols: list[str], kinds: dict) -> list[_Col]:
    canon = {c.name: c for c in C.columns_of(source.table)}
    specs = [_column_sql(canon[c], source, cfg, kinds) for c in cols]
    keep = f"{FILE_COL}, {ROW_COL}, {ORD_COL}"
    level1 = ", ".join([keep] + [f"{s.text} AS {_q('t_' + s.name)}, {_q(s.name)} AS {_q('r_' + s.name)}"
                                 for s in specs])
    tcols = ", ".join(f"{_q('t_' + s.name)}, {_q('r_' + s.name)}" for s in specs)
    level2 = ", ".join([keep] + ([tcols] if tcols else [])
                       + [f"{e} AS {_q(a)}" for s in specs for a, e in s.mid[:1]])
    level3 = ", ".join([keep] + ([tcols] if tcols else [])
                       + [_q(a) for s in specs for a, _ in s.mid[:1]]
                       + [f"{e} AS {_q(a)}" for s in specs for a, e in s.mid[1:2]])
    level4 = ", ".join([keep] + ([tcols] if tcols else [])
                       + [_q(a) for s in specs for a, _ in s.mid[:2]]
                       + [f"{e} AS {_q(a)}" for s in specs for a, e in s.mid[2:3]])
    level5 = ", ".join([keep] + [f"{_q('r_' + s.name)}, {s.parsed} AS {_q('q_' + s.name)}, "
                                 f"{s.error} AS {_q('e_' + s.name)}" for s in specs])
    # the stored row: typed values (cleared where a rule failed) and, only on rows that break a
    # rule, the list of what broke (column, value as the file had it, reason, fatal, rule order)
    found = [f"CASE WHEN {_q('e_' + s.name)} IS NOT NULL THEN {{'c': {_lit(s.name)}, "
             f"'v': CAST({_q('r_' + s.name)} AS VARCHAR), 'r': {_q('e_' + s.name)}, "
             f"'f': {'true' if s.fatal else 'false'}, 'k': {k}}} END" for k, s in enumerate(specs)]
    any_bad = " OR ".join(f"{_q('e_' + s.name)} IS NOT NULL" for s in specs) or "false"
    outer = ", ".join([keep] + [f"CASE WHEN {_q('e_' + s.name)} IS NULL THEN {_q('q_' + s.name)} END "
                                f"AS {_q('p_' + s.name)}" for s in specs]
                      + [f"CASE WHEN {any_bad} THEN list_filter([{', '.join(found)}], x -> x IS NOT "
                         "NULL) END AS __issues" if specs else "NULL AS __issues"])
    con.execute(f"DROP TABLE IF EXISTS {TYPED}")
    con.execute(f"CREATE TEMP TABLE {TYPED} AS SELECT {outer} FROM (SELECT {level5} FROM "
                f"(SELECT {level4} FROM (SELECT {level3} FROM (SELECT {level2} FROM "
                f"(SELECT {level1} FROM {STAGE})))))")
    drop_staging(con, keep={TYPED})  # the raw text is no longer needed: free its memory
    return specs


def _keys(table: str) -> list[str]:
    return [k for k in C.UNIQUE_KEYS[table] if k != C.SOURCE_SYSTEM]


def ingest_source(ws: Workspace, cfg: ClientConfig, source: Source) -> SourceResult:
    """Read, validate and (re)load one source; its earlier rows and quarantine are replaced."""
    t0 = time.perf_counter()
    con = ws.duckdb
    table = source.table
    ensure_table(ws, table)
    ensure_quarantine(ws)
    cols, reads, kinds = stage_source(con, cfg, source)
    specs = _validate(con, cfg, source, cols, kinds)
    by = {s.name: s for s in specs}

    # issues: (ord, file, line, column, value, reason, detail, fatal, k = rule order)
    con.execute(f"DROP TABLE IF EXISTS {ISSUES}")
    con.execute(f"CREATE TEMP TABLE {ISSUES} (_ord BIGINT, _file VARCHAR, _line BIGINT, "
                '"column" VARCHAR, value VARCHAR, reason VARCHAR, detail VARCHAR, fatal BOOLEAN, '
                "k INTEGER)")
    paths = [str(r.path) for r in reads]

    def path_of(col: str) -> str:
        return "CASE " + " ".join(f"WHEN {col} = {i} THEN {_lit(p)}" for i, p in enumerate(paths)) + " END"

    con.execute(f"INSERT INTO {ISSUES} SELECT {ORD_COL}, {path_of(FILE_COL)}, {ROW_COL}, x.c, x.v, "
                f"x.r, '', x.f, x.k FROM (SELECT {ORD_COL}, {FILE_COL}, {ROW_COL}, unnest(__issues) "
                f"AS x FROM {TYPED} WHERE __issues IS NOT NULL)")
    # ragged or undecodable rows the CSV reader rejected: fatal, with their true line
    rej = [(-(j * 10_000_000_000 + i + 1), str(r.path), line, col, raw, reason)
           for j, r in enumerate(reads) for i, (line, col, raw, reason) in enumerate(r.rejected)]
    if rej:
        con.executemany(f"INSERT INTO {ISSUES} VALUES (?, ?, ?, ?, ?, ?, '', true, -1)", rej)
    # duplicates among the rows that pass every other rule: the first wins
    keys = _keys(table)
    kq = ", ".join(f"t.{_q('p_' + k)}" for k in keys)
    on = " AND ".join(f"t.{_q('p_' + k)} = d.{_q('p_' + k)}" for k in keys)
    con.execute("DROP TABLE IF EXISTS __ingest_fatal")
    con.execute(f"CREATE TEMP TABLE __ingest_fatal AS SELECT DISTINCT _ord FROM {ISSUES} WHERE fatal")
    if all(k in by for k in keys):
        con.execute("DROP TABLE IF EXISTS __ingest_dupkeys")
        con.execute(f"CREATE TEMP TABLE __ingest_dupkeys AS SELECT {kq}, min(t.{ORD_COL}) AS kord "
                    f"FROM {TYPED} t ANTI JOIN __ingest_fatal f ON f._ord = t.{ORD_COL} "
                    f"GROUP BY ALL HAVING count(*) > 1")
        label = "+".join(keys)
        con.execute(
            f"INSERT INTO {ISSUES} SELECT t.{ORD_COL}, {path_of('t.' + FILE_COL)}, t.{ROW_COL}, "
            f"{_lit(keys[0])}, CAST(t.{_q('p_' + keys[0])} AS VARCHAR), "
            f"{_lit(f'duplicate {label} within the source')}, "
            f"' (the row kept is line ' || k.{ROW_COL} || CASE WHEN k.{FILE_COL} <> t.{FILE_COL} "
            f"THEN ' of ' || {path_of('k.' + FILE_COL)} ELSE '' END || ')', true, 1000 "
            f"FROM {TYPED} t JOIN __ingest_dupkeys d ON {on} AND t.{ORD_COL} <> d.kord "
            f"JOIN {TYPED} k ON k.{ORD_COL} = d.kord "
            f"ANTI JOIN __ingest_fatal f ON f._ord = t.{ORD_COL}")
        # keys another source already loaded
        where = f'x."{SOURCE_COL}" <> {_lit(source.name)}'
        if C.SOURCE_SYSTEM in C.UNIQUE_KEYS[table]:  # keys unique per source system only
            where += f' AND x."{C.SOURCE_SYSTEM}" = {_lit(source.system)}'
        others = con.execute(f'SELECT count(*) FROM "{table}" x WHERE {where}').fetchone()[0]
        if others:
            on_x = " AND ".join(f'x."{k}" = t.{_q("p_" + k)}' for k in keys)
            con.execute(
                f"INSERT INTO {ISSUES} SELECT t.{ORD_COL}, {path_of('t.' + FILE_COL)}, t.{ROW_COL}, "
                f"{_lit(keys[0])}, "
                f"CAST(t.{_q('p_' + keys[0])} AS VARCHAR), "
                f"{_lit(f'duplicate {label}: already loaded from another source')}, '', true, 1001 "
                f"FROM {TYPED} t SEMI JOIN \"{table}\" x ON {on_x} AND {where} "
                f"ANTI JOIN {ISSUES} i ON i._ord = t.{ORD_COL} AND i.fatal")

    read = sum(r.rows + len(r.rejected) for r in reads if not r.refused)
    stored = table_columns(table)
    values = []
    for n, _ in stored:
        if n == SOURCE_COL:
            values.append(_lit(source.name))
        elif n == C.SOURCE_SYSTEM:
            values.append(_lit(source.system))
        elif n == C.RECORD_KEY:
            values.append(f"{_lit(str(source.system) + ':')} || t.{_q('p_' + C.RECORD_ID)}"
                          if C.RECORD_ID in by else "NULL")
        elif n in by:
            v = f"t.{_q('p_' + n)}"
            if table == "customer_records" and n == C.COUNTRY:
                v = f"coalesce({v}, {_lit(cfg.country)})"
            values.append(v)
        elif table == "customer_records" and n == C.COUNTRY:
            values.append(_lit(cfg.country))
        else:
            values.append("NULL")
    names = ", ".join(_q(n) for n, _ in stored)
    now = dt.datetime.now().replace(microsecond=0)

    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f'DELETE FROM "{table}" WHERE "{SOURCE_COL}" = ?', [source.name])
        con.execute(f"DELETE FROM {QUARANTINE} WHERE source = ?", [source.name])
        con.execute(f'INSERT INTO "{table}" ({names}) SELECT {", ".join(values)} FROM {TYPED} t '
                    f"ANTI JOIN (SELECT DISTINCT _ord FROM {ISSUES} WHERE fatal) f "
                    f"ON f._ord = t.{ORD_COL}")
        loaded = con.execute(f'SELECT count(*) FROM "{table}" WHERE "{SOURCE_COL}" = ?',
                             [source.name]).fetchone()[0]
        con.execute(f"INSERT INTO {QUARANTINE} SELECT {_lit(source.name)}, {_lit(table)}, _file, _line, "
                    '"column", value, reason || detail, CASE WHEN fatal THEN \'row quarantined\' '
                    "ELSE 'value cleared' END, ? FROM " + ISSUES + " ORDER BY _ord, k", [now])
        reasons = dict(con.execute(
            f"SELECT r, count(*) FROM (SELECT arg_min(reason, k) AS r FROM {ISSUES} WHERE fatal "
            "GROUP BY _ord) GROUP BY r").fetchall())
        cleared = con.execute(f"SELECT count(*) FROM {ISSUES} i WHERE NOT fatal AND NOT EXISTS "
                              f"(SELECT 1 FROM {ISSUES} j WHERE j._ord = i._ord AND j.fatal)"
                              ).fetchone()[0]
        res = SourceResult(source.name, table, [str(r.path) for r in reads if not r.refused],
                           read=read, loaded=loaded, quarantined=read - loaded, cleared=cleared,
                           reasons=reasons)
        for r in reads:
            res.notes += r.notes
            if r.refused:
                res.refused_files[str(r.path)] = r.refused
        res.seconds = time.perf_counter() - t0
        con.execute(f"DELETE FROM {INGEST_LOG} WHERE source = ?", [source.name])
        con.execute(f"INSERT INTO {INGEST_LOG} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [res.source, table, ";".join(res.files), res.read, res.loaded, res.quarantined,
                     res.cleared, res.seconds, now])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        drop_staging(con)
    if res.quarantined != sum(res.reasons.values()):  # pragma: no cover - a bug, not bad input
        raise AssertionError(f"{source.name}: quarantined {res.quarantined} but reasons count "
                             f"{sum(res.reasons.values())}")
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
    if sources:
        unknown = sorted(set(sources) - {s.name for s in cfg.sources})
        if unknown:
            raise KeyError(f"no source named {unknown}; the config has {[s.name for s in cfg.sources]}")
    chosen = [s for s in cfg.sources if sources is None or s.name in sources]
    chosen.sort(key=lambda s: order.index(s.table) if s.table in order else len(order))
    if ws.engine != "duckdb":
        try:
            return _ingest_elsewhere(cfg, ws, chosen, echo)
        finally:
            if own:
                ws.close()
    results = []
    con = ws.duckdb
    before = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    con.execute(f"SET memory_limit = '{INGEST_MEMORY_LIMIT}'")
    try:
        for s in chosen:
            r = ingest_source(ws, cfg, s)
            results.append(r)
            if echo:
                print(r.summary(), flush=True)
    finally:
        with contextlib.suppress(Exception):  # the connection may be gone: nothing to restore
            con.execute(f"SET memory_limit = '{before}'")
        if own:
            ws.close()
    return results


def _ingest_elsewhere(cfg: ClientConfig, ws: Workspace, chosen: list[Source],
                      echo: bool) -> list[SourceResult]:
    """Ingest for a Spark workspace: the exports are read and checked by DuckDB on the machine
    that holds them, exactly as on DuckDB, in ``landing.duckdb`` inside the warehouse (it keeps
    each source's rows, so a source re-ingested alone replaces only its own); the checked tables
    then land in the warehouse as Parquet, all in one commit."""
    import tempfile

    from ..spark import to_parquet_folder

    with Workspace(ws.path / "landing.duckdb") as land:
        results = ingest(cfg, land, sources=[s.name for s in chosen], echo=echo)
        tables = sorted({s.table for s in chosen} | {QUARANTINE, INGEST_LOG})
        with tempfile.TemporaryDirectory(dir=ws.path) as tmp:
            folders = {t: to_parquet_folder(land.duckdb, f'SELECT * FROM "{t}"', Path(tmp) / t)
                       for t in tables if land.has(t)}
            ws.publish(folders)
    return results


__all__ = ["INGEST_LOG", "QUARANTINE", "QUARANTINE_COLUMNS", "SOURCE_COL", "FileRead",
           "IngestError", "SourceResult", "ingest", "ingest_source", "number_pattern",
           "table_columns"]
