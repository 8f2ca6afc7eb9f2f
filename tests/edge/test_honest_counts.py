"""Every message the edge receives is recorded, quarantined with a reason, or counted as an
exact duplicate, and the counts add up: received = recorded + quarantined + duplicates.

Through ``Edge.on_message`` into a real SQLite store (``flush``), on a manual clock.
"""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

from andon.audit import Event, EventKind
from andon.cli.app import app
from andon.clock import ManualClock, utc
from andon.connectors.mqtt import MqttClient
from andon.edge import Edge, build_edge
from andon.edge.heartbeat import EdgeIdentity, edge_document
from andon.namespace import Quality, Sample, encode_sample, parse_tag_topic
from andon.spec import PlantSpec
from andon.store import open_store
from andon.testing import MosquittoProcess, until
from andon.testing.mosquitto import need_mosquitto_binary
from andon.testing.unique import unique_id

START = utc(2026, 3, 2, 8)
GOOD_TS = 1772438400000  # START in epoch ms
CANONICAL = "andon/v1/acme/ghent/utilities/cooling-water/p-101/flow"
AT = parse_tag_topic(CANONICAL)
assert AT is not None


def message(seq: int, value: float, *, source: str = "plc", ts_ms: int | None = None,
            ) -> tuple[str, bytes]:
    ts = GOOD_TS + seq * 60_000 if ts_ms is None else ts_ms
    return CANONICAL, encode_sample(Sample(AT, value, "m^3/h", Quality.GOOD, ts, seq, source))


def add_up(edge: Edge) -> None:
    """received = recorded + quarantined + duplicates, once everything is written."""
    edge.flush()
    s = edge.stats
    assert s.received == s.recorded + s.quarantined + s.duplicates, s
    c = s.counts()
    assert c["pending"] == 0, c
    assert c["received"] + c["filled"] == sum(c[k] for k in (
        "recorded", "quarantined", "duplicates", "foreign", "failed", "dropped", "pending"))


def test_a_same_seq_sample_with_another_value_is_quarantined_not_counted_as_duplicate(
        demo_spec: PlantSpec, tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'e.db'}") as store:
        edge = build_edge(demo_spec, store, tmp_path, clock=ManualClock(START))
        edge.on_message(*message(17, 41.0))
        edge.on_message(*message(17, 41.0))  # exact duplicate
        edge.on_message(*message(17, 43.5))  # same seq, time and tag: another value
        edge.on_message(*message(18, 42.0))
        add_up(edge)
        assert edge.stats.duplicates == 1
        assert edge.stats.conflicting == 1
        assert edge.stats.quarantined == 1
        assert edge.stats.recorded == 2
        assert [(s.seq, s.value) for s in store.samples()] == [(17, 41.0), (18, 42.0)]
        [kept] = store.quarantined()
        assert kept.rule == "conflicting_duplicate"
        assert "seq 17 from plc" in kept.reason
        assert "already seen with v=41.0; this one has v=43.5" in kept.reason
        assert "\n" not in kept.reason
        assert b'"v":43.5' in kept.payload  # the message itself is kept


def test_a_same_seq_sample_at_another_time_is_new_data(demo_spec: PlantSpec,
                                                       tmp_path: Path) -> None:
    """A producer that restarts its sequence sends the same seq at a later time: recorded."""
    with open_store(f"sqlite:///{tmp_path / 'e.db'}") as store:
        edge = build_edge(demo_spec, store, tmp_path, clock=ManualClock(START))
        edge.on_message(*message(5, 41.0))
        edge.on_message(*message(5, 41.0, ts_ms=GOOD_TS + 60 * 60_000))
        add_up(edge)
        assert edge.stats.recorded == 2
        assert edge.stats.duplicates == edge.stats.conflicting == 0


def test_a_source_id_longer_than_the_store_keeps_is_quarantined_with_its_length(
        demo_spec: PlantSpec, tmp_path: Path) -> None:
    long_src = "p" * 10_000
    with open_store(f"sqlite:///{tmp_path / 'e.db'}") as store:
        edge = build_edge(demo_spec, store, tmp_path, clock=ManualClock(START))
        edge.on_message(*message(1, 41.0, source=long_src))
        edge.on_message(*message(2, 41.0, source="p" * 200))  # at the limit: kept
        unit = CANONICAL, (b'{"v":1,"u":"%s","ts":%d,"seq":3,"src":"plc"}'
                           % (b"m" * 101, GOOD_TS))
        edge.on_message(*unit)
        # a connector's sample (decoded by itself) gets the same rule
        edge.on_sample(Sample(AT, 41.0, "m^3/h", Quality.GOOD, GOOD_TS + 240_000, 4, long_src))
        add_up(edge)
        assert edge.stats.received == 4
        assert [s.source for s in store.samples()] == ["p" * 200]
        reasons = sorted((q.topic, q.reason) for q in store.quarantined())
        assert reasons == [
            (CANONICAL, "'src' is 10000 characters, over the 200 the store keeps"),
            (CANONICAL, "'src' is 10000 characters, over the 200 the store keeps"),
            (CANONICAL, "'u' is 101 characters, over the 100 the store keeps"),
        ]
        # the quarantine's own source column (a label) is cut to its width; the payload is not
        assert {q.source for q in store.quarantined() if "'src'" in q.reason} == {"p" * 200}
        kept = {len(q.payload) for q in store.quarantined()}
        assert all(n > 10_000 for n in kept - {len(unit[1])}), "the payloads are kept whole"


