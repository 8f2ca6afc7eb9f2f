"""A real broker outage: the edge buffers, then replays exactly once, in order, live not starved.

The test runs its own Mosquitto on a free loopback port (never the shared one), stops it while
the edge emits interventions, starts it again on the same port, and watches what arrives on
the intervention topics. Every wait is on an event with a deadline.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from andon.clock import ManualClock
from andon.connectors import ReconnectPolicy
from andon.connectors.mqtt import MqttClient
from andon.edge import Edge, LinkState, Outbox, Uplink, build_edge, run_edge
from andon.namespace.topics import edge_intervention_filter
from andon.spec import PlantSpec
from andon.store import open_store
from andon.testing import MosquittoProcess, until
from andon.testing.factories import T0, make_intervention

DEADLINE_S = 20.0


class Signal:
    """Wake waiters whenever something changed; they re-check their condition."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()

    def notify(self) -> None:
        self._changed.set()

    async def until(self, condition: Callable[[], bool], what: str,
                    timeout: float = DEADLINE_S) -> None:  # noqa: ASYNC109
        # re-check at least every 0.5 s: e.g. the outbox depth is not notified
        await until(condition, what, timeout, wake=self._changed, every_s=0.5)


async def _subscriber(url: str, received: list[dict[str, object]], signal: Signal,
                      name: str) -> MqttClient:
    def on_message(_topic: str, payload: bytes) -> None:
        received.append(json.loads(payload))
        signal.notify()

    sub = MqttClient(url, name, on_message=on_message,
                     subscriptions=[edge_intervention_filter("acme")], qos=1,
                     auto_reconnect=False)
    await sub.connect()
    await sub.subscribed()
    return sub


async def _stop_edge(stop: asyncio.Event, task: asyncio.Task[None]) -> None:
    """Stop a ``run_edge`` task and wait (bounded) for its goodbye."""
    stop.set()
    await asyncio.wait_for(task, DEADLINE_S)


async def _outage(spec: PlantSpec, tmp: Path) -> None:  # noqa: PLR0915 - one story, told in order
    broker = MosquittoProcess(tmp)
    broker.start()
    store = open_store(f"sqlite:///{tmp / 'andon.db'}")
    edge = build_edge(spec, store, tmp / "models", clock=ManualClock(T0), lines={"cooling-water"},
                record=False)
    outbox = Outbox(tmp / "edge-outbox.db")
    signal = Signal()
    received: list[dict[str, object]] = []
    states: list[LinkState] = []
    live_during_replay = [f"live-{n}" for n in range(3)]

    def on_state(state: LinkState) -> None:
        states.append(state)
        if state is LinkState.REPLAYING and states.count(LinkState.REPLAYING) == 2:
            for intervention_id in live_during_replay:  # live items, queued as the replay starts
                edge.emit(make_intervention(intervention_id))
        signal.notify()

    sub = await _subscriber(broker.url, received, signal, "sub-before")
    stop = asyncio.Event()
    # a long backoff: after the outage the edge waits until the test says the broker is back
    task = asyncio.create_task(run_edge(
        edge, broker.url, stop, edge_id="e-outage", outbox=outbox, heartbeat_s=0.5,
        replay_batch=5, backoff=ReconnectPolicy(base_s=60.0, cap_s=60.0)))
    try:
        await asyncio.sleep(0)  # let run_edge wire the uplink (it does so before any await)
        uplink = edge.outbound
        assert isinstance(uplink, Uplink)
        uplink.on_state = on_state
        await signal.until(lambda: edge.stats.link.state is LinkState.ONLINE, "online")

        for n in range(3):
            edge.emit(make_intervention(f"before-{n}"))
        await signal.until(lambda: len(received) == 3, "3 live interventions")

        await asyncio.to_thread(broker.stop)
        await signal.until(lambda: edge.stats.link.state is LinkState.BUFFERING, "buffering")
        backlog = [f"during-{n}" for n in range(20)]
        for intervention_id in backlog:  # the edge keeps deciding; its output waits in the outbox
            edge.emit(make_intervention(intervention_id))
        assert edge.stats.link.state is LinkState.BUFFERING
        # the figure counts staged items at once and is made exact by their group commit (a
        # commit of earlier items finishing on the writer thread meanwhile may undercount it
        # for that moment): wait for the commit, bounded
        await signal.until(lambda: edge.stats.link.buffer_depth >= 20, "the backlog committed")
        assert edge.stats.link.state is LinkState.BUFFERING
        assert edge.stats.interventions == 23
        await sub.disconnect()

        await asyncio.to_thread(broker.start)  # same port
        sub = await _subscriber(broker.url, received, signal, "sub-after")
        uplink.retry_now()
        every = {f"before-{n}" for n in range(3)} | set(backlog) | set(live_during_replay)
        await signal.until(lambda: {r["id"] for r in received} >= every, "every intervention")
        await signal.until(lambda: edge.stats.link.state is LinkState.ONLINE, "online again")
        await signal.until(lambda: edge.stats.link.buffer_depth == 0, "an empty outbox")
        await sub.subscribed()  # a round trip: nothing else is on its way

        ids = [str(r["id"]) for r in received]
        assert sorted(ids) == sorted(every), "each intervention arrives exactly once"
        after = ids[3:]
        assert [i for i in after if i.startswith("during-")] == backlog, "the backlog in order"
        seqs = [int(str(r["seq"])) for r in received[3:] if str(r["id"]).startswith("during-")]
        assert seqs == sorted(seqs)
        assert all(r["key"] == f"{r['id']}:4" for r in received)
        # live items went out within the first replay turn, ahead of most of the backlog
        assert max(after.index(i) for i in live_during_replay) < after.index(backlog[-1])
        assert states == [LinkState.REPLAYING, LinkState.ONLINE, LinkState.BUFFERING,
                          LinkState.REPLAYING, LinkState.ONLINE]
        link = edge.stats.link
        assert link.buffer_depth == 0
        assert link.connects == 2
        assert link.replayed >= 20
        assert link.dropped == {}
        assert outbox.depth() == 0
    finally:
        await _stop_edge(stop, task)
        await sub.disconnect()
        broker.stop()
        store.close()
        outbox.close()


