"""One poisoned message must not stop the edge: lone surrogates in ``src`` / ``qr``.

``"src": "\\ud800"`` is valid JSON and decodes to a Python string no UTF-8 store can hold;
before the fix it failed the whole SQLite batch and ended ``andon edge`` (exit code 1), and
sent retained it did so on every restart. Real processes: our own Mosquitto, the edge
(``run_edge``) on it with a SQLite store. A batch mixing good samples with lone-surrogate
``src`` and ``qr`` payloads: the good ones are stored, the bad ones quarantined with a reason
naming the field (their payload kept), and the edge runs on; a restarted edge gets the
retained poison again and runs on too.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from andon.clock import ManualClock
from andon.connectors.mqtt import MqttClient
from andon.edge import Edge, build_edge, run_edge
from andon.spec import PlantSpec
from andon.store import SqlStore, open_store
from andon.testing import MosquittoProcess, until
from andon.testing.mosquitto import need_mosquitto_binary
from edge.faults import T0, clock_at, sample_time, tag_message

pytestmark = pytest.mark.mosquitto

LINE = "cooling-water"
TOPIC = "andon/v1/acme/ghent/utilities/cooling-water/p-101/vibration"
RETAINED_TOPIC = "andon/v1/acme/ghent/utilities/cooling-water/p-102/vibration"


def poison(seq: int, *, field: str) -> bytes:
    """A sample whose ``src`` or ``qr`` is an escaped lone surrogate (valid JSON)."""
    if field == "src":
        return (b'{"v":2.1,"u":"mm/s","q":"good","ts":%d,"seq":%d,"src":"\\ud800"}'
                % (sample_time(seq), seq))
    return (b'{"v":2.1,"u":"mm/s","q":"uncertain","qr":"\\udfff","ts":%d,"seq":%d,'
            b'"src":"plc-a"}' % (sample_time(seq), seq))


class RunningEdge:
    """``run_edge`` as a task, for one edge process's lifetime."""

    def __init__(self, edge: Edge, url: str) -> None:
        self.edge = edge
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(run_edge(edge, url, self.stop, edge_id="e-poison",
                                                 flush_every_s=0.05, heartbeat_s=3600.0))

    async def subscribed(self) -> None:
        await until(lambda: self.edge.intake is not None and self.edge.intake.ready.is_set(),
                    "the edge's intake subscribed")

    async def settled(self, received: int) -> None:
        """Every message received is written: stored, quarantined or a duplicate."""
        s = self.edge.stats
        await until(lambda: s.received >= received and self.edge.recorder.left() == 0
                    and not self.edge.recorder.samples
                    and s.recorded + s.quarantined + s.duplicates == s.received,
                    f"{received} messages received and written")
        assert not self.task.done(), "the edge stopped"

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 30)  # raises if the edge crashed


async def _story(spec: PlantSpec, tmp: Path) -> None:
    broker = MosquittoProcess(tmp)
    broker.start()
    store = open_store(f"sqlite:///{tmp / 'edge.db'}")
    pub = MqttClient(broker.url, "pub-poison")
    await pub.connect()
    clock = ManualClock(T0)
    clock_at(clock, 100)  # every sample below is in the edge's past
    try:
        pub.publish(RETAINED_TOPIC, poison(1, field="src"), retain=True)
        await pub.subscribed()  # the broker has it before the edge subscribes
        first = RunningEdge(build_edge(spec, store, tmp / "models", clock=clock,
                                       lines={LINE}), broker.url)
        await first.subscribed()
        await first.settled(1)  # the retained poison: quarantined, the edge runs on
        batch = [tag_message("plc-a", 10), tag_message("plc-a", 11),
                 (TOPIC, poison(12, field="src")), tag_message("plc-a", 13),
                 (TOPIC, poison(14, field="qr")), tag_message("plc-a", 15),
                 tag_message("plc-a", 16)]
        for topic, payload in batch:  # back to back: one or a few socket reads
            pub.publish(topic, payload)
        await first.settled(1 + len(batch))
        assert sorted(s.seq for s in store.samples()) == [10, 11, 13, 15, 16]
        _check_quarantine(store, expected=3)
        assert first.edge.stats.failed == 0
        await first.close()

        second = RunningEdge(build_edge(spec, store, tmp / "models", clock=clock,
                                        lines={LINE}), broker.url)  # a restart
        await second.subscribed()
        await second.settled(1)  # the retained poison again
        for seq in (20, 21):
            pub.publish(*tag_message("plc-a", seq))
        await second.settled(3)
        assert second.edge.stats.rejected == 1
        assert sorted(s.seq for s in store.samples()) == [10, 11, 13, 15, 16, 20, 21]
        _check_quarantine(store, expected=4)
        await second.close()
    finally:
        await pub.disconnect()
        broker.stop()
        store.close()


def _check_quarantine(store: SqlStore, *, expected: int) -> None:
    items = store.quarantined()
    assert len(items) == expected
    for item in items:
        assert "is not valid text: lone surrogate" in item.reason, item.reason
        assert "\n" not in item.reason
        assert item.payload.startswith(b'{"v":2.1'), "the payload is kept for inspection"
    src = [i for i in items if "'src'" in i.reason]
    qr = [i for i in items if "'qr'" in i.reason]
    assert len(qr) == 1
    assert len(src) == expected - 1
    assert "U+DFFF" in qr[0].reason
    assert all("U+D800" in i.reason for i in src)


def test_lone_surrogates_are_quarantined_and_the_edge_runs_on(demo_spec: PlantSpec,
                                                             tmp_path: Path) -> None:
    need_mosquitto_binary()
    asyncio.run(_story(demo_spec, tmp_path))
