"""Central ingest: what edges forward through their outboxes, written into the central store.

An edge (``andon edge --forward``) publishes, from its durable outbox, at least once:

- ``andon/v1/{ent}/_andon/edge/{edge_id}/samples``: batches of validated samples, one per
  sample source and flush (``andon.edge.forward``);
- ``andon/v1/{ent}/_andon/edge/{edge_id}/event``: its events (model loaded or refused, link
  changes, blocked publishes, data-quality breaches);
- ``andon/v1/{ent}/+/+/+/+/_andon/intervention``: its interventions (the UNS topic);
- ``.../state`` and ``.../heartbeat``: birth, heartbeat and death documents (retained).

``CentralIngest`` writes each outbox item **exactly once and in order per source**: every
item carries its outbox ``epoch`` (one per outbox file), ``source`` and ``seq`` (one more per
item of the source), so the ingest keeps, per (epoch, source), the next ``seq`` it expects.
A stream starts at the item's ``first`` (the lowest ``seq`` of the source the edge still
holds: an ingest that subscribed late waits for what the edge has not had acknowledged
instead of claiming it), or, without one, at the first item seen.
An item below it is a duplicate (a replay after a lost confirmation) and is skipped; an item
above it (live traffic that overtook the backlog during a replay) is held until the gap
fills (an edge with consumer acknowledgement sends an unacknowledged item again after 30 s).
A gap that stays open for ``gap_timeout_s`` (5 min) is one the edge dropped by its full-buffer
policy (counted there, ``dropped``): the held items are then written and the gap is counted
here (``missing``). On top of that, the store ignores a sample it already has (same source,
seq, asset, tag and time) and an intervention is stored by id (its newest version wins).

State documents become ``edge_state`` / ``edge_heartbeat`` events: ``GET /api/edges`` and
``andon status`` read them, and an edge whose heartbeats stop is stale.

A message that cannot be read is quarantined with a one-line reason, never a crash.

**Several ingest workers** (``Partition``; ``andon ingest --worker I/N``): each of N workers
subscribes to every edge's topics with its own persistent session and ledger, and handles
only the outboxes whose ``epoch`` hashes to it (CRC-32 modulo N; an edge has one outbox, so
one worker per edge): every item of an outbox, samples, events and interventions alike, goes
to one worker, which sequences, writes and acknowledges it as a single ingest would, so the
workers share a PostgreSQL store without duplicates and without talking to each other. Birth
and heartbeat documents go by the edge id of their topic; a message nobody can attribute
(unreadable, not an outbox item) is quarantined by the worker its topic hashes to. The other
workers skip a message (``IngestStats.foreign``) before decoding it: the epoch is read from
the payload's tail. A stopped worker's edges wait (their outboxes hold what is not
acknowledged) until it is back: the partition is fixed, not rebalanced.

**Group commit**: ``run_central`` only queues each message as it arrives (``receive``) and
handles everything queued at once (``flush``): the items released, in order per source, have
their samples written in one transaction, then the other items one by one, then every
source's progress in one ledger transaction; only then are they acknowledged. So the
transactions per second stay few however many edges and sources send, and a group grows with
the load. If the store refuses a group's data, its items are written one by one, so only the
refused item's source waits (held, tried again by the next flush or tick).

**Acknowledgement to the edge**: after writing, the ingest publishes (QoS 0) on
``andon/v1/{ent}/_andon/ack/{epoch}`` the next ``seq`` it expects of each source it advanced
(``{"next": {source: seq}}``): everything below is stored. A duplicate is acknowledged again
(the edge resends when an acknowledgement was lost). An edge with consumer acknowledgement
(``andon edge --forward``) removes items from its outbox only then, and sends again what stays
unacknowledged, so an item the broker accepted while the ingest was down is not lost.
``run_central`` subscribes with a persistent session (a stable client id, QoS 1), so what
arrives while the ingest restarts waits at the broker; what a broker without persistence
loses on its own restart, or the ingest loses between receiving and writing (gmqtt
acknowledges on receipt), the edge sends again for want of an acknowledgement.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import structlog

from andon.audit import Event, EventKind
from andon.clock import Clock, from_ms, to_ms
from andon.connectors.mqtt import MqttClient
from andon.connectors.reconnect import ReconnectPolicy
from andon.contracts import Rule, quarantined_message
from andon.errors import NotFound, PayloadError
from andon.interventions.record import Intervention, merge_intervention
from andon.interventions.wire import intervention_from_document
from andon.namespace import decode_sample
from andon.namespace.sample import Sample, decode_at
from andon.namespace.topics import (
    EDGE_LEAF,
    LEGACY_EDGE_LEAF,
    PREFIX,
    TagAddress,
    ack_topic,
    edge_filter,
    edge_intervention_filter,
)
from andon.store import refused_data
from andon.store.base import Store
from andon.store.files import private_database
from andon.text import redact_url

__all__ = ["CentralIngest", "HttpsOptions", "IngestStats", "Partition", "Sequencer",
           "run_central"]

log = structlog.get_logger("andon.services.central")

_DOC_LEAVES = {"state": EventKind.EDGE_STATE, "heartbeat": EventKind.EDGE_HEARTBEAT}
#: topic ends of the edge intervention stream: this release's and the pre-0.2 alias
_EDGE_SUFFIX = f"/_andon/{EDGE_LEAF}"
_LEGACY_SUFFIX = f"/_andon/{LEGACY_EDGE_LEAF}"
#: tag topics whose parsed address is kept (the cache starts afresh beyond that)
_MAX_ADDRESSES = 100_000
#: msgspec decodes an item ~3x faster than the standard library; whatever it refuses goes to
#: the standard library, which decides (it also takes NaN and integers beyond 64 bits)
_decode_json = msgspec.json.Decoder().decode



@dataclass(frozen=True, slots=True)
class Partition:
    """Worker ``index`` (1-based) of ``count``: the outboxes whose epoch hashes to it.

    ``owns`` takes any key (an outbox epoch, an edge id, a topic): CRC-32 modulo ``count``,
    the same in every process and Python version.

    >>> Partition.parse("2/3")
    Partition(index=2, count=3)
    >>> [Partition(i, 3).owns("edge-7") for i in (1, 2, 3)].count(True)
    1
    """

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"ingest worker {self.index}/{self.count}: there must be at least "
                             "one worker")
        if not 1 <= self.index <= self.count:
            raise ValueError(f"ingest worker {self.index}/{self.count}: the worker number must "
                             f"be 1 to {max(self.count, 1)}")

    @classmethod
    def parse(cls, text: str) -> Partition:
        """``"I/N"`` (worker I of N); ``ValueError`` naming the text if it is not that."""
        head, sep, tail = text.strip().partition("/")
        if not (sep and head.isdigit() and tail.isdigit()):
            raise ValueError(f"ingest worker {text!r}: expected I/N, e.g. 2/3 (worker 2 of 3)")
        return cls(int(head), int(tail))

    def owns(self, key: str) -> bool:
        """Whether ``key`` (an outbox epoch, an edge id, a topic) is this worker's."""
        return zlib.crc32(key.encode("utf-8", "surrogatepass")) % self.count == self.index - 1

    @property
    def suffix(self) -> str:
        """What tells this worker's session and ledger apart: ``-2of3``; "" for one worker."""
        return "" if self.count == 1 else f"-{self.index}of{self.count}"


