"""Scoring: a complete window's features → model score → detection → intervention to emit.

For each window the ingest completes (``Scoring.submit``): the use case's model (from the
``ModelCache``) scores the feature vector, converted to an array once; the ``Decider`` turns
the detection into an intervention (or none); the action envelope checks it once, before the
gate (a blocked one must not count toward rate limits or floods); the ``Gate`` says which
interventions to emit now. Emitting stores the intervention and hands it to ``deliver``
(the runtime publishes it through the uplink's outbox).

**Rollouts** (``andon.rollout``): the model cache's ``coverage`` says, per line and instant,
whether the rolled-out version is live (it then scores instead of production) and which
versions score in shadow. A shadow version scores the same feature vector; its own
``Decider`` (persistence, one open would-be intervention per asset until its horizon has
passed) raises would-be interventions that are **never** given to the gate, the store's
interventions or ``deliver``: they go to ``shadow`` only (kept in the store's shadow table
and sent to the central side on the edge's own ``shadow`` topic), with full evidence, for the
shadow version's track record.

Scoring runs inline, or on a worker thread watched by a ``ScoringWatchdog``
(``enable_watchdog``): a model that hangs never stops the edge from ingesting; a worker given
up on drops its late result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import structlog

from andon.audit import Event, EventKind
from andon.clock import Clock, from_ms
from andon.edge.envelope import EnvelopeCheck
from andon.edge.models import ModelCache
from andon.edge.stats import EdgeStats
from andon.edge.watchdog import ScoringWatchdog
from andon.features import use_case_tags
from andon.interventions import Decider, Detection, Intervention
from andon.interventions.condition import Running
from andon.interventions.gate import Gate
from andon.spec.model import UseCase

__all__ = ["Scoring", "ShadowBook", "Window", "shadow_record"]

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


def shadow_record(iv: Intervention) -> Intervention:
    """A shadow version's would-be intervention: its own id and dedup key (never a live one's).

    >>> from andon.testing.factories import make_intervention
    >>> sh = shadow_record(make_intervention("iv-0123456789abcdef"))
    >>> sh.id, sh.dedup_key.endswith(":shadow-v3")
    ('shadow-v3-0123456789abcdef', True)
    """
    return replace(iv, id=f"shadow-v{iv.model_version}-{iv.id.removeprefix('iv-')}",
                   dedup_key=f"{iv.dedup_key}:shadow-v{iv.model_version}")


@dataclass
class ShadowBook:
    """The open would-be intervention of a shadow version per (use case, asset).

    One stays open until its predicted failure (raised + horizon): the version does not raise
    another for the same asset before, as a live one is not raised twice while open. Seeded
    once from ``recent`` (the store's shadow interventions), so a restart does not re-raise.
    """

    version: str
    clock: Clock
    recent: Callable[[], Sequence[Intervention]] = lambda: ()
    _open: dict[tuple[str, str], Intervention] = field(default_factory=dict)
    _seeded: bool = False

    def open_intervention_for(self, use_case: str, asset: str) -> Intervention | None:
        """``OpenLookup``: the version's would-be intervention on the asset, while open."""
        if not self._seeded:
            self._seeded = True
            try:
                for iv in self.recent():
                    if iv.model_version == self.version:
                        self.keep(iv)
            except Exception:  # noqa: BLE001 - the store is down: start with none open
                log.warning("shadow interventions not read; none taken as open")
        found = self._open.get((use_case, asset))
        if found is None or self.clock.now() >= found.predicted_failure:
            return None
        return found

    def keep(self, iv: Intervention) -> None:
        """Remember a would-be intervention as the asset's open one."""
        self._open[iv.use_case, iv.asset] = iv


class Scoring:
    """Score complete windows and emit the interventions the gate lets through (module doc)."""

    def __init__(self, models: ModelCache, decider: Decider, gate: Gate,
                 envelope: EnvelopeCheck, *, save: Callable[[Intervention], None],
                 deliver: Callable[[Intervention], None], stats: EdgeStats, clock: Clock,
                 record: Callable[[Event], None],
                 shadow: Callable[[Intervention], None] | None = None,
                 recent_shadow: Callable[[], Sequence[Intervention]] = lambda: ()) -> None:
        self.models = models
        self.decider = decider
        self.gate = gate
        self.envelope = envelope
        self.stats = stats
        self.clock = clock
        self._save = save
        self._deliver = deliver
        self._record = record
        self._shadow = shadow
        self._recent_shadow = recent_shadow
        self._shadow_deciders: dict[str, tuple[Decider, ShadowBook]] = {}
        self._lines = {x.id: ln.id for _s, _a, ln, x in decider.spec.assets()}
        self._running: dict[str, Running] = {}  # per use case: where its motion tags are
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
        at = from_ms(window.end_ms)
        line = self._lines.get(window.asset, "")
        cover = self.models.coverage
        live = cover.live(uc.id, line, at)
        loaded = (self.models.challenger(uc.id, live) if live is not None else None
                  ) or self.models.get(uc.id)
        x = np.asarray(window.vec, dtype=np.float64)  # once: scored, then asked if known
        for version in cover.shadow(uc.id, line, at) if self._shadow is not None else ():
            self._score_shadow(window, version, x, at)
        if loaded is None:
            self.stats.unscored += 1
            return
        model, meta = loaded
        score = model.score(x)
        if self.watchdog is not None and not self.watchdog.current():
            return  # this worker was given up on while the model hung: drop its late result
        self.stats.scored += 1
        detection = Detection(uc.id, window.asset, from_ms(window.end_ms), score.value,
                              score.threshold, meta.name, str(meta.version), score.why,
                              stopped=self._stopped(window))
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

    def _score_shadow(self, window: Window, version: str, x: np.ndarray,
                      at: datetime) -> None:
        """Score a window with a shadow version; keep its would-be interventions, deliver none."""
        uc = window.use_case
        loaded = self.models.challenger(uc.id, version)
        if loaded is None or self._shadow is None:
            return
        model, meta = loaded
        score = model.score(x)
        self.stats.shadow_scored += 1
        decider, book = self._shadow_decider(version)
        iv = decider.decide(Detection(uc.id, window.asset, at, score.value, score.threshold,
                                      meta.name, str(meta.version), score.why,
                                      stopped=self._stopped(window)))
        if iv is None or iv.detections != 1 or iv.corrective:
            return  # nothing anomalous enough, or the asset's would-be one is still open
        book.keep(iv)
        self.stats.shadow_raised += 1
        try:
            self._shadow(shadow_record(iv))
        except Exception:  # a shadow record must never stop live scoring
            log.exception("shadow intervention not kept", asset=window.asset, version=version)

    def _stopped(self, window: Window) -> bool:
        """Whether the asset was at rest in the window (``andon.interventions.condition``)."""
        uc = window.use_case
        running = self._running.get(uc.id)
        if running is None:
            running = self._running[uc.id] = Running.of(use_case_tags(self.decider.spec, uc))
        return running.stopped(window.vec)

    def _shadow_decider(self, version: str) -> tuple[Decider, ShadowBook]:
        found = self._shadow_deciders.get(version)
        if found is None:
            book = ShadowBook(version, self.clock, self._recent_shadow)
            found = (Decider(self.decider.spec, self.clock, book), book)
            self._shadow_deciders[version] = found
        return found

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
        """Deliver an intervention already checked against its envelope, then store it.

        Delivered first: the publish is the decision the operator waits for, and the local
        store is not on its path (a write may wait for the recorder's batch). If the store
        cannot take it now, it is delivered all the same (the outbox is durable and the
        central side stores it); the error is counted and logged.
        """
        self.stats.interventions += 1
        self._deliver(iv)
        try:
            self._save(iv)
        except Exception as exc:  # noqa: BLE001 - storage must not stop delivery
            self.stats.store.failures += 1
            self.stats.store.last_error = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("intervention not stored on the edge; delivered anyway", id=iv.id,
                        error=self.stats.store.last_error)
        if iv.corrective:
            log.info("corrective action", asset=iv.asset, action=iv.action, key=iv.key)
        elif iv.detections == 1:
            log.info("intervention", asset=iv.asset, action=iv.action,
                     deadline=iv.deadline.isoformat(), owner=iv.owner_role,
                     priority=iv.priority.value, key=iv.key)
