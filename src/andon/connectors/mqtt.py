"""MQTT client on the hot path (gmqtt, MQTT 3.1.1 so that amqtt and Mosquitto both work).

Why gmqtt: ``benchmarks/mqtt_receive.py`` (results in ``benchmarks/RESULTS.md``) measured it
receiving a 200k-message flood from Mosquitto without loss at the broker's full rate
(57-78k msg/s here), where paho reached about a third of that and lost two thirds of the flood.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import socket
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import structlog
from gmqtt import Client, Message
from gmqtt.mqtt.constants import MQTTv311

from andon.errors import ConnectorError

__all__ = ["MqttClient", "parse_broker_url"]

log = structlog.get_logger("andon.mqtt")
OnMessage = Callable[[str, bytes], None]
#: a batch handler: the (topic, payload) messages of one socket read, in arrival order
OnBatch = Callable[[list[tuple[str, bytes]]], None]
#: what MQTT (and Mosquitto) refuse in a published topic: wildcards, control characters
#: (U+0000 included), lone surrogates (not UTF-8) and the Unicode noncharacters
_BAD_TOPIC = re.compile("[+#\x00-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
                        + "".join(chr(p + c) for p in range(0, 0x110000, 0x10000)
                                  for c in (0xFFFE, 0xFFFF)) + "]")
_MAX_TOPIC_BYTES = 65535


def parse_broker_url(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` → (host, port); port defaults to 1883. ``ConnectorError`` if not."""
    try:
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        port = parts.port
    except ValueError:
        raise ConnectorError(f"{url!r}: broker URL has a bad port (mqtt://host:port)") from None
    if parts.scheme not in {"mqtt", "tcp"}:
        raise ConnectorError(f"{url!r}: broker URL must look like mqtt://host:port")
    if not parts.hostname:
        raise ConnectorError(f"{url!r}: broker URL has no host (mqtt://host:port)")
    return parts.hostname, port or 1883


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


