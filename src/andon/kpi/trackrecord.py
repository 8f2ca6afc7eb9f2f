"""The track record: how often a model version was right, how early, how many false alarms.

Computed from what Andon already stores (interventions with their outcomes, imported work
orders, the registry's promotions), for each model version x line (or asset) x period. The
definitions, used by the CLI, the API and every other surface alike:

* **raised**: interventions the version raised in the period (by the time they were raised).
* **failure**: a work order on a watched asset that confirms a failure (``failure_confirmed``)
  or is corrective, at its ``opened_at``. A failure found during a planned stop of its line
  (an inspection on a stopped asset) is listed as ``found_in_planned_stop`` and counts neither
  as detected nor as missed: the model had no running data to warn from.
* **confirmed**: an intervention whose outcome is *fault confirmed*, or followed by a failure
  on its asset within the use case's horizon after it was raised (the matching work order).
* **false alarm**: an intervention whose outcome is *no fault*, or that was dismissed, and that
  no failure followed within the horizon.
* **unresolved**: raised but neither (no outcome yet, still open, or closed without one).
* **detected / missed**: a failure is detected when the version raised an intervention on its
  asset within the horizon before it (one failure counts once, however many interventions
  warned of it); otherwise it is missed. Production at an instant follows the registry's
  ``model_promoted`` events.
* **lead time**: from an intervention being raised to the first failure it warned of, else to
  the confirming outcome; one per confirmed intervention.
* **precision** = confirmed / (confirmed + false alarms); **recall** = detected / (detected +
  missed); **false alarms per asset-week** = false alarms / (watched assets x weeks of the
  period). A ratio over nothing is ``None`` (shown as "-"), never a made-up zero.
* **labelled events** = confirmed + false alarms + missed: the events whose truth is known.
* **overridden**: live interventions people dismissed (a dismissal needs a reason);
  **override rate** = overridden / raised.
* **shadow**: a version scoring in shadow (``andon.rollout``) raises would-be interventions
  nobody sees, so none has an outcome: one is confirmed when a failure on its asset follows
  within the horizon, or when production's intervention on that asset within the horizon
  was confirmed (lead time: to that confirmation); a false alarm once the horizon has passed
  without either; unresolved before. Its record (``mode`` "shadow") sits beside production's
  for the same lines and period; a failure on a line it shadowed then counts for both.
* A failure is charged to the version **live** on its line at the failure's time: the
  rollout's challenger where it was live (in its shift only, at live_pilot_shift), else the
  production version.

>>> from andon.clock import utc
>>> from andon.testing.factories import make_intervention
>>> raised = make_intervention("iv-1", created_at=utc(2026, 3, 2, 7))
>>> failure = Failure("p-101", utc(2026, 3, 3, 9), "WO-1")
>>> [j] = judge([raised], [failure], horizon=lambda _uc: timedelta(days=2))
>>> j.verdict, j.lead_time
(<Verdict.CONFIRMED: 'confirmed'>, datetime.timedelta(days=1, seconds=7200))
"""

from __future__ import annotations

import csv
import math
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Literal, Protocol, TextIO

from andon.audit import Event, EventKind
from andon.errors import ReportError
from andon.feedback.labels import Label
from andon.feedback.workorders import WorkOrder, WorkType
from andon.interventions.lifecycle import InterventionState
from andon.interventions.record import Intervention, OutcomeLabel
from andon.registry import ModelRecord, production_of
from andon.spec.calendar import planned_stops

if TYPE_CHECKING:
    from andon.spec.model import PlantSpec

__all__ = [
    "CSV_COLUMNS",
    "Coverage",
    "Failure",
    "Judged",
    "Mode",
    "Production",
    "Scope",
    "TrackRecord",
    "TrackRecordReader",
    "Verdict",
    "failures_of",
    "judge",
    "merge",
    "model_ref",
    "production_intervals",
    "scopes_of",
    "track_record_from",
    "track_records",
    "write_csv",
]

