"""A rollout's gates on a manual clock, from shadow and live records in a real store.

pump-bearing (horizon 24 h) on cooling-water (p-101, p-102). Production is v3; v4 is rolled
out. Every figure below is counted by hand from the scripted history.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from andon.app import (
    Actor,
    Context,
    PlantRef,
    advance_rollout,
    rollout_back,
    rollout_status,
    start_rollout,
    track_record,
)
from andon.audit import EventKind
from andon.clock import ManualClock, utc
from andon.errors import Forbidden, GateNotMet, RolloutError
from andon.feedback import Feedback, FeedbackKind, Outcome, Via
from andon.feedback.workorders import WorkOrder, WorkType
from andon.interventions.record import Intervention, OutcomeLabel
from andon.registry import Stage as ModelStage
from andon.rollout import Stage
from andon.testing.factories import make_intervention, make_model

if TYPE_CHECKING:
    from andon.spec import PlantSpec
    from andon.store import SqlStore

T = utc(2026, 3, 2)  # Monday 00:00 UTC (01:00 in Ghent)
H = timedelta(hours=1)
D = timedelta(days=1)
ENGINEER = Actor("dana", "reliability_engineer", "engineer", Via.CLI)
OPERATOR = Actor("ana", "operator", "operator", Via.API)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T)


@pytest.fixture
def ctx(store: SqlStore, demo_spec: PlantSpec, clock: ManualClock) -> Context:
    store.register_model(make_model(version=3))
    store.set_model_stage("pump-bearing", 3, ModelStage.PRODUCTION)
    store.register_model(make_model(version=4))
    return Context(store, clock, PlantRef(demo_spec))


def iv(iid: str, asset: str, at: object, version: str) -> Intervention:
    return replace(make_intervention(iid, asset=asset, created_at=at),  # type: ignore[arg-type]
                   model_version=version, asset_name=asset)


def fail(store: SqlStore, wo: str, asset: str, at: object) -> None:
    store.upsert_work_orders([WorkOrder(wo, asset, at, WorkType.CORRECTIVE,  # type: ignore[arg-type]
                                        failure_confirmed=True)], T)


def shadow_week(store: SqlStore) -> None:
    """v4 in shadow, v3 live, on cooling-water, T .. T+8d."""
    store.save_shadow_intervention(iv("s1", "p-101", T + D, "4"))  # WO-1 10 h later: right
    fail(store, "WO-1", "p-101", T + D + 10 * H)
    store.save_shadow_intervention(iv("s2", "p-101", T + 2 * D, "4"))  # nothing follows: wrong
    store.save_shadow_intervention(iv("s3", "p-102", T + 3 * D, "4"))  # production confirms
    store.save_intervention(iv("l1", "p-102", T + 3 * D + H, "3"))
    store.record_feedback(Feedback("l1", FeedbackKind.ACTED, "", "ana", T + 3 * D + 2 * H,
                                   "api"))
    store.record_outcome(Outcome("l1", OutcomeLabel.FAULT_CONFIRMED, "", "ana",
                                 T + 3 * D + 5 * H, "api"))
    fail(store, "WO-2", "p-102", T + 5 * D)  # nobody warned: both v3 and v4 missed it


def test_a_shadow_stage_is_refused_until_its_evidence_is_there(
        ctx: Context, clock: ManualClock, store: SqlStore) -> None:
    start_rollout(ctx, ENGINEER, "pump-bearing", 4, pilot="cooling-water",
                  reason="v4 beats v3 on replay")
    [status] = rollout_status(ctx, "pump-bearing")
    assert (status.production, status.rollout.stage) == ("3", Stage.SHADOW_PILOT)  # type: ignore[union-attr]
    assert status.missing == [
        "0.0 d in the stage < 7.0 d (min)", "0 labelled events < 3 (min)",
        "false alarms per asset-week: no time watched yet (2 max)",
        "precision -: no confirmed or false alarm yet (0.50 min)"]
    with pytest.raises(GateNotMet, match=r"the gate of shadow_pilot is not met: 0\.0 d in the "
                                         r"stage < 7\.0 d \(min\); 0 labelled events"):
        advance_rollout(ctx, ENGINEER, "pump-bearing", reason="eager", shift="early")

    shadow_week(store)
    clock.set(T + 8 * D)
    [status] = rollout_status(ctx, "pump-bearing")
    rec = status.record
    assert rec is not None
    assert (rec.mode, rec.raised, rec.confirmed, rec.false_alarms, rec.unresolved) == (
        "shadow", 3, 2, 1, 0)
    assert (rec.detected, rec.missed, rec.labelled) == (1, 1, 4)
    assert sorted(rec.lead_times) == [5 * H, 10 * H]  # s3: to production's finding at +3d5h
    assert rec.false_alarms_per_asset_week == pytest.approx(1 / (2 * 8 / 7))
    assert status.gate_met, status.missing
    with pytest.raises(RolloutError, match="name the shift"):
        advance_rollout(ctx, ENGINEER, "pump-bearing", reason="gate met")
    with pytest.raises(RolloutError, match="no shift 'dawn'; its shifts: early, late, night"):
        advance_rollout(ctx, ENGINEER, "pump-bearing", reason="gate met", shift="dawn")
    moved = advance_rollout(ctx, ENGINEER, "pump-bearing", reason="gate met", shift="early")
    assert (moved.record.stage, moved.record.shift) == (Stage.LIVE_PILOT_SHIFT, "early")
    assert all(c.ok for c in moved.record.current.checks)  # the figures kept on the step
    [event] = moved.events
    assert (event.kind, event.by) == (EventKind.ROLLOUT, "dana")
    assert "shadow_pilot -> live_pilot_shift: gate met [8.0 d in the stage" in event.detail


def test_the_shadow_record_sits_beside_productions_for_the_same_window(
        ctx: Context, clock: ManualClock, store: SqlStore) -> None:
    start_rollout(ctx, ENGINEER, "pump-bearing", 4, pilot="cooling-water", reason="try")
    shadow_week(store)
    clock.set(T + 8 * D)
    records = {(r.version, r.mode): r for r in track_record(
        ctx, start=T, end=T + 8 * D, model="pump-bearing", lines=["cooling-water"])}
    assert set(records) == {("3", "live"), ("4", "shadow")}
    live = records["3", "live"]
    assert (live.raised, live.confirmed, live.detected, live.missed) == (1, 1, 0, 2)
    shadow = records["4", "shadow"]
    assert (shadow.raised, shadow.detected, shadow.missed) == (3, 1, 1)
    # the shadow version's would-be interventions never reached the live table
    assert [i.id for i in store.list_interventions(open_only=False)] == ["l1"]


def test_an_override_rate_above_the_limit_keeps_a_live_shift_from_going_further(
        ctx: Context, clock: ManualClock, store: SqlStore) -> None:
    start_rollout(ctx, ENGINEER, "pump-bearing", 4, pilot="cooling-water", reason="try")
    shadow_week(store)
    clock.set(T + 8 * D)
    advance_rollout(ctx, ENGINEER, "pump-bearing", reason="gate met", shift="early")
    # live in the early shift: three interventions by v4, operators override two
    for n, asset in enumerate(["p-101", "p-102", "p-101"]):
        store.save_intervention(iv(f"v{n}", asset, T + 8 * D + (6 + n) * H, "4"))
    for n in (0, 1):
        store.record_feedback(Feedback(f"v{n}", FeedbackKind.DISMISSED, "sounds healthy",
                                       "ana", T + 8 * D + 10 * H, "api"))
    clock.set(T + 8 * D + 9 * H)
    with pytest.raises(GateNotMet, match=r"override rate 0\.67 > 0\.5 \(max\)"):
        advance_rollout(ctx, ENGINEER, "pump-bearing", reason="going well?")
    # one command back to shadow; the history keeps every move
    back = rollout_back(ctx, ENGINEER, "pump-bearing", reason="operators overrode it").record
    assert (back.stage, back.live_lines, back.shadow_lines) == (
        Stage.SHADOW_PILOT, (), ("cooling-water",))
    assert [s.stage for s in store.rollout("pump-bearing").steps] == [  # type: ignore[union-attr]
        Stage.SHADOW_PILOT, Stage.LIVE_PILOT_SHIFT, Stage.SHADOW_PILOT]


def test_who_may_start_what_and_with_which_version(ctx: Context, store: SqlStore) -> None:
    with pytest.raises(Forbidden):
        start_rollout(ctx, OPERATOR, "pump-bearing", 4, pilot="cooling-water", reason="x")
    for version, pilot, named in ((3, "cooling-water", "production: only a signed candidate"),
                                  (9, "cooling-water", "v9 is not registered"),
                                  (4, "bottling-1", "watches nothing on line 'bottling-1'")):
        with pytest.raises(RolloutError, match=named):
            start_rollout(ctx, ENGINEER, "pump-bearing", version, pilot=pilot, reason="x")
    start_rollout(ctx, ENGINEER, "pump-bearing", 4, pilot="cooling-water", reason="x")
    with pytest.raises(Exception, match="already has a rollout in stage shadow_pilot"):
        start_rollout(ctx, ENGINEER, "pump-bearing", 4, pilot="process-water", reason="x")
    assert store.events(kind=EventKind.ROLLOUT)[0].detail == (
        "started: shadow on cooling-water: x")
