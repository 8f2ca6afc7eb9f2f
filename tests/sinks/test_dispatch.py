"""The dispatcher: a failing or hanging sink never blocks the others; state survives restarts."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from andon.interventions.lifecycle import InterventionState, Priority
from andon.interventions.wire import intervention_document
from andon.services.delivery import recorder
from andon.sinks import Attempt, DeliveryResult, Dispatcher, Outgoing, Route, WebhookSink, dispatch
from andon.sinks.dispatch import retry_after
from andon.testing.factories import make_intervention
from sinks.receiver import SECRET, Receiver

if TYPE_CHECKING:
    from andon.clock import ManualClock
    from andon.store import SqlStore


class Hanging:
    """A sink that never answers (a CMMS behind a dead proxy)."""

    name = "hanging"

    async def deliver(self, item: Outgoing) -> DeliveryResult:
        del item
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class Raising:
    """A sink with a bug."""

    name = "raising"

    async def deliver(self, item: Outgoing) -> DeliveryResult:
        del item
        raise RuntimeError("boom\nwith a second line")


class Flaky:
    """Fails until told otherwise; counts what it was given."""

    def __init__(self, clock: ManualClock) -> None:
        self.name = "flaky"
        self.clock = clock
        self.up = False
        self.items: list[Outgoing] = []

    async def deliver(self, item: Outgoing) -> DeliveryResult:
        self.items.append(item)
        if not self.up:
            return DeliveryResult.failed(self.clock.now(), "service unavailable", 503)
        return DeliveryResult((Attempt(self.clock.now(), ok=True, http_status=200),),
                              external_id=f"ext-{item.intervention_id}")


def test_failing_and_hanging_sinks_do_not_block_a_good_one(
        store: SqlStore, clock: ManualClock) -> None:
    iv = make_intervention()
    store.save_intervention(iv)
    doc = intervention_document(iv)
    with Receiver([]) as receiver:
        good = WebhookSink("webhook:ok", receiver.url, SECRET, clock=clock)
        dispatcher = Dispatcher([Route(Hanging()), Route(Raising()), Route(good)], store,
                                recorder(store), clock=clock, timeout_s=3.0)
        started = time.monotonic()
        asyncio.run(dispatcher.dispatch([doc]))
        took = time.monotonic() - started
    assert len(receiver.seen) == 1
    # bounded by the hanging sink's time limit (3 s; room for a cold HTTP client on a loaded
    # machine), not by the hang
    assert took < 30
    by_sink = {d.sink: d for d in store.deliveries()}
    assert by_sink["webhook:ok"].ok
    assert not by_sink["hanging"].ok
    assert by_sink["hanging"].error == "no answer within 3s"
    assert not by_sink["raising"].ok
    assert by_sink["raising"].error == "RuntimeError: boom with a second line"


def test_failed_delivery_is_retried_after_backoff_and_after_a_restart(
        store: SqlStore, clock: ManualClock) -> None:
    iv = make_intervention()
    store.save_intervention(iv)
    doc = intervention_document(iv)
    flaky = Flaky(clock)
    first = Dispatcher([Route(flaky)], store, recorder(store), clock=clock)
    asyncio.run(first.dispatch([doc]))
    assert len(flaky.items) == 1

    asyncio.run(first.dispatch([doc]))  # too early for a retry
    assert len(flaky.items) == 1

    clock.advance(retry_after(1).total_seconds())
    flaky.up = True
    restarted = Dispatcher([Route(flaky)], store, recorder(store), clock=clock)
    asyncio.run(restarted.dispatch([doc]))
    assert len(flaky.items) == 2
    assert flaky.items[1].idempotency_key == flaky.items[0].idempotency_key  # same version
    rows = list(reversed(store.deliveries(sink="flaky")))
    assert [(r.version, r.attempt, r.ok, r.http_status) for r in rows] == [
        (1, 1, False, 503), (1, 2, True, 200)]
    assert store.external_id("flaky", iv.id) == f"ext-{iv.id}"

    asyncio.run(restarted.dispatch([doc]))  # delivered: nothing more
    assert len(flaky.items) == 2


def test_a_changed_intervention_is_a_new_version_with_the_known_external_id(
        store: SqlStore, clock: ManualClock) -> None:
    iv = make_intervention()
    flaky = Flaky(clock)
    flaky.up = True
    dispatcher = Dispatcher([Route(flaky)], store, recorder(store), clock=clock)
    asyncio.run(dispatcher.dispatch([intervention_document(iv)]))
    changed = replace(iv, state=InterventionState.DISMISSED,
                      updated_at=iv.updated_at + timedelta(minutes=3))
    asyncio.run(dispatcher.dispatch([intervention_document(changed)]))
    assert [i.version for i in flaky.items] == [1, 2]
    assert flaky.items[1].idempotency_key.endswith(":2")
    assert flaky.items[1].external_id == f"ext-{iv.id}"
    assert flaky.items[1].document["lifecycle"]["state"] == "dismissed"


def test_routes_take_only_their_use_cases_and_priorities(
        store: SqlStore, clock: ManualClock) -> None:
    high = replace(make_intervention("rec-high"), priority=Priority.HIGH)
    low = replace(make_intervention("rec-low", asset="p-102"), priority=Priority.LOW)
    urgent_only, other_use_case, everything = Flaky(clock), Flaky(clock), Flaky(clock)
    for s, name in ((urgent_only, "a"), (other_use_case, "b"), (everything, "c")):
        s.up, s.name = True, name
    routes = [Route(urgent_only, priorities=frozenset({Priority.CRITICAL, Priority.HIGH})),
              Route(other_use_case, use_cases=frozenset({"motor-winding"})),
              Route(everything)]
    docs = [intervention_document(high), intervention_document(low)]
    asyncio.run(Dispatcher(routes, store, recorder(store), clock=clock).dispatch(docs))
    assert [i.intervention_id for i in urgent_only.items] == ["rec-high"]
    assert other_use_case.items == []
    assert [i.intervention_id for i in everything.items] == ["rec-high", "rec-low"]


def test_the_digest_cache_stays_bounded(store: SqlStore, clock: ManualClock,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Digests of interventions long gone are not kept forever (a service runs for months)."""
    monkeypatch.setattr(dispatch, "_DIGEST_CACHE", 4)
    dispatcher = Dispatcher([Route(Flaky(clock))], store, recorder(store), clock=clock)
    docs = [{**intervention_document(make_intervention()), "id": f"rec-{i}"} for i in range(10)]
    digests = [dispatcher._digest(d) for d in docs]
    assert len(dispatcher._digests) <= 4
    assert dispatcher._digest(docs[-1]) == digests[-1]
