"""Deciding never waits for a store: records are written behind, decisions leave from the loop.

- ``andon.edge.saver``: an intervention record saved while another process holds the edge's
  SQLite write lock is served to the gate's readers at once and written once the lock is free;
  a store that fails is retried, in order, each record once.
- ``Uplink.send_many`` from the scoring worker: the intervention is handed to the event loop
  and published there (real Mosquitto), not committed and drained on the worker's thread.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from andon.clock import ManualClock
from andon.connectors.mqtt import MqttClient
from andon.edge import Backoff, EdgeIdentity, EdgeStats, LinkState, Outbox, Uplink, build_edge
from andon.edge.outbox import INTERVENTION
from andon.edge.saver import InterventionSaver, WriteBehind
from andon.errors import NotFound
from andon.interventions import InterventionState
from andon.namespace import edge_intervention_topic
from andon.spec import PlantSpec
from andon.store import SqlStore, open_store
from andon.testing import MosquittoProcess, until
from andon.testing.factories import T0, make_intervention
from andon.testing.mosquitto import need_mosquitto_binary


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another process's view: a connection that took the database's write lock."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_record_queued_behind_a_locked_store_is_read_at_once_and_written_later(
        tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'edge.db'}")
    saver = InterventionSaver(store, EdgeStats())
    behind = WriteBehind(store, saver)
    iv = make_intervention("iv-1")
    other = _hold_write_lock(tmp_path / "edge.db")
    try:
        behind.save_intervention(iv)  # returns at once: the writer thread waits for the lock
        assert behind.get_intervention("iv-1") == iv
        assert behind.open_intervention_for(iv.use_case, iv.asset) == iv
        with pytest.raises(NotFound):
            store.get_intervention("iv-1")  # not written yet
        assert saver.queued() == 1
    finally:
        other.rollback()
        other.close()
    assert saver.drain(10.0)
    assert store.get_intervention("iv-1") == iv
    assert saver.pending("iv-1") is None
    saver.close()
    store.close()


def test_a_queued_closed_version_hides_the_stored_open_one(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'edge.db'}")
    saver = InterventionSaver(store, EdgeStats())
    behind = WriteBehind(store, saver)
    iv = make_intervention("iv-2")
    store.save_intervention(iv)
    closed = replace(iv, state=InterventionState.DISMISSED)
    other = _hold_write_lock(tmp_path / "edge.db")
    try:
        behind.save_intervention(closed)
        assert not closed.is_open
        assert behind.open_intervention_for(iv.use_case, iv.asset) is None
        assert behind.get_intervention("iv-2") == closed
        assert store.open_intervention_for(iv.use_case, iv.asset) == iv  # still stored open
    finally:
        other.rollback()
        other.close()
    saver.close()
    assert saver.pending("iv-2") is None  # written: the store's record is read again
    store.close()


class FailingStore:
    """The real store; its next ``fail`` intervention writes raise "database is locked"."""

    def __init__(self, store: SqlStore, fail: int) -> None:
        self.store, self.fail, self.attempts = store, fail, 0

    def save_intervention(self, iv: Any) -> None:
        self.attempts += 1
        if self.fail:
            self.fail -= 1
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        self.store.save_intervention(iv)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_failing_store_gets_the_records_again_in_order_each_once(store: SqlStore) -> None:
    flaky = FailingStore(store, fail=3)
    stats = EdgeStats()
    saver = InterventionSaver(flaky, stats, backoff=Backoff(base_s=0.001, cap_s=0.002))  # type: ignore[arg-type]
    first = make_intervention("iv-a")
    versions = [first, replace(first, detections=2), replace(first, detections=3)]
    for v in versions:
        saver.save(v)
    saver.save(make_intervention("iv-b", asset="p-102"))
    assert saver.drain(10.0)
    assert flaky.attempts == 3 + 4  # three failures, then each record once
    assert stats.store.failures == 3
    assert "database is locked" in stats.store.last_error
    assert store.get_intervention("iv-a").detections == 3  # the last version stands
    assert store.get_intervention("iv-b").asset == "p-102"
    saver.close()


def test_edge_flush_waits_for_the_records_behind_it(demo_spec: PlantSpec, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'edge.db'}")
    edge = build_edge(demo_spec, store, tmp_path / "models", clock=ManualClock(T0),
                      record=False, write_behind=True)
    assert edge.saver is not None
    for n in range(20):
        edge.emit(make_intervention(f"iv-{n}", asset=f"p-{n}"))
    edge.flush()
    assert edge.saver.queued() == 0
    assert len(store.list_interventions(open_only=False, limit=100)) == 20
    edge.saver.close()
    store.close()


ENT = "acme"


def _committed(tmp: Path) -> int:
    """Interventions in the outbox file (read as another process would)."""
    with sqlite3.connect(tmp / "outbox.db") as db:
        return int(db.execute("SELECT COUNT(*) FROM items WHERE kind = ?",
                              (INTERVENTION,)).fetchone()[0])


async def _worker_decisions(broker: MosquittoProcess, tmp: Path) -> None:
    topic = edge_intervention_topic(ENT, "ghent", "utilities", "cooling-water", "p-101")
    heard: list[dict[str, Any]] = []
    listener = MqttClient(broker.url, on_message=lambda _t, p: heard.append(json.loads(p)),
                          subscriptions=[topic], qos=1)
    await listener.connect()
    await listener.subscribed()
    box = Outbox(tmp / "outbox.db")
    uplink = Uplink(broker.url, EdgeIdentity("e-dec", ENT, "h" * 64, 5.0), box,
                    clock=ManualClock(T0), consumer_ack=True)
    stop = asyncio.Event()
    running = asyncio.ensure_future(uplink.run(stop))
    try:
        await until(lambda: uplink.state is LinkState.ONLINE, "the uplink online", 20)
        first = threading.Thread(target=uplink.send, args=(
            INTERVENTION, "iv-0:1", "p-101", topic, {"id": "iv-0"}))
        first.start()
        first.join()  # the loop is blocked here: nothing can have been committed yet
        assert _committed(tmp) == 0, "not committed on the worker's thread"
        await until(lambda: len(heard) == 1, "the first decision on the UNS", 20)

        def decide_several() -> None:
            for n in range(1, 6):
                assert uplink.send(INTERVENTION, f"iv-{n}:1", "p-101", topic, {"id": f"iv-{n}"})

        worker = threading.Thread(target=decide_several)
        worker.start()
        await asyncio.to_thread(worker.join)
        await until(lambda: len(heard) == 6, "every decision on the UNS", 20)
        await until(lambda: box.staged() == 0 and _committed(tmp) == 6,
                    "all committed, waiting for the consumer", 20)
        assert [d["id"] for d in heard] == [f"iv-{n}" for n in range(6)]
        assert [d["seq"] for d in heard] == list(range(1, 7))
    finally:
        stop.set()
        await running
        await listener.disconnect()
        box.close()


@pytest.mark.mosquitto
def test_a_decision_of_the_scoring_worker_is_published_from_the_loop(tmp_path: Path) -> None:
    need_mosquitto_binary()
    broker = MosquittoProcess(tmp_path)
    broker.start()
    try:
        asyncio.run(_worker_decisions(broker, tmp_path))
    finally:
        broker.stop()
