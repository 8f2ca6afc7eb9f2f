"""Scripted plant histories with known figures, for tests of the track record on every surface.

``two_weeks(store)`` writes two weeks (from Monday ``START``, 2026-03-02) of the demo plant's
pump-bearing use case (horizon 24 h): interventions, feedback, outcomes and work orders whose
track record is known by hand. On cooling-water (p-101, p-102), version 3:

====================  =====  ==========================================================
figure                value  from
====================  =====  ==========================================================
raised                7      a1..a7
confirmed             4      a1 (WO-1 20 h later), a5 and a6 (WO-2 10 h and 4 h later),
                             a7 (outcome "fault confirmed" 3 h after it was raised)
false alarms          2      a2 (outcome "no fault"), a3 (dismissed)
unresolved            1      a4 (open, no outcome)
detected / missed     2 / 1  WO-1, WO-2 detected; WO-3 missed; WO-4 found in a planned stop
lead times            3, 4, 10, 20 h
====================  =====  ==========================================================

a5 is raised 10 h before WO-2 and a6 4 h before it (two interventions, one failure: both
confirmed, the failure counts once). On process-water (p-301): one false alarm (b1).
The cooling-water line stops daily 05:30-06:30 Europe/Brussels (04:30-05:30 UTC in March).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from andon.clock import utc
from andon.feedback import Feedback, FeedbackKind, Outcome
from andon.feedback.workorders import WorkOrder, WorkType
from andon.interventions.lifecycle import InterventionState, TransitionRecord
from andon.interventions.record import Intervention, OutcomeLabel
from andon.testing.factories import make_intervention

if TYPE_CHECKING:
    from andon.store.base import Store

__all__ = ["END", "START", "close", "fail", "raise_", "two_weeks"]

START = utc(2026, 3, 2)  # a Monday
END = START + timedelta(days=14)
H = timedelta(hours=1)


def raise_(store: Store, iid: str, asset: str, at: datetime, *, version: str = "3",
           line: str = "cooling-water") -> Intervention:
    """Store a new pump-bearing intervention ``iid`` on ``asset`` raised at ``at``."""
    iv = replace(make_intervention(iid, asset=asset, created_at=at), line=line,
                 model_version=version, dedup_key=f"pump-bearing:{asset}:{at.isoformat()}",
                 history=(TransitionRecord(None, InterventionState.NEW, "andon", at,
                                           "raised"),))
    store.save_intervention(iv)
    return iv


def close(store: Store, iid: str, at: datetime, outcome: OutcomeLabel | None = None,
          kind: FeedbackKind = FeedbackKind.ACTED) -> None:
    """Close ``iid`` by feedback at ``at``; tell ``outcome`` an hour later when given."""
    store.record_feedback(Feedback(iid, kind, "" if kind is FeedbackKind.ACTED else "why",
                                   "chris", at, "api"))
    if outcome is not None:
        store.record_outcome(Outcome(iid, outcome, "", "chris", at + H, "api"))


def fail(store: Store, wo: str, asset: str, at: datetime, *,
         kind: WorkType = WorkType.CORRECTIVE, confirmed: bool = True) -> None:
    """Import work order ``wo`` on ``asset`` opened at ``at``."""
    store.upsert_work_orders([WorkOrder(wo, asset, at, kind, failure_confirmed=confirmed)], at)


def two_weeks(store: Store, start: datetime = START) -> None:
    """Write the history of the module's table into ``store``."""
    d = start
    raise_(store, "a1", "p-101", d + 10 * H)  # 20 h before a failure, fixed -> confirmed
    close(store, "a1", d + 12 * H)
    fail(store, "WO-1", "p-101", d + 30 * H)
    raise_(store, "a2", "p-102", d + 2 * 24 * H)  # told "no fault" -> false alarm
    close(store, "a2", d + 2 * 24 * H + 2 * H, OutcomeLabel.NO_FAULT)
    raise_(store, "a3", "p-102", d + 3 * 24 * H)  # dismissed -> false alarm
    close(store, "a3", d + 3 * 24 * H + H, kind=FeedbackKind.DISMISSED)
    raise_(store, "a4", "p-101", d + 5 * 24 * H)  # still open, no outcome -> unresolved
    raise_(store, "a5", "p-102", d + 7 * 24 * H)  # two warn of one failure
    close(store, "a5", d + 7 * 24 * H + H)
    raise_(store, "a6", "p-102", d + 7 * 24 * H + 6 * H)
    fail(store, "WO-2", "p-102", d + 7 * 24 * H + 10 * H)
    fail(store, "WO-3", "p-101", d + 9 * 24 * H)  # nobody warned -> missed
    fail(store, "WO-4", "p-101", d + 11 * 24 * H + 5 * H)  # in the morning stop -> neither
    raise_(store, "a7", "p-102", d + 12 * 24 * H)  # confirmed by its outcome alone, 3 h
    close(store, "a7", d + 12 * 24 * H + 2 * H, OutcomeLabel.FAULT_CONFIRMED)
    fail(store, "PM-1", "p-101", d + 13 * 24 * H, kind=WorkType.PREVENTIVE, confirmed=False)
    raise_(store, "b1", "p-301", d + 4 * 24 * H, line="process-water")  # other line
    close(store, "b1", d + 4 * 24 * H + H, OutcomeLabel.NO_FAULT)