def _topic_edge(topic: str) -> str | None:
    """The edge id of an ``.../_andon/edge/{edge_id}/{leaf}`` topic, else None."""
    _, sep, rest = topic.partition("/_andon/edge/")
    if not sep:
        return None
    edge_id, sep, _ = rest.partition("/")
    return edge_id if sep else None


#: an outbox item's epoch: the last ``"epoch": "..."`` of the payload (the outbox writes it
#: after the document's own fields; a nested one inside a string has its quotes escaped)
_EPOCH = re.compile(rb'"epoch"\s*:\s*"([^"\\]{1,200})"')


def _epoch_of(payload: bytes) -> str | None:
    """The ``epoch`` of an outbox item's payload without decoding it, or None."""
    at = payload.rfind(b'"epoch"')
    if at < 0:
        return None
    found = _EPOCH.match(payload, at)
    return found.group(1).decode("utf-8", "replace") if found else None


@dataclass
class IngestStats:
    """What the central ingest did (counters since start)."""

    messages: int = 0  # handled here (``foreign`` ones apart)
    samples: int = 0  # new samples written
    sample_duplicates: int = 0  # samples the store already had
    samples_quarantined: int = 0  # forwarded samples that could not be read (in ``rejected``)
    interventions: int = 0  # intervention versions written
    shadow: int = 0  # shadow versions' would-be interventions kept (never delivered)
    events: int = 0  # edge events written
    documents: int = 0  # birth / heartbeat / death documents written as events
    duplicates: int = 0  # outbox items seen before (skipped)
    held: int = 0  # items waiting now for an earlier one of their source
    missing: int = 0  # seq numbers given up on (dropped by the edge's full-buffer policy)
    rejected: int = 0  # unreadable messages (quarantined)
    voided: int = 0  # seq numbers an edge reserved and never used (gap items after a crash)
    foreign: int = 0  # messages of edges another ingest worker handles (``Partition``)
    by_edge: dict[str, int] = field(default_factory=dict)  # edge id -> items written


@dataclass(frozen=True, slots=True)
class _Item:
    topic: str
    seq: int
    doc: dict[str, Any]
    payload: bytes


