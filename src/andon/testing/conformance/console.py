"""Console conformance: a store answers ``InterventionQuery`` as the pure rules say, keeps comments.

Each check takes a fresh, empty store. The query checks compare the store's answer with the
pure twin (``InterventionQuery.admits`` and ``ordered``) over a varied set of interventions, for
every sort in both directions, each filter, scopes, text search (comments included) and pages.

Use it like the store suite::

    @pytest.mark.parametrize("check", CONSOLE_CHECKS)
    def test_console(check, any_store):
        check(any_store)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from andon.errors import NotFound
from andon.feedback.comments import Comment
from andon.interventions.lifecycle import InterventionState, Priority
from andon.interventions.query import InterventionQuery, Scope, SortKey, ordered
from andon.interventions.record import Intervention
from andon.store.base import Store
from andon.testing.factories import T0, make_intervention

__all__ = ["CONSOLE_CHECKS", "console_fixture"]

_S = InterventionState
H = timedelta(hours=1)


def console_fixture() -> list[Intervention]:
    """Twelve interventions over two sites, three lines, every priority and most states."""
    rows = [
        # id, site, line, asset, priority, state, owner, assignee, hours after T0
        ("c01", "ghent", "cooling-water", "p-101", Priority.HIGH, _S.NEW, "maintenance_planner",
         None, 0),
        ("c02", "ghent", "cooling-water", "p-102", Priority.CRITICAL, _S.ESCALATED,
         "reliability_engineer", None, 1),
        ("c03", "ghent", "cooling-water", "m-103", Priority.LOW, _S.ACKNOWLEDGED, "operator",
         "ana", 2),
        ("c04", "ghent", "filtration", "f-201", Priority.MEDIUM, _S.IN_PROGRESS, "operator",
         "ana", 3),
        ("c05", "porto", "boiler-feed", "p-301", Priority.HIGH, _S.NEW, "maintenance_planner",
         None, 4),
        ("c06", "porto", "boiler-feed", "p-302", Priority.CRITICAL, _S.DEFERRED,
         "maintenance_planner", "eli", 5),
        ("c07", "ghent", "cooling-water", "p-101", Priority.HIGH, _S.DONE, "maintenance_planner",
         "chris", 6),
        ("c08", "ghent", "cooling-water", "p-102", Priority.MEDIUM, _S.DISMISSED, "operator",
         "ana", 7),
        ("c09", "porto", "boiler-feed", "p-301", Priority.LOW, _S.EXPIRED, "shift_lead", None,
         8),
        ("c10", "ghent", "filtration", "f-201", Priority.HIGH, _S.SHELVED, "operator", "bram",
         9),
        ("c11", "ghent", "cooling-water", "p-101", Priority.HIGH, _S.NEW, "maintenance_planner",
         None, 9),  # same age as c10: ties broken by id
        ("c12", "porto", "boiler-feed", "p-302", Priority.MEDIUM, _S.DONE, "reliability_engineer",
         "dana", 10),
    ]
    out = []
    for n, (iv_id, site, line, asset, prio, state, owner, who, hours) in enumerate(rows):
        base = make_intervention(iv_id, asset=asset, asset_name=f"Asset {asset.upper()}",
                                 created_at=T0 + hours * H,
                                 deadline=T0 + timedelta(hours=30 - 2 * n),
                                 action=f"Check {asset} ({iv_id}) 100% and under_load")
        out.append(replace(base, site=site, line=line, priority=prio, state=state,
                           owner_role=owner, assignee=who,
                           use_case="pump-bearing" if asset.startswith("p") else "motor",
                           outcome_detail="outer race spalled" if iv_id == "c07" else ""))
    return out


def _comments() -> list[Comment]:
    return [Comment("c03", "Spare BEARING ordered", "ana", T0 + 3 * H, "web"),
            Comment("c08", "nothing found at the coupling", "ana", T0 + 8 * H, "web"),
            Comment("c03", "arrives Thursday", "bram", T0 + 4 * H, "api")]


def _seeded(store: Store) -> tuple[list[Intervention], dict[str, list[str]]]:
    ivs = console_fixture()
    for iv in ivs:
        store.save_intervention(iv)
    said: dict[str, list[str]] = {}
    for c in _comments():
        store.add_comment(c)
        said.setdefault(c.intervention_id, []).append(c.body)
    return ivs, said


def _expect(ivs: list[Intervention], said: dict[str, list[str]],
            q: InterventionQuery) -> tuple[list[str], int]:
    matching = [iv for iv in ivs if q.admits(iv, said.get(iv.id, []))]
    listed = ordered(matching, q.sort, descending=q.descending)
    return [iv.id for iv in listed[q.offset:q.offset + q.limit]], len(matching)


def _agree(store: Store, ivs: list[Intervention], said: dict[str, list[str]],
           q: InterventionQuery) -> list[str]:
    page = store.find_interventions(q)
    got = [iv.id for iv in page.items]
    want, total = _expect(ivs, said, q)
    assert (got, page.total) == (want, total), (
        f"{q}: store {got}/{page.total}, rules {want}/{total}")
    return got


def check_every_sort_in_both_directions_agrees_with_the_rules(store: Store) -> None:
    """Open and closed, each sort ascending and descending: the store's order is the rules'."""
    ivs, said = _seeded(store)
    for closed in (False, True):
        for sort in SortKey:
            for descending in (False, True):
                _agree(store, ivs, said, InterventionQuery(closed=closed, sort=sort,
                                                           descending=descending))
    # the orders say what they mean, not only that store and rules agree
    by_priority = _agree(store, ivs, said, InterventionQuery())
    assert by_priority[:2] == ["c06", "c02"]  # critical first; then the nearer deadline first
    assert _agree(store, ivs, said, InterventionQuery(sort=SortKey.AGE))[0] == "c01"
    newest = _agree(store, ivs, said, InterventionQuery(sort=SortKey.NEWEST))
    assert newest[:2] == ["c10", "c11"]  # the same age: by id


def check_filters_and_scopes_agree_with_the_rules(store: Store) -> None:
    """Each filter alone and together, and scopes by site, line, role, use case and assignee."""
    ivs, said = _seeded(store)
    queries = [
        InterventionQuery(priorities=frozenset({Priority.CRITICAL, Priority.LOW})),
        InterventionQuery(states=frozenset({_S.NEW, _S.ESCALATED})),
        InterventionQuery(closed=True, states=frozenset({_S.DONE})),
        InterventionQuery(states=frozenset({_S.DONE})),  # a closed state asked of open: none
        InterventionQuery(assets=frozenset({"p-101", "f-201"})),
        InterventionQuery(lines=frozenset({"filtration"})),
        InterventionQuery(raised_after=T0 + 4 * H),
        InterventionQuery(raised_before=T0 + 2 * H),
        InterventionQuery(scope=Scope(sites=frozenset({"porto"}))),
        InterventionQuery(scope=Scope(lines=frozenset({("ghent", "filtration")}))),
        InterventionQuery(scope=Scope(lines=frozenset())),
        InterventionQuery(scope=Scope(sites=frozenset({"ghent"}),
                                      owner_roles=frozenset({"operator"}), assignee="chris")),
        InterventionQuery(closed=True, scope=Scope(owner_roles=frozenset({"nobody"}),
                                                   use_cases=frozenset({"motor"}),
                                                   assignee="chris")),
        InterventionQuery(priorities=frozenset({Priority.HIGH}),
                          scope=Scope(sites=frozenset({"ghent"})), sort=SortKey.DUE),
    ]
    for q in queries:
        _agree(store, ivs, said, q)
    planner = InterventionQuery(scope=Scope(sites=frozenset({"ghent"}),
                                            owner_roles=frozenset({"maintenance_planner"}),
                                            use_cases=frozenset({"pump-bearing"}),
                                            assignee="chris"))
    assert sorted(_agree(store, ivs, said, planner)) == ["c01", "c02", "c11"]


def check_text_search_reads_words_ids_outcomes_and_comments(store: Store) -> None:
    """Case-insensitive parts of id, asset, name, action, outcome detail or a comment."""
    ivs, said = _seeded(store)
    for closed in (False, True):
        for text in ("bearing", "C04", "asset p-30", "spalled", "thursday", "100%",
                     "under_load", "100_", "%", "zzz"):
            _agree(store, ivs, said, InterventionQuery(closed=closed, text=text))
    assert _agree(store, ivs, said, InterventionQuery(text="Thursday")) == ["c03"]
    assert _agree(store, ivs, said, InterventionQuery(closed=True, text="coupling")) == ["c08"]
    assert _agree(store, ivs, said, InterventionQuery(text="100_")) == []  # "_" is literal


def check_pages_cover_every_match_once(store: Store) -> None:
    """Pages of three walk every match once, in order; the total is every match's count."""
    ivs, said = _seeded(store)
    seen: list[str] = []
    for offset in range(0, 12, 3):
        seen += _agree(store, ivs, said, InterventionQuery(closed=False, limit=3,
                                                           offset=offset))
    want, total = _expect(ivs, said, InterventionQuery(limit=200))
    assert seen == want
    assert total == len(want) == 8


