"""From scores to interventions: persistence, dedup, deadline, action text.

The ``Decider`` is pure: it is fed one ``Detection`` per scored window and answers with the
intervention to create or update (or nothing). It needs a way to find the open
intervention of an asset (``OpenLookup``), which the runtime backs with the store.

**Deadline and failure band.** A detection at ``t`` predicts the failure between
``t + horizon_min`` and ``t + horizon`` (the use case's band; no band without
``horizon_min``). The deadline is the line's first planned stop starting before the *earliest*
failure, so it is never after the predicted failure. With no stop in time, the deadline is
now, the priority critical, and the action says so: "Failure predicted before the next
planned stop (<stop>): request an unplanned stop to <action>".

**A stopped asset.** A window in which the asset is stopped (``Detection.stopped``,
``andon.interventions.condition``) outside a planned stop turns the open intervention into a
corrective action (``corrective_action``), once; its evidence (score, why, windows) stays
that of the windows that raised it. A stopped window never raises an intervention and is
never taken as evidence, and once corrective an intervention's evidence no longer moves.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from andon.interventions.lifecycle import InterventionState, Priority, TransitionRecord
from andon.interventions.record import (
    SYSTEM,
    Contribution,
    Intervention,
    corrective_action,
    dedup_key,
    render_action,
)
from andon.spec.calendar import PlannedStop, next_planned_stop, planned_stops
from andon.text import eng

if TYPE_CHECKING:
    from andon.clock import Clock
    from andon.spec.model import PlantSpec, UseCase

__all__ = ["NEXT_STOP_REACH", "Decider", "Detection", "OpenLookup", "stop_label"]

#: how far ahead the action looks for the next planned stop to name when none is in time
NEXT_STOP_REACH = timedelta(days=14)
#: how far back a planned stop may have started and still cover a window's end
_STOP_LOOKBACK = timedelta(days=2)
#: evidence versions kept per asset (windows overlapping a stop are fewer than window / hop)
_KEEP_VERSIONS = 32


@dataclass(frozen=True, slots=True)
class Detection:
    """The model's verdict on one window of one asset."""

    use_case: str
    asset: str
    window_end: datetime  # event time
    score: float
    threshold: float
    model: str
    model_version: str
    why: tuple[Contribution, ...]
    stopped: bool = False  # the asset was at rest in the window (``condition.Running``)

    @property
    def anomalous(self) -> bool:
        """Score above the model's threshold, or the asset stopped (never healthy again)."""
        return self.stopped or self.score > self.threshold


class OpenLookup(Protocol):
    """Finds the open intervention of a use case on an asset, if any."""

    def open_intervention_for(self, use_case: str, asset: str) -> Intervention | None:
        """Return the open intervention (any state but done, dismissed, expired), or None."""
        ...


