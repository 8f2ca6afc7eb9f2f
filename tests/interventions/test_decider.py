"""The Decider: persistence, one open intervention per asset, deadline, action, owner, id.

And the feedback rules (acted / deferred / dismissed with a reason). Time is a ManualClock; the
open-intervention lookup is a dict, as the store would be.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from andon.clock import ManualClock, utc
from andon.errors import FeedbackError
from andon.feedback import Feedback, FeedbackKind, apply_feedback
from andon.interventions import Contribution, Decider, Detection, Intervention, InterventionState

if TYPE_CHECKING:
    from andon.spec.model import PlantSpec

HOP = timedelta(minutes=10)
#: Saturday 24 Oct 2026, 10:00 UTC: Ghent's Saturday stop (06:00 UTC) is over; the next stop
#: is Sunday 05:30 local, the first morning of winter time (04:30 UTC).
T0 = utc(2026, 10, 24, 10, 0)
CEST = timezone(timedelta(hours=2), "CEST")
PUMP_ACTION = "Inspect and re-grease the drive-end bearing on Pump P-101 at the "


@dataclass
class Inbox:
    """``OpenLookup`` backed by a dict: the latest intervention per (use case, asset)."""

    ivs: dict[tuple[str, str], Intervention] = field(default_factory=dict)

    def open_intervention_for(self, use_case: str, asset: str) -> Intervention | None:
        iv = self.ivs.get((use_case, asset))
        return iv if iv is not None and iv.is_open else None

    def store(self, iv: Intervention | None) -> Intervention:
        assert iv is not None
        self.ivs[(iv.use_case, iv.asset)] = iv
        return iv


def why(feature: str = "vibration.mean", value: float = 7.9) -> tuple[Contribution, ...]:
    return (Contribution(feature, value, 2.1, 0.3, 0.61, "mm/s"),
            Contribution("bearing_temp.mean", 58.0, 51.0, 2.0, 0.2, "degC"))


def detection(when: datetime, score: float, *, asset: str = "p-101",
              use_case: str = "pump-bearing", threshold: float = 1.0,
              version: str = "v1", feature: str = "vibration.mean") -> Detection:
    return Detection(use_case=use_case, asset=asset, window_end=when, score=score,
                     threshold=threshold, model=use_case, model_version=version,
                     why=why(feature, score))


@dataclass
class Rig:
    """A Decider on the demo plant with a manual clock and a dict inbox."""

    spec: PlantSpec
    clock: ManualClock = field(default_factory=lambda: ManualClock(T0))
    inbox: Inbox = field(default_factory=Inbox)
    decider: Decider = field(init=False)

    def __post_init__(self) -> None:
        self.decider = Decider(self.spec, self.clock, self.inbox)

    def feed(self, when: datetime, score: float, *, asset: str = "p-101",
             use_case: str = "pump-bearing", threshold: float = 1.0,
             version: str = "v1") -> Intervention | None:
        """One scored window; the wall clock runs a minute behind event time."""
        self.clock.set(max(self.clock.now(), when + timedelta(minutes=1)))
        return self.decider.decide(detection(when, score, asset=asset, use_case=use_case,
                                             threshold=threshold, version=version))

    def streak(self, start: datetime, scores: list[float], *, asset: str = "p-101",
               use_case: str = "pump-bearing") -> list[Intervention | None]:
        return [self.feed(start + i * HOP, s, asset=asset, use_case=use_case)
                for i, s in enumerate(scores)]

    def raised(self, start: datetime, *, asset: str = "p-101",
               use_case: str = "pump-bearing") -> Intervention:
        """Feed exactly ``persistence`` anomalous windows; return the intervention raised."""
        n = self.spec.use_case(use_case).persistence
        *quiet, iv = self.streak(start, [5.0] * n, asset=asset, use_case=use_case)
        assert quiet == [None] * (n - 1)
        assert iv is not None
        return iv


def with_use_case(spec: PlantSpec, use_case: str, **changes: object) -> PlantSpec:
    ucs = [uc.model_copy(update=changes) if uc.id == use_case else uc for uc in spec.use_cases]
    return spec.model_copy(update={"use_cases": ucs})


@pytest.fixture
def demo_spec(demo_spec: PlantSpec) -> PlantSpec:
    """The demo plant without pump-bearing's failure band: these tests pin the stop chosen
    before the predicted failure (the band: tests/interventions/test_failure_band.py)."""
    return with_use_case(demo_spec, "pump-bearing", horizon_min=None)


@pytest.fixture
def rig(demo_spec: PlantSpec) -> Rig:
    return Rig(demo_spec)


# -- persistence ------------------------------------------------------------------------------
def test_windows_at_or_below_threshold_never_raise(rig: Rig) -> None:
    assert rig.streak(T0, [0.2, 0.9, 1.0, 0.99] * 10) == [None] * 40


def test_n_minus_one_anomalous_windows_do_not_raise_the_nth_does(rig: Rig) -> None:
    assert rig.spec.use_case("pump-bearing").persistence == 3
    first, second, third = rig.streak(T0, [5.0, 5.0, 5.0])
    assert (first, second) == (None, None)
    assert third is not None
    assert third.detections == 1
    assert third.detected_at == T0 + 2 * HOP


def test_persistence_comes_from_the_use_case(demo_spec: PlantSpec) -> None:
    rig = Rig(with_use_case(demo_spec, "pump-bearing", persistence=1))
    assert rig.feed(T0, 5.0) is not None


def test_a_normal_window_resets_the_streak(rig: Rig) -> None:
    results = rig.streak(T0, [5.0, 5.0, 0.3, 5.0, 5.0, 5.0])
    assert results[:5] == [None] * 5
    assert results[5] is not None


def test_streaks_are_counted_per_asset(rig: Rig) -> None:
    assert rig.feed(T0, 5.0, asset="p-101") is None
    assert rig.feed(T0, 5.0, asset="p-102") is None
    assert rig.feed(T0 + HOP, 5.0, asset="p-101") is None
    assert rig.feed(T0 + HOP, 0.1, asset="p-102") is None  # p-102 recovers
    assert rig.feed(T0 + 2 * HOP, 5.0, asset="p-102") is None
    iv = rig.feed(T0 + 2 * HOP, 5.0, asset="p-101")
    assert iv is not None
    assert iv.asset == "p-101"


# -- one open intervention per asset ---------------------------------------------------------
def test_further_detections_update_the_open_intervention(rig: Rig) -> None:
    first = rig.inbox.store(rig.raised(T0))
    rig.clock.advance(seconds=3600)
    later = T0 + 3 * HOP
    update = rig.inbox.store(rig.decider.decide(detection(later, 9.5,
                                                          feature="bearing_temp.mean")))
    assert update.id == first.id
    assert update.detections == 2
    assert update.score == 9.5
    assert update.why == why("bearing_temp.mean", 9.5)
    assert update.updated_at == rig.clock.now()
    assert update.created_at == first.created_at
    # What to do and by when were set by the confirming detection and stay put.
    assert (update.action, update.deadline, update.deadline_label, update.predicted_failure,
            update.detected_at) == (first.action, first.deadline, first.deadline_label,
                                    first.predicted_failure, first.detected_at)
    again = rig.inbox.store(rig.feed(later + HOP, 7.0))
    assert (again.id, again.detections, again.score) == (first.id, 3, 7.0)
    assert len(rig.inbox.ivs) == 1


def test_an_update_takes_the_threshold_and_model_version_with_the_score(rig: Rig) -> None:
    """A score means something only against its own model's threshold."""
    rig.inbox.store(rig.raised(T0))
    update = rig.feed(T0 + 3 * HOP, 4.0, threshold=3.5, version="v2")
    assert update is not None
    assert (update.score, update.threshold, update.model_version) == (4.0, 3.5, "v2")


