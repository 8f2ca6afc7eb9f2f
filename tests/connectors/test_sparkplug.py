"""Sparkplug B 3.0 host: aliases, seq gaps and rebirth, bdSeq sessions, deaths, STATE.

Payloads are encoded by pysparkplug (an independent Sparkplug implementation), so the host's
decoder is checked against someone else's encoder. The protocol state machine is tested
directly (``SparkplugSession``, no I/O); the broker-level behaviour (a rebirth request seen on
the broker, STATE birth and death, a node's last will) on the shared Mosquitto, each test in
its own Sparkplug group.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pysparkplug import (
    DataType,
    DBirth,
    DData,
    DDeath,
    EdgeNode,
    Metric,
    NBirth,
    NCmd,
    NData,
    NDeath,
)

from andon.clock import ManualClock, utc
from andon.connectors.base import CollectingSink
from andon.connectors.mqtt import MqttClient
from andon.connectors.sparkplug import (
    REBIRTH_METRIC,
    STALE,
    SparkplugConnector,
    SparkplugSession,
    state_payload,
)
from andon.namespace.sample import Quality
from andon.namespace.tagmap import TagBinding, TagMap
from andon.namespace.topics import TagAddress
from andon.testing import need, unique_id, until
from andon.testing.conformance.connectors import until_collected

from .harness import SHARED_BROKER

T0 = utc(2026, 11, 1, 8)
TS = 1_793_520_000_000  # an epoch ms near T0
TEMP = TagAddress("acme", "porto", "press", "l1", "p-101", "bearing_temp")
SPEED = TagAddress("acme", "porto", "press", "l1", "p-101", "speed")
MAP = TagMap.of([
    TagBinding("Press/Temp", TEMP, "degF", 0.1),
    TagBinding("G1/node1/drive/Speed", SPEED, "rpm"),  # a device metric by its full path
])
NODE = "spBv1.0/G1/{}/node1"
DEV = "spBv1.0/G1/{}/node1/drive"


def metric(name: str | None, value: float | None, *, alias: int | None = None,
           ts: int | None = TS, datatype: DataType = DataType.DOUBLE) -> Metric:
    return Metric(timestamp=ts, name=name, datatype=datatype, value=value, alias=alias)


def bd(n: int) -> Metric:
    return Metric(timestamp=TS, name="bdSeq", datatype=DataType.INT64, value=n)


def nbirth(seq: int = 0, bd_seq: int = 7) -> bytes:
    return NBirth(timestamp=TS, seq=seq, metrics=(
        metric("Press/Temp", 700.0, alias=1), bd(bd_seq),
        Metric(timestamp=TS, name=REBIRTH_METRIC, datatype=DataType.BOOLEAN, value=False),
    )).encode()


def dbirth(seq: int) -> bytes:
    return DBirth(timestamp=TS, seq=seq, metrics=(metric("Speed", 1450.0, alias=2),)).encode()


def ndata(seq: int, *metrics: Metric) -> bytes:
    return NData(timestamp=TS + seq, seq=seq, metrics=metrics).encode(include_dtypes=True)


@pytest.fixture
def session() -> SparkplugSession:
    return SparkplugSession(MAP, host_id="andon", clock=ManualClock(T0))


def test_birth_values_and_aliases_resolve_through_the_tag_map(session: SparkplugSession) -> None:
    sink = CollectingSink()
    assert session.handle(NODE.format("NBIRTH"), nbirth(), sink) == []
    assert session.handle(DEV.format("DBIRTH"), dbirth(1), sink) == []
    assert session.handle(NODE.format("NDATA"), ndata(2, metric(None, 712.0, alias=1)), sink) == []
    ddata = DData(timestamp=TS + 3, seq=3, metrics=(metric(None, 1460.0, alias=2, ts=None),))
    assert session.handle(DEV.format("DDATA"), ddata.encode(include_dtypes=True), sink) == []

    assert sink.rejected == []  # bdSeq and Node Control/* are protocol, not plant data
    assert [(s.address.tag, s.value) for s in sink.samples] == [
        ("bearing_temp", pytest.approx(70.0)), ("speed", 1450.0),
        ("bearing_temp", pytest.approx(71.2)), ("speed", 1460.0)]
    assert [s.unit for s in sink.samples] == ["degF", "rpm", "degF", "rpm"]
    assert sink.samples[3].ts_ms == TS + 3, "no metric timestamp: the payload's"
    assert sink.samples[2].ts_ms == TS, "the metric's own timestamp first"
    assert {s.source for s in sink.samples} == {"spb:G1/node1", "spb:G1/node1/drive"}
    node_seqs = [s.seq for s in sink.samples if s.source == "spb:G1/node1"]
    assert node_seqs == sorted(node_seqs)
    assert len(set(node_seqs)) == len(node_seqs)


def test_seq_gap_asks_the_node_for_a_rebirth(session: SparkplugSession) -> None:
    sink = CollectingSink()
    session.handle(NODE.format("NBIRTH"), nbirth(seq=0), sink)
    assert session.handle(NODE.format("NDATA"), ndata(1, metric("Press/Temp", 1.0)), sink) == []
    commands = session.handle(NODE.format("NDATA"), ndata(4, metric("Press/Temp", 2.0)), sink)

    assert [c.topic for c in commands] == ["spBv1.0/G1/NCMD/node1"]
    assert "expected 2, got 4" in commands[0].reason
    request = NCmd.decode(commands[0].payload)
    assert [(m.name, m.value) for m in request.metrics] == [(REBIRTH_METRIC, True)]
    assert session.stats.seq_gaps == 1
    assert len(sink.samples) == 3, "data of the message after the gap is still delivered"


def test_seq_wraps_at_255_without_a_gap(session: SparkplugSession) -> None:
    sink = CollectingSink()
    session.handle(NODE.format("NBIRTH"), nbirth(seq=254), sink)
    assert session.handle(NODE.format("NDATA"), ndata(255, metric("Press/Temp", 1.0)), sink) == []
    assert session.handle(NODE.format("NDATA"), ndata(0, metric("Press/Temp", 2.0)), sink) == []
    assert session.stats.seq_gaps == 0


def test_data_without_birth_and_unknown_alias_ask_for_rebirth_once(
        session: SparkplugSession) -> None:
    sink = CollectingSink()
    first = session.handle(NODE.format("NDATA"), ndata(5, metric(None, 1.0, alias=9)), sink)
    again = session.handle(NODE.format("NDATA"), ndata(6, metric(None, 1.0, alias=9)), sink)

    assert [c.topic for c in first if c.topic] == ["spBv1.0/G1/NCMD/node1"]
    assert [c.topic for c in again if c.topic] == [], "throttled: one request per 5 s"
    assert len(sink.rejected) == 2
    assert "group G1, node node1, metric 'alias 9': unknown alias" in sink.rejected[0].reason


def test_ndeath_marks_node_and_device_metrics_stale_and_a_stale_bdseq_is_ignored(
        session: SparkplugSession) -> None:
    sink = CollectingSink()
    session.handle(NODE.format("NBIRTH"), nbirth(bd_seq=7), sink)
    session.handle(DEV.format("DBIRTH"), dbirth(1), sink)
    old = NDeath(timestamp=TS + 50, bd_seq_metric=bd(6)).encode()
    session.handle(NODE.format("NDEATH"), old, sink)
    assert len(sink.samples) == 2
    assert session.stats.stale_deaths_ignored == 1

    death = NDeath(timestamp=TS + 60, bd_seq_metric=bd(7)).encode()
    session.handle(NODE.format("NDEATH"), death, sink)

    stale = sink.samples[2:]
    assert {s.address for s in stale} == {TEMP, SPEED}
    assert {(s.quality, s.reason, s.ts_ms) for s in stale} == {(Quality.BAD, STALE, TS + 60)}
    assert [s.value for s in stale] == [pytest.approx(70.0), 1450.0], "the last values"
    # after the death, data asks for a rebirth instead of being trusted
    commands = session.handle(NODE.format("NDATA"), ndata(2, metric("Press/Temp", 1.0)), sink)
    assert [c.topic for c in commands] == ["spBv1.0/G1/NCMD/node1"]


def test_ddeath_marks_only_that_device_stale(session: SparkplugSession) -> None:
    sink = CollectingSink()
    session.handle(NODE.format("NBIRTH"), nbirth(), sink)
    session.handle(DEV.format("DBIRTH"), dbirth(1), sink)
    session.handle(DEV.format("DDEATH"), DDeath(timestamp=TS + 9, seq=2).encode(), sink)
    assert [(s.address, s.quality, s.reason) for s in sink.samples[2:]] == [
        (SPEED, Quality.BAD, STALE)]


@pytest.mark.parametrize(("topic", "payload", "why"), [
    ("spBv1.0/G1/NDATA/node1", b"\x0a\xff\xff", "not a Sparkplug B protobuf payload"),
    ("spBv1.0/G1/NDATA", b"", "not a Sparkplug B topic"),
    ("spBv1.0/G1/XDATA/node1", b"", "unknown Sparkplug message type 'XDATA'"),
    ("spBv1.0/G1/DDATA/node1", b"", "does not fit a node topic"),
    ("spBv1.0/G1/NDATA/node1",
     NData(timestamp=TS, seq=1, metrics=(Metric(timestamp=TS, name="Press/Temp",
                                                datatype=DataType.STRING, value="hot"),)
           ).encode(include_dtypes=True), "String value is not numeric"),
    ("spBv1.0/G1/NDATA/node1", ndata(1, metric("Press/Temp", None)), "value is null"),
    ("spBv1.0/G1/NDATA/node1", ndata(1, metric("Press/Temp", float("inf"))), "not finite"),
    ("spBv1.0/G1/NDATA/node1", NData(timestamp=0, seq=1, metrics=(
        metric("Press/Temp", 1.0, ts=None),)).encode(include_dtypes=True), "no metric or payload"),
    ("spBv1.0/G1/NDATA/node1", ndata(1, metric("Press/Other", 1.0)),
     "group G1, node node1, metric 'Press/Other': metric not in the tag map"),
    ("spBv1.0/G1/NDATA/node1", ndata(1, metric("Press/Temp", 1.0, ts=2**64 - 1)),
     "is not a representable time"),  # uint64 on the wire; the store ends at year 9999
])
def test_bad_input_is_rejected_with_a_reason(session: SparkplugSession, topic: str,
                                             payload: bytes, why: str) -> None:
    sink = CollectingSink()
    session.handle(NODE.format("NBIRTH"), nbirth(), sink)
    session.handle(topic, payload, sink)
    assert len(sink.rejected) == 1
    assert why in sink.rejected[0].reason
    assert sink.rejected[0].where == topic
    assert sink.rejected[0].payload == payload, "the original bytes are kept"


def test_signed_integers_and_the_quality_property(session: SparkplugSession) -> None:
    from andon.connectors import sparkplug_b_pb2 as pb  # noqa: PLC0415 - the host's own schema

    sink = CollectingSink()
    session.handle(NODE.format("NBIRTH"), nbirth(), sink)
    payload = pb.Payload(timestamp=TS, seq=1)
    m = payload.metrics.add()
    m.name, m.datatype, m.int_value = "Press/Temp", pb.Int32, (1 << 32) - 50  # -50
    m = payload.metrics.add()
    m.name, m.datatype, m.double_value = "Press/Temp", pb.Double, 10.0
    m.properties.keys.append("Quality")
    m.properties.values.add(type=pb.Int32, int_value=0)
    session.handle(NODE.format("NDATA"), payload.SerializeToString(), sink)
    assert [(s.value, s.quality, s.reason) for s in sink.samples[1:]] == [
        (pytest.approx(-5.0), Quality.GOOD, None), (1.0, Quality.BAD, "opc_quality_0")]


# -- on the broker -----------------------------------------------------------------------
class Watcher:
    """Messages seen on some topics of the shared broker."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bytes]] = []
        self.changed = asyncio.Event()

    def add(self, topic: str, payload: bytes) -> None:
        self.seen.append((topic, payload))
        self.changed.set()

    async def until(self, condition: Callable[[], object], what: str,
                    timeout_s: float = 20.0) -> None:
        await until(condition, what, timeout_s, wake=self.changed, state=lambda: self.seen[-5:])


