"""100,000 hostile messages through the real broker into a running edge: nothing is lost.

Hypothesis generates batches of 1,000 messages — invalid JSON, wrong types, NaN/Inf, unknown
tags, topic tricks (``..``, very deep and very long topics, odd unicode, empty levels),
timestamps in 1970 and 2100, negative sequence numbers, wrong units, legacy raw names the map
does not know — mixed with valid canonical and legacy (tag-mapped) traffic, and publishes them
on the shared Mosquitto (127.0.0.1:1883) under a topic root unique to the run. A few 10 MB
payloads go the same way. The edge runs for real (``run_edge``: gmqtt, contracts, windows,
batched SQLite writes).

Pass: the edge never crashes or hangs (every wait is bounded), every message received is
accounted for (received = stored + quarantined + duplicates), every valid sample is in the
store, every invalid one is quarantined with a one-line reason, a 10 MB payload is kept as its
first 64 KiB with its size and SHA-256, and the process's memory stays bounded. Wildcards and
control characters in a topic are refused by the client before they reach the broker.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import os
import random
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from andon.clock import ManualClock, from_ms
from andon.connectors.legacy import encode_legacy, legacy_topic
from andon.connectors.mqtt import MqttClient
from andon.contracts import MAX_PAYLOAD_BYTES
from andon.edge import Edge, build_edge, run_edge
from andon.edge.link import LinkState
from andon.namespace import Quality, Sample, TagAddress, encode_sample
from andon.namespace.tagmap import site_maps
from andon.spec import PlantSpec, load_spec_text
from andon.store import SqlStore, open_store
from andon.testing import eventually, need, unique_id, until
from andon.units import check_unit

pytestmark = [pytest.mark.mosquitto,
              # a failing batch is 8,000 bytes: its repr is long, and that is fine
              pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")]

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-plant.yaml"
URL = "mqtt://127.0.0.1:1883"
BATCH = 1000
BATCHES = int(os.environ.get("ANDON_FUZZ_BATCHES", "100"))  # x BATCH = 100,000 messages
NOW_MS = 1_772_438_400_000  # 2026-03-02T08:00Z: the edge's (manual) clock and valid samples
WAIT_S = 30.0  # longest bounded wait for one batch to be handled
RSS_BOUND = 250 * 1024 * 1024  # bytes the process may grow by over the whole run
RSS_LATE_BOUND = 48 * 1024 * 1024  # ... and over the second half of the batches (no leak)
T = TypeVar("T")

# -- what the plant looks like to the fuzzer ----------------------------------------------------
RUN = unique_id("fz")  # the enterprise id: a topic root no other test uses
SPEC: PlantSpec = load_spec_text(DEMO.read_text(encoding="utf-8").replace("id: acme", f"id: {RUN}"),
                                 "demo-plant.yaml")
MAPS = site_maps(SPEC)
TAGS = [(s, a, ln, x, t) for s, a, ln, x in SPEC.assets() for t in x.tags
        if not t.is_counter]  # a counter must never go down: random valid values would
LEGACY = [(b.raw, b) for m in MAPS.values() for b in m.bindings.values()]
SITES = sorted(MAPS)
SEQ = itertools.count(1)
ADDRESSES = [TagAddress(RUN, s.id, a.id, ln.id, x.id, t.name) for s, a, ln, x, t in TAGS]


@dataclass(frozen=True)
class Msg:
    """One generated message: what it should become, and how to build it."""

    expect: str  # "valid" (stored), "invalid" (quarantined) or "either" (implausible time)
    topic: str
    payload: bytes = b""
    sample: Sample | None = None  # valid ones: built at publish time with a unique seq
    legacy: bool = False


def tag_topic(i: int, asset: str | None = None, tag: str | None = None) -> str:
    a = ADDRESSES[i % len(ADDRESSES)]
    return (f"andon/v1/{RUN}/{a.site}/{a.area}/{a.line}/{asset if asset is not None else a.asset}"
            f"/{tag if tag is not None else a.tag}")


def good_doc(i: int, value: float) -> dict[str, Any]:
    """A well-formed payload; a fresh (source, seq), so it is never dropped as a duplicate."""
    _s, _a, _ln, _x, t = TAGS[i % len(TAGS)]
    return {"v": value, "u": t.unit, "q": "good", "ts": NOW_MS, "seq": next(SEQ), "src": "fz"}


# -- message builders: every kind the issue lists, each from a seeded Random --------------------
# Hypothesis draws each batch as 8 bytes per message (kind, seed): drawing 100,000 structured
# messages element by element takes minutes on a loaded 2-core machine; one binary draw per
# batch takes milliseconds, stays derandomized and reproducible, and still lets Hypothesis pick
# (and replay) the mix.
ODD = "\u00e9\u4e2d\U0001f600\u202e\u200b\u0301 \\'\"..%$*&<>"


def odd_text(rnd: random.Random, n: int = 8) -> str:
    return "".join(rnd.choice(ODD) for _ in range(rnd.randint(0, n)))


def valid(rnd: random.Random) -> Msg:
    i = rnd.randrange(len(TAGS))
    s, _a, _ln, _x, t = TAGS[i]
    low, high = t.range  # an enum tag (a line state) is valid only at its declared values
    value = float(rnd.choice(t.enum)) if t.enum else round(rnd.uniform(low, high), 4)
    sample = Sample(ADDRESSES[i], value, t.unit, Quality.GOOD,
                    NOW_MS - rnd.randrange(3_600_000), 0, "")
    return Msg("valid", "", sample=sample, legacy=s.id in MAPS and rnd.random() < 0.5)


def bad_json(rnd: random.Random) -> Msg:
    payload = rnd.choice([
        rnd.randbytes(rnd.randrange(64)), b"", b"{", b"null", b"[1,2]", b'"v"', b"{'v': 1}",
        b"\xff\xfe{}", b'{"v": 1,}', b"[" * 5000 + b"]" * 5000, b'{"v":' * 2000,
    ])
    return Msg("invalid", tag_topic(rnd.randrange(10_000)), payload)


WRONG = [None, True, False, [1, 2], {"x": 1}]  # wrong for every field; per field, one more


def wrong_type(rnd: random.Random) -> Msg:
    i = rnd.randrange(10_000)
    doc = good_doc(i, 1.0)
    key = rnd.choice(["v", "u", "q", "ts", "seq", "src"])
    doc[key] = rnd.choice([*WRONG, {"v": "1.5", "u": 3.5, "q": "great", "ts": 1.5, "seq": 1.5,
                                    "src": ""}[key]])

    return Msg("invalid", tag_topic(i), json.dumps(doc).encode())


def not_finite(rnd: random.Random) -> Msg:
    i = rnd.randrange(10_000)
    text = rnd.choice(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" + "0" * 400])
    body = json.dumps(good_doc(i, 1.0)).replace('"v": 1.0', f'"v": {text}')
    return Msg("invalid", tag_topic(i), body.encode())


def unknown_tag(rnd: random.Random) -> Msg:
    i = rnd.randrange(10_000)
    name = rnd.choice(["nosuch", "..", ".", "x" * 300, "P-101", "flow ", odd_text(rnd) + "\u202e"])
    topic = tag_topic(i, asset=name) if rnd.random() < 0.5 else tag_topic(i, tag=name)
    return Msg("invalid", topic, json.dumps(good_doc(i, 1.0)).encode())


def topic_trick(rnd: random.Random) -> Msg:
    """Topics under a subscribed prefix that are not tag topics (or name nothing mapped)."""
    i = rnd.randrange(10_000)
    kind = rnd.choice(["deep", "long", "unicode", "empty", "dots", "tag-empty"])
    rest = {
        "deep": "/".join(["x"] * rnd.randint(2, 150)),
        "long": "r" * rnd.randint(1000, 20_000),
        "unicode": odd_text(rnd) + "\u00e9\u4e2d\U0001f600",
        "empty": "/" * rnd.randint(1, 5),
        "dots": "../" * rnd.randint(1, 5) + "..",
        "tag-empty": "",
    }[kind]
    if kind == "tag-empty":
        return Msg("invalid", tag_topic(i, tag=""), json.dumps(good_doc(i, 1.0)).encode())
    return Msg("invalid", legacy_topic(RUN, rnd.choice(SITES), rest),
               b'{"value": 1, "ts": 1772438400000}')


def odd_time(rnd: random.Random) -> Msg:
    """1970 and 2100: well formed but implausible (stored or quarantined, never lost)."""
    i = rnd.randrange(len(TAGS))
    doc = good_doc(i, TAGS[i][4].range[0])
    doc["ts"] = rnd.choice([0, 1, 86_400_000, 4_102_444_800_000, 4_102_444_800_000 * 2])
    doc["seq"] = rnd.randrange(2**62)
    doc["src"] = "fz-time"
    return Msg("either", tag_topic(i), json.dumps(doc).encode())


def negative_seq(rnd: random.Random) -> Msg:
    i = rnd.randrange(10_000)
    doc = good_doc(i, 1.0)
    doc["seq"] = -rnd.randint(1, 2**70)
    return Msg("invalid", tag_topic(i), json.dumps(doc).encode())


def wrong_unit(rnd: random.Random) -> Msg:
    i = rnd.randrange(len(TAGS))
    t = TAGS[i][4]
    unit = rnd.choice(["bogon/fortnight", "", "%%", "kg", "V", "bar*degC", "1/0"])
    if check_unit(unit, t.quantity) is None:  # "" and "%%" are fine for a ratio: not wrong
        unit = "bar*degC"
    doc = good_doc(i, t.range[0])
    doc["u"] = unit
    return Msg("invalid", tag_topic(i), json.dumps(doc).encode())


def unknown_raw(rnd: random.Random) -> Msg:
    site = rnd.choice(SITES)
    raw = f"PLC9.DB{rnd.randrange(1000)}{odd_text(rnd)}"
    return Msg("invalid", legacy_topic(RUN, site, raw), b'{"value": 1.0, "ts": 1772438400000}')


def bad_legacy_payload(rnd: random.Random) -> Msg:
    raw, _b = rnd.choice(LEGACY)
    huge = json.dumps({"value": 1e308, "ts": 1, "seq": next(SEQ)}).encode()  # out of range
    payload = rnd.choice([b"1.0", b"{}", b'{"value": NaN, "ts": 1}', b'{"value": 1, "ts": "now"}',
                          b'{"value": 1, "ts": 1, "seq": -4}', b'{"value": true, "ts": 1}',
                          b"\x00", huge])
    return Msg("invalid", legacy_topic(RUN, SITES[0], raw), payload)


def duplicate(rnd: random.Random) -> Msg:
    """The same valid sample again and again: stored once, then dropped and counted."""
    i = rnd.randrange(4)
    doc = good_doc(i, TAGS[i][4].range[0])
    doc["seq"], doc["src"] = i, "fz-dup"
    return Msg("either", tag_topic(i), json.dumps(doc).encode())


BUILDERS = [valid, valid, valid, valid, duplicate, bad_json, wrong_type, not_finite, unknown_tag,
            topic_trick, odd_time, negative_seq, wrong_unit, unknown_raw, bad_legacy_payload]


def batch_of(data: bytes) -> list[Msg]:
    """One message per 8 bytes: the first picks the kind, the other 7 seed its builder."""
    return [BUILDERS[data[k] % len(BUILDERS)](random.Random(data[k + 1:k + 8]))
            for k in range(0, len(data), 8)]


batches = st.binary(min_size=8 * BATCH, max_size=8 * BATCH)


# -- the running edge, on its own event loop thread ---------------------------------------------
@dataclass
class Harness:
    """``run_edge`` and a publisher on one background event loop; the test drives it."""

    store: SqlStore
    edge: Edge
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    stop: asyncio.Event | None = None
    task: asyncio.Future[None] | None = None
    publisher: MqttClient | None = None
    seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    valid: set[tuple[str, str, int]] = field(default_factory=set)  # (asset, tag, seq) expected
    thread: threading.Thread | None = None
    refused: int = 0  # topics the client refused (MQTT forbids them); never sent

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = WAIT_S) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-edge", daemon=True)
        self.thread.start()
        self.call(self._start())

    async def _start(self) -> None:
        self.stop = asyncio.Event()
        self.task = asyncio.ensure_future(run_edge(
            self.edge, URL, self.stop, flush_every_s=0.05, reload_every_s=3600.0,
            edge_id=f"edge-{RUN}", heartbeat_s=3600.0))
        self.publisher = MqttClient(URL, f"pub-{RUN}")
        await self.publisher.connect()
        publisher = self.publisher

        def probed() -> int:
            """The edge is online and subscribed once a probe arrives."""
            if self.edge.stats.link.state is LinkState.ONLINE:
                publisher.publish(f"andon/v1/{RUN}/ghent/utilities/cooling-water/p-101/probe",
                                  b"probe")
            return self.edge.stats.received

        await until(probed, "the edge to come online and subscribe", 10,
                    state=lambda: self.edge.stats.link.state)

    def publish(self, batch: list[Msg]) -> list[Msg]:
        """Publish a batch; returns the messages that went out (the client refuses some)."""
        return self.call(self._publish(batch))

    async def _publish(self, batch: list[Msg]) -> list[Msg]:
        assert self.publisher is not None
        sent: list[Msg] = []
        for m in batch:
            topic, payload = m.topic, m.payload
            if m.sample is not None:
                seq = next(self.seq)
                s = m.sample
                sample = Sample(s.address, s.value, s.unit, s.quality, s.ts_ms, seq, f"v-{RUN}")
                self.valid.add((s.address.asset, s.address.tag, seq))
                binding = MAPS[s.address.site].binding_of(s.address) if m.legacy else None
                topic, payload = (encode_legacy(sample, binding) if binding is not None
                                  else (s.address.topic, encode_sample(sample)))
            try:
                self.publisher.publish(topic, payload)
            except ValueError:
                assert m.sample is None, f"a valid message was refused: {topic!r}"
                self.refused += 1
                continue
            sent.append(m)
        await asyncio.sleep(0)
        return sent

    def settle(self, received: int) -> None:
        """Wait (bounded) until ``received`` messages arrived and all of them are written."""
        stats = self.edge.stats

        def seen() -> str:
            return (f"received {stats.received}/{received}, recorded {stats.recorded}, "
                    f"duplicates {stats.duplicates}, quarantined {stats.quarantined}; "
                    f"edge task done: {self.task and self.task.done()}")

        def done() -> bool:
            assert self.task is None or not self.task.done(), f"the edge stopped: {seen()}"
            return (stats.received >= received
                    and stats.recorded + stats.duplicates + stats.quarantined == stats.received)

        eventually(done, "the edge to settle", WAIT_S, every_s=0.02, state=seen)

    def flush(self) -> None:
        """Write what the edge has pending now (on the loop thread, which feeds the edge)."""
        async def _flush() -> None:
            self.edge.flush()

        self.call(_flush())

    def close(self) -> None:
        async def _close() -> None:
            if self.publisher is not None:
                await self.publisher.disconnect()
            if self.stop is not None and self.task is not None:
                self.stop.set()
                await asyncio.wait_for(self.task, WAIT_S)

        try:
            self.call(_close(), WAIT_S + 5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            if self.thread is not None:
                self.thread.join(10)
            self.loop.close()


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    need("Mosquitto", "127.0.0.1", 1883)
    tmp = tmp_path_factory.mktemp("fuzz")
    store = open_store(f"sqlite:///{tmp / 'andon.db'}")
    edge = build_edge(SPEC, store, tmp / "models", clock=ManualClock(from_ms(NOW_MS)))
    h = Harness(store, edge)
    h.start()
    try:
        yield h
    finally:
        h.close()
        store.close()


def rss_bytes() -> int:
    """This process's resident set size (Linux ``/proc``)."""
    pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


