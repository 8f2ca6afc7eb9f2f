"""Forwarding: what the edge recorded locally also goes to the central side, via the outbox.

The edge keeps its own store (it scores from local data) and, once per flush, hands the
validated samples and its events to the outbox (``andon.edge.uplink.Uplink.send``), so a
broker outage or an edge restart loses none of them and the central ingest service
(``andon.services.central``) writes each exactly once, in order per source.

- **samples**: one item per sample source per flush, on ``_andon/edge/{edge_id}/samples``,
  keyed ``samples:{source}:{first seq}:{last seq}:{digest of the samples}`` (idempotent: the
  same batch is queued once; the digest tells apart two flushes that split the tags of one
  seq between them). The document is ``{"kind": "samples", "edge_id", "source", "samples": [[topic,
  payload], ...]}`` with each sample as the UNS tag topic and JSON payload it had (quality
  included, so a flagged sample stays ``uncertain``).
- **events**: each event the edge kept, on ``_andon/edge/{edge_id}/event``, keyed by a hash
  of its content. Kinds the uplink publishes itself (link changes, blocked publishes, birth
  and heartbeat) are not sent twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from andon.audit import Event
from andon.clock import to_ms
from andon.edge.outbox import Entry
from andon.namespace.sample import Sample, encode_sample
from andon.namespace.topics import edge_topic

__all__ = ["EVENT_LEAF", "SAMPLES", "SAMPLES_LEAF", "Forwarder", "sample_batches"]

#: the outbox kind of forwarded samples (the full-buffer policy drops the oldest first)
SAMPLES = "samples"
#: topic leaves under ``_andon/edge/{edge_id}/``
SAMPLES_LEAF = "samples"
EVENT_LEAF = "event"
#: event kinds the uplink already publishes (or that describe the link itself)
_NOT_FORWARDED = frozenset({"edge_link", "blocked_publish", "edge_state", "edge_heartbeat"})


class Sender(Protocol):
    """The uplink's ``send_many`` (guard + outbox, one commit)."""

    def send_many(self, entries: Sequence[Entry]) -> list[bool]:
        """Queue items; for each, False if it was blocked or refused."""
        ...


def sample_batches(samples: Iterable[Sample]) -> dict[str, list[Sample]]:
    """Samples grouped by source, each group in arrival order."""
    out: dict[str, list[Sample]] = {}
    for s in samples:
        out.setdefault(s.source, []).append(s)
    return out


class Forwarder:
    """Queue samples and events for the central side through ``sender`` (call on its thread)."""

    def __init__(self, sender: Sender, enterprise: str, edge_id: str) -> None:
        self.sender = sender
        self.edge_id = edge_id
        self.samples_topic = edge_topic(enterprise, edge_id, SAMPLES_LEAF)
        self.event_topic = edge_topic(enterprise, edge_id, EVENT_LEAF)
        self.samples = 0  # samples queued
        self.events = 0  # events queued

    def forward(self, samples: list[Sample], events: list[Event]) -> None:
        """Queue one item per sample source, and one per event: one outbox commit for all."""
        entries: list[Entry] = []
        for source, batch in sample_batches(samples).items():
            rows = [[s.address.topic, encode_sample(s).decode()] for s in batch]
            # the content in the key: a source's samples share a seq across its tags, so two
            # flushes can hold different samples with the same first and last seq
            digest = hashlib.blake2b("\n".join(f"{t}\n{p}" for t, p in rows).encode(),
                                     digest_size=8).hexdigest()
            key = f"samples:{source}:{batch[0].seq}:{batch[-1].seq}:{digest}"
            doc: dict[str, Any] = {"kind": SAMPLES, "edge_id": self.edge_id, "source": source,
                                   "samples": rows}
            entries.append(Entry(SAMPLES, key, source, self.samples_topic, doc))
        for event in events:
            if event.kind in _NOT_FORWARDED:
                continue
            at = to_ms(event.at)
            digest = hashlib.sha256(
                f"{event.kind}\n{event.subject}\n{event.detail}\n{at}".encode()).hexdigest()
            doc = {"kind": event.kind, "edge_id": self.edge_id, "subject": event.subject,
                   "detail": event.detail, "by": event.by, "at": at}
            entries.append(Entry("event", f"{self.edge_id}:ev:{digest[:24]}", self.edge_id,
                                 self.event_topic, doc))
        if not entries:
            return
        for entry, queued in zip(entries, self.sender.send_many(entries), strict=True):
            if queued and entry.kind == SAMPLES:
                self.samples += len(entry.document["samples"])
            elif queued:
                self.events += 1
