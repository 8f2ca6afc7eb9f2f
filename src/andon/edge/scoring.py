"""Scoring: a complete window's features → model score → detection → intervention to emit.

For each window the ingest completes (``Scoring.submit``): the use case's model (from the
``ModelCache``) scores the feature vector, converted to an array once; the ``Decider`` turns
the detection into an intervention (or none); the action envelope checks it once, before the
gate (a blocked one must not count toward rate limits or floods); the ``Gate`` says which
interventions to emit now. Emitting stores the intervention and hands it to ``deliver``
(the runtime publishes it through the uplink's outbox).

Scoring runs inline, or on a worker thread watched by a ``ScoringWatchdog``
(``enable_watchdog``): a model that hangs never stops the edge from ingesting; a worker given
up on drops its late result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import structlog

from andon.audit import Event, EventKind
from andon.clock import Clock, from_ms
from andon.edge.envelope import EnvelopeCheck
from andon.edge.models import ModelCache
from andon.edge.stats import EdgeStats
from andon.edge.watchdog import ScoringWatchdog
from andon.interventions import Decider, Detection, Intervention
from andon.interventions.gate import Gate
from andon.spec.model import UseCase

__all__ = ["Scoring", "Window"]

log = structlog.get_logger("andon.edge")


@dataclass(frozen=True, slots=True)
class Window:
    """One complete window waiting to be scored: its use case, asset, end and features."""

    use_case: UseCase
    asset: str
    end_ms: int
    vec: list[float]

    def __repr__(self) -> str:
        return f"{self.use_case.id} on {self.asset}, window ending {from_ms(self.end_ms):%H:%M:%S}"


class Scoring:
    """Score complete windows and emit the interventions the gate lets through (module doc)."""

    def __init__(self, models: ModelCache, decider: Decider, gate: Gate,
                 envelope: EnvelopeCheck, *, save: Callable[[Intervention], None],
                 deliver: Callable[[Intervention], None], stats: EdgeStats, clock: Clock,
                 record: Callable[[Event], None]) -> None:
        self.models = models
        self.decider = decider
        self.gate = gate
        self.envelope = envelope
        self.stats = stats
        self.clock = clock
        self._save = save
        self._deliver = deliver
        self._record = record
        #: called with every scored window's detection, before deciding (replay backtests)
        self.on_score: Callable[[Detection], None] | None = None
        #: scores windows on a worker thread, restarted if a model hangs (``enable_watchdog``)
        self.watchdog: ScoringWatchdog | None = None

    def submit(self, use_case: UseCase, asset: str, end_ms: int, vec: list[float]) -> None:
        """Score one complete window: now, or queued for the watchdog's worker."""
        window = Window(use_case, asset, end_ms, vec)
        if self.watchdog is not None:
            self.watchdog.submit(window)
            return
        try:
            self.score(window)
        except Exception:  # as on the watchdog's worker: the window is lost, ingest goes on
            log.exception("scoring failed", job=repr(window))

    def enable_watchdog(self, stall_s: float, *,
                        monotonic: Callable[[], float] = time.monotonic) -> ScoringWatchdog:
        """Score on a worker thread from now on; restart it when one window takes > stall_s.

        Ingestion then never waits on a model; a restart is counted in ``stats.watchdog`` and
        kept as a ``scoring_restarted`` event.
        """
        def restarted(detail: str) -> None:
            self._record(Event(EventKind.SCORING_RESTARTED, "edge", detail, self.clock.now()))

        self.watchdog = ScoringWatchdog(self.score, stall_s=stall_s, on_restart=restarted,
                                        monotonic=monotonic)
        self.stats.watchdog = self.watchdog.stats
        return self.watchdog

    def score(self, window: Window) -> None:
        """Score one window and emit what the gate lets through (the watchdog's work)."""
        uc = window.use_case
        loaded = self.models.get(uc.id)
        if loaded is None:
            self.stats.unscored += 1
            return
        model, meta = loaded
        x = np.asarray(window.vec, dtype=np.float64)  # once: scored, then asked if known
        score = model.score(x)
        if self.watchdog is not None and not self.watchdog.current():
            return  # this worker was given up on while the model hung: drop its late result
        self.stats.scored += 1
        detection = Detection(uc.id, window.asset, from_ms(window.end_ms), score.value,
                              score.threshold, meta.name, str(meta.version), score.why)
        if detection.anomalous:
            self.stats.anomalous += 1
        if self.on_score is not None:
            self.on_score(detection)
        iv = self.decider.decide(detection)
        if iv is not None and not self.envelope.allows(iv):
            iv = None  # blocked before the gate: it must not count toward rate limits, floods
        known = None if iv is None else model.in_distribution(x)
        for out in self.gate.admit(detection, iv, known):
            if out.emit and out.iv is not None:
                self._emit(out.iv)  # checked above (or, if released later, when it was queued)

    def release_queued(self) -> int:
        """Emit queued interventions whose position has a free slot now; how many."""
        released = [o.iv for o in self.gate.release_due() if o.emit and o.iv is not None]
        for iv in released:
            self._emit(iv)
        return len(released)

    def emit(self, iv: Intervention) -> bool:
        """Emit an intervention from outside the window path, if its envelope allows it."""
        if not self.envelope.allows(iv):
            return False  # outside its use case's action envelope: blocked, logged, kept
        self._emit(iv)
        return True

    def _emit(self, iv: Intervention) -> None:
        """Store and deliver an intervention already checked against its envelope.

        If the store cannot take it now, it is still delivered (the outbox is durable and the
        central side stores it); the error is counted and logged.
        """
        try:
            self._save(iv)
        except Exception as exc:  # noqa: BLE001 - storage must not stop delivery
            self.stats.store.failures += 1
            self.stats.store.last_error = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("intervention not stored on the edge; delivered anyway", id=iv.id,
                        error=self.stats.store.last_error)
        self.stats.interventions += 1
        if iv.detections == 1:
            log.info("intervention", asset=iv.asset, action=iv.action,
                     deadline=iv.deadline.isoformat(), owner=iv.owner_role,
                     priority=iv.priority.value, key=iv.key)
        self._deliver(iv)
