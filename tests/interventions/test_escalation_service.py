"""The escalation service on a manual clock over a real store; its spec section."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from andon.clock import ManualClock
from andon.errors import SpecErrors, StoreError
from andon.interventions.escalation import policy_from_spec
from andon.interventions.lifecycle import InterventionState, Priority, TransitionRecord
from andon.services.escalation import EscalationService
from andon.spec import load_spec_text
from andon.spec.model import Interventions
from andon.testing.factories import T0, make_intervention
from api.conftest import DEMO_SPEC_TEXT

if TYPE_CHECKING:
    from collections.abc import Callable

    from andon.interventions.record import Intervention
    from andon.spec.model import PlantSpec
    from andon.store import SqlStore

S = InterventionState


def raised(intervention_id: str = "rec-1", *, priority: Priority = Priority.HIGH,
           owner: str = "operator") -> Intervention:
    first = TransitionRecord(None, S.NEW, "andon", T0, "raised")
    return replace(make_intervention(intervention_id), priority=priority, owner_role=owner,
                   history=(first,))


def service(store: SqlStore, spec: PlantSpec, clock: ManualClock) -> EscalationService:
    """The service with the spec's policy, defaults restored (the demo's limits are short)."""
    plant = spec.model_copy(update={"interventions": Interventions()})
    return EscalationService.for_spec(store, plant, clock)


def with_section(section: str) -> str:
    """The demo spec text with its ``interventions`` section replaced by ``section``."""
    text, n = re.subn(r"^interventions:\n(?:  .*\n)+", f"interventions:\n{section}\n",
                      DEMO_SPEC_TEXT, count=1, flags=re.MULTILINE)
    assert n == 1
    return text


def test_unacknowledged_for_the_limit_escalates_to_the_next_role(
    store: SqlStore, demo_spec: PlantSpec,
) -> None:
    store.save_intervention(raised())
    clock = ManualClock(T0 + timedelta(minutes=14, seconds=59))  # high: 15 min
    svc = service(store, demo_spec, clock)
    assert svc.tick().escalations == ()
    assert store.get_intervention("rec-1").state is S.NEW
    clock.advance(seconds=1)
    report = svc.tick()
    assert report.escalations == (
        ("Pump P-101 (rec-1): not acknowledged within 15 min; escalated from operator to "
         "maintenance_planner"),)
    got = store.get_intervention("rec-1")
    assert (got.state, got.owner_role, got.escalation_level) == (
        S.ESCALATED, "maintenance_planner", 1)
    assert got.history[-1].at == T0 + timedelta(minutes=15)
    [event] = store.events(kind="escalated")
    assert (event.subject, event.at, event.by) == ("rec-1", T0 + timedelta(minutes=15), "andon")


def test_one_failing_intervention_does_not_stall_the_others(
    store: SqlStore, demo_spec: PlantSpec, monkeypatch: pytest.MonkeyPatch,
) -> None:
    store.save_intervention(raised("rec-bad"))
    store.save_intervention(raised("rec-good"))
    change = store.change_intervention

    def failing(intervention_id: str, fn: Callable[[Intervention], Intervention],
                ) -> tuple[Intervention, Intervention]:
        if intervention_id == "rec-bad":
            raise StoreError("row locked by a dead session")
        return change(intervention_id, fn)

    monkeypatch.setattr(store, "change_intervention", failing)
    svc = service(store, demo_spec, ManualClock(T0 + timedelta(minutes=15)))
    report = svc.tick()
    assert [e.split(":")[0] for e in report.escalations] == ["Pump P-101 (rec-good)"]
    assert store.get_intervention("rec-good").state is S.ESCALATED
    assert store.get_intervention("rec-bad").state is S.NEW  # tried again next tick


def test_a_new_service_mid_timer_escalates_at_the_same_instant_not_twice(
    store: SqlStore, demo_spec: PlantSpec,
) -> None:
    store.save_intervention(raised(priority=Priority.CRITICAL))  # 5 min
    clock = ManualClock(T0 + timedelta(minutes=3))
    first = service(store, demo_spec, clock)
    assert first.tick().escalations == ()
    # the service restarts: a new instance, same store; its check comes late (7 min)
    clock.advance(seconds=240)
    restarted = service(store, demo_spec, clock)
    assert len(restarted.tick().escalations) == 1
    assert first.tick().escalations == ()  # the old instance, still running, does nothing
    assert restarted.tick().escalations == ()
    got = store.get_intervention("rec-1")
    assert [(m.to_state, m.at) for m in got.history[1:]] == [
        (S.ESCALATED, T0 + timedelta(minutes=5))]  # at the instant it was due
    assert len(store.events(kind="escalated")) == 1
    # the timer restarted at the escalation: the next one is due 5 min later, at 10 min
    clock.set(T0 + timedelta(minutes=10))
    assert len(service(store, demo_spec, clock).tick().escalations) == 1
    assert store.get_intervention("rec-1").owner_role == "reliability_engineer"


def test_acknowledged_ones_never_escalate_and_shelving_expires(
    store: SqlStore, demo_spec: PlantSpec,
) -> None:
    store.save_intervention(raised("rec-ack"))
    store.save_intervention(raised("rec-shelf"))
    store.transition_intervention("rec-ack", S.ACKNOWLEDGED, by="ana",
                                    at=T0 + timedelta(minutes=1))
    store.transition_intervention("rec-shelf", S.SHELVED, by="ana",
                                    at=T0 + timedelta(minutes=1), reason="sensor swap",
                                    shelve_until=T0 + timedelta(hours=1))
    clock = ManualClock(T0 + timedelta(minutes=59))
    svc = service(store, demo_spec, clock)
    assert svc.tick() == svc.tick().__class__(clock.now())  # nothing due
    clock.set(T0 + timedelta(hours=1))
    report = svc.tick()
    assert report.unshelved == ("rec-shelf",)
    shelf = store.get_intervention("rec-shelf")
    assert shelf.state is S.NEW
    assert shelf.history[-1].reason.startswith("shelving expired at")
    # back from the shelf, its acknowledge timer starts again (high: 15 min)
    clock.set(T0 + timedelta(hours=1, minutes=15))
    assert [e.split(":")[0] for e in svc.tick().escalations] == ["Pump P-101 (rec-shelf)"]
    assert store.get_intervention("rec-ack").state is S.ACKNOWLEDGED
    assert [e.subject for e in store.events(kind="unshelved")] == ["rec-shelf"]


def test_run_ticks_until_stopped(store: SqlStore, demo_spec: PlantSpec) -> None:
    store.save_intervention(raised(priority=Priority.CRITICAL))
    clock = ManualClock(T0 + timedelta(minutes=6))
    svc = replace(service(store, demo_spec, clock), every_s=0.01)

    async def story() -> None:
        loop = asyncio.get_running_loop()
        stop, three = asyncio.Event(), asyncio.Event()
        tick = svc.tick

        def counted() -> object:  # runs in the service's worker thread
            report = tick()
            if svc.ticks >= 3:
                loop.call_soon_threadsafe(three.set)
            return report

        svc.tick = counted  # type: ignore[method-assign]
        task = asyncio.create_task(svc.run(stop))
        async with asyncio.timeout(10):
            await three.wait()
            stop.set()
            await task  # stops promptly: it waits on the event, not a sleep

    asyncio.run(story())
    assert store.get_intervention("rec-1").state is S.ESCALATED
    assert len(store.events(kind="escalated")) == 1


def test_policy_comes_from_the_spec_with_defaults(demo_spec: PlantSpec) -> None:
    policy = policy_from_spec(demo_spec)
    assert policy.chain == ("operator", "maintenance_planner", "reliability_engineer",
                            "shift_lead")
    assert policy.ranks["plant_manager"] == 50
    assert policy.limit(Priority.HIGH) == timedelta(minutes=2)  # the demo's short limit
    defaults = policy_from_spec(demo_spec.model_copy(update={"interventions": Interventions()}))
    assert [defaults.limit(p) for p in Priority] == [
        timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=30), timedelta(hours=4)]
    text = with_section("  ack_limits: {high: 2min}\n  escalation_chain: [operator, shift_lead]")
    custom = policy_from_spec(load_spec_text(text))
    assert custom.limit(Priority.HIGH) == timedelta(minutes=2)
    assert custom.limit(Priority.LOW) == timedelta(hours=4)  # left out: default
    assert custom.chain == ("operator", "shift_lead")
    assert not custom.allow_down


@pytest.mark.parametrize(("section", "needle", "message"), [
    ("  ack_limits: {urgent: 2min}", "urgent", ("interventions.ack_limits.urgent: Input "
                                                "should be 'critical', 'high', 'medium' or "
                                                "'low'")),
    ("  ack_limits: {high: soon}", "soon", "interventions.ack_limits: "),
    ("  escalation_chain: [operator, janitor]", "janitor",
     "interventions.escalation_chain[1]: unknown role 'janitor'"),
    ("  escalation_chain: [operator, operator]", "operator, operator",
     "interventions.escalation_chain: role 'operator' appears twice in the chain"),
])
def test_bad_interventions_section_gives_one_line_with_its_line_number(
    section: str, needle: str, message: str,
) -> None:
    text = with_section(section)
    with pytest.raises(SpecErrors) as info:
        load_spec_text(text)
    [problem] = [str(e) for e in info.value.errors]
    line = next(n for n, ln in enumerate(text.splitlines(), start=1) if needle in ln)
    assert problem.startswith(f"plant.yaml:{line} {message}"), problem
    assert "\n" not in problem


def test_the_default_chain_is_the_roles_that_may_act_in_rank_order(demo_spec: PlantSpec,
                                                                    ) -> None:
    """Without a written chain: no viewer (the plant manager), no unranked role (the data
    scientist, the administrator), and never down: planner (20) before shift lead (40)."""
    roles = [r for r in demo_spec.roles if r.id != "reliability_engineer"]
    plant = demo_spec.model_copy(update={"interventions": Interventions(), "roles": roles})
    assert policy_from_spec(plant).chain == ("operator", "maintenance_planner", "shift_lead")
