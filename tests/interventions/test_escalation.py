"""Escalation timing on a manual clock: exact instants, restarts mid-timer, chain exhaustion.

A "service" here is a loop that, on each tick of a ``ManualClock``, applies what
``escalate`` says is due. A restart rebuilds every record and the policy from JSON, as a
process reading the store would.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andon.clock import ManualClock, utc
from andon.interventions.escalation import (
    CHAIN_EXHAUSTED,
    DEFAULT_CHAIN,
    Escalation,
    EscalationPolicy,
    apply_escalation,
    due_escalations,
    escalate,
    next_escalation,
)
from andon.interventions.lifecycle import (
    InterventionLifecycle,
    InterventionState,
    Priority,
    expire_shelving,
    new_lifecycle,
    transition,
)
from andon.spec.chain import DEFAULT_RANKS

S = InterventionState
T0 = utc(2026, 3, 2, 8, 0)
MIN = timedelta(minutes=1)
TICK = timedelta(microseconds=1)
POLICY = EscalationPolicy.default()


def raised(rid: str = "rec-1", priority: Priority = Priority.HIGH, owner: str = "operator",
           at: datetime = T0) -> InterventionLifecycle:
    return new_lifecycle(rid, priority, owner, by="andon", at=at)


def restart(records: Sequence[InterventionLifecycle], policy: EscalationPolicy,
            ) -> tuple[list[InterventionLifecycle], EscalationPolicy]:
    """What a restarted service sees: everything rebuilt from stored JSON."""
    stored = json.dumps({"records": [r.to_dict() for r in records], "policy": policy.to_dict()})
    data = json.loads(stored)
    return ([InterventionLifecycle.from_dict(r) for r in data["records"]],
            EscalationPolicy.from_dict(data["policy"]))


class Service:
    """Applies due escalations on every tick; remembers when it saw each one."""

    def __init__(self, records: list[InterventionLifecycle], clock: ManualClock,
                 policy: EscalationPolicy = POLICY) -> None:
        self.records = records
        self.clock = clock
        self.policy = policy
        self.seen: list[tuple[datetime, Escalation]] = []

    def tick(self, step: timedelta) -> None:
        now = self.clock.advance(step.total_seconds())
        self.records, applied = escalate(self.records, self.policy, now)
        self.seen.extend((now, e) for e in applied)

    def run_until(self, until: datetime, step: timedelta) -> None:
        while self.clock.now() + step <= until:
            self.tick(step)

    def restart(self) -> None:
        self.records, self.policy = restart(self.records, self.policy)


def test_default_limits_and_chain() -> None:
    assert {p.value: POLICY.limit(p) for p in Priority} == {
        "critical": 5 * MIN, "high": 15 * MIN, "medium": 30 * MIN, "low": timedelta(hours=4)}
    assert DEFAULT_CHAIN == ("operator", "maintenance_planner", "reliability_engineer",
                             "shift_lead", "plant_manager")
    ranks = [DEFAULT_RANKS[r] for r in DEFAULT_CHAIN]
    assert ranks == sorted(ranks), "the default chain never steps down"


@pytest.mark.parametrize(("priority", "limit"), [
    (Priority.CRITICAL, 5 * MIN), (Priority.HIGH, 15 * MIN), (Priority.MEDIUM, 30 * MIN),
    (Priority.LOW, timedelta(hours=4)),
])
def test_escalates_exactly_at_the_limit_not_a_microsecond_earlier(priority: Priority,
                                                                  limit: timedelta) -> None:
    iv = raised(priority=priority)
    assert due_escalations([iv], POLICY, T0 + limit - TICK) == []
    [esc] = due_escalations([iv], POLICY, T0 + limit)
    assert esc == Escalation("rec-1", priority, T0 + limit, "operator", "maintenance_planner",
                             1, limit)
    assert not esc.chain_exhausted
    # noticed late: still due at the same instant, recorded at that instant
    [late] = due_escalations([iv], POLICY, T0 + limit + timedelta(hours=1))
    assert late == esc
    new, move = apply_escalation(iv, esc)
    assert (new.state, new.owner_role, new.escalation_level) == (
        S.ESCALATED, "maintenance_planner", 1)
    assert (move.at, move.by) == (T0 + limit, "andon")
    assert move.reason == esc.reason
    assert move.reason.endswith("; escalated from operator to maintenance_planner")


def test_a_service_on_a_manual_clock_climbs_the_chain_at_exact_instants() -> None:
    service = Service([raised()], ManualClock(T0))
    service.run_until(T0 + timedelta(hours=3), timedelta(seconds=30))
    assert [(seen, e.due_at, e.from_role, e.to_role) for seen, e in service.seen] == [
        (T0 + 15 * MIN, T0 + 15 * MIN, "operator", "maintenance_planner"),
        (T0 + 30 * MIN, T0 + 30 * MIN, "maintenance_planner", "reliability_engineer"),
        (T0 + 45 * MIN, T0 + 45 * MIN, "reliability_engineer", "shift_lead"),
        (T0 + 60 * MIN, T0 + 60 * MIN, "shift_lead", "plant_manager"),
        (T0 + 75 * MIN, T0 + 75 * MIN, "plant_manager", None),
    ]
    assert service.seen[0][1].describe() == (
        "rec-1 (high): not acknowledged within 15 min; escalated from operator to "
        "maintenance_planner at 08:15:00Z")
    [iv] = service.records
    assert (iv.state, iv.owner_role, iv.escalation_level) == (S.ESCALATED, "plant_manager", 5)
    assert iv.history[-1].reason == (
        "chain exhausted: not acknowledged within 15 min; stays with plant_manager")


@pytest.mark.parametrize("restart_at", [1 * MIN, 14 * MIN, 15 * MIN - TICK])
def test_a_restart_mid_timer_keeps_the_timer(restart_at: timedelta) -> None:
    """Not earlier, not later, not twice: the escalation happens once, at T0 + 15 min."""
    clock = ManualClock(T0)
    service = Service([raised()], clock)
    step = timedelta(seconds=1)
    service.tick(restart_at)
    assert service.seen == []
    service.restart()
    assert due_escalations(service.records, service.policy, clock.now()) == []
    service.tick(T0 + 15 * MIN - TICK - clock.now())
    assert service.seen == []  # not earlier
    service.tick(TICK)
    service.run_until(T0 + 29 * MIN, step)
    # not later, not twice
    assert [(seen, e.due_at, e.to_role) for seen, e in service.seen] == [
        (T0 + 15 * MIN, T0 + 15 * MIN, "maintenance_planner")]


def test_a_restart_right_after_an_escalation_does_not_repeat_it() -> None:
    clock = ManualClock(T0)
    service = Service([raised()], clock)
    service.run_until(T0 + 15 * MIN, timedelta(seconds=1))
    assert len(service.seen) == 1
    service.restart()
    service.tick(timedelta(0))
    service.run_until(T0 + 30 * MIN - timedelta(seconds=1), timedelta(seconds=1))
    assert len(service.seen) == 1  # the next one is due at T0 + 30 min, not before
    service.restart()
    service.tick(timedelta(seconds=1))
    assert [(seen, e.due_at, e.to_role) for seen, e in service.seen][1:] == [
        (T0 + 30 * MIN, T0 + 30 * MIN, "reliability_engineer")]


def test_a_service_down_through_several_limits_catches_up_at_the_original_instants() -> None:
    records = [raised(priority=Priority.CRITICAL)]
    records, _policy = restart(records, POLICY)  # stored at T0, service down until T0 + 12 min
    records, applied = escalate(records, POLICY, T0 + 12 * MIN)
    assert [(e.due_at, e.to_role) for e in applied] == [
        (T0 + 5 * MIN, "maintenance_planner"), (T0 + 10 * MIN, "reliability_engineer")]
    assert [m.at for m in records[0].history] == [T0, T0 + 5 * MIN, T0 + 10 * MIN]
    [nxt] = due_escalations(records, POLICY, T0 + 15 * MIN)
    assert (nxt.due_at, nxt.to_role) == (T0 + 15 * MIN, "shift_lead")


def test_chain_exhaustion_is_reported_once_even_across_restarts() -> None:
    iv = raised(owner="plant_manager", priority=Priority.MEDIUM)
    [esc] = due_escalations([iv], POLICY, T0 + 30 * MIN)
    assert esc.chain_exhausted
    assert esc.to_role is None
    assert esc.reason.startswith(CHAIN_EXHAUSTED)
    iv, _ = apply_escalation(iv, esc)
    assert (iv.state, iv.owner_role) == (S.ESCALATED, "plant_manager")
    [again], _policy = restart([iv], POLICY)
    assert due_escalations([again], POLICY, T0 + timedelta(days=30)) == []
    assert next_escalation(again, POLICY) is None
    # it stays escalated and can still be acknowledged
    done, _ = transition(again, S.ACKNOWLEDGED, by="gus", at=T0 + timedelta(hours=2))
    assert done.assignee == "gus"


@pytest.mark.parametrize("path", [
    [S.ACKNOWLEDGED],
    [S.ACKNOWLEDGED, S.IN_PROGRESS],
    [S.ACKNOWLEDGED, S.DEFERRED],
    [S.ACKNOWLEDGED, S.DONE],
    [S.DISMISSED],
    [S.EXPIRED],
    [S.ESCALATED, S.ACKNOWLEDGED],
], ids=lambda p: "-".join(s.value for s in p))
def test_acknowledged_and_closed_records_never_escalate(path: list[InterventionState]) -> None:
    iv = raised(priority=Priority.CRITICAL)
    for i, target in enumerate(path, start=1):
        reason = "" if target in {S.ACKNOWLEDGED, S.IN_PROGRESS, S.DONE} else "because"
        iv, _ = transition(iv, target, by="ana", at=T0 + i * TICK, reason=reason)
    assert next_escalation(iv, POLICY) is None
    assert due_escalations([iv], POLICY, T0 + timedelta(days=365)) == []
    assert escalate([iv], POLICY, T0 + timedelta(days=365)) == ([iv], [])


def test_a_shelved_record_does_not_escalate_and_its_timer_restarts_on_return() -> None:
    iv = raised()
    iv, _ = transition(iv, S.SHELVED, by="bram", at=T0 + 10 * MIN, reason="sensor swap",
                        shelve_until=T0 + timedelta(hours=2))
    assert due_escalations([iv], POLICY, T0 + timedelta(hours=1, minutes=59)) == []
    iv, _ = expire_shelving(iv, T0 + timedelta(hours=2))
    assert iv.state is S.NEW
    assert due_escalations([iv], POLICY, T0 + timedelta(hours=2, minutes=15) - TICK) == []
    [esc] = due_escalations([iv], POLICY, T0 + timedelta(hours=2, minutes=15))
    assert esc.due_at == T0 + timedelta(hours=2, minutes=15)


def test_an_owner_outside_the_chain_enters_it_above_its_own_rank_never_below() -> None:
    """A maintenance technician's intervention skips the operator (rank 10) and the planner
    (20, its own rank): it goes to the reliability engineer (30), the first role above it."""
    [esc] = due_escalations([raised(owner="maintenance_technician")], POLICY, T0 + 15 * MIN)
    assert (esc.from_role, esc.to_role) == ("maintenance_technician", "reliability_engineer")
    short = EscalationPolicy(chain=("operator", "maintenance_planner"))
    [top] = due_escalations([raised(owner="shift_lead")], short, T0 + 15 * MIN)
    assert top.chain_exhausted  # nobody above a shift lead in this chain: it stays
    assert top.reason.endswith("stays with shift_lead")


def test_allow_down_or_an_owner_without_rank_enters_the_chain_at_its_first_role() -> None:
    down = EscalationPolicy(chain=("operator", "shift_lead"), allow_down=True)
    [esc] = due_escalations([raised(owner="maintenance_planner")], down, T0 + 15 * MIN)
    assert esc.to_role == "operator"
    [unranked] = due_escalations([raised(owner="janitor")], POLICY, T0 + 15 * MIN)
    assert unranked.to_role == "operator"


def test_an_empty_chain_reports_the_chain_exhausted_once_and_keeps_the_owner() -> None:
    nobody = EscalationPolicy(chain=())
    records, applied = escalate([raised(owner="planner")], nobody, T0 + timedelta(hours=5))
    assert [(e.due_at, e.to_role) for e in applied] == [(T0 + 15 * MIN, None)]
    assert (records[0].state, records[0].owner_role) == (S.ESCALATED, "planner")


def test_due_escalations_are_ordered_by_instant_then_id() -> None:
    records = [raised("b", Priority.LOW), raised("c", Priority.CRITICAL),
               raised("a", Priority.CRITICAL), raised("d", Priority.HIGH)]
    due = due_escalations(records, POLICY, T0 + timedelta(hours=5))
    assert [(e.intervention_id, e.due_at) for e in due] == [
        ("a", T0 + 5 * MIN), ("c", T0 + 5 * MIN), ("d", T0 + 15 * MIN),
        ("b", T0 + timedelta(hours=4))]


def test_an_escalation_applies_only_to_its_own_record() -> None:
    [esc] = due_escalations([raised("a")], POLICY, T0 + timedelta(hours=1))
    with pytest.raises(ValueError, match="escalation of a applied to b"):
        apply_escalation(raised("b"), esc)


# -- the policy from plain data ---------------------------------------------------------------

def test_policy_from_a_dict_overrides_what_it_names() -> None:
    policy = EscalationPolicy.from_dict({"limits": {"critical": "2min", "low": 3600},
                                         "chain": ["operator", "shift_lead"],
                                         "ranks": {"operator": 1, "shift_lead": 2},
                                         "allow_down": True})
    assert policy.limit(Priority.CRITICAL) == 2 * MIN
    assert policy.limit(Priority.LOW) == timedelta(hours=1)
    assert policy.limit(Priority.HIGH) == 15 * MIN
    assert policy.chain == ("operator", "shift_lead")
    assert (policy.ranks, policy.allow_down) == ({"operator": 1, "shift_lead": 2}, True)
    assert EscalationPolicy.from_dict(policy.to_dict()) == policy
    assert EscalationPolicy.from_dict({}) == POLICY


@pytest.mark.parametrize(("data", "message"), [
    ({"limits": {"urgent": "5min"}}, "escalation.limits: unknown priority 'urgent'"),
    ({"limits": {"high": "soon"}}, "escalation.limits.high: 'soon' is not a duration"),
    ({"limits": {"high": True}}, "escalation.limits.high: True is not a duration"),
    ({"limits": {"high": 0}}, "escalation.limits.high: 0 is not a positive duration"),
    ({"limits": {"high": "-5min"}}, "escalation.limits.high: '-5min' is not a positive"),
    ({"chain": []}, "escalation.chain: list at least one role"),
    ({"chain": "operator"}, "escalation.chain: 'operator' is not a list of role ids"),
    ({"chain": ["operator", "operator"]}, "escalation.chain: a role appears twice"),
    ({"ranks": {"operator": "low"}}, "escalation.ranks: {'operator': 'low'} is not a mapping"),
    ({"allow_down": "yes"}, "escalation.allow_down: 'yes' is not true or false"),
    ({"timeouts": {}}, "escalation: unknown key(s) timeouts"),
])
def test_policy_errors_name_the_key_and_the_bad_value(data: dict[str, object],
                                                      message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        EscalationPolicy.from_dict(data)


# -- property: when the service looks does not change what happens ------------------------

@settings(max_examples=80, deadline=None)
@given(
    priority=st.sampled_from(list(Priority)),
    checks=st.lists(st.integers(min_value=0, max_value=6 * 3600), max_size=25),
    restarts=st.lists(st.booleans(), max_size=25),
)
def test_any_check_schedule_with_restarts_gives_the_punctual_history(
    priority: Priority, checks: list[int], restarts: list[bool],
) -> None:
    end = T0 + timedelta(hours=6, seconds=1)
    punctual, _ = escalate([raised(priority=priority)], POLICY, end)
    records, policy = [raised(priority=priority)], POLICY
    for i, offset in enumerate(sorted(checks)):
        records, _ = escalate(records, policy, T0 + timedelta(seconds=offset))
        if i < len(restarts) and restarts[i]:
            records, policy = restart(records, policy)
    records, _ = escalate(records, policy, end)
    assert records == punctual
