"""Edge runtime, composed: intake → ingest → scoring → decide → publish; recorder → store.

Only wiring lives here. ``build_edge`` builds the default parts (``andon.edge.ingest``,
``scoring``, ``models``, ``recorder``) for a plant spec and a store; ``Edge`` holds them and
is what the CLI, the replay, the connectors and the tests drive; ``run_edge`` runs one against
a broker: the MQTT intake (``andon.connectors.uns.UnsConnector``, one batch per socket read
into ``Ingest.on_messages``), the uplink (outbox, guard, birth and heartbeat) and the
housekeeping loop (flushes through the recorder, model reloads, the watchdog).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import structlog

from andon.clock import Clock
from andon.connectors.legacy import LegacyDecoder
from andon.connectors.mqtt_security import MqttRefused
from andon.connectors.reconnect import ReconnectPolicy
from andon.connectors.uns import UnsConnector
from andon.contracts import ContractChecker, QualityEvents, Quarantined
from andon.contracts.timing import Timekeeper
from andon.edge.envelope import EnvelopeCheck
from andon.edge.forward import Forwarder
from andon.edge.heartbeat import EdgeIdentity
from andon.edge.ingest import Ingest, watches_of
from andon.edge.link import Backoff, LinkStats
from andon.edge.models import Loaded, ModelCache
from andon.edge.outbox import INTERVENTION, SHADOW, Outbox
from andon.edge.pull import pulled_rollouts
from andon.edge.recorder import Pending, Recorder
from andon.edge.saver import InterventionSaver, WriteBehind
from andon.edge.scoring import Scoring
from andon.edge.stats import EdgeStats, StoreStats
from andon.edge.uplink import SiteAndCentral, Uplink
from andon.edge.watchdog import ScoringWatchdog
from andon.interventions import Decider, Detection, Intervention
from andon.interventions.gate import Gate, GateStore
from andon.interventions.wire import intervention_document
from andon.namespace import edge_intervention_topic
from andon.namespace.sample import Sample
from andon.namespace.topics import edge_topic
from andon.rollout import Rollout
from andon.settings import HEARTBEAT
from andon.spec.model import PlantSpec
from andon.store.base import Event, Store

__all__ = ["Edge", "EdgeStats", "Outbound", "StoreStats", "build_edge", "default_edge_id",
           "housekeeping", "intervention_key", "intervention_payload", "run_edge"]

log = structlog.get_logger("andon.edge")

Publish = Callable[[str, bytes], None]


class Outbound(Protocol):
    """Where the edge sends what it publishes (``andon.edge.uplink.Uplink``: guard + outbox)."""

    def send(self, kind: str, key: str, source: str, topic: str, document: dict[str, Any], *,
             retain: bool = False) -> bool:
        """Queue one item; False if it was blocked or refused."""
        ...


class Edge:
    """The edge's parts, free of sockets: feed it messages, it records, scores and decides.

    ``ingest`` (messages → samples → windows), ``scoring`` (windows → interventions),
    ``models`` (the model cache: verified production models, the last known good) and
    ``recorder`` (pending samples, events, quarantined messages → the store, with retries)
    share one ``stats``. ``build_edge`` wires the defaults. Interventions go to ``outbound``
    (set by ``run_edge``: the uplink's guard and outbox), else to ``publish`` if given.
    """

    def __init__(self, spec: PlantSpec, store: Store, *, ingest: Ingest, scoring: Scoring,
                 models: ModelCache, recorder: Recorder, stats: EdgeStats, clock: Clock,
                 lines: set[str] | None = None, publish: Publish | None = None,
                 saver: InterventionSaver | None = None) -> None:
        self.spec = spec
        #: writes intervention records behind the decision (``build_edge(write_behind=True)``)
        self.saver = saver
        self.store = store
        self.ingest = ingest
        self.scoring = scoring
        self.models = models
        self.recorder = recorder
        self.stats = stats
        self.clock = clock
        self.lines = lines
        self.publish = publish
        #: the outbound path (guard + outbox), set by ``run_edge``; else ``publish`` is used
        self.outbound: Outbound | None = None
        #: the MQTT intake ``run_edge`` runs (its ``ready`` is set once subscribed)
        self.intake: UnsConnector | None = None
        #: the edge's own topic for shadow versions' would-be interventions (``run_edge``)
        self.shadow_topic: str | None = None
        # parts other code reads directly (replay, tests)
        self.envelope: EnvelopeCheck = scoring.envelope
        self.timekeeper: Timekeeper = ingest.timekeeper
        self.quality_events: QualityEvents = ingest.quality_events
        self.rejects = ingest.rejects

    @property
    def record(self) -> bool:
        """Whether samples are written to the store (``andon edge --no-record``: not)."""
        return self.ingest.record

    @property
    def watchdog(self) -> ScoringWatchdog | None:
        """The scoring watchdog, once ``enable_watchdog`` was called."""
        return self.scoring.watchdog

    @property
    def on_score(self) -> Callable[[Detection], None] | None:
        """Called with every scored window's detection, before deciding (replay backtests)."""
        return self.scoring.on_score

    @on_score.setter
    def on_score(self, hook: Callable[[Detection], None] | None) -> None:
        self.scoring.on_score = hook

    # -- input (``andon.connectors.base.PointSink`` and ``BatchSink``) --------------------
    def subscriptions(self) -> list[str]:
        """Topic filters for the lines this edge serves."""
        return self.ingest.subscriptions()

    def watched_assets(self) -> list[str]:
        """Asset ids scored by at least one use case."""
        return self.ingest.watched_assets()

    def on_messages(self, messages: Sequence[tuple[str, bytes]], *, contain: bool = True,
                    ) -> None:
        """Handle the messages one socket read brought (``Ingest.on_messages``)."""
        self.ingest.on_messages(messages, contain=contain)

    def on_message(self, topic: str, payload: bytes) -> None:
        """Handle one message; a bug of ours is raised to the caller (``Ingest.on_message``)."""
        self.ingest.on_messages(((topic, payload),), contain=False)

    def on_sample(self, sample: Sample, topic: str | None = None,
                  payload: bytes | None = None) -> None:
        """Take one decoded sample from a connector (``Ingest.on_sample``)."""
        self.ingest.on_sample(sample, topic, payload)

    def reject(self, where: str, payload: bytes, reason: str) -> None:
        """Quarantine input a connector could not decode (``andon.connectors.base.PointSink``)."""
        self.ingest.reject(where, payload, reason)

    # -- scoring and interventions ---------------------------------------------------------
    def enable_watchdog(self, stall_s: float, *,
                        monotonic: Callable[[], float] = time.monotonic) -> ScoringWatchdog:
        """Score on a worker thread from now on (``Scoring.enable_watchdog``)."""
        return self.scoring.enable_watchdog(stall_s, monotonic=monotonic)

    def emit(self, iv: Intervention) -> bool:
        """Store and publish an intervention if its envelope allows it (``Scoring.emit``)."""
        return self.scoring.emit(iv)

    def release_queued(self) -> int:
        """Emit queued interventions whose position has a free slot now; how many."""
        return self.scoring.release_queued()

    def deliver_shadow(self, iv: Intervention) -> None:
        """Send a shadow version's would-be intervention to the central side (never to people).

        It goes on the edge's own ``_andon/edge/{id}/shadow`` topic through the outbox, which
        no sink, inbox or intervention topic reads; without an outbound path it stays in the
        edge's store only.
        """
        if self.outbound is not None and self.shadow_topic is not None:
            self.outbound.send(SHADOW, f"shadow:{iv.id}", iv.asset, self.shadow_topic,
                               intervention_document(iv))

    def reload_models(self) -> list[str]:
        """Load the model version each use case should serve (``ModelCache.reload``)."""
        return self.models.reload()

    def model(self, use_case: str) -> Loaded | None:
        """The model a use case is scored with now, and its metadata (None before one loads)."""
        return self.models.get(use_case)

    def deliver(self, iv: Intervention) -> None:
        """Publish an emitted intervention: through ``outbound``, else ``publish``."""
        topic = edge_intervention_topic(iv.enterprise, iv.site, iv.area, iv.line, iv.asset)
        if self.outbound is not None:
            self.outbound.send(INTERVENTION, intervention_key(iv), iv.asset, topic,
                               intervention_payload(iv))
        elif self.publish is not None:
            self.publish(topic, json.dumps(intervention_payload(iv)).encode())

    # -- recording -------------------------------------------------------------------------
    def keep_event(self, event: Event) -> None:
        """Queue an event for the store (written with the next batch; any thread)."""
        self.recorder.keep_event(event)

    def take_pending(self) -> Pending:
        """Hand over what waits to be written (call on the thread that feeds messages)."""
        self.ingest.take_quality()
        return self.recorder.take()

    def write(self, batch: Sequence[Sample], events: Sequence[Event],
              quarantined: Sequence[Quarantined] | None = None, *, force: bool = False) -> int:
        """Write a handed-over batch (``Recorder.write``: kept and retried if the store fails).

        ``force`` (a clean stop's last write) also waits for the intervention records queued
        behind the decision (``andon.edge.saver``).
        """
        written = self.recorder.write(batch, events, quarantined, force=force)
        if force and self.saver is not None:
            self.saver.drain()
        return written

    def flush(self) -> int:
        """Write pending samples, events and intervention records now; samples handed over."""
        written = self.write(*self.take_pending())
        if self.saver is not None:
            self.saver.drain()
        return written


def build_edge(spec: PlantSpec, store: Store, models_dir: Path, *, clock: Clock,
               trusted_keys: Path | None = None, lines: set[str] | None = None,
               record: bool = True, publish: Publish | None = None, lateness_s: float = 60.0,
               store_backoff: Backoff | None = None, max_backlog: int = 500_000,
               write_behind: bool = False) -> Edge:
    """An ``Edge`` with the default parts for ``spec``, writing to ``store``.

    Models: with ``trusted_keys`` (a directory of ``*.pub`` files), each use case serves the
    production version of its model whose detached signature verifies against those keys
    (``andon.edge.models``); with ``trusted_keys=None`` (tests only) the highest version
    directory, unsigned. ``store_backoff`` and ``max_backlog`` shape the recorder's retries
    (``andon.edge.recorder``). ``write_behind`` (``andon edge``): intervention records are
    written by their own thread after the decision (``andon.edge.saver``), so deciding never
    waits for the store; ``Edge.flush`` and the last write of ``run_edge`` wait for them.
    """
    stats = EdgeStats()
    recorder = Recorder(store, clock, stats, record=record, backoff=store_backoff,
                        max_backlog=max_backlog)
    watches = watches_of(spec, lines, lateness_s)
    scored = {w.use_case.id: w.use_case for ws in watches.values() for w in ws}

    def keep_now(event: Event) -> None:
        """Model events go to the store at once; if it cannot take them, with the next batch."""
        try:
            store.add_event(event)
        except Exception:  # noqa: BLE001 - the recorder retries it
            recorder.keep_event(event)

    def rollouts() -> list[Rollout]:
        """The store's rollouts, but the central side's for use cases it pulled rollouts of."""
        pulled = pulled_rollouts(models_dir)
        central = {r.use_case for r in pulled}
        return [r for r in store.rollouts() if r.use_case not in central] + pulled

    models = ModelCache([uc for uc in spec.use_cases if uc.id in scored], models_dir,
                        book=store, clock=clock, trusted_keys=trusted_keys, record=keep_now,
                        rollouts=rollouts, spec=spec)
    stats.models = models.labels
    # intervention records are written behind the decision (``andon.edge.saver``): the gate
    # and the decider read the queued ones through ``behind``
    saver = InterventionSaver(store, stats) if write_behind else None
    behind: GateStore = store if saver is None else WriteBehind(store, saver)
    gate = Gate(spec, clock, behind)  # alert-fatigue control, state in the store (restart-safe)
    decider = Decider(spec, clock, gate)  # the gate also knows queued ones
    envelope = EnvelopeCheck(spec, clock, record=recorder.keep_event)
    edge: Edge | None = None

    def deliver(iv: Intervention) -> None:
        assert edge is not None  # noqa: S101 - set below, before anything is scored
        edge.deliver(iv)

    def keep_shadow(iv: Intervention) -> None:
        """A shadow version's would-be intervention: the store's shadow table, then central."""
        try:
            store.save_shadow_intervention(iv)
        except Exception as exc:  # noqa: BLE001 - still sent; the central side keeps it
            log.warning("shadow intervention not stored on the edge; sent anyway", id=iv.id,
                        error=str(exc)[:300])
        assert edge is not None  # noqa: S101 - set below, before anything is scored
        edge.deliver_shadow(iv)

    reach = max((uc.horizon for uc in scored.values()), default=0.0)
    scoring = Scoring(models, decider, gate, envelope, save=behind.save_intervention,
                      deliver=deliver, stats=stats, clock=clock, record=recorder.keep_event,
                      shadow=keep_shadow, recent_shadow=lambda: store.shadow_interventions(
                          since=clock.now() - timedelta(seconds=reach)))
    ingest = Ingest(spec, recorder=recorder, on_window=scoring.submit, stats=stats, clock=clock,
                    contracts=ContractChecker(spec),
                    timekeeper=Timekeeper.of_spec(spec, lateness_s=lateness_s),
                    legacy=LegacyDecoder(spec), quality_events=QualityEvents(),
                    watches=watches, lines=lines, record=record)
    edge = Edge(spec, store, ingest=ingest, scoring=scoring, models=models, recorder=recorder,
                stats=stats, clock=clock, lines=lines, publish=publish, saver=saver)
    return edge


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
                   backoff: ReconnectPolicy | None = None, scoring_stall_s: float | None = None,
                   forward: bool = False, ack_timeout_s: float = 30.0,
                   uplink_url: str | None = None, site_outbox: Outbox | None = None) -> None:
    """Run ``edge`` against a broker until ``stop`` is set.

    Two connections: the intake (``UnsConnector``: subscribes to the edge's lines and hands
    each socket read to ``Ingest.on_messages``) and the uplink (publishes, birth and last
    will). The broker may be down at start or go away at any time: the edge keeps scoring and
    recording, its outbound items wait in ``outbox`` (in memory when None: not durable), and
    the uplink reconnects with ``backoff`` (see ``andon.edge.uplink``). ``edge_id`` names the
    edge on its ``_andon/edge/{edge_id}`` topics (default: from its lines). With
    ``scoring_stall_s``, windows are scored on a worker thread that a watchdog restarts when
    one takes longer (``Edge.enable_watchdog``). With ``forward``, recorded samples and kept
    events also go to the central side through the outbox (``andon.edge.forward``), and items
    leave the outbox only once the central ingest acknowledges them (sent again when no
    acknowledgement came within ``ack_timeout_s``, and after every reconnect).

    With ``uplink_url`` (another broker: the enterprise's), the uplink above connects there
    and a second one, the site link, to ``broker_url``: the edge reads samples from and
    publishes its interventions on the site broker, where the operators are, through
    ``site_outbox`` (in memory when None), and sends the central side everything else, and
    its interventions again, over the uplink broker (``andon.edge.uplink.SiteAndCentral``).
    While the enterprise link is down the edge keeps scoring and delivering on the site, and
    what is for the central side waits in ``outbox``.

    The intake's session is persistent (``andon-in-{edge_id}``, QoS 1) and acknowledges a QoS 1
    message to the broker only once ``housekeeping`` has forwarded and written its batch: a
    ``kill -9`` loses nothing a QoS 1 producer published, as the broker sends the restarted
    edge what was not acknowledged. A clean stop writes its last batch after the intake has
    disconnected, so those messages come again at the next start and the store counts them as
    duplicates (``EdgeStats.duplicates``).
    """
    edge_id = edge_id or default_edge_id(edge)
    owned: list[Outbox] = []  # the in-memory outboxes made here, closed at the end
    box = _outbox(outbox, owned)
    identity = EdgeIdentity(edge_id, edge.spec.enterprise.id, config_hash, heartbeat_s)
    uplink = Uplink(uplink_url or broker_url, identity, box, clock=edge.clock,
                    record=edge.keep_event, models=lambda: edge.stats.models,
                    stats=edge.stats.link, extra=partial(_described, edge),
                    replay_batch=replay_batch, backoff=backoff, consumer_ack=forward,
                    ack_timeout_s=ack_timeout_s)
    split = uplink_url not in {None, broker_url}  # a separate uplink broker: a site link too
    site = _site_link(edge, broker_url, uplink, _outbox(site_outbox, owned)) if split else None
    edge.stats.site_link = None if site is None else site.stats
    # a persistent QoS 1 session: what QoS 1 producers publish while the edge is down or
    # reconnecting waits at the broker, and a message is acknowledged only once written
    # (``housekeeping``; QoS 0 producers: see docs/edge.md)
    intake = UnsConnector(broker_url, edge.subscriptions(), client_id=f"andon-in-{edge_id}"[:60],
                          persistent=True)
    edge.outbound = uplink if site is None else SiteAndCentral(site, uplink)
    edge.intake = intake
    edge.shadow_topic = edge_topic(edge.spec.enterprise.id, edge_id, "shadow")
    forwarder = Forwarder(uplink, edge.spec.enterprise.id, edge_id) if forward else None
    watchdog = edge.enable_watchdog(scoring_stall_s) if scoring_stall_s else edge.watchdog
    links = [asyncio.ensure_future(u.run(stop)) for u in (uplink, site) if u is not None]
    receiving = asyncio.ensure_future(intake.run(edge.ingest, stop))
    await asyncio.to_thread(_contained, "model reload", edge.reload_models)

    def tick() -> None:
        if watchdog is not None:
            watchdog.check()
        if on_tick is not None:
            on_tick(edge)

    try:
        await housekeeping(edge, stop, flush_every_s=flush_every_s,
                           reload_every_s=reload_every_s,
                           running=lambda: not (receiving.done() or any(
                               link.done() for link in links)),
                           on_tick=tick,
                           forward=None if forwarder is None else forwarder.forward,
                           intake=intake)
    finally:
        stop.set()
        if watchdog is not None:
            watchdog.stop()
        # a broker that refused the first connection: re-raised once everything is written
        refused = await _refusal_of(receiving, logged="the MQTT intake failed")
        # the intake is gone: what this last batch came from is not acknowledged, and comes
        # again at the next start (counted as duplicates there)
        last = edge.take_pending()
        if forwarder is not None:  # queued in the durable outbox: sent next time
            _forward_or_log(forwarder.forward, last[0], last[1])
        for link in links:  # each says goodbye (retained death document) and disconnects
            refused = await _refusal_of(link) or refused
        await asyncio.to_thread(edge.write, *last, force=True)
        if edge.recorder.left():
            log.error("edge stopped with items the store did not take; they are lost",
                      items=edge.recorder.left(), error=edge.stats.store.last_error)
        edge.outbound = None
        for made in owned:
            made.close()
        if refused is not None:  # one line for the command (``andon edge``) to print
            raise refused


