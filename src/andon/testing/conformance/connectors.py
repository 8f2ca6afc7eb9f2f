"""The conformance checks every connector passes (built-in or a plug-in's), on its real source.

Valid input arrives as canonical samples (value in the map's unit after scaling, unit, quality,
source time, a rising producer sequence, source id); malformed input and a raw name the map
does not know are rejected with a one-line reason naming where; ``stop`` ends ``run`` within
``STOP_WITHIN_S``.

A connector is driven through a ``ConnectorHarness``: it starts the real source (a broker, a
server, a file), builds the connector under test, and makes the source produce valid,
malformed and unknown input. A plug-in's tests run every check in three lines::

    import pytest
    from andon.testing.conformance.connectors import CHECKS

    @pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
    def test_my_connector_conforms(check, tmp_path):
        check(MyHarness(), tmp_path)

Each check takes a fresh harness and a scratch directory, runs its own event loop
(``asyncio.run``) and fails with ``AssertionError``. ``drive`` runs a connector around a story
of one's own; ``until_collected`` waits (bounded, woken by each arrival) for what a
``CollectingSink`` holds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol, TypeVar

from andon.clock import SystemClock, to_ms
from andon.connectors.base import CollectingSink, Connector
from andon.namespace.sample import Quality
from andon.namespace.topics import TagAddress
from andon.testing.conformance._checks import close
from andon.testing.wait import until

__all__ = [
    "CHECKS",
    "STOP_WITHIN_S",
    "WAIT_S",
    "ConnectorHarness",
    "check_malformed_input_is_rejected",
    "check_stop_ends_run",
    "check_unknown_raw_name_is_rejected",
    "check_valid_points_arrive",
    "drive",
    "until_collected",
]

#: how long ``run`` may take to return once ``stop`` is set
STOP_WITHIN_S = 5.0
#: how long a check waits for input to come through
WAIT_S = 20.0

T = TypeVar("T")


class ConnectorHarness(Protocol):
    """A connector with its real source, as the checks drive it."""

    #: the connector's ``kind``
    kind: str
    #: raw name that the tag map does not know (the reject's ``where`` or reason names it)
    unknown_name: str
    #: the source id the connector's samples carry
    source: str
    #: where the valid input lands
    address: TagAddress
    #: the unit the valid samples carry (the tag map's unit for ``address``)
    unit: str

    def connector(self) -> Connector:
        """The connector under test (built once, inside ``running``)."""
        ...

    async def ready(self) -> None:
        """Wait until the running connector receives input."""
        ...

    async def send_valid(self, value: float, ts_ms: int) -> None:
        """Make the source produce ``value`` (in ``unit``, after scaling) at ``ts_ms``."""
        ...

    async def send_malformed(self) -> None:
        """Make the source produce input that cannot be decoded."""
        ...

    async def send_unknown(self) -> None:
        """Make the source produce a value for ``unknown_name``."""
        ...

    def running(self, tmp_path: Path) -> contextlib.AbstractAsyncContextManager[object]:
        """Start the real source in ``tmp_path`` (and stop it afterwards)."""
        ...


async def until_collected(sink: CollectingSink, condition: Callable[[], T], what: str,
                          timeout_s: float = WAIT_S) -> T:
    """Wait (bounded, woken by every arrival) until ``condition()`` holds; return its value.

    On timeout the message shows the last samples and rejects the sink got.
    """
    return await until(condition, what, timeout_s, wake=sink.arrived,
                       state=lambda: f"samples={sink.samples[-5:]} "
                                     f"rejected={sink.rejected[-5:]}")


def drive(harness: ConnectorHarness, tmp_path: Path,
          story: Callable[[ConnectorHarness, CollectingSink], Awaitable[None]]
          ) -> CollectingSink:
    """Run the connector into a ``CollectingSink`` around ``story``; check it stops in time."""
    sink = CollectingSink()

    async def main() -> None:
        async with harness.running(tmp_path):
            connector = harness.connector()
            assert isinstance(connector, Connector), f"{connector!r} is not a Connector"
            assert connector.kind == harness.kind, (connector.kind, harness.kind)
            stop = asyncio.Event()
            task = asyncio.ensure_future(connector.run(sink, stop))
            try:
                await harness.ready()
                await story(harness, sink)
            finally:
                stop.set()
                try:
                    await asyncio.wait_for(task, STOP_WITHIN_S)
                except TimeoutError:
                    raise AssertionError(f"run() did not return within {STOP_WITHIN_S:g} s "
                                         "of stop being set") from None

    asyncio.run(main())
    return sink


def check_valid_points_arrive(harness: ConnectorHarness, tmp_path: Path) -> None:
    """Valid points arrive as canonical samples, with a rising producer sequence."""
    now = to_ms(SystemClock().now())
    sent = {now + 1: 72.5, now + 2: 73.0}

    async def story(h: ConnectorHarness, sink: CollectingSink) -> None:
        for ts, value in sent.items():
            await h.send_valid(value, ts)
        await until_collected(sink, lambda: {s.ts_ms for s in sink.samples} >= set(sent),
                              "both samples")

    sink = drive(harness, tmp_path, story)
    got = [s for s in sink.samples if s.ts_ms in sent]
    assert close([s.value for s in got], list(sent.values())), (
        f"values {[s.value for s in got]}, sent {list(sent.values())}")
    for s in got:
        assert s.address == harness.address, s
        assert s.unit == harness.unit, s
        assert s.quality is Quality.GOOD, s
        assert s.reason is None, s
        assert s.source == harness.source, s
        assert s.seq >= 0, s
    assert got[0].seq < got[1].seq, "producer sequence must rise"


def check_malformed_input_is_rejected(harness: ConnectorHarness, tmp_path: Path) -> None:
    """Input that cannot be decoded is rejected with a one-line reason naming where."""
    async def story(h: ConnectorHarness, sink: CollectingSink) -> None:
        before = len(sink.rejected)
        await h.send_malformed()
        await until_collected(sink, lambda: len(sink.rejected) > before, "reject")

    sink = drive(harness, tmp_path, story)
    assert sink.rejected
    for r in sink.rejected:
        assert r.where, r
        assert r.reason.strip(), r
        assert "\n" not in r.reason, r


def check_unknown_raw_name_is_rejected(harness: ConnectorHarness, tmp_path: Path) -> None:
    """A raw name the map does not know is rejected naming it; nothing is guessed."""
    async def story(h: ConnectorHarness, sink: CollectingSink) -> None:
        await h.send_unknown()
        await until_collected(sink, lambda: any(h.unknown_name in f"{r.where} {r.reason}"
                                                for r in sink.rejected),
                              "reject naming the raw name")

    sink = drive(harness, tmp_path, story)
    assert all(s.address == harness.address for s in sink.samples), "nothing guessed"


def check_stop_ends_run(harness: ConnectorHarness, tmp_path: Path) -> None:
    """``stop`` ends ``run`` in time, even before any input."""
    async def story(_h: ConnectorHarness, _sink: CollectingSink) -> None:
        return  # drive() sets stop and checks that run() returns within STOP_WITHIN_S

    drive(harness, tmp_path, story)


#: every check, for ``pytest.mark.parametrize``
CHECKS: tuple[Callable[[ConnectorHarness, Path], None], ...] = (
    check_valid_points_arrive,
    check_malformed_input_is_rejected,
    check_unknown_raw_name_is_rejected,
    check_stop_ends_run,
)