def test_a_deferred_intervention_is_still_updated(rig: Rig) -> None:
    iv = rig.inbox.store(rig.raised(T0))
    rig.inbox.store(apply_feedback(iv, feedback(iv, FeedbackKind.DEFERRED, "spares Monday")))
    update = rig.feed(T0 + 3 * HOP, 6.0)
    assert update is not None
    assert (update.id, update.state, update.detections) == (iv.id, InterventionState.DEFERRED, 2)


def test_after_a_intervention_is_closed_a_new_one_is_raised(rig: Rig) -> None:
    """Closed items take no updates: the next confirmed detection opens a new one."""
    iv = rig.inbox.store(rig.raised(T0))
    rig.inbox.store(apply_feedback(iv, feedback(iv, FeedbackKind.ACTED)))
    fresh = rig.feed(T0 + 3 * HOP, 6.0)
    assert fresh is not None
    assert fresh.id != iv.id
    assert (fresh.state, fresh.detections) == (InterventionState.NEW, 1)


# -- deadline, action, owner -------------------------------------------------------------------
def test_deadline_is_the_next_planned_stop_before_the_predicted_failure(rig: Rig) -> None:
    iv = rig.raised(T0)
    assert iv.predicted_failure == T0 + 2 * HOP + timedelta(hours=24)
    assert iv.deadline == datetime(2026, 10, 25, 4, 30, tzinfo=UTC)
    assert iv.deadline_label == "Early-shift changeover stop (Sun 25 Oct 05:30 CET)"
    assert not iv.deadline_is_now
    assert iv.action == PUMP_ACTION + "Early-shift changeover stop (Sun 25 Oct 05:30 CET)"