class Sequencer:
    """Next expected ``seq`` per (epoch, source), kept in SQLite (a file, or memory).

    A file survives restarts of the ingest, so a replay after a restart is still recognised.
    One ingest owns the file: what it read or wrote is kept in memory too, and ``advance_many``
    records the progress of a whole flush in one transaction (one WAL ``fsync``).
    """

    def __init__(self, path: Path | str = ":memory:") -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            private_database(path)  # 0600 (and its -wal, -shm), whatever the umask
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        # WAL: one fsync per commit instead of a rollback journal's several (it is on the
        # path of every acknowledgement), as durable
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS expected (epoch TEXT NOT NULL, source TEXT "
                         "NOT NULL, next_seq INTEGER NOT NULL, PRIMARY KEY (epoch, source))")
        self._known: dict[tuple[str, str], int] = {}

    def expected(self, epoch: str, source: str) -> int | None:
        """The next seq expected, or None for a (epoch, source) never seen."""
        known = self._known.get((epoch, source))
        if known is not None:
            return known
        with self._lock:
            row = self._db.execute("SELECT next_seq FROM expected WHERE epoch = ? AND source = ?",
                                   (epoch, source)).fetchone()
        if row is None:
            return None
        self._known[epoch, source] = int(row[0])
        return int(row[0])

    def advance(self, epoch: str, source: str, next_seq: int) -> None:
        """Record that everything before ``next_seq`` was applied."""
        self.advance_many({(epoch, source): next_seq})

    def advance_many(self, progress: dict[tuple[str, str], int]) -> None:
        """``advance`` for several (epoch, source) at once, in one transaction."""
        if not progress:
            return
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT INTO expected (epoch, source, next_seq) VALUES (?, ?, ?) ON CONFLICT "
                    "(epoch, source) DO UPDATE SET next_seq = excluded.next_seq",
                    [(epoch, source, n) for (epoch, source), n in progress.items()])
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._known.update(progress)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()


