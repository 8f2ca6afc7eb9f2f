"""MQTT JSON on the UNS as a connector: the default protocol, and the edge's MQTT intake.

``UnsConnector`` subscribes to UNS topic filters and receives a socket read at a time
(``MqttClient(on_batch=...)``, QoS 0; a persistent session: QoS 1, each message acknowledged
to the broker only once the owner made it durable, ``acknowledge``). A ``BatchSink`` (the
edge's ingest) gets each read as one batch of raw (topic, payload) messages: it resolves each
topic once, decodes, and reads its clock once per batch. Any other ``PointSink`` gets each
tag message decoded here (``decode_sample``), or rejected with the decoder's one-line reason.
Both run the same decoder; the conformance suite (``tests/connectors/test_conformance.py``)
runs this connector with a ``CollectingSink``, and the edge's tests run it into the edge.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from andon.connectors.base import BatchSink, PointSink
from andon.connectors.mqtt import MqttClient, OnBatch
from andon.connectors.reconnect import ReconnectPolicy
from andon.errors import PayloadError
from andon.namespace.sample import decode_sample
from andon.namespace.topics import PREFIX
from andon.text import redact_url

__all__ = ["UnsConnector"]

log = structlog.get_logger("andon.connectors.uns")


class UnsConnector:
    """Subscribe to UNS topics; hand each read to a ``BatchSink``, or decode for a ``PointSink``.

    ``subscriptions`` are MQTT topic filters (default: every tag of every line). The broker may
    be down at start, or go away at any time: the MQTT client tries again by the reconnect
    policy (``andon.connectors.reconnect``: at once, then back-off with jitter up to
    ``max_backoff_s``, over the brokers of a comma-separated URL list) until it connects or
    ``stop`` is set, and subscribes again.

    With ``persistent`` the session is kept at QoS 1 and a QoS 1 message is acknowledged to
    the broker only when the owner says it is durable (``MqttClient(ack_when_handled=True)``):
    take ``ack_mark()`` right before taking over what the sink was given (same thread, no
    ``await`` in between), make that durable, then ``acknowledge(mark)``; and do it whenever
    ``acks_due`` is set, which is when enough messages wait for it to hold the broker back
    (its in-flight window). A crash in between gets the messages redelivered. Without
    ``persistent`` (QoS 0) these do nothing.
    """

    kind = "mqtt"

    def __init__(self, broker_url: str, subscriptions: Sequence[str] = (f"{PREFIX}/+/+/+/+/+/+/+",),
                 *, client_id: str | None = None, max_backoff_s: float = 10.0,
                 persistent: bool = False) -> None:
        self.broker_url = broker_url
        #: a persistent session (needs ``client_id``) subscribed at QoS 1: what QoS 1 producers
        #: publish while the connector is away waits at the broker (QoS 0 is never kept)
        self.persistent = persistent
        self.subscriptions = list(subscriptions)
        self.client_id = client_id
        self.max_backoff_s = max_backoff_s
        self.ready = asyncio.Event()  # set once subscribed (tests publish after it)
        #: set while handed-over QoS 1 messages wait to be acknowledged (``MqttClient.acks_due``)
        self.acks_due = asyncio.Event()
        self.client: MqttClient | None = None

    def ack_mark(self) -> int:
        """A mark covering the QoS 1 messages handed over so far (``MqttClient.ack_mark``)."""
        return 0 if self.client is None else self.client.ack_mark()

    def acknowledge(self, mark: int) -> int:
        """Acknowledge what was handed over up to ``mark``, now durable; how many."""
        return 0 if self.client is None else self.client.acknowledge(mark)

    async def run(self, sink: PointSink, stop: asyncio.Event) -> None:
        """Deliver to ``sink`` until ``stop`` is set."""
        handle: OnBatch = sink.on_messages if isinstance(sink, BatchSink) else _decoding(sink)
        client = MqttClient(self.broker_url, self.client_id, on_batch=handle,
                            subscriptions=self.subscriptions, qos=1 if self.persistent else 0,
                            persistent=self.persistent, ack_when_handled=self.persistent,
                            acks_due=self.acks_due,
                            reconnect=ReconnectPolicy(cap_s=self.max_backoff_s))
        self.client = client
        if not await client.connect_retrying(stop):
            await client.disconnect()
            return
        try:
            try:
                await client.subscribed()
            except TimeoutError:  # the broker went away at once: it resubscribes on reconnect
                log.warning("no subscription acknowledgement; going on",
                            url=redact_url(self.broker_url))
            self.ready.set()
            await stop.wait()
        finally:
            self.ready.clear()
            await client.disconnect()


def _decoding(sink: PointSink) -> OnBatch:
    """A batch handler that decodes each tag message for ``sink`` (or rejects it)."""
    def on_batch(messages: list[tuple[str, bytes]]) -> None:
        for topic, payload in messages:
            try:
                sample = decode_sample(topic, payload)
            except PayloadError as exc:
                sink.reject(topic, payload, exc.reason)
                continue
            sink.on_sample(sample, topic, payload)

    return on_batch
