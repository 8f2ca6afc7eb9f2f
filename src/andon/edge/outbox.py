"""Store-and-forward outbox: a bounded, durable queue of what the edge publishes.

Every outbound item (an intervention, an edge event) is appended here first, in its own
SQLite file (WAL, ``synchronous=FULL``) next to the edge's data, and removed only once it is
confirmed (see ``andon.edge.uplink``): by the broker (``remove``), or, with consumer
acknowledgement, by the consumer that stored it durably (``mark_sent`` when the broker has it,
``acknowledge`` when the central ingest says it stored everything of a source below a
``seq``; ``requeue`` sends again what stayed unacknowledged). So an outage of the broker, the
central side or the edge itself loses nothing the edge decided.

Each item carries:

- ``key``: its idempotency key (an intervention's id and detections count, ``rec-1:3``).
  Appending a key already queued is a no-op; the key is in the published payload (``"key"``)
  so that consumers drop duplicates (delivery is at least once).
- ``source`` and ``seq``: a per-source order (source = the asset for interventions, the
  edge for its events, the sample source for forwarded samples). ``seq`` grows by one per
  item of a source, survives reopening, and is in the payload (``"seq"``), so consumers can
  restore the order of a source.
- ``epoch``: a random id drawn when the file is created (in the payload, ``"epoch"``): a new
  file starts its ``seq`` at 1 again, so a consumer orders by (``epoch``, ``source``, ``seq``).

Writes are grouped: ``append_many`` queues many items in one transaction (one fsync). For the
decision's latency, ``stage`` hands out an intervention's ``seq`` and payload without writing,
from a per-source reservation (``RESERVE`` ahead) that an earlier commit made durable, so the
caller can publish it before the next ``append_many`` commits it. A crash in between cannot
reuse a published ``seq``: on the next open the reserved, uncommitted numbers become a gap
(``fill_gaps`` queues a ``GAP`` item telling the consumer they carry nothing it did not get),
and numbering goes on after the reservation. ``close`` frees the reservations.

Full-buffer policy (``capacity`` items): when full, appending drops the **oldest
non-intervention** item to make room. Interventions are never dropped: when only
interventions remain, a new non-intervention item is refused (and counted as dropped),
while a new intervention is still accepted beyond ``capacity`` (their number is bounded by
the open problems the edge raises, each update of one being one item). Every dropped item is
counted by kind in ``dropped()``, which survives reopening.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from andon.settings import OUTBOX_CAPACITY
from andon.store.files import private_database

__all__ = ["GAP", "INTERVENTION", "RESERVE", "Entry", "Outbox", "OutboxItem"]

#: the kind that is never dropped
INTERVENTION = "intervention"
SHADOW = "shadow"  # a shadow version's would-be intervention (andon.rollout), for central
#: a run of ``seq`` numbers reserved for early publishing and never used (see ``stage``)
GAP = "gap"
#: kinds the full-buffer policy never drops
_KEPT = (INTERVENTION, GAP)
#: ``seq`` numbers reserved ahead per intervention source, so that ``stage`` needs no write
RESERVE = 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    key TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    seq INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL DEFAULT 0,
    sent_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sources (source TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS gaps (source TEXT NOT NULL, first INTEGER NOT NULL,
                                 last INTEGER NOT NULL, PRIMARY KEY (source, first));
CREATE TABLE IF NOT EXISTS dropped (kind TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Entry:
    """One item to queue (``Outbox.append_many``): what ``Outbox.append`` takes."""

    kind: str
    key: str
    source: str
    topic: str
    document: dict[str, Any]
    retain: bool = False


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One queued message; ``id`` orders all items, ``seq`` orders those of one source."""

    id: int
    kind: str
    key: str
    source: str
    seq: int
    topic: str
    payload: bytes
    retain: bool = False