class CentralIngest:
    """Write forwarded edge items into ``store``: exactly once, in order per source.

    Feed it MQTT messages (``on_message``); call ``tick()`` now and then (it releases items
    held behind a gap older than ``gap_timeout_s``). Not thread-safe: one thread feeds it.
    """

    def __init__(self, store: Store, clock: Clock, *, gap_timeout_s: float = 300.0,
                 sequencer: Sequencer | None = None, partition: Partition | None = None,
                 ) -> None:
        self.store = store
        #: the share of the edges this ingest handles (None: all of them)
        self.partition = partition if partition is None or partition.count > 1 else None
        self.clock = clock
        self.gap_timeout_s = gap_timeout_s
        self.sequencer = sequencer or Sequencer()
        self.stats = IngestStats()
        # (epoch, source) -> seq -> held item, and when the oldest gap opened
        self._held: dict[tuple[str, str], dict[int, _Item]] = {}
        self._gap_since: dict[tuple[str, str], datetime] = {}
        self._documents: dict[tuple[str, str], tuple[int, str]] = {}
        self._inbox: list[tuple[str, bytes]] = []  # received, not yet handled (``flush``)
        self._first: dict[tuple[str, str], int] = {}  # streams started here, not yet recorded
        self._stuck: set[tuple[str, str]] = set()  # streams the store failed to take
        self._addresses: dict[str, TagAddress] = {}  # tag topics decoded before
        #: called with (epoch, source, seq, topic) after each item is written (tests, metrics)
        self.on_applied: Callable[[str, str, int, str], None] | None = None
        #: epoch -> (enterprise, {source: next seq}) to acknowledge (``take_acks``)
        self._acks: dict[str, tuple[str, dict[str, int]]] = {}
        #: called when there is something to acknowledge (``run_central`` wakes up)
        self.on_ack_due: Callable[[], None] | None = None

    def subscriptions(self, enterprise: str = "+") -> list[str]:
        """What to subscribe to on the broker."""
        return [edge_filter(enterprise, "+"), edge_intervention_filter(enterprise),
                edge_intervention_filter(enterprise, legacy=True)]  # pre-0.2 edges

    # -- input -----------------------------------------------------------------------------
    def on_message(self, topic: str, payload: bytes) -> None:
        """Handle one message now (``receive``, then ``flush``); never raises."""
        self.receive(topic, payload)
        self.flush()

    def receive(self, topic: str, payload: bytes) -> None:
        """Keep one message for the next ``flush`` (cheap: ``run_central`` calls it per message)."""
        self._inbox.append((topic, payload))

    def flush(self) -> None:
        """Handle what was received since the last flush; never raises.

        Bad input is quarantined. The items released (in order per source) are written as a
        group: the samples of all of them in one transaction, then the other items one by one,
        then the progress of every source in one ledger transaction, and only then
        acknowledged. If the store fails, what was not written stays held and is tried again by
        the next flush or tick.
        """
        inbox, self._inbox = self._inbox, []
        streams = dict.fromkeys(self._stuck)
        self._stuck.clear()
        part = self.partition
        for topic, payload in inbox:
            if part is not None and not self._mine(topic, payload):
                continue  # another worker's
            try:
                stream = self._read(topic, payload)
            except Exception as exc:  # noqa: BLE001 - e.g. the store is down while quarantining
                log.warning("central ingest could not handle a message", topic=topic,
                            error=f"{type(exc).__name__}: {exc}")
                continue
            if stream is not None:
                streams[stream] = None
        if streams:
            self._release(list(streams))

    def _read(self, topic: str, payload: bytes) -> tuple[str, str] | None:
        """Decode and sequence one message; the stream it added an item to, if any."""
        self.stats.messages += 1
        try:
            doc = _decode_json(payload)
        except msgspec.DecodeError:
            try:  # the standard library decides, and names the reason
                doc = json.loads(payload)
            except (ValueError, UnicodeDecodeError) as exc:
                self._reject(topic, payload, f"payload is not JSON ({exc})")
                return None
        if not isinstance(doc, dict):
            self._reject(topic, payload, "payload is not a JSON object")
            return None
        leaf = topic.rsplit("/", 1)[-1]
        if leaf in _DOC_LEAVES and "/_andon/edge/" in topic:
            self._document(topic, _DOC_LEAVES[leaf], doc)
            return None
        where = doc.get("where")  # an intervention's asset orders its versions
        asset = where.get("asset") if isinstance(where, dict) else doc.get("asset")  # pre-0.2
        epoch, source, seq = doc.get("epoch"), doc.get("source", asset), doc.get("seq")
        if leaf == "event" and "/_andon/edge/" in topic:
            source = doc.get("edge_id")
        if not (isinstance(epoch, str) and isinstance(source, str) and isinstance(seq, int)
                and not isinstance(seq, bool)):
            self._reject(topic, payload, "not an outbox item (needs string epoch and source, "
                         "integer seq)")
            return None
        if leaf == "gap" and not _valid_gap(doc, seq):
            self._reject(topic, payload, "gap item needs integer first <= last < seq, at most "
                         f"{_MAX_GAP} numbers")
            return None
        stream = (epoch, source)
        return stream if self._sequence(stream, _Item(topic, seq, doc, payload)) else None

    def _mine(self, topic: str, payload: bytes) -> bool:
        """Whether this worker of a ``Partition`` handles the message (before decoding it).

        An outbox item goes by its ``epoch`` (so every stream of one outbox, whatever its
        source or topic, is sequenced and acknowledged by one worker), found by a scan of the
        payload's tail; a birth or heartbeat document by the edge id of its topic; anything
        else by its topic (unreadable input is quarantined by exactly one worker).
        """
        part = self.partition
        assert part is not None  # noqa: S101 - the caller checks
        key = _epoch_of(payload) or _topic_edge(topic) or topic
        if part.owns(key):
            return True
        self.stats.foreign += 1
        return False

    def tick(self) -> None:
        """Give up on gaps open longer than ``gap_timeout_s``; write what waited behind them.

        Also tries again to write what the store failed to take.
        """
        now = self.clock.now()
        streams = dict.fromkeys(self._stuck)
        self._stuck.clear()
        for stream, since in list(self._gap_since.items()):
            if (now - since).total_seconds() >= self.gap_timeout_s:
                held = self._held.get(stream, {})
                if held:
                    first = min(held)
                    expected = self._expected(stream) or first
                    self.stats.missing += first - expected
                    log.warning("gap given up", epoch=stream[0], source=stream[1],
                                missing=first - expected)
                    self.sequencer.advance(*stream, first)
                    self._first.pop(stream, None)
                self._gap_since.pop(stream, None)
                streams[stream] = None
        if streams:
            self._release(list(streams))

    # -- ordering --------------------------------------------------------------------------
    def _expected(self, stream: tuple[str, str]) -> int | None:
        expected = self.sequencer.expected(*stream)
        return self._first.get(stream) if expected is None else expected

    def _sequence(self, stream: tuple[str, str], item: _Item) -> bool:
        """Hold ``item`` for release; False if it is a duplicate."""
        expected = self._expected(stream)
        if expected is None:  # first item of this stream seen here (recorded on release)
            expected = _start(item)
            self._first[stream] = expected
        held = self._held.setdefault(stream, {})
        if item.seq < expected or item.seq in held:
            self.stats.duplicates += 1
            if item.seq < expected:  # stored before: say so again (an ack may have been lost)
                self._ack(item.topic, stream, expected)
            return False
        held[item.seq] = item
        if _is_gap(item):  # numbers the edge reserved and never used: void, unless received
            first, last = item.doc["first"], item.doc["last"]
            for seq in range(max(first, expected), min(last, item.seq - 1) + 1):
                if seq not in held:
                    held[seq] = _Item(item.topic, seq, _VOID, b"")
                    self.stats.voided += 1
        return True

    def _release(self, streams: list[tuple[str, str]]) -> None:
        """Write what each stream holds from its next expected seq on (group commit)."""
        start = {s: self._expected(s) or 0 for s in streams}
        at = dict(start)
        topics: dict[tuple[str, str], str] = {}

        def done(stream: tuple[str, str], item: _Item, *, void: bool = False) -> None:
            del self._held[stream][item.seq]
            at[stream], topics[stream] = item.seq + 1, item.topic
            if self.on_applied is not None and not void:
                self.on_applied(stream[0], stream[1], item.seq, item.topic)

        try:
            while True:
                for stream, written in self._write_samples(self._samples_run(streams, at)):
                    done(stream, written)
                moved = False  # then the next item of each stream, if it is anything else
                for stream in streams:
                    other = self._held.get(stream, {}).get(at[stream])
                    if other is not None and not _is_samples(other):
                        void = _is_gap(other) or other.doc is _VOID  # nothing to write
                        if not void:
                            self._apply(other)
                        done(stream, other, void=void)
                        moved = True
                if not moved:
                    break
        except Exception as exc:  # noqa: BLE001 - e.g. the store is down: the items stay held
            self._stuck.update(s for s in streams if self._held.get(s))
            log.warning("central ingest could not write; kept to retry",
                        error=f"{type(exc).__name__}: {exc}")
        finally:
            self._record(streams, start, at, topics)

    def _record(self, streams: list[tuple[str, str]], start: dict[tuple[str, str], int],
                at: dict[tuple[str, str], int], topics: dict[tuple[str, str], str]) -> None:
        """After a release: the streams' progress into the ledger (one transaction), then acks."""
        progress = {s: at[s] for s in streams if at[s] != start[s]}
        firsts = {s: self._first[s] for s in streams if s in self._first}
        try:
            self.sequencer.advance_many({**firsts, **progress})
        except Exception as exc:  # noqa: BLE001 - unacknowledged: the edge sends it again
            log.warning("central ingest could not record its progress",
                        error=f"{type(exc).__name__}: {exc}")
            progress = {}
        else:
            for s in firsts:
                self._first.pop(s, None)
        for stream, next_seq in progress.items():
            self._ack(topics[stream], stream, next_seq)
        for stream in streams:
            self._after_release(stream, self._held.get(stream, {}),
                                progress=at[stream] != start[stream])

    def _samples_run(self, streams: list[tuple[str, str]], at: dict[tuple[str, str], int],
                     ) -> list[tuple[tuple[str, str], _Item]]:
        """Each stream's consecutive samples items from ``at`` on, in order."""
        run: list[tuple[tuple[str, str], _Item]] = []
        for stream in streams:
            held, n = self._held.get(stream, {}), at[stream]
            while (item := held.get(n)) is not None and _is_samples(item):
                run.append((stream, item))
                n += 1
        return run

    def _write_samples(self, run: list[tuple[tuple[str, str], _Item]],
                       ) -> list[tuple[tuple[str, str], _Item]]:
        """Write the samples of ``run``'s items in one transaction; the items written.

        If the store refuses the data of a group, each item is written on its own, so that
        only the refused item (and what follows it in its stream) waits.
        """
        if not run:
            return []
        try:
            self._add_samples(run)
        except Exception as exc:
            if len(run) == 1 or not refused_data(exc):
                raise
        else:
            return run
        written, failed = [], set()
        for stream, item in run:
            if stream in failed:
                continue
            try:
                self._add_samples([(stream, item)])
            except (LookupError, TypeError, ValueError) as exc:  # as when written alone
                self._reject(item.topic, item.payload, f"unreadable samples item "
                             f"({type(exc).__name__}: {exc})")
                written.append((stream, item))
            except Exception as exc:  # noqa: BLE001 - this source waits; the others go on
                failed.add(stream)
                self._stuck.add(stream)
                log.warning("central ingest could not write an item; kept to retry",
                            topic=item.topic, error=f"{type(exc).__name__}: {exc}")
            else:
                written.append((stream, item))
        return written


    def _ack(self, topic: str, stream: tuple[str, str], next_seq: int) -> None:
        """Remember to tell the edge that ``stream`` is stored below ``next_seq``."""
        head, _, rest = topic.partition(f"{PREFIX}/")
        enterprise = rest.split("/", 1)[0]
        if head or not enterprise:
            return  # not an Andon topic: nowhere to answer
        epoch, source = stream
        _, upto = self._acks.setdefault(epoch, (enterprise, {}))
        upto[source] = max(upto.get(source, 0), next_seq)
        if self.on_ack_due is not None:
            self.on_ack_due()

    def take_acks(self) -> list[tuple[str, bytes]]:
        """The acknowledgements due, one message per outbox epoch: (topic, payload)."""
        due, self._acks = self._acks, {}
        return [(ack_topic(enterprise, epoch), json.dumps({"next": upto}).encode())
                for epoch, (enterprise, upto) in due.items()]

    def _after_release(self, stream: tuple[str, str], held: dict[int, _Item], *,
                       progress: bool) -> None:
        """Keep the gap clock of ``stream``: started by a gap, reset by progress."""
        if held:
            self._gap_since.setdefault(stream, self.clock.now())
            if progress:
                self._gap_since[stream] = self.clock.now()  # progress: wait afresh
        else:
            self._gap_since.pop(stream, None)
            self._held.pop(stream, None)
        self.stats.held = sum(len(h) for h in self._held.values())

    # -- writing ---------------------------------------------------------------------------
    def _apply(self, item: _Item) -> None:
        doc, topic = item.doc, item.topic
        edge_id = str(doc.get("edge_id", ""))
        try:
            if topic.endswith((_EDGE_SUFFIX, _LEGACY_SUFFIX)):
                iv = intervention_from_document(doc)
                try:
                    current: Intervention | None = self.store.get_intervention(iv.id)
                except NotFound:
                    current = None
                self.store.save_intervention(merge_intervention(current, iv))
                self.stats.interventions += 1
            elif topic.endswith("/shadow") and "/_andon/edge/" in topic:
                # a shadow version's would-be intervention: its own table, never delivered
                if self.store.save_shadow_intervention(intervention_from_document(doc)):
                    self.stats.shadow += 1
            # once: an ingest killed after writing and before its ledger moved gets the item
            # again (the edge resends what is unacknowledged)
            elif self.store.add_event_once(Event(EventKind.parse(str(doc.get("kind", ""))),
                                                 str(doc.get("subject", edge_id)),
                                                 str(doc.get("detail", json.dumps(doc))),
                                                 _from_epoch_ms(doc.get("at", 0)),
                                                 str(doc.get("by", f"edge {edge_id}")))):
                self.stats.events += 1
            else:
                self.stats.duplicates += 1
        except (LookupError, TypeError, ValueError) as exc:  # LookupError: a short entry
            self._reject(topic, item.payload, f"unreadable {topic.rsplit('/', 1)[-1]} item "
                         f"({type(exc).__name__}: {exc})")
            return
        if edge_id:
            self.stats.by_edge[edge_id] = self.stats.by_edge.get(edge_id, 0) + 1

    def _add_samples(self, run: list[tuple[tuple[str, str], _Item]]) -> None:
        """Decode the samples of ``run``'s items and add them to the store in one transaction."""
        samples: list[Sample] = []
        edges: list[str] = []
        for _, item in run:
            try:
                samples.extend(self._decode(item))
            except (LookupError, TypeError, ValueError) as exc:  # LookupError: a short entry
                self._reject(item.topic, item.payload, f"unreadable samples item "
                             f"({type(exc).__name__}: {exc})")
                continue
            edges.append(str(item.doc.get("edge_id", "")))
        new = self.store.add_samples(samples, to_ms(self.clock.now()))
        self.stats.samples += new
        self.stats.sample_duplicates += len(samples) - new
        for edge_id in edges:
            if edge_id:
                self.stats.by_edge[edge_id] = self.stats.by_edge.get(edge_id, 0) + 1

    def _decode(self, item: _Item) -> list[Sample]:
        """The samples of a samples item; bad entries quarantined with the reason."""
        samples: list[Sample] = []
        addresses = self._addresses
        if len(addresses) > _MAX_ADDRESSES:
            addresses.clear()
        for entry in item.doc["samples"]:
            tag_topic, body = str(entry[0]), str(entry[1]).encode()
            try:
                address = addresses.get(tag_topic)
                if address is None:
                    samples.append(sample := decode_sample(tag_topic, body))
                    addresses[tag_topic] = sample.address
                else:
                    samples.append(decode_at(tag_topic, address, body))
            except PayloadError as exc:
                self.stats.samples_quarantined += 1
                self._reject(tag_topic, body, f"forwarded sample via {item.topic}: {exc.reason}")
        return samples

    def _document(self, topic: str, kind: str, doc: dict[str, Any]) -> None:
        edge_id, at = doc.get("edge_id"), doc.get("at")
        if not isinstance(edge_id, str) or not isinstance(at, int):
            self._reject(topic, json.dumps(doc).encode(), "edge document without edge_id "
                         "and integer at")
            return
        try:
            when = _from_epoch_ms(at)
        except ValueError as exc:
            self._reject(topic, json.dumps(doc).encode(), f"edge document: {exc}")
            return
        mark = (at, str(doc.get("kind")))
        if self._documents.get((edge_id, kind)) == mark:
            return  # a retained document delivered again on resubscribe
        self._documents[(edge_id, kind)] = mark
        self.store.add_event(Event(kind, edge_id, json.dumps(doc), when))
        self.stats.documents += 1

    def _reject(self, topic: str, payload: bytes, reason: str) -> None:
        self.stats.rejected += 1
        log.warning("central ingest rejected a message", topic=topic, reason=reason)
        self.store.add_quarantined([quarantined_message(topic, payload, Rule.MALFORMED, reason,
                                                        self.clock.now())])


