"""Read one configured source (CSV, Parquet or Excel; a path or a glob) into a DuckDB staging
table of text columns, one file at a time, each row with its file and true line number.

Every value stays text (what the client's file said) until the validation SQL in
:mod:`onetoone.ingest.load` casts it. Nothing is read into pandas except Excel sheets.

CSV files go through DuckDB's own reader with the header we parsed ourselves, every column as
text, ``strict_mode`` (a row with too many or too few fields is rejected, never shifted) and
``store_rejects`` (the rejected rows come back with their line). A cheap byte pass before it
checks the encoding (true line and byte offset of the first undecodable byte), NUL bytes, a
truncated compressed file, and counts physical lines; when a quoted field spans lines or blank
lines are present, a second pass with the csv module maps each row to the line it starts on.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import glob
import gzip
import io
import math
import os
import re
import tempfile
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb

from .. import columns as C
from ..config import ClientConfig, Source

FILE_COL = "_file"
ROW_COL = "_line"
ORD_COL = "_ord"
STAGE = "__ingest_stage"
REJECTS = "__ingest_rejects"

_CHUNK = 8 << 20
_UTF8 = {"utf-8", "utf8", "utf_8", "u8"}


class IngestError(ValueError):
    """A source that cannot be read at all; the message names the file and what was expected."""

    def __init__(self, source: Source | None, file: str | Path | None, message: str):
        self.source = source.name if source else None
        self.file = str(file) if file else None
        where = f"{file}" if file else (f"source {source.name!r}" if source else "")
        super().__init__(f"{where}: {message}" if where else message)


@dataclass
class FileRead:
    """What reading one file of a source gave: rows staged, rejected rows, notes, or refusal."""

    path: Path
    rows: int = 0
    rejected: list[tuple] = field(default_factory=list)  # (line, column, raw line, reason)
    notes: list[str] = field(default_factory=list)
    refused: str | None = None  # why the whole file was refused (the others still load)


def source_files(cfg: ClientConfig, source: Source) -> list[Path]:
    """The files a source's path or glob names, sorted; IngestError when there are none."""
    pattern = cfg.resolve(source.path)
    if any(ch in source.path for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(str(pattern)) if not Path(p).is_dir())
        if not files:
            raise IngestError(source, pattern, f"no file matches the pattern (source {source.name!r})")
        return files
    if pattern.is_dir():
        raise IngestError(source, pattern, f"is a folder; set sources[{source.name}].path to a file "
                                           f"or a glob such as {source.path.rstrip('/')}/*.csv")
    if not pattern.exists():
        raise IngestError(source, pattern, f"file not found (source {source.name!r}, key "
                          f"sources[{source.name}].path, resolved from {cfg.base_dir})")
    return [pattern]


def clean_header(name: object) -> str:
    return str(name).replace("\ufeff", "").strip()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: object) -> str:
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''") + "'"


# -- the byte pass ------------------------------------------------------------------------------
@dataclass
class _Scan:
    read_path: Path  # what DuckDB reads: the file itself, or a UTF-8 copy of it
    lines: int  # physical lines
    blank_lines: bool
    quotes: bool
    head: str  # the first decoded characters (for the header)
    notes: list[str]


def _open_bytes(path: Path):
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rb")
    return open(path, "rb")


def _corrupt(source: Source, path: Path, exc: Exception) -> IngestError:
    return IngestError(source, path, f"corrupt or truncated compressed file ({exc}); copy or "
                                     "export it again (test it with `gzip -t`)")


