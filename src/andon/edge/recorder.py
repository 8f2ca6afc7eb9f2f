"""The recorder: what the edge keeps (samples, quarantined messages, events) → its store.

The ingest appends to the recorder on the thread that receives messages (a list append);
every flush hands what is pending over (``take``) and writes it on a worker thread
(``write``), in batches: one transaction for the samples, one for the quarantined messages,
one per event, one for the data-quality counters and one for the skew estimates.

Storage errors never stop the edge and never lose or duplicate a batch:

- **The store cannot take it now** (SQLite locked by another process past its busy timeout,
  PostgreSQL unreachable, disk full): the batch stays in a backlog, in order, and is retried
  after a back-off (``Backoff``: exponential with jitter, up to 30 s) on the edge's clock;
  flushes before then only add to the backlog. Each failure is counted
  (``EdgeStats.store.failures``) and logged in one line; the edge goes on receiving and
  scoring meanwhile. A batch is one transaction, removed from the backlog only once
  committed, so a retry writes nothing twice (samples are also unique by source and seq).
- **The backlog is bounded** (``max_backlog`` items, default 500,000: ~100 MB, about 8
  minutes of a 1,000 samples/s line): if the store stays down longer, the oldest batches are
  dropped, counted by kind in ``EdgeStats.store.dropped`` and logged; the newest are kept.
- **The store refuses the data itself** (``andon.store.refused_data``: text UTF-8 cannot
  encode, a value out of range): the batch is split in halves until the item is found; the
  others are written. A refused sample is quarantined (rule ``malformed``) with a one-line
  reason naming the error, its JSON kept; a refused quarantine item, event or counter is
  written again with its text made storable (``storable_text``), else dropped, counted in
  ``EdgeStats.store.unstorable`` and logged.

The decoder already refuses what no store can hold (``andon.namespace.sample.valid_text``);
this is the second line, so that no message, however it got in, can fail a batch.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

import structlog

from andon.audit import Event
from andon.clock import Clock, from_ms
from andon.contracts import Quarantined, Rule, quarantined_message
from andon.contracts.counts import QualityCount, SkewPoint
from andon.contracts.quarantine import storable_text
from andon.edge.link import Backoff
from andon.edge.stats import EdgeStats
from andon.namespace.sample import Sample, encode_sample
from andon.store import Store, refused_data

__all__ = ["Pending", "Recorder"]

log = structlog.get_logger("andon.edge.recorder")

SAMPLES, QUARANTINED, EVENT, COUNTS, SKEWS = "samples", "quarantined", "event", "counts", "skews"


class Pending(NamedTuple):
    """What a flush hands over: samples, events and quarantined messages (in that order)."""

    samples: list[Sample]
    events: list[Event]
    quarantined: list[Quarantined]


@dataclass(slots=True)
class _Part:
    """One transaction's worth of the backlog."""

    kind: str
    items: list[object]
    at_ms: int = 0  # COUNTS: the time the counters were taken
    cleaned: bool = False  # its text was made storable after a refusal


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return storable_text(f"{type(exc).__name__}: {text}")[:300]