def test_the_decoders_limits_are_the_store_columns() -> None:
    from andon.namespace.sample import MAX_SOURCE_CHARS, MAX_UNIT_CHARS  # noqa: PLC0415
    from andon.store.schema import SAMPLES  # noqa: PLC0415

    assert SAMPLES.c.source.type.length == MAX_SOURCE_CHARS  # type: ignore[attr-defined]
    assert SAMPLES.c.unit.type.length == MAX_UNIT_CHARS  # type: ignore[attr-defined]


FLOOD = 20_000  # distinct garbage topics


def test_a_flood_of_distinct_unknown_topics_keeps_memory_and_events_bounded(
        demo_spec: PlantSpec, tmp_path: Path) -> None:
    """20,000 distinct unknown tags: every message kept and counted, ~100 events, no per-topic
    state (before: 20,000 events and ~16 MB held by the topic caches and event keys)."""
    payload = b'{"v":1,"u":"m","ts":%d,"seq":%%d,"src":"x"}' % GOOD_TS
    flood = [(f"andon/v1/acme/ghent/utilities/cooling-water/junk-{i}/t{i}", payload % i)
             for i in range(FLOOD)]
    with open_store(f"sqlite:///{tmp_path / 'e.db'}") as store:
        edge = build_edge(demo_spec, store, tmp_path, clock=ManualClock(START))
        edge.on_message(*message(1, 41.0))  # a route kept, the state warm
        edge.flush()
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for i in range(0, FLOOD, 500):
                edge.on_messages(flood[i:i + 500])
                edge.flush()
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        add_up(edge)
        assert edge.stats.received == FLOOD + 1
        assert edge.stats.quarantined == FLOOD
        assert store.count_quarantined_by_rule() == {"unknown_tag": FLOOD}, "every one kept"
        events = store.events(limit=10 * FLOOD)
        assert 100 <= len(events) <= 110
        [crowd] = [e for e in events if e.subject == "unknown_tag:*"]
        assert "more than 100 distinct subjects" in crowd.detail
        assert grown < 2_000_000, f"{grown} bytes held after the flood"


async def _reconnects(edge: Edge, url: str, times: int) -> None:
    """Subscribe the edge's intake ``times`` times, as reconnects do; each gets the retained."""
    for n in range(1, times + 1):
        intake = MqttClient(url, f"intake-{unique_id()}", on_batch=edge.on_messages,
                            subscriptions=edge.ingest.subscriptions())
        await intake.connect()
        try:
            await intake.subscribed()
            await until(lambda n=n: edge.stats.received >= n, f"delivery {n}", 30)
        finally:
            await intake.disconnect()


@pytest.mark.mosquitto
def test_retained_garbage_is_quarantined_once_not_on_every_reconnect(
        demo_spec: PlantSpec, tmp_path: Path) -> None:
    need_mosquitto_binary()
    garbage = b'{"v":"not a number","u":"m^3/h"}'
    with MosquittoProcess(tmp_path) as broker, \
            open_store(f"sqlite:///{tmp_path / 'e.db'}") as store:
        edge = build_edge(demo_spec, store, tmp_path, clock=ManualClock(START))

        async def story() -> None:
            pub = MqttClient(broker.url, "gateway")
            await pub.connect()
            pub.publish(CANONICAL, garbage, qos=1, retain=True)
            await pub.subscribed()  # a round trip: the broker has it
            await _reconnects(edge, broker.url, 3)
            await pub.disconnect()

        asyncio.run(story())
        add_up(edge)
        assert edge.stats.received == 3
        assert edge.stats.quarantined == 1
        assert edge.stats.duplicates == edge.stats.retained_repeats == 2
        [kept] = store.quarantined()
        assert kept.payload == garbage
        assert kept.topic == CANONICAL
        # the same bytes sent live (not from the retained store) are a new message: kept
        edge.on_message(CANONICAL, garbage)
        add_up(edge)
        assert len(store.quarantined()) == 2


def test_andon_status_shows_counts_that_add_up(demo_spec: PlantSpec, tmp_path: Path) -> None:
    """The heartbeat carries the edge's counts; ``andon status`` shows them as their sum."""
    db = f"sqlite:///{tmp_path / 'e.db'}"
    with open_store(db) as store:
        edge = build_edge(demo_spec, store, tmp_path, clock=ManualClock(START))
        for topic, payload in [message(1, 41.0), message(1, 41.0), message(1, 40.0),
                               message(2, 1e9), message(3, 42.0)]:
            edge.on_message(topic, payload)
        c = edge.stats.counts()
        assert c["pending"] == 2  # seq 1 and 3, not written yet: pending, so the sum holds
        add_up(edge)
        c = edge.stats.counts()
        ident = EdgeIdentity("e-counts", "acme", heartbeat_s=5.0)
        doc = edge_document(ident, "heartbeat", at=START, link="online", buffer_depth=0,
                            dropped={}, models={}, extra={"session": "s", "counts": c})
        store.add_event(Event(EventKind.EDGE_HEARTBEAT, "e-counts", json.dumps(doc), START))
    result = CliRunner().invoke(app, ["status", "--db", db], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert ("received 5 = recorded 2 + quarantined 2 (1 conflicting) + duplicates 1"
            in result.output), result.output
