"""The edge keeps every message: stored as a sample, quarantined with its rule, or a duplicate.

Real encoded payloads go through ``Edge.on_message`` and the periodic write into a real SQLite
store; each bad one must land in the quarantine with the right rule and its original bytes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from andon.clock import ManualClock, to_ms, utc
from andon.contracts import Rule
from andon.edge import Edge, build_edge
from andon.namespace import Quality, decode_sample, tag_topic
from andon.store import SqlStore

if TYPE_CHECKING:
    from pathlib import Path

    from andon.spec import PlantSpec

T0 = utc(2026, 3, 2, 8)
P101 = ("acme", "ghent", "utilities", "cooling-water", "p-101")
PR201 = ("acme", "ghent", "assembly", "press-line", "pr-201")


def topic(tag: str, where: tuple[str, ...] = P101) -> str:
    return tag_topic(*where, tag)


def payload(v: Any = 41.5, *, u: str = "degC", seq: int = 1, minute: int = 0,
            raw: str | None = None) -> bytes:
    ts = to_ms(T0) + minute * 60_000
    value = raw if raw is not None else json.dumps(v)
    return (f'{{"v":{value},"u":"{u}","q":"good","ts":{ts},"seq":{seq},'
            f'"src":"plc-ghent-cooling-water"}}').encode()


@pytest.fixture
def edge(demo_spec: PlantSpec, store: SqlStore, tmp_path: Path) -> Edge:
    return build_edge(demo_spec, store, tmp_path / "models", clock=ManualClock(T0))


#: (topic, payload, rule) of every bad message fed below
BAD: list[tuple[str, bytes, Rule]] = [
    (topic("bearing_temp"), b'{"v": 41.5, "u": "degC", "ts": ', Rule.MALFORMED),
    (topic("bearing_temp"), payload(raw="NaN", seq=10), Rule.MALFORMED),
    (topic("bearing_temp"), payload(raw="1e999", seq=11), Rule.MALFORMED),
    (topic("bearing_temp"), payload("nan", seq=12), Rule.MALFORMED),
    ("andon/v1/acme/ghent/not-a-tag-topic", payload(seq=13), Rule.MALFORMED),
    (topic("no_such_tag"), payload(seq=14), Rule.UNKNOWN_TAG),
    (topic("bearing_temp"), payload(999.0, seq=15, minute=1), Rule.OUT_OF_RANGE),
    (topic("bearing_temp"), payload(3.0, u="bar", seq=16, minute=1), Rule.UNIT_MISMATCH),
    (topic("stroke_count", PR201), payload(50, u="dimensionless", seq=18, minute=2),
     Rule.COUNTER_DECREASED),
]


def feed(edge: Edge) -> list[tuple[str, bytes]]:
    """Feed good, bad and duplicate messages in a realistic order; return the good ones."""
    good = [
        (topic("bearing_temp"), payload(41.5, seq=1)),
        (topic("vibration"), payload(2.1, u="mm/s", seq=2)),
        (topic("bearing_temp"), payload(107.6, u="degF", seq=3, minute=1)),  # converted: 42 degC
        (topic("stroke_count", PR201), payload(100, u="dimensionless", seq=17, minute=1)),
    ]
    for t, p in good[:2]:
        edge.on_message(t, p)
    for t, p, _ in BAD[:8]:
        edge.on_message(t, p)
    for t, p in good[2:]:
        edge.on_message(t, p)
    edge.on_message(*BAD[8][:2])
    edge.on_message(*good[0])  # a duplicate (the producer sent it again)
    return good


def test_every_bad_message_is_quarantined_with_its_rule_and_original_payload(
    edge: Edge, store: SqlStore,
) -> None:
    feed(edge)
    edge.flush()
    stored = sorted(store.quarantined(limit=100), key=lambda q: q.id or 0)
    assert [(q.topic, q.payload, q.rule) for q in stored] == BAD
    assert all(q.received_at == T0 and not q.truncated for q in stored)
    by_rule = {q.rule: q for q in stored}
    assert "not JSON" in stored[0].reason
    assert stored[0].source is None  # a broken payload has no readable source
    assert stored[1].source == "plc-ghent-cooling-water"
    assert "'v' must be a finite number" in stored[1].reason
    oor = by_rule[Rule.OUT_OF_RANGE]
    assert oor.address is not None
    assert (oor.address.asset, oor.address.tag) == ("p-101", "bearing_temp")
    assert oor.reason == ("acme/ghent/utilities/cooling-water/p-101/bearing_temp: value 999 degC "
                          "is outside the valid range [-10, 150]")
    assert "'bar'" in by_rule[Rule.UNIT_MISMATCH].reason
    assert "expected unit degC" in by_rule[Rule.UNIT_MISMATCH].reason
    assert store.count_quarantined_by_rule() == {
        "counter_decreased": 1, "malformed": 5, "out_of_range": 1, "unit_mismatch": 1,
        "unknown_tag": 1}


def test_good_messages_are_stored_in_the_canonical_unit(edge: Edge, store: SqlStore) -> None:
    feed(edge)
    edge.flush()
    samples = {(s.address.tag, s.seq): s for s in store.samples()}
    assert sorted(samples) == [("bearing_temp", 1), ("bearing_temp", 3), ("stroke_count", 17),
                               ("vibration", 2)]
    converted = samples["bearing_temp", 3]
    assert converted.unit == "degC"
    assert converted.value == pytest.approx(42.0)
    assert converted.quality is Quality.GOOD


def test_nothing_is_dropped_silently(edge: Edge, store: SqlStore) -> None:
    good = feed(edge)
    edge.flush()
    s = edge.stats
    assert s.received == len(good) + len(BAD) + 1
    assert (s.recorded, s.quarantined, s.duplicates) == (len(good), len(BAD), 1)
    assert s.received == s.recorded + s.quarantined + s.duplicates
    assert store.sample_count() + len(store.quarantined(limit=1000)) + s.duplicates == s.received
    assert s.rejected == 5


def test_breaches_become_events_rate_limited_per_tag_and_rule(edge: Edge,
                                                              store: SqlStore) -> None:
    feed(edge)
    for seq in range(100, 110):  # ten more out-of-range values of the same tag
        edge.on_message(topic("bearing_temp"), payload(500.0, seq=seq, minute=3))
    edge.flush()
    quality = store.events(kind="data_quality")
    assert sorted(e.detail.split(":")[0] for e in quality) == [
        "counter_decreased", "out_of_range", "unit_mismatch", "unknown_tag"]
    assert {e.subject for e in quality} >= {
        "acme/ghent/utilities/cooling-water/p-101/bearing_temp",
        "acme/ghent/assembly/press-line/pr-201/stroke_count"}
    assert edge.quality_events.counts[Rule.OUT_OF_RANGE] == 11
    rejected = store.events(kind="rejected_message")
    # one per topic and hour: four malformed messages on bearing_temp, one elsewhere
    assert len(rejected) == 2
    assert len(store.quarantined(rule="out_of_range")) == 11


def test_a_sample_fed_without_its_message_is_quarantined_re_encoded(
    edge: Edge, store: SqlStore,
) -> None:
    sample = decode_sample(topic("bearing_temp"), payload(999.0))
    edge.on_sample(sample)
    edge.flush()
    (item,) = store.quarantined()
    assert item.rule is Rule.OUT_OF_RANGE
    assert decode_sample(item.topic, item.payload) == sample


def test_an_oversized_payload_is_kept_truncated(edge: Edge, store: SqlStore) -> None:
    big = b"[" + b"1," * 50_000 + b"1]"
    edge.on_message(topic("bearing_temp"), big)
    edge.flush()
    (item,) = store.quarantined()
    assert (item.rule, item.size, len(item.payload), item.truncated) == (
        Rule.MALFORMED, len(big), 64 * 1024, True)
