"""Replay for backtests: a historian export through the live scoring path, at full speed.

``replay_export`` builds an ``Edge`` exactly as ``andon edge`` does (same contracts, windows,
features, model loading and decider), with recording off and a scratch store for the
interventions it raises, and a clock that follows the data's event time
(``EventTimeClock``): deadlines, staleness and "created at" are judged as if the data were
arriving live. A ``HistorianExport`` feeds it; the only addition to the live path is the
edge's per-window ``on_score`` hook, which writes the scores CSV. There is no second
implementation of scoring. Several use cases replay in one run (one edge scores them all).

Two paths give the same results. The default, fast one: the export is read column-wise
when it can be (``HistorianExport.columnar``: a long CSV of epoch-ms times; otherwise row by
row), each sample still goes through the live ``Ingest.on_sample`` (time rules, contracts,
windows, features), but complete windows are collected and scored in batches (one model
call per use case for many windows: ``score_many`` / ``in_distribution_many``), then each
window runs, in the order it closed, through the live ``Scoring.score`` (decider, envelope,
gate, emit) with the clock set back to the event time it closed at; the gate keeps its
state in memory (``andon.store.memory.MemoryGateStore``) instead of a scratch SQLite store.
``exact`` (``andon replay --exact``) is the per-sample path: each window scored as it
closes, the gate in SQLite, exactly as ``andon edge`` runs. The test suite runs both on
the same exports and compares scores (1e-9), interventions and the track record; the
summary says which path and reader ran.

Outputs: per-window scores (window end, asset, score, threshold, anomalous, top features),
the interventions that would have been raised, and a ``ReplaySummary``: rows read,
rejected (with ``file:line``), quarantined by rule, windows scored, anomalies,
interventions, the first detection per asset with its lead time before a confirmed
failure, and the **track record** the replayed versions would have earned on the history.

The track record is computed by the live report's own code: ``andon.kpi.trackrecord.
track_record_from`` over a read-only view of what the replay raised and the work orders
(from the plant's store, imported with ``andon import work-orders``, or from a CMMS file
read by the same ``read_work_orders``), so precision, recall, false alarms per asset-week and
lead times mean exactly what they mean in ``andon report track-record``.

How replayed interventions are judged, and why: nobody saw them, so none has an outcome,
an acknowledgement or a dismissal. Judged as live interventions, every one that no failure
followed would stay "unresolved" forever and the record would show zero false alarms, a
flattering lie. They are judged as what they are, the would-be interventions of a version
scoring in shadow (``track_records(..., shadow=...)``): **confirmed** when a failure on its
asset follows within the use case's horizon; a **false alarm** once the horizon has passed
(by the end of the replayed period) with no failure; **unresolved** when the horizon runs
past the end of the period. The replayed version is taken as shadowing every line its use
case watches over the whole period, so each failure in the period counts as detected or
missed for it (found in a planned stop: neither). Records come out with mode "shadow".
"""

from __future__ import annotations

import csv
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np

from andon.clock import from_ms
from andon.edge import Edge, build_edge
from andon.edge.scoring import Scoring, Window
from andon.errors import ReplayError
from andon.interventions import Decider
from andon.interventions.gate import Gate
from andon.kpi.leadtime import LeadTime, lead_times
from andon.kpi.trackrecord import TrackRecord, track_record_from
from andon.registry import production_of
from andon.scoring import latest_version_dir
from andon.store import open_store
from andon.store.memory import MemoryGateStore

if TYPE_CHECKING:
    from collections.abc import Sequence

    from andon.audit import Event
    from andon.connectors.historian import HistorianExport
    from andon.feedback.labels import Label
    from andon.feedback.workorders import WorkOrder
    from andon.interventions import Detection, Intervention
    from andon.namespace.sample import Sample
    from andon.registry import ModelRecord
    from andon.scoring import AnomalyModel, ModelMeta, Score
    from andon.scoring.model import Matrix
    from andon.spec.model import PlantSpec, UseCase
    from andon.store.base import Store

__all__ = [
    "Backtest",
    "EventTimeClock",
    "ReplayIntervention",
    "ReplaySummary",
    "replay_export",
]

