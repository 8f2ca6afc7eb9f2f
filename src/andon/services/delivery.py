"""Delivery service: the spec's sinks fed from the store, and CMMS completions brought back.

``build_routes`` turns the spec's ``sinks:`` section into routes (UNS, webhooks, CMMS), reading
each secret from the environment variable the spec names (a missing one is a one-line
``SinkError`` naming the variable, never its value). ``DeliveryService.run`` then, until
``stop``:

- runs one loop per route: every ``poll_s`` seconds it hands each new or changed intervention
  (the newest ``limit`` of them) to the ``Dispatcher`` and records every attempt in the store's
  ``deliveries`` table. Each route has its own loop, so a slow or failing sink only delays
  itself;
- runs one poller per CMMS: it reads back the work orders of open interventions and applies
  what the CMMS says (``apply_work_order``): a completed work order closes the intervention
  (done, with an outcome label), a cancelled one dismisses it, one on hold defers it.

The delivery state lives in the store, so a restart neither re-sends what was delivered nor
forgets what was not. ``serve_with_sinks`` runs all of it (and, opted in, the MQTT feedback
service of ``andon.services.feedback_mqtt``) beside ``andon serve``'s HTTP server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import structlog

from andon.clock import Clock, SystemClock, monotonic
from andon.connectors.mqtt import MqttClient
from andon.errors import AndonError, NotFound, SinkError
from andon.events import Event
from andon.interventions.lifecycle import InterventionState, Priority
from andon.interventions.record import (
    Feedback,
    FeedbackKind,
    Outcome,
    OutcomeLabel,
    Via,
    intervention_document,
)
from andon.services.feedback_mqtt import MqttFeedback, run_feedback
from andon.sinks.base import one_line
from andon.sinks.cmms import CmmsSink, WorkOrderChange, WorkOrderStatus
from andon.sinks.dispatch import Attempted, Dispatcher, Route
from andon.sinks.uns import Publisher, UnsSink
from andon.sinks.webhook import WebhookSink
from andon.spec.model import PlantSpec
from andon.spec.sinks import SinksConfig
from andon.store.base import Delivery, Store

__all__ = ["CmmsPoller", "DeliveryService", "apply_work_order", "build_routes",
           "recorder", "serve_with_sinks"]

log = structlog.get_logger("andon.services.delivery")


@dataclass(frozen=True, slots=True)
class CmmsPoller:
    """A CMMS sink and how often its work orders are read back."""

    sink: CmmsSink
    every_s: float


def build_routes(config: SinksConfig, *, publisher: Publisher | None = None,
                 connected: Any = None, env: Mapping[str, str] | None = None,
                 clock: Clock | None = None) -> tuple[list[Route], list[CmmsPoller]]:
    """Routes for the spec's sinks (the UNS one only with a ``publisher``) and CMMS pollers."""
    env = os.environ if env is None else env
    clock = clock or SystemClock()
    routes: list[Route] = []
    pollers: list[CmmsPoller] = []

    def route(sink: Any, cfg: Any) -> Route:
        return Route(sink, None if cfg.use_cases is None else frozenset(cfg.use_cases),
                     None if cfg.priorities is None
                     else frozenset(Priority(p) for p in cfg.priorities))

    if config.uns.enabled and publisher is not None:
        routes.append(route(UnsSink(publisher, retain=config.uns.retain, connected=connected,
                                    clock=clock), config.uns))
    for hook in config.webhooks:
        secret = env.get(hook.secret_env, "")
        if not secret:
            raise SinkError(f"sinks.webhooks {hook.id}: environment variable {hook.secret_env} "
                            "is not set (it holds the webhook's signing secret)")
        routes.append(route(WebhookSink(f"webhook:{hook.id}", hook.url, secret.encode(),
                                        timeout_s=hook.timeout, max_attempts=hook.max_attempts,
                                        clock=clock), hook))
    for cmms in config.cmms:
        token = None
        if cmms.token_env is not None:
            token = env.get(cmms.token_env, "")
            if not token:
                raise SinkError(f"sinks.cmms {cmms.id}: environment variable {cmms.token_env} "
                                "is not set (it holds the CMMS API token)")
        sink = CmmsSink(f"cmms:{cmms.id}", cmms.url, token, timeout_s=cmms.timeout,
                        clock=clock)
        routes.append(route(sink, cmms))
        pollers.append(CmmsPoller(sink, cmms.poll))
    return routes, pollers


def recorder(store: Store) -> Any:
    """The dispatcher's ``record``: each ``Attempted`` as a ``deliveries`` row."""

    def record(rows: Sequence[Attempted]) -> None:
        store.record_deliveries([Delivery(**asdict(r)) for r in rows])
        for r in rows:
            if not r.ok:
                log.info("delivery_failed", sink=r.sink, intervention=r.intervention_id,
                         version=r.version, attempt=r.attempt, status=r.http_status,
                         error=r.error)

    return record


