"""The data-quality part of ``SqlStore``: quality counters per hour and clock skew per minute.

``SqlStore`` inherits ``QualityTables``; it relies on the store's ``_write`` / ``_read``
connections and ``_insert`` (the dialect's INSERT with ``ON CONFLICT``). Counters are added up
(``count = count + excluded.count``), so each edge write is one upsert per touched key and
the report reads a few hundred rows whatever the sample volume.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import func, select

from andon.contracts.counts import QualityCount, SkewPoint
from andon.store.schema import QUALITY_COUNTS, SOURCE_SKEW
from andon.store.sql_mixin import SqlMixin

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Sequence

    from sqlalchemy import Connection, Select


__all__ = ["QualityTables"]

_HOUR_MS = 3_600_000
_MINUTE_MS = 60_000
_KEY = ["bucket_ms", "site", "asset", "tag", "source", "metric"]
_NAME_LEN = 100
_SOURCE_LEN = 200
#: SQLite: the upserts run by the driver over all rows (``executemany``, in C): an edge adds
#: about one counter row per sample it receives, so SQLAlchemy's ~10 us a row would show
_SQLITE_ADD_COUNTS = (
    f"INSERT INTO quality_counts ({', '.join(_KEY)}, count) VALUES (?, ?, ?, ?, ?, ?, ?) "  # noqa: S608
    f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET count = quality_counts.count + "
    "excluded.count")
_SQLITE_ADD_SKEWS = (
    "INSERT INTO source_skew (source, at_ms, skew_ms, correcting) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (source, at_ms) DO UPDATE SET skew_ms = excluded.skew_ms, "
    "correcting = excluded.correcting")


class QualityTables(SqlMixin):
    """Store methods for the data-quality report (mixed into ``SqlStore``)."""

    def add_quality_counts(self, at_ms: int, counts: Sequence[QualityCount]) -> None:
        """Add counters observed at ``at_ms`` (epoch ms) to that hour's totals."""
        if not counts:
            return
        bucket = at_ms - at_ms % _HOUR_MS
        rows: dict[tuple[str, ...], dict[str, Any]] = {}
        for c in counts:
            row = {"bucket_ms": bucket, "site": c.site[:_NAME_LEN], "asset": c.asset[:_NAME_LEN],
                   "tag": c.tag[:_NAME_LEN], "source": c.source[:_SOURCE_LEN],
                   "metric": c.metric[:32], "count": c.count}
            key = tuple(str(row[k]) for k in _KEY)
            if key in rows:  # two ids cut to the same key: one row, or the upsert fails
                rows[key]["count"] += c.count
            else:
                rows[key] = row
        with self._write() as conn:
            if conn.dialect.name == "sqlite":
                _sqlite(conn).executemany(_SQLITE_ADD_COUNTS, [
                    (*(r[k] for k in _KEY), r["count"]) for r in rows.values()])
                return
            stmt = self._insert(QUALITY_COUNTS)
            stmt = stmt.on_conflict_do_update(
                index_elements=_KEY, set_={"count": QUALITY_COUNTS.c.count + stmt.excluded.count})
            conn.execute(stmt, list(rows.values()))

    def quality_counts(self, *, since_ms: int | None = None, site: str | None = None,
                       asset: str | None = None) -> list[QualityCount]:
        """Counters summed over the hours from the one holding ``since_ms`` on.

        ``site`` / ``asset`` keep only those rows (source rows have no asset: ``asset``
        leaves them out).
        """
        c = QUALITY_COUNTS.c
        total = func.sum(c.count)
        stmt = (select(c.site, c.asset, c.tag, c.source, c.metric, total)
                .group_by(c.site, c.asset, c.tag, c.source, c.metric)
                .order_by(c.site, c.asset, c.tag, c.source, c.metric))
        stmt = _counts_of(stmt, since_ms=since_ms, site=site, asset=asset)
        with self._read() as conn:
            return [QualityCount(r[0], r[1], r[2], r[3], r[4], int(r[5]))
                    for r in conn.execute(stmt)]

    def quality_per_hour(self, *, since_ms: int | None = None, site: str | None = None,
                         asset: str | None = None) -> list[tuple[int, QualityCount]]:
        """Tags' counters summed per (hour, site, asset, metric), oldest hour first.

        The hour is its start (epoch ms); the counts' ``tag`` and ``source`` are "" (rows
        of sources are left out: the trend of a tag's data quality over time).
        """
        c = QUALITY_COUNTS.c
        total = func.sum(c.count)
        stmt = (select(c.bucket_ms, c.site, c.asset, c.metric, total)
                .where(c.asset != "")
                .group_by(c.bucket_ms, c.site, c.asset, c.metric)
                .order_by(c.bucket_ms, c.site, c.asset, c.metric))
        stmt = _counts_of(stmt, since_ms=since_ms, site=site, asset=asset)
        with self._read() as conn:
            return [(int(r[0]), QualityCount(r[1], r[2], "", "", r[3], int(r[4])))
                    for r in conn.execute(stmt)]

    def add_skew_points(self, points: Sequence[SkewPoint]) -> None:
        """Keep each source's skew estimate, the latest one per minute."""
        if not points:
            return
        rows = {(p.source[:_SOURCE_LEN], p.at_ms - p.at_ms % _MINUTE_MS): p for p in points}
        with self._write() as conn:
            if conn.dialect.name == "sqlite":
                _sqlite(conn).executemany(_SQLITE_ADD_SKEWS, [
                    (s, at, p.skew_ms, int(p.correcting)) for (s, at), p in rows.items()])
                return
            stmt = self._insert(SOURCE_SKEW)
            stmt = stmt.on_conflict_do_update(
                index_elements=["source", "at_ms"],
                set_={"skew_ms": stmt.excluded.skew_ms, "correcting": stmt.excluded.correcting})
            conn.execute(stmt, [{"source": s, "at_ms": at, "skew_ms": p.skew_ms,
                                 "correcting": p.correcting} for (s, at), p in rows.items()])

    def skew_points(self, *, since_ms: int | None = None,
                    source: str | None = None) -> list[SkewPoint]:
        """Skew estimates per source and minute, oldest first."""
        c = SOURCE_SKEW.c
        stmt = select(SOURCE_SKEW).order_by(c.source, c.at_ms)
        if since_ms is not None:
            stmt = stmt.where(c.at_ms >= since_ms - since_ms % _MINUTE_MS)
        if source is not None:
            stmt = stmt.where(c.source == source)
        with self._read() as conn:
            return [SkewPoint(r.source, r.at_ms, r.skew_ms, bool(r.correcting))
                    for r in conn.execute(stmt)]


def _sqlite(conn: Connection) -> sqlite3.Connection:
    """The driver's connection under ``conn`` (in ``conn``'s transaction)."""
    return cast("sqlite3.Connection", conn.connection.driver_connection)


def _counts_of(stmt: Select[Any], *, since_ms: int | None, site: str | None,
               asset: str | None) -> Select[Any]:
    """``stmt`` over the quality counters limited to a period's hours, a site, an asset."""
    c = QUALITY_COUNTS.c
    if since_ms is not None:
        stmt = stmt.where(c.bucket_ms >= since_ms - since_ms % _HOUR_MS)
    if site is not None:
        stmt = stmt.where(c.site == site)
    if asset is not None:
        stmt = stmt.where(c.asset == asset)
    return stmt