def _scan(source: Source, path: Path, workdir: Path) -> _Scan:
    """One pass over the bytes: decode check, NUL bytes, line count; a UTF-8 copy when needed."""
    enc = codecs.lookup(source.encoding).name
    utf8 = enc in ("utf-8", "utf-8-sig")
    lines = 0
    blank = False
    quotes = False
    head = ""
    notes: list[str] = []
    offset = 0  # bytes of the original (decompressed) stream consumed before this chunk
    last = b""
    decoder = codecs.getincrementaldecoder("utf-8-sig" if utf8 else enc)("strict")
    check8 = None if utf8 else (codecs.getincrementaldecoder("utf-8")("strict")
                                if enc in ("latin-1", "iso8859-1", "cp1252") else None)
    first_multibyte = None
    out = None
    read_path = path
    if not utf8:
        read_path = workdir / (path.name + ".utf8.csv")
        out = open(read_path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
    try:
        with _open_bytes(path) as fh:
            while True:
                try:
                    chunk = fh.read(_CHUNK)
                except (EOFError, OSError, zlib.error) as exc:
                    raise _corrupt(source, path, exc) from None
                final = not chunk
                try:
                    text = decoder.decode(chunk, final)
                except UnicodeDecodeError as exc:
                    pending = len(decoder.getstate()[0]) if hasattr(decoder, "getstate") else 0
                    pos = offset - pending + exc.start
                    line = lines + chunk[:max(exc.start - pending, 0)].count(b"\n") + 1
                    bad = (chunk[max(exc.start - pending, 0):max(exc.start - pending, 0) + 4])
                    raise IngestError(source, path, f"cannot be decoded as {source.encoding} at line "
                                      f"{line}, byte offset {pos} (bytes {bad!r}); set "
                                      f"sources[{source.name}].encoding (e.g. latin-1, cp1252, "
                                      "utf-16)") from None
                if final:
                    break
                if check8 is not None and first_multibyte is None:
                    try:
                        check8.decode(chunk)
                        m = re.search(rb"[\x80-\xff]", chunk)
                        if m:
                            first_multibyte = lines + chunk[:m.start()].count(b"\n") + 1
                    except UnicodeDecodeError:
                        check8 = None  # not UTF-8: the declared encoding is plausible
                data = chunk if utf8 else text.encode("utf-8")
                nul = data.find(b"\x00")
                if nul >= 0:
                    line = lines + data[:nul].count(b"\n") + 1
                    raise IngestError(source, path, f"contains a NUL byte at line {line} (byte "
                                      f"{offset + nul if utf8 else nul}); a CSV never does: the "
                                      "file may be UTF-16 (set encoding: utf-16) or not text")
                both = last + data
                if (b"\n\n" in both or b"\n\r\n" in both or (offset == 0 and data[:1] in (b"\n", b"\r"))):
                    blank = True
                quotes = quotes or b'"' in data
                lines += data.count(b"\n")
                if len(head) < 65536:
                    head += text[:65536]
                last = data[-2:]
                offset += len(chunk)
                if out is not None:
                    out.write(text)
    finally:
        if out is not None:
            out.close()
    if offset == 0:
        raise IngestError(source, path, "the file is empty (0 bytes); expected a header row and data")
    if last and not last.endswith(b"\n"):
        lines += 1
    if check8 is not None and first_multibyte is not None:
        notes.append(f"{path.name}: declared {source.encoding} but the file is valid UTF-8 with "
                     f"multi-byte characters (first on line {first_multibyte}); if names look "
                     "garbled (Ã¼ for ü), set encoding: utf-8")
    return _Scan(read_path, lines, blank, quotes, head.lstrip("\ufeff"), notes)


def _header(source: Source, scan: _Scan, path: Path) -> list[str]:
    lines = scan.head.splitlines(keepends=True)
    rest = "".join(lines[source.skip_rows:])
    row = next(csv.reader(io.StringIO(rest), delimiter=source.delimiter, quotechar='"'), None)
    if not row or not any(c.strip() for c in row):
        raise IngestError(source, path, f"no header row on line {source.skip_rows + 1}; expected "
                          "the column names (set skip_rows if lines come before them)")
    return row


def check_header(source: Source, path: Path, raw: list[str]) -> tuple[list[str], list[str]]:
    """Cleaned names; IngestError when a name the mapping uses is ambiguous. Returns notes."""
    names = [clean_header(c) for c in raw]
    notes = []
    wanted = set(needed_client_columns(source)) if source.columns else set(names)
    seen: dict[str, list[str]] = {}
    for r, n in zip(raw, names):
        seen.setdefault(n, []).append(r)
    for n, raws in seen.items():
        if len(raws) < 2:
            continue
        what = (f"headers {raws!r} collide once spaces are trimmed" if len(set(raws)) > 1
                else f"the header {n!r} appears {len(raws)} times")
        if n in wanted:
            raise IngestError(source, path, f"{what}; the mapping sources[{source.name}].columns "
                              "cannot tell which one is meant: rename them in the export")
        notes.append(f"{path.name}: {what} (not mapped, ignored)")
    return names, notes


def needed_client_columns(source: Source) -> list[str]:
    out = list(source.mapped)
    for d in source.derived.values():
        out += [c for c in (d.concat or []) if c not in out]
    return out


# -- staging ------------------------------------------------------------------------------------
def stage_columns(source: Source) -> list[str]:
    """Canonical columns the staging table has for this source (mapped or derived)."""
    table_cols = [c.name for c in C.columns_of(source.table)]
    if not source.columns:
        return table_cols
    targets = set(source.mapped.values()) | set(source.derived)
    return [c.name for c in C.columns_of(source.table) if c.name in targets or c.required]


def _expressions(source: Source, present: dict[str, str], cols: list[str], label: str,
                 line_sql: str) -> tuple[dict[str, str], list[str], list[str]]:
    """SQL per staged canonical column from the file's columns; (exprs, missing required, notes)."""
    canon = {c.name: c for c in C.columns_of(source.table)}
    mapping = source.mapped or {n: n for n in present if n in canon}
    by_target = {t: s for s, t in mapping.items()}
    exprs: dict[str, str] = {}
    missing_req: list[str] = []
    notes: list[str] = []
    for c in cols:
        d = source.derived.get(c)
        if d is not None:
            if d.const is not None:
                exprs[c] = _lit(d.const)
            elif d.line_number:
                exprs[c] = f"CAST({line_sql} AS VARCHAR)" if not label else \
                    f"{_lit(label + ':')} || CAST({line_sql} AS VARCHAR)"
            else:
                absent = [k for k in d.concat if k not in present]
                if absent:
                    (missing_req if canon[c].required else notes).append(
                        f"{c} (concat of {absent})")
                    exprs[c] = "NULL"
                    continue
                parts = ", ".join(f"nullif(trim({present[k]}), '')" for k in d.concat)
                exprs[c] = f"nullif(concat_ws({_lit(d.sep)}, {parts}), '')"
            continue
        src = by_target.get(c)
        if src is None or src not in present:
            if canon[c].required:
                missing_req.append(f"{c} (column {src!r})" if src else c)
            elif src:
                notes.append(f"{src!r} ({c})")
            exprs[c] = "NULL"
            continue
        exprs[c] = present[src]
    return exprs, missing_req, notes


def _refuse_missing(source: Source, path: Path, names: list[str], missing: list[str]) -> str:
    if source.mapped and not set(source.mapped) & set(names):
        return (f"{path.name}: refused, none of the mapped columns {sorted(source.mapped)} is in "
                f"the file; found {names[:30]} (check sources[{source.name}].columns and "
                f"delimiter {source.delimiter!r})")
    return (f"{path.name}: refused, required column(s) {missing} of table {source.table!r} are not "
            f"in the file; it has {names[:30]}" + (" ..." if len(names) > 30 else "")
            + f" (check sources[{source.name}].columns, delimiter {source.delimiter!r})")


def _insert(parts: list[str], cols: list[str], exprs: dict[str, str], file_label: str,
            line_sql: str, ord_sql: str, from_sql: str) -> None:
    """Add one file's SELECT (canonical text columns, file, line, order) to the staging view."""
    sel = "".join(f", {exprs[c]} AS {_q(c)}" for c in cols)
    # the file is its number in the source's file list (a path on every row would cost memory)
    parts.append(f"SELECT CAST({_lit(file_label)} AS INTEGER) AS {FILE_COL}, "
                 f"CAST({line_sql} AS BIGINT) AS {ROW_COL}, "
                 f"CAST({ord_sql} AS BIGINT) AS {ORD_COL}{sel} FROM {from_sql}")


def read_csv_file(con, cfg: ClientConfig, source: Source, path: Path, cols: list[str],
                  file_no: int, glob_label: str, workdir: Path, parts: list[str]) -> FileRead:
    res = FileRead(path)
    scan = _scan(source, path, workdir)
    res.notes += scan.notes
    raw_names = _header(source, scan, path)
    names, notes = check_header(source, path, raw_names)
    res.notes += notes
    present = {n: f"c{i}" for i, n in enumerate(names) if n and n not in
               {m for m in names if names.count(m) > 1}}
    first = source.skip_rows + 2  # line of the first data row
    exprs, missing, opt = _expressions(source, present, cols, glob_label, "__line")
    if missing:
        res.refused = _refuse_missing(source, path, names, missing)
        return res
    if opt:
        res.notes.append(f"{path.name}: no column " + ", ".join(opt) + " (optional; left empty)")
    if scan.lines < first:
        raise IngestError(source, path, "the file has a header but no data rows")
    colspec = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(names))) + "}"
    con.execute(f"DROP TABLE IF EXISTS {REJECTS}")
    con.execute(f"DROP TABLE IF EXISTS {REJECTS}_scan")
    raw, rejl, lns = (f"__ingest_raw_{file_no}", f"__ingest_rejl_{file_no}", f"__ingest_lines_{file_no}")
    needed = sorted({v for v in present.values()}, key=lambda c: int(c[1:]))
    try:
        con.execute(
            f"CREATE TEMP TABLE {raw} AS SELECT {', '.join(needed) or 'NULL AS c0'} FROM read_csv("
            f"{_lit(scan.read_path)}, header=false, skip={first - 1}, columns={colspec}, "
            f"delim={_lit(source.delimiter)}, quote='\"', escape='\"', auto_detect=false, "
            f"strict_mode=true, store_rejects=true, rejects_table='{REJECTS}', "
            f"rejects_scan='{REJECTS}_scan', max_line_size=10000000, "
            f"compression={'gzip' if scan.read_path.suffix.lower() == '.gz' else 'none'})")
    except duckdb.Error as exc:
        msg = str(exc).split("\n")[0]
        raise IngestError(source, path, f"not a readable CSV with delimiter {source.delimiter!r}: "
                          f"{msg}") from None
    rej = con.execute(f"SELECT line, column_idx, csv_line, error_type, error_message FROM {REJECTS} "
                      "ORDER BY line").fetchall()
    good = con.execute(f"SELECT count(*) FROM {raw}").fetchone()[0]
    records = good + len(rej)
    fast = not scan.blank_lines and records + first - 1 == scan.lines
    if fast:
        lines = [r[0] for r in rej]
        if lines:
            con.execute(f"CREATE TEMP TABLE {rejl} (t BIGINT, k BIGINT)")
            con.executemany(f"INSERT INTO {rejl} VALUES (?, ?)",
                            [(r - first - j, j + 1) for j, r in enumerate(lines)])
            from_sql = ("(SELECT r.*, r.rowid AS __rid, r.rowid + " + str(first)
                        + f" + coalesce(j.k, 0) AS __line FROM {raw} r ASOF LEFT JOIN "
                        f"{rejl} j ON r.rowid >= j.t)")
        else:
            from_sql = f"(SELECT *, rowid AS __rid, rowid + {first} AS __line FROM {raw})"
        phys = {r[0]: r[0] for r in rej}
    else:
        starts, duck = _record_lines(source, scan.read_path, first)
        rejected = {r[0] for r in rej}
        phys = {d: s for d, s in zip(duck, starts) if d in rejected}
        kept = [s for d, s in zip(duck, starts) if d not in rejected]
        if len(kept) != good:
            raise IngestError(source, path, f"could not align rows with lines ({good} rows, "
                              f"{len(kept)} records); check the quoting of the file")
        con.execute(f"CREATE TEMP TABLE {lns} (i BIGINT, line BIGINT)")
        con.execute(f"INSERT INTO {lns} SELECT * FROM (SELECT unnest(range(?)) AS i, "
                    "unnest(?::BIGINT[]) AS line)", [len(kept), kept])
        from_sql = (f"(SELECT r.*, r.rowid AS __rid, l.line AS __line FROM {raw} r "
                    f"JOIN {lns} l ON l.i = r.rowid)")
    _insert(parts, cols, exprs, str(file_no), "__line", f"{file_no} * 10000000000 + __rid", from_sql)
    res.rows = good
    n = len(names)
    for line, col_idx, csv_line, etype, emsg in rej:
        if etype == "TOO MANY COLUMNS":
            found = len(next(csv.reader([csv_line], delimiter=source.delimiter), [])) or "more"
            reason = (f"ragged row: {found} fields where the header has {n}; nothing was "
                      "moved between columns")
        elif etype == "MISSING COLUMNS":
            found = len(next(csv.reader([csv_line], delimiter=source.delimiter), []))
            reason = (f"ragged row: {found} fields where the header has {n}; nothing was "
                      "moved between columns")
        elif etype == "INVALID ENCODING":
            reason = f"cannot be decoded as {source.encoding}"
        else:
            reason = f"unreadable row ({etype.lower()}: {emsg.split(chr(10))[0]})"
        col = names[col_idx - 1] if isinstance(col_idx, int) and 0 < col_idx <= n else None
        res.rejected.append((phys.get(line, line), col, csv_line, reason))
    return res


