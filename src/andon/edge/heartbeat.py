"""Birth, heartbeat and death: what an edge says about itself on the UNS, and how to read it.

Topics (``andon.namespace.topics.edge_topic``), all under
``andon/v1/{enterprise}/_andon/edge/{edge_id}/``:

- ``state`` (retained): the **birth** document, published on every connect; the **death**
  document, registered as the MQTT last will (so the broker publishes it when the edge's
  connection dies without a DISCONNECT) and published by the edge itself when it stops cleanly.
- ``heartbeat`` (retained, every ``heartbeat_s``): the same document with ``"kind":
  "heartbeat"``; a reader calls an edge **stale** when its last heartbeat is older than
  three intervals.

A document: ``kind`` (birth / heartbeat / death), ``edge_id``, ``enterprise``, ``status``
(online / offline), ``version`` (Andon), ``config_hash`` (sha256 of the spec text and the edge
options), ``models`` (use case -> model label), ``link`` (``LinkState``), ``buffer_depth``,
``dropped`` (kind -> count), ``blocked`` (publishes refused by the guard), ``heartbeat_s``,
``at`` (ms since the epoch, UTC); from ``run_edge`` also ``lines`` (line ids it serves; empty
= every line), ``assets`` (asset ids it scores), ``watchdog_restarts`` and ``session``.

An edge with a separate uplink broker (``andon edge --uplink-broker``) publishes the same
document on both brokers: ``link``, ``buffer_depth`` and the acknowledgement figures are those
of its link to the central side (so the site broker shows ``buffering`` while the enterprise
link is down), ``site_link`` the state of its link to the site broker, and ``session`` the
connection that published it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from andon import __version__
from andon.audit import Event
from andon.clock import from_ms, to_ms
from andon.settings import HEARTBEAT

__all__ = [
    "DOCUMENT_KINDS",
    "STALE_INTERVALS",
    "STATE_EVENT_KINDS",
    "EdgeIdentity",
    "EdgeStatus",
    "config_hash",
    "edge_document",
    "statuses_from_documents",
    "statuses_from_events",
]

#: the kinds of state document (other documents, e.g. edge events, are not state)
DOCUMENT_KINDS = ("birth", "heartbeat", "death")

#: an edge whose last heartbeat is older than this many intervals is stale
STALE_INTERVALS = 3


def config_hash(spec_text: str, options: Mapping[str, Any]) -> str:
    """sha256 of the spec text and the edge options (sorted JSON): same config, same hash."""
    blob = spec_text + "\n" + json.dumps(dict(options), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class EdgeIdentity:
    """Who an edge is: fixed for the life of the process."""

    edge_id: str
    enterprise: str
    config_hash: str = ""
    heartbeat_s: float = HEARTBEAT.default
    version: str = __version__


def edge_document(identity: EdgeIdentity, kind: str, *, at: datetime, link: str,
                  buffer_depth: int, dropped: Mapping[str, int], models: Mapping[str, str],
                  blocked: int = 0, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The birth / heartbeat / death document (see the module docstring)."""
    return {
        "kind": kind,
        "edge_id": identity.edge_id,
        "enterprise": identity.enterprise,
        "status": "offline" if kind == "death" else "online",
        "version": identity.version,
        "config_hash": identity.config_hash,
        "models": dict(models),
        "link": link,
        "buffer_depth": buffer_depth,
        "dropped": dict(dropped),
        "blocked": blocked,
        "heartbeat_s": identity.heartbeat_s,
        "at": to_ms(at),
        **(extra or {}),
    }