WEEK = timedelta(days=7)
#: "live": interventions people saw; "shadow": a shadow version's would-be interventions
Mode = Literal["live", "shadow"]


class Verdict(StrEnum):
    """What became of one intervention (see the module's definitions)."""

    CONFIRMED = "confirmed"  # a fault was found, or a failure followed within the horizon
    FALSE_ALARM = "false_alarm"  # no fault found, or dismissed, and no failure followed
    UNRESOLVED = "unresolved"  # neither yet


@dataclass(frozen=True, slots=True)
class Failure:
    """A failure of an asset at an instant, and where it is known from (a work order)."""

    asset: str
    at: datetime
    source: str  # e.g. "WO-1042"


@dataclass(frozen=True, slots=True)
class Judged:
    """One intervention with its verdict, lead time and the evidence for them."""

    intervention: Intervention
    verdict: Verdict
    lead_time: timedelta | None = None
    failure: Failure | None = None  # the failure it warned of, if any
    evidence: str = ""


@dataclass(frozen=True, slots=True)
class Production:
    """A model version in production from ``start`` until ``end`` (None: still)."""

    model: str
    version: str
    start: datetime
    end: datetime | None = None


class Coverage(Protocol):
    """Which versions scored a line at an instant beside production (``andon.rollout``)."""

    def live(self, use_case: str, line: str, at: datetime) -> str | None:
        """The version live on ``line`` at ``at`` instead of production, if any."""
        ...

    def shadow(self, use_case: str, line: str, at: datetime) -> tuple[str, ...]:
        """The versions scoring ``line`` in shadow at ``at``."""
        ...


class _NoRollouts:
    def live(self, use_case: str, line: str, at: datetime) -> str | None:
        del use_case, line, at
        return None

    def shadow(self, use_case: str, line: str, at: datetime) -> tuple[str, ...]:
        del use_case, line, at
        return ()