def _record_lines(source: Source, path: Path, first: int) -> tuple[list[int], list[int]]:
    """For each data record: the physical line it starts on, and DuckDB's line count for it
    (records and blank lines counted once each, as its rejects table does)."""
    starts: list[int] = []
    duck: list[int] = []
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=source.delimiter, quotechar='"', strict=False)
        prev = 0
        seq = 0
        for row in reader:
            seq += 1
            start = prev + 1
            prev = reader.line_num
            if start < first or not row:
                continue
            starts.append(start)
            duck.append(seq)
    return starts, duck


def read_parquet_file(con, cfg, source: Source, path: Path, cols: list[str], file_no: int,
                      glob_label: str, kinds: dict[str, str], parts: list[str]) -> FileRead:
    res = FileRead(path)
    try:
        schema = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_lit(path)})").fetchall()
    except duckdb.Error as exc:
        raise IngestError(source, path, f"not a readable Parquet file: {str(exc).splitlines()[0]}; "
                          "export it again") from None
    names = [r[0] for r in schema]
    types = {r[0]: r[1].upper() for r in schema}
    _, notes = check_header(source, path, names)
    res.notes += notes
    present = {n: _q(n) for n in names}
    exprs, missing, opt = _expressions(source, present, cols, glob_label, "(file_row_number + 1)")
    if missing:
        res.refused = _refuse_missing(source, path, names, missing)
        return res
    if opt:
        res.notes.append(f"{path.name}: no column " + ", ".join(opt) + " (optional; left empty)")
    mapping = source.mapped or {n: n for n in names}
    for s, t in mapping.items():
        ty = types.get(s, "")
        if re.match(r"(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|U\w*INT|FLOAT|DOUBLE|DECIMAL|REAL)", ty):
            kinds[t] = "number"
        elif ty.startswith(("TIMESTAMP", "DATE")):
            kinds[t] = "datetime"
        elif ty == "BOOLEAN":
            kinds[t] = "bool"
    for c in cols:
        if exprs[c] != "NULL" and not exprs[c].startswith("'"):
            exprs[c] = f"CAST({exprs[c]} AS VARCHAR)" if exprs[c].startswith('"') else exprs[c]
    try:
        _insert(parts, cols, exprs, str(file_no), "(file_row_number + 1)",
                f"{file_no} * 10000000000 + file_row_number",
                f"read_parquet({_lit(path)}, file_row_number=true)")
    except duckdb.Error as exc:
        raise IngestError(source, path, f"not a readable Parquet file: {str(exc).splitlines()[0]}") from None
    res.rows = con.execute(f"SELECT count(*) FROM read_parquet({_lit(path)})").fetchone()[0]
    if res.rows == 0:
        raise IngestError(source, path, "the file has a header but no data rows")
    return res