def test_deadline_label_shows_summer_time_in_summer(rig: Rig) -> None:
    """Wednesday 1 July 2026, 12:00 UTC: next stop Thursday 05:30 CEST (03:30 UTC)."""
    start = utc(2026, 7, 1, 12)
    iv = rig.raised(start)
    assert iv.deadline == utc(2026, 7, 2, 3, 30)
    assert iv.deadline_label == "Early-shift changeover stop (Thu 02 Jul 05:30 CEST)"


def test_the_weekly_window_wins_when_it_comes_first(rig: Rig) -> None:
    """Saturday 24 Oct, 05:30 UTC: the 08:00 CEST maintenance window (06:00 UTC) is next."""
    start = utc(2026, 10, 24, 5, 0)
    iv = rig.raised(start)
    assert iv.deadline == utc(2026, 10, 24, 6, 0)
    assert iv.deadline_label == "Weekly maintenance window (Sat 24 Oct 08:00 CEST)"


def test_deadline_is_now_when_no_stop_comes_before_the_horizon(demo_spec: PlantSpec) -> None:
    rig = Rig(with_use_case(demo_spec, "pump-bearing", horizon=3600.0))
    iv = rig.raised(T0)
    detected = T0 + 2 * HOP
    assert iv.deadline == detected
    assert iv.deadline_label == "now"
    assert iv.deadline_is_now
    assert iv.predicted_failure == detected + timedelta(hours=1)
    # T0 is Saturday 10:00 UTC: the next stop is Sunday's early-shift changeover at 05:30 CET
    assert iv.action == ("Failure predicted before the next planned stop (Early-shift "
                         "changeover stop, Sun 25 Oct 05:30 CET): request an unplanned stop to "
                         + PUMP_ACTION[:1].lower() + PUMP_ACTION[1:] + "earliest opportunity")


def test_a_stop_after_the_predicted_failure_is_not_the_deadline(demo_spec: PlantSpec) -> None:
    """Horizon 18h from 10:20 UTC ends at 04:20 UTC, ten minutes before Sunday's stop."""
    rig = Rig(with_use_case(demo_spec, "pump-bearing", horizon=18 * 3600.0))
    iv = rig.raised(T0)
    assert iv.deadline_label == "now"


def test_owner_action_and_place_come_from_the_use_case_and_the_plant(rig: Rig) -> None:
    pump = rig.raised(T0)
    motor = rig.raised(T0, asset="m-103", use_case="motor-health")
    assert pump.owner_role == "maintenance_planner"
    assert motor.owner_role == "reliability_engineer"
    assert motor.action == ("Check bearing and winding of Cooling tower fan motor M-103 at the "
                            "Early-shift changeover stop (Sun 25 Oct 05:30 CET)")
    assert (pump.enterprise, pump.site, pump.area, pump.line, pump.asset, pump.asset_name) == (
        "acme", "ghent", "utilities", "cooling-water", "p-101", "Pump P-101")
    assert (pump.use_case, pump.model, pump.model_version, pump.threshold) == (
        "pump-bearing", "pump-bearing", "v1", 1.0)
    assert pump.why == why("vibration.mean", 5.0)
    assert pump.state is InterventionState.NEW


def test_created_at_is_wall_time_detected_at_is_event_time(rig: Rig) -> None:
    iv = rig.raised(T0)
    assert iv.detected_at == T0 + 2 * HOP
    assert iv.created_at == iv.updated_at == rig.clock.now() == T0 + 2 * HOP + timedelta(
        minutes=1)