@dataclass
class Totals:
    published: int = 0
    batches: int = 0
    rss_before: int = 0
    rss: list[int] = field(default_factory=list)  # after each batch


TOTALS = Totals()


def test_the_client_refuses_topics_mqtt_forbids(harness: Harness) -> None:
    assert harness.publisher is not None
    for topic in ["a/+/b", "a/#", "+", "#", "", "a\x00b", "a\x1fb", "a\ud800b",
                  "x" * 70_000]:
        with pytest.raises(ValueError, match="cannot publish on topic"):
            harness.publisher.publish(topic, b"1")
    TOTALS.rss_before = rss_bytes()


@settings(max_examples=BATCHES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck), phases=(Phase.generate,))
@given(batches)
def test_hostile_traffic_is_stored_or_quarantined_never_lost(harness: Harness,
                                                            data: bytes) -> None:
    stats = harness.edge.stats
    before = (stats.received, stats.recorded + stats.duplicates, stats.quarantined)
    batch = harness.publish(batch_of(data))
    TOTALS.published += len(batch)
    TOTALS.batches += 1
    harness.settle(before[0] + len(batch))
    stored = stats.recorded + stats.duplicates - before[1]
    quarantined = stats.quarantined - before[2]
    count = {k: sum(1 for m in batch if m.expect == k) for k in ("valid", "invalid", "either")}
    assert stats.received - before[0] == len(batch)
    assert stored + quarantined == len(batch)
    assert stored >= count["valid"]
    assert quarantined >= count["invalid"], unexpected(harness)
    assert stored <= count["valid"] + count["either"], unexpected(harness)
    TOTALS.rss.append(rss_bytes())