SCORE_COLUMNS = ("window_end", "use_case", "asset", "score", "threshold", "anomalous",
                 "top_features")
INTERVENTION_COLUMNS = ("id", "use_case", "asset", "detected_at", "deadline", "action",
                          "score", "threshold", "model_version")
_MAX_REJECTS_KEPT = 1000  # (where, reason) of the first rejects, for the summary
#: distinct source times in a row beyond the plausible future that make event time jump
_FUTURE_CONFIRM = 3


class EventTimeClock:
    """A clock that follows the data: ``now`` is the newest source time seen so far.

    >>> c = EventTimeClock()
    >>> c.observe(1_764_000_000_000); c.observe(1_763_999_000_000)
    >>> c.now().isoformat()
    '2025-11-24T16:00:00+00:00'
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._ms = 0 if start is None else round(start.timestamp() * 1000)
        self._now = from_ms(self._ms)

    def observe(self, ts_ms: int) -> None:
        """Move to ``ts_ms`` if it is newer (event time never goes back)."""
        if ts_ms > self._ms:
            self._ms = ts_ms
            self._now = from_ms(ts_ms)

    def now(self) -> datetime:
        """The newest source time seen (the epoch before any)."""
        return self._now

    def now_ms(self) -> int:
        """``now()`` in epoch milliseconds."""
        return self._ms

    @contextmanager
    def back_at(self, ts_ms: int) -> Iterator[None]:
        """Read ``ts_ms`` meanwhile (a window scored after the fact, at the time it closed)."""
        ms, now = self._ms, self._now
        self._ms, self._now = ts_ms, from_ms(ts_ms)
        try:
            yield
        finally:
            self._ms, self._now = ms, now


@dataclass(frozen=True, slots=True)
class ReplayIntervention:
    """An intervention the replay would have raised (its stable fields)."""

    id: str
    use_case: str
    asset: str
    detected_at: datetime
    deadline: datetime
    action: str
    score: float
    threshold: float
    model_version: str


@dataclass
class ReplaySummary:
    """What a replay read, kept out, scored and raised, and the record it would have earned."""

    file: str
    use_case: str  # the use cases replayed, comma-separated
    model: str  # the model versions replayed (and why each), "; "-separated
    rows: int = 0
    samples: int = 0
    rejected: int = 0
    rejects: list[tuple[str, str]] = field(default_factory=list)  # first (file:line, reason)
    quarantined: Counter[str] = field(default_factory=Counter)  # rule -> count
    flagged: int = 0
    out_of_order: int = 0
    windows: int = 0
    incomplete: int = 0
    scored: int = 0
    anomalies: int = 0
    interventions: list[ReplayIntervention] = field(default_factory=list)
    first_detections: list[LeadTime] = field(default_factory=list)
    missed_failures: dict[str, list[datetime]] = field(default_factory=dict)  # no detection
    start: datetime | None = None
    end: datetime | None = None
    elapsed_s: float = 0.0
    #: the track record per (use case's model version, line): ``andon.kpi.trackrecord``
    records: list[TrackRecord] = field(default_factory=list)
    failures_from: str = "none"  # where the work orders came from
    path: str = "per-sample"  # which replay path ran (and why, when not the fast one)
    period: tuple[datetime, datetime] | None = None  # of the track record: [start, end)
    horizon: timedelta | None = None  # the longest horizon of the use cases replayed

    @property
    def rows_per_s(self) -> float:
        """Replay rate in rows per wall-clock second."""
        return self.rows / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def lines(self, *, records: bool = True) -> list[str]:
        """The short text summary the CLI prints (the track record too, unless not asked)."""
        span = ("no data" if self.start is None or self.end is None else
                f"{self.start:%Y-%m-%d %H:%M} .. {self.end:%Y-%m-%d %H:%M} UTC")
        rules = ", ".join(f"{r} {n}" for r, n in self.quarantined.most_common()) or "none"
        out = [
            f"replayed {self.file} for use case {self.use_case} with {self.model} ({span})",
            (f"rows read {self.rows:,}, samples {self.samples:,}, rejected {self.rejected:,}, "
             f"quarantined by rule: {rules}; flagged {self.flagged:,}"),
            (f"windows {self.windows:,} (incomplete {self.incomplete:,}), scored "
             f"{self.scored:,}, anomalous {self.anomalies:,}, interventions "
             f"{len(self.interventions)}"),
            f"rate {self.rows_per_s:,.0f} rows/s ({self.elapsed_s:.1f} s; path: {self.path})",
        ]
        if self.out_of_order:
            out.append(f"warning: {self.out_of_order:,} samples older than an earlier one of "
                       "the same tag; sort the export by time for windows to see them")
        for d in self.first_detections:
            lead = ("no confirmed failure after it" if d.lead_time is None else
                    f"confirmed failure {d.failure_at:%Y-%m-%d %H:%M} UTC, lead time "
                    f"{_hours(d.lead_time)}")
            if (d.lead_time is not None and self.horizon is not None
                    and d.lead_time > self.horizon):
                lead += (f" (beyond the {_hours(self.horizon)} horizon: the track record "
                         "does not count it as a warning of that failure)")
            out.append(f"first detection on {d.asset}: {d.detected_at:%Y-%m-%d %H:%M} UTC; "
                       f"{lead}")
        for asset, times in sorted(self.missed_failures.items()):
            out.append(f"missed: confirmed failure on {asset} at "
                       f"{', '.join(f'{t:%Y-%m-%d %H:%M}' for t in times)} UTC with no "
                       "intervention before it")
        if records:
            out.extend(self.record_lines())
        out.extend(f"rejected {where}: {reason}" for where, reason in self.rejects[:10])
        if self.rejected > min(len(self.rejects), 10):
            out.append(f"... and {self.rejected - min(len(self.rejects), 10):,} more rejected")
        return out

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary, track record and interventions (``andon replay --json``)."""
        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat()

        return {
            "file": self.file, "use_cases": self.use_case.split(", "), "models": self.model,
            "path": self.path, "start": iso(self.start), "end": iso(self.end),
            "rows": self.rows, "samples": self.samples, "rejected": self.rejected,
            "rejects": [{"where": w, "reason": why} for w, why in self.rejects[:100]],
            "quarantined": dict(self.quarantined), "flagged": self.flagged,
            "windows": self.windows, "incomplete": self.incomplete, "scored": self.scored,
            "anomalies": self.anomalies, "elapsed_s": round(self.elapsed_s, 3),
            "rows_per_s": round(self.rows_per_s),
            "interventions": [{"id": r.id, "use_case": r.use_case, "asset": r.asset,
                               "detected_at": r.detected_at.isoformat(),
                               "deadline": r.deadline.isoformat(), "action": r.action,
                               "score": r.score, "threshold": r.threshold,
                               "model_version": r.model_version}
                              for r in self.interventions],
            "track_record": {
                "judged_as": "shadow", "failures_from": self.failures_from,
                "start": None if self.period is None else self.period[0].isoformat(),
                "end": None if self.period is None else self.period[1].isoformat(),
                "records": [r.to_dict() for r in self.records],
            },
        }

    def record_lines(self) -> list[str]:
        """The track record, one line per model version and line (judged as shadow)."""
        if not self.records:
            return [("track record: nothing scored a watched line (failures from "
                     f"{self.failures_from})")]
        out = [("track record (would-be interventions judged as in shadow; failures from "
                f"{self.failures_from}):")]
        for r in self.records:
            lt = " / ".join(_dur(r.lead_quantile(q)) for q in (0.1, 0.5, 0.9))
            out.append(
                f"  {r.model} v{r.version} on {r.scope}: raised {r.raised}, confirmed "
                f"{r.confirmed}, false alarms {r.false_alarms} "
                f"({_fmt(r.false_alarms_per_asset_week, '.2f')} per asset-week), unresolved "
                f"{r.unresolved}; precision {_fmt(r.precision, '.0%')}, recall "
                f"{_fmt(r.recall, '.0%')} (detected {r.detected}, missed {r.missed}, in "
                f"planned stops {r.found_in_planned_stop}); lead time p10/median/p90 {lt}")
            out.extend(f"    missed: {f.asset} at {f.at:%Y-%m-%d %H:%M} UTC ({f.source})"
                       for f in r.missed_failures)
        return out


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _dur(delta: timedelta | None) -> str:
    return "-" if delta is None else _hours(delta)


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f} h"


