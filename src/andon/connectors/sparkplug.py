"""Sparkplug B 3.0 host application: edge nodes' protobuf metrics become canonical samples.

Two parts: ``SparkplugSession`` is the protocol state machine without I/O (topics and payloads
in; samples, rejects and commands out), and ``SparkplugConnector`` runs it on an MQTT client.

What the host does, per Sparkplug B 3.0:

- **STATE.** On every connect it publishes ``spBv1.0/STATE/{host_id}`` = ``{"online": true,
  "timestamp": ms}`` (QoS 1, retained) after subscribing, with a last will of ``online: false``
  and the same timestamp; it sends the death itself on a clean stop. If it sees its own STATE
  say ``online: false`` (a stale will) while connected, it publishes its birth again.
- **Births.** NBIRTH opens a node session (its ``bdSeq`` metric names the session) and resets
  the node's ``seq``; NBIRTH and DBIRTH define every metric's alias. Birth values are samples.
- **Data.** NDATA/DDATA metrics are named by name or by an alias from the birth.
- **seq.** Every message from a node after NBIRTH carries ``seq`` = previous + 1 (mod 256). A
  gap, data from a node whose birth the host never saw, or an alias it does not know makes the
  host ask for a rebirth: NCMD ``Node Control/Rebirth`` = true on
  ``spBv1.0/{group}/NCMD/{node}`` (for a gap every time; for the other two at most once per
  ``rebirth_every_s`` per node, as they repeat until the birth comes). The data of the message
  is still delivered.
- **Deaths.** NDEATH with the session's ``bdSeq`` ends the session: every metric last seen from
  that node and its devices is delivered once more with quality ``bad`` and reason ``stale``,
  at the death's time. A death whose ``bdSeq`` is not the current session's (an old will
  arriving late) is ignored and counted. DDEATH does the same for one device.

Names: a metric resolves through the ``TagMap`` by ``group/node/device/metric`` (node metrics:
``group/node/metric``) first, then by the bare metric name. Sparkplug's own metrics (``bdSeq``,
``Node Control/*``, ``Device Control/*``, ``Properties/*``, ``Node Info/*``) are protocol, not
plant data, and are not delivered. Any other metric the map does not know is rejected with a
reason naming group, node, device and metric.

Time: the metric's timestamp, else the payload's; a metric with neither (or one past year
9999) is rejected.

Sequence: Sparkplug's ``seq`` wraps at 256, so each canonical sample gets a number from a
``ProducerSequence`` per (group, node, device) source (``spb:{group}/{node}[/{device}]``):
monotonic over the host's life and across rebirths (see ``andon.connectors.sequence``).

Quality: good, unless the metric has a ``Quality`` property (OPC DA code, as Ignition sends):
192 and above good, 64-191 uncertain, below 64 bad (reason ``opc_quality_{code}``).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

from andon.clock import Clock, SystemClock, to_ms
from andon.connectors import sparkplug_b_pb2 as pb
from andon.connectors.base import PointSink
from andon.connectors.mqtt import MqttClient
from andon.connectors.reconnect import ReconnectPolicy
from andon.connectors.sequence import ProducerSequence
from andon.errors import ConnectorError
from andon.namespace.sample import MAX_TS_MS, Quality, Sample
from andon.namespace.tagmap import TagBinding, TagMap

__all__ = [
    "NAMESPACE",
    "REBIRTH_METRIC",
    "STALE",
    "Command",
    "SparkplugConnector",
    "SparkplugSession",
    "SparkplugStats",
    "rebirth_payload",
    "state_payload",
]

#: the Sparkplug B topic namespace
NAMESPACE = "spBv1.0"
#: quality reason of the samples a death marks stale
STALE = "stale"
#: the node control metric a host sets to ask an edge node for its births again
REBIRTH_METRIC = "Node Control/Rebirth"
#: metric name prefixes that are Sparkplug protocol, not plant data
_PROTOCOL_METRICS = ("bdSeq", "Node Control/", "Device Control/", "Properties/", "Node Info/")
_NUMERIC = {"int_value", "long_value", "float_value", "double_value", "boolean_value"}
_SIGNED = {  # datatype -> bits: Sparkplug sends signed integers two's-complement in uint fields
    pb.Int8: 8, pb.Int16: 16, pb.Int32: 32, pb.Int64: 64,
}
_GOOD_QUALITY = 192  # OPC DA quality codes (Ignition's "Quality" property)
_UNCERTAIN_QUALITY = 64
_NODE_TYPES = {"NBIRTH", "NDEATH", "NDATA", "NCMD"}
_DEVICE_TYPES = {"DBIRTH", "DDEATH", "DDATA", "DCMD"}


@dataclass(frozen=True, slots=True)
class Command:
    """A message the host must publish (a rebirth request)."""

    topic: str
    payload: bytes
    reason: str  # why, for the log: "seq gap 4 -> 7", "no birth seen", "unknown alias 12"


@dataclass
class SparkplugStats:
    """Counters of one host session (what a status page or a test reads)."""

    messages: int = 0
    samples: int = 0
    rejected: int = 0
    seq_gaps: int = 0
    rebirths_requested: int = 0
    stale_deaths_ignored: int = 0
    stale_samples: int = 0
    births: int = 0


@dataclass
class _Metric:
    """What the host remembers of one metric: for aliases and to mark it stale on death."""

    name: str
    last: Sample | None = None
    resolved: bool = False  # binding looked up (the map is immutable: once per metric)
    binding: TagBinding | None = None


@dataclass
class _Node:
    """One edge node's session."""

    bd_seq: int | None = None  # None: no NBIRTH seen (a data message came first)
    seq: int | None = None
    #: device ("" for the node itself) -> alias -> metric, and name -> metric
    aliases: dict[str, dict[int, _Metric]] = field(default_factory=dict)
    metrics: dict[str, dict[str, _Metric]] = field(default_factory=dict)
    last_rebirth_ms: int | None = None


