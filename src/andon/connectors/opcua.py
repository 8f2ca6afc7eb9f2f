"""OPC UA client (asyncua): data-change subscriptions on the tag map's node ids.

Which nodes: every raw name of the ``TagMap`` that parses as an OPC UA node id
(``ns=2;s=Line1.P101.Vib``, ``ns=3;i=1002``); other raw names belong to other connectors and are
left alone. A node the server refuses to monitor (``BadNodeIdUnknown``, ...) is rejected once
per run with the server's status name.

Quality: the value's StatusCode. Good → ``good``; Uncertain* → ``uncertain``; Bad* → ``bad``;
for the last two the status name (``BadSensorFailure``) is the sample's quality reason. A bad
status without a value repeats the node's last value (so the bad spell is visible on the tag's
line); with no value ever seen it is rejected with the status name. A value that is not a
number (a string, an array) is rejected naming the node.

Time: the value's source timestamp, else the server timestamp; a value with neither is rejected.

Reconnect: on connection loss (asyncua's watchdog notices within ``watchdog_s``) the connector
tears the session down and connects again with a doubling delay between ``min_backoff_s`` and
``max_backoff_s``. After a reconnect it back-fills the gap from the server's history
(``HistoryRead`` raw, per node, from the last source time it delivered to now) before it
delivers live changes again; live changes that arrive meanwhile wait in a queue. A node whose
history cannot be read is skipped with the reason (``backfill_log``): neither its
``Historizing`` attribute nor the HistoryRead bit of its ``AccessLevel`` is set, or HistoryRead
failed (the status name).
Overlap is dropped by source time: per node, a value whose source time was already delivered
(among the last 4,096) is a duplicate (counted in ``stats.duplicates``); out-of-order values
with new source times pass (lateness is the contracts' call, not the connector's).

Security (``OpcUaSecurity``, ``andon.connectors.opcua_security``): before each connect the
client reads the server's endpoints (discovery, over an unsecured channel as OPC UA allows),
takes the one with the configured policy and mode, checks the server's certificate against the
trust list, then connects with Andon's certificate and key (and user, if given). A server
without such an endpoint, an untrusted server certificate, or a server refusing Andon's
certificate or user stops ``run`` with ``OpcUaRefused`` (one line); an endpoint that cannot
be reached is retried as before, and the reconnect and back-fill work the same under security.

Sequence: OPC UA has none; each sample gets the next number of a ``ProducerSequence`` for the
source ``opcua:{host:port}`` (see ``andon.connectors.sequence``).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.common.subscription import Subscription
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.status_codes import StatusCodes
from asyncua.ua.uaerrors import UaError, UaStatusCodeError

from andon.clock import Clock, SystemClock, to_ms
from andon.connectors.base import PointSink
from andon.connectors.opcua_security import OpcUaRefused, OpcUaSecurity, masking_password
from andon.connectors.sequence import ProducerSequence
from andon.errors import ConnectorError
from andon.namespace.sample import Quality, Sample
from andon.namespace.tagmap import TagBinding, TagMap

__all__ = ["BackfillNote", "OpcUaConnector", "OpcUaStats", "node_ids"]

_MAX_REASON = 32  # a quality reason is a short code (the store's column width)
_SEEN = 4096  # source times remembered per node for the overlap check


@dataclass
class OpcUaStats:
    """Counters of one connector's run."""

    connects: int = 0
    connection_losses: int = 0
    samples: int = 0
    rejected: int = 0
    backfilled: int = 0
    duplicates: int = 0


@dataclass(frozen=True, slots=True)
class BackfillNote:
    """What one back-fill did for one node: how many values, or why it was skipped."""

    node: str
    start: datetime
    end: datetime
    values: int
    skipped: str | None = None  # the reason, when the server could not give the history