class _Feed:
    """The ``PointSink`` between the export and the edge: moves event time, keeps rejects."""

    def __init__(self, edge: Edge, clock: EventTimeClock, summary: ReplaySummary) -> None:
        self.edge = edge
        self.clock = clock
        self.summary = summary
        self.ahead = 0  # distinct times in a row implausibly far ahead (see on_sample)
        self.ahead_ms: int | None = None  # the last of them
        # bound once: looked up per sample otherwise
        self._is_future = edge.timekeeper.is_future
        self._ingest = edge.ingest.on_sample  # what ``Edge.on_sample`` calls

    def on_sample(self, sample: Sample, topic: str | None = None,
                  payload: bytes | None = None) -> None:
        """Move event time to the sample, unless it leaps implausibly far ahead.

        A bogus timestamp (year 2100) must not drag event time along: every later row would
        look stale and late. It is left to the edge, which quarantines it as ``future``. A
        real hole in the export (a day without data) is followed by more rows beyond it:
        once ``_FUTURE_CONFIRM`` distinct times in a row are that far ahead, event time moves
        on (the samples before that one are quarantined; one wide row is one time).
        """
        clock = self.clock
        if self._is_future(sample, clock.now_ms()):
            if sample.ts_ms != self.ahead_ms:
                self.ahead, self.ahead_ms = self.ahead + 1, sample.ts_ms
            if self.ahead < _FUTURE_CONFIRM:
                self._ingest(sample, topic, payload)
                return
        if self.ahead:
            self.ahead, self.ahead_ms = 0, None
        clock.observe(sample.ts_ms)
        self._ingest(sample, topic, payload)

    def reject(self, where: str, payload: bytes, reason: str) -> None:
        if len(self.summary.rejects) < _MAX_REJECTS_KEPT:
            self.summary.rejects.append((where, reason))
        self.edge.reject(where, payload, reason)

    def drain(self) -> None:
        """Count what the edge quarantined so far (nothing is recorded in a replay)."""
        _samples, _events, quarantined = self.edge.take_pending()
        self.summary.quarantined.update(q.rule.value for q in quarantined)


