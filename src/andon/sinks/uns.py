"""UNS sink: every version of an intervention on its asset's ``_andon/intervention`` topic.

Topic: ``andon/v1/{ent}/{site}/{area}/{line}/{asset}/_andon/intervention``; payload: the
canonical JSON of ``intervention_document`` (state changes included, so a subscriber sees
an intervention raised, acknowledged, closed).

Retained, QoS 1. The UNS convention is "the topic holds the current state": a dashboard or
SCADA client that subscribes later gets the asset's latest intervention at once, without
asking the API. The retained message is the *latest* document published for that asset (one
per asset, whatever the use case); a closed intervention stays retained with its final state
until the next one replaces it. The full list is the API's job, not the broker's.

Spec: ``- type: uns`` (``retain``, default true); it needs a broker (``andon serve --broker``),
without one it is not built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from andon.clock import Clock, SystemClock
from andon.namespace.topics import PREFIX, intervention_topic
from andon.sinks.base import Attempt, DeliveryResult, Outgoing, Publisher, canonical_json
from andon.sinks.plugin import SinkContext, SinkPlugin

__all__ = ["PLUGIN", "Publisher", "UnsConfig", "UnsSink", "document_topic", "feedback_filter",
           "feedback_result_topic", "feedback_topic"]


def document_topic(document: Mapping[str, Any]) -> str:
    """``andon/v1/{ent}/{site}/{area}/{line}/{asset}/_andon/intervention`` of a document."""
    where = document["where"]
    return intervention_topic(*(str(where[k])
                                for k in ("enterprise", "site", "area", "line", "asset")))


def feedback_topic(enterprise: str, sender: str) -> str:
    """Where a panel or client ``sender`` sends feedback (``.../_andon/feedback/{sender}``)."""
    return f"{PREFIX}/{enterprise}/_andon/feedback/{sender}"


def feedback_filter(enterprise: str) -> str:
    """Subscription filter for every sender's feedback of an enterprise."""
    return f"{PREFIX}/{enterprise}/_andon/feedback/+"


def feedback_result_topic(enterprise: str, sender: str) -> str:
    """Where the answer to ``sender``'s feedback goes: ``.../_andon/feedback-result/{sender}``."""
    return f"{PREFIX}/{enterprise}/_andon/feedback-result/{sender}"


class UnsSink:
    """Publish each intervention version, retained at QoS 1, on its asset's topic."""

    def __init__(self, publisher: Publisher, *, name: str = "uns", retain: bool = True,
                 connected: Any = None, clock: Clock | None = None) -> None:
        """``connected``: an ``asyncio.Event`` set while the client is connected (optional)."""
        self._publisher = publisher
        self._name = name
        self.retain = retain
        self._connected = connected
        self._clock = clock or SystemClock()

    @property
    def name(self) -> str:
        """The sink's name in ``deliveries``."""
        return self._name

    async def deliver(self, item: Outgoing) -> DeliveryResult:
        """Queue the document for the broker (QoS 1: the client resends until acknowledged)."""
        now = self._clock.now()
        if self._connected is not None and not self._connected.is_set():
            return DeliveryResult.failed(now, "MQTT broker not connected")
        topic = document_topic(item.document)
        try:
            self._publisher.publish(topic, canonical_json(item.document), qos=1,
                                    retain=self.retain)
        except Exception as exc:  # noqa: BLE001 - any client failure is this delivery's result
            return DeliveryResult.failed(now, f"publish to {topic} failed: {exc}")
        return DeliveryResult((Attempt(now, ok=True),), external_id=topic)


class UnsConfig(BaseModel):
    """The UNS sink: ``andon/v1/{ent}/{site}/{area}/{line}/{asset}/_andon/intervention``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    retain: bool = Field(default=True, description="retained: late subscribers see the latest")


def _build(config: UnsConfig, context: SinkContext) -> UnsSink | None:
    if context.publisher is None:
        return None  # no broker in this process: nothing to publish on
    return UnsSink(context.publisher, name=context.name, retain=config.retain,
                   connected=context.connected, clock=context.clock)


PLUGIN = SinkPlugin(name="uns", summary="The asset's _andon/intervention topic on the UNS "
                    "(retained, QoS 1).", config=UnsConfig, build=_build)