def state_payload(*, online: bool, timestamp_ms: int) -> bytes:
    """The Sparkplug 3.0 STATE payload (JSON)."""
    return json.dumps({"online": online, "timestamp": timestamp_ms},
                      separators=(",", ":")).encode()


def rebirth_payload(timestamp_ms: int) -> bytes:
    """An NCMD payload asking an edge node to publish its births again."""
    payload = pb.Payload(timestamp=timestamp_ms)
    metric = payload.metrics.add()
    metric.name = REBIRTH_METRIC
    metric.timestamp = timestamp_ms
    metric.datatype = pb.Boolean
    metric.boolean_value = True
    return bytes(payload.SerializeToString())


class SparkplugSession:
    """The host's protocol state for all edge nodes it hears (no I/O; tested directly).

    ``handle`` takes one MQTT message, delivers samples and rejects to ``sink`` and returns the
    commands to publish.
    """

    def __init__(self, tagmap: TagMap, *, host_id: str, clock: Clock | None = None,
                 rebirth_every_s: float = 5.0) -> None:
        self.tagmap = tagmap
        self.host_id = host_id
        self.clock = clock or SystemClock()
        self.rebirth_every_ms = int(rebirth_every_s * 1000)
        self.stats = SparkplugStats()
        self._nodes: dict[tuple[str, str], _Node] = {}
        self._seq = ProducerSequence(to_ms(self.clock.now()))
        self.on_state: Callable[[bool], None] | None = None  # our own STATE seen (online?)

    def handle(self, topic: str, payload: bytes,  # noqa: PLR0911 - one return per message type
               sink: PointSink) -> list[Command]:
        """Process one message; never raises for bad input."""
        self.stats.messages += 1
        parts = topic.split("/")
        if len(parts) == 3 and parts[0] == NAMESPACE and parts[1] == "STATE":  # noqa: PLR2004
            self._state(parts[2], payload)
            return []
        problem = _topic_problem(parts)
        if problem:
            return self._reject(sink, topic, payload, problem)
        group, kind, node_id = parts[1], parts[2], parts[3]
        device = parts[4] if len(parts) == 5 else ""  # noqa: PLR2004
        if kind in {"NCMD", "DCMD"}:
            return []  # commands are for edge nodes (ours included); nothing to ingest
        try:
            message = pb.Payload.FromString(payload)
        except DecodeError as exc:
            return self._reject(sink, topic, payload,
                                f"not a Sparkplug B protobuf payload ({exc})")
        raw = _Raw(topic, payload, message)
        key = (group, node_id)
        if kind == "NBIRTH":
            return self._nbirth(key, raw, sink)
        if kind == "NDEATH":
            self._ndeath(key, message, sink)
            return []
        node = self._nodes.setdefault(key, _Node())
        commands = self._check_seq(key, node, message)
        if kind == "DBIRTH":
            node.aliases[device] = {}
            node.metrics[device] = {}
            self.stats.births += 1
        if kind == "DDEATH":
            self._stale(key, node, device, _time(message), sink)
            return commands
        for metric in message.metrics:
            commands += self._metric(key, node, device, metric, raw, sink,
                                     birth=kind == "DBIRTH")
        return commands

    # -- messages --------------------------------------------------------------------------
    def _state(self, host: str, payload: bytes) -> None:
        if host != self.host_id or self.on_state is None:
            return
        try:
            online = json.loads(payload).get("online")
        except (ValueError, AttributeError, UnicodeDecodeError, RecursionError):
            return
        if isinstance(online, bool):
            self.on_state(online)

    def _nbirth(self, key: tuple[str, str], raw: _Raw, sink: PointSink) -> list[Command]:
        message = raw.message
        bd_seq = next((int(m.long_value or m.int_value) for m in message.metrics
                       if m.name == "bdSeq"), None)
        if bd_seq is None:
            self._reject(sink, raw.topic, raw.payload,
                         f"NBIRTH of group {key[0]}, node {key[1]} has no bdSeq metric")
            return [self._rebirth(key, self._nodes.setdefault(key, _Node()), "NBIRTH without "
                                  "bdSeq", force=True)]
        node = _Node(bd_seq=bd_seq, seq=message.seq)
        node.aliases[""] = {}
        node.metrics[""] = {}
        # devices keep their alias tables until their own DBIRTH replaces them
        self._nodes[key] = node
        self.stats.births += 1
        commands: list[Command] = []
        for metric in message.metrics:
            commands += self._metric(key, node, "", metric, raw, sink, birth=True)
        return commands

    def _ndeath(self, key: tuple[str, str], message: pb.Payload, sink: PointSink) -> None:
        node = self._nodes.get(key)
        bd_seq = next((int(m.long_value or m.int_value) for m in message.metrics
                       if m.name == "bdSeq"), None)
        if node is None or node.bd_seq is None or bd_seq != node.bd_seq:
            self.stats.stale_deaths_ignored += 1
            return
        when = _time(message)
        for device in list(node.metrics):
            self._stale(key, node, device, when, sink)
        node.bd_seq = None
        node.seq = None

    def _stale(self, key: tuple[str, str], node: _Node, device: str, when_ms: int | None,
               sink: PointSink) -> None:
        """Deliver every metric last seen from ``device`` again with quality bad."""
        source = _source(key, device)
        for metric in node.metrics.get(device, {}).values():
            last, metric.last = metric.last, None
            if last is None:
                continue
            ts = when_ms if when_ms is not None and when_ms > last.ts_ms else last.ts_ms
            stale = Sample(last.address, last.value, last.unit, Quality.BAD, ts,
                           self._seq.next(source), source, STALE)
            self.stats.stale_samples += 1
            self.stats.samples += 1
            sink.on_sample(stale)

    def _check_seq(self, key: tuple[str, str], node: _Node,
                   message: pb.Payload) -> list[Command]:
        if node.bd_seq is None:
            return [self._rebirth(key, node, "data before any NBIRTH")]
        expected = ((node.seq or 0) + 1) % 256 if node.seq is not None else None
        node.seq = message.seq
        if expected is not None and message.seq != expected:
            self.stats.seq_gaps += 1
            return [self._rebirth(key, node, f"seq gap: expected {expected}, got {message.seq}",
                                  force=True)]
        return []

    def _metric(self, key: tuple[str, str], node: _Node, device: str,  # noqa: PLR0917
                metric: pb.Payload.Metric, raw: _Raw, sink: PointSink, *,
                birth: bool) -> list[Command]:
        entry = self._entry(node, device, metric, birth=birth)
        if entry is None:
            where = _where(key, device, f"alias {metric.alias}")
            self._reject(sink, raw.topic, raw.payload, f"{where}: unknown alias (not in any birth)")
            return [self._rebirth(key, node, f"unknown alias {metric.alias}")]
        if entry.name.startswith(_PROTOCOL_METRICS):
            return []
        if not entry.resolved:
            entry.binding = self._resolve(key, device, entry.name)
            entry.resolved = True
        sample, why = self._sample(entry.binding, _source(key, device), metric, raw.message)
        if sample is None:
            self._reject(sink, raw.topic, raw.payload,
                         f"{_where(key, device, entry.name)}: {why}")
            return []
        if not metric.is_historical:
            entry.last = sample
        self.stats.samples += 1
        sink.on_sample(sample, raw.topic, raw.payload)
        return []

    def _entry(self, node: _Node, device: str, metric: pb.Payload.Metric, *,
               birth: bool) -> _Metric | None:
        """The metric's record, by name (births also learn the alias) or by alias."""
        aliases = node.aliases.setdefault(device, {})
        known = node.metrics.setdefault(device, {})
        if not metric.name:
            return aliases.get(metric.alias)
        entry = known.get(metric.name)
        if entry is None:
            entry = known[metric.name] = _Metric(metric.name)
        if birth and metric.HasField("alias"):
            aliases[metric.alias] = entry
        return entry

    def _sample(self, binding: TagBinding | None, source: str, metric: pb.Payload.Metric,
                message: pb.Payload) -> tuple[Sample | None, str]:
        """The canonical sample of one metric, or None and the reason."""
        if binding is None:
            return None, "metric not in the tag map"
        value, why = _number(metric)
        if value is None:
            return None, why
        ts = metric.timestamp or message.timestamp
        if not ts:
            return None, "no metric or payload timestamp"
        if ts > MAX_TS_MS:  # uint64 on the wire: the store and datetimes end at year 9999
            return None, f"timestamp {ts} is not a representable time (epoch ms)"
        scaled = binding.value(value)
        if not math.isfinite(scaled):
            return None, f"scaled value {scaled} is not finite"
        quality, reason = _quality(metric)
        return Sample(binding.address, scaled, binding.unit, quality, int(ts),
                      self._seq.next(source), source, reason), ""

    # -- helpers ---------------------------------------------------------------------------
    def _resolve(self, key: tuple[str, str], device: str, name: str) -> TagBinding | None:
        path = "/".join(p for p in (*key, device, name) if p)
        return self.tagmap.resolve(path) or self.tagmap.resolve(name)

    def _rebirth(self, key: tuple[str, str], node: _Node, reason: str, *,
                 force: bool = False) -> Command:
        """A rebirth request, unless one went out less than ``rebirth_every_s`` ago."""
        now = to_ms(self.clock.now())
        recent = (node.last_rebirth_ms is not None
                  and now - node.last_rebirth_ms < self.rebirth_every_ms)
        if recent and not force:
            return Command("", b"", reason)  # throttled; run() skips empty topics
        node.last_rebirth_ms = now
        self.stats.rebirths_requested += 1
        group, node_id = key
        return Command(f"{NAMESPACE}/{group}/NCMD/{node_id}", rebirth_payload(now), reason)

    def _reject(self, sink: PointSink, topic: str, payload: bytes,
                reason: str) -> list[Command]:
        self.stats.rejected += 1
        sink.reject(topic, payload, reason)
        return []