#: windows collected before they are scored together (one model call per use case)
_BATCH_WINDOWS = 2048


class _Scored:
    """A model whose score for the next window was computed with its batch (``_Batch``).

    ``Scoring.score`` asks it for the score of a window's vector: it hands over the one the
    batch computed for exactly that vector; anything else (``in_distribution``, a vector it
    was not given) goes to the model itself.
    """

    def __init__(self, model: AnomalyModel) -> None:
        self.model = model
        self.next: tuple[list[float], Score, bool | _Unknown | None] | None = None
        self.known: tuple[list[float], bool | _Unknown | None] | None = None

    def __getattr__(self, name: str) -> object:
        return getattr(self.model, name)

    def score(self, x: Matrix) -> Score:
        ready, self.next = self.next, None
        if ready is not None and ready[0] == x.tolist():
            self.known = (ready[0], ready[2])
            return ready[1]
        self.known = None
        return self.model.score(x)  # e.g. a NaN in the vector: never equal to itself

    def in_distribution(self, x: Matrix) -> bool | None:
        known, self.known = self.known, None
        if known is not None and not isinstance(known[1], _Unknown) and known[0] == x.tolist():
            return known[1]
        return self.model.in_distribution(x)


class _Unknown:
    """Not computed with the batch (the model has no ``in_distribution_many``)."""


_UNKNOWN = _Unknown()


class _Models:
    """``Scoring``'s model cache during a batched replay: the loaded models, wrapped.

    Anything else ``Scoring`` asks of its cache goes to the edge's own ``ModelCache``.
    """

    def __init__(self, cache: object,
                 loaded: Mapping[str, tuple[AnomalyModel, ModelMeta]]) -> None:
        self.cache = cache
        self.wrapped = {uc: (_Scored(model), meta) for uc, (model, meta) in loaded.items()}

    def __getattr__(self, name: str) -> object:
        return getattr(self.cache, name)

    def get(self, use_case: str) -> tuple[_Scored, ModelMeta] | None:
        return self.wrapped.get(use_case)