@dataclass
class Decider:
    """Turns a stream of detections into at most one open intervention per asset."""

    spec: PlantSpec
    clock: Clock
    lookup: OpenLookup
    _streak: dict[tuple[str, str], int] = field(default_factory=dict)
    #: the evidence versions given out per (use case, asset), newest last: a stop reverts to
    #: the last one whose window ended before the stopped window began
    _versions: dict[tuple[str, str], deque[Intervention]] = field(default_factory=dict)

    def decide(self, d: Detection) -> Intervention | None:
        """Feed one detection; return an intervention to store and publish, or None."""
        key = (d.use_case, d.asset)
        if d.stopped:
            self._streak[key] = 0
            return self._stopped(d)
        found = self._decide(d, key)
        if found is not None:
            self._versions.setdefault(key, deque(maxlen=_KEEP_VERSIONS)).append(found)
        return found

    def _decide(self, d: Detection, key: tuple[str, str]) -> Intervention | None:
        if not d.anomalous:
            self._streak[key] = 0
            return None
        self._streak[key] = self._streak.get(key, 0) + 1
        uc = self.spec.use_case(d.use_case)
        if self._streak[key] < uc.persistence:
            return None
        now = self.clock.now()
        current = self.lookup.open_intervention_for(d.use_case, d.asset)
        if current is not None and current.corrective:
            return None  # the asset stopped: the evidence stays the windows that raised it
        if current is not None:
            # score, threshold and model travel together: a new model version may move the
            # threshold, and a score is only meaningful against its own model's threshold.
            # Only the evidence moves; the lifecycle (state, owner, history) is the people's
            # and the escalation service's: the store keeps it when it saves this update.
            return replace(current, score=d.score, threshold=d.threshold, why=d.why,
                           detections=current.detections + 1, window_end=d.window_end,
                           updated_at=now, model=d.model, model_version=d.model_version)
        return self._new(uc, d, now)

    def _stopped(self, d: Detection) -> Intervention | None:
        """A stopped window: the open intervention's corrective version, once (module doc)."""
        current = self.lookup.open_intervention_for(d.use_case, d.asset)
        if current is None or current.corrective:
            return None
        site, _area, line, _asset = self.spec.asset(d.asset)
        stops = planned_stops(line.calendar, site.timezone, d.window_end - _STOP_LOOKBACK,
                              d.window_end + timedelta(microseconds=1))
        if any(s.start <= d.window_end < s.end for s in stops):
            return None  # stopped for a planned stop (perhaps to do the action): no failure
        uc = self.spec.use_case(d.use_case)
        local = d.window_end.astimezone(ZoneInfo(site.timezone))
        text = corrective_action(current, use_case=uc.name,
                                 stopped=f"{local:%a %d %b %H:%M} {local.tzname()}")
        # windows that overlap the stopped one hold the stop's transient (speed falling to
        # zero): the evidence goes back to the last window that ended before it began
        began = d.window_end - timedelta(seconds=uc.window)
        mine = [v for v in self._versions.get((d.use_case, d.asset), ()) if v.id == current.id]
        before = next((v for v in reversed(mine)
                       if v.window_end is not None and v.window_end < began),
                      mine[0] if mine else current)  # else the raising windows
        return replace(current, action=text, deadline=d.window_end, deadline_label="now",
                       stopped_at=d.window_end, updated_at=self.clock.now(),
                       score=before.score, threshold=before.threshold, why=before.why,
                       detections=before.detections, window_end=before.window_end,
                       model=before.model, model_version=before.model_version)

    def _new(self, uc: UseCase, d: Detection, now: datetime) -> Intervention:
        site, area, line, asset = self.spec.asset(d.asset)
        predicted = d.window_end + timedelta(seconds=uc.horizon)
        earliest = d.window_end + timedelta(seconds=uc.earliest_failure_s)
        stop = next_planned_stop(line.calendar, site.timezone, d.window_end, earliest)
        if stop is not None:
            label = stop_label(stop, site.timezone)
            deadline = stop.start
            action = render_action(uc.action, asset=asset.name, asset_id=asset.id,
                                   deadline=label, line=line.name, site=site.name)
        else:
            label, deadline = "now", d.window_end
            later = next_planned_stop(line.calendar, site.timezone, d.window_end,
                                      d.window_end + NEXT_STOP_REACH)
            todo = render_action(uc.action, asset=asset.name, asset_id=asset.id,
                                 deadline="earliest opportunity", line=line.name,
                                 site=site.name)
            before = ("Failure predicted before the next planned stop "
                      f"({stop_label(later, site.timezone, sep=', ')})" if later is not None
                      else "Failure predicted and no planned stop in the line's calendar")
            action = f"{before}: request an unplanned stop to {todo[:1].lower()}{todo[1:]}"
        rid = _intervention_id(uc.id, asset.id, d.window_end)
        # no planned stop before the predicted failure: nobody can wait for one -> critical
        priority = Priority.CRITICAL if stop is None else Priority(uc.priority)
        raised = TransitionRecord(None, InterventionState.NEW, SYSTEM, now,
                                  f"raised for {uc.owner_role} ({priority.value}): score "
                                  f"{eng(d.score)} above threshold {eng(d.threshold)} in "
                                  f"{uc.persistence} window(s)")
        return Intervention(
            id=rid, use_case=uc.id, enterprise=self.spec.enterprise.id, site=site.id,
            area=area.id, line=line.id, asset=asset.id, asset_name=asset.name, action=action,
            owner_role=uc.owner_role, deadline=deadline, deadline_label=label,
            predicted_failure=predicted, failure_earliest=earliest,
            detected_at=d.window_end, score=d.score,
            threshold=d.threshold, model=d.model, model_version=d.model_version, why=d.why,
            state=InterventionState.NEW, detections=1, created_at=now, updated_at=now,
            priority=priority, history=(raised,),
            dedup_key=dedup_key(uc.id, asset.id, d.window_end),
            # the first confirming window ended (persistence - 1) hops before this one
            window_start=d.window_end - timedelta(seconds=uc.window
                                                  + uc.hop * (uc.persistence - 1)),
            window_end=d.window_end,
        )


def _intervention_id(use_case: str, asset: str, when: datetime) -> str:
    """Stable id: the same first detection always yields the same id (idempotent storage)."""
    instant = when.astimezone(UTC).isoformat()  # one instant, one id, whatever its offset
    digest = hashlib.sha256(f"{use_case}|{asset}|{instant}".encode()).hexdigest()
    return f"iv-{digest[:16]}"


def stop_label(stop: PlannedStop, timezone: str, *, sep: str = " (") -> str:
    """``Early-shift changeover stop (Tue 24 Nov 05:30 CET)``: the stop in the site's zone.

    ``sep=", "`` gives ``Early-shift changeover stop, Tue 24 Nov 05:30 CET`` (for a text that
    is in parentheses already).

    >>> from andon.clock import utc
    >>> stop = PlannedStop("Changeover", utc(2026, 11, 24, 4, 30), utc(2026, 11, 24, 5, 30))
    >>> stop_label(stop, "Europe/Brussels"), stop_label(stop, "UTC", sep=", ")
    ('Changeover (Tue 24 Nov 05:30 CET)', 'Changeover, Tue 24 Nov 04:30 UTC')
    """
    local = stop.start.astimezone(ZoneInfo(timezone))
    when = f"{local:%a %d %b %H:%M} {local.tzname()}"
    return f"{stop.name}{sep}{when}" + (")" if sep == " (" else "")
