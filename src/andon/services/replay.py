"""Replay for backtests: a historian export through the live scoring path, at full speed.

``replay_export`` builds an ``Edge`` exactly as ``andon edge`` does (same contracts, windows,
features, model loading and decider), with recording off and a scratch store for the
interventions it raises, and a clock that follows the data's event time
(``EventTimeClock``): deadlines, staleness and "created at" are judged as if the data were
arriving live. A ``HistorianExport`` feeds it; the only addition to the live path is the
edge's per-window ``on_score`` hook, which writes the scores CSV. There is no second
implementation of scoring.

Outputs: per-window scores (window end, asset, score, threshold, anomalous, top features),
the interventions that would have been raised, and a ``ReplaySummary``: rows read,
rejected (with ``file:line``), quarantined by rule, windows scored, anomalies,
interventions, and the first detection per asset with its lead time before a confirmed
failure (work orders imported with ``andon import work-orders``, see
``andon.feedback.workorders``).
"""

from __future__ import annotations

import csv
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from andon.clock import from_ms, to_ms
from andon.edge import Edge, build_edge
from andon.errors import ReplayError
from andon.feedback.workorders import confirmed_failures
from andon.kpi.leadtime import LeadTime, lead_times
from andon.registry import production_of
from andon.scoring import latest_version_dir
from andon.store import open_store

if TYPE_CHECKING:
    from andon.connectors.historian import HistorianExport
    from andon.interventions import Detection, Intervention
    from andon.namespace.sample import Sample
    from andon.spec.model import PlantSpec, UseCase
    from andon.store.base import Store

__all__ = [
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
    """What a replay read, kept out, scored and raised."""

    file: str
    use_case: str
    model: str
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

    @property
    def rows_per_s(self) -> float:
        """Replay rate in rows per wall-clock second."""
        return self.rows / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def lines(self) -> list[str]:
        """The short text summary the CLI prints."""
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
            f"rate {self.rows_per_s:,.0f} rows/s ({self.elapsed_s:.1f} s)",
        ]
        if self.out_of_order:
            out.append(f"warning: {self.out_of_order:,} samples older than an earlier one of "
                       "the same tag; sort the export by time for windows to see them")
        for d in self.first_detections:
            lead = ("no confirmed failure after it" if d.lead_time is None else
                    f"confirmed failure {d.failure_at:%Y-%m-%d %H:%M} UTC, lead time "
                    f"{_hours(d.lead_time)}")
            out.append(f"first detection on {d.asset}: {d.detected_at:%Y-%m-%d %H:%M} UTC; "
                       f"{lead}")
        for asset, times in sorted(self.missed_failures.items()):
            out.append(f"missed: confirmed failure on {asset} at "
                       f"{', '.join(f'{t:%Y-%m-%d %H:%M}' for t in times)} UTC with no "
                       "intervention before it")
        out.extend(f"rejected {where}: {reason}" for where, reason in self.rejects[:10])
        if self.rejected > min(len(self.rejects), 10):
            out.append(f"... and {self.rejected - min(len(self.rejects), 10):,} more rejected")
        return out


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

    def on_sample(self, sample: Sample, topic: str | None = None,
                  payload: bytes | None = None) -> None:
        """Move event time to the sample, unless it leaps implausibly far ahead.

        A bogus timestamp (year 2100) must not drag event time along: every later row would
        look stale and late. It is left to the edge, which quarantines it as ``future``. A
        real hole in the export (a day without data) is followed by more rows beyond it:
        once ``_FUTURE_CONFIRM`` distinct times in a row are that far ahead, event time moves
        on (the samples before that one are quarantined; one wide row is one time).
        """
        if self.edge.timekeeper.is_future(sample, to_ms(self.clock.now())):
            if sample.ts_ms != self.ahead_ms:
                self.ahead, self.ahead_ms = self.ahead + 1, sample.ts_ms
            if self.ahead < _FUTURE_CONFIRM:
                self.edge.on_sample(sample, topic, payload)
                return
        self.ahead, self.ahead_ms = 0, None
        self.clock.observe(sample.ts_ms)
        self.edge.on_sample(sample, topic, payload)

    def reject(self, where: str, payload: bytes, reason: str) -> None:
        if len(self.summary.rejects) < _MAX_REJECTS_KEPT:
            self.summary.rejects.append((where, reason))
        self.edge.reject(where, payload, reason)

    def drain(self) -> None:
        """Count what the edge quarantined so far (nothing is recorded in a replay)."""
        _samples, _events, quarantined = self.edge.take_pending()
        self.summary.quarantined.update(q.rule.value for q in quarantined)


