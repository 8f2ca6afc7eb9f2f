"""The UNS connector as the edge's intake: a ``BatchSink`` gets raw socket reads, in order.

The conformance suite runs ``UnsConnector`` into a ``CollectingSink`` (it decodes each
message); here the same connector runs into a sink that decodes itself, as the edge's ingest
does: every message arrives once, in publish order, as batches of raw (topic, payload), and
nothing is decoded on the way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from andon.clock import ManualClock
from andon.connectors.base import BatchSink, CollectingSink
from andon.connectors.mqtt import MqttClient
from andon.connectors.uns import UnsConnector
from andon.edge import build_edge
from andon.namespace.sample import Sample
from andon.spec import PlantSpec
from andon.store import SqlStore
from andon.testing import need, unique_id, until
from andon.testing.factories import T0

from .harness import SHARED_BROKER, WAIT_S

MESSAGES = 200


class RawBatches(CollectingSink):
    """A ``BatchSink`` that keeps the batches it is handed (and fails on a decoded sample)."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[tuple[str, bytes]]] = []

    def on_messages(self, messages: Sequence[tuple[str, bytes]]) -> None:
        self.batches.append(list(messages))
        self.arrived.set()

    def on_sample(self, sample: Sample, topic: str | None = None,
                  payload: bytes | None = None) -> None:
        raise AssertionError(f"a batch sink must get raw messages, got {sample} from "
                             f"{topic} ({payload!r:.40})")

    @property
    def messages(self) -> list[tuple[str, bytes]]:
        return [m for batch in self.batches for m in batch]


def test_a_batch_sink_gets_every_read_raw_and_in_order() -> None:
    need("Mosquitto", "127.0.0.1", 1883)
    root = f"andon/v1/{unique_id('t')}"
    sink = RawBatches()
    assert isinstance(sink, BatchSink)
    sent = [(f"{root}/s/a/l/p-{i % 3}/t", b'{"n": %d}' % i) for i in range(MESSAGES)]

    async def main() -> None:
        connector = UnsConnector(SHARED_BROKER, [f"{root}/#"])
        stop = asyncio.Event()
        task = asyncio.ensure_future(connector.run(sink, stop))
        pub = MqttClient(SHARED_BROKER)
        await pub.connect()
        try:
            await asyncio.wait_for(connector.ready.wait(), 20)
            for topic, payload in sent:
                pub.publish(topic, payload)
            await until(lambda: len(sink.messages) >= MESSAGES, "every message", WAIT_S,
                        wake=sink.arrived)
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)
            await pub.disconnect()

    asyncio.run(main())
    assert sink.messages == sent
    assert sink.rejected == []


def test_the_edge_ingest_is_a_batch_sink(demo_spec: PlantSpec, store: SqlStore,
                                         tmp_path: Path) -> None:
    edge = build_edge(demo_spec, store, tmp_path, clock=ManualClock(T0))
    assert isinstance(edge.ingest, BatchSink)
    assert isinstance(edge, BatchSink)
    assert not isinstance(CollectingSink(), BatchSink)
