"""The console's use cases: whose interventions a person sees, comments, bulk moves, live marks.

The demo spec's people: ana (operator, Ghent), chris (maintenance planner, Ghent), eli
(maintenance planner, Porto), dana (reliability engineer, no site), gus (plant manager: a
viewer outside the chain), admin. The pump-bearing use case is owned by the planner.
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
    bulk_move,
    comment_on,
    console_scope,
    find_interventions,
    live_changes,
    may_see_all,
    move,
)
from andon.audit import EventKind
from andon.clock import ManualClock
from andon.errors import FeedbackError, Forbidden, NotFound
from andon.feedback import Via
from andon.interventions.lifecycle import InterventionState
from andon.interventions.query import InterventionQuery, Scope
from andon.testing.factories import T0, make_intervention

if TYPE_CHECKING:
    from andon.spec import PlantSpec
    from andon.store import SqlStore

S = InterventionState
ANA = Actor("ana", "operator", "operator", Via.WEB)
CHRIS = Actor("chris", "maintenance_planner", "operator", Via.WEB)
ELI = Actor("eli", "maintenance_planner", "operator", Via.WEB)
DANA = Actor("dana", "reliability_engineer", "engineer", Via.WEB)
GUS = Actor("gus", "plant_manager", "viewer", Via.WEB)
STRANGER = Actor("integration", "operator", "operator", Via.API)


@pytest.fixture
def ctx(store: SqlStore, demo_spec: PlantSpec) -> Context:
    return Context(store, ManualClock(T0 + timedelta(minutes=5)), PlantRef(demo_spec))


@pytest.fixture
def seeded(store: SqlStore) -> list[str]:
    """Planner's pump item in Ghent, the same escalated to the engineer, an operator's motor
    item, and a planner's item in Porto."""
    rows = [
        make_intervention("g-planner", created_at=T0),
        replace(make_intervention("g-escalated", asset="p-102", created_at=T0),
                owner_role="reliability_engineer", state=S.ESCALATED, escalation_level=1),
        replace(make_intervention("g-motor", asset="m-103", created_at=T0),
                owner_role="operator", use_case="fan-motor"),
        replace(make_intervention("p-planner", asset="p-301", created_at=T0),
                site="porto", line="boiler-feed"),
    ]
    for iv in rows:
        store.save_intervention(iv)
    return [iv.id for iv in rows]


def _ids(ctx: Context, actor: Actor, **kw: bool) -> set[str]:
    found = find_interventions(ctx, actor, InterventionQuery(), **kw)
    return {iv.id for iv in found.page.items}


def test_a_person_sees_their_site_and_their_roles_items_even_escalated_away(
        ctx: Context, seeded: list[str]) -> None:
    del seeded
    assert _ids(ctx, CHRIS) == {"g-planner", "g-escalated"}  # raised for the planner's use case
    assert _ids(ctx, ELI) == {"p-planner"}
    assert _ids(ctx, ANA) == {"g-motor"}
    assert _ids(ctx, DANA) == {"g-escalated"}  # no site: every site; the engineer's role only


def test_who_owns_nothing_or_is_no_person_sees_everything(ctx: Context,
                                                         seeded: list[str]) -> None:
    assert console_scope(ctx.spec, GUS) == Scope()  # the manager is not in the chain
    assert _ids(ctx, GUS) == set(seeded)
    assert _ids(ctx, STRANGER) == set(seeded)


def test_an_item_taken_by_the_person_stays_in_their_view(ctx: Context, store: SqlStore,
                                                        seeded: list[str]) -> None:
    del seeded
    store.save_intervention(replace(make_intervention("taken", created_at=T0),
                                    owner_role="shift_lead", use_case="other"))
    assert "taken" not in _ids(ctx, ANA)
    move(ctx, ANA, "taken", S.ACKNOWLEDGED)
    assert "taken" in _ids(ctx, ANA)


def test_a_persons_lines_narrow_their_site(ctx: Context, demo_spec: PlantSpec,
                                           seeded: list[str]) -> None:
    del seeded
    people = [p if p.id != "chris" else p.model_copy(update={"lines": ["boiler-feed"]})
              for p in demo_spec.people]
    ctx.plant.set(demo_spec.model_copy(update={"people": people}))  # type: ignore[union-attr]
    scope = console_scope(ctx.spec, CHRIS)
    assert scope.lines == frozenset()  # boiler-feed is Porto's, not Ghent's
    assert _ids(ctx, CHRIS) == set()
    assert "cooling-water" in {ln.id for _, _, ln in demo_spec.lines()}


def test_only_engineers_and_admins_may_widen_to_everything(ctx: Context,
                                                          seeded: list[str]) -> None:
    assert (may_see_all("viewer"), may_see_all("operator"), may_see_all("engineer"),
            may_see_all("admin")) == (False, False, True, True)
    with pytest.raises(Forbidden, match=r"chris \(role maintenance_planner\) may not see every"):
        find_interventions(ctx, CHRIS, InterventionQuery(), everyone=True)
    assert _ids(ctx, DANA, everyone=True) == set(seeded)


