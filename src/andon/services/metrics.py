"""What a running ``andon serve`` tells Prometheus: its HTTP, its ingest, its store, its edges.

``Metrics`` holds one ``prometheus_client`` registry per server (never the library's global
one: two apps in one process, as in tests, keep apart) and renders it for ``GET /metrics``
(``andon.api.metrics``, which also counts the requests). Every name starts with ``andon_``:

- **HTTP** (counted as requests are answered): ``andon_http_requests_total{route, method,
  status}`` and the histogram ``andon_http_request_duration_seconds{route, method}``. ``route``
  is the route's template (``/api/interventions/{intervention_id}``), ``/static/{path}`` for
  a mount, ``(unmatched)`` for a path no route has: never the raw path, so a client cannot grow
  the label set; ``method`` is one of the HTTP methods or ``other``.
- **Central ingest** (this process's ``CentralIngest``, counted since it started; absent with
  ``--no-ingest`` or without ``--broker``): ``andon_ingest_messages_total``,
  ``andon_ingest_samples_total{outcome}`` (``recorded``, ``duplicate``, ``quarantined``: they
  add up to the samples received), ``andon_ingest_quarantined_total`` (messages and samples it
  quarantined), ``andon_ingest_items_total{kind}`` (``intervention``, ``shadow``, ``event``,
  ``document``), ``andon_ingest_duplicate_items_total``, ``andon_ingest_missing_total``,
  ``andon_ingest_voided_total``, ``andon_ingest_held`` and ``andon_ingest_connected`` (1 while
  subscribed on the broker).
- **Store** (read at each scrape): ``andon_store_up`` (0 when the store cannot be read: the
  figures below are then left out), ``andon_interventions{state}`` (every lifecycle state,
  zeros too) and ``andon_quarantine_messages{rule}`` (everything the store holds in
  quarantine, per rule, replayed ones included).
- **Edges** (their newest state and heartbeat documents in the store, as ``andon status``
  reads them): ``andon_edge_up{edge}`` (1: online and not stale), ``andon_edge_buffer_depth``,
  ``andon_edge_unacknowledged``, ``andon_edge_oldest_unacknowledged_seconds``,
  ``andon_edge_dropped{edge, kind}``, ``andon_edge_blocked``, ``andon_edge_scoring_restarts``,
  ``andon_edge_samples_total{edge, outcome}`` (the edge's own counts since it started) and
  ``andon_edge_last_heartbeat_timestamp_seconds``. At most ``MAX_EDGES`` edges, the most
  recently heard; label values are cut to 64 printable characters.
- **Process**: ``andon_build_info{version}``, and ``process_*`` (CPU, memory, open files,
  start time) and ``python_*`` from ``prometheus_client``.

Scoring happens on the edges and is not timed centrally; nothing here carries a person, a
token, a URL or an asset's data. Good means: a scrape costs three grouped queries and one read
of the edges' newest documents, and its label sets stay bounded whatever the callers send.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime

import structlog
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from andon import __version__
from andon.clock import Clock
from andon.edge.heartbeat import EdgeStatus
from andon.edge.status import edge_statuses_from_store
from andon.interventions.lifecycle import InterventionState
from andon.services.central import CentralIngest
from andon.store.base import Store
from andon.text import printable

__all__ = ["HTTP_METHODS", "MAX_EDGES", "UNMATCHED", "Metrics"]

log = structlog.get_logger("andon.services.metrics")

#: the ``method`` label's values; any other method is counted as ``other``
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: the ``route`` label of a request no route matched
UNMATCHED = "(unmatched)"
#: edges exported at most (the most recently heard first)
MAX_EDGES = 1000
#: request durations (seconds): the inbox answers in milliseconds; a spec upload takes longer
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: what an edge's document may name as a count (``dropped`` kinds, ``counts`` outcomes)
_COUNT_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_MAX_KINDS = 16
_LABEL_CHARS = 64


class Metrics:
    """The metrics of one server: request counters, and collectors read at each scrape.

    ``ingest`` (with ``ingest_connected``, whether it is subscribed now) adds the central
    ingest's counters; the store and its edges are always read.
    """

    def __init__(self, store: Store, clock: Clock, *, ingest: CentralIngest | None = None,
                 ingest_connected: Callable[[], bool] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._requests = Counter(
            "andon_http_requests", "HTTP requests answered, by route template, method and "
            "status.", ["route", "method", "status"], registry=self.registry)
        self._seconds = Histogram(
            "andon_http_request_duration_seconds", "Time to answer an HTTP request, from "
            "its arrival to the last byte of the answer, by route template and method.",
            ["route", "method"], buckets=_BUCKETS, registry=self.registry)
        info = GaugeMetricFamily("andon_build_info", "Andon's version (the value is 1).",
                                 labels=["version"])
        info.add_metric([__version__], 1)
        self.registry.register(_Fixed([info]))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.registry.register(_StoreCollector(store, clock))
        if ingest is not None:
            self.registry.register(_IngestCollector(ingest, ingest_connected))

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request (``route``: the template, ``UNMATCHED`` if none)."""
        method = method if method in HTTP_METHODS else "other"
        self._requests.labels(route, method, str(status)).inc()
        self._seconds.labels(route, method).observe(seconds)

    def render(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition for an ``Accept`` header: (body, content type).

        Prometheus' text format, or OpenMetrics when the scraper asks for it first.
        """
        encode, content_type = choose_encoder(accept or "")
        return encode(self.registry), content_type


class _Fixed(Collector):
    """Metrics whose values never change (build information)."""

    def __init__(self, metrics: list[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self._metrics


class _StoreCollector(Collector):
    """Interventions by state, quarantine by rule and the edges, read from the store."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        try:
            by_state = self.store.count_interventions_by_state()
            by_rule = self.store.count_quarantined_by_rule()
            edges = edge_statuses_from_store(self.store)
        except Exception as exc:  # noqa: BLE001 - a scrape reports a store down, never fails
            log.warning("metrics could not read the store", error=type(exc).__name__)
            yield _gauge("andon_store_up", "1 if the store answered this scrape, else 0.", 0)
            return
        yield _gauge("andon_store_up", "1 if the store answered this scrape, else 0.", 1)
        states = GaugeMetricFamily("andon_interventions", "Interventions in the store by "
                                   "lifecycle state.", labels=["state"])
        for state in InterventionState:
            states.add_metric([state.value], by_state.get(state.value, 0))
        yield states
        rules = GaugeMetricFamily("andon_quarantine_messages", "Messages held in the "
                                  "store's quarantine by rule (replayed ones included).",
                                  labels=["rule"])
        for rule, count in sorted(by_rule.items()):
            rules.add_metric([_label(rule)], count)
        yield rules
        yield from _edge_metrics(edges, self.clock.now())


def _edge_metrics(edges: list[EdgeStatus], now: datetime) -> Iterator[Metric]:
    """The edges' figures, from their newest documents."""
    heard = sorted(edges, key=lambda e: e.last_seen.timestamp() if e.last_seen else 0.0,
                   reverse=True)[:MAX_EDGES]
    per_edge = {
        "up": GaugeMetricFamily("andon_edge_up", "1 if the edge is online and its heartbeat "
                                "is not stale (3 intervals), else 0.", labels=["edge"]),
        "buffer": GaugeMetricFamily("andon_edge_buffer_depth", "Items in the edge's outbox "
                                    "(store-and-forward), at its last heartbeat.",
                                    labels=["edge"]),
        "unacked": GaugeMetricFamily("andon_edge_unacknowledged", "Items the broker took "
                                     "that the central ingest has not acknowledged yet.",
                                     labels=["edge"]),
        "oldest": GaugeMetricFamily("andon_edge_oldest_unacknowledged_seconds", "Age of "
                                    "the oldest unacknowledged item.", labels=["edge"]),
        "blocked": GaugeMetricFamily("andon_edge_blocked", "Publishes the edge's interlock "
                                     "guard blocked.", labels=["edge"]),
        "restarts": GaugeMetricFamily("andon_edge_scoring_restarts", "Times the edge's "
                                      "scoring watchdog restarted a hung scorer.",
                                      labels=["edge"]),
        "seen": GaugeMetricFamily("andon_edge_last_heartbeat_timestamp_seconds", "When the "
                                  "edge's newest document was written (Unix time).",
                                  labels=["edge"]),
    }
    dropped = GaugeMetricFamily("andon_edge_dropped", "Items the edge dropped from a full "
                                "outbox since it started, by kind.", labels=["edge", "kind"])
    samples = CounterMetricFamily("andon_edge_samples", "What became of the samples the edge "
                                  "received since it started, by outcome.",
                                  labels=["edge", "outcome"])
    for e in heard:
        edge = _label(e.edge_id)
        up = e.status == "online" and not e.stale(now)
        per_edge["up"].add_metric([edge], 1 if up else 0)
        per_edge["buffer"].add_metric([edge], e.buffer_depth)
        per_edge["unacked"].add_metric([edge], e.unacked)
        per_edge["oldest"].add_metric([edge], e.oldest_unacked_s)
        per_edge["blocked"].add_metric([edge], e.blocked)
        per_edge["restarts"].add_metric([edge], e.watchdog_restarts)
        if e.last_seen is not None:
            per_edge["seen"].add_metric([edge], e.last_seen.timestamp())
        for kind, count in _counts(e.dropped):
            dropped.add_metric([edge, kind], count)
        for outcome, count in _counts(e.counts):
            samples.add_metric([edge, outcome], count)
    yield from per_edge.values()
    yield dropped
    yield samples


class _IngestCollector(Collector):
    """The central ingest's counters since it started (``IngestStats``)."""

    def __init__(self, ingest: CentralIngest, connected: Callable[[], bool] | None) -> None:
        self.ingest = ingest
        self.connected = connected

    def collect(self) -> Iterator[Metric]:
        st = self.ingest.stats  # ints written by the ingest's thread; each read is whole
        yield _counter("andon_ingest_messages", "Messages the central ingest handled.",
                       st.messages)
        samples = CounterMetricFamily("andon_ingest_samples", "Forwarded samples the central "
                                      "ingest received, by outcome (they add up to all "
                                      "received).", labels=["outcome"])
        samples.add_metric(["recorded"], st.samples)
        samples.add_metric(["duplicate"], st.sample_duplicates)
        samples.add_metric(["quarantined"], st.samples_quarantined)
        yield samples
        yield _counter("andon_ingest_quarantined", "Messages and samples the central ingest "
                       "could not read and quarantined.", st.rejected)
        items = CounterMetricFamily("andon_ingest_items", "Outbox items the central ingest "
                                    "wrote, by kind.", labels=["kind"])
        for kind, count in (("intervention", st.interventions), ("shadow", st.shadow),
                            ("event", st.events), ("document", st.documents)):
            items.add_metric([kind], count)
        yield items
        yield _counter("andon_ingest_duplicate_items", "Outbox items seen before (skipped).",
                       st.duplicates)
        yield _counter("andon_ingest_missing", "Sequence numbers given up on (dropped by an "
                       "edge's full outbox).", st.missing)
        yield _counter("andon_ingest_voided", "Sequence numbers an edge reserved and never "
                       "used (after a crash).", st.voided)
        yield _gauge("andon_ingest_held", "Items waiting now for an earlier one of their "
                     "source.", st.held)
        if self.connected is not None:
            yield _gauge("andon_ingest_connected", "1 while the central ingest is subscribed "
                         "on the broker, else 0.", 1 if self.connected() else 0)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def _counts(counts: dict[str, int]) -> list[tuple[str, int]]:
    """An edge's named counts fit for labels: well-formed names, at most ``_MAX_KINDS``."""
    return [(name, n) for name, n in sorted(counts.items())
            if _COUNT_NAME.fullmatch(name)][:_MAX_KINDS]


def _label(text: str) -> str:
    """A label value from a document: printable, at most 64 characters."""
    return printable(text)[:_LABEL_CHARS]
