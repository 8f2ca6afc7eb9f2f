"""Feedback over MQTT: operator panels and HMIs answer interventions on a reply topic.

A client sends JSON to ``andon/v1/{ent}/_andon/feedback/{sender}`` (``sender``: the panel's or
client's own id, any topic-safe word) and gets the answer on
``andon/v1/{ent}/_andon/feedback-result/{sender}`` (QoS 1, not retained). Two shapes:

```json
{"id": "rec-...", "kind": "acted|deferred|dismissed", "reason": "...", "by": "ana", "ref": "42"}
{"id": "rec-...", "outcome": "fault_confirmed|no_fault|unsure", "detail": "what was found",
 "by": "ana", "ref": "43"}
```

``by`` must be a person id of the spec (``people:``); ``reason`` is required for deferred and
dismissed; ``ref`` (optional) is echoed in the answer so a client can match it. The answer is
``{"ok": true, "id": ..., "state": ..., "ref": ...}`` or ``{"ok": false, "reason": "<one
line>", "ref": ...}``. It is stored exactly as the API stores it (the same feedback, lifecycle
moves, label and ``feedback`` / ``outcome`` event), with ``via`` = ``mqtt``.

Malformed JSON, an unknown person or intervention, or feedback the lifecycle refuses never
crash the service: the one-line reason goes to the result topic and is kept as a
``feedback_rejected`` event (subject: the topic).

Why one topic per sender under the enterprise, not per asset: a panel answers interventions of
many assets, and its answers should come back to it alone; a per-sender topic also lets a
broker ACL bind a panel's credentials to its own pair of topics.

Trust: this service cannot authenticate a message. ``by`` is what the sender claims, so
anyone who may publish on ``.../_andon/feedback/+`` may close or dismiss an intervention as
any person of the spec, without the API's ``feedback`` permission. Hence it is off unless
asked for (``andon serve --broker URL --mqtt-feedback``), and it belongs behind broker ACLs
that let each panel's credentials publish on its own feedback topic alone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from andon.clock import Clock, SystemClock
from andon.connectors.mqtt import MqttClient
from andon.errors import AndonError, NotFound
from andon.events import Event
from andon.interventions.record import (
    Feedback,
    FeedbackKind,
    Outcome,
    OutcomeLabel,
    Via,
)
from andon.namespace.topics import PREFIX
from andon.sinks.base import one_line
from andon.sinks.uns import feedback_filter, feedback_result_topic
from andon.spec.model import PlantSpec
from andon.store.base import Store

__all__ = ["FeedbackAnswer", "MqttFeedback", "parse_feedback", "run_feedback"]

log = structlog.get_logger("andon.services.feedback_mqtt")

_MAX_PAYLOAD = 16_384


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=200)
    by: str = Field(min_length=1, max_length=200)
    kind: Literal["acted", "deferred", "dismissed"] | None = None
    reason: str = Field(default="", max_length=2000)
    outcome: Literal["fault_confirmed", "no_fault", "unsure"] | None = None
    detail: str = Field(default="", max_length=4000)
    ref: str | int | None = None


@dataclass(frozen=True, slots=True)
class FeedbackAnswer:
    """What came back for one message: ok (and the new state) or the one-line reason."""

    ok: bool
    intervention_id: str | None
    state: str | None = None
    reason: str = ""
    ref: str | int | None = None

    def to_json(self) -> bytes:
        """The result topic's payload."""
        body: dict[str, Any] = {"ok": self.ok, "id": self.intervention_id, "ref": self.ref}
        if self.ok:
            body["state"] = self.state
        else:
            body["reason"] = self.reason
        return json.dumps(body, separators=(",", ":")).encode()


def parse_feedback(payload: bytes, people: set[str]) -> _Answer | str:  # noqa: PLR0911 - flat
    """The parsed message, or the one-line reason it is refused (one return per refusal)."""
    if len(payload) > _MAX_PAYLOAD:
        return f"message is {len(payload)} bytes; at most {_MAX_PAYLOAD}"
    try:
        raw = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        return one_line(f"not JSON: {exc}")
    if not isinstance(raw, dict):
        return f"expected a JSON object, got {type(raw).__name__}"
    try:
        answer = _Answer.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "message"
        return one_line(f"{where}: {err['msg']}")
    if (answer.kind is None) == (answer.outcome is None):
        return ("give either 'kind' (acted, deferred, dismissed) or 'outcome' "
                "(fault_confirmed, no_fault, unsure)")
    if answer.by not in people:
        known = ", ".join(sorted(people)[:8]) or "none"
        return f"unknown person {answer.by!r} in 'by' (people of the spec: {known})"
    return answer