@dataclass(frozen=True, slots=True)
class TrackRecord:
    """The figures of one model version on one line (or asset) over one period."""

    model: str
    version: str
    scope: str  # the line (or asset) id
    start: datetime
    end: datetime
    assets: int  # assets of the scope the use case watches
    mode: Mode = "live"
    raised: int = 0
    confirmed: int = 0
    false_alarms: int = 0
    unresolved: int = 0
    overridden: int = 0
    detected: int = 0
    missed: int = 0
    found_in_planned_stop: int = 0
    lead_times: tuple[timedelta, ...] = ()
    judged: tuple[Judged, ...] = field(default=(), repr=False)
    missed_failures: tuple[Failure, ...] = field(default=(), repr=False)
    failures: tuple[Failure, ...] = field(default=(), repr=False)  # every one charged to it

    @property
    def weeks(self) -> float:
        """Length of the period in weeks."""
        return (self.end - self.start) / WEEK

    @property
    def precision(self) -> float | None:
        """Confirmed / (confirmed + false alarms); None when neither happened."""
        return _ratio(self.confirmed, self.confirmed + self.false_alarms)

    @property
    def recall(self) -> float | None:
        """Detected / (detected + missed); None when no failure happened."""
        return _ratio(self.detected, self.detected + self.missed)

    @property
    def labelled(self) -> int:
        """Events whose truth is known: confirmed + false alarms + missed failures."""
        return self.confirmed + self.false_alarms + self.missed

    @property
    def override_rate(self) -> float | None:
        """Overridden / raised; None when nothing was raised."""
        return _ratio(self.overridden, self.raised)

    @property
    def false_alarms_per_asset_week(self) -> float | None:
        """False alarms / (watched assets x weeks); None for no assets or an empty period."""
        exposure = self.assets * self.weeks
        return None if exposure <= 0 else self.false_alarms / exposure

    def lead_quantile(self, q: float) -> timedelta | None:
        """The ``q`` quantile of the lead times (nearest rank); None without any."""
        if not self.lead_times:
            return None
        ordered = sorted(self.lead_times)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    @property
    def median_lead_time(self) -> timedelta | None:
        """The median lead time (nearest rank); None without any."""
        return self.lead_quantile(0.5)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready figures (durations in hours), in report column order."""
        median = self.median_lead_time
        return {
            "model": self.model, "version": self.version, "scope": self.scope,
            "mode": self.mode, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "assets": self.assets, "weeks": round(self.weeks, 4), "raised": self.raised,
            "confirmed": self.confirmed, "false_alarms": self.false_alarms,
            "unresolved": self.unresolved, "overridden": self.overridden,
            "detected": self.detected, "missed": self.missed,
            "found_in_planned_stop": self.found_in_planned_stop, "labelled": self.labelled,
            "precision": _round(self.precision), "recall": _round(self.recall),
            "false_alarms_per_asset_week": _round(self.false_alarms_per_asset_week),
            "override_rate": _round(self.override_rate),
            "median_lead_time_h": None if median is None else _h(median),
            "lead_times_h": [_h(t) for t in sorted(self.lead_times)],
        }


def merge(records: Sequence[TrackRecord], scope: str) -> TrackRecord | None:
    """One record over several scopes of one version and mode (a rollout stage's lines)."""
    if not records:
        return None
    first = records[0]
    return TrackRecord(
        model=first.model, version=first.version, scope=scope, start=first.start,
        end=first.end, assets=sum(r.assets for r in records), mode=first.mode,
        raised=sum(r.raised for r in records), confirmed=sum(r.confirmed for r in records),
        false_alarms=sum(r.false_alarms for r in records),
        unresolved=sum(r.unresolved for r in records),
        overridden=sum(r.overridden for r in records),
        detected=sum(r.detected for r in records), missed=sum(r.missed for r in records),
        found_in_planned_stop=sum(r.found_in_planned_stop for r in records),
        lead_times=tuple(t for r in records for t in r.lead_times),
        judged=tuple(j for r in records for j in r.judged),
        missed_failures=tuple(f for r in records for f in r.missed_failures),
        failures=tuple(f for r in records for f in r.failures))


def failures_of(orders: Iterable[WorkOrder]) -> list[Failure]:
    """The failures among work orders, oldest first: those confirming a failure, or corrective."""
    found = [Failure(wo.asset, wo.opened_at, wo.external_id) for wo in orders
             if wo.failure_confirmed or wo.type is WorkType.CORRECTIVE]
    return sorted(found, key=lambda f: (f.at, f.asset, f.source))


def judge(interventions: Iterable[Intervention], failures: Sequence[Failure], *,
          horizon: Callable[[str], timedelta],
          outcome_at: Mapping[str, datetime] | None = None, shadow: bool = False,
          now: datetime | None = None,
          confirmed_live: Sequence[tuple[Intervention, datetime]] = ()) -> list[Judged]:
    """The verdict of each intervention (see the module's definitions), in the order given.

    ``horizon(use_case)`` is how long after an intervention a failure still matches it;
    ``outcome_at`` gives when each intervention's outcome was told (for the lead time of one
    confirmed by its outcome alone; without it, its last change). With ``shadow``, the
    interventions are a shadow version's: judged against failures, ``confirmed_live``
    (production's confirmed interventions and when each was confirmed) and ``now``.
    """
    by_asset: dict[str, list[Failure]] = {}
    for f in failures:
        by_asset.setdefault(f.asset, []).append(f)
    for found in by_asset.values():
        found.sort(key=lambda f: f.at)
    out = []
    for iv in interventions:
        raised = iv.lifecycle.raised_at
        reach = horizon(iv.use_case)
        after = [f for f in by_asset.get(iv.asset, ()) if raised <= f.at <= raised + reach]
        if after:
            first = after[0]
            out.append(Judged(iv, Verdict.CONFIRMED, first.at - raised, first,
                              f"failure {first.source} {_hours(first.at - raised)} later"))
        elif shadow:
            out.append(_judge_shadow(iv, reach, now, confirmed_live))
        elif iv.outcome is OutcomeLabel.FAULT_CONFIRMED:
            told = (outcome_at or {}).get(iv.id, iv.updated_at)
            out.append(Judged(iv, Verdict.CONFIRMED, max(told - raised, timedelta(0)), None,
                              "outcome: fault confirmed"))
        elif iv.outcome is OutcomeLabel.NO_FAULT:
            out.append(Judged(iv, Verdict.FALSE_ALARM, evidence="outcome: no fault"))
        elif iv.state is InterventionState.DISMISSED:
            out.append(Judged(iv, Verdict.FALSE_ALARM, evidence="dismissed"))
        else:
            out.append(Judged(iv, Verdict.UNRESOLVED,
                              evidence="no outcome yet" if iv.is_open else "closed, no outcome"))
    return out


def _judge_shadow(iv: Intervention, reach: timedelta, now: datetime | None,
                  confirmed_live: Sequence[tuple[Intervention, datetime]]) -> Judged:
    """A shadow intervention with no failure after it: production's finding, or the clock."""
    raised = iv.lifecycle.raised_at
    for live, told in confirmed_live:
        if live.asset == iv.asset and abs(live.lifecycle.raised_at - raised) <= reach:
            return Judged(iv, Verdict.CONFIRMED, max(told - raised, timedelta(0)), None,
                          f"production's {live.id} confirmed a fault")
    if now is not None and raised + reach <= now:
        return Judged(iv, Verdict.FALSE_ALARM,
                      evidence=f"no failure within the horizon ({_hours(reach)})")
    return Judged(iv, Verdict.UNRESOLVED, evidence="horizon not over yet")


def production_intervals(promotions: Iterable[tuple[str, str, datetime]]) -> list[Production]:
    """Production periods from ``(model, version, promoted at)``, oldest first per model.

    A version is in production from its promotion until the model's next promotion.
    """
    by_model: dict[str, list[tuple[datetime, str]]] = {}
    for model, version, at in promotions:
        by_model.setdefault(model, []).append((at, version))
    out = []
    for model, steps in by_model.items():
        steps.sort()
        for (start, version), nxt in zip(steps, [*steps[1:], None], strict=True):
            out.append(Production(model, version, start, None if nxt is None else nxt[0]))
    return out


def _serving(periods: Sequence[Production], model: str, at: datetime) -> str | None:
    """The version of ``model`` in production at ``at``, if any."""
    mine = sorted((p for p in periods if p.model == model), key=lambda p: p.start)
    i = bisect_right([p.start for p in mine], at) - 1
    if i < 0:
        return None
    p = mine[i]
    return p.version if p.end is None or at < p.end else None


@dataclass(frozen=True, slots=True)
class Scope:
    """What one record is about: a use case's model on a line (or asset), its watched assets.

    ``lines`` maps each watched asset to its line.
    """

    use_case: str
    model: str
    scope: str
    assets: frozenset[str]
    horizon: timedelta
    lines: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)


