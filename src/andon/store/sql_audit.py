"""The audit part of ``SqlStore``: events, chained as they are written, and signed anchors.

``SqlStore`` inherits ``AuditTables``. ``add_event`` appends each event as the next link of the
hash chain (``andon.audit.chain``): inside one write transaction it reads the newest entry's
``seq`` and ``hash`` and writes ``seq + 1`` linked to it. Writers are serialised by the SQLite
write lock or, on PostgreSQL, a transaction-level advisory lock held to commit, so two
processes never take the same position. Events written before the chain began (release 0.1)
keep ``seq`` NULL and are read like any other.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text

from andon.audit.chain import GENESIS, ChainEntry
from andon.audit.events import Event
from andon.audit.signatures import Meaning, Signature
from andon.store.base import StoredAnchor
from andon.store.schema import AUDIT_ANCHORS, EVENTS, SIGNATURES, as_utc
from andon.store.sql_mixin import SqlMixin

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

    from sqlalchemy import Connection, Row

__all__ = ["AuditTables"]

#: key of the PostgreSQL advisory lock that orders the chain ("andon-au")
_CHAIN_LOCK = 0x616E646F6E2D6175
#: entries read per query when walking the whole chain
_PAGE = 5000


class AuditTables(SqlMixin):
    """Store methods for events and the audit chain (mixed into ``SqlStore``)."""

    def add_event(self, event: Event) -> None:
        """Append an event as the next entry of the audit chain."""
        self._add_event(event, once=False)

    def add_event_once(self, event: Event) -> bool:
        """Append an event unless the same one is kept (``Store.add_event_once``)."""
        return self._add_event(event, once=True)

    def _add_event(self, event: Event, *, once: bool) -> bool:
        at = as_utc(event.at, "event time")
        with self._write() as conn:
            if once:  # under the write lock: no other writer between the look and the append
                c = EVENTS.c
                seen = conn.execute(select(c.id).where(
                    c.kind == event.kind, c.at == at, c.subject == event.subject,
                    c.by == event.by, c.detail == event.detail).limit(1)).first()
                if seen is not None:
                    return False
            seq, prev = _chain_head(conn)
            entry = ChainEntry.of(replace(event, at=at), seq=seq + 1, prev_hash=prev)
            conn.execute(EVENTS.insert().values(
                kind=entry.kind, subject=entry.subject, detail=entry.detail, at=at,
                by=entry.by, seq=entry.seq, prev_hash=entry.prev_hash, hash=entry.hash,
                record_hash=entry.record,
            ))
        return True

    def events(self, *, kind: str | None = None, limit: int = 200, subject: str | None = None,
               by: str | None = None, since: datetime | None = None,
               until: datetime | None = None, offset: int = 0) -> list[Event]:
        """Newest first (by ``at``, then by insertion), filtered; ``[since, until)``."""
        c = EVENTS.c
        stmt = select(EVENTS).order_by(c.at.desc(), c.id.desc()).limit(limit).offset(offset)
        if kind is not None:
            stmt = stmt.where(c.kind == kind)
        if subject is not None:
            stmt = stmt.where(c.subject == subject)
        if by is not None:
            stmt = stmt.where(c.by == by)
        if since is not None:
            stmt = stmt.where(c.at >= as_utc(since, "since"))
        if until is not None:
            stmt = stmt.where(c.at < as_utc(until, "until"))
        with self._read() as conn:
            return [_event_from_row(row) for row in conn.execute(stmt)]

    def chain_entries(self) -> Iterator[ChainEntry]:
        """Every chained entry in ``seq`` order, read in pages (bounded memory)."""
        c = EVENTS.c
        after = 0
        while True:
            stmt = (select(EVENTS).where(c.seq.is_not(None), c.seq > after)
                    .order_by(c.seq).limit(_PAGE))
            with self._read() as conn:
                rows = conn.execute(stmt).all()
            for row in rows:
                yield ChainEntry(row.seq, row.kind, row.subject, row.detail, row.at, row.by,
                                 row.record_hash, row.prev_hash or "", row.hash or "")
            if len(rows) < _PAGE:
                return
            after = rows[-1].seq

    def unchained_events(self) -> int:
        """How many events were written before the chain began (``seq`` NULL)."""
        with self._read() as conn:
            stmt = select(func.count()).select_from(EVENTS).where(EVENTS.c.seq.is_(None))
            return int(conn.execute(stmt).scalar_one())

    def chain_head(self) -> tuple[int, str]:
        """The newest entry's ``seq`` and ``hash`` (``0`` and ``GENESIS`` when none)."""
        with self._read() as conn:
            return _chain_head(conn)

    def latest_record_hashes(self, kind: str) -> dict[str, tuple[int, str | None]]:
        """Per subject, the newest chained entry of ``kind``: its seq and record hash."""
        c = EVENTS.c
        newest = (select(c.subject, func.max(c.seq).label("seq"))
                  .where(c.kind == kind, c.seq.is_not(None)).group_by(c.subject).subquery())
        stmt = select(c.subject, c.seq, c.record_hash).join(newest, c.seq == newest.c.seq)
        with self._read() as conn:
            return {r.subject: (r.seq, r.record_hash) for r in conn.execute(stmt)}

    def add_signature(self, signature: Signature) -> None:
        """Store an electronic signature."""
        s = signature
        with self._write() as conn:
            conn.execute(SIGNATURES.insert().values(
                record_kind=s.record_kind, record_id=s.record_id, record_hash=s.record_hash,
                username=s.username, printed_name=s.printed_name, meaning=str(s.meaning),
                at=as_utc(s.at, "signature time"), reason=s.reason, hash=s.hash))

    def signatures_for(self, record_kind: str, *, record_hash: str | None = None,
                       record_id: str | None = None) -> list[Signature]:
        """Signatures on records of a kind (one record by hash or id), oldest first."""
        c = SIGNATURES.c
        stmt = select(SIGNATURES).where(c.record_kind == record_kind).order_by(c.at, c.id)
        if record_hash is not None:
            stmt = stmt.where(c.record_hash == record_hash)
        if record_id is not None:
            stmt = stmt.where(c.record_id == record_id)
        with self._read() as conn:
            return [Signature(r.record_kind, r.record_id, r.record_hash, r.username,
                              r.printed_name, Meaning(r.meaning), r.at, r.reason)
                    for r in conn.execute(stmt)]

    def add_anchor(self, seq: int, hash_hex: str, at: datetime, key_id: str,
                   signature: str) -> None:
        """Store a signed anchor of entry ``seq``."""
        with self._write() as conn:
            conn.execute(AUDIT_ANCHORS.insert().values(
                seq=seq, hash=hash_hex, at=as_utc(at, "anchor time"), key_id=key_id,
                signature=signature))

    def anchors(self) -> list[StoredAnchor]:
        """Every anchor, oldest first."""
        with self._read() as conn:
            rows = conn.execute(select(AUDIT_ANCHORS).order_by(AUDIT_ANCHORS.c.seq))
            return [StoredAnchor(r.seq, r.hash, r.at, r.key_id, r.signature) for r in rows]


def _chain_head(conn: Connection) -> tuple[int, str]:
    """The newest entry's position and hash, inside the caller's transaction (see module)."""
    if conn.dialect.name == "postgresql":  # held until commit: one writer takes each seq
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})
    c = EVENTS.c
    row = conn.execute(select(c.seq, c.hash).where(c.seq.is_not(None))
                       .order_by(c.seq.desc()).limit(1)).first()
    return (0, GENESIS) if row is None else (int(row.seq), str(row.hash))


def _event_from_row(row: Row[Any]) -> Event:
    return Event(kind=row.kind, subject=row.subject, detail=row.detail, at=row.at, by=row.by,
                 record=row.record_hash, seq=row.seq)