@dataclass
class _Node:
    raw: str
    binding: TagBinding
    last_ts: datetime | None = None  # latest source time delivered
    last_value: float | None = None  # value of the latest delivery
    refused: bool = False  # rejected once already (unknown to the server)
    #: source times delivered recently (bounded), to drop the back-fill/live overlap
    seen: set[datetime] = field(default_factory=set)
    _order: deque[datetime] = field(default_factory=deque)

    def remember(self, ts: datetime, value: float) -> None:
        """Note a delivered value."""
        self.seen.add(ts)
        self._order.append(ts)
        if len(self._order) > _SEEN:
            self.seen.discard(self._order.popleft())
        if self.last_ts is None or ts >= self.last_ts:
            self.last_ts = ts
            self.last_value = value


@dataclass
class _Handler:
    """asyncua's subscription callback: queue every change for the delivery loop."""

    queue: asyncio.Queue[tuple[ua.NodeId, ua.DataValue]] = field(default_factory=asyncio.Queue)

    def datachange_notification(self, node: Any, _val: Any, data: Any) -> None:
        """A monitored value changed."""
        self.queue.put_nowait((node.nodeid, data.monitored_item.Value))

    def status_change_notification(self, status: Any) -> None:
        """The subscription's status changed (the watchdog handles losses)."""


def node_ids(tagmap: TagMap) -> dict[ua.NodeId, str]:
    """The raw names of ``tagmap`` that are OPC UA node ids, by parsed node id."""
    out: dict[ua.NodeId, str] = {}
    for raw in tagmap.bindings:
        if "=" not in raw:
            continue
        try:
            out[ua.NodeId.from_string(raw)] = raw
        except (ValueError, UaError):  # not a node id: a raw name for another protocol
            continue
    return out