def _excel_text(v, source: Source, fmt: str | None) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            return str(v)
        text = format(Decimal(repr(v)), "f") if isinstance(v, float) else str(v)
        if text.endswith(".0"):
            text = text[:-2]
        return text.replace(".", source.decimal)
    if isinstance(v, (dt.datetime, dt.date)):
        if fmt:
            return v.strftime(fmt)
        return v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v.isoformat()
    return str(v)


def read_excel_file(con, cfg, source: Source, path: Path, cols: list[str], file_no: int,
                    glob_label: str, parts: list[str]) -> FileRead:
    import openpyxl
    import pandas as pd

    res = FileRead(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises zipfile, KeyError, InvalidFileException...
        raise IngestError(source, path, f"not a readable Excel workbook (.xlsx): {exc}") from None
    try:
        if source.sheet is None:
            ws = wb.worksheets[0]
        elif isinstance(source.sheet, int):
            ws = wb.worksheets[source.sheet]
        else:
            ws = wb[source.sheet]
    except (IndexError, KeyError):
        raise IngestError(source, path, f"no sheet {source.sheet!r}; the workbook has "
                          f"{wb.sheetnames}") from None
    rows = list(ws.iter_rows(values_only=True))
    wb.close()
    if len(rows) < source.header_row:
        raise IngestError(source, path, f"no header row {source.header_row} (the sheet has "
                          f"{len(rows)} rows); set header_row")
    raw_names = ["" if v is None else str(v) for v in rows[source.header_row - 1]]
    while raw_names and raw_names[-1] == "":
        raw_names.pop()
    names, notes = check_header(source, path, raw_names)
    res.notes += notes
    start = source.header_row + source.skip_rows  # 0-based index of the first data row
    body = rows[start:len(rows) - source.skip_footer if source.skip_footer else None]
    n = len(names)
    fmts = {c: source.date_formats.get(c, source.date_format) for c in cols}
    mapping = source.mapped or {nm: nm for nm in names}
    fmt_of_src = {s: fmts.get(t) for s, t in mapping.items()}
    data: dict[str, list] = {f"c{i}": [] for i in range(n)}
    lines: list[int] = []
    blank = 0
    for k, row in enumerate(body):
        line = start + k + 1
        vals = list(row) + [None] * (n - len(row))
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in vals):
            blank += 1
            continue
        extra = [v for v in vals[n:] if v is not None and str(v).strip()]
        if extra:
            res.rejected.append((line, None, " | ".join("" if v is None else str(v) for v in vals),
                                 (f"ragged row: values beyond the {n} named columns; nothing was "
                                 "moved between columns")))
            continue
        lines.append(line)
        for i in range(n):
            data[f"c{i}"].append(_excel_text(vals[i], source, fmt_of_src.get(names[i])))
    if blank:
        res.notes.append(f"{path.name}: {blank} empty row(s) skipped")
    present = {nm: f"c{i}" for i, nm in enumerate(names) if nm and names.count(nm) == 1}
    exprs, missing, opt = _expressions(source, present, cols, glob_label, "__line")
    if missing:
        res.refused = _refuse_missing(source, path, names, missing)
        return res
    if opt:
        res.notes.append(f"{path.name}: no column " + ", ".join(opt) + " (optional; left empty)")
    if not lines and not res.rejected:
        raise IngestError(source, path, "the sheet has a header but no data rows")
    frame = pd.DataFrame({**data, "__line": lines}, dtype=object)
    frame["__line"] = frame["__line"].astype("int64")
    con.register("__ingest_xl", frame)
    try:
        con.execute(f"CREATE TEMP TABLE __ingest_xl_{file_no} AS SELECT * FROM __ingest_xl")
    finally:
        con.unregister("__ingest_xl")
    _insert(parts, cols, exprs, str(file_no), "__line", f"{file_no} * 10000000000 + __line",
            f"__ingest_xl_{file_no}")
    res.rows = len(lines)
    return res