class _Batch:
    """The fast path's scoring: windows collected as the ingest closes them, scored together.

    The ingest hands each complete window to ``add`` (in place of ``Scoring.submit``) with
    the event time it closed at. ``flush`` scores the collected windows of each use case in
    one model call (``score_many`` where the model has it, else one by one), then runs
    each window, in the order they closed, through the live ``Scoring.score`` (decider,
    envelope, gate, emit) with the clock set back to when it closed. The gate and the
    interventions live in a ``MemoryGateStore``. Same windows, same order, same clock:
    the same interventions as scoring each window as it closes.
    """

    def __init__(self, edge: Edge, clock: EventTimeClock, spec: PlantSpec) -> None:
        self.clock = clock
        self.book = MemoryGateStore()
        gate = Gate(spec, clock, self.book)
        loaded = {uc.id: got for uc in spec.use_cases
                  if (got := edge.models.get(uc.id)) is not None}
        self.models = _Models(edge.models, loaded)
        self.scoring = Scoring(
            self.models, Decider(spec, clock, gate), gate, edge.envelope,  # type: ignore[arg-type]
            save=self.book.save_intervention, deliver=edge.deliver, stats=edge.stats,
            clock=clock, record=edge.recorder.keep_event)
        self.pending: list[tuple[Window, int]] = []

    def add(self, use_case: UseCase, asset: str, end_ms: int, vec: list[float]) -> None:
        """Keep a complete window (``andon.edge.ingest.OnWindow``) until the next flush."""
        self.pending.append((Window(use_case, asset, end_ms, vec), self.clock.now_ms()))
        if len(self.pending) >= _BATCH_WINDOWS:
            self.flush()

    def flush(self) -> None:
        """Score what was collected and decide on each window, oldest first."""
        pending, self.pending = self.pending, []
        scores: dict[int, tuple[Score, bool | _Unknown | None]] = {}
        groups: dict[str, list[int]] = {}
        for i, (w, _at) in enumerate(pending):
            groups.setdefault(w.use_case.id, []).append(i)
        for uc_id, rows in groups.items():
            got = self.models.get(uc_id)
            if got is None:
                continue
            model = got[0].model
            many = getattr(model, "score_many", None)
            known = getattr(model, "in_distribution_many", None)
            X = np.asarray([pending[i][0].vec for i in rows], dtype=np.float64)  # noqa: N806
            found = (many(X) if many is not None
                     else [model.score(X[k]) for k in range(len(rows))])
            inside = known(X) if known is not None else [_UNKNOWN] * len(rows)
            scores.update(zip(rows, zip(found, inside, strict=True), strict=True))
        for i, (w, at) in enumerate(pending):
            got = self.models.get(w.use_case.id)
            if got is not None and i in scores:
                got[0].next = (w.vec, *scores[i])
            with self.clock.back_at(at):
                self.scoring.submit(w.use_case, w.asset, w.end_ms, w.vec)

    @property
    def on_score(self) -> Callable[[Detection], None] | None:
        return self.scoring.on_score

    @on_score.setter
    def on_score(self, hook: Callable[[Detection], None] | None) -> None:
        self.scoring.on_score = hook