def replay_export(export: HistorianExport, spec: PlantSpec, use_case_id: str,
                  models_dir: Path, *, registry: Store | None = None,
                  model_version: int | None = None, scores: TextIO | None = None,
                  interventions: TextIO | None = None,
                  progress: Callable[[int, int], None] | None = None) -> ReplaySummary:
    """Run ``export`` through the use case's live scoring path; write CSVs; summarise.

    The model: version ``model_version`` if given, else the production version recorded in
    ``registry`` (the plant's store), else the newest version in ``models_dir``. Confirmed
    failures for lead times come from ``registry``'s work orders. ``scores`` and
    ``interventions`` (open text files) receive CSV. ``ReplayError`` if it cannot start;
    ``HistorianError`` if the file cannot be read.
    """
    try:
        uc = spec.use_case(use_case_id)
    except KeyError:
        known = ", ".join(u.id for u in spec.use_cases)
        raise ReplayError(f"unknown use case {use_case_id!r} (known: {known})") from None
    vdir, why = _model_dir(uc, models_dir, registry, model_version)
    only = spec.model_copy(update={"use_cases": [uc]})
    clock = EventTimeClock()
    with tempfile.TemporaryDirectory(prefix="andon-replay-") as tmp:
        view = Path(tmp) / "models" / uc.model
        view.mkdir(parents=True)
        (view / vdir.name).symlink_to(vdir.resolve(), target_is_directory=True)
        with open_store(f"sqlite:///{Path(tmp) / 'replay.db'}") as scratch:
            edge = build_edge(only, scratch, Path(tmp) / "models", clock=clock, record=False)
            loaded = edge.reload_models()
            if not loaded:
                refused = scratch.events(kind="model_refused", limit=1)
                detail = refused[0].detail if refused else "not loadable"
                raise ReplayError(f"model {uc.model} {vdir.name} ({vdir}): {detail}")
            summary = ReplaySummary(export.path.name, uc.id, f"{loaded[0]} ({why})")
            _run(export, edge, clock, summary, scores, progress)
            ivs = [_stable(r) for r in scratch.list_interventions(open_only=False,
                                                                      limit=1_000_000)]
    ivs.sort(key=lambda r: (r.detected_at, r.asset))
    summary.interventions = ivs
    if interventions is not None:
        _write_interventions(interventions, ivs)
    _lead_times(summary, registry, uc.horizon)
    return summary


def _run(export: HistorianExport, edge: Edge, clock: EventTimeClock,  # noqa: PLR0917
         summary: ReplaySummary, scores: TextIO | None,
         progress: Callable[[int, int], None] | None) -> None:
    feed = _Feed(edge, clock, summary)
    writer = None if scores is None else csv.writer(scores, lineterminator="\n")
    if writer is not None:
        writer.writerow(SCORE_COLUMNS)

        def on_score(d: Detection) -> None:
            top = "; ".join(f"{c.feature} {c.share:.0%}" for c in d.why)
            writer.writerow((d.window_end.isoformat(), d.use_case, d.asset,
                             f"{d.score:.6g}", f"{d.threshold:.6g}",
                             "true" if d.anomalous else "false", top))

        edge.on_score = on_score

    def tick(done: int, total: int) -> None:
        feed.drain()
        if progress is not None:
            progress(done, total)

    user_progress, export.progress = export.progress, tick
    began = time.perf_counter()
    try:
        stats = export.read(feed)
    finally:
        export.progress = user_progress
        edge.on_score = None
    summary.elapsed_s = time.perf_counter() - began
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


def _lead_times(summary: ReplaySummary, registry: Store | None, horizon_s: float) -> None:
    """First detection per asset, joined to confirmed failures from the work orders."""
    first: dict[str, datetime] = {}
    for r in summary.interventions:
        first.setdefault(r.asset, r.detected_at)
    failures: Mapping[str, list[datetime]] = {}
    if registry is not None and summary.start is not None and summary.end is not None:
        failures = confirmed_failures(registry, start=summary.start,
                                      end=summary.end + timedelta(seconds=horizon_s))
    summary.first_detections, summary.missed_failures = lead_times(first, failures)