@dataclass(frozen=True, slots=True)
class _Raw:
    """One received message: where, the bytes, and the decoded payload."""

    topic: str
    payload: bytes
    message: pb.Payload


def _time(message: pb.Payload) -> int | None:
    """The payload's timestamp; None when absent or past year 9999 (uint64 on the wire)."""
    return int(message.timestamp) if 0 < message.timestamp <= MAX_TS_MS else None


def _topic_problem(parts: list[str]) -> str:
    """Why a split topic is not a Sparkplug B edge topic ("" if it is one)."""
    if len(parts) not in {4, 5} or parts[0] != NAMESPACE or not all(parts):
        return "not a Sparkplug B topic (spBv1.0/GROUP/TYPE/NODE[/DEVICE])"
    kind, device = parts[2], len(parts) == 5  # noqa: PLR2004
    if kind not in _NODE_TYPES | _DEVICE_TYPES:
        return f"unknown Sparkplug message type {kind!r}"
    if (kind in _NODE_TYPES) == device:
        return f"message type {kind} does not fit a {'device' if device else 'node'} topic"
    return ""


def _source(key: tuple[str, str], device: str) -> str:
    group, node = key
    return f"spb:{group}/{node}/{device}" if device else f"spb:{group}/{node}"


def _where(key: tuple[str, str], device: str, metric: str) -> str:
    group, node = key
    return f"group {group}, node {node}" + (f", device {device}" if device else "") + \
        f", metric {metric!r}"


