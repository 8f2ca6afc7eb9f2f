"""MQTT client on the hot path (gmqtt, MQTT 3.1.1 so that amqtt and Mosquitto both work).

A broker URL may list several brokers, comma-separated (``mqtt://a:1883,mqtt://b:1883``): the
client connects to the first that answers and, when it loses it, tries the same one at once,
then the next ones in turn, by the one reconnect policy (``andon.connectors.reconnect``).
gmqtt's own reconnect (a fixed delay) is never used.

``mqtts://host`` (port 8883 by default) connects over TLS and ``mqtt://user@host`` logs in as
``user``, with the TLS trust, client certificate and password of ``MqttSecurity``
(``andon.connectors.mqtt_security``). A URL is only ever shown with its password masked
(``andon.text.redact_url``); a broker that refuses us says so in one line naming it and the
user (``MqttRefused``).

Deferred acknowledgement (``MqttClient(ack_when_handled=True)``, the edge's intake): a QoS 1
message is acknowledged to the broker only once its owner says it is durable, so a crash before
that gets it redelivered (``_defer_acks``).

Why gmqtt: ``benchmarks/mqtt_receive.py`` (results in ``benchmarks/RESULTS.md``) measured it
receiving a 200k-message flood from Mosquitto without loss at the broker's full rate
(57-78k msg/s here), where paho reached about a third of that and lost two thirds of the flood.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import socket
import ssl
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import structlog
from gmqtt import Client, Message
from gmqtt.mqtt.constants import MQTTv311
from gmqtt.mqtt.handler import MQTTConnectError

from andon.connectors.mqtt_security import (
    ClosedBeforeConnack,
    MqttRefused,
    MqttSecurity,
    process_security,
    refusal,
)
from andon.connectors.reconnect import ReconnectPolicy
from andon.errors import ConnectorError
from andon.text import redact_url

__all__ = ["Attempt", "Broker", "MqttClient", "Retained", "parse_broker", "parse_broker_url",
           "parse_broker_urls"]

log = structlog.get_logger("andon.mqtt")
OnMessage = Callable[[str, bytes], None]
#: a batch handler: the (topic, payload) messages of one socket read, in arrival order
OnBatch = Callable[[list[tuple[str, bytes]]], None]
#: unacknowledged handed-over QoS 1 messages at which ``MqttClient.acks_due`` is set: half of
#: Mosquitto's default in-flight window for an MQTT 3.1.1 client (``max_inflight_messages`` 20)
ACK_EVERY = 10
#: what MQTT (and Mosquitto) refuse in a published topic: wildcards, control characters
#: (U+0000 included), lone surrogates (not UTF-8) and the Unicode noncharacters
_BAD_TOPIC = re.compile("[+#\x00-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
                        + "".join(chr(p + c) for p in range(0, 0x110000, 0x10000)
                                  for c in (0xFFFE, 0xFFFF)) + "]")
_MAX_TOPIC_BYTES = 65535


def _not_a_refusal(record: logging.LogRecord) -> bool:
    """Drop gmqtt's own lines about a refusing CONNACK: ``MqttClient`` reports it in one."""
    return "CONNACK" not in str(record.msg)


logging.getLogger("gmqtt.mqtt.handler").addFilter(_not_a_refusal)


class Retained(bytes):
    """A payload the broker delivered from its retained store (the retain flag set).

    The same message may come again on every reconnect. Plain bytes to everything else.
    """

    __slots__ = ()


#: scheme -> (TLS, default port)
_SCHEMES = {"mqtt": (False, 1883), "tcp": (False, 1883), "mqtts": (True, 8883)}


@dataclass(frozen=True)
class Broker:
    """One broker of a URL list: where, whether over TLS, and the login its URL names.

    ``url`` is the URL as it may be shown (a password masked); ``password`` is left out of
    ``repr``.
    """

    url: str
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_broker(url: str) -> Broker:
    """``mqtt://host:port``, ``mqtts://user@host`` → a ``Broker``; ``ConnectorError`` if bad.

    The port defaults to 1883 (8883 for ``mqtts://``); ``tcp://`` is ``mqtt://``; a bare
    ``host:port`` too. The error shows the URL with its password masked.
    """
    shown = redact_url(url)
    try:
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        port = parts.port
    except ValueError:
        raise ConnectorError(f"{shown!r}: broker URL has a bad port (mqtt://host:port)"
                             ) from None
    if parts.scheme not in _SCHEMES:
        raise ConnectorError(f"{shown!r}: broker URL must look like mqtt://host:port (or "
                             "mqtts://host:port for TLS)")
    if not parts.hostname:
        raise ConnectorError(f"{shown!r}: broker URL has no host (mqtt://host:port)")
    tls, default_port = _SCHEMES[parts.scheme]
    return Broker(shown, parts.hostname, port or default_port, tls,
                  unquote(parts.username) if parts.username else None,
                  None if parts.password is None else unquote(parts.password))