def apply_work_order(store: Store, change: WorkOrderChange, sink: str, clock: Clock) -> str:
    """Apply what the CMMS says about an intervention's work order; what was done, one line.

    COMPLETE → feedback ``acted`` (the intervention is done) and an outcome label (the work
    order's ``outcome`` if it names one, else ``unsure``) with the technician's notes;
    CANCELLED → ``dismissed``; ON_HOLD → ``deferred``; IN_PROGRESS → ``in_progress``. An
    intervention already closed, or already in that state, is left alone. Each applied change
    is an event (kind ``work_order``); a refused one too, with its reason.
    """
    at = change.at or clock.now()
    by = change.by or sink
    rid = change.intervention_id
    try:
        iv = store.get_intervention(rid)
    except NotFound:
        return f"{rid}: unknown intervention"
    target = change.asks_for
    if not iv.is_open or target is None or iv.state is target:
        return f"{rid}: nothing to do ({iv.state.value}, work order {change.status.value})"
    note = change.note or f"work order {change.work_order_id} {change.status.value.lower()}"
    reason = f"{sink} work order {change.work_order_id}: {note}"
    try:
        at = max(at, iv.updated_at)  # a CMMS clock behind ours must not run history backwards
        if change.status is WorkOrderStatus.COMPLETE:
            store.record_feedback(Feedback(rid, FeedbackKind.ACTED, reason, by, at,
                                           Via.CMMS.value))
            label = (OutcomeLabel(change.outcome) if change.outcome in _OUTCOMES
                     else OutcomeLabel.UNSURE)
            try:
                store.record_outcome(Outcome(rid, label, note, by, at, Via.CMMS.value))
                done = f"{rid}: done, outcome {label.value}"
            except AndonError as exc:  # done stays done; the outcome can be told later
                done = f"{rid}: done; outcome refused: {one_line(str(exc))}"
        elif change.status is WorkOrderStatus.CANCELLED:
            store.record_feedback(Feedback(rid, FeedbackKind.DISMISSED, reason, by, at,
                                           Via.CMMS.value))
            done = f"{rid}: dismissed"
        elif change.status is WorkOrderStatus.ON_HOLD:
            store.record_feedback(Feedback(rid, FeedbackKind.DEFERRED, reason, by, at,
                                           Via.CMMS.value))
            done = f"{rid}: deferred"
        else:
            if iv.state in {InterventionState.NEW, InterventionState.ESCALATED}:
                store.transition_intervention(rid, InterventionState.ACKNOWLEDGED, by=by,
                                                at=at, reason=reason, via=Via.CMMS.value)
            store.transition_intervention(rid, InterventionState.IN_PROGRESS, by=by, at=at,
                                            reason=reason, via=Via.CMMS.value)
            done = f"{rid}: in progress"
    except AndonError as exc:
        done = (f"{rid}: work order {change.work_order_id} {change.status.value} refused: "
                f"{one_line(str(exc))}")
    store.add_event(Event(kind="work_order", subject=rid, detail=done, at=clock.now(),
                          by=by))
    return done


_OUTCOMES = frozenset(o.value for o in OutcomeLabel)


