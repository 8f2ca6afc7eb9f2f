"""Delivery service: the spec's sinks fed from the store, and CMMS completions brought back.

``build_routes`` turns the spec's ``sinks:`` entries into routes, each sink built by the
plug-in of its type (``andon.sinks.plugin``: the built-in UNS, webhook and CMMS sinks, or a
third party's), which reads its secrets from the environment variables the spec names (a
missing one is a one-line ``SinkError`` naming the variable, never its value).
``DeliveryService.run`` then, until ``stop``:

- runs one loop per route: it follows the store's change feed of interventions (waking at
  once on a change made in this process, polling every ``poll_s`` seconds for other
  processes' changes), hands each new or changed intervention, and each whose last attempt
  failed, to the ``Dispatcher``, and records every attempt in the store's ``deliveries``
  table. Each route has its own loop, so a slow or failing sink only delays itself;
- runs one poller per CMMS: it reads back the work orders of open interventions and applies
  what the CMMS says (``andon.app.apply_work_order``): a completed work order closes the
  intervention (done, with an outcome label), a cancelled one dismisses it, one on hold
  defers it.

The delivery state lives in the store, so a restart neither re-sends what was delivered nor
forgets what was not. ``serve_with_sinks`` runs all of it (and, opted in, the MQTT feedback
service of ``andon.services.feedback_mqtt``) beside ``andon serve``'s HTTP server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import structlog
from pydantic import ValidationError

from andon.app import Actor, Context, apply_work_order
from andon.clock import Clock, SystemClock
from andon.connectors.mqtt import MqttClient
from andon.errors import NotFound, PluginError, SinkError
from andon.feedback import Via
from andon.interventions.lifecycle import Priority
from andon.interventions.wire import intervention_document
from andon.services.feedback_mqtt import MqttFeedback, run_feedback
from andon.sinks.base import Publisher
from andon.sinks.cmms import CmmsSink
from andon.sinks.dispatch import Attempted, Dispatcher, Route
from andon.sinks.plugin import SinkContext, sink_plugins
from andon.spec.model import PlantSpec
from andon.spec.sinks import SinksConfig
from andon.store.base import Delivery, Store
from andon.text import one_line

__all__ = ["CmmsPoller", "DeliveryService", "build_routes",
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
    """Routes for the spec's enabled sinks, each built by its type's plug-in; CMMS pollers.

    A sink whose plug-in builds nothing here (the UNS sink without a ``publisher``) has no
    route. ``SinkError`` (one line) for a sink that cannot be built: a missing secret, a type
    no longer installed.
    """
    context = SinkContext("", clock=clock or SystemClock(),
                          env=os.environ if env is None else env, publisher=publisher,
                          connected=connected)
    plugins = sink_plugins()
    routes: list[Route] = []
    pollers: list[CmmsPoller] = []
    for entry in config.enabled():
        try:
            plugin = plugins.get(entry.type)
            settings = None if plugin.config is None else plugin.config.model_validate(
                entry.settings)
        except (PluginError, ValidationError) as exc:  # the spec was checked by another set
            raise SinkError(f"sink {entry.name}: {one_line(str(exc))}") from None
        sink = plugin.build(settings, replace(context, name=entry.name))
        if sink is None:
            continue
        routes.append(Route(sink, None if entry.use_cases is None else frozenset(entry.use_cases),
                            None if entry.priorities is None
                            else frozenset(Priority(p) for p in entry.priorities)))
        if isinstance(sink, CmmsSink):  # its work orders are read back (apply_work_order)
            pollers.append(CmmsPoller(sink, sink.poll_s))
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


@dataclass
class DeliveryService:
    """Feed the sinks from the store's change feed until stopped; bring CMMS changes back.

    Each route follows ``Store.intervention_changes`` with its own cursor (from the start after
    a restart: the dispatcher skips what its sink already has, by digest), plus the
    interventions whose last attempt to it failed (``Store.undelivered``), retried when due. It
    wakes at once when this process writes an intervention (``on_intervention_change``) and
    every ``poll_s`` seconds otherwise (another process, e.g. an edge on the same database).
    """

    store: Store
    routes: list[Route]
    pollers: list[CmmsPoller] = field(default_factory=list)
    clock: Clock = field(default_factory=SystemClock)
    poll_s: float = 2.0  # longest a route waits for news (changes written by other processes)
    limit: int = 500  # changes read per pass (a catch-up takes several passes)
    timeout_s: float = 30.0  # longest one delivery may take

    def __post_init__(self) -> None:
        self.dispatcher = Dispatcher(self.routes, self.store, recorder(self.store),
                                     clock=self.clock, timeout_s=self.timeout_s)
        self._cursor: dict[str, int] = {r.sink.name: 0 for r in self.routes}
        self._wake: dict[str, asyncio.Event] = {}

    def documents_for(self, route: Route) -> tuple[list[dict[str, Any]], bool]:
        """The next documents for ``route``: its new changes, then failed ones to retry.

        Returns them and whether the feed has more right now (a full page was read).
        """
        name = route.sink.name
        changes = self.store.intervention_changes(after=self._cursor[name], limit=self.limit)
        if changes:
            self._cursor[name] = changes[-1][0]
        docs = [intervention_document(iv) for _, iv in changes]
        seen = {iv.id for _, iv in changes}
        for iid in self.store.undelivered(name, limit=self.limit):
            if iid not in seen:
                with contextlib.suppress(NotFound):  # purged since: nothing left to deliver
                    docs.append(intervention_document(self.store.get_intervention(iid)))
        return docs, len(changes) >= self.limit

    async def dispatch_once(self) -> list[Attempted]:
        """One pass of every route (concurrently), each over its own news."""
        done = await asyncio.gather(*(self._route_pass(r) for r in self.routes))
        return [row for rows, _ in done for row in rows]

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
        ctx, cmms = Context(self.store, self.clock), Actor.system(sink.name, Via.CMMS)
        return [(await asyncio.to_thread(apply_work_order, ctx, cmms, c)).record
                for c in changes]

    async def run(self, stop: asyncio.Event) -> None:
        """Run every route loop and CMMS poller until ``stop`` is set."""
        loop = asyncio.get_running_loop()
        self._wake = {r.sink.name: asyncio.Event() for r in self.routes}

        def news() -> None:  # any thread: hand it to the loop
            for event in self._wake.values():
                loop.call_soon_threadsafe(event.set)

        unsubscribe = self.store.on_intervention_change(news)
        tasks = [asyncio.ensure_future(self._follow(stop, r)) for r in self.routes]
        tasks += [asyncio.ensure_future(self._loop(stop, p.every_s, self.poll_once, p))
                  for p in self.pollers]
        try:
            await stop.wait()
        finally:
            unsubscribe()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _route_pass(self, route: Route) -> tuple[list[Attempted], bool]:
        docs, more = await asyncio.to_thread(self.documents_for, route)
        return await self.dispatcher.run_route(route, docs), more

    async def _follow(self, stop: asyncio.Event, route: Route) -> None:
        """One route: a pass at each piece of news (or every ``poll_s``), at once while behind."""
        wake = self._wake[route.sink.name]
        while not stop.is_set():
            wake.clear()
            more = False
            try:
                _, more = await self._route_pass(route)
            except Exception as exc:  # noqa: BLE001 - a failing pass is logged, the loop goes on
                log.warning("delivery_pass_failed", sink=route.sink.name,
                            error=one_line(f"{type(exc).__name__}: {exc}"))
            if more:
                continue
            waiting = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
            try:
                await asyncio.wait(waiting, timeout=self.poll_s,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiting:
                    w.cancel()

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
                lambda: run_feedback(handler, broker_url, stop,
                                     session=f"andon-feedback-{spec.enterprise.id}"[:60]),
                stop, "mqtt_feedback")))
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