async def _refusal_of(task: asyncio.Future[None], *, logged: str = "") -> MqttRefused | None:
    """Wait for ``task``; the ``MqttRefused`` it ended with, if any (else None).

    Any other error is raised, or with ``logged`` logged with that message (the intake: a
    bug of its own must not keep the edge from writing what it holds).
    """
    try:
        await task
    except MqttRefused as exc:
        return exc
    except Exception:
        if not logged:
            raise
        log.exception(logged)
    return None


def _outbox(given: Outbox | None, owned: list[Outbox]) -> Outbox:
    """``given``, or a new in-memory outbox (not durable) added to ``owned``."""
    if given is not None:
        return given
    owned.append(Outbox(":memory:"))
    return owned[-1]


def _site_link(edge: Edge, broker_url: str, uplink: Uplink, outbox: Outbox) -> Uplink:
    """The link to the site broker of an edge whose ``uplink`` goes to another broker.

    It publishes the interventions on the site's UNS from ``outbox`` and the birth /
    heartbeat / death documents of ``uplink`` (its link to the central side).
    """
    b = uplink.backoff
    return Uplink(broker_url, uplink.identity, outbox,
                  clock=edge.clock, record=edge.keep_event, stats=LinkStats(),
                  replay_batch=uplink.replay_batch, role="site", describe=uplink.document,
                  backoff=ReconnectPolicy(b.base_s, b.cap_s))


