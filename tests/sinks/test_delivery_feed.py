"""The delivery service follows the store's change feed: every change once, any backlog size,
failures retried when due, a restart re-sends nothing, and news wakes it without polling."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING

from andon.interventions.lifecycle import InterventionState
from andon.services.delivery import DeliveryService
from andon.sinks import Attempt, DeliveryResult, Outgoing, Route
from andon.sinks.dispatch import retry_after
from andon.testing.factories import make_intervention

if TYPE_CHECKING:
    from andon.clock import ManualClock
    from andon.store import SqlStore


@dataclass
class Collecting:
    """An in-memory sink: keeps what it is handed; ``up`` False answers 503."""

    clock: ManualClock
    name: str = "collect"
    up: bool = True
    items: list[Outgoing] = field(default_factory=list)
    arrived: asyncio.Event | None = None

    async def deliver(self, item: Outgoing) -> DeliveryResult:
        self.items.append(item)
        if self.arrived is not None:
            self.arrived.set()
        if not self.up:
            return DeliveryResult.failed(self.clock.now(), "service unavailable", 503)
        return DeliveryResult((Attempt(self.clock.now(), ok=True, http_status=200),))


def drain(svc: DeliveryService) -> int:
    """Passes until a pass delivers nothing new (bounded); returns how many were made."""
    for passes in range(1, 50):
        if not asyncio.run(svc.dispatch_once()):
            return passes
    raise AssertionError("the feed never ran dry")


def test_a_backlog_larger_than_a_page_is_delivered_whole_and_once(
        store: SqlStore, clock: ManualClock) -> None:
    for i in range(1_234):
        store.save_intervention(make_intervention(f"iv-{i:04d}", asset=f"a-{i}"))
    sink = Collecting(clock)
    drain(DeliveryService(store, [Route(sink)], clock=clock, limit=500))
    ids = [item.intervention_id for item in sink.items]
    assert len(ids) == 1_234
    assert len(set(ids)) == 1_234  # nothing twice
    assert ids == sorted(ids)  # in the order they were written


def test_a_change_is_a_new_version_and_a_restart_resends_nothing(
        store: SqlStore, clock: ManualClock) -> None:
    a, b = make_intervention("iv-a", asset="p-1"), make_intervention("iv-b", asset="p-2")
    store.save_intervention(a)
    store.save_intervention(b)
    sink = Collecting(clock)
    svc = DeliveryService(store, [Route(sink)], clock=clock)
    drain(svc)
    store.transition_intervention("iv-a", InterventionState.ACKNOWLEDGED, by="ana",
                                  at=clock.now())
    drain(svc)
    assert [(i.intervention_id, i.version) for i in sink.items] == [
        ("iv-a", 1), ("iv-b", 1), ("iv-a", 2)]
    assert sink.items[-1].document["lifecycle"]["state"] == "acknowledged"
    restarted = DeliveryService(store, [Route(sink)], clock=clock)  # reads the feed from 0
    drain(restarted)
    assert len(sink.items) == 3


def test_a_failed_delivery_is_retried_when_due_without_a_new_change(
        store: SqlStore, clock: ManualClock) -> None:
    store.save_intervention(make_intervention("iv-a"))
    sink = Collecting(clock, up=False)
    svc = DeliveryService(store, [Route(sink)], clock=clock)
    drain(svc)
    assert len(sink.items) == 1
    drain(svc)
    assert len(sink.items) == 1  # not yet due
    sink.up = True
    clock.advance(retry_after(1).total_seconds())
    drain(svc)
    assert [(i.intervention_id, i.version) for i in sink.items] == [("iv-a", 1), ("iv-a", 1)]
    assert store.undelivered("collect") == []
    assert [d.attempt for d in store.deliveries(sink="collect")] == [2, 1]


def test_a_change_in_this_process_wakes_the_service_at_once(
        store: SqlStore, clock: ManualClock) -> None:
    """``poll_s`` is an hour: only the store's change notification can bring the delivery."""

    async def scenario() -> list[str]:
        sink = Collecting(clock, arrived=asyncio.Event())
        svc = DeliveryService(store, [Route(sink)], clock=clock, poll_s=3600)
        first_pass = asyncio.Event()
        real = svc.dispatcher.run_route

        async def run_route(route: Route, docs: list[dict[str, object]]) -> object:
            done = await real(route, docs)
            first_pass.set()
            return done

        svc.dispatcher.run_route = run_route  # type: ignore[method-assign,assignment]
        stop = asyncio.Event()
        running = asyncio.ensure_future(svc.run(stop))
        try:
            await asyncio.wait_for(first_pass.wait(), timeout=30)  # the feed was read empty
            await asyncio.to_thread(store.save_intervention,
                                    replace(make_intervention("iv-news"), created_at=clock.now()))
            assert sink.arrived is not None
            await asyncio.wait_for(sink.arrived.wait(), timeout=30)
        finally:
            stop.set()
            await running
        return [i.intervention_id for i in sink.items]

    assert asyncio.run(scenario()) == ["iv-news"]


def test_only_the_interventions_at_hand_have_their_state_read(
        store: SqlStore, clock: ManualClock) -> None:
    for i in range(30):
        store.save_intervention(make_intervention(f"iv-{i:02d}", asset=f"a-{i}"))
    sink = Collecting(clock)
    svc = DeliveryService(store, [Route(sink)], clock=clock)
    drain(svc)
    store.save_intervention(replace(make_intervention("iv-07", asset="a-7"), detections=9,
                                    updated_at=clock.now() + timedelta(minutes=1)))
    asked: list[list[str] | None] = []
    real = store.delivery_states

    def spy(name: str, ids: list[str] | None = None) -> object:
        asked.append(None if ids is None else list(ids))
        return real(name, ids)

    store.delivery_states = spy  # type: ignore[method-assign]
    drain(svc)
    assert asked[0] == ["iv-07"]
    assert [i.intervention_id for i in sink.items[30:]] == ["iv-07"]
