"""The intervention record in the store (SQLite and PostgreSQL): lifecycle, labels, races."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from andon.errors import FeedbackError, LifecycleError, NotFound
from andon.feedback import Feedback, FeedbackKind, Outcome
from andon.interventions.escalation import EscalationPolicy, advance
from andon.interventions.lifecycle import InterventionState, Priority, TransitionRecord
from andon.interventions.record import OutcomeLabel, dedup_key
from andon.store import SqlStore, open_store
from andon.testing.factories import T0, make_intervention

S = InterventionState


@pytest.fixture
def store(any_store: SqlStore) -> SqlStore:
    """The shared fresh store on each backend (``any_store`` in tests/conftest.py)."""
    return any_store


def full_iv(intervention_id: str = "rec-1"):
    raised = TransitionRecord(None, S.NEW, "andon", T0, "raised for maintenance_planner")
    return replace(make_intervention(intervention_id), priority=Priority.CRITICAL,
                   history=(raised,),
                   dedup_key=dedup_key("pump-bearing", "p-101", T0),
                   window_start=T0 - timedelta(minutes=50), window_end=T0 - timedelta(minutes=5))


def test_every_field_of_the_record_round_trips(store: SqlStore) -> None:
    iv = full_iv()
    store.save_intervention(iv)
    assert store.get_intervention(iv.id) == iv
    shelved, move = store.transition_intervention(
        iv.id, S.SHELVED, by="ana", at=T0 + timedelta(minutes=3), reason="sensor swap",
        shelve_until=T0 + timedelta(hours=2), via="web")
    got = store.get_intervention(iv.id)
    assert got == shelved
    assert got.history[-1] == move == TransitionRecord(S.NEW, S.SHELVED, "ana",
                                                       T0 + timedelta(minutes=3), "sensor swap")
    assert (got.shelved_until, got.priority, got.dedup_key) == (
        T0 + timedelta(hours=2), Priority.CRITICAL, "pump-bearing:p-101:2026-03-02T07:00:00Z")
    assert got.is_open
    assert store.open_intervention_for("pump-bearing", "p-101") == got


def test_a_detection_updates_evidence_but_never_undoes_a_move(store: SqlStore) -> None:
    """The edge saves what it read before someone acknowledged: the acknowledgement stays."""
    iv = full_iv()
    store.save_intervention(iv)
    read_by_edge = store.get_intervention(iv.id)
    store.transition_intervention(iv.id, S.ACKNOWLEDGED, by="chris",
                                    at=T0 + timedelta(minutes=1))
    store.save_intervention(replace(read_by_edge, detections=9, score=9.5,
                                      window_end=T0 + timedelta(minutes=10)))
    got = store.get_intervention(iv.id)
    assert (got.detections, got.score, got.window_end) == (9, 9.5, T0 + timedelta(minutes=10))
    assert (got.state, got.assignee, len(got.history)) == (S.ACKNOWLEDGED, "chris", 2)


def test_illegal_moves_store_nothing(store: SqlStore) -> None:
    store.save_intervention(full_iv())
    with pytest.raises(LifecycleError, match="acknowledge it first"):
        store.transition_intervention("rec-1", S.DONE, by="chris", at=T0)
    with pytest.raises(NotFound):
        store.transition_intervention("nope", S.ACKNOWLEDGED, by="chris", at=T0)
    assert store.get_intervention("rec-1") == full_iv()
    assert store.labels() == []


def test_feedback_kinds_map_onto_moves_by_the_same_person(store: SqlStore) -> None:
    store.save_intervention(full_iv())
    at = T0 + timedelta(minutes=7)
    done = store.record_feedback(Feedback("rec-1", FeedbackKind.ACTED, "re-greased", "chris", at,
                                          via="mqtt"))
    assert [(m.from_state, m.to_state, m.by, m.at) for m in done.history[1:]] == [
        (S.NEW, S.ACKNOWLEDGED, "chris", at), (S.ACKNOWLEDGED, S.DONE, "chris", at)]
    assert done.assignee == "chris"
    [fb] = store.feedback_for("rec-1")
    assert (fb.kind, fb.via) == (FeedbackKind.ACTED, "mqtt")
    [label] = store.labels()
    assert (label.kind, label.label, label.detail, label.via, label.window_start,
            label.window_end) == ("feedback", "acted", "re-greased", "mqtt",
                                  T0 - timedelta(minutes=50), T0 - timedelta(minutes=5))


def test_outcome_is_told_after_the_action_and_kept_as_a_label(store: SqlStore) -> None:
    store.save_intervention(full_iv())
    outcome = Outcome("rec-1", OutcomeLabel.NO_FAULT, "bearing fine", "chris",
                      T0 + timedelta(hours=3), via="cmms")
    with pytest.raises(FeedbackError, match="is new; an outcome is told once"):
        store.record_outcome(outcome)
    store.transition_intervention("rec-1", S.DISMISSED, by="chris", at=T0 + timedelta(hours=1),
                                    reason="looks like a sensor glitch")
    iv, label = store.record_outcome(outcome)
    assert (iv.outcome, iv.outcome_detail) == (OutcomeLabel.NO_FAULT, "bearing fine")
    assert label.id is not None
    assert [(lb.kind, lb.label, lb.via) for lb in store.labels()] == [
        ("feedback", "dismissed", "api"), ("outcome", "no_fault", "cmms")]
    assert store.labels(since=T0 + timedelta(hours=2)) == [label]


def test_two_services_escalate_the_same_intervention_once(store: SqlStore,
                                                          store_url: str) -> None:
    store.save_intervention(full_iv())
    policy = EscalationPolicy.default()
    now = T0 + timedelta(minutes=5)  # critical: 5 min to acknowledge
    other = open_store(store_url)
    try:
        first = store.change_intervention("rec-1", lambda r: advance(r, policy, now))
        second = other.change_intervention("rec-1", lambda r: advance(r, policy, now))
    finally:
        other.close()
    assert len(first[1].history) == 2
    assert second[0] == second[1] == first[1]  # nothing left to do
    got = store.get_intervention("rec-1")
    assert (got.state, got.owner_role, got.escalation_level) == (
        S.ESCALATED, "reliability_engineer", 1)
