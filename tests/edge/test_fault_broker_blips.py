"""Five short broker blips while the edge forwards and replays: nothing lost, nothing doubled.

The issue's case: five 1.2 s outages of the broker in a row lost the edge's replayed backlog
at the central side (449 samples, 12 events) because an item left the outbox once the broker
had it, and the ingest's clean session lost what arrived while it reconnected. Real parts:
our own Mosquitto (no persistence: a restart loses its sessions), the edge (``run_edge`` with
forwarding, so consumer acknowledgement) and the central ingest (persistent session, ledger
file). Each blip stops the broker, waits until both sides have seen it go, and starts it again
at once; the edge keeps producing throughout. Every wait is on a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from andon.clock import ManualClock
from andon.connectors import ReconnectPolicy
from andon.edge import LinkState, Outbox, Uplink, build_edge, run_edge
from andon.spec import PlantSpec
from andon.store import open_store
from andon.testing import MosquittoProcess, unique_id, until
from andon.testing.mosquitto import need_mosquitto_binary
from edge.faults import SOURCES, T0, Central, Producer, stop_stream

pytestmark = pytest.mark.mosquitto

BLIPS = 5


async def _blips(spec: PlantSpec, tmp: Path) -> dict[str, object]:
    broker = MosquittoProcess(tmp)
    broker.start()
    clock = ManualClock(T0)
    central = Central(open_store(f"sqlite:///{tmp / 'central.db'}"), tmp / "ledger.db",
                      f"andon-central-{unique_id()}", ManualClock(T0))
    edge_store = open_store(f"sqlite:///{tmp / 'edge.db'}")
    edge = build_edge(spec, edge_store, tmp / "models", clock=clock, lines={"cooling-water"})
    outbox = Outbox(tmp / "edge-outbox.db", capacity=100_000)
    producer = Producer(edge, clock)
    stop = asyncio.Event()
    await central.start(broker.url)
    task = asyncio.create_task(run_edge(
        edge, broker.url, stop, edge_id="e-blips", outbox=outbox, heartbeat_s=1.0,
        flush_every_s=0.2, replay_batch=5, backoff=ReconnectPolicy(base_s=0.1, cap_s=0.3),
        forward=True, ack_timeout_s=2.0))
    link = edge.stats.link
    feeding = None
    seen: dict[str, object] = {}
    try:
        await until(lambda: link.state is LinkState.ONLINE, "the edge online")
        feeding = asyncio.create_task(producer.run())
        for n in range(BLIPS):
            produced = producer.samples
            await until(lambda: producer.samples >= produced + 100,  # noqa: B023
                        f"traffic before blip {n}")
            connects = link.connects
            await asyncio.to_thread(broker.stop)
            await until(lambda: link.state is LinkState.BUFFERING, f"blip {n} seen by the edge")
            await until(lambda: not central.ready.is_set(), f"blip {n} seen by the ingest")
            await asyncio.to_thread(broker.start)  # same port, no sessions
            uplink = edge.outbound
            assert isinstance(uplink, Uplink)
            uplink.retry_now()
            await until(lambda: link.connects > connects,  # noqa: B023
                        f"the edge back after blip {n}")
            await until(central.ready.is_set, f"the ingest back after blip {n}", 30)
        producer.running = False
        await feeding
        await until(lambda: outbox.depth() == 0 and not edge.recorder.samples,
                    "an empty outbox: everything acknowledged", 90,
                    state=lambda: (outbox.depth(), link))
        assert central.ingest is not None
        await until(lambda: central.ingest is not None and central.ingest.stats.held == 0,
                    "nothing held back")
        seen.update(produced=producer.samples, seq=producer.seq, ivs=list(producer.ivs),
                    stored=central.store.sample_count(), edge_stored=edge_store.sample_count(),
                    seqs={s: central.seqs(s) for s in SOURCES},
                    stored_ivs=sorted(r.id for r in central.store.list_interventions(
                        open_only=False, limit=10_000)),
                    applied=list(central.applied), connects=link.connects, resent=link.resent,
                    missing=central.ingest.stats.missing, dropped=dict(link.dropped))
    finally:
        await stop_stream(producer, feeding, stop, task)
        if central.ingest is not None:
            with contextlib.suppress(Exception):
                await central.halt()
        broker.stop()
        central.store.close()
        edge_store.close()
        outbox.close()
    return seen


def test_five_broker_blips_lose_nothing_and_double_nothing(demo_spec: PlantSpec,
                                                          tmp_path: Path) -> None:
    need_mosquitto_binary()
    seen = asyncio.run(_blips(demo_spec, tmp_path))
    print("FAULT five broker blips:", {k: seen[k] for k in (  # noqa: T201 - the fault table
        "produced", "edge_stored", "stored", "connects", "resent", "missing")})
    assert seen["connects"] == BLIPS + 1
    assert seen["stored"] == seen["produced"] == seen["edge_stored"]
    assert seen["seqs"] == {s: list(range(seen["seq"])) for s in SOURCES}  # type: ignore[arg-type]
    assert seen["stored_ivs"] == sorted(seen["ivs"])  # type: ignore[arg-type]
    applied = seen["applied"]
    assert isinstance(applied, list)
    assert len(applied) == len(set(applied)), "no item written twice"
    assert seen["missing"] == 0
    assert seen["dropped"] == {}
