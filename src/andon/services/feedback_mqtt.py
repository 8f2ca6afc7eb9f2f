"""Feedback over MQTT: the listener that answers operator panels and HMIs on a reply topic.

The message format is ``andon.feedback.panel``; applying one is ``andon.app.answer_panel`` (the
same rules, permission checks and records as the inbox and the API). This module only
subscribes to ``andon/v1/{ent}/_andon/feedback/+``, hands each message to the use case off the
event loop, and publishes the answer on ``.../_andon/feedback-result/{sender}`` (QoS 1).

Why one topic per sender under the enterprise, not per asset: a panel answers interventions of
many assets, and its answers should come back to it alone; a per-sender topic also lets a
broker ACL bind a panel's credentials to its own pair of topics. The service is off unless
asked for (``andon serve --broker URL --mqtt-feedback``): see ``andon.app.panel`` on trust.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from andon.app.context import Context, PlantRef
from andon.app.panel import answer_panel
from andon.clock import Clock, SystemClock
from andon.connectors.mqtt import MqttClient
from andon.feedback.panel import FeedbackAnswer, sender_of
from andon.sinks.uns import feedback_filter, feedback_result_topic
from andon.spec.model import PlantSpec
from andon.store.base import Store
from andon.text import one_line

__all__ = ["MqttFeedback", "run_feedback"]

log = structlog.get_logger("andon.services.feedback_mqtt")


class MqttFeedback:
    """Answer feedback messages (``andon.app.answer_panel``), counting what was refused."""

    def __init__(self, store: Store, spec: PlantSpec, *, clock: Clock | None = None,
                 publish: Callable[[str, bytes], None] | None = None) -> None:
        self.context = Context(store, clock or SystemClock(), PlantRef(spec))
        self.enterprise = spec.enterprise.id
        self.publish = publish
        self.handled = 0
        self.rejected = 0

    def handle(self, topic: str, payload: bytes) -> FeedbackAnswer:
        """Apply one message; publish and return the answer (never raises for bad input)."""
        answer = answer_panel(self.context, topic, payload).answer
        self.handled += 1
        if not answer.ok:
            self.rejected += 1
        reply = self.result_topic(topic)
        if self.publish is not None and reply is not None:
            self.publish(reply, answer.to_json())
        return answer

    def result_topic(self, topic: str) -> str | None:
        """Where the answer to a message on ``topic`` goes (None: not a feedback topic)."""
        sender = sender_of(topic, self.enterprise)
        return None if sender is None else feedback_result_topic(self.enterprise, sender)


async def run_feedback(handler: MqttFeedback, broker_url: str, stop: asyncio.Event, *,
                       ready: asyncio.Event | None = None, session: str | None = None) -> None:
    """Subscribe to the feedback topics and answer each message until ``stop`` is set.

    Messages are handled one at a time, off the event loop (store calls block); answers are
    published from the loop. The client reconnects on its own after a broker outage. With
    ``session`` (a stable client id) the session is persistent: answers a panel sends with
    QoS 1 while the listener is away (``andon serve`` restarting) wait at the broker and are
    handled when it is back; on ``stop`` what was received is handled before it leaves.
    """
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    client = MqttClient(broker_url, session,
                        subscriptions=[feedback_filter(handler.enterprise)], qos=1,
                        on_message=lambda t, p: queue.put_nowait((t, p)),
                        persistent=session is not None)
    handler.publish = None  # answers are published here, on the loop's thread
    await client.connect()
    await client.subscribed()
    if ready is not None:
        ready.set()
    log.info("feedback_listening", topic=feedback_filter(handler.enterprise))
    stopping = asyncio.ensure_future(stop.wait())

    async def answer(topic: str, payload: bytes) -> None:
        try:
            answered = await asyncio.to_thread(handler.handle, topic, payload)
        except Exception as exc:  # noqa: BLE001 - e.g. the store is down: keep serving
            log.warning("feedback_failed", topic=topic,
                        error=one_line(f"{type(exc).__name__}: {exc}"))
            return
        reply = handler.result_topic(topic)
        if reply is not None:
            client.publish(reply, answered.to_json(), qos=1)

    try:
        while True:
            getting = asyncio.ensure_future(queue.get())
            await asyncio.wait({getting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not getting.done():
                getting.cancel()
                break
            await answer(*getting.result())
        while not queue.empty():  # received (and acknowledged to the broker): not dropped
            await answer(*queue.get_nowait())
    finally:
        stopping.cancel()
        await client.disconnect()