def stage_source(con, cfg: ClientConfig, source: Source) -> tuple[list[str], list[FileRead], dict]:
    """Stage every file of a source; (canonical columns, per-file results, native kinds)."""
    files = source_files(cfg, source)
    fmt = source.resolved_format()
    drop_staging(con)
    cols = stage_columns(source)
    parts: list[str] = []
    kinds: dict[str, str] = {}
    reads: list[FileRead] = []
    workdir = Path(tempfile.mkdtemp(prefix="onetoone-ingest-"))
    try:
        for i, path in enumerate(files):
            label = path.name if len(files) > 1 else ""
            if fmt == "csv":
                reads.append(read_csv_file(con, cfg, source, path, cols, i, label, workdir, parts))
            elif fmt == "parquet":
                reads.append(read_parquet_file(con, cfg, source, path, cols, i, label, kinds, parts))
            else:
                reads.append(read_excel_file(con, cfg, source, path, cols, i, label, parts))
            for p in workdir.iterdir():
                p.unlink()
    finally:
        for p in workdir.iterdir():
            p.unlink()
        os.rmdir(workdir)
    refused = [r for r in reads if r.refused]
    if len(refused) == len(reads):
        raise IngestError(source, files[0] if len(files) == 1 else cfg.resolve(source.path),
                          "; ".join(r.refused for r in refused))
    con.execute(f"CREATE TEMP VIEW {STAGE} AS " + " UNION ALL ".join(parts))
    return cols, reads, kinds


def drop_staging(con, keep: set[str] = frozenset()) -> None:
    """Drop every temporary table and view an ingest made (they all start with __ingest)."""
    for name, kind in con.execute(
            "SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE temporary AND "
            "starts_with(table_name, '__ingest') UNION ALL SELECT view_name, 'VIEW' FROM "
            "duckdb_views() WHERE temporary AND starts_with(view_name, '__ingest')").fetchall():
        if name not in keep:
            con.execute(f"DROP {kind} IF EXISTS {_q(name)}")

