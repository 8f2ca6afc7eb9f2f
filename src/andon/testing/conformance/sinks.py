"""The conformance checks every sink passes: built-in (UNS, webhook, CMMS) or a plug-in's.

A sink (``andon.sinks.base.Sink``) must name itself, deliver to a live endpoint (the result
``ok``, one ``Attempt`` per try stamped with the sink's clock), deliver the same version again
without harm (a retry after a crash: same external id), and, against an endpoint that is down,
report a failed result with a one-line error instead of raising or hanging.

A plug-in's tests run them in three lines. Each factory takes the ``Clock`` the sink must stamp
its attempts with and returns the sink, or an async context manager that yields it (to start
and stop what it needs)::

    from andon.testing.conformance.sinks import check_sink

    def test_my_sink_conforms(tmp_path):
        check_sink(live=lambda clock: JsonlSink("jsonl", tmp_path / "out.jsonl", clock),
                   dead=lambda clock: JsonlSink("jsonl", tmp_path / "no-dir" / "x", clock))

``check_delivers``, ``check_redelivers`` and ``check_fails_softly`` are the same checks one
by one (each also as ``*_async`` inside a running event loop); ``conformance_item`` is what
they deliver: the factories' intervention under an enterprise id of its own, so that a sink on
a shared broker never meets another test's traffic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace

from andon.clock import Clock, ManualClock
from andon.interventions.wire import intervention_document
from andon.sinks.base import DeliveryResult, Outgoing, Sink
from andon.testing.factories import T0, make_intervention
from andon.testing.unique import unique_id

__all__ = [
    "DELIVER_WITHIN_S",
    "SinkFactory",
    "check_delivers",
    "check_delivers_async",
    "check_fails_softly",
    "check_fails_softly_async",
    "check_redelivers",
    "check_redelivers_async",
    "check_sink",
    "conformance_item",
]

#: the longest a delivery may take, live or dead (a hanging sink fails the check)
DELIVER_WITHIN_S = 30.0

#: the sink under test, built with the clock it must stamp attempts with
SinkFactory = Callable[[Clock], Sink | AbstractAsyncContextManager[Sink]]


def conformance_item() -> Outgoing:
    """Version 1 of the factories' intervention, under an enterprise id no other test uses."""
    iv = replace(make_intervention(), enterprise=unique_id())
    return Outgoing.of(intervention_document(iv))


def check_sink(*, live: SinkFactory, dead: SinkFactory, external_id: bool = False) -> None:
    """Every check: deliver and deliver again to ``live``, fail softly against ``dead``.

    ``external_id``: whether a live delivery must report an external id (a work-order id, a
    topic); a webhook has none.
    """
    check_delivers(live, external_id=external_id)
    check_redelivers(live)
    check_fails_softly(dead)


def check_delivers(make: SinkFactory, *, external_id: bool = False) -> DeliveryResult:
    """The sink delivers one item to a live endpoint; returns its result."""
    return asyncio.run(check_delivers_async(make, external_id=external_id))


def check_redelivers(make: SinkFactory) -> None:
    """Delivering the same version twice (a retry) works twice, with the same external id."""
    asyncio.run(check_redelivers_async(make))


def check_fails_softly(make: SinkFactory) -> DeliveryResult:
    """Against a dead endpoint the sink reports failure in one line; returns its result."""
    return asyncio.run(check_fails_softly_async(make))


async def check_delivers_async(make: SinkFactory, *,
                               external_id: bool = False) -> DeliveryResult:
    """``check_delivers`` inside a running event loop."""
    clock = ManualClock(T0)
    async with _built(make, clock) as sink:
        result = await _deliver(sink, conformance_item(), clock, live=True)
    if external_id:
        assert result.external_id is not None, "a live delivery must report its external id"
    return result


async def check_redelivers_async(make: SinkFactory) -> None:
    """``check_redelivers`` inside a running event loop."""
    clock = ManualClock(T0)
    item = conformance_item()
    async with _built(make, clock) as sink:
        first = await _deliver(sink, item, clock, live=True)
        again = await _deliver(sink, replace(item, external_id=first.external_id), clock,
                               live=True)
    assert again.external_id == first.external_id, (
        f"delivering the same version again gave external id {again.external_id!r}, first "
        f"{first.external_id!r}: a retry must not create a second one")


async def check_fails_softly_async(make: SinkFactory) -> DeliveryResult:
    """``check_fails_softly`` inside a running event loop."""
    clock = ManualClock(T0)
    async with _built(make, clock) as sink:
        return await _deliver(sink, conformance_item(), clock, live=False)


async def _deliver(sink: Sink, item: Outgoing, clock: ManualClock, *,
                   live: bool) -> DeliveryResult:
    assert isinstance(sink.name, str), f"sink.name must be a str, got {sink.name!r}"
    assert sink.name.strip(), "a sink names itself (its rows in deliveries carry the name)"
    try:
        result = await asyncio.wait_for(sink.deliver(item), DELIVER_WITHIN_S)
    except TimeoutError:
        raise AssertionError(f"sink {sink.name} did not answer within {DELIVER_WITHIN_S:g} s"
                             ) from None
    assert isinstance(result, DeliveryResult), f"deliver returned {result!r}"
    assert result.attempts, "a result reports at least one attempt"
    where = "a live" if live else "a dead"
    assert result.ok is live, f"{where} endpoint gave ok={result.ok}: {result.attempts}"
    for attempt in result.attempts:
        assert attempt.at == clock.now(), (
            f"attempt stamped {attempt.at}, not by the sink's clock ({clock.now()})")
        assert "\n" not in attempt.error, f"the error is one line: {attempt.error!r}"
        assert bool(attempt.error) is not attempt.ok, (
            f"a failed attempt says why, a good one has no error: {attempt}")
    return result


class _built(AbstractAsyncContextManager[Sink]):  # noqa: N801 - used as a function
    """The sink a factory made, entered if it is an async context manager."""

    def __init__(self, make: SinkFactory, clock: Clock) -> None:
        self._made = make(clock)

    async def __aenter__(self) -> Sink:
        if isinstance(self._made, AbstractAsyncContextManager):
            return await self._made.__aenter__()
        return self._made

    async def __aexit__(self, *exc: object) -> None:
        if isinstance(self._made, AbstractAsyncContextManager):
            await self._made.__aexit__(*exc)  # type: ignore[arg-type]
