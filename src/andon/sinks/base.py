"""What every sink shares: the ``Sink`` protocol, what is sent (``Outgoing``) and what came back.

A sink receives the one JSON form of an intervention (``intervention_document``) wrapped in
an ``Outgoing``: the intervention id, its stable dedup key, the version (1, 2, ... one per change
of the document, counted by the dispatcher) and the document's digest. ``Outgoing.idempotency_key``
(``<dedup key>:<version>``) is the same on every retry of one version, so a receiver can drop
duplicates. A sink answers with a ``DeliveryResult``: one ``Attempt`` per try (a sink that
retries internally reports each), and the external id it got (e.g. a CMMS work-order id).

A sink never raises for a delivery that failed: it says so in its result. The dispatcher still
guards against one that does (or hangs), so one broken sink never blocks the others.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from andon.interventions.lifecycle import InterventionState, Priority
from andon.text import one_line

__all__ = [
    "Attempt",
    "DeliveryResult",
    "Outgoing",
    "Publisher",
    "Sink",
    "canonical_json",
    "document_dedup_key",
    "document_digest",
    "document_failure",
    "document_priority",
    "document_state",
    "http_session",
]




def canonical_json(document: Mapping[str, Any]) -> bytes:
    """The bytes every sink sends and every digest hashes: sorted keys, no spaces, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def document_digest(document: Mapping[str, Any]) -> str:
    """Short content hash of a document: equal digests mean nothing to deliver again."""
    return hashlib.sha256(canonical_json(document)).hexdigest()[:32]


# -- reading the wire form (``andon.interventions.wire``) ----------------------------------
def document_state(document: Mapping[str, Any]) -> InterventionState:
    """The lifecycle state of a document."""
    return InterventionState(document["lifecycle"]["state"])


def document_priority(document: Mapping[str, Any]) -> Priority:
    """The document's priority."""
    return Priority(document["action"]["priority"])


def document_failure(document: Mapping[str, Any],
                     when: Callable[[object], str] = str) -> str:
    """When the document says the asset is expected to fail, one phrase (``when`` formats).

    >>> document_failure({"action": {"predicted_failure": "B", "failure_earliest": "A"}})
    'between A and B'
    >>> document_failure({"action": {"predicted_failure": "B", "failure_earliest": None}})
    'by B'
    >>> document_failure({"action": {"predicted_failure": "B", "corrective": True,
    ...                              "stopped_at": "S"}})
    'stopped at S (corrective action)'
    """
    action = document["action"]
    if action.get("corrective") and action.get("stopped_at"):
        return f"stopped at {when(action['stopped_at'])} (corrective action)"
    early, late = action.get("failure_earliest"), action["predicted_failure"]
    if early and early != late:
        return f"between {when(early)} and {when(late)}"
    return f"by {when(late)}"


def document_dedup_key(document: Mapping[str, Any]) -> str:
    """The document's ``dedup_key`` (stable per episode: one work order, one webhook key)."""
    key = document.get("dedup_key")
    if isinstance(key, str) and key:
        return key
    return f"{document['use_case']}/{document['where']['asset']}/{document['id']}"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One version of one intervention's document, on its way to a sink."""

    document: Mapping[str, Any]
    intervention_id: str
    dedup_key: str
    version: int
    digest: str
    external_id: str | None = None  # what this sink reported before (e.g. the work order)

    @classmethod
    def of(cls, document: Mapping[str, Any], version: int = 1,
           external_id: str | None = None) -> Outgoing:
        """Wrap a document (``intervention_document(iv)``) as version ``version``."""
        return cls(document=document, intervention_id=str(document["id"]),
                   dedup_key=document_dedup_key(document), version=version,
                   digest=document_digest(document), external_id=external_id)

    @property
    def idempotency_key(self) -> str:
        """``<dedup key>:<version>``: the same on every retry of this version."""
        return f"{self.dedup_key}:{self.version}"

    @property
    def state(self) -> InterventionState:
        """Lifecycle state of the document."""
        return document_state(self.document)

    @property
    def priority(self) -> Priority:
        """Priority of the document."""
        return document_priority(self.document)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try to deliver: when, whether it worked, the HTTP status and the one-line error."""

    at: datetime
    ok: bool
    http_status: int | None = None
    error: str = ""


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What a sink did with one ``Outgoing``: its attempts (oldest first), the external id."""

    attempts: tuple[Attempt, ...]
    external_id: str | None = None

    @property
    def ok(self) -> bool:
        """True when the last attempt worked."""
        return bool(self.attempts) and self.attempts[-1].ok

    @classmethod
    def failed(cls, at: datetime, error: str, http_status: int | None = None) -> DeliveryResult:
        """A one-attempt failure."""
        return cls((Attempt(at, ok=False, http_status=http_status, error=one_line(error)),))


class Publisher(Protocol):
    """What a sink that publishes on MQTT needs (``andon.connectors.mqtt.MqttClient``)."""

    def publish(self, topic: str, payload: bytes, *, qos: int = 0,
                retain: bool = False) -> None:
        """Queue a message for sending."""
        ...


class Sink(Protocol):
    """Somewhere interventions go: a UNS topic, a webhook, a CMMS."""

    @property
    def name(self) -> str:
        """Unique name of the sink (its rows in ``deliveries`` carry it)."""
        ...

    async def deliver(self, item: Outgoing) -> DeliveryResult:
        """Deliver one version of an intervention; never raise for a failed delivery."""
        ...



@contextlib.asynccontextmanager
async def http_session(timeout_s: float,
                       given: httpx.AsyncClient | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for one delivery or poll (``given`` is used as is, and left open).

    A fresh client per call (a client outliving its event loop would leak its connections),
    sharing one TLS context: building one loads the CA store, ~0.2 s, where a client over a
    built context takes ~1 ms. The context trusts the operating system's CA store, where a
    plant's own CA is installed.
    """
    if given is not None:
        yield given
        return
    async with httpx.AsyncClient(timeout=timeout_s, verify=_tls_context()) as client:
        yield client


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()