def test_a_comment_is_kept_shown_searchable_and_in_the_audit_trail(
        ctx: Context, store: SqlStore, seeded: list[str]) -> None:
    del seeded
    done = comment_on(ctx, CHRIS, "g-planner", "  spare bearing ordered, arrives Thursday ")
    assert done.record.body == "spare bearing ordered, arrives Thursday"
    assert done.record.at == ctx.clock.now()
    assert (done.record.by, done.record.via) == ("chris", "web")
    [event] = store.events(kind=EventKind.COMMENT.value)
    assert (event.subject, event.by, event.detail) == ("g-planner", "chris",
                                                         done.record.body)
    found = find_interventions(ctx, CHRIS, InterventionQuery(text="THURSDAY"))
    assert [iv.id for iv in found.page.items] == ["g-planner"]
    assert [c.body for c in found.comments["g-planner"]] == [done.record.body]


def test_a_comment_is_refused_empty_too_long_unknown_or_from_a_viewer(
        ctx: Context, store: SqlStore, seeded: list[str]) -> None:
    del seeded
    with pytest.raises(FeedbackError, match="needs some text"):
        comment_on(ctx, CHRIS, "g-planner", "   ")
    with pytest.raises(FeedbackError, match="2001 characters; at most 2000"):
        comment_on(ctx, CHRIS, "g-planner", "x" * 2001)
    with pytest.raises(NotFound):
        comment_on(ctx, CHRIS, "nope", "hello")
    with pytest.raises(Forbidden):
        comment_on(ctx, GUS, "g-planner", "hello")
    assert store.comments(["g-planner"]) == {}
    assert store.events(kind=EventKind.COMMENT.value) == []


def test_bulk_acknowledge_moves_each_through_move_and_reports_each(
        ctx: Context, store: SqlStore, seeded: list[str]) -> None:
    move(ctx, CHRIS, "g-motor", S.ACKNOWLEDGED)
    results = bulk_move(ctx, CHRIS, ["g-planner", "g-motor", "missing", "g-planner"],
                        S.ACKNOWLEDGED)
    assert [(r.intervention_id, r.ok) for r in results] == [
        ("g-planner", True), ("g-motor", False), ("missing", False)]
    assert "cannot move intervention from acknowledged to acknowledged" in results[1].reason
    assert "missing" in results[2].reason
    ivs = {iv.id: iv for iv in store.list_interventions(open_only=False)}
    assert (ivs["g-planner"].state, ivs["g-planner"].assignee) == (S.ACKNOWLEDGED, "chris")
    moves = store.events(kind=EventKind.TRANSITION.value)
    assert len(moves) == 2  # one per item moved, like single moves
    assert set(seeded) >= {"g-planner", "g-motor"}


def test_bulk_shelve_needs_a_reason_per_the_lifecycle_and_keeps_the_limit(
        ctx: Context, store: SqlStore, seeded: list[str]) -> None:
    del seeded
    until = ctx.clock.now() + timedelta(hours=4)
    refused = bulk_move(ctx, CHRIS, ["g-planner"], S.SHELVED, shelve_until=until)
    assert not refused[0].ok
    assert "reason" in refused[0].reason
    done = bulk_move(ctx, CHRIS, ["g-planner", "g-escalated"], "shelved",
                     reason="pump isolated for the week", shelve_until=until)
    assert all(r.ok for r in done)
    assert store.get_intervention("g-escalated").shelved_until == until


def test_moves_needing_a_judgement_per_item_are_refused_in_bulk(ctx: Context,
                                                                seeded: list[str]) -> None:
    for target in ("done", "deferred", "dismissed", "in_progress"):
        with pytest.raises(FeedbackError, match="only acknowledge and shelve are done in bulk"):
            bulk_move(ctx, CHRIS, seeded, target, reason="why")
    with pytest.raises(FeedbackError, match="not a lifecycle state"):
        bulk_move(ctx, CHRIS, seeded, "bogus")
    with pytest.raises(FeedbackError, match="select at least one"):
        bulk_move(ctx, CHRIS, ["", ""], S.ACKNOWLEDGED)
    with pytest.raises(FeedbackError, match="101 interventions selected; at most 100"):
        bulk_move(ctx, CHRIS, [f"x{i}" for i in range(101)], S.ACKNOWLEDGED)
    with pytest.raises(Forbidden):
        bulk_move(ctx, GUS, seeded, S.ACKNOWLEDGED)


def test_live_changes_name_only_what_changed_in_scope(ctx: Context, store: SqlStore,
                                                      seeded: list[str]) -> None:
    del seeded
    marks = live_changes(ctx, ELI, after=0)
    assert marks.changed == ("p-planner",)
    assert live_changes(ctx, ELI, after=marks.seq).changed == ()
    move(ctx, CHRIS, "g-planner", S.ACKNOWLEDGED)  # Ghent: not Eli's
    later = live_changes(ctx, ELI, after=marks.seq)
    assert (later.seq, later.changed) == (marks.seq + 1, ())
    assert live_changes(ctx, CHRIS, after=marks.seq).changed == ("g-planner",)
    store.save_intervention(replace(make_intervention("p-new", asset="p-302"), site="porto",
                                    line="boiler-feed"))
    assert live_changes(ctx, ELI, after=later.seq).changed == ("p-new",)
    comment_on(ctx, ELI, "p-new", "seen")
    assert live_changes(ctx, ELI, after=later.seq).comment > later.comment
    with pytest.raises(Forbidden):
        live_changes(ctx, ELI, after=0, everyone=True)