def _start(item: _Item) -> int:
    """Where a stream first seen with ``item`` starts: the edge's floor, else ``item``'s seq.

    The floor (``floor``) is the lowest seq of the source the edge still holds; older edges,
    and edges without consumer acknowledgement, send none.
    """
    floor = item.doc.get("floor")
    if isinstance(floor, int) and not isinstance(floor, bool) and floor <= item.seq:
        return floor
    return item.seq


#: the document of a void ``seq`` (inside a gap item's range, not received)
_VOID: dict[str, Any] = {"kind": "void"}
#: the longest gap accepted (an edge reserves ``andon.edge.outbox.RESERVE`` at a time)
_MAX_GAP = 100_000


def _is_gap(item: _Item) -> bool:
    """A gap item: an edge's reserved ``seq`` numbers ``first..last`` that carry nothing.

    After a crash, an edge cannot know which of the numbers it reserved to publish
    interventions before committing them (``andon.edge.outbox.Outbox.stage``) reached us: it
    sends this item, and those we did not receive are taken as done (``stats.voided``).
    """
    return item.topic.endswith("/gap") and "/_andon/edge/" in item.topic \
        and item.doc.get("kind") == "gap"


def _valid_gap(doc: dict[str, Any], seq: int) -> bool:
    first, last = doc.get("first"), doc.get("last")
    return (doc.get("kind") == "gap" and type(first) is int and type(last) is int
            and first <= last < seq and last - first < _MAX_GAP)