def parse_broker_url(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` → (host, port); port defaults to 1883 (mqtts: 8883).

    ``ConnectorError`` if it is not a broker URL (``parse_broker``).
    """
    broker = parse_broker(url)
    return broker.host, broker.port


def parse_broker_urls(urls: str) -> list[tuple[str, str, int]]:
    """``mqtt://a:1883,mqtts://b`` → [(url, host, port), ...], in order (passwords masked).

    ``ConnectorError`` naming the first bad URL of the list (or saying the list is empty).
    """
    return [(b.url, b.host, b.port) for b in _parse_brokers(urls)]


def _parse_brokers(urls: str) -> list[Broker]:
    parsed = [parse_broker(u) for u in (u.strip() for u in urls.split(",")) if u]
    if not parsed:
        raise ConnectorError(f"{redact_url(urls)!r}: no broker URL (mqtt://host:port, several "
                             "comma-separated)")
    return parsed


@dataclass(frozen=True)
class Attempt:
    """One connection attempt: to which broker, after what wait, and why it failed (or None).

    ``refused``: the broker refused us (TLS trust, client certificate, login), as opposed to
    not answering.
    """

    url: str
    delay_s: float
    error: str | None
    refused: bool = False


def _quick_acks(client: Any) -> None:
    """Acknowledge at once, at the TCP level, what this connection reads (Linux; else no-op).

    A broker with Nagle's algorithm on (Mosquitto's default, ``set_tcp_nodelay false``) holds
    a small packet back while an earlier one on the same socket waits for our acknowledgement,
    which the kernel delays up to 40 ms when we have nothing to send back: a PUBACK followed
    by the consumer's acknowledgement then reaches the edge 40 ms late (measured:
    ``benchmarks/edge_latency.py``). ``TCP_QUICKACK`` set again after each read sends the
    pending acknowledgement now (the flag does not stick, so it is set per read).
    """
    option = getattr(socket, "TCP_QUICKACK", None)
    try:  # gmqtt has no public handle on its socket; without one, nothing changes
        connection = client._connection  # noqa: SLF001
        sock = connection._transport.get_extra_info("socket")  # noqa: SLF001
        protocol = connection._protocol  # noqa: SLF001
    except AttributeError:
        return
    if option is None or sock is None:
        return
    received = protocol.data_received

    def data_received(data: bytes) -> None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, option, 1)
        received(data)

    protocol.data_received = data_received


def _free_ids_of_dropped_messages(client: Any) -> None:
    """Give back the packet ids of the QoS 1 messages gmqtt drops on a connect without session.

    When a broker answers without our session (it restarted without persistence, or the
    session is clean), gmqtt empties its queue of unacknowledged QoS 1 publishes but never
    frees their packet ids: after ~65,000 such ids a long-running client's every QoS 1
    publish raised ``OverflowError``. What its queue still holds after the clear (a caller
    that keeps messages to send again, ``andon.services.simulate``) keeps its id.
    """
    try:  # gmqtt has no public hook for this; without these parts, nothing changes
        handler = client._package_handler  # noqa: SLF001
        clear = handler._clear_qos_callback  # noqa: SLF001
        ids = handler.id_generator
    except AttributeError:
        return

    def clear_and_free() -> None:
        dropped = [mid for mid, _ in client._persistent_storage.get_all()]  # noqa: SLF001
        clear()
        kept = {mid for mid, _ in client._persistent_storage.get_all()}  # noqa: SLF001
        for mid in dropped:
            if mid not in kept:
                ids.free_id(mid)

    handler._clear_qos_callback = clear_and_free  # noqa: SLF001


def _defer_acks(client: Any, received: Callable[[int], None]) -> bool:
    """Make gmqtt hand a QoS 1 message over without acknowledging it; ``received(mid)`` after.

    gmqtt sends the PUBACK of a QoS 1 message before it calls ``on_message``. Its
    ``optimistic_acknowledgement=False`` waits for a coroutine callback instead (a task per
    message: too slow on the hot path) and is forced on for MQTT 3.1.1, which we speak; so
    its handler's QoS 1 step is replaced on this client's instance: ``on_message`` as before,
    then ``received`` with the packet id, whose PUBACK is the caller's to send (``MqttClient.
    acknowledge``). False, and nothing changed, if gmqtt has not these parts (a new version):
    the caller then keeps gmqtt's acknowledgement on receipt.
    """
    try:  # gmqtt has no public hook for this
        handler = client._package_handler  # noqa: SLF001
        handler._handle_qos_1_publish_packet  # noqa: B018, SLF001 - the step replaced
        handler._send_puback  # noqa: B018, SLF001 - how ``acknowledge`` sends
    except AttributeError:
        return False

    def handle_qos_1_publish_packet(mid: int, packet: bytes, topic: str,
                                    properties: Any) -> None:
        try:
            handler.on_message(topic, packet, 1, properties)
        finally:  # a handler that raised had the message too (logged by gmqtt)
            received(mid)

    handler._handle_qos_1_publish_packet = handle_qos_1_publish_packet  # noqa: SLF001
    return True


class MqttClient:
    """A small async MQTT client: connect, subscribe (again after reconnects), publish.

    ``batch=True`` (QoS 0 only) hands messages to ``on_message`` after gmqtt has parsed
    everything one socket read brought (one event-loop callback per read) instead of from
    inside its parser, in arrival order. Under a flood the parser's and the handler's code then
    each run in a tight loop and stay warm in the CPU caches (the edge's ingest path measured
    ~1.3x faster, ``benchmarks/RESULTS.md``); a message waits at most for the rest of its read,
    and at plant rates a read holds one message. With QoS 1 only for a persistent session: gmqtt
    acknowledges a message on receipt, before it was handled (unless ``ack_when_handled``). A
    handler that raises is logged with the topic and the batch goes on.

    ``ack_when_handled`` (a persistent session at QoS 1 only): a QoS 1 message is acknowledged
    to the broker only when the owner says it is durable, never on receipt. Each is handed
    over as usual (with ``on_batch``: once ``_deliver`` has passed its read to the handler);
    ``ack_mark()`` counts the QoS 1 messages handed over so far, and ``acknowledge(mark)``
    sends the PUBACKs, in receipt order, of those handed over up to that mark. The owner takes
    a mark, makes what it was handed durable, then acknowledges the mark: a crash before that
    leaves the messages unacknowledged, and the broker sends them again to the next
    connection of the session (the edge's store, unique by source and seq, counts them as
    duplicates). A message of a connection that dropped is never acknowledged on a later one
    (its packet id would name another message there): the broker redelivers it. ``unacked``
    is how many handed-over messages wait for their acknowledgement; ``acks_due`` (an event,
    given or made here) is set while ``ack_every`` or more do. The owner must acknowledge at
    that pace, not only now and then: the broker sends a subscriber at most its in-flight
    window of unacknowledged messages (Mosquitto's ``max_inflight_messages``, 20 by default
    for MQTT 3.1.1) and queues the rest up to a limit (``max_queued_messages``, 1000), beyond
    which it drops them.

    ``quick_ack``: acknowledge every TCP segment read at once (``_quick_acks``), for a client
    that waits for an answer on a connection it otherwise only publishes on (the edge's
    uplink, waiting for the consumer's acknowledgement).

    ``on_batch`` (implies ``batch``) takes the place of ``on_message``: it gets each read's
    messages as one list (the edge then reads its clock once per read and makes one call,
    not one per message). It must deal with a bad message itself: if it raises, the
    exception is logged, and which messages of the list it had handled is unknown. In this mode
    ``received`` counts every message of the reads, echoes of ``subscribed``'s probe included.

    Reconnects: with ``auto_reconnect`` the client reconnects by itself after a loss
    (``connect_retrying``, by ``reconnect``: at once, then with back-off and jitter, trying
    the brokers of the URL list in turn) and subscribes again; a persistent session stays
    persistent. Without it the caller reconnects (the edge's uplink, which starts a fresh
    client per connection, calls ``connect_retrying`` itself with a policy it keeps).
    ``lost`` is set when an established connection drops and cleared when one is
    established again; ``attempts`` keeps the last attempts (broker, wait, error).

    Security: ``security`` (default: the process's, ``mqtt_security.process_security``)
    gives the TLS trust and client certificate of ``mqtts://`` brokers and the user and
    password of those whose URL names none. A broker that refuses us (``refusal``) ends
    ``connect``, and ``connect_retrying`` of a client never connected, with ``MqttRefused``;
    a client that was connected goes on trying and logs each refusal as an error.
    """

    def __init__(self, url: str, client_id: str | None = None, *,
                 on_message: OnMessage | None = None, subscriptions: Sequence[str] = (),
                 qos: int = 0, will: tuple[str, bytes] | None = None,
                 auto_reconnect: bool = True, batch: bool = False,
                 on_batch: OnBatch | None = None, persistent: bool = False,
                 reconnect: ReconnectPolicy | None = None, connect_timeout_s: float = 10.0,
                 url_index: int = 0, quick_ack: bool = False,
                 security: MqttSecurity | None = None, ack_when_handled: bool = False,
                 ack_every: int = ACK_EVERY, acks_due: asyncio.Event | None = None) -> None:
        if on_message is not None and on_batch is not None:
            raise ValueError("give on_message or on_batch, not both")
        if ack_when_handled and not (persistent and qos == 1):
            raise ValueError("ack_when_handled is for a persistent session at QoS 1 (only the "
                             "broker's session can send an unacknowledged message again)")
        if ack_every < 1:
            raise ValueError(f"ack_every must be at least 1, got {ack_every!r}")
        batch = batch or on_batch is not None
        if batch and qos and not persistent:
            raise ValueError("batch delivery with QoS 1 is for persistent sessions only (a "
                             "message is acknowledged on receipt, before it is handled)")
        self._brokers = _parse_brokers(url)
        self.brokers = [(b.url, b.host, b.port) for b in self._brokers]  # passwords masked
        self.url = redact_url(url)  # as given (a password masked): one URL or a list
        self.security = process_security() if security is None else security
        self._logins = [_login(b, self.security) for b in self._brokers]
        self._tls = (self.security.tls_context() if any(b.tls for b in self._brokers)
                     else None)
        self.url_index = url_index % len(self.brokers)  # the broker in use, or tried next
        self.policy = reconnect if reconnect is not None else ReconnectPolicy()
        self.connect_timeout_s = connect_timeout_s
        self.attempts: deque[Attempt] = deque(maxlen=100)
        self.failures = 0  # failed connection attempts
        self.reconnects = 0  # connections established after a loss
        self.client_id = client_id or f"andon-{secrets.token_hex(4)}"
        self.subscriptions = list(subscriptions)
        self.qos = qos
        self.received = 0
        self.connected = asyncio.Event()
        self.lost = asyncio.Event()  # set when an established connection drops
        self._dropped = asyncio.Event()  # set when an attempt's connection drops before CONNACK
        self.auto_reconnect = auto_reconnect
        self._closing = asyncio.Event()  # set by ``disconnect``: no more attempts
        self._attempting = False  # an attempt is running (its own failure is not a loss)
        self._reconnecting: asyncio.Future[bool] | None = None
        self._lost_at = 0.0
        self._connections = 0  # connections established (CONNACKs)
        self.quick_ack = quick_ack
        will_message = Message(will[0], will[1], qos=1, retain=True) if will else None
        if persistent and client_id is None:
            raise ValueError("a persistent session needs a stable client id")
        # persistent: the broker keeps the session (subscriptions, QoS 1 messages) while we are
        # away. gmqtt acknowledges a message on receipt (its deferred acknowledgement never
        # fires for a plain callback) unless ``ack_when_handled`` (the edge's intake); for the
        # central ingest, its own acknowledgement to the edge covers a crash in between
        self._client: Any = Client(self.client_id, clean_session=not persistent,
                                   will_message=will_message)
        _free_ids_of_dropped_messages(self._client)
        self._on_message = on_message
        self._on_batch = on_batch
        self._client.on_connect = self._connected
        self._client.on_disconnect = self._disconnected
        self._inbox: list[tuple[str, bytes]] = []  # batch mode: parsed, not yet handed over
        self._client.on_message = self._enqueue if batch else self._message
        self._init_acks(ack_when_handled=ack_when_handled, batch=batch, ack_every=ack_every,
                        acks_due=acks_due)

    def _init_acks(self, *, ack_when_handled: bool, batch: bool, ack_every: int,
                   acks_due: asyncio.Event | None) -> None:
        """The deferred acknowledgement's state (``ack_when_handled``).

        The generation changes with every connection and every loss, so no packet id is
        acknowledged beyond its own connection.
        """
        self._generation = 0
        self._inbox_mids: list[tuple[int, int]] = []  # (generation, mid) of ``_inbox``'s QoS 1
        self._unacked: deque[tuple[int, int]] = deque()  # (mark, mid) handed over, in order
        self._handed = 0  # QoS 1 messages handed over (``ack_mark``)
        self.acked = 0  # PUBACKs sent by ``acknowledge``
        self.ack_every = ack_every
        self.acks_due = asyncio.Event() if acks_due is None else acks_due
        self.ack_when_handled = ack_when_handled and _defer_acks(
            self._client, self._received_in_batch if batch else self._received_alone)
        if ack_when_handled and not self.ack_when_handled:
            log.warning("gmqtt cannot defer acknowledgements here; QoS 1 messages are "
                        "acknowledged on receipt", client_id=self.client_id)

    def _connected(self, client: Any, *_: Any) -> None:
        if self.quick_ack:
            _quick_acks(client)
        for topic in self.subscriptions:
            client.subscribe(topic, qos=self.qos)
        self._connections += 1
        self._new_generation()
        self.connected.set()

    @property
    def current_url(self) -> str:
        """The broker of the list in use (or to be tried next)."""
        return self.brokers[self.url_index][0]

    def _disconnected(self, *_: Any) -> None:
        # gmqtt schedules its (fixed-delay) reconnect just before calling this; an inactive
        # client refuses to run it. Ours (or the caller's) reconnects instead.
        self._client._is_active = False  # noqa: SLF001 - gmqtt has no public switch
        self._new_generation()
        was_up = self.connected.is_set()
        self.connected.clear()
        if not was_up and self._attempting:
            self._dropped.set()  # the attempt fails now, not at its timeout (``_handshake``)
        if not was_up or self._closing.is_set():
            return  # a failed attempt, or our own disconnect: not a loss
        self.lost.set()
        loop = asyncio.get_running_loop()
        self._lost_at = loop.time()
        if self.policy.lost(self._lost_at):
            log.warning("MQTT connection lost; reconnecting at once", url=self.current_url,
                        client_id=self.client_id)
        else:
            log.warning("MQTT connection lost soon after connecting; backing off",
                        url=self.current_url, client_id=self.client_id,
                        attempts=self.policy.attempts)
        if self.auto_reconnect and not self._attempting and (
                self._reconnecting is None or self._reconnecting.done()):
            self._reconnecting = asyncio.ensure_future(self.connect_retrying())

    def _message(self, _client: Any, topic: str, payload: bytes, _qos: int = 0,
                 properties: Any = None) -> int:
        if properties and properties.get("retain"):  # gmqtt's flag (module ``Retained``)
            payload = Retained(payload)
        if not topic.startswith("andon/_probe/"):
            self.received += 1
        if self._on_message is not None:
            self._on_message(topic, payload)
        return 0

    def _enqueue(self, _client: Any, topic: str, payload: bytes, _qos: int = 0,
                 properties: Any = None) -> int:
        if properties and properties.get("retain"):  # inline: once per message
            payload = Retained(payload)
        if not self._inbox:  # the first of a read: deliver once gmqtt has parsed the rest
            asyncio.get_running_loop().call_soon(self._deliver)
        self._inbox.append((topic, payload))
        return 0

    def _deliver(self) -> None:
        batch, self._inbox = self._inbox, []
        mids = self._inbox_mids
        if mids:  # deferred acknowledgement: handed over once the handler has had them
            self._inbox_mids = []
        handle = self._on_batch
        if handle is not None and self._on_message is None:
            self.received += len(batch)
            try:
                handle(batch)
            except Exception:  # the handler's own bug: logged, the client goes on
                log.exception("batch handler failed", messages=len(batch),
                              first_topic=batch[0][0][:200])
        else:
            for topic, payload in batch:
                try:
                    self._message(None, topic, payload)
                except Exception:  # one handler bug must not drop the rest of the batch
                    log.exception("message handler failed", topic=topic[:200])
        if mids:
            self._handed_over(mids)

    # -- deferred acknowledgement (``ack_when_handled``) -----------------------------------
    def _received_in_batch(self, mid: int) -> None:
        """QoS 1 message ``mid`` went to ``_enqueue``: it is handed over with its read."""
        self._inbox_mids.append((self._generation, mid))

    def _received_alone(self, mid: int) -> None:
        """QoS 1 message ``mid`` went to ``_message``, which handed it over."""
        self._handed_over([(self._generation, mid)])

    def _handed_over(self, mids: list[tuple[int, int]]) -> None:
        generation, unacked, handed = self._generation, self._unacked, self._handed
        for received_in, mid in mids:
            if received_in == generation:  # else its connection dropped: sent again
                handed += 1
                unacked.append((handed, mid))
        self._handed = handed
        if len(unacked) >= self.ack_every:
            self.acks_due.set()

    def _new_generation(self) -> None:
        """A connection began or ended: what it did not acknowledge, the broker sends again."""
        self._generation += 1
        self._unacked.clear()
        self._inbox_mids = []
        self.acks_due.clear()

    @property
    def unacked(self) -> int:
        """QoS 1 messages handed over on this connection and not acknowledged yet."""
        return len(self._unacked)

    def ack_mark(self) -> int:
        """How many QoS 1 messages were handed over so far: a mark for ``acknowledge``.

        Take it on the event loop's thread right before taking over what the handler was
        given, with no ``await`` in between, so the mark covers exactly that.
        """
        return self._handed

    def acknowledge(self, mark: int) -> int:
        """Acknowledge, in receipt order, the messages handed over up to ``mark``; how many.

        Call it (on the event loop's thread) once what they brought is durable. Those that
        arrived on a connection since dropped are not acknowledged (the broker sends them
        again); nor is anything while the connection is closing.
        """
        unacked = self._unacked
        if not unacked or unacked[0][0] > mark:
            return 0
        if not self._client.is_connected:  # dropping: gmqtt tells us in a moment
            self._new_generation()
            return 0
        send = self._client._package_handler._send_puback  # noqa: SLF001 - ``_defer_acks``
        sent = 0
        while unacked and unacked[0][0] <= mark:
            send(unacked.popleft()[1])
            sent += 1
        self.acked += sent
        if len(unacked) < self.ack_every:
            self.acks_due.clear()
        return sent

    async def connect(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 - bounds each handshake
        """Connect (and subscribe) to the first broker of the list that answers.

        Each broker is tried once, in order, without waiting in between; ``ConnectionError``
        naming the broker(s) and why if none answers within ``timeout`` (default
        ``connect_timeout_s``) each.
        """
        errors = []
        refused: MqttRefused | None = None
        for _ in self.brokers:
            error = await self._attempt(0.0, timeout)
            if error is None:
                return
            if self.attempts[-1].refused:
                refused = MqttRefused(self.current_url, error)
            errors.append(f"{self.current_url} ({error})")
            self.url_index = (self.url_index + 1) % len(self.brokers)
        if len(errors) == 1:
            if refused is not None:
                raise refused
            raise ConnectionError(f"cannot reach MQTT broker {errors[0]}")
        line = f"cannot reach any MQTT broker: {'; '.join(errors)}"
        if refused is not None:
            raise MqttRefused(refused.url, refused.reason, line)
        raise ConnectionError(line)

    async def connect_retrying(self, stop: asyncio.Event | None = None, *,
                               wake: asyncio.Event | None = None,
                               on_failure: Callable[[str], None] | None = None,
                               fail_on_refusal: bool | None = None) -> bool:
        """Connect by the reconnect policy until connected (True) or ``stop`` is set (False).

        The first attempt goes to the broker in use (at once if the policy says so); each
        failure moves to the next broker of the list and waits the policy's delay, which
        ``wake`` (an event someone sets) cuts short. Logged once per outage, not per attempt;
        ``on_failure`` gets each failure's reason (counters).

        Refusals (``Attempt.refused``): with ``fail_on_refusal`` (default: this client has
        never been connected, i.e. a misconfigured start) ``MqttRefused`` is raised once
        every broker of the list has refused in a row; otherwise each refusal is logged as an
        error naming the broker, the user and the reason (once per outage and reason) and
        the attempts go on.
        """
        loop = asyncio.get_running_loop()
        began = self._lost_at or loop.time()
        outage = _Outage(self._connections == 0 if fail_on_refusal is None
                         else fail_on_refusal)
        while not self._closing.is_set() and not (stop is not None and stop.is_set()):
            delay = self.policy.next_delay()
            if delay > 0:
                await _first_of(self._closing, stop, wake, timeout=delay)
                if wake is not None:
                    wake.clear()
                if self._closing.is_set() or (stop is not None and stop.is_set()):
                    break
            error = await self._attempt(delay, self.connect_timeout_s)
            if error is None:
                if outage.failed or self._lost_at:
                    self.reconnects += bool(self._lost_at)
                    log.info("MQTT connected", url=self.current_url, client_id=self.client_id,
                             failed_attempts=outage.failed,
                             outage_s=round(loop.time() - began, 3))
                self._lost_at = 0.0
                return True
            self._failed(error, outage)
            if on_failure is not None:
                on_failure(error)
            self.url_index = (self.url_index + 1) % len(self.brokers)
        return False

    def _failed(self, error: str, outage: _Outage) -> None:
        """Count and log a failed attempt of ``connect_retrying``; raise a refusal if fatal."""
        outage.failed += 1
        if not self.attempts[-1].refused:
            outage.refused_in_row = 0
            if not outage.warned:
                outage.warned = True
                log.warning("MQTT broker unreachable; retrying with back-off (logged once)",
                            url=self.current_url, brokers=len(self.brokers),
                            client_id=self.client_id, reason=error)
            return
        outage.refused_in_row += 1
        if outage.fail_on_refusal and outage.refused_in_row >= len(self.brokers):
            raise MqttRefused(self.current_url, error)
        if error not in outage.told:
            outage.told.add(error)
            log.error("MQTT broker refused the connection; retrying with back-off",
                      url=self.current_url, client_id=self.client_id, reason=error)

    async def _attempt(self, delay: float, timeout: float | None) -> str | None:  # noqa: ASYNC109
        """One attempt on the broker in use: None once connected, else why not."""
        broker = self._brokers[self.url_index]
        username, password = self._logins[self.url_index]
        url = broker.url
        self._attempting = True
        self.connected.clear()
        self._client._username = None if username is None else username.encode()  # noqa: SLF001
        self._client._password = None if password is None else password.encode()  # noqa: SLF001
        try:
            await self._handshake(broker.host, broker.port, self.connect_timeout_s
                                  if timeout is None else timeout,
                                  self._tls if broker.tls and self._tls else False)
        except (OSError, TimeoutError, MQTTConnectError) as exc:
            refused = refusal(exc, user=username, security=self.security, tls=broker.tls)
            error = refused or str(exc) or type(exc).__name__
            self.failures += 1
            self.attempts.append(Attempt(url, delay, error, refused is not None))
            connection = self._client._connection  # noqa: SLF001 - is this attempt's still open?
            if connection is not None and not connection.is_closing():
                with contextlib.suppress(Exception):  # half open (no CONNACK): close it
                    await self._client.disconnect()
            self._client._is_active = False  # noqa: SLF001 - no gmqtt reconnect of it
            return error
        finally:
            self._attempting = False
        self.attempts.append(Attempt(url, delay, None))
        self.policy.connected(asyncio.get_running_loop().time())
        self.lost.clear()
        return None

    async def _handshake(self, host: str, port: int, timeout: float,  # noqa: ASYNC109
                         tls: ssl.SSLContext | bool) -> None:
        """Connect: return at the broker's CONNACK; raise if none came within ``timeout``.

        gmqtt's ``connect`` goes on after the CONNACK until the broker has acknowledged the
        QoS 1 messages it sends again (a producer's backlog after a failover): that is left
        to run on the new connection, not counted against ``timeout``.
        """
        self._dropped.clear()
        connecting = asyncio.ensure_future(
            self._client.connect(host, port, ssl=tls, version=MQTTv311, keepalive=30))
        accepted = asyncio.ensure_future(self.connected.wait())
        dropped = asyncio.ensure_future(self._dropped.wait())
        try:
            await asyncio.wait({connecting, accepted, dropped}, timeout=timeout,
                               return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # e.g. ``disconnect`` during an attempt: no zombie
            connecting.cancel()
            raise
        finally:
            accepted.cancel()
            dropped.cancel()
        if connecting.done():
            connecting.result()  # its error, if it failed
        elif self._dropped.is_set() and not self.connected.is_set():
            connecting.cancel()  # gmqtt would wait for a CONNACK that cannot come
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await connecting
            error = getattr(self._client._package_handler, "_error", None)  # noqa: SLF001
            if isinstance(error, MQTTConnectError):  # a refusing CONNACK, then the close
                raise error
            raise ClosedBeforeConnack("the broker closed the connection before its CONNACK")
        elif not self.connected.is_set():
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await connecting
            raise TimeoutError(f"no CONNACK within {timeout:g} s")
        else:
            connecting.add_done_callback(_drained)
        if not self.connected.is_set():
            raise ConnectionResetError("connection dropped during the handshake")

    async def subscribed(self) -> None:
        """Wait until the broker has acknowledged our subscriptions (SUBACK)."""
        # gmqtt sends SUBSCRIBE in on_connect; a round trip with a PINGREQ-free barrier:
        # subscribe to a private topic and wait for our own message on it.
        probe = f"andon/_probe/{self.client_id}"
        seen = asyncio.Event()
        previous = self._on_message

        def catch(topic: str, payload: bytes) -> None:
            if topic == probe:
                seen.set()
            else:
                deliver(topic, payload)

        batch = self._on_batch
        deliver = previous or ((lambda t, p: batch([(t, p)])) if batch is not None
                               else (lambda _t, _p: None))
        self._on_message = catch  # per message while it waits (``_deliver``)
        session = -1
        try:
            for _ in range(100):  # bounded: ~10 s
                if self.connected.is_set():
                    if session != self._connections:  # (again) on this connection
                        session = self._connections
                        self._client.subscribe(probe, qos=0)
                    self._client.publish(probe, b"1", qos=0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(seen.wait(), 0.1)
                    break
            else:
                raise TimeoutError(f"no subscription acknowledgement from {self.url}")
        finally:
            self._on_message = previous
            if self.connected.is_set():
                self._client.unsubscribe(probe)

    def publish(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> None:
        """Queue a message for sending.

        ``ValueError`` naming the topic if MQTT forbids it in a PUBLISH (empty, a ``+`` or
        ``#`` wildcard, a control character or U+0000, over 65535 bytes): a broker would drop
        the connection on it.
        """
        if _BAD_TOPIC.search(topic) is not None or not 0 < len(topic.encode(errors="replace")
                                                               ) <= _MAX_TOPIC_BYTES:
            raise ValueError(f"cannot publish on topic {topic[:200]!r}: a topic is 1 to "
                             f"{_MAX_TOPIC_BYTES} bytes of UTF-8 without wildcards (+, #) "
                             "or control characters")
        self._client.publish(topic, payload, qos=qos, retain=retain)

    async def disconnect(self) -> None:
        """Disconnect cleanly (and stop reconnecting)."""
        self._closing.set()
        if self.connected.is_set():  # for the policy, the connection ends here
            self.policy.lost(asyncio.get_running_loop().time())
        if self._reconnecting is not None and not self._reconnecting.done():
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reconnecting
        with contextlib.suppress(Exception):  # already gone is fine
            await self._client.disconnect()


@dataclass
class _Outage:
    """What ``connect_retrying`` knows of the outage it is ending."""

    fail_on_refusal: bool  # raise once every broker has refused in a row
    failed: int = 0  # failed attempts
    refused_in_row: int = 0
    warned: bool = False  # "unreachable" logged
    told: set[str] = field(default_factory=set)  # the refusals logged


def _login(broker: Broker, security: MqttSecurity) -> tuple[str | None, str | None]:
    """The user name and password for ``broker``: its URL's, else the settings'.

    ``ConnectorError`` for a password without a user name (MQTT 3.1.1 has no such login).
    """
    username = broker.username or security.username
    password = broker.password if broker.password is not None else security.password
    if password is not None and not username:
        raise ConnectorError(f"MQTT broker {broker.url}: a password is set but no user name "
                             "(give mqtt://user@host or --mqtt-username, ANDON_MQTT_USERNAME)")
    return username, password


def _drained(connecting: asyncio.Future[None]) -> None:
    """The rest of a connect (the resent QoS 1 messages acknowledged) ended: note a failure."""
    if not connecting.cancelled() and connecting.exception() is not None:
        log.info("MQTT connect ended after the CONNACK with an error; the client reconnects",
                 error=str(connecting.exception()))


async def _first_of(*events: asyncio.Event | None, timeout: float) -> None:  # noqa: ASYNC109
    """Return when any of ``events`` (None: ignored) is set, or after ``timeout`` seconds."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events if e is not None]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