@dataclass
class EdgeStatus:
    """What a reader knows of one edge (from its retained topics or the central store)."""

    edge_id: str
    status: str = "unknown"
    link: str = "unknown"
    buffer_depth: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    blocked: int = 0
    models: dict[str, str] = field(default_factory=dict)
    version: str = ""
    config_hash: str = ""
    heartbeat_s: float = 0.0
    last_seen: datetime | None = None
    watchdog_restarts: int = 0
    lines: list[str] = field(default_factory=list)  # line ids it serves; empty = every line
    assets: list[str] = field(default_factory=list)  # asset ids it scores
    # consumer acknowledgement (an edge forwarding to a central ingest)
    unacked: int = 0  # items the broker took that the central side has not acknowledged
    oldest_unacked_s: float = 0.0  # age of the oldest of them
    resent: int = 0  # items sent again for want of an acknowledgement
    site_link: str = ""  # its link to the site broker, with a separate uplink broker
    #: what became of the samples received (``EdgeStats.counts``; they add up)
    counts: dict[str, int] = field(default_factory=dict)

    def stale(self, now: datetime) -> bool:
        """No heartbeat for more than ``STALE_INTERVALS`` intervals (or none at all)."""
        if self.last_seen is None or self.heartbeat_s <= 0:
            return True
        return (now - self.last_seen).total_seconds() > STALE_INTERVALS * self.heartbeat_s

    def update(self, doc: Mapping[str, Any]) -> None:
        """Take in the fields of a document."""
        self.last_seen = from_ms(int(doc.get("at", 0)))
        self.status = str(doc.get("status", self.status))
        self.link = str(doc.get("link", self.link))
        self.buffer_depth = int(doc.get("buffer_depth", 0))
        self.dropped = {str(k): int(v) for k, v in dict(doc.get("dropped", {})).items()}
        self.blocked = int(doc.get("blocked", 0))
        self.models = {str(k): str(v) for k, v in dict(doc.get("models", {})).items()}
        self.version = str(doc.get("version", ""))
        self.config_hash = str(doc.get("config_hash", ""))
        self.heartbeat_s = float(doc.get("heartbeat_s", 0.0))
        self.watchdog_restarts = int(doc.get("watchdog_restarts", 0))
        self.lines = [str(x) for x in doc.get("lines") or []]
        self.assets = [str(x) for x in doc.get("assets") or []]
        self.unacked = int(doc.get("unacked", 0))
        self.oldest_unacked_s = float(doc.get("oldest_unacked_s", 0.0))
        self.resent = int(doc.get("resent", 0))
        self.site_link = str(doc.get("site_link", ""))
        self.counts = {str(k): int(v) for k, v in dict(doc.get("counts") or {}).items()}

    def as_dict(self, now: datetime) -> dict[str, Any]:
        """JSON-ready, with ``stale`` judged at ``now``."""
        return {
            "edge_id": self.edge_id, "status": self.status, "link": self.link,
            "buffer_depth": self.buffer_depth, "dropped": self.dropped,
            "blocked": self.blocked, "models": self.models, "version": self.version,
            "config_hash": self.config_hash, "heartbeat_s": self.heartbeat_s,
            "last_seen": None if self.last_seen is None else self.last_seen.isoformat(),
            "stale": self.stale(now), "watchdog_restarts": self.watchdog_restarts,
            "lines": self.lines, "assets": self.assets, "unacked": self.unacked,
            "oldest_unacked_s": self.oldest_unacked_s, "resent": self.resent,
            "site_link": self.site_link,
            "counts": self.counts,
        }


def statuses_from_documents(docs: Iterable[Mapping[str, Any]]) -> list[EdgeStatus]:
    """One status per edge from its documents (any order), by edge id.

    The newest document (by ``at``) gives the fields. A death document ends its connection's
    ``session``: the last will was registered at connect time, so its ``at`` is older than the
    heartbeats it outlives; if the newest document's session has a death, the edge is offline
    and its link ``down`` (the newest heartbeat's link state died with its connection). A
    reconnect starts a new session, so the old connection's will, arriving late, leaves the
    edge online.
    """
    by_edge: dict[str, list[Mapping[str, Any]]] = {}
    for doc in docs:
        edge_id = str(doc.get("edge_id", ""))
        if edge_id and doc.get("kind") in DOCUMENT_KINDS and isinstance(doc.get("at"), int):
            by_edge.setdefault(edge_id, []).append(doc)
    out = []
    for edge_id in sorted(by_edge):
        seen = by_edge[edge_id]
        newest = max(seen, key=lambda d: int(d.get("at", 0)))
        status = EdgeStatus(edge_id)
        status.update(newest)
        dead = {d.get("session") for d in seen if d.get("kind") == "death"}
        if newest.get("session") in dead:
            status.status = "offline"
            status.link = "down"  # not the last heartbeat's link: the connection is gone
        out.append(status)
    return out


#: event kinds an edge writes to the central store with its document as the detail
STATE_EVENT_KINDS = ("edge_state", "edge_heartbeat")


def statuses_from_events(events: Iterable[Event]) -> list[EdgeStatus]:
    """Statuses from ``edge_state`` / ``edge_heartbeat`` events (detail = the document)."""
    docs = []
    for event in events:
        if event.kind in STATE_EVENT_KINDS:
            try:
                doc = json.loads(event.detail)
            except ValueError:
                continue
            if isinstance(doc, dict):
                docs.append(doc)
    return statuses_from_documents(docs)
