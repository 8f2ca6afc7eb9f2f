"""CMMS work-order adapter against a real loopback CMMS: one work order per dedup key, and a
completed work order closes the intervention (done + outcome label) through the store."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from andon.errors import SinkError
from andon.feedback.workorders import STATE_TO_STATUS, STATUS_TO_STATE, WorkOrderStatus
from andon.interventions.lifecycle import InterventionState, Priority
from andon.interventions.wire import intervention_document
from andon.services.delivery import DeliveryService, build_routes, recorder
from andon.sinks import CmmsSink, Dispatcher, Outgoing, Route
from andon.sinks.cmms import work_order_fields
from andon.spec.sinks import SinksConfig
from andon.store import open_store
from andon.testing.cmms import LocalCmms

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from andon.clock import ManualClock
    from andon.interventions.record import Intervention
    from andon.store import SqlStore

TOKEN = "cmms-test-token"


@pytest.fixture
def cmms() -> Iterator[LocalCmms]:
    with LocalCmms(token=TOKEN) as server:
        yield server


def service(store: SqlStore, cmms: LocalCmms, clock: ManualClock) -> DeliveryService:
    config = SinksConfig.model_validate({"uns": {"enabled": False}, "cmms": [
        {"id": "atlas", "url": cmms.url, "token_env": "ANDON_CMMS_TOKEN"}]})
    routes, pollers = build_routes(config, env={"ANDON_CMMS_TOKEN": TOKEN}, clock=clock)
    return DeliveryService(store, routes, pollers, clock=clock)


def test_every_state_and_status_is_mapped_both_ways() -> None:
    assert set(STATE_TO_STATUS) == set(InterventionState)
    assert set(STATUS_TO_STATE) == set(WorkOrderStatus)
    # a status Andon sets and reads back asks for no other state than the one that set it,
    # except where the CMMS has fewer statuses than the lifecycle has states
    for state, status in STATE_TO_STATUS.items():
        back = STATUS_TO_STATE[status]
        assert back is None or back == state or status in {WorkOrderStatus.ON_HOLD,
                                                            WorkOrderStatus.CANCELLED}


def test_field_mapping(iv: Intervention) -> None:
    doc = intervention_document(replace(iv, priority=Priority.CRITICAL))
    wo = work_order_fields(doc)
    assert wo["title"] == f"Pump P-101: {iv.action}"
    assert wo["asset"] == {"customId": "p-101", "name": "Pump P-101"}
    assert wo["priority"] == "HIGH"
    assert wo["dueDate"] == iv.deadline.isoformat().replace("+00:00", "Z")
    assert wo["status"] == "OPEN"
    assert wo["externalRef"] == doc["dedup_key"]
    assert iv.id in wo["description"]
    assert "vibration 7.9 mm/s, 19 σ above healthy" in wo["description"]
    assert "Failure: by 2026-03-05T07:00:00Z" in wo["description"]


def test_same_dedup_key_makes_one_work_order(
        store: SqlStore, iv: Intervention, cmms: LocalCmms, clock: ManualClock) -> None:
    svc = service(store, cmms, clock)
    asyncio.run(svc.dispatch_once())
    assert cmms.count("POST") == 1
    (wo_id, wo), = cmms.work_orders.items()
    assert store.external_id("cmms:atlas", iv.id) == wo_id
    assert wo["status"] == "OPEN"

    # the intervention changes (acknowledged): the same work order is updated
    clock.advance(60)
    store.transition_intervention(iv.id, InterventionState.ACKNOWLEDGED, by="chris",
                                    at=clock.now())
    store.transition_intervention(iv.id, InterventionState.IN_PROGRESS, by="chris",
                                    at=clock.now())
    asyncio.run(svc.dispatch_once())
    assert cmms.count("POST") == 1
    assert cmms.count("PATCH") == 1
    assert cmms.work_orders[wo_id]["status"] == "IN_PROGRESS"
    versions = [d.version for d in store.deliveries(sink="cmms:atlas")]
    assert versions == [2, 1]


def test_lost_delivery_record_finds_the_work_order_by_reference(
        tmp_path: Path, iv: Intervention, cmms: LocalCmms, clock: ManualClock) -> None:
    """Crash between 'created' and 'recorded': a store that never heard of it creates none."""
    sink = CmmsSink("cmms:atlas", cmms.url, TOKEN, clock=clock)
    doc = intervention_document(iv)
    first = asyncio.run(sink.deliver(Outgoing.of(doc)))
    assert first.ok
    with open_store(f"sqlite:///{tmp_path / 'other.db'}") as empty:
        empty.save_intervention(iv)
        dispatcher = Dispatcher([Route(CmmsSink("cmms:atlas", cmms.url, TOKEN, clock=clock))],
                                empty, recorder(empty), clock=clock)
        asyncio.run(dispatcher.dispatch([doc]))
        assert empty.external_id("cmms:atlas", iv.id) == first.external_id
    assert cmms.count("POST") == 1
    assert len(cmms.work_orders) == 1


def test_completed_work_order_closes_the_intervention_with_an_outcome(
        store: SqlStore, iv: Intervention, cmms: LocalCmms, clock: ManualClock) -> None:
    svc = service(store, cmms, clock)
    asyncio.run(svc.dispatch_once())
    (wo_id,) = cmms.work_orders
    clock.advance(3600)
    cmms.complete(wo_id, note="Bearing outer race pitted; replaced", by="chris",
                  at=clock.now(), outcome="fault_confirmed")

    done = asyncio.run(svc.poll_once(svc.pollers[0]))

    assert done == [f"{iv.id}: done, outcome fault_confirmed"]
    after = store.get_intervention(iv.id)
    assert after.state is InterventionState.DONE
    assert after.outcome is not None
    assert after.outcome.value == "fault_confirmed"
    labels = store.labels(intervention_id=iv.id)
    assert [(lb.kind, lb.label, lb.via, lb.by) for lb in labels] == [
        ("feedback", "acted", "cmms", "chris"), ("outcome", "fault_confirmed", "cmms", "chris")]
    assert labels[1].detail == "Bearing outer race pitted; replaced"
    assert store.events(kind="work_order")[0].detail == done[0]

    # polled again: closed already, nothing more happens; the next delivery does not reopen
    assert asyncio.run(svc.poll_once(svc.pollers[0])) == []
    asyncio.run(svc.dispatch_once())
    assert cmms.work_orders[wo_id]["status"] == "COMPLETE"
    assert len(store.labels(intervention_id=iv.id)) == 2


def test_work_order_closed_in_cmms_keeps_its_status_when_andon_updates_it(
        store: SqlStore, iv: Intervention, cmms: LocalCmms, clock: ManualClock) -> None:
    svc = service(store, cmms, clock)
    asyncio.run(svc.dispatch_once())
    (wo_id,) = cmms.work_orders
    cmms.complete(wo_id, note="done")
    store.save_intervention(replace(iv, detections=iv.detections + 1,
                                      updated_at=iv.updated_at + timedelta(minutes=10)))
    asyncio.run(svc.dispatch_once())  # a new detection: Andon pushes its (open) version
    assert cmms.count("PATCH") == 1
    assert cmms.work_orders[wo_id]["status"] == "COMPLETE"


def test_cancelled_work_order_dismisses_with_the_reason(
        store: SqlStore, iv: Intervention, cmms: LocalCmms, clock: ManualClock) -> None:
    svc = service(store, cmms, clock)
    asyncio.run(svc.dispatch_once())
    (wo_id,) = cmms.work_orders
    cmms.set_status(wo_id, "CANCELLED", note="Pump scheduled for replacement next week")
    assert asyncio.run(svc.poll_once(svc.pollers[0])) == [f"{iv.id}: dismissed"]
    after = store.get_intervention(iv.id)
    assert after.state is InterventionState.DISMISSED
    assert "Pump scheduled for replacement next week" in after.history[-1].reason


def test_cmms_errors_are_recorded_and_retried(
        store: SqlStore, iv: Intervention, cmms: LocalCmms, clock: ManualClock) -> None:
    svc = service(store, cmms, clock)
    cmms.fail_next(503)
    asyncio.run(svc.dispatch_once())
    (failed,) = store.deliveries(sink="cmms:atlas")
    assert not failed.ok
    assert failed.http_status == 503
    assert failed.error.startswith("GET /work-orders: HTTP 503")
    clock.advance(10)
    asyncio.run(svc.dispatch_once())
    assert store.deliveries(sink="cmms:atlas")[0].ok
    assert len(cmms.work_orders) == 1
    assert store.external_id("cmms:atlas", iv.id) == "WO-1"


def test_wrong_token_is_a_401_in_the_record(
        store: SqlStore, iv: Intervention, cmms: LocalCmms, clock: ManualClock) -> None:
    del iv
    routes, _ = build_routes(SinksConfig.model_validate(
        {"uns": {"enabled": False}, "cmms": [{"id": "atlas", "url": cmms.url,
                                               "token_env": "T"}]}), env={"T": "wrong"})
    svc = DeliveryService(store, routes, clock=clock)
    asyncio.run(svc.dispatch_once())
    assert store.deliveries()[0].http_status == 401
    assert cmms.work_orders == {}


def test_missing_secret_names_the_variable_not_a_value() -> None:
    config = SinksConfig.model_validate({"webhooks": [
        {"id": "ops", "url": "https://hooks.example.com/a", "secret_env": "ANDON_HOOK_KEY"}]})
    with pytest.raises(SinkError, match="environment variable ANDON_HOOK_KEY is not set"):
        build_routes(config, env={})


def test_work_order_in_progress_then_on_hold_moves_the_intervention(
        store: SqlStore, iv: Intervention, cmms: LocalCmms, clock: ManualClock) -> None:
    svc = service(store, cmms, clock)
    asyncio.run(svc.dispatch_once())
    (wo_id,) = cmms.work_orders
    cmms.set_status(wo_id, "IN_PROGRESS")
    assert asyncio.run(svc.poll_once(svc.pollers[0])) == [f"{iv.id}: in progress"]
    assert store.get_intervention(iv.id).state is InterventionState.IN_PROGRESS
    assert asyncio.run(svc.poll_once(svc.pollers[0])) == [
        f"{iv.id}: nothing to do (in_progress, work order IN_PROGRESS)"]
    cmms.set_status(wo_id, "ON_HOLD", note="Waiting for parts")
    assert asyncio.run(svc.poll_once(svc.pollers[0])) == [f"{iv.id}: deferred"]
    after = store.get_intervention(iv.id)
    assert after.state is InterventionState.DEFERRED
    assert after.history[-1].reason == f"cmms:atlas work order {wo_id}: Waiting for parts"
