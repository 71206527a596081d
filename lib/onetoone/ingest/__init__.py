"""Ingest: client exports -> canonical workspace tables, bad rows -> quarantine."""

from .load import (INGEST_LOG, QUARANTINE, SOURCE_COL, SourceResult, coerce_and_validate, ingest,
                   ingest_source, table_columns)
from .readers import IngestError, read_source, source_files

__all__ = ["INGEST_LOG", "QUARANTINE", "SOURCE_COL", "IngestError", "SourceResult",
           "coerce_and_validate", "ingest", "ingest_source", "read_source", "source_files",
           "table_columns"]