class Outbox:
    """A bounded, durable FIFO of outbound items (see the module docstring for the policy).

    ``path`` is a file (created with its directory) or ``":memory:"`` (tests; not durable).
    Thread-safe: one lock around one connection.
    """

    def __init__(self, path: Path | str, *, capacity: int = OUTBOX_CAPACITY.default) -> None:
        if capacity < 1:
            raise ValueError(f"outbox capacity must be at least 1, not {capacity}")
        self.path = str(path)
        self.capacity = capacity
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            private_database(self.path)  # 0600 (and its -wal, -shm), whatever the umask
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        columns = {str(r[1]) for r in self._db.execute("PRAGMA table_info(items)")}
        if "sent_ms" not in columns:  # a file from before consumer acknowledgement
            self._db.execute("ALTER TABLE items ADD COLUMN sent_ms INTEGER NOT NULL DEFAULT 0")
        self._db.execute("CREATE INDEX IF NOT EXISTS items_source_seq ON items (source, seq)")
        self._db.execute("DROP INDEX IF EXISTS items_by_source")  # a copy of the one above
        # what waits for the consumer's acknowledgement, read at every send for the link's
        # figures: without it a full scan (8 ms at 10,000 items, 190 ms at 200,000 of a long
        # outage, each time, on the event loop)
        self._db.execute("CREATE INDEX IF NOT EXISTS items_sent ON items (sent_ms) "
                         "WHERE sent_ms > 0")
        self._db.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('epoch', ?)",
                         (uuid.uuid4().hex[:16],))
        row = self._db.execute("SELECT value FROM meta WHERE name = 'epoch'").fetchone()
        #: this file's id: (epoch, source, seq) orders and identifies every item it ever held
        self.epoch = str(row[0])
        columns = {str(r[1]) for r in self._db.execute("PRAGMA table_info(sources)")}
        if "reserved" not in columns:  # a file from before early publishing
            self._db.execute("ALTER TABLE sources ADD COLUMN reserved INTEGER NOT NULL "
                             "DEFAULT 0")
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            # reserved above seq: the last run did not close (a crash): what it published
            # early from its reservation may have reached the consumer or not; the rest
            # becomes a gap item (``fill_gaps``) and seq goes on after the reservation
            self._db.execute("INSERT OR IGNORE INTO gaps (source, first, last) SELECT source, "
                             "seq + 1, reserved FROM sources WHERE reserved > seq")
            self._db.execute("UPDATE sources SET seq = reserved WHERE reserved > seq")
            self._db.execute("UPDATE sources SET reserved = seq + ? WHERE reserved > 0",
                             (RESERVE,))
        # reads (what to send, the figures) go through their own connection: WAL lets them
        # read the last commit while a commit of another thread waits for the disk, so the
        # event loop never waits for an fsync to read (":memory:" has one database per
        # connection: the same one, under the same lock)
        self._reader, self._read_lock = self._db, self._lock
        # ``floors`` (on the decision's path) on a connection of its own: it never waits
        # for the figures' counts another thread reads after each commit
        self._floors, self._floor_lock = self._db, self._lock
        if self.path != ":memory:":
            self._reader = sqlite3.connect(self.path, check_same_thread=False,
                                           isolation_level=None)
            self._read_lock = threading.Lock()
            self._floors = sqlite3.connect(self.path, check_same_thread=False,
                                           isolation_level=None)
            self._floor_lock = threading.Lock()
        #: guards the counters and the staged items below (never held across a write)
        self._alloc = threading.Lock()
        self._seq: dict[str, int] = {}  # source -> last seq handed out
        self._reserved: dict[str, int] = {}  # source -> highest seq durably reserved
        self._early: list[tuple[OutboxItem, int]] = []  # published early, not yet committed
        self._taken: list[tuple[OutboxItem, int]] = []  # of those, taken by the open transaction
        self._load_counters()

    def __repr__(self) -> str:
        return f"Outbox({self.path!r}, capacity={self.capacity})"

    def close(self) -> None:
        """Close the file (items stay in it); commit what was staged, free the reservations."""
        with self._lock:
            try:
                with self._db:
                    self._db.execute("BEGIN IMMEDIATE")
                    self._commit_early(self._take_early())
                    self._db.execute("UPDATE sources SET reserved = seq WHERE reserved > seq")
            finally:
                self._db.close()
        with self._read_lock:
            self._reader.close()
        with self._floor_lock:
            self._floors.close()

    def _load_counters(self) -> None:
        """The counters from the file, and the staged items' seq above them."""
        rows = self._db.execute("SELECT source, seq, reserved FROM sources").fetchall()
        with self._alloc:
            self._seq = {str(r[0]): int(r[1]) for r in rows}
            self._reserved = {str(r[0]): int(r[2]) for r in rows}
            for item, _ in self._early:
                self._seq[item.source] = max(self._seq.get(item.source, 0), item.seq)

    @contextlib.contextmanager
    def _relaxed(self) -> Iterator[None]:
        """A transaction without its own fsync, for bookkeeping a crash may lose (under the lock).

        ``mark_sent``, ``acknowledge`` and ``requeue`` only decide what is sent (again): if a
        crash loses one of them, the items are sent again and the consumer drops what it has
        (it acknowledges a duplicate again). WAL keeps the file consistent either way, and the
        next appended item's commit makes these durable too. So they do not wait for the
        disk (``synchronous=NORMAL``; measured: an fsync here is 0.3 ms median, 50 ms at p99
        on a busy disk, on the path of the consumer's acknowledgement).
        """
        self._db.execute("PRAGMA synchronous=NORMAL")
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                yield
        finally:
            self._db.execute("PRAGMA synchronous=FULL")

    # -- writing ----------------------------------------------------------------------------
    def append(self, kind: str, key: str, source: str, topic: str, document: dict[str, Any],
               *, retain: bool = False) -> OutboxItem | None:
        """Queue ``document`` (JSON, with ``key`` and ``seq`` added) for ``topic``.

        Returns the new item; None when ``key`` is already queued (idempotent) or when the
        item is refused by the full-buffer policy (counted in ``dropped()``).
        """
        return self.append_many([Entry(kind, key, source, topic, document, retain)])[0]

    def append_many(self, entries: Sequence[Entry], *, sent_ms: int = 0,
                    ) -> list[OutboxItem | None]:
        """Queue several items in one transaction (one fsync: a group commit), in order.

        Each as ``append`` would (same keys, policy and ``seq``), all durable together when
        this returns, or none if it raises. ``sent_ms`` > 0 stores them as already sent at
        that time (``mark_sent``): for a caller that publishes them right after the commit.
        The same transaction commits what ``stage`` handed out before (``append_many([])``
        commits only that) and renews the reservations of the sources it touched.
        """
        with self._lock:
            self._taken = []
            try:
                with self._db:
                    self._db.execute("BEGIN IMMEDIATE")
                    self._commit_early(self._take_early())
                    out = [self._append(e, sent_ms) for e in entries]
                    reserved = self._reserve({i.source for i, _ in self._taken} | {
                        i.source for i in out if i is not None and i.kind == INTERVENTION})
            except BaseException:
                with self._alloc:  # not committed: staged again, counters as in the file
                    self._early[:0] = self._taken
                self._load_counters()
                raise
            finally:
                self._taken = []
            with self._alloc:  # durable now: ``stage`` may use them
                self._reserved.update(reserved)
            return out

    def stage(self, entry: Entry, sent_ms: int) -> OutboxItem | None:
        """Hand out an intervention's ``seq`` and payload now, to publish before its commit.

        For the decision's latency: no write, no wait for the lock a commit holds. The item
        is committed by the next ``append_many`` (the caller's group commit, at the end of its
        loop turn), stored as sent at ``sent_ms``. Its ``seq`` comes from a reservation made
        durable by an earlier commit (``RESERVE`` ahead per source), so a crash before the
        commit cannot hand the same ``seq`` to another item: the next open turns what was
        reserved and not committed into a gap item (``fill_gaps``) that tells the consumer
        those numbers carry nothing it did not get. None (append it the usual way) for other
        kinds and when the source has no reservation left. The key is not looked up (a key
        already queued is committed under a suffixed key: the consumer keeps an
        intervention's versions by id).
        """
        if entry.kind != INTERVENTION:
            return None
        source = entry.source
        with self._alloc:
            seq = self._seq.get(source, 0) + 1
            if seq > self._reserved.get(source, 0):
                return None
            self._seq[source] = seq
            payload = json.dumps({**entry.document, "key": entry.key, "seq": seq,
                                  "epoch": self.epoch}, separators=(",", ":")).encode()
            item = OutboxItem(0, entry.kind, entry.key, source, seq, entry.topic, payload,
                              entry.retain)
            self._early.append((item, max(sent_ms, 1)))
        return item

    def staged(self) -> int:
        """Items handed out by ``stage`` and not committed yet."""
        with self._alloc:
            return len(self._early)

    def _take_early(self, source: str | None = None) -> list[tuple[OutboxItem, int]]:
        """Staged items (of ``source``, or all) to commit in the open transaction."""
        with self._alloc:
            taken = [e for e in self._early if source is None or e[0].source == source]
            if taken:
                self._early = [e for e in self._early if e not in taken]
        self._taken.extend(taken)  # restored if the transaction fails (``append_many``)
        return taken

    def _commit_early(self, early: list[tuple[OutboxItem, int]]) -> None:
        for item, sent_ms in early:
            key = item.key
            if self._db.execute("SELECT 1 FROM items WHERE key = ?", (key,)).fetchone():
                key = f"{key}@{item.seq}"  # see ``stage``: the seq was published, keep it
            if self._depth() >= self.capacity:
                self._make_room(item.kind)
            self._db.execute("INSERT INTO sources (source, seq) VALUES (?, ?) ON CONFLICT "
                             "(source) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                             (item.source, item.seq))
            self._db.execute(
                "INSERT INTO items (kind, key, source, seq, topic, payload, retain, sent_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (item.kind, key, item.source, item.seq, item.topic, item.payload,
                 int(item.retain), sent_ms))

    def _reserve(self, sources: set[str]) -> dict[str, int]:
        """Reserve ``RESERVE`` seq numbers ahead for ``sources`` (in the open transaction)."""
        out = {}
        for source in sources:
            with self._alloc:
                ahead = max(self._seq.get(source, 0) + RESERVE, self._reserved.get(source, 0))
            self._db.execute("UPDATE sources SET reserved = ? WHERE source = ?", (ahead, source))
            out[source] = ahead
        return out

    def fill_gaps(self, topic: str, document: dict[str, Any]) -> int:
        """Queue one ``GAP`` item per run of reserved numbers a crash left unused; how many.

        Each is ``{**document, "kind": "gap", "source", "first", "last"}`` on ``topic``, as the
        next item of its source: the consumer takes ``first..last`` as done, apart from what
        it received of them (``andon.services.central``).
        """
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            rows = self._db.execute("SELECT source, first, last FROM gaps ORDER BY source, "
                                    "first").fetchall()
            for source, first, last in rows:
                self._append(Entry(GAP, f"gap:{source}:{first}", str(source), topic,
                                   {**document, "kind": GAP, "source": source,
                                    "first": int(first), "last": int(last)}), 0)
            self._db.execute("DELETE FROM gaps")
            return len(rows)

    def _append(self, entry: Entry, sent_ms: int) -> OutboxItem | None:
        kind, key, source = entry.kind, entry.key, entry.source
        if self._db.execute("SELECT 1 FROM items WHERE key = ?", (key,)).fetchone():
            return None
        if self._depth() >= self.capacity and not self._make_room(kind):
            self._count_drop(kind)
            return None
        # items of this source staged since the transaction began go first: no seq of a
        # source is ever committed while a lower one is only in memory
        self._commit_early(self._take_early(source))
        with self._alloc:
            seq = self._seq.get(source, 0) + 1
            self._seq[source] = seq
        self._db.execute("INSERT INTO sources (source, seq) VALUES (?, ?) ON CONFLICT "
                         "(source) DO UPDATE SET seq = excluded.seq", (source, seq))
        payload = json.dumps({**entry.document, "key": key, "seq": seq, "epoch": self.epoch},
                             separators=(",", ":")).encode()
        cur = self._db.execute(
            "INSERT INTO items (kind, key, source, seq, topic, payload, retain, sent_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (kind, key, source, seq, entry.topic, payload, int(entry.retain),
             max(sent_ms, 0)))
        assert cur.lastrowid is not None  # noqa: S101 - sqlite always sets it on INSERT
        return OutboxItem(cur.lastrowid, kind, key, source, seq, entry.topic, payload,
                          entry.retain)

    def _make_room(self, kind: str) -> bool:
        """Drop the oldest non-intervention item; False if there is none to drop.

        An intervention is let in anyway (interventions are never dropped nor refused).
        """
        row = self._db.execute("SELECT id, kind FROM items WHERE kind NOT IN (?, ?) ORDER BY id "
                               "LIMIT 1", _KEPT).fetchone()
        if row is None:
            return kind in _KEPT
        self._db.execute("DELETE FROM items WHERE id = ?", (row[0],))
        self._count_drop(str(row[1]))
        return True

    def _count_drop(self, kind: str) -> None:
        self._db.execute("INSERT INTO dropped (kind, n) VALUES (?, 1) ON CONFLICT (kind) "
                         "DO UPDATE SET n = n + 1", (kind,))

    def remove(self, ids: list[int]) -> None:
        """Forget items the broker has confirmed."""
        if not ids:
            return
        with self._lock, self._db:
            # one transaction (one fsync) for the batch: in autocommit mode each DELETE of an
            # executemany would be its own (measured: 20 items took ~100 ms, now ~5)
            self._db.execute("BEGIN IMMEDIATE")
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                self._db.execute(f"DELETE FROM items WHERE id IN ({','.join('?' * len(chunk))})",  # noqa: S608 - placeholders only
                                 chunk)

    def mark_sent(self, ids: list[int], at_ms: int) -> None:
        """The broker has these items: keep them until the consumer acknowledges them."""
        if not ids:
            return
        with self._lock, self._relaxed():
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                self._db.execute(f"UPDATE items SET sent_ms = ? WHERE id IN "  # noqa: S608 - placeholders only
                                 f"({','.join('?' * len(chunk))})", (max(at_ms, 1), *chunk))

    def acknowledge(self, upto: dict[str, int]) -> int:
        """Forget every item of each source with ``seq`` below its given next seq; how many.

        The consumer stored everything of ``source`` below ``upto[source]`` (cumulative, so a
        lost acknowledgement is made good by the next one).
        """
        if not upto:
            return 0
        with self._lock, self._relaxed():
            # items staged and not committed yet go in first, so that they are forgotten too
            # (if this is lost in a crash, their reservation makes a gap item of them)
            self._commit_early(self._take_early())
            self._taken = []
            return sum(self._db.execute("DELETE FROM items WHERE source = ? AND seq < ?",
                                        (source, int(below))).rowcount
                       for source, below in upto.items())

    def requeue(self, sent_before_ms: int | None = None) -> int:
        """Send again items the broker took but no consumer acknowledged; how many.

        All of them, or those sent before ``sent_before_ms`` (epoch ms).
        """
        limit = 2**62 if sent_before_ms is None else sent_before_ms
        with self._read_lock:  # the common case (called every turn): nothing to do, no write
            if self._reader.execute("SELECT 1 FROM items WHERE sent_ms > 0 AND sent_ms < ? "
                                    "LIMIT 1", (limit,)).fetchone() is None:
                return 0
        with self._lock, self._relaxed():
            return int(self._db.execute("UPDATE items SET sent_ms = 0 WHERE sent_ms > 0 AND "
                                        "sent_ms < ?", (limit,)).rowcount)

    def unacknowledged(self) -> tuple[int, int | None]:
        """Items sent and waiting for the consumer's acknowledgement; the oldest's send time.

        The time is epoch ms, None when nothing waits.
        """
        with self._read_lock:
            n, oldest = self._reader.execute("SELECT COUNT(*), MIN(sent_ms) FROM items WHERE "
                                             "sent_ms > 0").fetchone()
        return int(n), None if oldest is None else int(oldest)

    # -- reading ----------------------------------------------------------------------------
    def pending(self, limit: int = 100, *, after: int = 0,
                up_to: int | None = None) -> list[OutboxItem]:
        """Up to ``limit`` items to send with ``after < id <= up_to``, oldest first."""
        high = up_to if up_to is not None else 2**62
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT id, kind, key, source, seq, topic, payload, retain FROM items "
                "WHERE id > ? AND id <= ? AND sent_ms = 0 ORDER BY id LIMIT ?",
                (after, high, limit)).fetchall()
        return [OutboxItem(r[0], r[1], r[2], r[3], r[4], r[5], bytes(r[6]), bool(r[7]))
                for r in rows]

    def last_id(self) -> int:
        """Id of the newest item ever appended (0 if none): marks where a backlog ends."""
        with self._read_lock:
            row = self._reader.execute("SELECT seq FROM sqlite_sequence WHERE name = 'items'"
                                       ).fetchone()
        return 0 if row is None else int(row[0])

    def floors(self, sources: set[str]) -> dict[str, int]:
        """The lowest ``seq`` still queued of each of ``sources`` (those with an item queued).

        Everything of a source below it is out of the outbox's hands: acknowledged, or dropped
        by the full-buffer policy (and counted). Items handed out by ``stage`` and not
        committed yet count as queued. Read on the reader connection: the event loop does not
        wait for a commit in progress (what that commit adds has higher numbers).
        """
        out: dict[str, int] = {}
        with self._floor_lock:
            for source in sources:
                row = self._floors.execute("SELECT MIN(seq) FROM items WHERE source = ?",
                                           (source,)).fetchone()
                if row[0] is not None:
                    out[source] = int(row[0])
        with self._alloc:
            for item, _sent in [*self._early, *self._taken]:
                if item.source in sources:
                    out[item.source] = min(out.get(item.source, item.seq), item.seq)
        return out

    def depth(self) -> int:
        """Items waiting (to be sent, or for the consumer's acknowledgement)."""
        with self._read_lock:
            return int(self._reader.execute("SELECT COUNT(*) FROM items").fetchone()[0])

    def _depth(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM items").fetchone()[0])

    def dropped(self) -> dict[str, int]:
        """Items dropped or refused by the full-buffer policy, by kind, since the file began."""
        with self._read_lock:
            return {str(k): int(n) for k, n in
                    self._reader.execute("SELECT kind, n FROM dropped ORDER BY kind")}
