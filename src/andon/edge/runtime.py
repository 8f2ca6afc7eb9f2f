"""Edge runtime: decode → record → window → features → score → decide → publish + store."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
import structlog

from andon.audit import EventKind
from andon.clock import Clock, from_ms, to_ms
from andon.connectors.legacy import LEGACY_PREFIX, LegacyDecoder, decode_routed, legacy_filter
from andon.contracts import (
    MAX_PAYLOAD_BYTES,
    ContractChecker,
    QualityEvents,
    Quarantined,
    Rule,
    Violation,
    quarantined_message,
)
from andon.contracts.counts import QualityCount, SkewPoint
from andon.contracts.timing import GapNote, SkewNote, Timekeeper
from andon.edge.envelope import EnvelopeCheck
from andon.edge.forward import Forwarder
from andon.edge.heartbeat import EdgeIdentity
from andon.edge.link import Backoff, LinkStats
from andon.edge.outbox import INTERVENTION, Outbox
from andon.edge.pull import cached_version
from andon.edge.uplink import Uplink
from andon.edge.watchdog import ScoringWatchdog, WatchdogStats
from andon.errors import ModelError, PayloadError
from andon.features import AssetWindows, features_of, use_case_tags
from andon.interventions import Decider, Detection, Intervention
from andon.interventions.gate import Gate
from andon.interventions.wire import intervention_document
from andon.namespace import (
    edge_intervention_topic,
    encode_sample,
    line_filter,
    parse_tag_topic,
)
from andon.namespace.sample import Sample, decode_at
from andon.namespace.tagmap import TagBinding
from andon.namespace.topics import TagAddress
from andon.registry import production_of, verify
from andon.scoring import AnomalyModel, ModelMeta, latest_version_dir, load_model
from andon.settings import HEARTBEAT
from andon.spec.model import PlantSpec, Tag, UseCase
from andon.store.base import Event, Store

__all__ = ["Edge", "EdgeStats", "Outbound", "default_edge_id", "housekeeping",
           "intervention_key", "intervention_payload", "run_edge"]

log = structlog.get_logger("andon.edge")
#: module constants: an enum member lookup costs ~140 ns, several times per sample
_LATE, _GAP = Rule.LATE.value, Rule.GAP.value

Publish = Callable[[str, bytes], None]


class Outbound(Protocol):
    """Where the edge sends what it publishes (``andon.edge.uplink.Uplink``: guard + outbox)."""

    def send(self, kind: str, key: str, source: str, topic: str, document: dict[str, Any], *,
             retain: bool = False) -> bool:
        """Queue one item; False if it was blocked or refused."""
        ...


@dataclass
class EdgeStats:
    """Counters an operator can read to see that the edge is healthy."""

    received: int = 0
    rejected: int = 0  # malformed messages (quarantined with the reason)
    quarantined: int = 0  # messages quarantined: malformed ones and contract breaches
    flagged: int = 0  # samples recorded as uncertain because they broke a flagging rule
    recorded: int = 0  # new samples written to the store
    duplicates: int = 0  # samples seen before (same source, seq): dropped, or the store had
    late: int = 0  # samples older than their source's newest by > lateness: kept, not windowed
    gaps: int = 0  # silences longer than a tag's period (data_quality events)
    filled: int = 0  # samples inserted by a tag's fill policy (uncertain, reason filled)
    foreign: int = 0  # legacy samples of a line another edge serves (site-wide raw topics)
    failed: int = 0  # messages a bug of Andon's stopped (logged with the topic; none expected)
    windows: int = 0  # windows closed
    incomplete: int = 0  # windows with too little good data (not scored)
    unscored: int = 0  # windows closed before a model was available
    scored: int = 0
    anomalous: int = 0
    interventions: int = 0  # interventions raised or updated
    last_source_ms: int = 0  # newest source timestamp seen
    models: dict[str, str] = field(default_factory=dict)  # use case -> model label
    link: LinkStats = field(default_factory=LinkStats)  # outbound: link state, outbox, guard
    watchdog: WatchdogStats = field(default_factory=WatchdogStats)  # stalled scoring restarts


@dataclass
class _Watch:
    use_case: UseCase
    tags: list[Tag]
    windows: AssetWindows


class _Route(NamedTuple):
    """What the edge resolved of one topic: decode it and window its samples with this."""

    address: TagAddress
    binding: TagBinding | None  # legacy raw topics: the tag map's binding (and ``site``)
    site: str
    watches: tuple[_Watch, ...]  # the asset's windows, one per use case that scores it
    foreign: bool  # a legacy raw name of a line another edge serves (counted, not used)


_MAX_ROUTES = 50_000  # topics whose resolution is kept


class Edge:
    """The edge's logic, free of sockets: feed it messages, it records, scores and decides.

    Models: with ``trusted_keys`` (a directory of ``*.pub`` files), each use case serves the
    production version of its model (stage from the store) whose detached signature verifies
    against those keys; the local models directory is the edge's cache of artifacts. With
    ``trusted_keys=None`` (tests only) it loads the highest version directory, unsigned.
    """

    def __init__(self, spec: PlantSpec, store: Store, models_dir: Path, *, clock: Clock,
                 trusted_keys: Path | None = None, lines: set[str] | None = None,
                 record: bool = True, publish: Publish | None = None,
                 lateness_s: float = 60.0) -> None:
        self.spec = spec
        self.store = store
        self.models_dir = models_dir
        self.trusted_keys = trusted_keys
        self.clock = clock
        self.lines = lines
        self.record = record
        self.publish = publish
        #: the outbound path (guard + outbox), set by ``run_edge``; else ``publish`` is used
        self.outbound: Outbound | None = None
        #: scores windows on a worker thread, restarted if a model hangs (``enable_watchdog``)
        self.watchdog: ScoringWatchdog | None = None
        #: blocks interventions outside their use case's action envelope (spec)
        self.envelope = EnvelopeCheck(spec, clock, record=self.keep_event)
        #: called with every scored window's detection, before deciding (replay backtests)
        self.on_score: Callable[[Detection], None] | None = None
        self.stats = EdgeStats()
        self.rejects: deque[tuple[str, str]] = deque(maxlen=100)  # last rejects (topic, reason)
        self._pending: list[Sample] = []
        self._pending_events: list[Event] = []
        self._pending_quarantine: list[Quarantined] = []
        self.contracts = ContractChecker(spec)
        #: duplicates, clock skew, lateness and gaps per source and tag (andon.contracts.timing)
        self.timekeeper = Timekeeper.of_spec(spec, lateness_s=lateness_s)
        #: epoch ms now: the clock's cheap ``now_ms`` when it has one (datetime costs ~1-5 us)
        self._now_ms: Callable[[], int] = getattr(clock, "now_ms", None) or (
            lambda: to_ms(clock.now()))
        self._quality: deque[tuple[int, list[QualityCount], list[SkewPoint]]] = deque()
        self.legacy = LegacyDecoder(spec)  # raw topics of sites with a tag map
        self.quality_events = QualityEvents()  # breach events: one per (tag, rule) and hour
        self._models: dict[str, tuple[AnomalyModel, ModelMeta]] = {}
        # use case -> (version dir, file stamps) last refused: refused once, not every reload
        self._refused: dict[str, tuple[Path, tuple[tuple[int, int], ...]]] = {}
        #: alert-fatigue control and the confidence floor, state in the store (restart-safe)
        self.gate = Gate(spec, clock, store)
        self._decider = Decider(spec, clock, self.gate)  # the gate also knows queued ones
        self._watch: dict[str, list[_Watch]] = {}
        self._routes: dict[str, _Route] = {}  # topic -> its resolution (``_route``)
        for uc in spec.use_cases:
            tags = use_case_tags(spec, uc)
            for _site, _area, line, asset in spec.use_case_assets(uc):
                if lines is not None and line.id not in lines:
                    continue
                aw = AssetWindows(asset.id, [t.name for t in tags], window_s=uc.window,
                                  hop_s=uc.hop, lateness_s=lateness_s)
                self._watch.setdefault(asset.id, []).append(_Watch(uc, tags, aw))

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
        return sorted(self._watch)

    # -- the hot path ----------------------------------------------------------------------
    def on_message(self, topic: str, payload: bytes) -> None:
        """Handle one MQTT message; never raises for bad input (see ``on_messages``).

        Unlike ``on_messages``, a bug of ours hit by the message is raised to the caller.
        """
        self.on_messages(((topic, payload),), contain=False)

    def on_messages(self, messages: Sequence[tuple[str, bytes]], *, contain: bool = True,
                    ) -> None:
        """Handle the messages one socket read brought, in order; never raises for bad input.

        decode (malformed: quarantined) → time rules → contracts (breach: quarantined, or
        flagged and recorded as uncertain) → record → windows → score. The messages arrived
        together, so they share one ingest time (read once: ``MqttClient(on_batch=...)``).
        A topic is resolved once (``_route``): its decoder and the windows its asset feeds.
        A message the code itself fails on (a bug, not bad input) is counted in
        ``stats.failed`` and logged with its topic, and the rest go on (``contain=False``:
        raised instead).
        """
        ingest_ms = self._now_ms()
        routes = self._routes
        stats = self.stats
        stats.received += len(messages)
        for topic, payload in messages:
            try:
                route = routes.get(topic)
                if route is None:
                    route = self._route(topic, payload)
                    if route is None:
                        continue  # quarantined: no tag topic, or a raw name no map knows
                if len(payload) > MAX_PAYLOAD_BYTES:
                    self._oversized(topic, payload)
                    continue
                address, binding, site, watches, foreign = route
                try:
                    sample = (decode_at(topic, address, payload) if binding is None
                              else decode_routed(topic, payload, binding, site))
                except PayloadError as exc:
                    self._reject(topic, payload, exc.reason)
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

    def _route(self, topic: str, payload: bytes) -> _Route | None:
        """Resolve a topic (kept, bounded); None: the message is quarantined."""
        try:
            route = self._resolve(topic)
        except PayloadError as exc:
            if len(payload) > MAX_PAYLOAD_BYTES:
                self._oversized(topic, payload)
            else:
                self._reject(topic, payload, exc.reason)
            return None
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
        parsed = parse_tag_topic(topic)
        if parsed is None:
            raise PayloadError(topic, "not a tag topic "
                                      "(andon/v1/enterprise/site/area/line/asset/tag)")
        return _Route(parsed, None, "", self._watches(parsed.asset), foreign=False)

    def _watches(self, asset: str) -> tuple[_Watch, ...]:
        return tuple(self._watch.get(asset, ()))

    def _oversized(self, topic: str, payload: bytes) -> None:
        digest = hashlib.sha256(payload).hexdigest()
        self._reject(topic, payload,
                     f"payload of {len(payload)} bytes is over the {MAX_PAYLOAD_BYTES}-byte "
                     f"limit of one message (sha256 {digest}; first {MAX_PAYLOAD_BYTES} "
                     "bytes kept)")

    def on_sample(self, sample: Sample, topic: str | None = None,
                  payload: bytes | None = None) -> None:
        """Check one decoded sample against its contract; record, window and score it.

        ``topic`` and ``payload`` are the message it came from, kept if it is quarantined
        (without them the sample is re-encoded).
        """
        self._ingest(sample, self._now_ms(), self._watch.get(sample.address.asset, ()),
                     topic, payload)

    def _ingest(self, sample: Sample, ingest_ms: int,  # noqa: C901 - the hot path, one frame
                watches: Iterable[_Watch], topic: str | None, payload: bytes | None) -> None:
        """``on_sample`` given the ingest time and the windows of the sample's asset."""
        keeper = self.timekeeper
        admitted = keeper.admit(sample, ingest_ms)
        if admitted is None:
            self.stats.duplicates += 1
            return
        checked, violations = self.contracts.check(admitted, ingest_ms)
        if violations:
            self._breached(violations, sample, topic, payload)
        if checked is None:
            return
        sample = checked
        stats = self.stats
        if sample.ts_ms > stats.last_source_ms:  # noqa: PLR1730 - a compare, not a call
            stats.last_source_ms = sample.ts_ms
        fills = keeper.follow(sample)  # a gap before this sample comes with a note
        if self.record:
            self._pending.append(sample)
        if keeper.notes:
            self._time_notes(keeper.take_notes(), fills)
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
                self._score(watch.use_case, window.asset, window.end_ms, vec)

    def _score(self, uc: UseCase, asset: str, end_ms: int, vec: list[float]) -> None:
        if self.watchdog is not None:
            self.watchdog.submit(_Job(uc, asset, end_ms, vec))
            return
        self._score_now(uc, asset, end_ms, vec)

    def enable_watchdog(self, stall_s: float, *,
                        monotonic: Callable[[], float] = time.monotonic) -> ScoringWatchdog:
        """Score on a worker thread from now on; restart it when one window takes > stall_s.

        Ingestion (``on_messages``) then never waits on a model; a restart is counted in
        ``stats.watchdog`` and kept as a ``scoring_restarted`` event.
        """
        def work(job: _Job) -> None:
            self._score_now(job.use_case, job.asset, job.end_ms, job.vec)

        def restarted(detail: str) -> None:
            self.keep_event(Event("scoring_restarted", "edge", detail, self.clock.now()))

        self.watchdog = ScoringWatchdog(work, stall_s=stall_s, on_restart=restarted,
                                        monotonic=monotonic)
        self.stats.watchdog = self.watchdog.stats
        return self.watchdog

    def _score_now(self, uc: UseCase, asset: str, end_ms: int, vec: list[float]) -> None:
        loaded = self._models.get(uc.id)
        if loaded is None:
            self.stats.unscored += 1
            return
        model, meta = loaded
        score = model.score(np.asarray(vec, dtype=np.float64))
        if self.watchdog is not None and not self.watchdog.current():
            return  # this worker was given up on while the model hung: drop its late result
        self.stats.scored += 1
        detection = Detection(uc.id, asset, from_ms(end_ms), score.value, score.threshold,
                              meta.name, str(meta.version), score.why)
        if detection.anomalous:
            self.stats.anomalous += 1
        if self.on_score is not None:
            self.on_score(detection)
        iv = self._decider.decide(detection)
        if iv is not None and not self.envelope.allows(iv):
            iv = None  # blocked before the gate: it must not count toward rate limits, floods
        known = None if iv is None else model.in_distribution(np.asarray(vec, np.float64))
        for out in self.gate.admit(detection, iv, known):
            if out.emit and out.iv is not None:
                self._emit(out.iv)

    def release_queued(self) -> int:
        """Emit queued interventions whose position has a free slot now; how many."""
        released = [o.iv for o in self.gate.release_due() if o.emit and o.iv is not None]
        for iv in released:
            self._emit(iv)
        return len(released)

    def _emit(self, iv: Intervention) -> None:
        if not self.envelope.allows(iv):
            return  # outside its use case's action envelope: blocked, logged, kept as event
        self.store.save_intervention(iv)
        self.stats.interventions += 1
        if iv.detections == 1:
            log.info("intervention", asset=iv.asset, action=iv.action,
                     deadline=iv.deadline.isoformat(), owner=iv.owner_role,
                     priority=iv.priority.value, key=iv.key)
        topic = edge_intervention_topic(iv.enterprise, iv.site, iv.area, iv.line, iv.asset)
        if self.outbound is not None:
            self.outbound.send(INTERVENTION, intervention_key(iv), iv.asset, topic,
                               intervention_payload(iv))
        elif self.publish is not None:
            self.publish(topic, json.dumps(intervention_payload(iv)).encode())

    def reject(self, where: str, payload: bytes, reason: str) -> None:
        """Quarantine input a connector could not decode (``andon.connectors.base.PointSink``)."""
        self._reject(where, payload, reason)

    def _reject(self, topic: str, payload: bytes, reason: str) -> None:
        """Quarantine a malformed message; one ``rejected_message`` event per topic and hour."""
        self.stats.rejected += 1
        self.stats.quarantined += 1
        self.rejects.append((topic, reason))
        now = self.clock.now()
        item = quarantined_message(topic, payload, Rule.MALFORMED, reason, now)
        self._pending_quarantine.append(item)
        excerpt = payload[:200].decode("utf-8", "replace")
        event = self.quality_events.note(
            Violation(topic[:300], Rule.MALFORMED, None, item.source,
                      f"{reason}; payload: {excerpt!r}"), now, kind=EventKind.REJECTED_MESSAGE)
        if event is not None:
            self._pending_events.append(event)

    def _time_notes(self, notes: list[SkewNote | GapNote], fills: tuple[Sample, ...]) -> None:
        """Gaps become (rate-limited) data_quality events; skew changes ``clock_skew`` events.

        ``fills`` (a fill policy's samples for the gap) are recorded with the sample.
        """
        if fills and self.record:
            self._pending.extend(fills)
        now = self.clock.now()
        for note in notes:
            if isinstance(note, SkewNote):
                self._pending_events.append(Event("clock_skew", note.source, note.reason, now))
                continue
            self.stats.gaps += 1
            self.stats.filled += note.filled
            event = self.quality_events.note_of(note.path, _GAP, note, now)
            if event is not None:
                self._pending_events.append(event)

    def _breached(self, violations: tuple[Violation, ...], sample: Sample, topic: str | None,
                  payload: bytes | None) -> None:
        """Report contract breaches as (rate-limited) events; quarantine a refused sample."""
        now = self.clock.now()
        a = sample.address
        for v in violations:
            self.timekeeper.tally.add(a.site, a.asset, a.tag, "", v.rule.value)
            event = self.quality_events.note(v, now)
            if event is not None:
                self._pending_events.append(event)
        first = violations[0]
        if not first.quarantines:
            self.stats.flagged += 1
            return
        self.stats.quarantined += 1
        if topic is None or payload is None:
            topic = sample.address.topic
            payload = encode_sample(sample)
        self._pending_quarantine.append(
            quarantined_message(topic, payload, first.rule, first.reason, now,
                                source=sample.source))

    def keep_event(self, event: Event) -> None:
        """Queue an event for the store (written with the next batch; a list append: any thread)."""
        self._pending_events.append(event)

    # -- periodic work ---------------------------------------------------------------------
    def take_pending(self) -> tuple[list[Sample], list[Event], list[Quarantined]]:
        """Hand over what waits to be written (call on the thread that feeds messages)."""
        batch, self._pending = self._pending, []
        self._take_quality()
        events, self._pending_events = self._pending_events, []
        quarantined, self._pending_quarantine = self._pending_quarantine, []
        return batch, events, quarantined

    def write(self, batch: list[Sample], events: list[Event],
              quarantined: list[Quarantined] | None = None) -> int:
        """Write a handed-over batch to the store (may run on a worker thread)."""
        if batch:
            new = self.store.add_samples(batch, to_ms(self.clock.now()))
            self.stats.recorded += new
            self.stats.duplicates += len(batch) - new
        if quarantined:
            self.store.add_quarantined(quarantined)
        for event in events:
            self.store.add_event(event)
        while self._quality:
            at_ms, counts, skews = self._quality.popleft()
            self.store.add_quality_counts(at_ms, counts)
            self.store.add_skew_points(skews)
        return len(batch)

    def _take_quality(self) -> None:
        """Hand the data-quality counters and skew estimates over to the next ``write``."""
        keeper = self.timekeeper
        at_ms = to_ms(self.clock.now())
        skews = [SkewPoint(s.source, at_ms, s.skew_ms, s.correcting)
                 for s in keeper.sources() if s.received]  # sources heard since the last take
        counts = keeper.take_counts()
        if counts or skews:
            self._quality.append((at_ms, counts, skews))

    def flush(self) -> int:
        """Write pending samples and events now; returns samples written."""
        return self.write(*self.take_pending())

    def reload_models(self) -> list[str]:
        """Load the model version each use case should serve; a refused one keeps the old one.

        A refusal (unsigned, altered, truncated, untrusted key, unusable artifact) is logged
        and stored as a ``model_refused`` event once per version and file content; the model
        already loaded (the last known good) keeps scoring.
        """
        loaded: list[str] = []
        records = None if self.trusted_keys is None else self.store.list_models()
        for uc in self.spec.use_cases:
            if not any(w.use_case.id == uc.id for ws in self._watch.values() for w in ws):
                continue
            if records is None:
                vdir = latest_version_dir(self.models_dir, uc.model)
            else:  # the pulled cache's manifest (andon.edge.pull), else the store's stage
                production = production_of(records, uc.model)
                version = cached_version(self.models_dir, uc.model) or (
                    None if production is None else production.version)
                vdir = None if version is None else self.models_dir / uc.model / f"v{version}"
            if vdir is None:
                continue
            current = self._models.get(uc.id)
            if current is not None and f"v{current[1].version}" == vdir.name:
                continue
            stamp = (vdir, _stamps(vdir))
            if self._refused.get(uc.id) == stamp:
                continue
            try:
                signed = "" if self.trusted_keys is None else (
                    f" (signed by key {verify(vdir, self.trusted_keys)})")
                model, meta = load_model(vdir, top=uc.top_features)
            except ModelError as exc:
                self._refused[uc.id] = stamp
                log.warning("model refused", use_case=uc.id, reason=str(exc))
                self.store.add_event(Event("model_refused", uc.id, str(exc), self.clock.now()))
                continue
            self._refused.pop(uc.id, None)
            self._models[uc.id] = (model, meta)
            self.stats.models[uc.id] = meta.label
            self.store.add_event(Event("model_loaded", uc.id, meta.label + signed,
                                       self.clock.now()))
            loaded.append(meta.label)
        return loaded

    def model(self, use_case: str) -> tuple[AnomalyModel, ModelMeta] | None:
        """The model a use case is scored with now, and its metadata (None before one loads)."""
        return self._models.get(use_case)


