"""Mosquitto stopped for 60 s mid-stream: the central store gets everything exactly once.

Real processes: our own Mosquitto (``MosquittoProcess``), the edge (``run_edge`` with
forwarding) and the central ingest (``run_central``) on it, each with its own SQLite store.
Two PLC sources feed the edge directly (as an OPC UA connector would), so samples keep coming
while the broker is down; the edge keeps deciding (interventions) too. The broker stays down
for the issue's literal 60 s (after the waits for the outage to be seen and for enough traffic
to be produced during it); then every sample and intervention produced during the outage
must reach the central store exactly once, in order per source.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from andon.clock import ManualClock
from andon.connectors import ReconnectPolicy
from andon.edge import Edge, LinkState, Outbox, Uplink, build_edge, run_edge
from andon.spec import PlantSpec
from andon.store import open_store
from andon.testing import MosquittoProcess, until
from andon.testing.factories import make_intervention
from andon.testing.mosquitto import need_mosquitto_binary
from edge.faults import (
    SOURCES,
    T0,
    CentralSide,
    clock_at,
    stop_stream,
    tag_message,
)

pytestmark = pytest.mark.mosquitto

OUTAGE_S = 60.0
DURING = 300  # samples (all sources) that must be produced during the outage, at least


class Producer:
    """Feeds the edge one sample per source every ``every_s``, one intervention per 50."""

    def __init__(self, edge: Edge, clock: ManualClock, every_s: float = 0.01) -> None:
        self.edge, self.clock, self.every_s = edge, clock, every_s
        self.seq = 0
        self.samples = 0
        self.ivs: list[str] = []
        self.running = True

    async def run(self) -> None:
        while self.running:
            clock_at(self.clock, self.seq)
            for source in SOURCES:
                self.edge.on_message(*tag_message(source, self.seq))
                self.samples += 1
            if self.seq % 50 == 25:
                intervention_id = f"rec-{self.seq}"
                self.edge.emit(make_intervention(intervention_id, asset=SOURCES["plc-a"]))
                self.ivs.append(intervention_id)
            self.seq += 1
            await asyncio.sleep(self.every_s)  # the pace of the stream, not a wait for a result


async def _outage(spec: PlantSpec, tmp: Path) -> None:  # noqa: PLR0915 - one story, in order
    broker = MosquittoProcess(tmp)
    broker.start()
    central = CentralSide.open(tmp / "central.db")
    edge_store = open_store(f"sqlite:///{tmp / 'edge.db'}")
    clock = ManualClock(T0)
    edge = build_edge(spec, edge_store, tmp / "models", clock=clock, lines={"cooling-water"})
    outbox = Outbox(tmp / "edge-outbox.db", capacity=100_000)
    producer = Producer(edge, clock)
    stop = asyncio.Event()
    await central.start(broker.url)
    task = asyncio.create_task(run_edge(
        edge, broker.url, stop, edge_id="e-60s", outbox=outbox, heartbeat_s=1.0,
        flush_every_s=0.2, replay_batch=20, backoff=ReconnectPolicy(base_s=120.0, cap_s=120.0),
        forward=True))
    feeding = None
    try:
        await until(lambda: edge.stats.link.state is LinkState.ONLINE, "the edge online")
        feeding = asyncio.create_task(producer.run())
        await until(lambda: central.ingest.stats.samples >= 40, "samples at the central side")

        await asyncio.to_thread(broker.stop)
        stopped = time.monotonic()
        await until(lambda: edge.stats.link.state is LinkState.BUFFERING, "buffering")
        await until(lambda: not central.ready.is_set(), "the ingest to see the outage")
        before = producer.samples
        await until(lambda: producer.samples - before >= DURING and len(producer.ivs) >= 3,
                    f"{DURING} samples produced during the outage")
        assert edge.stats.link.state is LinkState.BUFFERING
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped)))  # the 60 s
        during = producer.samples - before
        assert during > DURING
        assert edge.stats.link.buffer_depth > 0

        await asyncio.to_thread(broker.start)  # same port
        await asyncio.wait_for(central.ready.wait(), 30)  # resubscribed before the replay
        uplink = edge.outbound
        assert isinstance(uplink, Uplink)
        uplink.retry_now()
        await until(lambda: edge.stats.link.state is LinkState.ONLINE, "online again", 60)
        producer.running = False
        await feeding
        await until(lambda: outbox.depth() == 0 and not edge.recorder.samples, "an empty outbox",
                    60)
        await until(lambda: central.store.sample_count() == producer.samples,
                    "every sample at the central side", 60)
        await until(lambda: central.ingest.stats.held == 0, "nothing held back")

        # exactly once, in order per source
        assert central.store.sample_count() == producer.samples == edge_store.sample_count()
        per_source = producer.seq
        for source in SOURCES:
            assert central.sample_seqs(source) == list(range(per_source)), source
        assert central.in_order(), "each source's items were written in seq order, once"
        ids = sorted(r.id for r in central.store.list_interventions(open_only=False,
                                                                      limit=10_000))
        assert ids == sorted(producer.ivs), "every intervention exactly once"
        stats = edge.stats.link
        assert stats.dropped == {}
        assert stats.replayed > 0
        assert central.ingest.stats.missing == 0
        assert central.ingest.stats.rejected == 0
        print("FAULT broker down 60 s:", {  # noqa: T201 - the fault table's figures
            "produced": producer.samples, "during": during, "edge": edge_store.sample_count(),
            "central": central.store.sample_count(), "replayed": stats.replayed,
            "resent": stats.resent, "interventions": len(producer.ivs)})
    finally:
        await stop_stream(producer, feeding, stop, task)
        await central.close()
        broker.stop()
        edge_store.close()
        outbox.close()


def test_broker_down_60_s_every_sample_and_intervention_arrives_once_in_order(
        demo_spec: PlantSpec, tmp_path: Path) -> None:
    need_mosquitto_binary()
    asyncio.run(_outage(demo_spec, tmp_path))