def replay_export(export: HistorianExport, spec: PlantSpec,  # noqa: C901
                  use_cases: str | Sequence[str] | None, models_dir: Path, *,
                  registry: Store | None = None, model_version: int | None = None,
                  scores: TextIO | None = None, interventions: TextIO | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  work_orders: Sequence[WorkOrder] | None = None,
                  since: datetime | None = None, until: datetime | None = None,
                  exact: bool = False) -> ReplaySummary:
    """Run ``export`` through the use cases' live scoring path; write CSVs; summarise.

    ``use_cases``: one id, several, or None for every use case of the spec with a model in
    ``models_dir`` (those whose tags the export lacks score nothing and have no record).
    The model of each: version ``model_version`` if given (one use case only), else the
    production version recorded in ``registry`` (the plant's store), else the newest version
    in ``models_dir``. Failures for lead times and the track record: ``work_orders`` if
    given, else ``registry``'s. The record's period is ``[since, until)``, by default the
    export's first sample to just after its last. ``scores`` and ``interventions`` (open text
    files) receive CSV. ``ReplayError`` if it cannot start; ``HistorianError`` if the file
    cannot be read.

    Two paths, with the same results: by default windows are scored in batches and the gate
    keeps its state in memory (``_Batch``); ``exact`` scores each window as it closes, with
    the gate in a scratch SQLite store, exactly as ``andon edge`` does (the reference the
    fast path is tested against). ``summary.path`` says which ran.
    """
    chosen = _use_cases(spec, use_cases, models_dir)
    if model_version is not None and len(chosen) != 1:
        raise ReplayError("--model-version needs exactly one use case")
    dirs = [(uc, *_model_dir(uc, models_dir, registry, model_version)) for uc in chosen]
    only = spec.model_copy(update={"use_cases": chosen})
    clock = EventTimeClock()
    with tempfile.TemporaryDirectory(prefix="andon-replay-") as tmp:
        linked: dict[str, Path] = {}
        for uc, vdir, _why in dirs:
            if linked.setdefault(uc.model, vdir) != vdir:
                raise ReplayError(f"use cases sharing model {uc.model} would replay two "
                                  f"versions ({linked[uc.model].name}, {vdir.name}); replay "
                                  "them one at a time")
        for model, vdir in linked.items():
            view = Path(tmp) / "models" / model
            view.mkdir(parents=True)
            (view / vdir.name).symlink_to(vdir.resolve(), target_is_directory=True)
        with open_store(f"sqlite:///{Path(tmp) / 'replay.db'}") as scratch:
            edge = build_edge(only, scratch, Path(tmp) / "models", clock=clock, record=False)
            edge.reload_models()
            for uc, vdir, _why in dirs:
                if edge.model(uc.id) is None:
                    refused = scratch.events(kind="model_refused", limit=1)
                    detail = refused[0].detail if refused else "not loadable"
                    raise ReplayError(f"model {uc.model} {vdir.name} ({vdir}): {detail}")
            label = "; ".join(f"{_label(edge, uc.id)} ({why})" for uc, _vdir, why in dirs)
            summary = ReplaySummary(export.path.name, ", ".join(uc.id for uc in chosen), label)
            batch = None if exact else _Batch(edge, clock, only)
            export.columnar = not exact
            summary.path = ("per-sample (--exact: each window scored as it closes, gate in "
                            "SQLite)" if batch is None else "fast (batched scoring, gate in "
                            "memory)")
            _run(export, edge, clock, summary, scores, progress, batch)
            raised = (scratch.list_interventions(open_only=False, limit=1_000_000)
                      if batch is None else batch.book.interventions())
            versions = {uc.id: str(loaded[1].version) for uc in chosen
                        if (loaded := edge.model(uc.id)) is not None}
    raised.sort(key=lambda r: (r.lifecycle.raised_at, r.asset, r.use_case))
    summary.interventions = ivs = [_stable(r) for r in raised]
    if interventions is not None:
        _write_interventions(interventions, ivs)
    if summary.start is None or summary.end is None:
        return summary
    start = since or summary.start
    end = until or summary.end + timedelta(milliseconds=1)
    reach = summary.horizon = max(timedelta(seconds=uc.horizon) for uc in chosen)
    if work_orders is not None:
        orders, summary.failures_from = list(work_orders), "the work-orders file"
    elif registry is not None:
        orders = registry.work_orders(start=start - reach, end=end + reach, limit=None)
        summary.failures_from = "the store's work orders"
    else:
        orders, summary.failures_from = [], "nowhere: no work orders given"
    summary.period = (start, end)
    book = Backtest(only, raised, orders, versions, start=start, end=end)
    summary.records = book.records()
    _lead_times(summary, orders, end + reach)
    return summary


def _label(edge: Edge, use_case: str) -> str:
    loaded = edge.model(use_case)
    return "?" if loaded is None else loaded[1].label


