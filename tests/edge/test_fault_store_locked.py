"""Another process holds the edge's SQLite write lock across several flushes: nothing is lost.

Real processes: our own Mosquitto, the edge (``run_edge``) on it with a SQLite store, and a
second Python process that takes the database's write lock (``BEGIN IMMEDIATE``) and keeps it
until told to let go. Before the fix the first write that timed out ended the edge and lost
its batch. Now each failed flush is counted and retried after a back-off on the edge's
(manual) clock; the edge keeps receiving meanwhile; once the lock is gone every sample
produced is stored exactly once.

SQLite's busy timeout (10 s in production) is cut to 0.1 s here so that several flushes fail
within a short test; the behaviour does not depend on its length.
"""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

import pytest

import andon.store.sql
from andon.clock import ManualClock, from_ms
from andon.connectors.mqtt import MqttClient
from andon.edge import Backoff, build_edge, run_edge
from andon.spec import PlantSpec
from andon.store import open_store
from andon.testing import MosquittoProcess, until
from andon.testing.mosquitto import need_mosquitto_binary
from edge.faults import T0, clock_at, tag_message

pytestmark = pytest.mark.mosquitto

#: the other process: take the write lock, say so, hold it until a line arrives on stdin
LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
print("released", flush=True)
"""
PER_PHASE = 20  # samples published before, during and after the lock (per phase)


async def _story(spec: PlantSpec, tmp: Path) -> None:  # noqa: PLR0915 - one story, in order
    broker = MosquittoProcess(tmp)
    broker.start()
    db = tmp / "edge.db"
    store = open_store(f"sqlite:///{db}")
    clock = ManualClock(T0)
    clock_at(clock, 3 * PER_PHASE)  # every sample is in the edge's past
    edge = build_edge(spec, store, tmp / "models", clock=clock, lines={"cooling-water"},
                      store_backoff=Backoff(base_s=1.0, cap_s=2.0, rng=random.Random(3)))
    stop = asyncio.Event()
    task = asyncio.create_task(run_edge(edge, broker.url, stop, edge_id="e-locked",
                                        flush_every_s=0.05, heartbeat_s=3600.0))
    pub = MqttClient(broker.url, "pub-locked")
    await pub.connect()
    s = edge.stats
    locker: asyncio.subprocess.Process | None = None

    def publish(seqs: range) -> None:
        for seq in seqs:
            pub.publish(*tag_message("plc-a", seq))

    try:
        await until(lambda: edge.intake is not None and edge.intake.ready.is_set(),
                    "the edge's intake subscribed")
        publish(range(PER_PHASE))
        await until(lambda: s.recorded == PER_PHASE, "the first samples stored")

        locker = await asyncio.create_subprocess_exec(
            sys.executable, "-c", LOCKER, str(db),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert locker.stdin is not None
        assert locker.stdout is not None
        line = await asyncio.wait_for(locker.stdout.readline(), 30)
        assert line.strip() == b"locked"

        publish(range(PER_PHASE, 2 * PER_PHASE))
        await until(lambda: s.received == 2 * PER_PHASE, "the samples sent while locked")
        await until(lambda: s.store.failures >= 1, "a failed flush")
        for failures in (2, 3, 4):  # several flushes, each retried after its back-off
            clock.set(from_ms(s.store.retry_at_ms))
            await until(lambda n=failures: s.store.failures >= n, f"failed flush {failures}")
        publish(range(2 * PER_PHASE, 3 * PER_PHASE))  # still receiving while the store fails
        await until(lambda: s.received == 3 * PER_PHASE, "the samples sent later")
        assert s.recorded == PER_PHASE, "nothing written while the lock is held"
        assert s.store.retrying
        assert "database is locked" in s.store.last_error
        assert not task.done(), "the edge keeps running"

        locker.stdin.write(b"go\n")
        await locker.stdin.drain()
        line = await asyncio.wait_for(locker.stdout.readline(), 30)
        assert line.strip() == b"released"
        clock.set(from_ms(s.store.retry_at_ms))
        await until(lambda: s.recorded == 3 * PER_PHASE and edge.recorder.left() == 0,
                    "every sample stored after the lock")

        stored = store.samples()
        assert len(stored) == 3 * PER_PHASE, "produced = stored"
        assert len({(x.source, x.seq) for x in stored}) == len(stored), "no duplicates"
        assert sorted(x.seq for x in stored) == list(range(3 * PER_PHASE))
        assert s.duplicates == 0
        assert s.store.failures >= 4
        assert not s.store.retrying
        assert s.store.dropped == {}
        assert not task.done()
    finally:
        if locker is not None:
            if locker.returncode is None:
                locker.kill()
            await asyncio.wait_for(locker.communicate(), 30)  # reaps it, closes its pipes
        stop.set()
        await asyncio.wait_for(task, 30)  # raises if the edge crashed
        await pub.disconnect()
        broker.stop()
        store.close()


def test_a_locked_store_is_retried_and_nothing_is_lost(demo_spec: PlantSpec, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    need_mosquitto_binary()
    monkeypatch.setattr(andon.store.sql, "_BUSY_TIMEOUT_MS", 100)
    asyncio.run(_story(demo_spec, tmp_path))
