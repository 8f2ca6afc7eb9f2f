"""OPC UA client: status codes → quality, reconnect after the server is killed, history back-fill.

Every test starts a real asyncua server on a free loopback port (history in SQLite). The
client reaches it through a ``Link`` (a TCP relay) where a test needs to decide when the
client may come back; the server itself is stopped and started again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asyncua import ua

from andon.clock import to_ms
from andon.connectors.base import CollectingSink
from andon.connectors.opcua import OpcUaConnector
from andon.errors import ConnectorError
from andon.namespace.sample import Quality
from andon.namespace.tagmap import TagBinding, TagMap
from andon.namespace.topics import TagAddress
from andon.testing.conformance.connectors import until_collected

from .opcua_server import Link, OpcUaTestServer

TEMP = TagAddress("acme", "porto", "press", "l1", "p-101", "bearing_temp")
FLOW = TagAddress("acme", "porto", "press", "l1", "p-101", "flow")


def ms(t: datetime) -> int:
    return to_ms(t)


def run(story: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(story(), 120))


def test_status_codes_become_quality_with_the_status_name_as_reason(tmp_path: Path) -> None:
    async def story() -> None:
        server = OpcUaTestServer(str(tmp_path / "h.db"), ["temp"])
        await server.start(initial=20.0)
        tagmap = TagMap.of([TagBinding(server.node_id("temp"), TEMP, "degC")])
        connector = OpcUaConnector(server.url, tagmap)
        sink = CollectingSink()
        stop = asyncio.Event()
        task = asyncio.ensure_future(connector.run(sink, stop))
        try:
            await asyncio.wait_for(connector.ready.wait(), 20)
            t = datetime.now(UTC)
            await server.write("temp", 21.0, t + timedelta(milliseconds=1))
            await server.write("temp", 22.0, t + timedelta(milliseconds=2),
                               ua.StatusCodes.UncertainLastUsableValue)
            await server.write("temp", 23.0, t + timedelta(milliseconds=3),
                               ua.StatusCodes.BadSensorFailure)
            await until_collected(
                sink, lambda: any(s.quality is Quality.BAD for s in sink.samples), "bad value")
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)
            await server.stop()
        got = [(s.value, s.quality, s.reason, s.ts_ms) for s in sink.samples]
        assert got[-3:] == [
            (21.0, Quality.GOOD, None, ms(t) + 1),
            (22.0, Quality.UNCERTAIN, "UncertainLastUsableValue", ms(t) + 2),
            # a Bad status carries no value (OPC UA): the last value, marked bad
            (22.0, Quality.BAD, "BadSensorFailure", ms(t) + 3),
        ]

    run(story)


def test_reconnects_after_a_server_restart_and_backfills_the_gap_once(  # noqa: PLR0915
        tmp_path: Path) -> None:  # (one story, told in order)
    """The server is killed and restarted; while the client cannot reach it, the server keeps
    recording. Back on line, the client reads the gap from history, then live values: every
    value exactly once, in order; the node without history is skipped with a reason."""
    async def story() -> None:  # noqa: PLR0915 - one story, told in order
        server = OpcUaTestServer(str(tmp_path / "h.db"), ["temp", "flow"],
                                 no_history=("flow",))
        await server.start(initial=20.0)
        link = Link(server.port)
        await link.up()
        tagmap = TagMap.of([TagBinding(server.node_id("temp"), TEMP, "degC"),
                            TagBinding(server.node_id("flow"), FLOW, "m3/h")])
        connector = OpcUaConnector(link.url(), tagmap, min_backoff_s=0.05, max_backoff_s=0.2,
                                   watchdog_s=0.3)
        sink = CollectingSink()
        stop = asyncio.Event()
        task = asyncio.ensure_future(connector.run(sink, stop))
        try:
            await asyncio.wait_for(connector.ready.wait(), 20)
            t = datetime.now(UTC)
            await server.write("temp", 21.0, t)
            await server.write("flow", 5.0, t)
            await until_collected(sink, lambda: len(sink.samples) >= 4, "live values")

            await link.down()
            await server.stop()  # killed...
            await until_collected(sink, lambda: not connector.ready.is_set(), "the loss noticed")
            await server.start(initial=21.0)  # ...and back, restoring its last value
            gap = [datetime.now(UTC) + timedelta(milliseconds=k) for k in (10, 20, 30)]
            for k, when in enumerate(gap):
                await server.write("temp", 30.0 + k, when)
            await server.write("flow", 6.0, gap[-1])
            await server.history_has("temp", gap)
            await link.up()
            await asyncio.wait_for(connector.ready.wait(), 20)
            after = gap[-1] + timedelta(milliseconds=10)
            await server.write("temp", 40.0, after)
            await until_collected(sink, lambda: any(s.value == 40.0 for s in sink.samples),
                                  "live value")
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)
            await link.down()
            await server.stop()

        temps = [(s.value, s.ts_ms) for s in sink.samples if s.address == TEMP]
        gap_values = [(30.0 + k, ms(w)) for k, w in enumerate(gap)]
        assert [v for v in temps if v in gap_values] == gap_values, "gap back-filled once"
        assert temps[-1] == (40.0, ms(after))
        assert len(temps) == len(set(temps)), f"no duplicates: {temps}"
        assert [ts for _, ts in temps] == sorted(ts for _, ts in temps)
        assert connector.stats.connects == 2
        assert connector.stats.backfilled >= len(gap)
        notes = {n.node: n for n in connector.backfill_log}
        assert notes[server.node_id("temp")].values >= len(gap)
        assert notes[server.node_id("temp")].skipped is None
        flow = notes[server.node_id("flow")]
        assert flow.values == 0
        assert flow.skipped, "a node without history is skipped with the server's reason"
        seqs = [s.seq for s in sink.samples]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == len(seqs)

    run(story)


def test_server_down_at_start_is_retried_until_it_comes_up(tmp_path: Path) -> None:
    async def story() -> None:
        server = OpcUaTestServer(str(tmp_path / "h.db"), ["temp"])
        tagmap = TagMap.of([TagBinding(server.node_id("temp"), TEMP, "degC")])
        connector = OpcUaConnector(server.url, tagmap, min_backoff_s=0.05, max_backoff_s=0.2)
        sink = CollectingSink()
        stop = asyncio.Event()
        task = asyncio.ensure_future(connector.run(sink, stop))
        try:
            await asyncio.sleep(0)  # the first attempt fails: nothing listens yet
            assert not connector.ready.is_set()
            await server.start(initial=12.5)
            await until_collected(sink, lambda: len(sink.samples) >= 1, "the initial value")
            assert sink.samples[0].value == 12.5
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)
            await server.stop()

    run(story)


def test_a_map_entry_that_is_not_a_node_id_is_left_to_other_connectors() -> None:
    tagmap = TagMap.of([TagBinding("ns=2;i=5", TEMP, "degC"),
                        TagBinding("PLC2.DB10.W4", FLOW, "m3/h")])
    assert OpcUaConnector("opc.tcp://127.0.0.1:4840", tagmap).nodes == ["ns=2;i=5"]
    with pytest.raises(ConnectorError, match=r"opc\.tcp://host"):
        OpcUaConnector("http://x", tagmap)