def _use_cases(spec: PlantSpec, ids: str | Sequence[str] | None,
               models_dir: Path) -> list[UseCase]:
    """The use cases to replay: those named, else every one with a model in ``models_dir``."""
    if ids is None or not ids:
        found = [uc for uc in spec.use_cases
                 if latest_version_dir(models_dir, uc.model) is not None]
        if not found:
            raise ReplayError(f"no use case of the spec has a model in {models_dir}; train "
                              "one with 'andon train' or pass --models")
        return found
    out: list[UseCase] = []
    for uid in [ids] if isinstance(ids, str) else ids:
        try:
            uc = spec.use_case(uid)
        except KeyError:
            known = ", ".join(u.id for u in spec.use_cases)
            raise ReplayError(f"unknown use case {uid!r} (known: {known})") from None
        if uc not in out:
            out.append(uc)
    return out


class _Shadowing:
    """Coverage of a backtest: each replayed version shadows its use case's lines throughout."""

    def __init__(self, versions: Mapping[str, str]) -> None:
        self.versions = versions

    def live(self, use_case: str, line: str, at: datetime) -> str | None:
        del use_case, line, at
        return None

    def shadow(self, use_case: str, line: str, at: datetime) -> tuple[str, ...]:
        del line, at
        v = self.versions.get(use_case)
        return () if v is None else (v,)


class Backtest:
    """What a replay raised and the failures known, read as the live track record reads a store.

    A read-only ``andon.kpi.trackrecord.TrackRecordReader``: the replayed interventions are
    the shadow ones (nobody saw them: no outcomes, labels, promotions or live interventions),
    the work orders are the ones given. ``records()`` is ``track_record_from`` over it, the
    live report's own function (see the module docstring for how they are judged).
    """

    def __init__(self, spec: PlantSpec, raised: Sequence[Intervention],
                 orders: Sequence[WorkOrder], versions: Mapping[str, str], *,
                 start: datetime, end: datetime) -> None:
        self.spec = spec
        self.raised = sorted(raised, key=lambda iv: iv.lifecycle.raised_at)
        self.orders = sorted(orders, key=lambda wo: wo.opened_at)
        self.versions = versions
        self.start, self.end = start, end

    def records(self) -> list[TrackRecord]:
        """The shadow records of the replayed versions over ``[start, end)``, judged at end."""
        return track_record_from(self, self.spec, start=self.start, end=self.end,
                                 coverage=_Shadowing(self.versions), now=self.end,
                                 mode="shadow", use_cases=list(self.versions))

    def list_interventions(self, *, open_only: bool = True, limit: int = 200,
                           since: datetime | None = None,
                           until: datetime | None = None) -> list[Intervention]:
        """None: a replay raised nothing anybody saw."""
        del open_only, limit, since, until
        return []

    def shadow_interventions(self, *, since: datetime | None = None,
                             until: datetime | None = None,
                             limit: int | None = None) -> list[Intervention]:
        """The replayed interventions raised in ``[since, until)``, oldest first."""
        out = [iv for iv in self.raised
               if (since is None or iv.lifecycle.raised_at >= since)
               and (until is None or iv.lifecycle.raised_at < until)]
        return out if limit is None else out[:limit]

    def work_orders(self, *, asset: str | None = None, start: datetime | None = None,
                    end: datetime | None = None, failure_confirmed: bool | None = None,
                    limit: int | None = 1000) -> list[WorkOrder]:
        """The given work orders opened in ``[start, end)``, oldest first."""
        out = [wo for wo in self.orders
               if (asset is None or wo.asset == asset)
               and (start is None or wo.opened_at >= start)
               and (end is None or wo.opened_at < end)
               and (failure_confirmed is None or wo.failure_confirmed == failure_confirmed)]
        return out if limit is None else out[:limit]

    def labels(self, *, intervention_id: str | None = None, since: datetime | None = None,
               limit: int | None = None) -> list[Label]:
        """None: nobody answered a replayed intervention."""
        del intervention_id, since, limit
        return []

    def events(self, *, kind: str | None = None, limit: int = 200) -> list[Event]:
        """None: no promotions happen in a replay (coverage says what scored)."""
        del kind, limit
        return []

    def list_models(self) -> list[ModelRecord]:
        """None: the replayed versions are given by coverage, not by the registry."""
        return []


