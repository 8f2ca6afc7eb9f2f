"""The ingest hot path: messages → routes → samples → time rules → contracts → windows.

``Ingest.on_messages`` takes the messages one socket read brought (the edge's MQTT intake,
``andon.connectors.uns.UnsConnector``, hands them over as a batch) and reads the clock once
for them: they arrived together, so they share one ingest time. Each message: topic →
**route** (resolved once per topic and kept, bounded: the parsed address or, for a
``legacy/`` topic, the tag map's binding; the windows of the asset; whether the line is
another edge's) → size cap → decode → ``Timekeeper.admit`` → ``ContractChecker.check`` →
``Timekeeper.follow`` → the recorder's pending samples → windows and features. Each complete
window's feature vector goes to ``on_window`` (``andon.edge.scoring.Scoring.submit``).

Nothing here raises for bad input: a message that does not decode, or breaks a contract, is
quarantined with a one-line reason and its payload; a bug of Andon's hit by one message is
counted (``EdgeStats.failed``), logged with its topic, and the rest of the batch goes on.
``on_sample`` and ``reject`` are the same path for connectors that decode themselves
(``andon.connectors.base.PointSink``).
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import structlog

from andon.audit import Event, EventKind
from andon.clock import Clock, from_ms
from andon.connectors.legacy import LEGACY_PREFIX, LegacyDecoder, decode_routed, legacy_filter
from andon.connectors.mqtt import Retained
from andon.contracts import (
    MAX_PAYLOAD_BYTES,
    ContractChecker,
    QualityEvents,
    Rule,
    Violation,
    quarantined_message,
    tag_path,
)
from andon.contracts.counts import SkewPoint
from andon.contracts.timing import GapNote, SkewNote, Timekeeper
from andon.edge.recorder import Recorder
from andon.edge.stats import EdgeStats
from andon.errors import PayloadError
from andon.features import AssetWindows, features_of, use_case_tags
from andon.namespace import encode_sample, line_filter, parse_tag_topic
from andon.namespace.sample import (
    MAX_SOURCE_CHARS,
    MAX_UNIT_CHARS,
    Sample,
    decode_at,
    too_long,
)
from andon.namespace.tagmap import TagBinding
from andon.namespace.topics import TagAddress
from andon.spec.model import PlantSpec, Tag, UseCase

__all__ = ["Ingest", "OnWindow", "Watch", "watches_of"]

log = structlog.get_logger("andon.edge")
#: module constants: an enum member lookup costs ~140 ns, several times per sample
_LATE, _GAP = Rule.LATE.value, Rule.GAP.value
_CONFLICT = Rule.CONFLICTING_DUPLICATE.value
_MAX_ROUTES = 50_000  # topics whose resolution is kept
_MAX_RETAINED = 10_000  # retained messages quarantined, remembered to spot their re-delivery

#: where a complete window goes: (use case, asset, window end ms, feature vector)
OnWindow = Callable[[UseCase, str, int, list[float]], None]


@dataclass
class Watch:
    """One use case scoring one asset: its tags and the asset's windows for it."""

    use_case: UseCase
    tags: list[Tag]
    windows: AssetWindows


def watches_of(spec: PlantSpec, lines: set[str] | None, lateness_s: float,
               ) -> dict[str, list[Watch]]:
    """Asset id → the use cases scoring it (on ``lines``, or every line), with fresh windows."""
    out: dict[str, list[Watch]] = {}
    for uc in spec.use_cases:
        tags = use_case_tags(spec, uc)
        for _site, _area, line, asset in spec.use_case_assets(uc):
            if lines is not None and line.id not in lines:
                continue
            aw = AssetWindows(asset.id, [t.name for t in tags], window_s=uc.window,
                              hop_s=uc.hop, lateness_s=lateness_s)
            out.setdefault(asset.id, []).append(Watch(uc, tags, aw))
    return out


class _Route(NamedTuple):
    """What the edge resolved of one topic: decode it and window its samples with this."""

    address: TagAddress
    binding: TagBinding | None  # legacy raw topics: the tag map's binding (and ``site``)
    site: str
    watches: tuple[Watch, ...]  # the asset's windows, one per use case that scores it
    foreign: bool  # a legacy raw name of a line another edge serves (counted, not used)


