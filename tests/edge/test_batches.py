"""``Edge.on_messages``: a read's messages as one batch, the same outcome as one by one.

The MQTT client hands the edge each socket read as a list (``MqttClient(on_batch=...)``);
the edge reads its clock once per list and resolves each topic once. Nothing of that may
change what is recorded, quarantined or counted, and a bug hit by one message must not take
the rest of its list with it.
"""

from __future__ import annotations

import random
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from andon.clock import ManualClock, utc
from andon.contracts import MAX_PAYLOAD_BYTES, Violation
from andon.edge import Edge, build_edge
from andon.namespace import Quality, Sample, encode_sample, parse_tag_topic
from andon.namespace.tagmap import site_maps
from andon.services.simulate import message_of
from andon.simulator import PlantSimulator
from andon.spec import PlantSpec
from andon.store import open_store

START = utc(2026, 3, 2, 8)
GOOD_TS = 1772438400000  # START in epoch ms
CANONICAL = "andon/v1/acme/ghent/utilities/cooling-water/p-101/flow"
AT = parse_tag_topic(CANONICAL)


def plant_messages(spec: PlantSpec, minutes: int) -> list[tuple[str, bytes]]:
    """What the demo plant's sources send: Ghent canonical, Porto legacy raw names."""
    sim = PlantSimulator(spec, seed=3, start=START)
    maps = site_maps(spec)
    return [message_of(s, maps) for step in sim.run_until(START + timedelta(minutes=minutes))
            for s in step]


def bad_messages() -> list[tuple[str, bytes]]:
    ok = b'{"v":1.5,"u":"m^3/h","ts":%d,"seq":%d,"src":"plc"}'
    return [
        (CANONICAL, b"{not json"),
        ("andon/v1/acme/ghent/nowhere", ok % (GOOD_TS, 1)),
        ("legacy/acme/porto/PLC9.DB1.W1", b'{"value": 1.5, "ts": 1772438400000}'),
        (CANONICAL, b"x" * (MAX_PAYLOAD_BYTES + 1)),
        ("andon/v1/acme/ghent/nowhere", b"y" * (MAX_PAYLOAD_BYTES + 1)),
        (CANONICAL, b'{"v":1e9,"u":"m^3/h","ts":%d,"seq":2,"src":"plc"}' % GOOD_TS),
        (CANONICAL, ok % (GOOD_TS, 3)),
        (CANONICAL, ok % (GOOD_TS, 3)),  # a duplicate
    ]


def outcome(edge: Edge) -> tuple[list[Sample], list[tuple[str, str, str]], dict[str, object]]:
    samples, _events, quarantined = edge.take_pending()
    kept = [(q.topic, q.rule, q.reason) for q in quarantined]
    return samples, kept, asdict(edge.stats)


@pytest.mark.parametrize("lines", [None, {"cooling-water"}])
def test_a_batch_records_quarantines_and_counts_exactly_what_one_by_one_does(
        demo_spec: PlantSpec, tmp_path: Path, lines: set[str] | None) -> None:
    messages = plant_messages(demo_spec, 40)
    replayed = messages[-60:-30]  # sent again at the end: duplicates
    rng = random.Random(5)
    for bad in bad_messages():  # spread through the stream
        messages.insert(rng.randrange(len(messages)), bad)
    messages += replayed
    with open_store(f"sqlite:///{tmp_path / 'o.db'}") as store:
        # the clock stands still: both edges see the same ingest time for every message
        one = build_edge(demo_spec, store, tmp_path, clock=ManualClock(START), lines=lines)
        many = build_edge(demo_spec, store, tmp_path, clock=ManualClock(START), lines=lines)
        for topic, payload in messages:
            one.on_message(topic, payload)
        i = 0
        while i < len(messages):  # reads of 1 to 200 messages
            n = rng.randint(1, 200)
            many.on_messages(messages[i:i + n])
            i += n
    expected, got = outcome(one), outcome(many)
    assert got[0] == expected[0]  # the same samples, in the same order
    assert got[1] == expected[1]  # the same quarantined messages and reasons
    assert got[2] == expected[2]  # the same counters
    stats = many.stats
    assert stats.received == len(messages)
    assert stats.windows > 0
    served = [t for t, _ in replayed if lines is None or not t.startswith("legacy/")]
    assert stats.duplicates == 1 + len(served)  # the one in bad_messages, and the replay
    assert stats.rejected == 5  # malformed, no tag topic, unknown raw name, two oversized
    legacy = sum(1 for t, _ in messages if t.startswith("legacy/acme/porto/"))
    assert stats.foreign == (0 if lines is None else legacy - 1)  # all but the unknown name
    reasons = [reason for _, _, reason in got[1]]
    assert any("is over the" in r and "sha256" in r for r in reasons)
    assert any("not a tag topic" in r for r in reasons)
    assert any("outside the valid range" in r for r in reasons)


def _faulty(edge: Edge) -> Edge:
    """The edge with a bug in its ingest's breach handling (fault injection, the test below)."""
    def breached(violations: tuple[Violation, ...], sample: Sample, topic: str | None,
                 payload: bytes | None, _ingest_ms: int) -> None:
        raise RuntimeError(f"bug in breach handling: {violations[0].rule} of {sample.seq} on "
                           f"{topic} ({payload!r:.20})")

    edge.ingest._breached = breached  # type: ignore[method-assign]
    return edge


def test_a_bug_hit_by_one_message_is_logged_and_the_rest_of_its_batch_goes_on(
        demo_spec: PlantSpec, tmp_path: Path) -> None:
    def sample(seq: int, value: float) -> tuple[str, bytes]:
        s = Sample(AT, value, "m^3/h", Quality.GOOD, GOOD_TS + seq * 60_000, seq, "plc")
        return CANONICAL, encode_sample(s)

    batch = [sample(1, 10.0), sample(2, 1e9), sample(3, 11.0)]  # the second breaks its range
    with open_store(f"sqlite:///{tmp_path / 'f.db'}") as store:
        edge = _faulty(build_edge(demo_spec, store, tmp_path, clock=ManualClock(START)))
        with capture_logs() as logs:
            edge.on_messages(batch)
    samples, _events, _quarantined = edge.take_pending()
    assert [s.seq for s in samples] == [1, 3]
    assert edge.stats.received == 3
    assert edge.stats.failed == 1
    failed = [e for e in logs if e["event"] == "message handling failed"]
    assert [e["topic"] for e in failed] == [CANONICAL]
    with pytest.raises(RuntimeError, match="bug in breach handling"):
        edge.on_message(*sample(4, 1e9))  # one message: the bug reaches its caller
    assert edge.stats.failed == 2
