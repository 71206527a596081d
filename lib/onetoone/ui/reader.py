"""The workspace a lookup widget reads, one lookup at a time, on either engine.

A lookup (the customer lookup in 01, the timeline in 03) is made while the notebook's
workspace is open and used long after the notebook has closed it. It copies nothing: each
lookup asks the engine for the one customer's rows (Ibis filters on the workspace). While the
notebook's workspace is open the lookup reads through it; once it is closed, a DuckDB file is
opened read-only for the one lookup and closed again, so the kernel never keeps the file's
lock between lookups (a Spark workspace's ``close`` only gives up the writer's lock, so its
tables stay readable through the same session).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..workspace import Workspace

__all__ = ["WorkspaceReader"]


class WorkspaceReader:
    """Opens ``ws`` (or a read-only copy of its connection) for the length of one lookup."""

    def __init__(self, ws: Workspace):
        self.live = ws
        self.path = ws.path
        self.engine = ws.engine
        self._held: Workspace | None = None

    def _alive(self) -> bool:
        if self.engine != "duckdb":
            return True
        try:
            self.live.tables()
        except Exception:  # noqa: BLE001 - a closed DuckDB connection raises its own error type
            return False
        return True

    @contextmanager
    def open(self) -> Iterator[Workspace]:
        """The workspace to read for one lookup (closed after it when opened here)."""
        if self._held is not None:
            yield self._held
            return
        if self._alive():
            yield self.live
            return
        ws = Workspace(self.path, read_only=True)
        try:
            yield ws
        finally:
            ws.close()

    def workspace(self) -> Workspace:
        """A workspace that stays open (for Ibis tables handed out by a lookup's attributes):
        the live one, or a read-only one held until :meth:`release`."""
        if self._held is None and self._alive():
            return self.live
        if self._held is None:
            self._held = Workspace(self.path, read_only=True)
        return self._held

    def release(self) -> None:
        """Close a read-only workspace :meth:`workspace` opened (the file's lock goes with it)."""
        if self._held is not None:
            self._held.close()
            self._held = None
