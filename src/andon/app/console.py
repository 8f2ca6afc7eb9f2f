"""The operator console's use cases: find, comment, act in bulk, follow what changes.

Whose interventions a person sees by default (``console_scope``) comes from the plant spec:
the login is a person of ``people:`` (same id); their ``site`` (none: every site), their
``lines`` (none: every line of those sites) and the login's role: the interventions it owns
now, those raised for the use cases their role owns (so one that escalated away stays in
view), and those they took. A role that owns nothing (not an owner of a use case nor in the
escalation chain: an administrator, a data scientist, a manager outside the chain) sees every
role's; a login that is no person of the spec sees everything, since nothing says where it
works. Engineers and administrators may widen to everything (``may_see_all``).

Bulk moves follow ISA-18.2: several selected items may be acknowledged at once, or shelved
at once with one reason and one limit; a move that needs a judgement per item (done,
deferred, dismissed, an outcome) is refused in bulk. Each item goes through ``move`` exactly
as a single action does, and reports its own result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from andon.app.interventions import move
from andon.audit import Event, EventKind
from andon.auth.access import Permission
from andon.errors import FeedbackError, Forbidden, LifecycleError, NotFound
from andon.feedback.comments import Comment, new_comment
from andon.interventions.lifecycle import InterventionState
from andon.interventions.query import InterventionPage, InterventionQuery, Scope

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from andon.app.context import Actor, Context
    from andon.spec.model import PlantSpec

__all__ = [
    "BULK_MAX",
    "BULK_MOVES",
    "BulkItem",
    "Commented",
    "Found",
    "LiveMarks",
    "bulk_move",
    "comment_on",
    "console_scope",
    "find_interventions",
    "live_changes",
    "may_see_all",
]

#: moves ISA-18.2 lets a person make on several selected items at once
BULK_MOVES = frozenset({InterventionState.ACKNOWLEDGED, InterventionState.SHELVED})
#: the most items one bulk action takes
BULK_MAX = 100
#: access levels that may widen the console to every site, line and role
_SEE_ALL = frozenset({"engineer", "admin"})


@dataclass(frozen=True, slots=True)
class Found:
    """One page of the console: the items, their comments, the scope used and if it is all."""

    page: InterventionPage
    comments: dict[str, list[Comment]]
    scope: Scope
    everyone: bool  # the caller asked for (and may see) everything


@dataclass(frozen=True, slots=True)
class Commented:
    """A comment kept, and the event that records it."""

    record: Comment
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class BulkItem:
    """What came of one item of a bulk action: done, or the one-line reason it was refused."""

    intervention_id: str
    ok: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class LiveMarks:
    """Where the store stands now, and which interventions in scope changed since a mark."""

    seq: int  # newest change_seq of any intervention
    comment: int  # newest comment id
    changed: tuple[str, ...]  # ids in the caller's scope written after the mark given


def may_see_all(access: str) -> bool:
    """Whether an access level may widen the console to every site, line and role."""
    return access in _SEE_ALL


def console_scope(spec: PlantSpec, actor: Actor) -> Scope:
    """The interventions ``actor`` sees by default (see the module doc); ``Scope()`` is all."""
    person = next((p for p in spec.people if p.id == actor.name), None)
    if person is None:
        return Scope()
    sites = None if person.site is None else frozenset({person.site})
    lines = None
    if person.lines:
        lines = frozenset((s.id, ln.id) for s, _, ln in spec.lines()
                          if ln.id in person.lines and (sites is None or s.id in sites))
    role = actor.role  # the login's role (what grants its access), the spec's person's by default
    owning = {uc.owner_role for uc in spec.use_cases} | set(spec.escalation_chain())
    if role not in owning:
        return Scope(sites=sites, lines=lines)
    use_cases = frozenset(uc.id for uc in spec.use_cases if uc.owner_role == role)
    return Scope(sites=sites, lines=lines, owner_roles=frozenset({role}),
                 use_cases=use_cases, assignee=actor.name)


def _scope(ctx: Context, actor: Actor, *, everyone: bool) -> Scope:
    actor.require(Permission.READ)
    if not everyone:
        return console_scope(ctx.spec, actor)
    if not may_see_all(actor.access):
        raise Forbidden(actor.name, actor.role, "see every site's and role's interventions "
                                                "(engineers and administrators may)")
    return Scope()


def find_interventions(ctx: Context, actor: Actor, query: InterventionQuery, *,
                       everyone: bool = False) -> Found:
    """One page of ``query`` within the actor's scope (everything if ``everyone`` and allowed).

    The query's own scope is replaced by the actor's. ``Forbidden`` when ``everyone`` is
    asked by an access level that may not widen (``may_see_all``).
    """
    scope = _scope(ctx, actor, everyone=everyone)
    page = ctx.store.find_interventions(replace(query, scope=scope))
    comments = ctx.store.comments([iv.id for iv in page.items])
    return Found(page=page, comments=comments, scope=scope, everyone=everyone)


def comment_on(ctx: Context, actor: Actor, intervention_id: str, body: str) -> Commented:
    """Write a note on an intervention (``feedback`` permission); recorded as an event.

    ``FeedbackError`` for an empty or too long comment; ``NotFound`` for an unknown id.
    """
    actor.require(Permission.FEEDBACK)
    comment = ctx.store.add_comment(new_comment(intervention_id, body, by=actor.name,
                                                at=ctx.clock.now(), via=actor.via.value))
    event = Event(EventKind.COMMENT, intervention_id, comment.body, comment.at, actor.name)
    ctx.store.add_event(event)
    return Commented(comment, (event,))


def bulk_move(ctx: Context, actor: Actor, intervention_ids: Sequence[str],
              target: InterventionState | str, *, reason: str = "",
              shelve_until: datetime | None = None) -> list[BulkItem]:
    """Acknowledge, or shelve, several interventions; one result per item, in the order given.

    Each item is a ``move`` of its own (its rules, its event); one refused does not stop the
    others. ``FeedbackError`` before anything is moved for a move ISA-18.2 keeps per item
    (done, deferred, dismissed...), no item or more than ``BULK_MAX``; ``Forbidden``
    without the ``feedback`` permission.
    """
    actor.require(Permission.FEEDBACK)
    try:
        state = InterventionState(target)
    except ValueError:
        raise FeedbackError(f"{target!r} is not a lifecycle state") from None
    if state not in BULK_MOVES:
        raise FeedbackError(f"{state.value} needs a judgement per intervention: only "
                            f"acknowledge and shelve are done in bulk")
    ids = list(dict.fromkeys(i for i in intervention_ids if i))
    if not ids:
        raise FeedbackError("select at least one intervention")
    if len(ids) > BULK_MAX:
        raise FeedbackError(f"{len(ids)} interventions selected; at most {BULK_MAX} at once")
    results = []
    for iv_id in ids:
        try:
            move(ctx, actor, iv_id, state, reason=reason, shelve_until=shelve_until)
        except (NotFound, LifecycleError, FeedbackError) as exc:
            results.append(BulkItem(iv_id, ok=False, reason=str(exc)))
        else:
            results.append(BulkItem(iv_id, ok=True))
    return results


def live_changes(ctx: Context, actor: Actor, *, after: int,
                 everyone: bool = False) -> LiveMarks:
    """The store's marks now, and the ids in the actor's scope written after ``after``.

    What a live view polls: it reloads its list when ``changed`` is not empty or a newer
    comment exists. At most the 500 changes after ``after`` are read (a view that far behind
    reloads anyway).
    """
    scope = _scope(ctx, actor, everyone=everyone)
    seq, comment = ctx.store.change_marks()
    changed = () if after >= seq else tuple(
        iv.id for _, iv in ctx.store.intervention_changes(after=after) if scope.admits(iv))
    return LiveMarks(seq=seq, comment=comment, changed=changed)
