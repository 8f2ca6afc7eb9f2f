"""MQTT JSON on the UNS as a connector: the default protocol behind the connector interface.

The edge keeps its own fast path (``Edge.on_messages``, a socket read at a time, straight from
the MQTT client); this connector exists so that the default protocol passes the same conformance
suite as every other one, and so that a tool can read the UNS into any ``PointSink``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from andon.connectors.base import PointSink
from andon.connectors.mqtt import MqttClient
from andon.errors import PayloadError
from andon.namespace.sample import decode_sample
from andon.namespace.topics import PREFIX

__all__ = ["UnsConnector"]


class UnsConnector:
    """Subscribe to UNS tag topics and deliver each decoded sample; reject what does not decode.

    ``subscriptions`` are MQTT topic filters (default: every tag of every line). The broker may
    be down at start: the connector retries with a doubling delay up to ``max_backoff_s`` until
    it connects or ``stop`` is set; after that the MQTT client reconnects by itself.
    """

    kind = "mqtt"

    def __init__(self, broker_url: str, subscriptions: Sequence[str] = (f"{PREFIX}/+/+/+/+/+/+/+",),
                 *, client_id: str | None = None, max_backoff_s: float = 10.0) -> None:
        self.broker_url = broker_url
        self.subscriptions = list(subscriptions)
        self.client_id = client_id
        self.max_backoff_s = max_backoff_s
        self.ready = asyncio.Event()  # set once subscribed (tests publish after it)

    async def run(self, sink: PointSink, stop: asyncio.Event) -> None:
        """Deliver samples to ``sink`` until ``stop`` is set."""
        def on_message(topic: str, payload: bytes) -> None:
            try:
                sample = decode_sample(topic, payload)
            except PayloadError as exc:
                sink.reject(topic, payload, exc.reason)
                return
            sink.on_sample(sample, topic, payload)

        client = MqttClient(self.broker_url, self.client_id, on_message=on_message,
                            subscriptions=self.subscriptions)
        if not await connect_with_backoff(client, stop, self.max_backoff_s):
            return
        try:
            await client.subscribed()
            self.ready.set()
            await stop.wait()
        finally:
            self.ready.clear()
            await client.disconnect()


async def connect_with_backoff(client: MqttClient, stop: asyncio.Event,
                               max_backoff_s: float) -> bool:
    """Connect ``client``, retrying with a doubling delay; False if ``stop`` came first."""
    delay = 0.2
    while not stop.is_set():
        try:
            await client.connect()
        except ConnectionError:
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                delay = min(delay * 2, max_backoff_s)
            continue
        return True
    return False
