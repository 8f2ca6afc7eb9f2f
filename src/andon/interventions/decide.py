"""From scores to interventions: persistence, dedup, deadline, action text.

The ``Decider`` is pure: it is fed one ``Detection`` per scored window and answers with the
intervention to create or update (or nothing). It needs a way to find the open
intervention of an asset (``OpenLookup``), which the runtime backs with the store.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from andon.interventions.lifecycle import InterventionState, Priority, TransitionRecord
from andon.interventions.record import SYSTEM, Contribution, Intervention, dedup_key, render_action
from andon.spec.calendar import next_planned_stop

if TYPE_CHECKING:
    from andon.clock import Clock
    from andon.spec.model import PlantSpec, UseCase

__all__ = ["Decider", "Detection", "OpenLookup"]


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

    @property
    def anomalous(self) -> bool:
        """Score above the model's threshold."""
        return self.score > self.threshold


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

    def decide(self, d: Detection) -> Intervention | None:
        """Feed one detection; return an intervention to store and publish, or None."""
        key = (d.use_case, d.asset)
        if not d.anomalous:
            self._streak[key] = 0
            return None
        self._streak[key] = self._streak.get(key, 0) + 1
        uc = self.spec.use_case(d.use_case)
        if self._streak[key] < uc.persistence:
            return None
        now = self.clock.now()
        current = self.lookup.open_intervention_for(d.use_case, d.asset)
        if current is not None:
            # score, threshold and model travel together: a new model version may move the
            # threshold, and a score is only meaningful against its own model's threshold.
            # Only the evidence moves; the lifecycle (state, owner, history) is the people's
            # and the escalation service's: the store keeps it when it saves this update.
            return replace(current, score=d.score, threshold=d.threshold, why=d.why,
                           detections=current.detections + 1, window_end=d.window_end,
                           updated_at=now, model=d.model, model_version=d.model_version)
        return self._new(uc, d, now)

    def _new(self, uc: UseCase, d: Detection, now: datetime) -> Intervention:
        site, area, line, asset = self.spec.asset(d.asset)
        predicted = d.window_end + timedelta(seconds=uc.horizon)
        stop = next_planned_stop(line.calendar, site.timezone, d.window_end, predicted)
        zone = ZoneInfo(site.timezone)
        if stop is not None:
            local = stop.start.astimezone(zone)
            label = f"{stop.name} ({local:%a %d %b %H:%M} {local.tzname()})"
            deadline = stop.start
        else:
            label, deadline = "now", d.window_end
        action = render_action(
            uc.action, asset=asset.name, asset_id=asset.id,
            deadline=label if stop is not None else "earliest opportunity (now)",
            line=line.name, site=site.name,
        )
        rid = _intervention_id(uc.id, asset.id, d.window_end)
        # no planned stop before the predicted failure: nobody can wait for one -> critical
        priority = Priority.CRITICAL if stop is None else Priority(uc.priority)
        raised = TransitionRecord(None, InterventionState.NEW, SYSTEM, now,
                                  f"raised for {uc.owner_role} ({priority.value}): score "
                                  f"{d.score:.3g} above threshold {d.threshold:.3g} in "
                                  f"{uc.persistence} window(s)")
        return Intervention(
            id=rid, use_case=uc.id, enterprise=self.spec.enterprise.id, site=site.id,
            area=area.id, line=line.id, asset=asset.id, asset_name=asset.name, action=action,
            owner_role=uc.owner_role, deadline=deadline, deadline_label=label,
            predicted_failure=predicted, detected_at=d.window_end, score=d.score,
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