def unexpected(harness: Harness) -> str:
    """Stored samples that no valid or implausible-time message should have made."""
    odd = [s for s in harness.store.samples()
           if s.source not in {f"v-{RUN}", "fz-time", "fz-dup"}]
    return f"stored but expected quarantined: {odd[:5]}"


def test_every_valid_sample_is_stored_and_every_reject_has_a_reason(harness: Harness) -> None:
    assert TOTALS.batches == BATCHES
    assert TOTALS.published + harness.refused == BATCH * BATCHES
    assert TOTALS.published >= 0.99 * BATCH * BATCHES
    stats = harness.edge.stats
    harness.flush()
    assert stats.received == stats.recorded + stats.duplicates + stats.quarantined
    stored = {(s.address.asset, s.address.tag, s.seq)
              for s in harness.store.samples() if s.source == f"v-{RUN}"}
    assert stored == harness.valid
    counts = harness.store.count_quarantined_by_rule()
    assert sum(counts.values()) == stats.quarantined
    assert {"malformed", "unknown_tag", "unit_mismatch"} <= set(counts)
    for item in harness.store.quarantined(limit=5000):
        assert item.reason
        assert "\n" not in item.reason
        assert len(item.payload) <= MAX_PAYLOAD_BYTES


def test_ten_megabyte_payloads_are_kept_truncated_with_size_and_hash(harness: Harness) -> None:
    big = [
        (f"andon/v1/{RUN}/ghent/utilities/cooling-water/p-101/flow", b"{" * 10_000_000),
        (f"andon/v1/{RUN}/ghent/utilities/cooling-water/p-101/flow",  # valid JSON, huge src
         json.dumps({"v": 1.0, "u": "m^3/h", "ts": NOW_MS, "seq": 1,
                     "src": "s" * 10_000_000}).encode()),
        (legacy_topic(RUN, "porto", "Pump_01_Temp_F"), b"7" * 10_000_000),
    ]
    stats = harness.edge.stats
    received = stats.received
    harness.call(_publish_raw(harness, big), WAIT_S)
    harness.settle(received + len(big))
    harness.flush()
    items = [q for q in harness.store.quarantined(limit=5000) if q.size >= 10**7]
    assert len(items) == len(big), [(q.topic, q.size, q.rule, q.reason[:80]) for q in items]
    for item in items:
        original = next(p for t, p in big if t[:1024] == item.topic and len(p) == item.size)
        assert item.truncated
        assert len(item.payload) == MAX_PAYLOAD_BYTES
        assert item.payload == original[:MAX_PAYLOAD_BYTES]
        assert f"sha256 {hashlib.sha256(original).hexdigest()}" in item.reason
        assert f"payload of {len(original)} bytes is over the" in item.reason


