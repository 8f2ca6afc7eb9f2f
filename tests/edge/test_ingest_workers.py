"""Three central ingest workers share one PostgreSQL store: every item once, none twice.

Real parts: our own Mosquitto, a fresh PostgreSQL database, six edges (``run_edge`` with
forwarding, so consumer acknowledgement, each with its own outbox and store) fed directly by
two PLC sources each, and three ingest workers (``--worker 1/3``, ``2/3``, ``3/3``): two in
this process (``run_central`` on their own store connections, sessions and ledgers), the third
as the production entry point, ``python -m andon ingest``, stopped by SIGTERM at the end;
beside them ``andon serve --broker URL --no-ingest`` (the API, sinks and escalation on the same
store), which must not ingest: the broker saw the three workers' sessions and no other.

The edges' outboxes are drawn so that each worker owns two of them (an outbox's epoch is
random; the loop that draws them is bounded). After the stream: produced = recorded at the
edges = stored centrally, each sample and intervention once; each edge was written by its
owner only; each worker skipped the others' messages; the edges' outboxes are empty (every
item acknowledged, by the one worker that wrote it).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from andon.clock import ManualClock, to_ms
from andon.connectors.reconnect import ReconnectPolicy
from andon.edge import Edge, LinkState, Outbox, build_edge, run_edge
from andon.namespace.sample import Quality, Sample, encode_sample
from andon.namespace.topics import TagAddress
from andon.services.central import CentralIngest, Partition, Sequencer, run_central
from andon.spec import PlantSpec
from andon.store import SqlStore, open_store
from andon.testing import MosquittoProcess, free_port, until
from andon.testing.factories import make_intervention
from andon.testing.mosquitto import need_mosquitto_binary
from andon.testing.services import postgres_database
from edge.faults import T0, clock_at

pytestmark = [pytest.mark.mosquitto, pytest.mark.postgres]

SPEC = Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml"
WORKERS = 3
EDGES_PER_WORKER = 2
SEQS = 120  # samples per source and edge
ADDRESS = TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101", "vibration")


@dataclass
class Site:
    """One edge: its runtime, outbox, clock and what it was fed."""

    name: str
    owner: int  # the worker its outbox's epoch hashes to
    edge: Edge
    outbox: Outbox
    store: SqlStore
    clock: ManualClock
    sources: tuple[str, str]
    ivs: list[str] = field(default_factory=list)
    samples: int = 0
    task: asyncio.Task[None] | None = None

    async def produce(self) -> None:
        """Two sources, one sample each per step, an intervention every 40 steps."""
        for seq in range(SEQS):
            clock_at(self.clock, seq)
            for source in self.sources:
                sample = Sample(ADDRESS, 2.0 + (seq % 7) * 0.1, "mm/s", Quality.GOOD,
                                to_ms(T0) + seq * 60_000, seq, source)
                self.edge.on_message(ADDRESS.topic, encode_sample(sample))
                self.samples += 1
            if seq % 40 == 20:
                self.ivs.append(f"iv-{self.name}-{seq:04d}")
                self.edge.emit(make_intervention(self.ivs[-1], asset="p-101"))
            await asyncio.sleep(0.005)  # the pace of the stream, not a wait for a result


def _outboxes(tmp: Path) -> list[tuple[int, Path]]:
    """Outbox files, EDGES_PER_WORKER per worker (by their random epochs): (owner, path)."""
    mine: dict[int, list[Path]] = {i: [] for i in range(1, WORKERS + 1)}
    for n in range(300):  # bounded: P(a worker still short after 300 draws) is nil
        path = tmp / f"outbox-{n}.db"
        box = Outbox(path)
        owner = next(i for i in mine if Partition(i, WORKERS).owns(box.epoch))
        box.close()
        if len(mine[owner]) < EDGES_PER_WORKER:
            mine[owner].append(path)
        else:
            path.unlink()
        if all(len(p) == EDGES_PER_WORKER for p in mine.values()):
            return [(i, p) for i, paths in mine.items() for p in paths]
    raise AssertionError(f"could not draw {EDGES_PER_WORKER} outboxes per worker")


class AndonProcess:
    """``python -m andon ARGS...`` with its output in a file, stopped by SIGTERM."""

    def __init__(self, log: Path, *args: str) -> None:
        self.log = log
        with self.log.open("ab") as out:  # the child keeps its descriptor
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
                [sys.executable, "-m", "andon", *args], stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    async def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.to_thread(self.proc.wait, 60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise


def _assert_each_once(central: SqlStore, sites: list[Site], workers: list[CentralIngest],
                      produced: int) -> None:
    """Produced = stored, once each; each in-process worker wrote its own edges only."""
    samples = central.samples()
    assert len(samples) == produced == sum(s.store.sample_count() for s in sites)
    assert len({(s.source, s.seq) for s in samples}) == produced, "0 duplicated"
    for site in sites:
        for source in site.sources:
            seqs = sorted(s.seq for s in samples if s.source == source)
            assert seqs == list(range(SEQS)), f"{site.name} {source}: each sample once"
    ids = sorted(r.id for r in central.list_interventions(open_only=False, limit=10_000))
    assert ids == sorted(iv for s in sites for iv in s.ivs), "every intervention once"

    # each in-process worker wrote its own edges only, and skipped the others' messages
    for i, ingest in enumerate(workers, start=1):
        owned = {s.name for s in sites if s.owner == i}
        assert set(ingest.stats.by_edge) == owned, f"worker {i}"
        assert ingest.stats.samples == sum(s.samples for s in sites if s.owner == i)
        assert ingest.stats.foreign > 0
        assert ingest.stats.rejected == 0


async def _story(spec: PlantSpec, tmp: Path, db: str) -> None:  # noqa: PLR0915
    broker = MosquittoProcess(tmp)
    broker.start()
    central = open_store(db)  # migrated once, before the workers open it
    stop_central, stop_edges = asyncio.Event(), asyncio.Event()
    workers: list[tuple[CentralIngest, asyncio.Event, asyncio.Task[None]]] = []
    sites: list[Site] = []
    process = api = None
    try:
        for i in range(1, WORKERS):  # workers 1 and 2 here, 3 as a process
            ingest = CentralIngest(open_store(db), ManualClock(T0),
                                   sequencer=Sequencer(tmp / f"ledger-{i}.db"),
                                   partition=Partition(i, WORKERS))
            ready = asyncio.Event()
            task = asyncio.create_task(run_central(
                ingest, broker.url, stop_central, enterprise="acme", tick_s=0.2,
                connected=ready, session=f"andon-central-acme-{i}of{WORKERS}"))
            await asyncio.wait_for(ready.wait(), 30)
            workers.append((ingest, ready, task))
        process = AndonProcess(tmp / "worker-3.log", "ingest", "--spec", str(SPEC), "--db", db,
                               "--broker", broker.url, "--worker", f"{WORKERS}/{WORKERS}",
                               "--ledger", str(tmp / "ledger-3.db"))
        # the API, sinks and escalation beside the workers, on the same store: no ingest
        api = AndonProcess(tmp / "serve.log", "serve", "--spec", str(SPEC), "--db", db,
                           "--broker", broker.url, "--no-ingest", "--port", str(free_port()),
                           "--models-dir", str(tmp / "models"))
        for proc, line in ((process, "ingest worker 3/3"), (api, "inbox on")):
            await until(lambda p=proc, t=line: t in p.output(), f"andon printing {line!r}", 60,
                        state=lambda p=proc: (p.proc.poll(), p.output()[-500:]))

        for n, (owner, path) in enumerate(_outboxes(tmp)):
            clock = ManualClock(T0)
            store = open_store(f"sqlite:///{tmp / f'edge-{n}.db'}")
            edge = build_edge(spec, store, tmp / "models", clock=clock, lines={"cooling-water"})
            site = Site(f"e{n}", owner, edge, Outbox(path, capacity=100_000), store, clock,
                        (f"e{n}-plc-a", f"e{n}-plc-b"))
            site.task = asyncio.create_task(run_edge(
                edge, broker.url, stop_edges, edge_id=site.name, outbox=site.outbox,
                heartbeat_s=1.0, flush_every_s=0.2, forward=True, ack_timeout_s=5.0,
                backoff=ReconnectPolicy(base_s=0.2, cap_s=0.5)))
            sites.append(site)
        await until(lambda: all(s.edge.stats.link.state is LinkState.ONLINE for s in sites),
                    "every edge online", 60)
        # the third worker's session is on the broker once it acknowledges its edges
        await asyncio.gather(*(s.produce() for s in sites))
        produced = sum(s.samples for s in sites)
        await until(lambda: all(not s.edge.recorder.samples and s.outbox.depth() == 0
                                for s in sites),
                    "every edge's outbox empty (all acknowledged)", 120,
                    state=lambda: [(s.name, s.owner, s.outbox.depth(), s.edge.stats.link)
                                   for s in sites])
        await until(lambda: central.sample_count() == produced, "every sample stored", 60,
                    state=lambda: (central.sample_count(), produced))

        _assert_each_once(central, sites, [w[0] for w in workers], produced)
        code = await process.stop()
        out = process.output()
        assert code == 0, out[-2000:]
        third = sum(s.samples for s in sites if s.owner == WORKERS)
        assert f"{third} samples and" in out, out[-2000:]
        assert " 0 quarantined" in out
        assert await api.stop() == 0, api.output()[-2000:]
        assert "ingesting" not in api.output()
        sessions = re.findall(r"New client connected from \S+ as (andon-central\S*)",
                              broker.log.read_text(encoding="utf-8"))
        assert sorted(set(sessions)) == [f"andon-central-acme-{i}of{WORKERS}"
                                         for i in range(1, WORKERS + 1)], sessions
        print("INGEST WORKERS:", {"produced": produced, "stored": central.sample_count(),  # noqa: T201
                                  "per worker": [w[0].stats.samples for w in workers] + [third],
                                  "foreign": [w[0].stats.foreign for w in workers]})
    finally:
        stop_edges.set()
        for site in sites:
            if site.task is not None:
                await asyncio.wait_for(site.task, 30)
            site.outbox.close()
            site.store.close()
        stop_central.set()
        for ingest, _ready, task in workers:
            await asyncio.wait_for(task, 30)
            ingest.sequencer.close()
            ingest.store.close()
        for proc in (process, api):
            if proc is not None:
                await proc.stop()
        central.close()
        broker.stop()


def test_three_ingest_workers_share_one_postgres_store_without_duplicates(
        demo_spec: PlantSpec, tmp_path: Path, postgres_url: str) -> None:
    need_mosquitto_binary()
    assert postgres_url  # PostgreSQL is there (else skipped); this test has its own database
    with postgres_database() as db:
        asyncio.run(_story(demo_spec, tmp_path, db))