def _run(export: HistorianExport, edge: Edge, clock: EventTimeClock,  # noqa: PLR0917
         summary: ReplaySummary, scores: TextIO | None,
         progress: Callable[[int, int], None] | None, batch: _Batch | None) -> None:
    feed = _Feed(edge, clock, summary)
    hooked: Edge | _Batch = edge if batch is None else batch
    if batch is not None:
        edge.ingest.on_window = batch.add
    writer = None if scores is None else csv.writer(scores, lineterminator="\n")
    if writer is not None:
        writer.writerow(SCORE_COLUMNS)

        def on_score(d: Detection) -> None:
            top = "; ".join(f"{c.feature} {c.share:.0%}" for c in d.why)
            writer.writerow((d.window_end.isoformat(), d.use_case, d.asset,
                             f"{d.score:.6g}", f"{d.threshold:.6g}",
                             "true" if d.anomalous else "false", top))

        hooked.on_score = on_score

    def tick(done: int, total: int) -> None:
        feed.drain()
        if progress is not None:
            progress(done, total)

    user_progress, export.progress = export.progress, tick
    began = time.perf_counter()
    try:
        stats = export.read(feed)
        if batch is not None:
            batch.flush()
    finally:
        export.progress = user_progress
        hooked.on_score = None
    summary.elapsed_s = time.perf_counter() - began
    summary.path += f"; reader: {export.reader}"
    feed.drain()
    s = edge.stats
    summary.rows, summary.samples, summary.rejected = stats.rows, stats.samples, stats.rejected
    summary.out_of_order = stats.out_of_order
    summary.start = None if stats.first_ms is None else from_ms(stats.first_ms)
    summary.end = None if stats.last_ms is None else from_ms(stats.last_ms)
    summary.flagged, summary.windows, summary.incomplete = s.flagged, s.windows, s.incomplete
    summary.scored, summary.anomalies = s.scored, s.anomalous


def _model_dir(uc: UseCase, models_dir: Path, registry: Store | None,
               version: int | None) -> tuple[Path, str]:
    """The version directory to replay with, and why that one."""
    if version is not None:
        vdir = models_dir / uc.model / f"v{version}"
        if not vdir.is_dir():
            raise ReplayError(f"no version {version} of model {uc.model} in {models_dir}")
        return vdir, "as asked"
    if registry is not None:
        production = production_of(registry.list_models(), uc.model)
        if production is not None:
            vdir = models_dir / uc.model / f"v{production.version}"
            if not vdir.is_dir():
                raise ReplayError(f"production version {production.version} of model "
                                  f"{uc.model} is not in {models_dir}")
            return vdir, "production"
    latest = latest_version_dir(models_dir, uc.model)
    if latest is None:
        raise ReplayError(f"no model {uc.model} for use case {uc.id} in {models_dir}; train "
                          "one with 'andon train' or pass --models")
    return latest, "newest in the models directory; none is in production"


def _stable(r: Intervention) -> ReplayIntervention:
    """The stable fields of a stored intervention."""
    return ReplayIntervention(
        id=r.id, use_case=r.use_case, asset=r.asset, detected_at=r.detected_at,
        deadline=r.deadline, action=r.action, score=r.score, threshold=r.threshold,
        model_version=r.model_version,
    )


def _write_interventions(out: TextIO, ivs: list[ReplayIntervention]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(INTERVENTION_COLUMNS)
    for r in ivs:
        writer.writerow((r.id, r.use_case, r.asset, r.detected_at.isoformat(),
                         r.deadline.isoformat(), r.action, f"{r.score:.6g}",
                         f"{r.threshold:.6g}", r.model_version))


def _lead_times(summary: ReplaySummary, orders: Sequence[WorkOrder], until: datetime) -> None:
    """First detection per asset, joined to confirmed failures from the work orders."""
    first: dict[str, datetime] = {}
    for r in summary.interventions:
        first.setdefault(r.asset, r.detected_at)
    failures: dict[str, list[datetime]] = {}
    for wo in sorted(orders, key=lambda wo: wo.opened_at):
        if wo.failure_confirmed and summary.start is not None and (
                summary.start <= wo.opened_at < until):
            failures.setdefault(wo.asset, []).append(wo.opened_at)
    summary.first_detections, summary.missed_failures = lead_times(first, failures)