class MqttFeedback:
    """Turn feedback messages into stored feedback and outcomes, answering each one."""

    def __init__(self, store: Store, spec: PlantSpec, *, clock: Clock | None = None,
                 publish: Callable[[str, bytes], None] | None = None) -> None:
        self.store = store
        self.enterprise = spec.enterprise.id
        self.people = {p.id for p in spec.people}
        self.clock = clock or SystemClock()
        self.publish = publish
        self.handled = 0
        self.rejected = 0

    def handle(self, topic: str, payload: bytes) -> FeedbackAnswer:
        """Apply one message; publish and return the answer (never raises for bad input)."""
        parsed = parse_feedback(payload, self.people)
        if isinstance(parsed, str):
            answer = FeedbackAnswer(ok=False, intervention_id=None, reason=parsed)
        else:
            answer = self._apply(parsed)
        self.handled += 1
        if not answer.ok:
            self.rejected += 1
            self.store.add_event(Event(kind="feedback_rejected", subject=topic,
                                       detail=answer.reason, at=self.clock.now(), by="mqtt"))
        reply = self.result_topic(topic)
        if self.publish is not None and reply is not None:
            self.publish(reply, answer.to_json())
        return answer

    def result_topic(self, topic: str) -> str | None:
        """Where the answer to a message on ``topic`` goes (None: not a feedback topic)."""
        sender = _sender(topic, self.enterprise)
        return None if sender is None else feedback_result_topic(self.enterprise, sender)

    def _apply(self, msg: _Answer) -> FeedbackAnswer:
        now = self.clock.now()
        try:
            self.store.get_intervention(msg.id)  # NotFound before anything is written
            if msg.kind is not None:
                fb = Feedback(intervention_id=msg.id, kind=FeedbackKind(msg.kind),
                              reason=msg.reason, by=msg.by, at=now, via=Via.MQTT.value)
                iv = self.store.record_feedback(fb)
                detail = fb.kind.value + (f": {fb.reason}" if fb.reason else "")
                self.store.add_event(Event(kind="feedback", subject=msg.id, detail=detail,
                                           at=now, by=msg.by))
            else:
                label = OutcomeLabel(str(msg.outcome))
                outcome = Outcome(intervention_id=msg.id, label=label, detail=msg.detail,
                                  by=msg.by, at=now, via=Via.MQTT.value)
                iv, _ = self.store.record_outcome(outcome)
                text = label.value + (f": {outcome.detail}" if outcome.detail else "")
                self.store.add_event(Event(kind="outcome", subject=msg.id, detail=text,
                                           at=now, by=msg.by))
        except NotFound:
            return FeedbackAnswer(ok=False, intervention_id=msg.id, ref=msg.ref,
                                  reason=f"unknown intervention {msg.id!r}")
        except AndonError as exc:
            return FeedbackAnswer(ok=False, intervention_id=msg.id, ref=msg.ref,
                                  reason=one_line(str(exc)))
        return FeedbackAnswer(ok=True, intervention_id=msg.id, state=iv.state.value, ref=msg.ref)


def _sender(topic: str, enterprise: str) -> str | None:
    prefix = f"{PREFIX}/{enterprise}/_andon/feedback/"
    if not topic.startswith(prefix):
        return None
    sender = topic[len(prefix):]
    return sender if sender and "/" not in sender else None


async def run_feedback(handler: MqttFeedback, broker_url: str, stop: asyncio.Event, *,
                       ready: asyncio.Event | None = None) -> None:
    """Subscribe to the feedback topics and answer each message until ``stop`` is set.

    Messages are handled one at a time, off the event loop (store calls block); answers are
    published from the loop. The client reconnects on its own after a broker outage.
    """
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    client = MqttClient(broker_url, subscriptions=[feedback_filter(handler.enterprise)], qos=1,
                        on_message=lambda t, p: queue.put_nowait((t, p)))
    handler.publish = None  # answers are published here, on the loop's thread
    await client.connect()
    await client.subscribed()
    if ready is not None:
        ready.set()
    log.info("feedback_listening", topic=feedback_filter(handler.enterprise))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while True:
            getting = asyncio.ensure_future(queue.get())
            await asyncio.wait({getting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not getting.done():
                getting.cancel()
                break
            topic, payload = getting.result()
            try:
                answer = await asyncio.to_thread(handler.handle, topic, payload)
            except Exception as exc:  # noqa: BLE001 - e.g. the store is down: keep serving
                log.warning("feedback_failed", topic=topic,
                            error=one_line(f"{type(exc).__name__}: {exc}"))
                continue
            reply = handler.result_topic(topic)
            if reply is not None:
                client.publish(reply, answer.to_json(), qos=1)
    finally:
        stopping.cancel()
        await client.disconnect()
