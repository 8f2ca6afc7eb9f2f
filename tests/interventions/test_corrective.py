"""A stopped asset: the open intervention turns corrective, its evidence stays the raising windows.

The Decider (pure, manual clock, dict inbox), the running verdict of a window
(``andon.interventions.condition``), the central merge, the store (SQLite and PostgreSQL)
and the wire form.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from andon.clock import ManualClock, utc
from andon.features import feature_names, use_case_tags
from andon.interventions import Detection
from andon.interventions.condition import Running
from andon.interventions.record import merge_intervention
from andon.interventions.wire import intervention_document, intervention_from_document
from andon.testing.factories import make_intervention
from interventions.test_decider import HOP, Rig, detection, why

if TYPE_CHECKING:
    from andon.interventions.record import Intervention
    from andon.spec.model import PlantSpec
    from andon.store import SqlStore

#: Monday 26 Oct 2026 10:00 UTC: Ghent's next stop is Tuesday 05:30 CET (04:30 UTC)
T0 = utc(2026, 10, 26, 10, 0)


def stopped(when: object, score: float = 900.0) -> Detection:
    """A window in which the pump stood still: post-failure values, a huge score."""
    d = detection(when, score, feature="speed.mean")  # type: ignore[arg-type]
    return replace(d, why=why("speed.mean", 0.0), stopped=True)


def raised(spec: PlantSpec) -> tuple[Rig, Intervention]:
    rig = Rig(spec, clock=ManualClock(T0))
    iv = rig.inbox.store(rig.raised(T0))
    return rig, iv


def test_a_stop_outside_planned_downtime_turns_the_open_intervention_corrective(
    demo_spec: PlantSpec,
) -> None:
    rig, iv = raised(demo_spec)
    at = T0 + 5 * HOP
    corrective = rig.decider.decide(stopped(at))
    assert corrective is not None
    assert corrective.corrective
    assert corrective.stopped_at == at
    assert corrective.action.startswith(
        "Corrective action: Pump P-101 stopped by Mon 26 Oct 11:50 CET outside any planned "
        "stop, after this warning of pump bearing wear. Find and repair the fault")
    assert corrective.action.endswith(f"(the warning asked to: {iv.action}).")
    assert (corrective.deadline, corrective.deadline_label) == (at, "now")
    # the evidence is the raising windows', never the stopped window's
    assert (corrective.why, corrective.score, corrective.detections, corrective.window_end) == (
        iv.why, iv.score, iv.detections, iv.window_end)
    assert corrective.history == iv.history  # same record, same lifecycle: a new version
    assert corrective.id == iv.id
    rig.inbox.store(corrective)
    # once corrective: further stopped windows and anomalous windows change nothing
    assert rig.decider.decide(stopped(at + HOP)) is None
    assert [rig.feed(at + k * HOP, 50.0) for k in range(2, 6)] == [None] * 4


def test_windows_overlapping_the_stop_are_dropped_from_the_evidence(demo_spec: PlantSpec) -> None:
    """Windows of 30 min every 10 min: the two before the stopped one hold its transient."""
    rig, _raised = raised(demo_spec)
    kept = rig.inbox.store(rig.feed(T0 + 3 * HOP, 6.0))  # ends 10:30: all running
    for k in (4, 5, 6):  # end 10:40 .. 11:00: the pump stops at 10:35, speed noise soars
        rig.inbox.store(replace(rig.decider.decide(replace(
            detection(T0 + k * HOP, 400.0), why=why("speed.noise", 333.0))), updated_at=T0))
    corrective = rig.decider.decide(stopped(T0 + 7 * HOP))  # 10:40 .. 11:10: at rest
    assert corrective is not None
    assert (corrective.why, corrective.score, corrective.window_end, corrective.detections) == (
        kept.why, kept.score, kept.window_end, kept.detections)
    assert all(c.feature != "speed.noise" for c in corrective.why)


def test_a_stop_during_a_planned_stop_is_no_failure(demo_spec: PlantSpec) -> None:
    """Tuesday 04:40 UTC is inside the early-shift changeover (04:30 to 05:30 UTC)."""
    rig, _iv = raised(demo_spec)
    assert rig.decider.decide(stopped(utc(2026, 10, 27, 4, 40))) is None


def test_a_stopped_window_never_raises_nor_counts_toward_persistence(
    demo_spec: PlantSpec,
) -> None:
    rig = Rig(demo_spec, clock=ManualClock(T0))
    assert rig.decider.decide(stopped(T0)) is None
    # two anomalous, a stop, two anomalous: the streak restarted, nothing raised
    assert rig.feed(T0 + HOP, 5.0) is None
    assert rig.feed(T0 + 2 * HOP, 5.0) is None
    assert rig.decider.decide(stopped(T0 + 3 * HOP)) is None
    assert rig.feed(T0 + 4 * HOP, 5.0) is None
    assert rig.feed(T0 + 5 * HOP, 5.0) is None
    assert rig.feed(T0 + 6 * HOP, 5.0) is not None
    assert stopped(T0).anomalous  # a stopped asset never counts as healthy again


def test_the_running_verdict_reads_the_pumps_motion_tags(demo_spec: PlantSpec) -> None:
    tags = use_case_tags(demo_spec, demo_spec.use_case("pump-bearing"))
    names, _units = feature_names(tags)
    running = Running.of(tags)
    assert sorted(names[i] for i in running.indexes) == ["flow.mean", "motor_current.mean",
                                                          "speed.mean"]
    healthy = {"flow.mean": 210.0, "motor_current.mean": 61.0, "speed.mean": 2950.0}
    vec = [healthy.get(n, 1.0) for n in names]
    assert not running.stopped(vec)
    at_rest = [0.0 if n in healthy else 1.0 for n in names]
    assert running.stopped(at_rest)
    # one motion tag still moving (flow at 30 m³/h): not stopped
    assert not running.stopped([30.0 if n == "flow.mean" else v for n, v in zip(names, at_rest,
                                                                               strict=True)])
    assert not Running.of([t for t in tags if t.quantity == "temperature"]).stopped(vec)


def test_the_central_side_takes_the_corrective_version_and_keeps_its_lifecycle() -> None:
    central = replace(make_intervention(), assignee="ana", detections=9, score=400.0,
                      why=why("speed.noise", 333.0))  # windows overlapping the stop came in
    stop = central.detected_at + timedelta(hours=2)
    before = make_intervention()  # the edge's evidence from before the stop
    edge = replace(before, action="Corrective action: ...", deadline=stop,
                   deadline_label="now", stopped_at=stop)
    merged = merge_intervention(central, edge)
    assert (merged.action, merged.deadline, merged.stopped_at) == (
        "Corrective action: ...", stop, stop)
    assert (merged.why, merged.score, merged.detections) == (before.why, before.score,
                                                             before.detections)
    assert (merged.assignee, merged.history) == ("ana", central.history)
    # after that, no edge version moves the evidence or the action
    later = replace(edge, action="other", stopped_at=None, detections=99, score=1.0)
    assert merge_intervention(merged, later) == merged


def test_the_wire_form_carries_the_band_and_the_stop() -> None:
    iv = make_intervention()
    iv = replace(iv, failure_earliest=iv.detected_at + timedelta(hours=3),
                 stopped_at=iv.detected_at + timedelta(hours=1))
    doc = intervention_document(iv)
    assert doc["action"]["failure_earliest"] == "2026-03-02T09:55:00Z"
    assert doc["action"]["corrective"] is True
    assert doc["action"]["stopped_at"] == "2026-03-02T07:55:00Z"
    back = intervention_from_document(doc)
    assert (back.failure_window, back.stopped_at) == (iv.failure_window, iv.stopped_at)
    # a document without them (an older edge) reads as no band and no stop
    del doc["action"]["failure_earliest"], doc["action"]["corrective"], doc["action"]["stopped_at"]
    old = intervention_from_document(doc)
    assert (old.failure_earliest, old.stopped_at, old.corrective) == (None, None, False)


def test_the_store_keeps_the_band_and_the_corrective_version(any_store: SqlStore) -> None:
    store = any_store
    iv = make_intervention()
    iv = replace(iv, failure_earliest=iv.detected_at + timedelta(hours=3))
    store.save_intervention(iv)
    assert store.get_intervention(iv.id).failure_earliest == iv.failure_earliest
    stop = iv.detected_at + timedelta(hours=1)
    store.save_intervention(replace(iv, action="Corrective action: x", deadline=stop,
                                    deadline_label="now", stopped_at=stop))
    got = store.get_intervention(iv.id)
    assert (got.action, got.deadline, got.deadline_label, got.stopped_at) == (
        "Corrective action: x", stop, "now", stop)
    assert got.corrective
    assert got.failure_earliest == iv.failure_earliest
    assert store.open_intervention_for(iv.use_case, iv.asset) == got
