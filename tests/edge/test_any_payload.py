"""Any payload into the edge's message path: it never raises, and every message is accounted for.

Hypothesis builds JSON-ish payloads with arbitrary unicode (lone surrogates included, escaped
as JSON writes them or as raw surrogate bytes), numbers of every size, NaN and infinities,
nesting, missing and extra fields, mixed with plausible samples on the demo plant's tag
topics. Fed to the edge's ingest and written by its recorder to SQLite:

- nothing raises (a bug of ours would: ``contain=False``), and nothing counts as ``failed``;
- received = recorded + quarantined + duplicates, once written;
- the store refused nothing (``unstorable`` 0): the decoder already keeps out what no store
  can hold.

In process for volume; a bounded variant sends generated batches through a real Mosquitto
into a running edge (``run_edge``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from andon.clock import ManualClock, to_ms
from andon.connectors.mqtt import MqttClient
from andon.edge import Edge, build_edge, run_edge
from andon.edge.guard import topic_matches
from andon.namespace import line_filter
from andon.spec import PlantSpec
from andon.store import open_store
from andon.testing import MosquittoProcess, until
from andon.testing.mosquitto import need_mosquitto_binary
from edge.faults import T0

NOW_MS = to_ms(T0)
#: any character, surrogates (category Cs) included: Hypothesis leaves them out by default
CHARS = st.characters(exclude_categories=())
TEXT = st.text(CHARS, max_size=12)
NUMBERS = (st.integers() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True))
SCALARS = st.none() | st.booleans() | NUMBERS | TEXT
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8)


def _tag_topics(spec: PlantSpec) -> list[tuple[str, str]]:
    ent = spec.enterprise.id
    return [(f"andon/v1/{ent}/{s.id}/{a.id}/{ln.id}/{x.id}/{t.name}", t.unit)
            for s, a, ln, x in spec.assets() for t in x.tags]


@st.composite
def messages(draw: st.DrawFn, topics: list[tuple[str, str]]) -> tuple[str, bytes]:
    """One (topic, payload): plausible fields or anything, encoded one of three ways."""
    topic, unit = draw(st.sampled_from(topics))
    if draw(st.integers(0, 9)) == 0:
        topic = draw(st.sampled_from([f"{topic}/extra", "andon/v1/acme/nowhere",
                                      topic.replace("andon/v1", "andon/v2")]))
    fields = {
        "v": st.floats(0, 100) | VALUES,
        "u": st.just(unit) | TEXT | VALUES,
        "q": st.sampled_from(["good", "uncertain", "bad"]) | TEXT | VALUES,
        "ts": st.integers(NOW_MS - 3_600_000, NOW_MS) | VALUES,
        "seq": st.integers(0, 10**6) | VALUES,
        "src": st.sampled_from(["plc-a", "plc-b"]) | TEXT | VALUES,
        "qr": TEXT | VALUES,
    }
    doc: dict[str, Any] = {}
    for key, values in fields.items():
        if draw(st.integers(0, 9)) > (8 if key == "qr" else 0):
            doc[key] = draw(values)
    doc.update(draw(st.dictionaries(TEXT, VALUES, max_size=2)))
    how = draw(st.sampled_from(["escaped", "raw", "nested"]))
    body: Any = [doc] if how == "nested" else doc
    if how == "raw":  # raw UTF-8, lone surrogates as their (invalid) three bytes
        return topic, json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return topic, json.dumps(body).encode()  # ASCII: lone surrogates as \\udXXX escapes


def _subscriptions(spec: PlantSpec) -> list[str]:
    """What an edge on every line subscribes to (topics outside it never reach it)."""
    ent = spec.enterprise.id
    return [line_filter(ent, s.id, a.id, ln.id) for s, a, ln in spec.lines()]


def _accounted(edge: Edge) -> None:
    s = edge.stats
    assert s.failed == 0
    assert s.store.unstorable == 0, s.store.last_error
    assert edge.recorder.left() == 0
    assert s.received == s.recorded + s.quarantined + s.duplicates


@pytest.fixture(scope="module")
def edge(demo_spec: PlantSpec, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    tmp = tmp_path_factory.mktemp("any-payload")
    with open_store(f"sqlite:///{tmp / 'edge.db'}") as store:
        yield build_edge(demo_spec, store, tmp / "models", clock=ManualClock(T0))


@pytest.fixture(scope="module")
def topics(demo_spec: PlantSpec) -> list[tuple[str, str]]:
    return _tag_topics(demo_spec)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_any_payload_is_recorded_quarantined_or_a_duplicate(
        edge: Edge, topics: list[tuple[str, str]], data: st.DataObject) -> None:
    batch = data.draw(st.lists(messages(topics), min_size=1, max_size=12))
    edge.ingest.on_messages(batch, contain=False)  # a bug of ours raises here
    edge.flush()
    _accounted(edge)


# -- the same through a real broker, bounded ---------------------------------------------------
@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoProcess]:
    need_mosquitto_binary()
    process = MosquittoProcess(tmp_path_factory.mktemp("any-payload-broker"))
    process.start()
    yield process
    process.stop()


async def _through_broker(spec: PlantSpec, url: str, tmp: Path,
                          batch: list[tuple[str, bytes]]) -> None:
    with open_store(f"sqlite:///{tmp / 'edge.db'}") as store:
        edge = build_edge(spec, store, tmp / "models", clock=ManualClock(T0))
        stop = asyncio.Event()
        task = asyncio.create_task(run_edge(edge, url, stop, edge_id=f"e-{tmp.name}"[:40],
                                            flush_every_s=0.05, heartbeat_s=3600.0))
        pub = MqttClient(url)
        await pub.connect()
        try:
            await until(lambda: edge.intake is not None and edge.intake.ready.is_set(),
                        "the edge's intake subscribed")
            for topic, payload in batch:
                pub.publish(topic, payload)
            s = edge.stats
            await until(lambda: s.received == len(batch) and not edge.recorder.samples
                        and s.recorded + s.quarantined + s.duplicates == s.received,
                        f"{len(batch)} messages received and written")
            assert not task.done(), "the edge stopped"
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)  # raises if the edge crashed
            await pub.disconnect()
        _accounted(edge)


@pytest.mark.mosquitto
@settings(max_examples=5, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_any_payload_through_a_real_broker(
        demo_spec: PlantSpec, topics: list[tuple[str, str]], broker: MosquittoProcess,
        tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    # 20-40 a draw: longer lists of these messages overrun Hypothesis's buffer and are retried
    drawn = data.draw(st.lists(messages(topics), min_size=20, max_size=40))
    filters = _subscriptions(demo_spec)
    batch = [(t, p) for t, p in drawn if any(topic_matches(f, t) for f in filters)]
    tmp = tmp_path_factory.mktemp("through-broker")
    asyncio.run(_through_broker(demo_spec, broker.url, tmp, batch))
