"""``kill -9`` the ``andon edge`` process mid-stream, restart it: nothing durable is lost.

Real processes: our own Mosquitto, the edge as a real ``python -m andon edge --forward``
subprocess (SIGKILLed, then started again on the same store and outbox files), the central
ingest in the test on the same broker, and a producer publishing two PLC sources' samples
with QoS 1.

The edge's intake keeps a persistent QoS 1 session (``andon-in-{edge id}``) and acknowledges
a message to the broker only once its batch was queued in the outbox and written to the
edge's store (``MqttClient(ack_when_handled=True)``). So everything the producer publishes
while the edge process is dead waits at the broker, and what the killed edge had received but
not yet made durable is sent again by the broker: nothing is lost. Produced = recorded at the
edge = stored centrally, each once; the redelivered samples the edge had already recorded are
counted as duplicates by the restarted edge (its store is unique by source and seq), and the
test prints how many (docs/edge.md, "Faults we test").
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO

import pytest

from andon.clock import SystemClock, to_ms
from andon.connectors.mqtt import MqttClient
from andon.edge.heartbeat import EdgeStatus
from andon.edge.status import edge_statuses_from_store
from andon.store import open_store
from andon.testing import MosquittoProcess, until
from andon.testing.mosquitto import need_mosquitto_binary
from edge.faults import SOURCES, CentralSide, tag_message

pytestmark = pytest.mark.mosquitto

SPEC = Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml"


def _edge_process(tmp: Path, broker_url: str) -> subprocess.Popen[bytes]:
    with (tmp / "edge.log").open("ab") as log:  # the child keeps its own descriptor
        return _spawn(tmp, broker_url, log)


def _spawn(tmp: Path, broker_url: str, log: BinaryIO) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
        [sys.executable, "-m", "andon", "edge", "--spec", str(SPEC),
         "--db", f"sqlite:///{tmp / 'edge.db'}", "--models-dir", str(tmp / "models"),
         "--broker", broker_url, "--line", "cooling-water", "--edge-id", "e-kill",
         "--outbox", str(tmp / "edge-outbox.db"), "--heartbeat", "1", "--scoring-stall", "0",
         "--forward"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _births(central: CentralSide) -> set[str]:
    """Sessions of the edge's birth documents the central side has seen."""
    out = set()
    for e in central.store.events(kind="edge_state", limit=1000):
        doc = json.loads(e.detail)
        if doc.get("kind") == "birth":
            out.add(str(doc.get("session")))
    return out


class Producer:
    """Publishes one sample per source every ``every_s`` (QoS 1), source time = wall time."""

    def __init__(self, client: MqttClient, every_s: float = 0.01) -> None:
        self.client, self.every_s = client, every_s
        self.start_ms = to_ms(SystemClock().now())
        self.seq = 0
        self.running = True

    async def run(self) -> None:
        while self.running:
            for source in SOURCES:
                topic, payload = tag_message(source, self.seq, self.start_ms, step_ms=10)
                self.client.publish(topic, payload, qos=1)
            self.seq += 1
            await asyncio.sleep(self.every_s)  # the pace of the stream


def _acknowledged(tmp: Path) -> set[tuple[str, int]]:
    """(source, seq) of every sample the edge made durable (read from its own store file)."""
    store = open_store(f"sqlite:///{tmp / 'edge.db'}")
    try:
        return {(s.source, s.seq) for s in store.samples()}
    finally:
        store.close()


def _restarted_status(central: CentralSide, recorded: int) -> EdgeStatus | None:
    """The edge's status once its heartbeat counts ``recorded`` samples and none pending."""
    [status] = edge_statuses_from_store(central.store)
    counts = status.counts
    if counts.get("recorded") == recorded and counts.get("pending") == 0:
        return status
    return None