class MqttClient:
    """A small async MQTT client: connect, subscribe (again after reconnects), publish.

    ``batch=True`` (QoS 0 only) hands messages to ``on_message`` after gmqtt has parsed
    everything one socket read brought (one event-loop callback per read) instead of from
    inside its parser, in arrival order. Under a flood the parser's and the handler's code then
    each run in a tight loop and stay warm in the CPU caches (the edge's ingest path measured
    ~1.3x faster, ``benchmarks/RESULTS.md``); a message waits at most for the rest of its read,
    and at plant rates a read holds one message. Not for QoS 1: gmqtt acknowledges a message
    when the callback returns, which would then be before it was handled. A handler that raises
    is logged with the topic and the batch goes on.

    ``quick_ack``: acknowledge every TCP segment read at once (``_quick_acks``), for a client
    that waits for an answer on a connection it otherwise only publishes on (the edge's
    uplink, waiting for the consumer's acknowledgement).

    ``on_batch`` (implies ``batch``) takes the place of ``on_message``: it gets each read's
    messages as one list (the edge then reads its clock once per read and makes one call,
    not one per message). It must deal with a bad message itself: if it raises, the
    exception is logged, and which messages of the list it had handled is unknown. In this mode
    ``received`` counts every message of the reads, echoes of ``subscribed``'s probe included.
    """

    def __init__(self, url: str, client_id: str | None = None, *,
                 on_message: OnMessage | None = None, subscriptions: Sequence[str] = (),
                 qos: int = 0, will: tuple[str, bytes] | None = None,
                 auto_reconnect: bool = True, batch: bool = False,
                 on_batch: OnBatch | None = None, persistent: bool = False,
                 quick_ack: bool = False) -> None:
        if on_message is not None and on_batch is not None:
            raise ValueError("give on_message or on_batch, not both")
        batch = batch or on_batch is not None
        if batch and qos and not persistent:
            raise ValueError("batch delivery with QoS 1 is for persistent sessions only (a "
                             "message is acknowledged on receipt, before it is handled)")
        self.host, self.port = parse_broker_url(url)
        self.url = url
        self.client_id = client_id or f"andon-{secrets.token_hex(4)}"
        self.subscriptions = list(subscriptions)
        self.qos = qos
        self.received = 0
        self.connected = asyncio.Event()
        self.lost = asyncio.Event()  # set when an established connection drops
        self.auto_reconnect = auto_reconnect
        self.quick_ack = quick_ack
        will_message = Message(will[0], will[1], qos=1, retain=True) if will else None
        if persistent and client_id is None:
            raise ValueError("a persistent session needs a stable client id")
        # persistent: the broker keeps the session (subscriptions, QoS 1 messages) while we are
        # away. gmqtt acknowledges a message as it hands it over (its deferred acknowledgement
        # never fires for a plain callback); the central ingest's own acknowledgement to the
        # edge covers a crash in between
        self._client: Any = Client(self.client_id, clean_session=not persistent,
                                   will_message=will_message)
        self._client.set_config({"reconnect_retries": -1, "reconnect_delay": 2})
        self._on_message = on_message
        self._on_batch = on_batch
        self._client.on_connect = self._connected
        self._client.on_disconnect = self._disconnected
        self._inbox: list[tuple[str, bytes]] = []  # batch mode: parsed, not yet handed over
        self._client.on_message = self._enqueue if batch else self._message

    def _connected(self, client: Any, *_: Any) -> None:
        if self.quick_ack:
            _quick_acks(client)
        for topic in self.subscriptions:
            client.subscribe(topic, qos=self.qos)
        self.connected.set()

    def _disconnected(self, *_: Any) -> None:
        self.connected.clear()
        self.lost.set()
        if not self.auto_reconnect:
            # gmqtt schedules its (fixed-delay) reconnect just before calling this; an inactive
            # client refuses to run it. The caller reconnects with its own backoff instead.
            self._client._is_active = False  # noqa: SLF001 - gmqtt has no public switch

    def _message(self, _client: Any, topic: str, payload: bytes, *_: Any) -> int:
        if not topic.startswith("andon/_probe/"):
            self.received += 1
        if self._on_message is not None:
            self._on_message(topic, payload)
        return 0

    def _enqueue(self, _client: Any, topic: str, payload: bytes, *_: Any) -> int:
        if not self._inbox:  # the first of a read: deliver once gmqtt has parsed the rest
            asyncio.get_running_loop().call_soon(self._deliver)
        self._inbox.append((topic, payload))
        return 0

    def _deliver(self) -> None:
        batch, self._inbox = self._inbox, []
        handle = self._on_batch
        if handle is not None and self._on_message is None:
            self.received += len(batch)
            try:
                handle(batch)
            except Exception:  # the handler's own bug: logged, the client goes on
                log.exception("batch handler failed", messages=len(batch),
                              first_topic=batch[0][0][:200])
            return
        for topic, payload in batch:
            try:
                self._message(None, topic, payload)
            except Exception:  # one handler bug must not drop the rest of the batch
                log.exception("message handler failed", topic=topic[:200])

    async def connect(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - bounds the handshake only
        """Connect (and subscribe); raise ``ConnectionError`` naming the URL on failure."""
        try:
            await asyncio.wait_for(
                self._client.connect(self.host, self.port, version=MQTTv311, keepalive=30),
                timeout,
            )
        except (OSError, TimeoutError) as exc:
            why = str(exc) or type(exc).__name__
            raise ConnectionError(f"cannot reach MQTT broker {self.url} ({why})") from None

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
        self._client.subscribe(probe, qos=0)
        try:
            for _ in range(100):  # bounded: ~10 s
                self._client.publish(probe, b"1", qos=0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(seen.wait(), 0.1)
                    break
            else:
                raise TimeoutError(f"no subscription acknowledgement from {self.url}")
        finally:
            self._on_message = previous
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
        """Disconnect cleanly."""
        with contextlib.suppress(Exception):  # already gone is fine
            await self._client.disconnect()
