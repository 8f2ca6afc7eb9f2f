"""A real ``andon edge`` process announces itself, beats, and its last will reports its death.

The edge runs as a child process on its own Mosquitto; killing it with SIGKILL closes its
socket without DISCONNECT, so the broker publishes the retained death document registered as
its last will. ``andon status`` reads the same retained topics (and the store's events).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from andon.cli.app import app
from andon.connectors.mqtt import MqttClient
from andon.edge.heartbeat import EdgeStatus, statuses_from_documents
from andon.edge.status import edge_statuses_from_store
from andon.namespace.topics import edge_topic
from andon.store import open_store
from andon.testing import MosquittoProcess, until

ANDON = str(Path(sys.executable).parent / "andon")
DEADLINE_S = 30.0
EDGE = "e-will"


class Inbox:
    """Documents seen on the edge's topics; waiters wake on every new one."""

    def __init__(self) -> None:
        self.docs: list[tuple[str, dict[str, Any]]] = []
        self.changed = asyncio.Event()

    def add(self, topic: str, payload: bytes) -> None:
        self.docs.append((topic.rsplit("/", 1)[-1], json.loads(payload)))
        self.changed.set()

    def find(self, leaf: str, kind: str) -> dict[str, Any] | None:
        for got_leaf, doc in self.docs:
            if got_leaf == leaf and doc.get("kind") == kind:
                return doc
        return None

    async def until(self, condition: Callable[[], bool], what: str) -> None:
        """Re-check ``condition`` on every new document (heartbeats come every 0.3 s)."""
        await until(condition, what, DEADLINE_S, wake=self.changed, state=lambda: self.docs)

    async def first(self, leaf: str, kind: str) -> dict[str, Any]:
        await self.until(lambda: self.find(leaf, kind) is not None, f"{kind} on {leaf}")
        doc = self.find(leaf, kind)
        assert doc is not None
        return doc


def _stored(db: str) -> list[EdgeStatus]:
    store = open_store(db)
    try:
        return edge_statuses_from_store(store)
    finally:
        store.close()


def _status(*args: str) -> str:
    result = CliRunner().invoke(app, ["status", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


async def _story(broker: MosquittoProcess, tmp: Path) -> None:
    inbox = Inbox()
    watcher = MqttClient(broker.url, "watcher", on_message=inbox.add, auto_reconnect=False,
                         subscriptions=[edge_topic("acme", EDGE, "+")])
    await watcher.connect()
    await watcher.subscribed()
    log = (tmp / "edge.log").open("wb")
    db = f"sqlite:///{tmp / 'andon.db'}"
    proc = subprocess.Popen(  # noqa: S603, ASYNC220 - our own CLI, started once
        [ANDON, "edge", "--broker", broker.url, "--edge-id", EDGE, "--heartbeat", "0.3",
         "--db", db, "--models-dir", str(tmp / "models"), "--line", "cooling-water",
         "--no-record"], stdout=log, stderr=subprocess.STDOUT)
    try:
        birth = await inbox.first("state", "birth")
        beat = await inbox.first("heartbeat", "heartbeat")
        assert birth["status"] == "online"
        assert birth["edge_id"] == EDGE
        assert len(birth["config_hash"]) == 64
        assert beat["session"] == birth["session"]
        assert beat["link"] == "online"
        assert beat["buffer_depth"] == 0
        assert beat["dropped"] == {}

        # the edge keeps its birth and heartbeats as store events too (flushed every 0.5 s)
        await inbox.until(lambda: [e.edge_id for e in _stored(db)] == [EDGE], "stored state")
        alive = await asyncio.to_thread(_status, "--broker", broker.url)
        assert EDGE in alive
        assert "online" in alive

        proc.kill()  # SIGKILL: no DISCONNECT, the broker sends the last will
        await asyncio.to_thread(proc.wait, DEADLINE_S)
        death = await inbox.first("state", "death")
        assert death["status"] == "offline"
        assert death["session"] == birth["session"]
        [status] = statuses_from_documents(doc for _leaf, doc in inbox.docs)
        assert status.status == "offline"

        dead = await asyncio.to_thread(_status, "--broker", broker.url)
        assert "offline" in dead
        stored = await asyncio.to_thread(_status, "--db", db)
        assert EDGE in stored
        assert "online" in stored  # killed: no death reached the store; stale after 3 beats
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(DEADLINE_S)
        log.close()
        await watcher.disconnect()


def test_birth_heartbeat_then_last_will_on_a_killed_edge(tmp_path: Path) -> None:
    broker = MosquittoProcess(tmp_path)
    broker.start()
    try:
        asyncio.run(_story(broker, tmp_path))
    finally:
        broker.stop()
