"""The application layer on its own: each use case checks who acts, applies the rule once,
writes its events and returns them with the changed record, whatever surface calls it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from andon.app import (
    Actor,
    Context,
    PlantRef,
    answer_panel,
    apply_work_order,
    escalate_due,
    give_feedback,
    label_triage,
    move,
    record_outcome,
    replace_spec,
)
from andon.audit import EventKind
from andon.clock import ManualClock
from andon.errors import FeedbackError, Forbidden, LifecycleError, NotFound, SpecErrors
from andon.feedback import Via
from andon.feedback.workorders import WorkOrderChange, WorkOrderStatus
from andon.interventions.escalation import policy_from_spec
from andon.interventions.lifecycle import InterventionState, TransitionRecord
from andon.interventions.triage import TriageItem, TriageReason
from andon.spec.model import Panel
from andon.testing.factories import T0, add_user, make_intervention

if TYPE_CHECKING:
    from andon.spec import PlantSpec
    from andon.store import SqlStore

S = InterventionState
OPERATOR = Actor("ana", "operator", "operator", Via.API)
VIEWER = Actor("gus", "plant_manager", "viewer", Via.WEB)
ENGINEER = Actor("dana", "reliability_engineer", "engineer", Via.CLI)


@pytest.fixture
def ctx(store: SqlStore, demo_spec: PlantSpec) -> Context:
    return Context(store, ManualClock(T0 + timedelta(minutes=5)), PlantRef(demo_spec))


@pytest.fixture
def raised(store: SqlStore) -> str:
    iv = make_intervention("iv-1", created_at=T0)
    store.save_intervention(iv)
    return iv.id


def test_a_move_is_the_record_the_move_and_the_event_it_wrote(ctx: Context, raised: str,
                                                              store: SqlStore) -> None:
    done = move(ctx, OPERATOR, raised, "acknowledged")
    assert (done.record.state, done.record.assignee) == (S.ACKNOWLEDGED, "ana")
    assert (done.move.from_state, done.move.to_state, done.move.by) == (
        S.NEW, S.ACKNOWLEDGED, "ana")
    [event] = done.events
    assert (event.kind, event.subject, event.by, event.detail) == (
        EventKind.TRANSITION, raised, "ana", "new -> acknowledged")
    assert store.events(kind="transition") == [event]


def test_whoever_lacks_the_permission_is_refused_before_anything_is_written(
        ctx: Context, raised: str, store: SqlStore) -> None:
    for attempt in (lambda: move(ctx, VIEWER, raised, "acknowledged"),
                    lambda: give_feedback(ctx, VIEWER, raised, "acted"),
                    lambda: record_outcome(ctx, VIEWER, raised, "no_fault")):
        with pytest.raises(Forbidden, match=r"^gus \(role plant_manager\) may not feedback$"):
            attempt()
    assert store.get_intervention(raised).state is S.NEW
    assert store.events() == []
    assert store.labels() == []


def test_answers_are_labels_with_the_surface_they_came_through(ctx: Context, raised: str,
                                                               store: SqlStore) -> None:
    answered = give_feedback(ctx, OPERATOR, raised, "acted", "regreased")
    assert answered.feedback is not None
    assert (answered.feedback.kind.value, answered.feedback.via) == ("acted", "api")
    found = record_outcome(ctx, Actor("chris", "maintenance_planner", "operator", Via.MQTT),
                           raised, "fault_confirmed", "outer race spalled")
    assert found.label is not None
    assert (found.label.label, found.label.via, found.label.by) == (
        "fault_confirmed", "mqtt", "chris")
    assert [(lb.kind, lb.label, lb.via) for lb in store.labels()] == [
        ("feedback", "acted", "api"), ("outcome", "fault_confirmed", "mqtt")]
    assert [e.kind for e in store.events()] == [EventKind.OUTCOME, EventKind.FEEDBACK]


def test_rules_are_the_domains_one_line_refusals(ctx: Context, raised: str) -> None:
    with pytest.raises(FeedbackError, match="dismissing intervention iv-1 needs a reason"):
        give_feedback(ctx, OPERATOR, raised, "dismissed", "  ")
    with pytest.raises(LifecycleError, match="cannot move intervention from new to done"):
        move(ctx, OPERATOR, raised, "done")
    with pytest.raises(NotFound):
        give_feedback(ctx, OPERATOR, "iv-unknown", "acted")


def test_a_panel_answer_is_the_spec_persons_with_their_roles_permission(
        ctx: Context, raised: str, store: SqlStore) -> None:
    spec = ctx.spec.model_copy(update={"panels": [Panel(id="panel-7", people=["ana", "gus"])]})
    ctx.plant.set(spec)  # type: ignore[union-attr]
    topic = "andon/v1/acme/_andon/feedback/panel-7"
    ok = answer_panel(ctx, topic, json.dumps({"id": raised, "kind": "acted", "by": "ana",
                                              "ref": 1}).encode())
    assert (ok.answer.ok, ok.answer.state, ok.answer.ref) == (True, "done", 1)
    assert [lb.via for lb in store.labels()] == ["mqtt"]
    iv2 = make_intervention("iv-2", asset="p-102", created_at=T0)
    store.save_intervention(iv2)
    refused = answer_panel(ctx, topic, json.dumps({"id": "iv-2", "kind": "acted",
                                                   "by": "gus"}).encode())  # a viewer
    assert not refused.answer.ok
    assert refused.answer.reason == "gus (role plant_manager) may not feedback"
    [event] = refused.events
    assert (event.kind, event.subject) == (EventKind.FEEDBACK_REJECTED, topic)
    assert store.get_intervention("iv-2").state is S.NEW


def test_a_panel_answers_only_for_the_people_it_lists(ctx: Context, store: SqlStore) -> None:
    """The broker authenticates the topic's sender; Andon checks whom it may speak for."""
    spec = ctx.spec.model_copy(update={"panels": [Panel(id="panel-7", people=["ana"])]})
    ctx.plant.set(spec)  # type: ignore[union-attr]
    for i in range(4):
        store.save_intervention(make_intervention(f"iv-{i}", asset="p-101", created_at=T0))

    def send(sender: str, by: str, iv: str) -> str:
        answer = answer_panel(ctx, f"andon/v1/acme/_andon/feedback/{sender}", json.dumps(
            {"id": iv, "kind": "acted", "by": by}).encode()).answer
        return "ok" if answer.ok else answer.reason

    assert send("panel-7", "bram", "iv-0") == (
        "'bram' cannot answer on panel-7's topic: panel 'panel-7' does not list 'bram' "
        "(panels[].people)")
    assert send("hmi-9", "ana", "iv-0") == (
        "'ana' cannot answer on hmi-9's topic: 'hmi-9' is neither 'ana' nor a panel of the "
        "spec (panels:)")
    assert send("bram", "bram", "iv-1") == "ok"  # a person's own credentials
    ana = add_user(store, "ana", access="operator", role="operator")
    store.save_user(replace(ana, disabled=True))
    assert send("panel-7", "ana", "iv-2") == "'ana' is a disabled login"
    assert [store.get_intervention(f"iv-{i}").state for i in range(3)] == [S.NEW, S.DONE, S.NEW]
    assert len(store.events(kind="feedback_rejected")) == 3