async def _publish_raw(harness: Harness, messages: list[tuple[str, bytes]]) -> None:
    assert harness.publisher is not None
    for topic, payload in messages:
        harness.publisher.publish(topic, payload)
    await asyncio.sleep(0)


def test_memory_stays_bounded(harness: Harness) -> None:
    assert TOTALS.rss_before
    grown = rss_bytes() - TOTALS.rss_before
    half = len(TOTALS.rss) // 2
    late = max(TOTALS.rss[half:]) - TOTALS.rss[half]  # growth over the second 50,000
    stats = harness.edge.stats
    logging.getLogger(__name__).info(
        "fuzz: %d published, %d refused by the client, received %d = recorded %d + duplicates "
        "%d + quarantined %d; RSS grew %.1f MiB in all, %.1f MiB over the second half",
        TOTALS.published, harness.refused, stats.received, stats.recorded, stats.duplicates,
        stats.quarantined, grown / 2**20, late / 2**20)
    assert grown < RSS_BOUND, f"RSS grew by {grown / 2**20:.0f} MiB"
    assert late < RSS_LATE_BOUND, f"RSS still grew by {late / 2**20:.0f} MiB in the second half"
    assert len(harness.edge.rejects) <= 100
    samples, events, quarantined = harness.edge.take_pending()
    assert (len(samples), len(events), len(quarantined)) == (0, 0, 0)  # nothing piles up