def _is_samples(item: _Item) -> bool:
    """Whether ``item`` is a batch of forwarded samples (written in groups)."""
    return item.doc.get("kind") == "samples" and item.topic.endswith("/samples")


def _from_epoch_ms(value: object) -> datetime:
    """Epoch milliseconds as a UTC datetime; ``ValueError`` if not a number or out of range."""
    try:
        return from_ms(int(value))  # type: ignore[call-overload]
    except (OverflowError, OSError, TypeError) as exc:
        raise ValueError(f"time {value!r} is out of range ({exc})") from None


async def run_central(ingest: CentralIngest, broker_url: str, stop: asyncio.Event, *,
                      enterprise: str = "+", tick_s: float = 1.0,
                      connected: asyncio.Event | None = None,
                      session: str | None = None,
                      backoff: ReconnectPolicy | None = None) -> None:
    """Subscribe to the edges' topics on ``broker_url`` and feed ``ingest`` until ``stop``.

    A broker unreachable at start is tried again by the reconnect policy ``backoff``
    (``andon.connectors.reconnect``: at once, then exponential back-off with jitter) until it
    answers or ``stop`` is set; once connected, the client reconnects on its own by the same
    policy (a comma-separated ``broker_url`` is a failover list). ``connected`` is set whenever the
    subscriptions are acknowledged (after the first connect and after each reconnect) and
    cleared when the connection drops: tests wait on it. ``session``: the client id of a
    persistent session (the broker keeps what arrives while the ingest is away); None, a clean
    one. Messages are handled in groups: what arrived while the previous group was written
    is written next, in one transaction (``CentralIngest.flush``), and acknowledged as soon as
    it is stored.
    """
    ack_due = asyncio.Event()
    loop = asyncio.get_running_loop()

    def wake() -> None:  # any thread (a store call may run in a worker)
        loop.call_soon_threadsafe(ack_due.set)

    received = asyncio.Event()

    def receive(topic: str, payload: bytes) -> None:  # the loop's thread (gmqtt's callback)
        ingest.receive(topic, payload)
        received.set()

    client = MqttClient(broker_url, session, on_message=receive,
                        subscriptions=ingest.subscriptions(enterprise), qos=1,
                        persistent=session is not None, reconnect=backoff)
    if not await client.connect_retrying(stop):
        await client.disconnect()
        return
    ingest.on_ack_due = wake
    ready = connected or asyncio.Event()
    last_tick = loop.time()
    try:
        while not stop.is_set():
            ack_due.clear()  # then take: nothing written in between goes unannounced
            received.clear()
            ingest.flush()  # all that arrived since the last turn: one group commit
            _send_acks(client, ingest)
            if client.connected.is_set() and not ready.is_set():
                with contextlib.suppress(TimeoutError):
                    await client.subscribed()
                    ready.set()
                    log.info("central ingest subscribed", url=redact_url(broker_url))
            elif not client.connected.is_set():
                ready.clear()
            await _first_set(stop, ack_due, received,
                             timeout=max(0.0, last_tick + tick_s - loop.time()))
            if not stop.is_set() and loop.time() - last_tick >= tick_s:
                last_tick = loop.time()
                try:
                    ingest.tick()
                except Exception as exc:  # noqa: BLE001 - e.g. the store is down: held items
                    # stay held and the next tick tries again; the ingest must keep running
                    log.warning("central ingest tick failed", error=f"{type(exc).__name__}: "
                                f"{exc}")
    finally:
        ingest.flush()  # what arrived before the stop is written and acknowledged
        _send_acks(client, ingest)
        ingest.on_ack_due = None
        await client.disconnect()



