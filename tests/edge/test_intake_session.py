"""The edge's intake keeps a persistent session: QoS 1 samples published while the edge is
down reach it when it is back, once each.

Our own Mosquitto; the edge runs (``run_edge``), is stopped, a PLC gateway publishes with
QoS 1 while nobody listens, and a new edge process-state (a fresh ``Edge`` on the same store,
the same edge id) starts: every sample is recorded. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from andon.clock import ManualClock
from andon.connectors.mqtt import MqttClient
from andon.edge import Outbox, build_edge, run_edge
from andon.spec import PlantSpec
from andon.store import open_store
from andon.testing import MosquittoProcess, until
from andon.testing.mosquitto import need_mosquitto_binary
from edge.faults import T0, clock_at, tag_message

pytestmark = pytest.mark.mosquitto

DOWN = 150  # samples published while the edge is down


async def _story(spec: PlantSpec, tmp: Path) -> tuple[int, int, list[int]]:
    broker = MosquittoProcess(tmp)
    broker.start()
    store = open_store(f"sqlite:///{tmp / 'edge.db'}")
    clock = ManualClock(T0)
    plc = MqttClient(broker.url, "plc-a-gateway")
    try:
        await plc.connect()

        async def edge_run() -> tuple[asyncio.Event, asyncio.Task[None], object]:
            edge = build_edge(spec, store, tmp / "models", clock=clock, lines={"cooling-water"})
            stop = asyncio.Event()
            task = asyncio.create_task(run_edge(edge, broker.url, stop, edge_id="e-session",
                                                outbox=Outbox(tmp / "outbox.db"),
                                                flush_every_s=0.1))
            await until(lambda: edge.intake is not None and edge.intake.ready.is_set(),
                        "the intake subscribed", 30)
            return stop, task, edge

        stop, task, _ = await edge_run()  # the session exists from here on
        for seq in range(50):  # while it runs
            clock_at(clock, seq)
            plc.publish(*tag_message("plc-a", seq), qos=1)
        await until(lambda: store.sample_count() == 50, "the first 50 recorded", 30)
        stop.set()
        await asyncio.wait_for(task, 30)

        for seq in range(50, 50 + DOWN):  # nobody listening
            plc.publish(*tag_message("plc-a", seq), qos=1)
        await plc.subscribed()  # a round trip: the broker has them all
        clock_at(clock, 50 + DOWN)
        stop, task, edge = await edge_run()
        await until(lambda: store.sample_count() == 50 + DOWN, "the samples sent while the "
                    "edge was down recorded", 30,
                    state=lambda: (store.sample_count(), edge.stats))  # type: ignore[attr-defined]
        stop.set()
        await asyncio.wait_for(task, 30)
        seqs = sorted(s.seq for s in store.samples() if s.source == "plc-a")
        return store.sample_count(), 50 + DOWN, seqs
    finally:
        await plc.disconnect()
        broker.stop()
        store.close()


def test_qos1_samples_sent_while_the_edge_is_down_are_recorded_when_it_is_back(
        demo_spec: PlantSpec, tmp_path: Path) -> None:
    need_mosquitto_binary()
    stored, produced, seqs = asyncio.run(_story(demo_spec, tmp_path))
    assert stored == produced
    assert seqs == list(range(produced)), "every sample once"