@dataclass(frozen=True, slots=True)
class _Job:
    """One complete window waiting to be scored."""

    use_case: UseCase
    asset: str
    end_ms: int
    vec: list[float]

    def __repr__(self) -> str:
        return f"{self.use_case.id} on {self.asset}, window ending {from_ms(self.end_ms):%H:%M:%S}"


def _stamps(vdir: Path) -> tuple[tuple[int, int], ...]:
    """(size, mtime) of a version's files: a refused version is retried once they change."""
    out = []
    for name in ("model.skops", "meta.json", "signature.json"):
        try:
            st = (vdir / name).stat()
        except OSError:
            out.append((-1, -1))
        else:
            out.append((st.st_size, st.st_mtime_ns))
    return tuple(out)


def intervention_key(iv: Intervention) -> str:
    """Idempotency key of one published state of an intervention: ``{id}:{detections}``."""
    return f"{iv.id}:{iv.detections}"


def intervention_payload(iv: Intervention) -> dict[str, Any]:
    """The JSON published for an intervention: the same document the API returns."""
    return intervention_document(iv)


async def run_edge(edge: Edge, broker_url: str, stop: asyncio.Event, *,
                   flush_every_s: float = 0.5, reload_every_s: float = 2.0,
                   on_tick: Callable[[Edge], None] | None = None, edge_id: str | None = None,
                   outbox: Outbox | None = None, heartbeat_s: float = HEARTBEAT.default,
                   config_hash: str = "", replay_batch: int = 20,
                   backoff: Backoff | None = None, scoring_stall_s: float | None = None,
                   forward: bool = False) -> None:
    """Run ``edge`` against a broker until ``stop`` is set.

    The broker may be down at start or go away at any time: the edge keeps scoring and
    recording, its outbound items wait in ``outbox`` (in memory when None: not durable), and
    the uplink reconnects with ``backoff`` (see ``andon.edge.uplink``). ``edge_id`` names the
    edge on its ``_andon/edge/{edge_id}`` topics (default: from its lines). With
    ``scoring_stall_s``, windows are scored on a worker thread that a watchdog restarts when
    one takes longer (``Edge.enable_watchdog``). With ``forward``, recorded samples and kept
    events also go to the central side through the outbox (``andon.edge.forward``).
    """
    edge_id = edge_id or default_edge_id(edge)
    own_outbox = outbox is None
    box = Outbox(":memory:") if outbox is None else outbox
    identity = EdgeIdentity(edge_id, edge.spec.enterprise.id, config_hash, heartbeat_s)
    uplink = Uplink(broker_url, identity, box, clock=edge.clock, on_batch=edge.on_messages,
                    subscriptions=edge.subscriptions(), record=edge.keep_event,
                    models=lambda: edge.stats.models, stats=edge.stats.link,
                    extra=lambda: {"watchdog_restarts": edge.stats.watchdog.restarts,
                                   "lines": sorted(edge.lines or ()),
                                   "assets": edge.watched_assets()},
                    replay_batch=replay_batch, backoff=backoff)
    edge.outbound = uplink
    forwarder = Forwarder(uplink, edge.spec.enterprise.id, edge_id) if forward else None
    watchdog = edge.enable_watchdog(scoring_stall_s) if scoring_stall_s else edge.watchdog
    link = asyncio.ensure_future(uplink.run(stop))
    await asyncio.to_thread(edge.reload_models)

    def tick() -> None:
        if watchdog is not None:
            watchdog.check()
        if on_tick is not None:
            on_tick(edge)

    try:
        await housekeeping(edge, stop, flush_every_s=flush_every_s,
                           reload_every_s=reload_every_s, running=lambda: not link.done(),
                           on_tick=tick,
                           forward=None if forwarder is None else forwarder.forward)
    finally:
        stop.set()
        if watchdog is not None:
            watchdog.stop()
        last = edge.take_pending()
        if forwarder is not None:  # queued in the durable outbox: sent next time
            _forward_or_log(forwarder.forward, last[0], last[1])
        await link  # says goodbye (retained death document) and disconnects
        await asyncio.to_thread(edge.write, *last)
        edge.outbound = None
        if own_outbox:
            box.close()