def test_a_completed_work_order_closes_the_intervention_with_its_outcome(
        ctx: Context, raised: str, store: SqlStore) -> None:
    cmms = Actor.system("cmms:atlas", Via.CMMS)
    change = WorkOrderChange(raised, "WO-9", WorkOrderStatus.COMPLETE, "bearing replaced",
                             "tech", None, "fault_confirmed")
    done = apply_work_order(ctx, cmms, change)
    assert done.record == "iv-1: done, outcome fault_confirmed"
    iv = store.get_intervention(raised)
    assert (iv.state, iv.outcome.value if iv.outcome else None) == (S.DONE, "fault_confirmed")
    assert [(lb.label, lb.via) for lb in store.labels()] == [("acted", "cmms"),
                                                             ("fault_confirmed", "cmms")]
    assert apply_work_order(ctx, cmms, change).record == (
        "iv-1: nothing to do (done, work order COMPLETE)")


def test_escalation_returns_and_writes_one_event_per_move_at_the_instant_due(
        store: SqlStore, demo_spec: PlantSpec) -> None:
    iv = make_intervention("iv-esc", created_at=T0)
    first = TransitionRecord(None, S.NEW, "andon", T0, "raised")
    from dataclasses import replace  # noqa: PLC0415

    store.save_intervention(replace(iv, owner_role="operator", history=(first,)))
    clock = ManualClock(T0 + timedelta(hours=3))
    report = escalate_due(Context(store, clock), policy_from_spec(demo_spec))
    assert report.events
    assert all(e.kind is EventKind.ESCALATED for e in report.events)
    assert [e.at for e in report.events] == sorted(e.at for e in report.events)
    assert store.events(kind="escalated", limit=100) == list(reversed(report.events))
    assert escalate_due(Context(store, clock), policy_from_spec(demo_spec)).events == ()


def test_a_triage_label_needs_review_and_keeps_who_and_role(
        ctx: Context, store: SqlStore) -> None:
    item = store.add_triage(TriageItem(
        id=0, use_case="pump-bearing", site="ghent", line="cooling-water", asset="p-101",
        reasons=(TriageReason.LOW_CONFIDENCE,), score=1.1, threshold=1.0, model="pump-bearing",
        model_version="3", window_end=T0, why=(), created_at=T0, updated_at=T0))
    with pytest.raises(Forbidden):
        label_triage(ctx, OPERATOR, item.id, "normal")
    labelled = label_triage(ctx, ENGINEER, item.id, "real_problem", "confirmed on site")
    assert labelled.record.label is not None
    assert (labelled.record.label.by, labelled.record.label.role) == (
        "dana", "reliability_engineer")
    [event] = labelled.events
    assert event.kind is EventKind.TRIAGE_LABEL


def test_a_spec_is_replaced_whole_or_not_at_all(ctx: Context, demo_spec: PlantSpec,
                                                store: SqlStore) -> None:
    admin = Actor("admin", "admin", "admin", Via.API)
    with pytest.raises(Forbidden):
        replace_spec(ctx, ENGINEER, "version: 1\n")
    with pytest.raises(SpecErrors):
        replace_spec(ctx, admin, "version: 1\nenterprise: {id: x}\n")
    assert store.current_spec() is None
    assert ctx.spec is demo_spec