@dataclass
class _Tally:
    """One record being counted."""

    scope: Scope
    judged: list[Judged] = field(default_factory=list)
    detected: int = 0
    missed: list[Failure] = field(default_factory=list)
    stops: int = 0
    failures: list[Failure] = field(default_factory=list)


def track_records(interventions: Sequence[Intervention], failures: Sequence[Failure],
                  scopes: Sequence[Scope], *, start: datetime, end: datetime,
                  promotions: Sequence[Production] = (),
                  in_planned_stop: Callable[[str, datetime], bool] = lambda _a, _t: False,
                  outcome_at: Mapping[str, datetime] | None = None,
                  version: str | None = None, shadow: Sequence[Intervention] = (),
                  coverage: Coverage | None = None, now: datetime | None = None,
                  ) -> list[TrackRecord]:
    """One record per (model version, scope, mode) with anything to show in ``[start, end)``.

    ``in_planned_stop(asset, at)`` says whether a failure fell in a planned stop of the
    asset's line; ``version`` keeps one version only; ``shadow`` are shadow versions'
    would-be interventions, judged at ``now`` (default ``end``); ``coverage`` says which
    version was live or in shadow on a line at an instant (default: production only).
    """
    cover = coverage or _NoRollouts()
    horizons = {s.use_case: s.horizon for s in scopes}
    reach = lambda uc: horizons.get(uc, timedelta(0))  # noqa: E731
    live = [iv for iv in interventions
            if start <= iv.lifecycle.raised_at < end and iv.use_case in horizons]
    judged = judge(live, failures, horizon=reach, outcome_at=outcome_at)
    confirmed_live = [(j.intervention, j.intervention.lifecycle.raised_at + (j.lead_time or
                                                                           timedelta(0)))
                      for j in judged if j.verdict is Verdict.CONFIRMED]
    judged_shadow = judge([iv for iv in shadow if start <= iv.lifecycle.raised_at < end
                           and iv.use_case in horizons], failures, horizon=reach,
                          shadow=True, now=now or end, confirmed_live=confirmed_live)
    tallies: dict[tuple[str, str, str, str], _Tally] = {}

    def tally(s: Scope, v: str, mode: Mode) -> _Tally:
        return tallies.setdefault((s.model, v, s.scope, mode), _Tally(s))

    for mode, js in (("live", judged), ("shadow", judged_shadow)):
        for j in js:
            iv = j.intervention
            for s in scopes:
                if s.use_case == iv.use_case and iv.asset in s.assets:
                    tally(s, iv.model_version, mode).judged.append(j)  # type: ignore[arg-type]
    for f in failures:
        if not start <= f.at < end:
            continue
        for s in scopes:
            if f.asset in s.assets:
                _charge(f, s, live=judged, shadow=judged_shadow, promotions=promotions,
                        cover=cover, in_planned_stop=in_planned_stop, tally=tally)
    return [_record(model, v, scope_id, mode, t, start=start, end=end)  # type: ignore[arg-type]
            for (model, v, scope_id, mode), t in sorted(tallies.items())
            if version is None or v == version]