class Ingest:
    """Messages and samples in; recorded samples, quarantined messages and windows out."""

    def __init__(self, spec: PlantSpec, *, recorder: Recorder, on_window: OnWindow,
                 stats: EdgeStats, clock: Clock, contracts: ContractChecker,
                 timekeeper: Timekeeper, legacy: LegacyDecoder, quality_events: QualityEvents,
                 watches: dict[str, list[Watch]], lines: set[str] | None = None,
                 record: bool = True) -> None:
        self.spec = spec
        self.recorder = recorder
        self.on_window = on_window
        self.stats = stats
        self.clock = clock
        self.contracts = contracts
        #: duplicates, clock skew, lateness and gaps per source and tag (andon.contracts.timing)
        self.timekeeper = timekeeper
        self.legacy = legacy  # raw topics of sites with a tag map
        self.quality_events = quality_events  # breach events: one per (tag, rule) and hour
        self.watches = watches
        self.lines = lines
        self.record = record
        self.rejects: deque[tuple[str, str]] = deque(maxlen=100)  # last rejects (topic, reason)
        self._keep = recorder.samples.append  # the recorder keeps this list (``take`` copies)
        self._routes: dict[str, _Route] = {}  # topic -> its resolution (``_route``)
        #: retained messages quarantined so far: (topic, sha256) (``_redelivered``)
        self._retained: set[tuple[str, bytes]] = set()
        self._at_ms = -1  # the ingest time ``_at`` last turned into a datetime
        self._at_dt = from_ms(0)

    # -- subscriptions ---------------------------------------------------------------------
    def subscriptions(self) -> list[str]:
        """Topic filters for the lines this edge serves."""
        ent = self.spec.enterprise.id
        served = [(s, a, ln) for s, a, ln in self.spec.lines()
                  if self.lines is None or ln.id in self.lines]
        legacy = dict.fromkeys(s.id for s, _, _ in served if s.id in self.legacy.maps)
        return [*(line_filter(ent, s.id, a.id, ln.id) for s, a, ln in served),
                *(legacy_filter(ent, site) for site in legacy)]

    def watched_assets(self) -> list[str]:
        """Asset ids scored by at least one use case."""
        return sorted(self.watches)

    # -- the hot path ----------------------------------------------------------------------
    def on_messages(self, messages: Sequence[tuple[str, bytes]], *, contain: bool = True,
                    ) -> None:
        """Handle the messages one socket read brought, in order; never raises for bad input.

        A message the code itself fails on (a bug, not bad input) is counted in
        ``stats.failed`` and logged with its topic, and the rest go on (``contain=False``:
        raised instead).
        """
        ingest_ms = self.clock.now_ms()  # once per batch: the messages arrived together
        routes = self._routes
        stats = self.stats
        stats.received += len(messages)
        for topic, payload in messages:
            try:
                route = routes.get(topic)
                if route is None:
                    route = self._route(topic, payload, ingest_ms)
                    if route is None:
                        continue  # quarantined: no tag topic, or a raw name no map knows
                if len(payload) > MAX_PAYLOAD_BYTES:
                    self._oversized(topic, payload, ingest_ms)
                    continue
                address, binding, site, watches, foreign = route
                try:
                    sample = (decode_at(topic, address, payload) if binding is None
                              else decode_routed(topic, payload, binding, site))
                except PayloadError as exc:
                    self._reject(topic, payload, exc.reason, ingest_ms)
                    continue
                if foreign:
                    stats.foreign += 1
                    continue
                self._ingest(sample, ingest_ms, watches, topic, payload)
            except Exception:  # a bug of ours, not bad input: counted, logged, the others go on
                stats.failed += 1
                if not contain:
                    raise
                log.exception("message handling failed", topic=topic[:200])

    def on_message(self, topic: str, payload: bytes) -> None:
        """Handle one message (``on_messages`` of one); a bug of ours is raised to the caller."""
        self.on_messages(((topic, payload),), contain=False)

    def on_sample(self, sample: Sample, topic: str | None = None,
                  payload: bytes | None = None) -> None:
        """Check one decoded sample against its contract; record and window it.

        ``topic`` and ``payload`` are the message it came from, kept if it is quarantined
        (without them the sample is re-encoded). Counted as received, like ``reject``'s input.
        A producer id or unit longer than the store keeps is quarantined, never cut.
        """
        ingest_ms = self.clock.now_ms()
        self.stats.received += 1
        try:  # a connector's producer id or unit may be longer than the store keeps
            too_long(sample.address.topic, "src", sample.source, MAX_SOURCE_CHARS)
            too_long(sample.address.topic, "u", sample.unit, MAX_UNIT_CHARS)
        except PayloadError as exc:
            self._reject(topic or sample.address.topic,
                         encode_sample(sample) if payload is None else payload, exc.reason,
                         ingest_ms)
            return
        self._ingest(sample, ingest_ms, self.watches.get(sample.address.asset, ()),
                     topic, payload)

    def reject(self, where: str, payload: bytes, reason: str) -> None:
        """Quarantine input a connector could not decode (``andon.connectors.base.PointSink``)."""
        self.stats.received += 1
        self._reject(where, payload, reason, self.clock.now_ms())

    def _route(self, topic: str, payload: bytes, ingest_ms: int) -> _Route | None:
        """Resolve a topic (kept, bounded); None: the message is quarantined."""
        try:
            route = self._resolve(topic)
        except PayloadError as exc:
            if len(payload) > MAX_PAYLOAD_BYTES:
                self._oversized(topic, payload, ingest_ms)
            else:
                self._reject(topic, payload, exc.reason, ingest_ms)
            return None
        a = route.address
        if route.binding is None and self.contracts.contract(a.asset, a.tag) is None:
            return route  # no tag of the spec: quarantined each time, never kept (floods)
        if len(self._routes) >= _MAX_ROUTES:  # bounded: a plant has far fewer topics
            self._routes.clear()
        self._routes[topic] = route
        return route

    def _resolve(self, topic: str) -> _Route:
        """What a topic is; ``PayloadError`` if it is no tag topic and no mapped raw name."""
        if topic.startswith(LEGACY_PREFIX):
            binding, site = self.legacy.route(topic)
            address = binding.address
            foreign = self.lines is not None and address.line not in self.lines
            return _Route(address, binding, site, self._watches(address.asset), foreign)
        parsed = parse_tag_topic(topic, keep=False)  # kept here, in ``_routes``
        if parsed is None:
            raise PayloadError(topic, "not a tag topic "
                                      "(andon/v1/enterprise/site/area/line/asset/tag)")
        return _Route(parsed, None, "", self._watches(parsed.asset), foreign=False)

    def _watches(self, asset: str) -> tuple[Watch, ...]:
        return tuple(self.watches.get(asset, ()))

    def _oversized(self, topic: str, payload: bytes, ingest_ms: int) -> None:
        digest = hashlib.sha256(payload).hexdigest()
        self._reject(topic, payload,
                     f"payload of {len(payload)} bytes is over the {MAX_PAYLOAD_BYTES}-byte "
                     f"limit of one message (sha256 {digest}; first {MAX_PAYLOAD_BYTES} "
                     "bytes kept)", ingest_ms)

    def _ingest(self, sample: Sample, ingest_ms: int,  # noqa: C901 - the hot path, one frame
                watches: Iterable[Watch], topic: str | None, payload: bytes | None) -> None:
        """``on_sample`` given the ingest time and the windows of the sample's asset."""
        keeper = self.timekeeper
        admitted = keeper.admit(sample, ingest_ms)
        if admitted is None:
            self.stats.duplicates += 1
            return
        if admitted is not sample and admitted.reason == _CONFLICT:
            self._conflict(admitted, topic, payload, ingest_ms)
            return
        checked, violations = self.contracts.check(admitted, ingest_ms)
        if violations:
            self._breached(violations, sample, topic, payload, ingest_ms)
        if checked is None:
            return
        sample = checked
        stats = self.stats
        if sample.ts_ms > stats.last_source_ms:  # noqa: PLR1730 - a compare, not a call
            stats.last_source_ms = sample.ts_ms
        fills = keeper.follow(sample)  # a gap before this sample comes with a note
        if self.record:
            self._keep(sample)
        if keeper.notes:
            self._time_notes(keeper.take_notes(), fills, ingest_ms)
        if admitted.reason == _LATE:
            stats.late += 1
            return  # recorded as late, never windowed
        for watch in watches:
            for window in watch.windows.add(sample):
                stats.windows += 1
                vec = features_of(window, watch.tags)
                if vec is None:
                    stats.incomplete += 1
                    continue
                self.on_window(watch.use_case, window.asset, window.end_ms, vec)

    # -- off the hot path: what goes wrong ---------------------------------------------------
    def _at(self, ingest_ms: int) -> datetime:
        """The ingest time as a datetime, built once per batch that needs one."""
        if ingest_ms != self._at_ms:
            self._at_ms, self._at_dt = ingest_ms, from_ms(ingest_ms)
        return self._at_dt

    def _redelivered(self, topic: str, payload: bytes | None) -> bool:
        """Whether a bad message is a retained one quarantined before, delivered again.

        The broker sends a topic's retained message on every (re)subscription: a retained
        bad message would otherwise become a quarantine row (and an event) on every
        reconnect. Such a re-delivery is counted as a duplicate (``retained_repeats``).
        Bounded memory; after a restart of the edge the first delivery is kept again.
        """
        if type(payload) is not Retained:
            return False
        key = (topic, hashlib.sha256(payload).digest())
        if key in self._retained:
            self.stats.duplicates += 1
            self.stats.retained_repeats += 1
            return True
        if len(self._retained) >= _MAX_RETAINED:
            self._retained.clear()
        self._retained.add(key)
        return False

    def _reject(self, topic: str, payload: bytes, reason: str, ingest_ms: int) -> None:
        """Quarantine a malformed message; one ``rejected_message`` event per topic and hour."""
        if self._redelivered(topic, payload):
            return
        self.stats.rejected += 1
        self.stats.quarantined += 1
        self.rejects.append((topic, reason))
        now = self._at(ingest_ms)
        item = quarantined_message(topic, payload, Rule.MALFORMED, reason, now)
        self.recorder.quarantine(item)
        excerpt = payload[:200].decode("utf-8", "replace")
        event = self.quality_events.note(
            Violation(item.topic[:300], Rule.MALFORMED, None, item.source,
                      f"{item.reason}; payload: {excerpt!r}"), now, kind=EventKind.REJECTED_MESSAGE)
        if event is not None:
            self.recorder.keep_event(event)

    def _time_notes(self, notes: list[SkewNote | GapNote], fills: tuple[Sample, ...],
                    ingest_ms: int) -> None:
        """Gaps become (rate-limited) data_quality events; skew changes ``clock_skew`` events.

        ``fills`` (a fill policy's samples for the gap) are recorded with the sample.
        """
        if fills and self.record:
            self.recorder.samples.extend(fills)
        now = self._at(ingest_ms)
        for note in notes:
            if isinstance(note, SkewNote):
                self.recorder.keep_event(Event(EventKind.CLOCK_SKEW, note.source, note.reason, now))
                continue
            self.stats.gaps += 1
            self.stats.filled += note.filled
            event = self.quality_events.note_of(note.path, _GAP, note, now)
            if event is not None:
                self.recorder.keep_event(event)

    def _conflict(self, sample: Sample, topic: str | None, payload: bytes | None,
                  ingest_ms: int) -> None:
        """Quarantine a sample seen before with another value (no exact duplicate)."""
        self.stats.conflicting += 1
        first = self.timekeeper.first_value(sample)
        path = tag_path(sample.address)
        seen = "" if first is None else f" with v={first!r}"
        reason = (f"{path}: seq {sample.seq} from {sample.source} at "
                  f"{from_ms(sample.ts_ms).isoformat(timespec='milliseconds')} "
                  f"already seen{seen}; this one has v={sample.value!r} (the first stands)")
        self._breached((Violation(path, Rule.CONFLICTING_DUPLICATE, sample.value,
                                  sample.source, reason),), sample, topic, payload, ingest_ms)

    def _breached(self, violations: tuple[Violation, ...], sample: Sample, topic: str | None,
                  payload: bytes | None, ingest_ms: int) -> None:
        """Report contract breaches as (rate-limited) events; quarantine a refused sample."""
        if violations[0].quarantines and topic is not None and self._redelivered(topic,
                                                                                 payload):
            return
        now = self._at(ingest_ms)
        a = sample.address
        for v in violations:
            self.timekeeper.tally.add(a.site, a.asset, a.tag, "", v.rule.value)
            event = self.quality_events.note(v, now)
            if event is not None:
                self.recorder.keep_event(event)
        first = violations[0]
        if not first.quarantines:
            self.stats.flagged += 1
            return
        self.stats.quarantined += 1
        if topic is None or payload is None:
            topic = sample.address.topic
            payload = encode_sample(sample)
        self.recorder.quarantine(
            quarantined_message(topic, payload, first.rule, first.reason, now,
                                source=sample.source))

    # -- periodic work ---------------------------------------------------------------------
    def take_quality(self) -> None:
        """Hand the data-quality counters and skew estimates over to the recorder."""
        keeper = self.timekeeper
        at_ms = self.clock.now_ms()
        skews = [SkewPoint(s.source, at_ms, s.skew_ms, s.correcting)
                 for s in keeper.sources() if s.received]  # sources heard since the last take
        counts = keeper.take_counts()
        if counts or skews:
            self.recorder.keep_quality(at_ms, counts, skews)