def check_comments_round_trip_oldest_first_and_move_the_marks(store: Store) -> None:
    """Comments come back per intervention, oldest first, in UTC; the marks move with writes."""
    assert store.change_marks() == (0, 0)
    ivs, _ = _seeded(store)
    seq, comment = store.change_marks()
    assert seq >= len(ivs)
    assert comment > 0
    found = store.comments(["c03", "c08", "c01"])
    assert [c.body for c in found["c03"]] == ["Spare BEARING ordered", "arrives Thursday"]
    assert [c.by for c in found["c03"]] == ["ana", "bram"]
    assert found["c03"][0].at == T0 + 3 * H
    assert found["c03"][0].at.utcoffset() == timedelta(0)
    assert "c01" not in found
    assert store.comments([]) == {}
    kept = store.add_comment(Comment("c01", "looked at it", "chris", T0 + 11 * H, "cli"))
    assert kept.id is not None
    assert store.change_marks() == (seq, kept.id)
    assert store.comments(["c01"])["c01"] == [kept]
    try:
        store.add_comment(Comment("c404", "lost", "chris", T0, "web"))
    except NotFound:
        pass
    else:
        raise AssertionError("a comment on an unknown intervention was kept")
    assert store.change_marks() == (seq, kept.id)


CONSOLE_CHECKS: tuple[Callable[[Store], None], ...] = (
    check_every_sort_in_both_directions_agrees_with_the_rules,
    check_filters_and_scopes_agree_with_the_rules,
    check_text_search_reads_words_ids_outcomes_and_comments,
    check_pages_cover_every_match_once,
    check_comments_round_trip_oldest_first_and_move_the_marks,
)