# -- ids --------------------------------------------------------------------------------------
def test_the_same_detection_always_gets_the_same_id(demo_spec: PlantSpec) -> None:
    a = Rig(demo_spec).raised(T0)
    b = Rig(demo_spec, clock=ManualClock(T0 + timedelta(days=3))).raised(T0)
    assert a.id == b.id
    assert a.id.startswith("iv-")
    assert len(a.id) == len("iv-") + 16


def test_the_id_depends_on_the_instant_not_on_how_its_offset_is_written(
    demo_spec: PlantSpec,
) -> None:
    a = Rig(demo_spec).raised(T0)
    b = Rig(demo_spec).raised(T0.astimezone(CEST))
    assert a.id == b.id
    assert (a.deadline, a.deadline_label) == (b.deadline, b.deadline_label)


def test_different_detections_get_different_ids(demo_spec: PlantSpec) -> None:
    ids = {
        Rig(demo_spec).raised(T0).id,
        Rig(demo_spec).raised(T0 + HOP).id,
        Rig(demo_spec).raised(T0, asset="p-102").id,
    }
    assert len(ids) == 3


# -- feedback ---------------------------------------------------------------------------------
def feedback(iv: Intervention, kind: FeedbackKind, reason: str = "",
             at: datetime = T0 + timedelta(hours=2)) -> Feedback:
    return Feedback(intervention_id=iv.id, kind=kind, reason=reason, by="chris", at=at)


@pytest.fixture
def open_iv(rig: Rig) -> Intervention:
    return rig.raised(T0)


@pytest.mark.parametrize(("kind", "status"), [
    (FeedbackKind.ACTED, InterventionState.DONE),
    (FeedbackKind.DISMISSED, InterventionState.DISMISSED),
])
def test_acted_and_dismissed_close_the_intervention(
    open_iv: Intervention, kind: FeedbackKind, status: InterventionState,
) -> None:
    at = T0 + timedelta(hours=5)
    closed = apply_feedback(open_iv, feedback(open_iv, kind, "bearing was dry", at))
    assert closed.state is status
    assert not closed.is_open
    assert closed.updated_at == at
    moves = closed.history[len(open_iv.history):]
    # acted acknowledges first (the same person, the same instant); dismissed moves directly
    expected = ([InterventionState.ACKNOWLEDGED] if kind is FeedbackKind.ACTED else []) + [status]
    assert [m.to_state for m in moves] == expected
    assert {(m.by, m.at) for m in moves} == {("chris", at)}
    assert moves[-1].reason == "bearing was dry"
    evidence_only = replace(closed, state=open_iv.state, updated_at=open_iv.updated_at,
                            history=open_iv.history, assignee=None)
    assert evidence_only == open_iv


def test_deferred_stays_open_and_can_be_acted_on_later(open_iv: Intervention) -> None:
    deferred = apply_feedback(open_iv, feedback(open_iv, FeedbackKind.DEFERRED, "spares"))
    assert deferred.state is InterventionState.DEFERRED
    assert deferred.is_open
    acted = apply_feedback(deferred, feedback(deferred, FeedbackKind.ACTED))
    assert acted.state is InterventionState.DONE


@pytest.mark.parametrize("reason", ["", "   ", "\n"])
def test_dismissal_without_a_reason_is_refused(open_iv: Intervention, reason: str) -> None:
    with pytest.raises(FeedbackError) as info:
        apply_feedback(open_iv, feedback(open_iv, FeedbackKind.DISMISSED, reason))
    assert str(info.value) == f"dismissing intervention {open_iv.id} needs a reason"


@pytest.mark.parametrize("kind", list(FeedbackKind))
def test_feedback_on_a_closed_intervention_is_refused(
    open_iv: Intervention, kind: FeedbackKind,
) -> None:
    dismissed = apply_feedback(open_iv, feedback(open_iv, FeedbackKind.DISMISSED, "false alarm"))
    with pytest.raises(FeedbackError) as info:
        apply_feedback(dismissed, feedback(dismissed, kind, "again"))
    assert str(info.value) == (
        f"intervention {open_iv.id} is already dismissed; it takes no more feedback")


def test_feedback_for_another_intervention_is_refused(open_iv: Intervention) -> None:
    other = replace(feedback(open_iv, FeedbackKind.ACTED), intervention_id="rec-0000")
    with pytest.raises(FeedbackError) as info:
        apply_feedback(open_iv, other)
    assert str(info.value) == f"feedback for rec-0000 applied to {open_iv.id}"