class Recorder:
    """Pending samples, events and quarantined messages → the store, in batches (module doc).

    ``samples`` is appended to by the ingest (the thread that receives messages);
    ``keep_event`` may be called from any thread; ``write`` runs on one worker thread at a
    time. With ``record=False`` samples are not written (events and quarantined messages are).
    """

    def __init__(self, store: Store, clock: Clock, stats: EdgeStats, *, record: bool = True,
                 backoff: Backoff | None = None, max_backlog: int = 500_000) -> None:
        self.store = store
        self.clock = clock
        self.stats = stats
        self.record = record
        self.backoff = backoff or Backoff(base_s=0.5, cap_s=30.0)
        self.max_backlog = max_backlog
        #: samples waiting for the next flush (the ingest appends; ``take`` hands them over)
        self.samples: list[Sample] = []
        self.quarantined: list[Quarantined] = []
        self._events: deque[Event] = deque()  # thread-safe appends and pops
        self._quality: deque[_Part] = deque()
        self._backlog: deque[_Part] = deque()
        self._size = 0  # items in the backlog
        self._lock = threading.Lock()  # one writer at a time
        #: called with every storage error before it is retried (tests, notifications)
        self.on_failure: Callable[[BaseException], None] | None = None

    # -- from the ingest and scoring ------------------------------------------------------
    def quarantine(self, item: Quarantined) -> None:
        """Keep a quarantined message for the next write."""
        self.quarantined.append(item)

    def keep_event(self, event: Event) -> None:
        """Keep an event for the next write (any thread)."""
        self._events.append(event)

    def keep_quality(self, at_ms: int, counts: list[QualityCount],
                     skews: list[SkewPoint]) -> None:
        """Keep data-quality counters and skew estimates for the next write."""
        if counts:
            self._quality.append(_Part(COUNTS, list(counts), at_ms))
        if skews:
            self._quality.append(_Part(SKEWS, list(skews)))

    # -- flushing --------------------------------------------------------------------------
    def take(self) -> Pending:
        """Hand over what waits to be written (call on the thread that feeds the ingest)."""
        samples = self.samples[:]  # the list itself stays: the ingest holds its ``append``
        self.samples.clear()
        quarantined, self.quarantined = self.quarantined, []
        events = []
        while self._events:
            events.append(self._events.popleft())
        return Pending(samples, events, quarantined)

    def write(self, samples: Sequence[Sample], events: Sequence[Event],
              quarantined: Sequence[Quarantined] | None = None, *, force: bool = False) -> int:
        """Queue a handed-over batch behind any backlog and write what the store takes.

        While a retry is due later (``EdgeStats.store.retry_at_ms``) nothing is attempted
        unless ``force`` (a clean stop's last write). Returns the samples handed in.
        """
        with self._lock:
            self._enqueue(samples, events, quarantined or ())
            if self.stats.store.retrying and not force and (
                    self.clock.now_ms() < self.stats.store.retry_at_ms):
                return len(samples)
            self._drain()
            return len(samples)

    def flush(self) -> int:
        """Write what is pending now (on the thread that feeds the ingest); samples handed."""
        return self.write(*self.take())

    def left(self) -> int:
        """Items still waiting in the backlog (not yet written)."""
        return self._size

    # -- internals -------------------------------------------------------------------------
    def _enqueue(self, samples: Sequence[Sample], events: Sequence[Event],
                 quarantined: Sequence[Quarantined]) -> None:
        if samples and self.record:
            self._push(_Part(SAMPLES, list(samples)))
        if quarantined:
            self._push(_Part(QUARANTINED, list(quarantined)))
        for event in events:
            self._push(_Part(EVENT, [event]))
        while self._quality:
            self._push(self._quality.popleft())
        self._bound()

    def _push(self, part: _Part) -> None:
        self._backlog.append(part)
        self._size += len(part.items)
        self.stats.store.backlog = self._size

    def _bound(self) -> None:
        """Drop the oldest parts while the backlog is over ``max_backlog`` (store down long)."""
        dropped: dict[str, int] = {}
        while self._size > self.max_backlog and len(self._backlog) > 1:
            part = self._backlog.popleft()
            self._size -= len(part.items)
            dropped[part.kind] = dropped.get(part.kind, 0) + len(part.items)
        if dropped:
            counts = self.stats.store.dropped
            for kind, n in dropped.items():
                counts[kind] = counts.get(kind, 0) + n
            self.stats.store.backlog = self._size
            log.error("store backlog full: oldest items dropped", dropped=dropped,
                      max_backlog=self.max_backlog, error=self.stats.store.last_error)

    def _drain(self) -> None:
        store_stats = self.stats.store
        while self._backlog:
            part = self._backlog[0]
            try:
                self._write_part(part)
            except Exception as exc:  # noqa: BLE001 - every storage error is handled below
                if refused_data(exc):
                    self._take_head()
                    self._split(part, exc)
                    continue
                self._failed(exc)
                return
            self._take_head()
            store_stats.writes += 1
        if store_stats.retrying:
            log.info("store writable again", failures=store_stats.failures)
            store_stats.retrying = False
            self.backoff.reset()

    def _take_head(self) -> None:
        part = self._backlog.popleft()
        self._size -= len(part.items)
        self.stats.store.backlog = self._size

    def _write_part(self, part: _Part) -> None:
        store, items = self.store, part.items
        if part.kind == SAMPLES:
            samples: list[Sample] = items  # type: ignore[assignment]
            new = store.add_samples(samples, self.clock.now_ms())
            self.stats.recorded += new
            self.stats.duplicates += len(samples) - new
        elif part.kind == QUARANTINED:
            store.add_quarantined(items)  # type: ignore[arg-type]
        elif part.kind == EVENT:
            event: Event = items[0]  # type: ignore[assignment]
            store.add_event(event)
        elif part.kind == COUNTS:
            store.add_quality_counts(part.at_ms, items)  # type: ignore[arg-type]
        else:
            store.add_skew_points(items)  # type: ignore[arg-type]

    def _failed(self, exc: BaseException) -> None:
        """The store cannot take the head part now: count, log, retry after a back-off."""
        s = self.stats.store
        s.failures += 1
        s.last_error = _one_line(exc)
        delay = self.backoff.next_delay()
        s.retry_at_ms = self.clock.now_ms() + round(delay * 1000)
        s.retrying = True
        log.warning("store write failed; kept, retrying", error=s.last_error,
                    retry_in_s=round(delay, 2), backlog=self._size, failures=s.failures)
        if self.on_failure is not None:
            self.on_failure(exc)

    def _split(self, part: _Part, exc: BaseException) -> None:
        """The store refused this part's data: find the item, keep the others."""
        if len(part.items) > 1:
            half = len(part.items) // 2
            for piece in (part.items[half:], part.items[:half]):  # back to the front, in order
                self._backlog.appendleft(_Part(part.kind, piece, part.at_ms, part.cleaned))
                self._size += len(piece)
            self.stats.store.backlog = self._size
            return
        reason = _one_line(exc)
        self.stats.store.unstorable += 1
        self.stats.store.last_error = reason
        if part.kind == SAMPLES:
            sample: Sample = part.items[0]  # type: ignore[assignment]
            self._quarantine_sample(sample, reason)
            return
        if not part.cleaned:
            cleaned = _Part(part.kind, [_cleaned(i) for i in part.items], part.at_ms, cleaned=True)
            self._backlog.appendleft(cleaned)
            self._size += 1
            self.stats.store.backlog = self._size
            return
        counts = self.stats.store.dropped
        counts[part.kind] = counts.get(part.kind, 0) + 1
        log.error("the store refused an item even with storable text; dropped",
                  kind=part.kind, error=reason, item=repr(part.items[0])[:300])

    def _quarantine_sample(self, sample: Sample, reason: str) -> None:
        """A sample the store refused: quarantined (its JSON kept) with the reason."""
        try:
            payload = encode_sample(sample)  # ASCII JSON: lone surrogates come out escaped
        except ValueError:
            payload = repr(sample).encode("utf-8", "backslashreplace")
        item = quarantined_message(sample.address.topic, payload, Rule.MALFORMED,
                                   f"the store refused this sample ({reason})",
                                   from_ms(self.clock.now_ms()), source=sample.source)
        self.stats.quarantined += 1
        self._backlog.appendleft(_Part(QUARANTINED, [item]))
        self._size += 1
        self.stats.store.backlog = self._size
        log.warning("sample refused by the store; quarantined", topic=item.topic,
                    error=reason)


def _cleaned(item: object) -> object:
    """``item`` with every text field made storable (``storable_text``)."""
    if isinstance(item, Quarantined):
        return replace(item, topic=storable_text(item.topic), reason=storable_text(item.reason),
                       source=None if item.source is None else storable_text(item.source))
    if isinstance(item, Event):
        return replace(item, kind=storable_text(item.kind), subject=storable_text(item.subject),
                       detail=storable_text(item.detail), by=storable_text(item.by))
    if isinstance(item, QualityCount):
        return replace(item, site=storable_text(item.site), asset=storable_text(item.asset),
                       tag=storable_text(item.tag), source=storable_text(item.source),
                       metric=storable_text(item.metric))
    if isinstance(item, SkewPoint):
        return replace(item, source=storable_text(item.source))
    return item