def test_host_state_rebirth_request_and_last_will_on_a_real_broker() -> None:
    """STATE birth (retained) → pysparkplug node births → seq gap → NCMD rebirth seen on the
    broker → the node dies without DISCONNECT (its will: NDEATH) → its metrics go stale →
    clean stop → STATE death."""
    need("Mosquitto", "127.0.0.1", 1883)
    group = unique_id()
    host = f"h-{group}"
    tagmap = TagMap.of([TagBinding("Press/Temp", TEMP, "degF", 0.1)])

    async def story() -> None:
        watcher = Watcher()
        spy = MqttClient(SHARED_BROKER, on_message=watcher.add,
                         subscriptions=[f"spBv1.0/{group}/NCMD/#", f"spBv1.0/STATE/{host}"])
        await spy.connect()
        await spy.subscribed()
        connector = SparkplugConnector(SHARED_BROKER, tagmap, host_id=host, groups=(group,))
        sink = CollectingSink()
        stop = asyncio.Event()
        task = asyncio.ensure_future(connector.run(sink, stop))
        node = EdgeNode(group, "gw1", [metric("Press/Temp", 700.0, ts=None)])
        publisher = MqttClient(SHARED_BROKER)
        try:
            await asyncio.wait_for(connector.ready.wait(), 20)
            await watcher.until(lambda: any(json.loads(p).get("online") is True
                                            for t, p in watcher.seen if "STATE" in t),
                                "STATE birth")
            node.connect("127.0.0.1", port=1883)
            await until_collected(sink, lambda: len(sink.samples) >= 1, "birth value")
            assert sink.samples[0].value == pytest.approx(70.0)

            # a message from the node that skips seq numbers (the node's own seq is at 0)
            await publisher.connect()
            publisher.publish(f"spBv1.0/{group}/NDATA/gw1", ndata(9, metric("Press/Temp", 5.0)))
            await watcher.until(lambda: any("/NCMD/gw1" in t for t, _ in watcher.seen),
                                "rebirth request")
            cmd = next(NCmd.decode(p) for t, p in watcher.seen if "/NCMD/gw1" in t)
            assert [(m.name, m.value) for m in cmd.metrics] == [(REBIRTH_METRIC, True)]
            assert connector.stats.rebirths_requested == 1

            # the node's process dies: no DISCONNECT, so the broker publishes its will (NDEATH)
            paho = node._client._client
            paho.loop_stop()
            paho._reset_sockets()  # close the socket (and paho's wake-up pair), no DISCONNECT
            await until_collected(sink, lambda: any(s.reason == STALE for s in sink.samples),
                                  "stale sample after the node's will")
            stale = [s for s in sink.samples if s.reason == STALE]
            assert [(s.address, s.quality) for s in stale] == [(TEMP, Quality.BAD)]
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)
            await publisher.disconnect()
        def last_state() -> dict[str, object]:
            return json.loads(next(p for t, p in reversed(watcher.seen) if "/STATE/" in t))

        await watcher.until(lambda: last_state().get("online") is False,
                            "STATE death on a clean stop")
        spy.publish(f"spBv1.0/STATE/{host}", b"", qos=1, retain=True)  # clear the retained
        await spy.disconnect()

    asyncio.run(story())