def _send_acks(client: MqttClient, ingest: CentralIngest) -> None:
    """Publish the acknowledgements due (kept for later while disconnected).

    QoS 0: an acknowledgement is cumulative and repeated (a later one, or the answer to the
    edge's resend, makes good a lost one), and the edge's uplink has a clean session, so QoS 1
    would keep nothing more; it would cost a PUBACK that a broker with Nagle on makes the next
    item wait 40 ms for.
    """
    if client.connected.is_set():
        for topic, payload in ingest.take_acks():
            client.publish(topic, payload, qos=0)


async def _first_set(*events: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109
    """Return when any of ``events`` is set, or after ``timeout`` seconds."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


@dataclass(frozen=True, slots=True)
class HttpsOptions:
    """How ``andon serve`` speaks HTTPS: its own certificate, or behind a trusted proxy."""

    cert: Path | None = None
    key: Path | None = None
    trusted_proxies: str = ""  # comma-separated addresses whose X-Forwarded-* are believed

    def uvicorn(self) -> dict[str, Any]:
        """Uvicorn's configuration for these options."""
        return {"ssl_certfile": None if self.cert is None else str(self.cert),
                "ssl_keyfile": None if self.key is None else str(self.key),
                "proxy_headers": bool(self.trusted_proxies),
                "forwarded_allow_ips": self.trusted_proxies or None}


def _server(app: Any, host: str, port: int, https: HttpsOptions | None = None) -> Any:
    """A uvicorn server that, stopped by SIGINT or SIGTERM, returns instead of re-raising it.

    uvicorn re-raises the signal that stopped it once it has shut down, so that its default
    action ends the process: for SIGTERM, exit -15 before the rest of ``andon serve`` (sinks,
    escalation, the ingest's session, the store) has cleaned up. Here the signal has been
    handled (the server stopped); ``andon serve`` then stops the rest and exits 0.
    """
    import uvicorn  # noqa: PLC0415 - only ``andon serve`` needs it

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                yield
                self._captured_signals.clear()  # handled: nothing to re-raise

    # log_config=None: uvicorn's lines go to the process's logging (andon --log-format)
    return Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                 log_config=None, access_log=False,
                                 **(https or HttpsOptions()).uvicorn()))