class OpcUaConnector:
    """Subscribe to an OPC UA server's variables and deliver their changes as samples."""

    kind = "opcua"

    def __init__(self, url: str, tagmap: TagMap, *, clock: Clock | None = None,
                 publishing_interval_ms: float = 100.0, backfill: bool = True,
                 min_backoff_s: float = 0.2, max_backoff_s: float = 10.0,
                 watchdog_s: float = 1.0, timeout_s: float = 4.0,
                 source: str | None = None, security: OpcUaSecurity | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme != "opc.tcp" or not parts.hostname:
            raise ConnectorError(f"{url!r}: an OPC UA endpoint looks like "
                                 "opc.tcp://host:4840/path")
        self.url = url
        self.clock = clock or SystemClock()
        self.publishing_interval_ms = publishing_interval_ms
        self.backfill = backfill
        self.min_backoff_s = min_backoff_s
        self.max_backoff_s = max_backoff_s
        self.watchdog_s = watchdog_s
        self.timeout_s = timeout_s
        self.source = source or f"opcua:{parts.hostname}:{parts.port or 4840}"
        #: the checked security: files are read here, so a bad one fails before any connect
        self.security = (security or OpcUaSecurity()).load()
        self._nodes = {nid: _Node(raw, tagmap.bindings[raw])
                       for nid, raw in node_ids(tagmap).items()}
        self._seq = ProducerSequence(to_ms(self.clock.now()))
        self.stats = OpcUaStats()
        self.backfill_log: list[BackfillNote] = []
        self.ready = asyncio.Event()  # set while subscribed (after any back-fill)

    @property
    def nodes(self) -> list[str]:
        """The raw node ids this connector monitors."""
        return [n.raw for n in self._nodes.values()]

    async def run(self, sink: PointSink, stop: asyncio.Event) -> None:
        """Deliver changes to ``sink`` until ``stop`` is set, reconnecting on loss.

        ``OpcUaRefused`` (one line) when the server or Andon refuses the other: no endpoint
        with the configured security, an untrusted server certificate, a refused certificate
        or user.
        """
        with masking_password(self.security.config.password):
            await self._run(sink, stop)

    async def _run(self, sink: PointSink, stop: asyncio.Event) -> None:
        delay = self.min_backoff_s
        while not stop.is_set():
            client = Client(self.url, timeout=self.timeout_s,
                            watchdog_intervall=self.watchdog_s)
            lost = asyncio.Event()

            async def on_lost(_exc: Exception, lost: asyncio.Event = lost) -> None:
                lost.set()

            client.connection_lost_callback = on_lost
            try:
                await self._connect(client)
            except OpcUaRefused:
                raise  # retrying cannot help: stop with the reason
            except (OSError, TimeoutError, UaError):
                await _pause(stop, delay)
                delay = min(delay * 2, self.max_backoff_s)
                continue
            delay = self.min_backoff_s
            self.stats.connects += 1
            try:
                await self._session(client, sink, stop, lost)
            except (OSError, TimeoutError, UaError, ConnectionError):
                pass  # the session broke mid-way: connect again
            finally:
                self.ready.clear()
                await self._close(client, lost=lost.is_set())
            if not stop.is_set():
                self.stats.connection_losses += 1
                await _pause(stop, delay)

    async def _connect(self, client: Client) -> None:
        """Pick the endpoint, check the server's certificate, set up security, connect."""
        endpoints = await client.connect_and_get_server_endpoints()
        endpoint = self.security.endpoint(self.url, endpoints)
        server_certificate = (self.security.check_server(self.url, endpoint)
                              if self.security.secure else b"")
        await self.security.apply(client, server_certificate)
        try:
            await client.connect()
        except UaStatusCodeError as exc:
            refused = self.security.refusal(self.url, exc)
            if refused is not None:
                raise refused from None
            raise

    async def _close(self, client: Client, *, lost: bool) -> None:
        """Close the session; after a loss, only briefly (the server is likely gone)."""
        with contextlib.suppress(Exception):  # the server may be gone already
            await asyncio.wait_for(client.disconnect(), 0.5 if lost else self.timeout_s)
        with contextlib.suppress(Exception):
            client.disconnect_socket()

    async def _session(self, client: Client, sink: PointSink, stop: asyncio.Event,
                       lost: asyncio.Event) -> None:
        handler = _Handler()
        subscription: Subscription = await client.create_subscription(
            self.publishing_interval_ms, handler)
        ids = list(self._nodes)
        if ids:
            results = await subscription.subscribe_data_change(
                [client.get_node(nid) for nid in ids])
            for nid, result in zip(ids, results, strict=True):
                if isinstance(result, ua.StatusCode):
                    self._refused(nid, result, sink)
        if self.backfill and self.stats.connects > 1:
            await self._backfill(client, sink)
        self.ready.set()
        while not stop.is_set() and not lost.is_set():
            item = await _next(handler.queue, stop, lost)
            if item is not None:
                self._deliver(item[0], item[1], sink, backfill=False)
        while not handler.queue.empty():  # what arrived before the stop or loss
            nid, value = handler.queue.get_nowait()
            self._deliver(nid, value, sink, backfill=False)

    async def _backfill(self, client: Client, sink: PointSink) -> None:
        end = self.clock.now()
        for nid, node in self._nodes.items():
            if node.last_ts is None or node.refused:
                continue
            start = node.last_ts
            remote = client.get_node(nid)
            why_not = await _no_history(remote)
            if why_not:
                self.backfill_log.append(BackfillNote(node.raw, start, end, 0, why_not))
                continue
            try:
                history = await remote.read_raw_history(start, end)
            except UaStatusCodeError as exc:
                self.backfill_log.append(BackfillNote(node.raw, start, end, 0,
                                                      _status_name(exc)))
                continue
            delivered = 0
            for value in history:
                if self._deliver(nid, value, sink, backfill=True):
                    delivered += 1
            self.stats.backfilled += delivered
            self.backfill_log.append(BackfillNote(node.raw, start, end, delivered))

    def _refused(self, nid: ua.NodeId, status: ua.StatusCode, sink: PointSink) -> None:
        node = self._nodes[nid]
        if node.refused:
            return
        node.refused = True
        self.stats.rejected += 1
        sink.reject(f"{self.url} {node.raw}", b"",
                    f"{node.raw}: the server refused to monitor it ({status.name})")

    def _deliver(self, nid: ua.NodeId, dv: ua.DataValue, sink: PointSink, *,
                 backfill: bool) -> bool:
        """Deliver one value (or reject it); False if it was a duplicate or rejected."""
        node = self._nodes.get(nid)
        if node is None:
            return False
        where = f"{self.url} {node.raw}"
        ts = dv.SourceTimestamp or dv.ServerTimestamp
        if ts is None:
            return self._reject(sink, where, dv, f"{node.raw}: value has no source timestamp")
        ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
        if ts in node.seen:
            self.stats.duplicates += 1
            return False
        status = dv.StatusCode or ua.StatusCode(ua.UInt32(StatusCodes.Good))
        quality, reason = _quality(status)
        value, why = _number(dv.Value)
        if value is None and quality is not Quality.GOOD and node.last_value is not None:
            value = node.last_value
        if value is None:
            shown = f"{why} (status {status.name})" if quality is not Quality.GOOD else why
            return self._reject(sink, where, dv, f"{node.raw}: {shown}")
        scaled = node.binding.value(value)
        if not math.isfinite(scaled):
            return self._reject(sink, where, dv, f"{node.raw}: scaled value is not finite")
        node.remember(ts, value)
        sample = Sample(node.binding.address, scaled, node.binding.unit, quality, to_ms(ts),
                        self._seq.next(self.source), self.source, reason)
        self.stats.samples += 1
        sink.on_sample(sample, where, _payload(dv, backfill=backfill))
        return True

    def _reject(self, sink: PointSink, where: str, dv: ua.DataValue, reason: str) -> bool:
        self.stats.rejected += 1
        sink.reject(where, _payload(dv, backfill=False), reason)
        return False


def _quality(status: ua.StatusCode) -> tuple[Quality, str | None]:
    if status.is_good():
        return Quality.GOOD, None
    name = status.name[:_MAX_REASON]
    return (Quality.UNCERTAIN if status.is_uncertain() else Quality.BAD), name


def _number(variant: ua.Variant | None) -> tuple[float | None, str]:
    value = None if variant is None else variant.Value
    if value is None:
        return None, "value is empty"
    if isinstance(value, bool):
        return float(value), ""
    if not isinstance(value, int | float):
        return None, f"value {value!r:.40} ({type(value).__name__}) is not a number"
    number = float(value)
    if not math.isfinite(number):
        return None, f"value {number} is not finite"
    return number, ""


def _payload(dv: ua.DataValue, *, backfill: bool) -> bytes:
    """A readable record of the raw value (kept if the sample is quarantined)."""
    origin = "history" if backfill else "subscription"
    return f"{origin}: {dv}".encode()[:2000]


async def _no_history(node: Node) -> str:
    """Why the server keeps no readable history of ``node`` ("" if it does)."""
    historizing = await node.read_attribute(AttributeIds.Historizing)
    access = await node.read_attribute(AttributeIds.AccessLevel)
    if historizing.Value is not None and historizing.Value.Value is True:
        return ""
    level = access.Value.Value if access.Value is not None else 0
    if isinstance(level, int) and level & (1 << ua.AccessLevel.HistoryRead.value):
        return ""
    return "the server keeps no history of this node (Historizing false, no HistoryRead access)"


def _status_name(exc: UaStatusCodeError) -> str:
    code = getattr(exc, "code", None)
    return ua.StatusCode(ua.UInt32(code)).name if isinstance(code, int) else str(exc)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds`` or until ``stop`` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _next(queue: asyncio.Queue[tuple[ua.NodeId, ua.DataValue]], stop: asyncio.Event,
                lost: asyncio.Event) -> tuple[ua.NodeId, ua.DataValue] | None:
    """The next queued change, or None once ``stop`` or ``lost`` is set."""
    get = asyncio.ensure_future(queue.get())
    ends = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())}
    try:
        await asyncio.wait({get, *ends}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in ends:
            task.cancel()
    if get.done():
        return get.result()
    get.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await get
    return None