@dataclass
class DeliveryService:
    """Feed the sinks from the store until stopped; bring CMMS work-order changes back."""

    store: Store
    routes: list[Route]
    pollers: list[CmmsPoller] = field(default_factory=list)
    clock: Clock = field(default_factory=SystemClock)
    poll_s: float = 2.0  # how often each route looks for new or changed interventions
    limit: int = 500  # newest interventions looked at per pass
    timeout_s: float = 30.0  # longest one delivery may take

    def __post_init__(self) -> None:
        self.dispatcher = Dispatcher(self.routes, self.store, recorder(self.store),
                                     clock=self.clock, timeout_s=self.timeout_s)
        self._snapshot: tuple[float, list[dict[str, Any]]] | None = None
        self._snapshot_lock = asyncio.Lock()

    def documents(self) -> list[dict[str, Any]]:
        """The newest ``limit`` interventions as documents, oldest first."""
        ivs = self.store.list_interventions(open_only=False, limit=self.limit)
        return [intervention_document(r) for r in reversed(ivs)]

    async def dispatch_once(self) -> list[Attempted]:
        """One pass of every route (concurrently)."""
        docs = await asyncio.to_thread(self.documents)
        return await self.dispatcher.dispatch(docs)

    async def poll_once(self, poller: CmmsPoller) -> list[str]:
        """Read back the work orders of open interventions and apply their changes."""
        sink = poller.sink
        open_ivs = await asyncio.to_thread(self.store.list_interventions, open_only=True,
                                            limit=self.limit)
        pairs = []
        for iv in open_ivs:
            wo = await asyncio.to_thread(self.store.external_id, sink.name, iv.id)
            if wo is not None:
                pairs.append((iv.id, wo))
        changes = await sink.poll(pairs)
        return [await asyncio.to_thread(apply_work_order, self.store, c, sink.name, self.clock)
                for c in changes]

    async def run(self, stop: asyncio.Event) -> None:
        """Run every route loop and CMMS poller until ``stop`` is set."""
        tasks = [asyncio.ensure_future(self._loop(stop, self.poll_s, self._route_pass, r))
                 for r in self.routes]
        tasks += [asyncio.ensure_future(self._loop(stop, p.every_s, self.poll_once, p))
                  for p in self.pollers]
        try:
            await stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _route_pass(self, route: Route) -> list[Attempted]:
        return await self.dispatcher.run_route(route, await self._shared_documents())

    async def _shared_documents(self) -> list[dict[str, Any]]:
        """The documents, read once for all route loops that pass within ``poll_s / 2``."""
        async with self._snapshot_lock:
            now = monotonic()
            if self._snapshot is None or now - self._snapshot[0] > self.poll_s / 2:
                self._snapshot = (now, await asyncio.to_thread(self.documents))
            return self._snapshot[1]

    @staticmethod
    async def _loop(stop: asyncio.Event, every_s: float, step: Any, arg: Any) -> None:
        while not stop.is_set():
            try:
                await step(arg)
            except Exception as exc:  # noqa: BLE001 - a failing pass is logged, the loop goes on
                log.warning("delivery_pass_failed", error=one_line(f"{type(exc).__name__}: "
                                                                  f"{exc}"))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)


async def serve_with_sinks(serving: Awaitable[None], store: Store, spec: PlantSpec,
                           broker_url: str | None, *, clock: Clock | None = None,
                           feedback: bool = False) -> None:
    """Run the delivery service (and, with a broker and ``feedback``, MQTT feedback) beside it.

    The sinks are built first, so a missing secret stops ``andon serve`` at once with a
    one-line ``SinkError``. MQTT feedback is opt-in (``andon serve --mqtt-feedback``): its
    ``by`` is not authenticated, only the broker's ACLs say who may publish it. Without a
    broker there is no UNS sink and no MQTT feedback; a
    broker that is down at start is retried every few seconds (deliveries to the UNS are
    recorded as failed meanwhile, and retried).
    """
    clock = clock or SystemClock()
    mqtt = None if broker_url is None else MqttClient(broker_url)
    try:
        routes, pollers = build_routes(spec.sinks, publisher=mqtt,
                                       connected=None if mqtt is None else mqtt.connected,
                                       clock=clock)
    except SinkError:
        if isinstance(serving, Coroutine):
            serving.close()  # never started: no "never awaited" warning
        raise
    service = DeliveryService(store, routes, pollers, clock=clock)
    stop = asyncio.Event()
    tasks = []
    if mqtt is not None and broker_url is not None:
        tasks.append(asyncio.ensure_future(_connect_when_up(mqtt, stop)))
        if feedback:
            handler = MqttFeedback(store, spec, clock=clock)
            tasks.append(asyncio.ensure_future(_retrying(
                lambda: run_feedback(handler, broker_url, stop), stop, "mqtt_feedback")))
        with contextlib.suppress(TimeoutError):  # a first pass without a connection only fails
            await asyncio.wait_for(mqtt.connected.wait(), _RETRY_CONNECT_S)
    tasks.append(asyncio.ensure_future(service.run(stop)))
    log.info("sinks_started", sinks=[r.sink.name for r in routes],
             feedback=broker_url is not None and feedback)
    try:
        await serving
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        if mqtt is not None:
            await mqtt.disconnect()


_RETRY_CONNECT_S = 5.0


async def _connect_when_up(client: MqttClient, stop: asyncio.Event) -> None:
    """Connect once the broker answers (gmqtt reconnects by itself after that)."""
    while not stop.is_set():
        try:
            await client.connect()
        except ConnectionError as exc:
            log.warning("uns_sink_broker_down", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), _RETRY_CONNECT_S)
        else:
            return


async def _retrying(start: Callable[[], Awaitable[None]], stop: asyncio.Event,
                    what: str) -> None:
    """Run ``start()`` again after a failure (e.g. the broker down at start) until stopped."""
    while not stop.is_set():
        try:
            await start()
        except Exception as exc:  # noqa: BLE001 - logged; the service must outlive an outage
            log.warning("service_failed", service=what,
                        error=one_line(f"{type(exc).__name__}: {exc}"))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), _RETRY_CONNECT_S)