def _charge(f: Failure, s: Scope, *, live: Sequence[Judged],
            shadow: Sequence[Judged], promotions: Sequence[Production], cover: Coverage,
            in_planned_stop: Callable[[str, datetime], bool],
            tally: Callable[[Scope, str, Mode], _Tally]) -> None:
    """Count a failure for the version live then and each in shadow: stopped, detected, missed."""
    line = s.lines.get(f.asset, "")
    mine = [j.intervention for j in live
            if j.intervention.use_case == s.use_case and j.intervention.asset == f.asset]
    serving = (cover.live(s.use_case, line, f.at) or _serving(promotions, s.model, f.at)
               or next((iv.model_version for iv in reversed(mine)
                        if iv.lifecycle.raised_at <= f.at), None)
               or next((iv.model_version for iv in mine), "?"))
    stopped = in_planned_stop(f.asset, f.at)
    charges: list[tuple[str, Mode, list[Intervention]]] = [
        (serving, "live", [iv for iv in mine if iv.model_version == serving])]
    charges += [(v, "shadow", [j.intervention for j in shadow
                               if j.intervention.use_case == s.use_case
                               and j.intervention.asset == f.asset
                               and j.intervention.model_version == v])
                for v in cover.shadow(s.use_case, line, f.at)]
    for v, mode, warned in charges:
        t = tally(s, v, mode)
        t.failures.append(f)
        if stopped:
            t.stops += 1
        elif any(f.at - s.horizon <= iv.lifecycle.raised_at <= f.at for iv in warned):
            t.detected += 1
        else:
            t.missed.append(f)


