"""``kill -9`` of the central ingest (``andon serve --broker``), mid-stream and during a broker
outage: the central store gets every sample and intervention exactly once.

Real processes: our own Mosquitto (no persistence), the central side as the production entry
point (``python -m andon serve --broker URL``: the API, the sinks and the central ingest with
its persistent session ``andon-central-acme`` and its ledger file), SIGKILLed and started
again on the same store and ledger, and the edge (``run_edge`` with forwarding, so consumer
acknowledgement) fed by two PLC sources directly, so samples keep coming throughout.

1. **mid-stream**: the ingest is killed while the edge forwards; what arrives meanwhile waits
   in its session at the broker, what it had received but not written (gmqtt acknowledges on
   receipt) the edge sends again for want of an acknowledgement;
2. **during a broker outage**: the broker stops, the ingest is killed while it is down, the
   broker comes back (its sessions gone), the edge reconnects and sends what is
   unacknowledged, and the ingest starts only then; what the broker had no session for is
   sent again after the acknowledgement timeout.

After each: produced = recorded at the edge = stored centrally, 0 duplicated, the edge's
outbox empty. Every wait is on a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from andon.clock import ManualClock, to_ms
from andon.connectors.mqtt import MqttClient
from andon.connectors.reconnect import ReconnectPolicy
from andon.edge import Forwarder, LinkState, Outbox, Uplink, build_edge, run_edge
from andon.namespace.sample import Quality, Sample
from andon.namespace.topics import TagAddress
from andon.services.central import CentralIngest, Sequencer, run_central
from andon.spec import PlantSpec
from andon.store import SqlStore, open_store
from andon.testing import MosquittoProcess, free_port, until
from andon.testing.mosquitto import need_mosquitto_binary
from edge.faults import SOURCES, T0, OutboxSender, Producer, stop_stream

pytestmark = pytest.mark.mosquitto

SPEC = Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml"
DURING = 200  # samples (all sources) produced while the ingest is dead, at least
ADDRESS = TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101", "vibration")


class CentralProcess:
    """``python -m andon serve --broker URL`` on a store and ledger that outlive it."""

    def __init__(self, tmp: Path, broker_url: str) -> None:
        self.tmp, self.broker_url = tmp, broker_url
        self.db = f"sqlite:///{tmp / 'central.db'}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        with (self.tmp / "central.log").open("ab") as log:  # the child keeps its descriptor
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
                [sys.executable, "-m", "andon", "serve", "--spec", str(SPEC), "--db", self.db,
                 "--models-dir", str(self.tmp / "models"), "--ledger",
                 str(self.tmp / "ledger.db"), "--broker", self.broker_url, "--port",
                 str(free_port())],
                stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)  # no clean-up of any kind
        await asyncio.to_thread(self.proc.wait, 30)
        self.kills += 1

    async def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, 30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def _figures(store: SqlStore, producer: Producer, edge_store: SqlStore) -> dict[str, int]:
    """Produced, recorded at the edge, stored centrally, duplicated centrally."""
    samples = store.samples()
    return {"produced": producer.samples, "edge": edge_store.sample_count(),
            "central": len(samples),
            "duplicated": len(samples) - len({(s.source, s.seq) for s in samples})}


async def _story(spec: PlantSpec, tmp: Path, *, during_outage: bool) -> dict[str, int]:  # noqa: PLR0915
    broker = MosquittoProcess(tmp)
    broker.start()
    central_store = open_store(f"sqlite:///{tmp / 'central.db'}")  # migrated before serve opens it
    central = CentralProcess(tmp, broker.url)
    clock = ManualClock(T0)
    edge_store = open_store(f"sqlite:///{tmp / 'edge.db'}")
    edge = build_edge(spec, edge_store, tmp / "models", clock=clock, lines={"cooling-water"})
    outbox = Outbox(tmp / "edge-outbox.db", capacity=100_000)
    producer = Producer(edge, clock)
    stop = asyncio.Event()
    task = asyncio.create_task(run_edge(
        edge, broker.url, stop, edge_id="e-kill-central", outbox=outbox, heartbeat_s=1.0,
        flush_every_s=0.2, backoff=ReconnectPolicy(base_s=0.2, cap_s=0.5), forward=True,
        ack_timeout_s=2.0))  # what the killed ingest took but never wrote comes again
    link = edge.stats.link
    feeding = None
    try:
        central.start()
        await until(lambda: link.state is LinkState.ONLINE, "the edge online", 30)
        feeding = asyncio.create_task(producer.run())
        await until(lambda: link.acked >= 20, "the central ingest acknowledging", 60,
                    state=lambda: (link, central.proc and central.proc.poll()))

        if during_outage:
            await asyncio.to_thread(broker.stop)
            await until(lambda: link.state is LinkState.BUFFERING, "the edge buffering", 30)
        await central.kill()
        before = producer.samples
        await until(lambda: producer.samples - before >= DURING,
                    f"{DURING} samples produced while the ingest is dead", 30)
        if during_outage:
            await asyncio.to_thread(broker.start)  # a fresh broker: no session of the ingest
            uplink = edge.outbound
            assert isinstance(uplink, Uplink)
            uplink.retry_now()
            await until(lambda: link.state is not LinkState.BUFFERING, "the edge reconnected",
                        30)
            # sent again on reconnect, with nobody subscribed: dropped by the broker
            await until(lambda: link.published > 0 and link.unacked > 0,
                        "the backlog sent while no ingest listens", 30)
        else:
            assert link.unacked > 0, "the edge keeps what the dead ingest did not acknowledge"
        central.start()  # same store, same ledger, same session name
        producer.running = False
        await feeding
        await until(lambda: not edge.recorder.samples and outbox.depth() == 0,
                    "the edge's outbox empty (all acknowledged)", 90,
                    state=lambda: (outbox.depth(), link))
        await until(lambda: central_store.sample_count() == producer.samples,
                    "every sample stored centrally", 30,
                    state=lambda: _figures(central_store, producer, edge_store))

        figures = {**_figures(central_store, producer, edge_store), "resent": link.resent}
        for source in SOURCES:
            seqs = sorted(s.seq for s in central_store.samples() if s.source == source)
            assert seqs == list(range(producer.seq)), f"{source}: each sample once"
        ids = sorted(r.id for r in central_store.list_interventions(open_only=False,
                                                                      limit=10_000))
        assert ids == sorted(producer.ivs), "every intervention once"
        assert link.dropped == {}
        assert central.kills == 1
        print(f"FAULT central killed{' during a broker outage' if during_outage else ''}:",  # noqa: T201
              figures)
        return figures
    finally:
        await stop_stream(producer, feeding, stop, task)
        await central.close()
        broker.stop()
        central_store.close()
        edge_store.close()
        outbox.close()


@pytest.mark.parametrize("during_outage", [False, True], ids=["mid-stream", "broker-down"])
def test_kill_9_of_the_central_ingest_loses_and_duplicates_nothing(
        demo_spec: PlantSpec, tmp_path: Path, during_outage: bool) -> None:
    need_mosquitto_binary()
    figures = asyncio.run(_story(demo_spec, tmp_path, during_outage=during_outage))
    assert figures["produced"] == figures["edge"] == figures["central"]
    assert figures["duplicated"] == 0


async def _started_during_outage(tmp: Path) -> int:
    broker = MosquittoProcess(tmp)  # not running yet
    store = open_store(f"sqlite:///{tmp / 'central.db'}")
    ingest = CentralIngest(store, ManualClock(T0), sequencer=Sequencer(tmp / "ledger.db"))
    stop, ready = asyncio.Event(), asyncio.Event()
    backoff = ReconnectPolicy(base_s=0.2, cap_s=0.5)
    task = asyncio.create_task(run_central(ingest, broker.url, stop, enterprise="acme",
                                           connected=ready, session="andon-central-acme",
                                           backoff=backoff))
    box = Outbox(":memory:")
    pub = MqttClient(broker.url, "edge-like")
    try:
        await until(lambda: backoff.attempts >= 2 or task.done(), "attempts on a dead broker", 30)
        assert not task.done(), "the ingest keeps trying while the broker is down"
        await asyncio.to_thread(broker.start)
        await asyncio.wait_for(ready.wait(), 30)
        Forwarder(OutboxSender(box), "acme", "e-late").forward(
            [Sample(ADDRESS, 2.0, "mm/s", Quality.GOOD, to_ms(T0) + s, s, "plc-a")
             for s in range(3)], [])
        await pub.connect()
        for item in box.pending(10):
            pub.publish(item.topic, item.payload, qos=1)
        await until(lambda: store.sample_count() == 3, "the samples stored", 30)
        return store.sample_count()
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await pub.disconnect()
        broker.stop()
        store.close()
        box.close()


def test_a_central_ingest_started_while_the_broker_is_down_subscribes_once_it_is_up(
        tmp_path: Path) -> None:
    """It used to end at once with ConnectionError, ``andon serve`` serving on without it."""
    need_mosquitto_binary()
    assert asyncio.run(_started_during_outage(tmp_path)) == 3
