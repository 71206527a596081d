"""Read one configured source (CSV, Parquet or Excel; a path or a glob) into raw text columns.

Every value comes back as a string (or missing) so that validation sees exactly what the
client's file said, with the file name and the line number of every row kept for quarantine.
"""

from __future__ import annotations

import glob
from pathlib import Path

import pandas as pd

from ..config import ClientConfig, Source

FILE_COL = "_file"
ROW_COL = "_row"


class IngestError(ValueError):
    """A source that cannot be read at all; the message names the file and what was expected."""

    def __init__(self, source: Source | None, file: str | Path | None, message: str):
        self.source = source.name if source else None
        self.file = str(file) if file else None
        where = f"{file}" if file else (f"source {source.name!r}" if source else "")
        super().__init__(f"{where}: {message}" if where else message)


def source_files(cfg: ClientConfig, source: Source) -> list[Path]:
    """The files a source's path or glob names, sorted; IngestError when there are none."""
    pattern = cfg.resolve(source.path)
    if any(ch in source.path for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(str(pattern)))
        if not files:
            raise IngestError(source, pattern, f"no file matches the pattern (source {source.name!r})")
        return files
    if not pattern.exists():
        raise IngestError(source, pattern, f"file not found (source {source.name!r}, key "
                          f"sources[{source.name}].path, resolved from {cfg.base_dir})")
    return [pattern]


def _clean_header(name: object) -> str:
    return str(name).replace("\ufeff", "").strip()


def _read_csv(source: Source, path: Path) -> pd.DataFrame:
    if path.stat().st_size == 0:
        raise IngestError(source, path, "the file is empty (0 bytes); expected a header row and data")
    try:
        df = pd.read_csv(path, sep=source.delimiter, encoding=source.encoding, dtype=str,
                         keep_default_na=False, na_values=[], skipinitialspace=False,
                         compression="infer", engine="c")
    except UnicodeDecodeError as exc:
        raise IngestError(source, path, f"cannot be decoded as {source.encoding} (byte "
                          f"{exc.start}: {exc.object[exc.start:exc.start + 1]!r}); set "
                          f"`encoding` in the config (e.g. latin-1, cp1252, utf-16)") from None
    except pd.errors.EmptyDataError:
        raise IngestError(source, path, "the file is empty; expected a header row and data") from None
    except pd.errors.ParserError as exc:
        raise IngestError(source, path, f"not a readable CSV with delimiter "
                          f"{source.delimiter!r}: {exc}") from None
    return df


def _read_parquet(source: Source, path: Path) -> pd.DataFrame:
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise IngestError(source, path, f"not a readable Parquet file: {exc}") from None
    return _as_text(df)


def _read_excel(source: Source, path: Path) -> pd.DataFrame:
    try:
        df = pd.read_excel(path, sheet_name=source.sheet or 0, dtype=str)
    except Exception as exc:
        raise IngestError(source, path, f"not a readable Excel workbook: {exc}") from None
    return _as_text(df)


def _as_text(df: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            text = s.dt.strftime("%Y-%m-%dT%H:%M:%S")
        elif pd.api.types.is_bool_dtype(s):
            text = s.map({True: "true", False: "false"})
        else:
            text = s.astype("string")
        out[col] = text.astype(object).where(s.notna(), "")
    return pd.DataFrame(out, index=df.index)


READERS = {"csv": _read_csv, "parquet": _read_parquet, "excel": _read_excel}


def read_source(cfg: ClientConfig, source: Source) -> pd.DataFrame:
    """All rows of a source as text, renamed to canonical names, with ``_file`` and ``_row``.

    ``_row`` is the line number a person sees in the file (the header is line 1) for CSV and
    Excel, and the 1-based row index for Parquet. Columns the mapping does not name are dropped;
    a file with none of the mapped columns raises IngestError naming the file.
    """
    fmt = source.resolved_format()
    frames = []
    for path in source_files(cfg, source):
        df = READERS[fmt](source, path)
        df.columns = [_clean_header(c) for c in df.columns]
        if df.empty:
            raise IngestError(source, path, "the file has a header but no data rows")
        mapping = source.columns or {c: c for c in df.columns}
        present = [c for c in mapping if c in df.columns]
        if not present:
            raise IngestError(source, path, f"none of the mapped columns {sorted(mapping)} is in "
                              f"the file; found {list(df.columns)[:20]} (check `delimiter` "
                              f"{source.delimiter!r} and `columns` in the config)")
        df = df[present].rename(columns={c: mapping[c] for c in present})
        df[FILE_COL] = str(path)
        df[ROW_COL] = pd.RangeIndex(2 if fmt != "parquet" else 1, len(df) + (2 if fmt != "parquet" else 1))
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