def _record(model: str, version: str, scope_id: str, mode: Mode, t: _Tally, *,
            start: datetime, end: datetime) -> TrackRecord:
    verdicts = [j.verdict for j in t.judged]
    return TrackRecord(
        model=model, version=version, scope=scope_id, start=start, end=end,
        assets=len(t.scope.assets), mode=mode, raised=len(t.judged),
        confirmed=verdicts.count(Verdict.CONFIRMED),
        false_alarms=verdicts.count(Verdict.FALSE_ALARM),
        unresolved=verdicts.count(Verdict.UNRESOLVED),
        overridden=sum(1 for j in t.judged
                       if j.intervention.state is InterventionState.DISMISSED),
        detected=t.detected, missed=len(t.missed), found_in_planned_stop=t.stops,
        lead_times=tuple(j.lead_time for j in t.judged if j.lead_time is not None),
        judged=tuple(t.judged), missed_failures=tuple(t.missed), failures=tuple(t.failures))


class TrackRecordReader(Protocol):
    """What ``track_record_from`` reads (``andon.store.Store`` has it)."""

    def list_interventions(self, *, open_only: bool = True, limit: int = 200,
                           since: datetime | None = None,
                           until: datetime | None = None) -> list[Intervention]:
        """Interventions created in ``[since, until)``, newest first."""
        ...

    def shadow_interventions(self, *, since: datetime | None = None,
                             until: datetime | None = None,
                             limit: int | None = None) -> list[Intervention]:
        """Shadow versions' would-be interventions raised in ``[since, until)``, oldest first."""
        ...

    def work_orders(self, *, asset: str | None = None, start: datetime | None = None,
                    end: datetime | None = None, failure_confirmed: bool | None = None,
                    limit: int | None = 1000) -> list[WorkOrder]:
        """Work orders opened in ``[start, end)``, oldest first."""
        ...

    def labels(self, *, intervention_id: str | None = None, since: datetime | None = None,
               limit: int | None = None) -> list[Label]:
        """Labels (answers and outcomes), oldest first."""
        ...

    def events(self, *, kind: str | None = None, limit: int = 200) -> list[Event]:
        """Events, newest first."""
        ...

    def list_models(self) -> list[ModelRecord]:
        """Every model version with its stage."""
        ...


#: most records read for one report (a plant raises far fewer interventions in a period)
_MAX_READ = 1_000_000


def scopes_of(spec: PlantSpec, *, by: str = "line", model: str | None = None,
              lines: Iterable[str] | None = None,
              use_cases: Iterable[str] | None = None) -> list[Scope]:
    """The (use case, line or asset) pairs of the spec, optionally of one model or some lines.

    ``ReportError`` names a model no use case runs, or a line the spec does not have.
    """
    if by not in {"line", "asset"}:
        raise ReportError(f"one record per {by!r}? expected per line or per asset")
    models = sorted({uc.model for uc in spec.use_cases})
    if model is not None and model not in models:
        raise ReportError(f"no use case runs model {model!r}; the spec's models: "
                          f"{', '.join(models)}")
    wanted = None if lines is None else set(lines)
    known = sorted({ln.id for _site, _area, ln in spec.lines()})
    unknown = sorted((wanted or set()) - set(known))
    if unknown:
        raise ReportError(f"no line {', '.join(map(repr, unknown))} in the spec; its lines: "
                          f"{', '.join(known)}")
    chosen = None if use_cases is None else set(use_cases)
    out = []
    for uc in spec.use_cases:
        if (model is not None and uc.model != model) or (chosen is not None
                                                         and uc.id not in chosen):
            continue
        groups: dict[str, dict[str, str]] = {}
        for _site, _area, line, asset in spec.use_case_assets(uc):
            if wanted is not None and line.id not in wanted:
                continue
            groups.setdefault(line.id if by == "line" else asset.id, {})[asset.id] = line.id
        out += [Scope(uc.id, uc.model, key, frozenset(assets), timedelta(seconds=uc.horizon),
                      dict(assets))
                for key, assets in sorted(groups.items())]
    return out