def _described(edge: Edge) -> dict[str, Any]:
    """What the edge's birth / heartbeat documents say beyond the link (``run_edge``)."""
    store, site = edge.stats.store, edge.stats.site_link
    return {"watchdog_restarts": edge.stats.watchdog.restarts, "store_failures": store.failures,
            "store_backlog": store.backlog, "lines": sorted(edge.lines or ()),
            "assets": edge.watched_assets(), "counts": edge.stats.counts(),
            **({} if site is None else {"site_link": site.state.value,
                                        "site_buffer": site.buffer_depth})}


def _contained(what: str, work: Callable[[], object]) -> None:
    """Run periodic work; an error (the store down, a bug) is logged, never raised.

    The edge must go on receiving, recording and scoring; the work runs again next time.
    """
    try:
        work()
    except Exception as exc:  # noqa: BLE001 - logged; the loop goes on
        log.warning("periodic work failed; retried next time", work=what,
                    error=f"{type(exc).__name__}: {exc}")


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
                       intake: UnsConnector | None = None) -> None:
    """``run_edge``'s periodic loop, until ``stop`` is set or ``running()`` turns False.

    Every ``flush_every_s`` (sooner once ``stop`` is set): hand what is pending to the
    recorder on a worker thread (which writes it, or keeps it and retries after a back-off
    while the store fails: ``andon.edge.recorder``), reload models every ``reload_every_s``,
    then call ``on_tick``. No error of this periodic work stops the loop. The last write
    after the loop is the caller's. ``forward`` gets each batch's samples and events first,
    on a worker thread (it queues them in the outbox: one fsync per item).

    ``intake`` (a persistent session: QoS 1, ``UnsConnector.acknowledge``): the QoS 1 messages
    a batch came from are acknowledged to the broker only once it was forwarded and written,
    so a crash before that gets them redelivered (the store counts the ones it already had as
    duplicates). The loop also turns as soon as the intake's ``acks_due`` is set, so the
    acknowledgements keep pace with the producers: the broker sends at most its in-flight
    window of unacknowledged messages (Mosquitto: 20) and queues the rest up to a limit,
    beyond which it drops them. For that reason a batch the store cannot take now is
    acknowledged too, once it is in the recorder's bounded backlog (in memory): a ``kill -9``
    during a store outage loses that backlog, but with ``forward`` the outbox has it first,
    so it still reaches the central side.
    """
    loop = asyncio.get_running_loop()
    last_reload = loop.time()
    due = None if intake is None else intake.acks_due
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set() and running():
            if due is None:
                await asyncio.wait({stopping}, timeout=flush_every_s)
            elif not due.is_set():  # set: acknowledgements are due now
                woken = asyncio.ensure_future(due.wait())
                await asyncio.wait({stopping, woken}, timeout=flush_every_s,
                                   return_when=asyncio.FIRST_COMPLETED)
                woken.cancel()
            mark = 0 if intake is None else intake.ack_mark()  # covers exactly ``pending``
            pending = edge.take_pending()
            if forward is not None:  # first: once queued (durable) it reaches the central side
                await asyncio.to_thread(_forward_or_log, forward, pending[0], pending[1])
            await asyncio.to_thread(_contained, "store write", partial(edge.write, *pending))
            if intake is not None:  # written, or in the recorder's backlog (store down)
                intake.acknowledge(mark)
            if loop.time() - last_reload >= reload_every_s:
                await asyncio.to_thread(_contained, "model reload", edge.reload_models)
                # overflow queues, as slots free
                await asyncio.to_thread(_contained, "queue release", edge.release_queued)
                last_reload = loop.time()
            if on_tick is not None:
                on_tick()
    finally:
        stopping.cancel()


def default_edge_id(edge: Edge) -> str:
    """``edge-{lines}`` (or ``edge-all``): stable across restarts of the same deployment."""
    return f"edge-{'-'.join(sorted(edge.lines or {'all'}))}"[:60]