def _number(metric: pb.Payload.Metric) -> tuple[float | None, str]:
    """The metric's value as a float, or None and why not."""
    if metric.is_null:
        return None, "value is null"
    kind = metric.WhichOneof("value")
    if kind is None:
        return None, "metric has no value"
    if kind not in _NUMERIC:
        shown = pb.DataType.Name(metric.datatype) if metric.datatype else kind
        return None, f"{shown} value is not numeric"
    raw: float = getattr(metric, kind)
    bits = _SIGNED.get(metric.datatype)
    if bits is not None and isinstance(raw, int) and raw >= 1 << (bits - 1):
        raw -= 1 << bits  # two's complement in an unsigned field
    number = float(raw)
    if not math.isfinite(number):
        return None, f"value {number} is not finite"
    return number, ""


def _quality(metric: pb.Payload.Metric) -> tuple[Quality, str | None]:
    """Quality and reason from the metric's ``Quality`` property (good when it has none)."""
    if not metric.HasField("properties"):
        return Quality.GOOD, None
    props = metric.properties
    for key, value in zip(props.keys, props.values, strict=False):
        if key == "Quality" and value.WhichOneof("value") in {"int_value", "long_value"}:
            code = value.int_value or value.long_value
            if code >= _GOOD_QUALITY:
                return Quality.GOOD, None
            quality = Quality.UNCERTAIN if code >= _UNCERTAIN_QUALITY else Quality.BAD
            return quality, f"opc_quality_{code}"
    return Quality.GOOD, None


