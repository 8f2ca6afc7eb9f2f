"""The central ingest goes away while the edge forwards: nothing is lost, nothing doubled.

Real parts: our own Mosquitto (``MosquittoProcess``, no persistence), the edge (``run_edge``
with forwarding, so consumer acknowledgement) and the central ingest (``run_central`` with a
persistent session and a ledger file), each with its own SQLite store. Two PLC sources feed
the edge directly while:

1. the central ingest is stopped, and started again later (as ``andon serve`` restarted):
   the broker keeps its session; the edge keeps every item until the ingest acknowledges it,
   and its status says so (online, items unacknowledged);
2. the central ingest is stopped and the broker restarts (its sessions are gone with it):
   what the broker had queued for the ingest is lost there, and the edge sends it again.

After each, every sample and intervention produced reaches the central store exactly once,
in order per source, and the edge's outbox is empty. Every wait is on a condition with a
deadline.
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

DURING = 200  # samples (all sources) produced while the ingest is away, at least


async def _story(spec: PlantSpec, tmp: Path) -> dict[str, object]:  # noqa: PLR0915 - in order
    broker = MosquittoProcess(tmp)
    broker.start()
    clock = ManualClock(T0)
    central = Central(open_store(f"sqlite:///{tmp / 'central.db'}"), tmp / "ledger.db",
                      f"andon-central-{unique_id()}", ManualClock(T0))  # its own clock
    edge_store = open_store(f"sqlite:///{tmp / 'edge.db'}")
    edge = build_edge(spec, edge_store, tmp / "models", clock=clock, lines={"cooling-water"})
    outbox = Outbox(tmp / "edge-outbox.db", capacity=100_000)
    producer = Producer(edge, clock)
    stop = asyncio.Event()
    await central.start(broker.url)
    task = asyncio.create_task(run_edge(
        edge, broker.url, stop, edge_id="e-central", outbox=outbox, heartbeat_s=1.0,
        flush_every_s=0.2, backoff=ReconnectPolicy(base_s=0.2, cap_s=0.5), forward=True,
        ack_timeout_s=2.0))  # what the restarted broker lost for the ingest comes again
    feeding = None
    seen: dict[str, object] = {}
    link = edge.stats.link
    try:
        await until(lambda: link.state is LinkState.ONLINE, "the edge online")
        feeding = asyncio.create_task(producer.run())
        await until(lambda: central.store.sample_count() >= 40, "samples at the central side")

        # 1. the ingest away, the broker up: the edge is online but holds what is not stored
        await central.halt()
        before = producer.samples
        await until(lambda: producer.samples - before >= DURING and link.unacked > 0,
                    f"{DURING} samples produced while the ingest is away")
        assert link.state is LinkState.ONLINE
        assert outbox.depth() >= link.unacked > 0, "kept until the consumer has them"
        seen["unacked_while_down"] = link.unacked
        produced = producer.samples
        await central.start(broker.url)  # the same session: the broker kept what came
        await until(lambda: central.store.sample_count() >= produced,
                    "the ingest caught up with what was produced while it was away", 60,
                    state=lambda: (central.store.sample_count(), produced, link, outbox.depth(),
                                   central.ingest and central.ingest.stats))

        # 2. the ingest away and the broker restarted: its queue for the ingest is gone
        await central.halt()
        before = producer.samples
        await until(lambda: producer.samples - before >= DURING, "more samples produced")
        await asyncio.to_thread(broker.stop)
        await until(lambda: link.state is LinkState.BUFFERING, "buffering")
        await asyncio.to_thread(broker.start)  # same port, empty: no sessions
        uplink = edge.outbound
        assert isinstance(uplink, Uplink)
        uplink.retry_now()
        await until(lambda: link.state is LinkState.ONLINE, "online again", 60)
        await central.start(broker.url)

        producer.running = False
        await feeding
        await until(lambda: outbox.depth() == 0 and not edge.recorder.samples,
                    "an empty outbox: everything acknowledged", 90,
                    state=lambda: (outbox.depth(), link, len(edge.recorder.samples),
                                   central.ingest and central.ingest.stats,
                                   [(i.kind, i.source, i.seq) for i in
                                    outbox.pending(5)]))
        assert central.ingest is not None
        await until(lambda: central.ingest is not None and central.ingest.stats.held == 0,
                    "nothing held back")
        seen.update(produced=producer.samples, seq=producer.seq, ivs=list(producer.ivs),
                    stored=central.store.sample_count(), edge_stored=edge_store.sample_count(),
                    seqs={s: central.seqs(s) for s in SOURCES},
                    stored_ivs=sorted(r.id for r in central.store.list_interventions(
                        open_only=False, limit=10_000)),
                    applied=list(central.applied), acked=link.acked, resent=link.resent,
                    dropped=dict(link.dropped), missing=central.ingest.stats.missing,
                    rejected=central.ingest.stats.rejected, unacked=link.unacked)
        heartbeat = uplink.document("heartbeat")
        seen["heartbeat"] = heartbeat
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


def test_central_ingest_down_and_broker_restarted_nothing_lost_nothing_doubled(
        demo_spec: PlantSpec, tmp_path: Path) -> None:
    need_mosquitto_binary()
    seen = asyncio.run(_story(demo_spec, tmp_path))
    print("FAULT central down, then broker restarted:", {k: seen[k] for k in (  # noqa: T201
        "produced", "edge_stored", "stored", "resent", "acked", "missing")})
    assert isinstance(seen["unacked_while_down"], int)
    # produced = stored at the far end, 0 duplicated, in order per source
    assert seen["stored"] == seen["produced"] == seen["edge_stored"]
    for source in SOURCES:
        assert seen["seqs"] == {s: list(range(seen["seq"])) for s in SOURCES}, source  # type: ignore[arg-type]
    assert seen["stored_ivs"] == sorted(seen["ivs"]), "every intervention exactly once"  # type: ignore[arg-type]
    applied = seen["applied"]
    assert isinstance(applied, list)
    assert len(applied) == len(set(applied)), "no item written twice"
    assert seen["resent"] > 0, "the broker restart lost the ingest's queue: the edge resent"  # type: ignore[operator]
    assert seen["acked"] > 0  # type: ignore[operator]
    assert seen["dropped"] == {}
    assert seen["missing"] == 0
    assert seen["rejected"] == 0
    assert seen["unacked"] == 0
    heartbeat = seen["heartbeat"]
    assert isinstance(heartbeat, dict)
    assert heartbeat["unacked"] == 0
    assert heartbeat["buffer_depth"] == 0
