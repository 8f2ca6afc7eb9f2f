"""What every table mixin of ``SqlStore`` relies on: ``SqlStore``'s connection helpers.

Each ``store/sql_<topic>.py`` mixin keeps the methods of its tables and inherits this class
so that type checkers know ``_write``, ``_read`` and ``_insert``; ``SqlStore`` implements them.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Connection, Table
    from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["SqlMixin"]


class SqlMixin:
    """The connection helpers a table mixin uses (implemented by ``SqlStore``)."""

    def _write(self) -> AbstractContextManager[Connection]:  # pragma: no cover - SqlStore's
        """One write transaction (SQLite: the single writer)."""
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Connection]:  # pragma: no cover - SqlStore's
        """One read connection."""
        raise NotImplementedError

    def _insert(self, table: Table) -> sqlite.Insert | postgresql.Insert:  # pragma: no cover
        """The dialect's INSERT (for ON CONFLICT)."""
        raise NotImplementedError
