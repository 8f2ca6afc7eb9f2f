"""A node of a clustered broker is killed mid-stream: nothing lost, nothing doubled.

Real parts: a three-node NATS cluster with JetStream and its MQTT gateway
(``andon.testing.nats.NatsCluster``: sessions and QoS 1 messages replicated on the three
nodes), a PLC gateway publishing samples of two sources with QoS 1 on a persistent session,
the edge (``run_edge`` with forwarding: persistent QoS 1 intake session, consumer-acknowledged
uplink) and the central ingest (``run_central``, persistent session, ledger file), each with
its own SQLite store. Every client is given the same failover list of the three nodes, so all
of them sit on the first node; it is killed with SIGKILL while the gateway publishes. Each
client reconnects by the reconnect policy to another node, where the cluster has its session.

Then: produced = recorded at the edge = stored centrally, every sequence number exactly once
per source, every client on another node. Every wait is on a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from andon.clock import ManualClock
from andon.connectors import MqttClient, ReconnectPolicy
from andon.edge import LinkState, Outbox, Uplink, build_edge, run_edge
from andon.spec import PlantSpec
from andon.store import open_store
from andon.testing import NatsCluster, unique_id, until
from andon.testing.nats import NATS_SERVER
from edge.faults import SOURCES, T0, Central, clock_at, tag_message

pytestmark = pytest.mark.nats

BEFORE = 150  # samples of each source published before the kill, at least
AFTER = 150  # and after the clients are back


class Gateway:
    """A PLC gateway: one sample per source per step, QoS 1, on a persistent session."""

    def __init__(self, url: str, clock: ManualClock) -> None:
        # a short connect timeout: after a node loss a NATS 2.9 node may leave a CONNECT of
        # this session unanswered for good while another node takes it (docs/brokers.md)
        self.client = MqttClient(url, f"plc-gw-{unique_id()}", persistent=True,
                                 reconnect=ReconnectPolicy(base_s=0.1, cap_s=0.5),
                                 connect_timeout_s=5.0)
        self.clock = clock
        self.seq = 0
        self.running = True

    @property
    def produced(self) -> int:
        return self.seq * len(SOURCES)

    async def run(self) -> None:
        while self.running:
            # it holds its samples while disconnected; what was in flight at the kill the
            # client sends again (its QoS 1 messages not acknowledged) once reconnected
            await asyncio.wait_for(self.client.connected.wait(), 120)
            clock_at(self.clock, self.seq)
            for source in SOURCES:
                self.client.publish(*tag_message(source, self.seq), qos=1)
            self.seq += 1
            await asyncio.sleep(0.005)  # the pace of the stream, not a wait for a result


async def _story(spec: PlantSpec, tmp: Path) -> dict[str, object]:  # noqa: PLR0915 - in order
    cluster = NatsCluster(tmp / "nats")
    cluster.start()
    url = cluster.url  # the same order for every client: all of them start on node 0
    clock = ManualClock(T0)
    central = Central(open_store(f"sqlite:///{tmp / 'central.db'}"), tmp / "ledger.db",
                      f"andon-central-{unique_id()}", ManualClock(T0))
    edge_store = open_store(f"sqlite:///{tmp / 'edge.db'}")
    edge = build_edge(spec, edge_store, tmp / "models", clock=clock, lines={"cooling-water"})
    outbox = Outbox(tmp / "edge-outbox.db", capacity=100_000)
    gateway = Gateway(url, clock)
    stop = asyncio.Event()
    task = None
    feeding = None
    seen: dict[str, object] = {}
    try:
        await central.start(url)
        task = asyncio.create_task(run_edge(
            edge, url, stop, edge_id="e-cluster", outbox=outbox, heartbeat_s=1.0,
            flush_every_s=0.2, backoff=ReconnectPolicy(base_s=0.1, cap_s=0.5), forward=True,
            ack_timeout_s=3.0))
        link = edge.stats.link
        await until(lambda: link.state is LinkState.ONLINE and edge.intake is not None
                    and edge.intake.ready.is_set(), "the edge online and subscribed", 60)
        uplink, intake = edge.outbound, edge.intake
        assert isinstance(uplink, Uplink)
        assert intake is not None
        assert intake.client is not None
        await gateway.client.connect()
        feeding = asyncio.create_task(gateway.run())
        await until(lambda: central.store.sample_count() >= BEFORE * len(SOURCES),
                    "samples stored centrally before the kill", 60)

        clients = {"gateway": gateway.client, "intake": intake.client}
        assert uplink.client is not None
        seen["nodes_before"] = {name: cluster.node_of(c.current_url)
                                for name, c in {**clients, "uplink": uplink.client}.items()}
        victim = cluster.node_of(intake.client.current_url)
        connects = link.connects
        cluster.kill(victim)
        seen["killed_at"] = gateway.produced
        await until(lambda: link.connects > connects and link.state is not LinkState.BUFFERING
                    and all(c.connected.is_set() for c in clients.values())
                    and central.ready.is_set(),
                    "every client connected to another node", 90,
                    state=lambda: (link, {n: c.connected.is_set() for n, c in clients.items()},
                                   central.ready.is_set()))
        assert uplink.client is not None
        seen["nodes_after"] = {name: cluster.node_of(c.current_url)
                               for name, c in {**clients, "uplink": uplink.client}.items()}
        seen["gateway_attempts"] = [(a.url, a.delay_s, a.error) for a in gateway.client.attempts]
        resumed = gateway.produced
        await until(lambda: gateway.produced >= resumed + AFTER * len(SOURCES),
                    "samples published after the kill", 60)
        gateway.running = False
        await feeding
        produced = gateway.produced  # the client keeps what the cluster has not acknowledged
        await until(lambda: edge_store.sample_count() >= produced
                    and central.store.sample_count() >= produced and outbox.depth() == 0,
                    "everything recorded at the edge, stored centrally and acknowledged", 120,
                    state=lambda: (produced, edge_store.sample_count(),
                                   central.store.sample_count(), outbox.depth(), link))
        assert central.ingest is not None
        await until(lambda: central.ingest is not None and central.ingest.stats.held == 0,
                    "nothing held back centrally")
        seen.update(
            produced=produced, seq=gateway.seq, victim=victim,
            edge_stored=edge_store.sample_count(), stored=central.store.sample_count(),
            edge_seqs={s: sorted(x.seq for x in edge_store.samples() if x.source == s)
                       for s in SOURCES},
            seqs={s: sorted(central.seqs(s)) for s in SOURCES},
            applied=list(central.applied), edge_duplicates=edge.stats.duplicates,
            quarantined=edge_store.count_quarantined_by_rule(),
            missing=central.ingest.stats.missing,
            dropped=dict(link.dropped), resent=link.resent, unacked=link.unacked)
    finally:
        gateway.running = False
        if feeding is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(feeding, 10)
        await gateway.client.disconnect()
        stop.set()
        if task is not None:
            await asyncio.wait_for(task, 30)
        if central.ingest is not None:
            with contextlib.suppress(Exception):
                await central.halt()
        cluster.stop()
        central.store.close()
        edge_store.close()
        outbox.close()
    return seen


def test_killing_the_node_everyone_is_on_loses_and_doubles_nothing(
        demo_spec: PlantSpec, tmp_path: Path) -> None:
    if not Path(NATS_SERVER).is_file():
        pytest.skip(f"no nats-server binary at {NATS_SERVER} (apt-get install nats-server)")
    seen = asyncio.run(_story(demo_spec, tmp_path))
    victim = seen["victim"]
    assert seen["nodes_before"] == {"gateway": victim, "intake": victim, "uplink": victim}
    after = seen["nodes_after"]
    assert isinstance(after, dict)
    assert victim not in after.values(), "every client moved to another node"
    attempts = seen["gateway_attempts"]
    assert isinstance(attempts, list)
    assert attempts[-1][2] is None
    # produced = recorded at the edge = stored centrally; each (source, seq) exactly once
    assert isinstance(seen["killed_at"], int)
    assert 0 < seen["killed_at"] < seen["produced"]  # type: ignore[operator]
    assert seen["edge_stored"] == seen["stored"] == seen["produced"]
    every = {s: list(range(seen["seq"])) for s in SOURCES}  # type: ignore[call-overload]
    assert seen["edge_seqs"] == every
    assert seen["seqs"] == every
    applied = seen["applied"]
    assert isinstance(applied, list)
    assert len(applied) == len(set(applied)), "no item written twice centrally"
    assert seen["quarantined"] == {}
    assert seen["missing"] == 0
    assert seen["dropped"] == {}
    assert seen["unacked"] == 0
