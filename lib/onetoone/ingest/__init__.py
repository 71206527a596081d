"""Ingest: client exports -> canonical workspace tables, bad rows -> quarantine (all in DuckDB)."""

from .load import (
                   INGEST_LOG,
                   QUARANTINE,
                   QUARANTINE_COLUMNS,
                   SOURCE_COL,
                   SourceResult,
                   ingest,
                   ingest_source,
                   number_pattern,
                   table_columns,
)
from .readers import IngestError, source_files, stage_source

__all__ = ["INGEST_LOG", "QUARANTINE", "QUARANTINE_COLUMNS", "SOURCE_COL", "IngestError",
           "SourceResult", "ingest", "ingest_source", "number_pattern", "source_files",
           "stage_source", "table_columns"]