class SparkplugConnector:
    """A Sparkplug B 3.0 host application on an MQTT broker (the connector interface).

    ``groups`` limits the subscription to some Sparkplug groups (default: all). The broker may
    be down at start or go away (the MQTT client tries again by the reconnect policy,
    ``andon.connectors.reconnect``) and the host publishes its STATE birth again on every connect.
    """

    kind = "sparkplug"

    def __init__(self, broker_url: str, tagmap: TagMap, *, host_id: str = "andon",
                 groups: tuple[str, ...] = ("+",), clock: Clock | None = None,
                 rebirth_every_s: float = 5.0, max_backoff_s: float = 10.0) -> None:
        if not host_id or any(c in host_id for c in "/+#"):
            raise ConnectorError(f"Sparkplug host id {host_id!r} must be non-empty without "
                                 "/ + #")
        self.broker_url = broker_url
        self.host_id = host_id
        self.groups = groups
        self.clock = clock or SystemClock()
        self.session = SparkplugSession(tagmap, host_id=host_id, clock=self.clock,
                                        rebirth_every_s=rebirth_every_s)
        self.max_backoff_s = max_backoff_s
        self.ready = asyncio.Event()  # set once subscribed and the STATE birth is out
        self.commands: list[Command] = []  # rebirth requests sent (newest last, bounded)

    @property
    def state_topic(self) -> str:
        """The STATE topic of this host."""
        return f"{NAMESPACE}/STATE/{self.host_id}"

    @property
    def stats(self) -> SparkplugStats:
        """The session's counters."""
        return self.session.stats

    async def run(self, sink: PointSink, stop: asyncio.Event) -> None:
        """Run the host until ``stop`` is set."""
        born = to_ms(self.clock.now())
        birth = state_payload(online=True, timestamp_ms=born)
        death = state_payload(online=False, timestamp_ms=born)
        topics = [f"{NAMESPACE}/{g}/#" for g in self.groups]
        client: MqttClient

        def on_message(topic: str, payload: bytes) -> None:
            for command in self.session.handle(topic, payload, sink):
                if command.topic:
                    client.publish(command.topic, command.payload, qos=0)
                    self.commands = [*self.commands[-99:], command]

        def on_state(online: bool) -> None:
            # a stale death of ours (an old will): say we are alive, unless we are leaving
            if not online and client.connected.is_set() and not leaving.is_set():
                client.publish(self.state_topic, birth, qos=1, retain=True)

        leaving = asyncio.Event()
        self.session.on_state = on_state
        client = MqttClient(self.broker_url, f"andon-spb-{self.host_id}", on_message=on_message,
                            subscriptions=[*topics, self.state_topic], qos=1,
                            will=(self.state_topic, death),
                            reconnect=ReconnectPolicy(cap_s=self.max_backoff_s))
        if not await client.connect_retrying(stop):
            await client.disconnect()
            return
        try:
            await client.subscribed()
            while not stop.is_set():
                client.publish(self.state_topic, birth, qos=1, retain=True)
                self.ready.set()
                stopped = asyncio.ensure_future(stop.wait())
                lost = asyncio.ensure_future(client.lost.wait())
                await asyncio.wait({stopped, lost}, return_when=asyncio.FIRST_COMPLETED)
                stopped.cancel()
                lost.cancel()
                if stop.is_set():
                    break
                self.ready.clear()
                client.lost.clear()
                await _wait_either(client.connected, stop)
        finally:
            leaving.set()
            self.ready.clear()
            if client.connected.is_set():
                client.publish(self.state_topic, death, qos=1, retain=True)
            await client.disconnect()


async def _wait_either(event: asyncio.Event, stop: asyncio.Event) -> None:
    """Wait until ``event`` or ``stop`` is set."""
    waits = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(stop.wait())}
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