def test_state_payload_is_sparkplug_3_json() -> None:
    assert json.loads(state_payload(online=True, timestamp_ms=5)) == {"online": True,
                                                                       "timestamp": 5}


_TOPICS = st.sampled_from([
    "spBv1.0/G1/NDATA/node1", "spBv1.0/G1/NBIRTH/node1", "spBv1.0/G1/NDEATH/node1",
    "spBv1.0/G1/DDATA/node1/drive", "spBv1.0/G1/DBIRTH/node1/drive", "spBv1.0/STATE/andon",
    "spBv1.0/G1/DDEATH/node1/drive", "spBv1.0/#/+/x", "spBv1.0//NDATA/", "spBv1.0/G1/NCMD/n"])


@given(topic=_TOPICS, payload=st.binary(max_size=300) | st.builds(
    lambda seq, value, alias: ndata(seq, metric(None, value, alias=alias)),
    st.integers(0, 255), st.floats(allow_nan=True, allow_infinity=True) | st.none(),
    st.integers(0, 2**64 - 1)))
@settings(max_examples=300, deadline=None)
def test_hostile_input_never_raises(topic: str, payload: bytes) -> None:
    """Whatever arrives, the host answers with samples, rejects or nothing; it never raises."""
    session = SparkplugSession(MAP, host_id="andon", clock=ManualClock(T0))
    sink = CollectingSink()
    session.on_state = lambda _online: None
    session.handle(NODE.format("NBIRTH"), nbirth(), sink)
    before = len(sink.samples)
    session.handle(topic, payload, sink)
    for r in sink.rejected:
        assert r.reason
        assert "\n" not in r.reason
    for s in sink.samples[before:]:
        assert s.unit in {"degF", "rpm"}