def _forward_or_log(forward: Callable[[list[Sample], list[Event]], None],
                    samples: list[Sample], events: list[Event]) -> None:
    """Forward a batch; a failure (e.g. the outbox disk is full) is logged, never raised.

    The batch is still written to the edge's own store: failing to forward must neither lose
    it locally nor stop the loop that keeps the edge scoring.
    """
    try:
        forward(samples, events)
    except Exception as exc:  # noqa: BLE001 - logged; the local write and the loop go on
        log.warning("forwarding to the central side failed; the batch is kept on this edge only",
                    samples=len(samples), events=len(events),
                    error=f"{type(exc).__name__}: {exc}")


async def housekeeping(edge: Edge, stop: asyncio.Event, *, flush_every_s: float = 0.5,
                       reload_every_s: float = 2.0, running: Callable[[], bool] = lambda: True,
                       on_tick: Callable[[], None] | None = None,
                       forward: Callable[[list[Sample], list[Event]], None] | None = None,
                       ) -> None:
    """``run_edge``'s periodic loop, until ``stop`` is set or ``running()`` turns False.

    Every ``flush_every_s`` (sooner once ``stop`` is set): write what is pending on a worker
    thread, reload models every ``reload_every_s``, then call ``on_tick``. The last write
    after the loop is the caller's. ``forward`` gets each batch's samples and events first,
    on a worker thread (it queues them in the outbox: one fsync per item).
    """
    loop = asyncio.get_running_loop()
    last_reload = loop.time()
    while not stop.is_set() and running():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), flush_every_s)
        pending = edge.take_pending()
        if forward is not None:  # first: once queued (durable) it reaches the central side
            await asyncio.to_thread(_forward_or_log, forward, pending[0], pending[1])
        await asyncio.to_thread(edge.write, *pending)
        if loop.time() - last_reload >= reload_every_s:
            await asyncio.to_thread(edge.reload_models)
            await asyncio.to_thread(edge.release_queued)  # overflow queues, as slots free
            last_reload = loop.time()
        if on_tick is not None:
            on_tick()


def default_edge_id(edge: Edge) -> str:
    """``edge-{lines}`` (or ``edge-all``): stable across restarts of the same deployment."""
    return f"edge-{'-'.join(sorted(edge.lines or {'all'}))}"[:60]