def test_outage_buffers_then_replays_in_order_exactly_once(demo_spec: PlantSpec,
                                                           tmp_path: Path) -> None:
    asyncio.run(_outage(demo_spec, tmp_path))


async def _restart(spec: PlantSpec, tmp: Path) -> None:
    broker = MosquittoProcess(tmp)  # configured, not started: the broker is down
    store = open_store(f"sqlite:///{tmp / 'andon.db'}")
    path = tmp / "edge-outbox.db"
    signal = Signal()
    received: list[dict[str, object]] = []

    def edge_and_run(outbox: Outbox) -> tuple[Edge, asyncio.Event, asyncio.Task[None]]:
        edge = build_edge(spec, store, tmp / "models", clock=ManualClock(T0), record=False)
        stop = asyncio.Event()
        task = asyncio.create_task(run_edge(edge, broker.url, stop, edge_id="e-restart",
                                            outbox=outbox, heartbeat_s=0.5,
                                            backoff=ReconnectPolicy(base_s=0.05, cap_s=0.2)))
        return edge, stop, task

    first = Outbox(path)
    edge, stop, task = edge_and_run(first)
    try:
        await signal.until(lambda: edge.stats.link.connect_failures >= 2, "retries")
        for n in range(5):
            edge.emit(make_intervention(f"kept-{n}"))
        assert edge.stats.link.state is LinkState.BUFFERING
    finally:
        await _stop_edge(stop, task)
        first.close()

    broker.start()
    sub = await _subscriber(broker.url, received, signal, "sub-restart")
    second = Outbox(path)  # the same file, reopened by a new edge process
    assert second.depth() >= 5
    edge, stop, task = edge_and_run(second)
    try:
        wanted = [f"kept-{n}" for n in range(5)]
        await signal.until(lambda: len(received) >= 5, "the kept interventions")
        await signal.until(lambda: second.depth() == 0, "an empty outbox")
        await sub.subscribed()
        assert [r["id"] for r in received] == wanted
        assert [r["seq"] for r in received] == [1, 2, 3, 4, 5]
    finally:
        await _stop_edge(stop, task)
        await sub.disconnect()
        broker.stop()
        second.close()
        store.close()


def test_items_buffered_before_a_restart_go_out_after_it(demo_spec: PlantSpec,
                                                         tmp_path: Path) -> None:
    """The broker is down from the start; the edge stops; a new edge on the same outbox file
    delivers what the first one kept, in order."""
    asyncio.run(_restart(demo_spec, tmp_path))