def track_record_from(store: TrackRecordReader, spec: PlantSpec, *,
                      start: datetime, end: datetime, model: str | None = None,
                      version: str | None = None, lines: Iterable[str] | None = None,
                      by: str = "line", coverage: Coverage | None = None,
                      now: datetime | None = None, mode: Mode | None = None,
                      use_cases: Iterable[str] | None = None) -> list[TrackRecord]:
    """The records of what ``store`` keeps, for ``spec``'s use cases, over ``[start, end)``.

    ``coverage`` (``andon.rollout``) says where versions were live or in shadow beside
    production; ``now`` judges shadow interventions (default ``end``); ``mode`` keeps live or
    shadow records only.
    """
    scopes = scopes_of(spec, by=by, model=model, lines=lines, use_cases=use_cases)
    if not scopes:
        return []
    reach = max(s.horizon for s in scopes)
    interventions = store.list_interventions(open_only=False, limit=_MAX_READ, since=start,
                                             until=end)
    shadow = ([] if mode == "live" else
              store.shadow_interventions(since=start, until=end, limit=_MAX_READ))
    failures = failures_of(store.work_orders(start=start - reach, end=end + reach,
                                             limit=None))
    told: dict[str, datetime] = {}
    for lb in store.labels(since=start, limit=None):
        if lb.kind == "outcome" and lb.label == OutcomeLabel.FAULT_CONFIRMED.value:
            told.setdefault(lb.intervention_id, lb.at)
    promotions = production_intervals(
        (name, version_no, e.at) for e in store.events(kind=EventKind.MODEL_PROMOTED,
                                                       limit=_MAX_READ)
        for name, _, version_no in [e.subject.rpartition(" v")] if name)
    # a model whose promotions left no event (set up before events were kept): its production
    # version now is taken as serving all along
    models = store.list_models()
    promoted = {p.model for p in promotions}
    promotions += [Production(s.model, str(prod.version), datetime.min.replace(tzinfo=start.tzinfo))
                   for s in scopes if s.model not in promoted
                   for prod in [production_of(models, s.model)] if prod is not None]

    def in_planned_stop(asset: str, at: datetime) -> bool:
        site, _area, line, _asset = spec.asset(asset)
        stops = planned_stops(line.calendar, site.timezone, at - timedelta(days=8),
                              at + timedelta(microseconds=1))
        return any(stop.start <= at < stop.end for stop in stops)

    records = track_records(interventions, failures, scopes, start=start, end=end,
                            promotions=promotions, in_planned_stop=in_planned_stop,
                            outcome_at=told, version=version, shadow=shadow,
                            coverage=coverage, now=now)
    return [r for r in records if mode is None or r.mode == mode]


def model_ref(ref: str) -> tuple[str, str | None]:
    """``NAME`` or ``NAME@VERSION`` (also ``NAME@vVERSION``) as (name, version or None).

    >>> model_ref("pump-bearing@v3"), model_ref("pump-bearing")
    (('pump-bearing', '3'), ('pump-bearing', None))
    """
    name, at, version = ref.strip().partition("@")
    version = version.strip().removeprefix("v")
    if not name or (at and not version):
        raise ReportError(f"model {ref!r}: expected NAME or NAME@VERSION")
    return name, version or None


#: the CSV's columns: ``TrackRecord.to_dict``'s keys, lead times joined by ";"
CSV_COLUMNS = ("model", "version", "scope", "mode", "start", "end", "assets", "weeks",
               "raised", "confirmed", "false_alarms", "unresolved", "overridden", "detected",
               "missed", "found_in_planned_stop", "labelled", "precision", "recall",
               "false_alarms_per_asset_week", "override_rate", "median_lead_time_h",
               "lead_times_h")


def write_csv(records: Iterable[TrackRecord], out: TextIO) -> None:
    """Write ``records`` as CSV (``CSV_COLUMNS``; empty cell for a ratio over nothing)."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in records:
        row = r.to_dict()
        row["lead_times_h"] = ";".join(f"{_h(t):g}" for t in sorted(r.lead_times))
        w.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _h(delta: timedelta) -> float:
    """Hours, to the second's precision (3 decimals)."""
    return round(delta.total_seconds() / 3600, 3)


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f} h"