async def serve_with_ingest(app: Any, host: str, port: int, ingest: CentralIngest | None,
                            broker_url: str | None, *, enterprise: str = "+",
                            https: HttpsOptions | None = None,
                            connected: asyncio.Event | None = None) -> None:
    """Serve ``app`` (ASGI) with uvicorn and, with ``broker_url``, run the ingest beside it.

    The ingest's session is persistent, named ``andon-central-{enterprise}``: one central
    ingest per enterprise and broker. Stops on SIGINT / SIGTERM (uvicorn's handlers); the
    ingest stops with the server, and so does what the caller wraps around this (sinks,
    escalation, the store): a signal is a request for a clean stop, never a kill (``_server``).
    ``connected`` is set while the ingest is subscribed on the broker (``run_central``): the
    server's readiness (``GET /readyz``) reads it.
    """
    server = _server(app, host, port, https)
    stop = asyncio.Event()
    feeding = None
    if ingest is not None and broker_url is not None:
        suffix = "" if ingest.partition is None else ingest.partition.suffix
        feeding = asyncio.ensure_future(run_central(
            ingest, broker_url, stop, enterprise=enterprise, connected=connected,
            session=f"andon-central-{enterprise}"[:52] + suffix))
    try:
        await server.serve()
    finally:
        stop.set()
        if feeding is not None:
            await feeding