async def _kill_and_restart(tmp: Path) -> None:  # noqa: PLR0915 - one story, in order
    broker = MosquittoProcess(tmp)
    broker.start()
    central = CentralSide.open(tmp / "central.db")
    await central.start(broker.url)
    pub = MqttClient(broker.url, "producer", auto_reconnect=False)
    await pub.connect()
    producer = Producer(pub)
    edge = _edge_process(tmp, broker.url)
    feeding = None
    try:
        await until(lambda: len(_births(central)) == 1, "the edge's birth", 60)
        feeding = asyncio.create_task(producer.run())
        await until(lambda: central.ingest.stats.samples >= 200, "samples at the central side",
                    60)
        edge.send_signal(signal.SIGKILL)  # mid-stream: no goodbye, no last flush
        await asyncio.to_thread(edge.wait, 30)
        dead_from = producer.seq  # from here on published while no edge process runs
        acked_before = _acknowledged(tmp)
        assert acked_before, "the edge had made samples durable before it was killed"

        edge = _edge_process(tmp, broker.url)  # same store, same outbox
        await until(lambda: len(_births(central)) == 2, "the restarted edge's birth", 60)
        resumed = producer.seq
        assert resumed - dead_from >= 10, "samples were published while the edge was dead"
        await until(lambda: producer.seq >= resumed + 200, "more samples after the restart", 60)
        producer.running = False
        await feeding
        last = producer.seq - 1
        wanted = {(source, last) for source in SOURCES}
        await until(lambda: wanted <= _acknowledged(tmp), "the edge to record the last ones", 60)
        await until(lambda: central.ingest.stats.held == 0 and _acknowledged(tmp) <= {
                    (s.source, s.seq) for s in central.store.samples()},
                    "the central side to have all the edge acknowledged", 60, every_s=0.2)

        acked = _acknowledged(tmp)
        central_has = {(s.source, s.seq) for s in central.store.samples()}
        produced = {(src, q) for src in SOURCES for q in range(last + 1)}
        since_kill = {(src, q) for src, q in produced if q >= dead_from}
        assert since_kill <= acked, "what was published while the edge was dead is recorded"
        assert since_kill <= central_has, "and reaches the central side"
        assert acked_before <= central_has, "nothing acknowledged before the kill is lost"
        # what the killed edge had received but not made durable came again from the broker
        assert acked == produced, ("recorded at the edge", sorted(produced - acked)[:20])
        assert central_has == produced, ("stored centrally", sorted(produced - central_has)[:20])
        duplicated = central.store.sample_count() - len(central_has)
        assert duplicated == 0, "nothing duplicated"
        assert central.in_order()
        # published before the edge died, not durable then, recorded by the restarted edge (what
        # gmqtt's acknowledgement on receipt lost before); and the restarted edge's own count of
        # the redelivered samples it already had, from a heartbeat covering all it recorded
        recovered = sum(1 for _, seq in acked - acked_before if seq < dead_from)
        since_restart = len(acked) - len(acked_before)
        status = await until(lambda: _restarted_status(central, since_restart),
                             "a heartbeat of the restarted edge covering all it recorded", 30,
                             every_s=0.2)
        assert status is not None
        print("FAULT edge killed:", {  # noqa: T201 - the fault table's figures
            "produced": len(produced), "published_while_dead": len(SOURCES) * (resumed - dead_from),
            "edge": len(acked), "central": len(central_has), "lost": len(produced - central_has),
            "duplicated": duplicated, "recovered_from_kill_window": recovered,
            "redelivered_duplicates": status.counts["duplicates"],
            "resent": status.resent, "skipped_at_central": central.ingest.stats.duplicates})
    finally:
        producer.running = False
        if feeding is not None:
            await asyncio.wait_for(feeding, 10)
        if edge.poll() is None:
            edge.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(edge.wait, 30)
            except subprocess.TimeoutExpired:
                edge.kill()
                edge.wait(10)
        await pub.disconnect()
        await central.close()
        broker.stop()


def test_kill_9_the_edge_and_restart_it_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    need_mosquitto_binary()
    asyncio.run(_kill_and_restart(tmp_path))
