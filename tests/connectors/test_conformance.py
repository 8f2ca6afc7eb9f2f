"""The one conformance suite every connector passes (``andon.connectors.base``).

Per connector, against its real source: valid input arrives as canonical samples (value in the
map's unit after scaling, unit, quality, source time, a rising producer sequence, source id);
malformed input and a raw name the map does not know are rejected with a one-line reason
naming where; ``stop`` ends ``run`` within a bounded time. Add a connector by adding its
harness to ``harness.HARNESSES``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from andon.clock import SystemClock, to_ms
from andon.connectors.base import CollectingSink, Connector
from andon.namespace.sample import Quality

from .harness import HARNESSES, UNIT, Harness, until

STOP_WITHIN_S = 5.0


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest) -> Harness:
    return HARNESSES[request.param]()


def drive(harness: Harness, tmp_path: Path,
          story: Callable[[Harness, CollectingSink], Awaitable[None]]) -> CollectingSink:
    """Run the connector into a ``CollectingSink`` around ``story``; check it stops in time."""
    sink = CollectingSink()

    async def main() -> None:
        async with harness.running(tmp_path):
            connector = harness.connector()
            assert isinstance(connector, Connector)
            assert connector.kind == harness.kind
            stop = asyncio.Event()
            task = asyncio.ensure_future(connector.run(sink, stop))
            try:
                await harness.ready()
                await story(harness, sink)
            finally:
                stop.set()
                await asyncio.wait_for(task, STOP_WITHIN_S)

    asyncio.run(main())
    return sink


def test_valid_points_arrive_as_canonical_samples(harness: Harness, tmp_path: Path) -> None:
    now = to_ms(SystemClock().now())
    sent = {now + 1: 72.5, now + 2: 73.0}

    async def story(h: Harness, sink: CollectingSink) -> None:
        for ts, value in sent.items():
            await h.send_valid(value, ts)
        await until(sink, lambda: {s.ts_ms for s in sink.samples} >= set(sent),
                    "both samples")

    sink = drive(harness, tmp_path, story)
    got = [s for s in sink.samples if s.ts_ms in sent]
    assert [s.value for s in got] == pytest.approx(list(sent.values()))
    for s in got:
        assert s.address == harness.address
        assert s.unit == UNIT
        assert s.quality is Quality.GOOD
        assert s.reason is None
        assert s.source == harness.source
        assert s.seq >= 0
    assert got[0].seq < got[1].seq, "producer sequence must rise"


def test_malformed_input_is_rejected_with_a_reason(harness: Harness, tmp_path: Path) -> None:
    async def story(h: Harness, sink: CollectingSink) -> None:
        before = len(sink.rejected)
        await h.send_malformed()
        await until(sink, lambda: len(sink.rejected) > before, "reject")

    sink = drive(harness, tmp_path, story)
    assert sink.rejected
    for r in sink.rejected:
        assert r.where
        assert r.reason.strip()
        assert "\n" not in r.reason


def test_unknown_raw_name_is_rejected_naming_it(harness: Harness, tmp_path: Path) -> None:
    async def story(h: Harness, sink: CollectingSink) -> None:
        await h.send_unknown()
        await until(sink, lambda: any(h.unknown_name in f"{r.where} {r.reason}"
                                      for r in sink.rejected), "reject naming the raw name")

    sink = drive(harness, tmp_path, story)
    assert all(s.address == harness.address for s in sink.samples), "nothing guessed"


def test_stop_ends_run_even_before_any_input(harness: Harness, tmp_path: Path) -> None:
    async def story(_h: Harness, _sink: CollectingSink) -> None:
        return  # drive() sets stop and asserts run() returns within STOP_WITHIN_S

    drive(harness, tmp_path, story)
