"""Finding interventions: whose they are (``Scope``), which ones (``InterventionQuery``), in order.

The console (ISA-18.2's alarm summary, adapted to owned actions) shows a person the
interventions of their sites, lines and roles, sorted and filtered, and the closed ones as a
searchable history. The rules are written once here as pure predicates and orderings
(``Scope.admits``, ``InterventionQuery.admits``, ``sort_key``); a store answers the same query
in SQL and the store conformance suite checks that it agrees with these.

Good means: the same query gives the same items in the same order on every store and surface
(web console, JSON API, live updates); a filter left empty filters nothing; text search reads
what a person remembers (asset, asset name, action, id, outcome detail, comments).

>>> from andon.testing.factories import make_intervention
>>> iv = make_intervention()
>>> Scope(sites=frozenset({"ghent"})).admits(iv), Scope(sites=frozenset({"porto"})).admits(iv)
(True, False)
>>> Scope(owner_roles=frozenset({"operator"}), assignee="ana").admits(iv)
False
>>> InterventionQuery(text="BEARING").admits(iv)
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from andon.interventions.lifecycle import FINAL_STATES, InterventionState, Priority

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime

    from andon.interventions.record import Intervention

__all__ = [
    "MAX_PAGE",
    "PRIORITY_ORDER",
    "STATE_ORDER",
    "InterventionPage",
    "InterventionQuery",
    "Scope",
    "SortKey",
    "ordered",
    "sort_key",
]

#: the most items one page of a query holds
MAX_PAGE = 1000

#: most urgent first: the order "priority" sorts by
PRIORITY_ORDER: tuple[Priority, ...] = (Priority.CRITICAL, Priority.HIGH, Priority.MEDIUM,
                                        Priority.LOW)
_S = InterventionState
#: what needs a person most first: the order "state" sorts by
STATE_ORDER: tuple[InterventionState, ...] = (
    _S.ESCALATED, _S.NEW, _S.ACKNOWLEDGED, _S.IN_PROGRESS, _S.DEFERRED, _S.SHELVED, _S.DONE,
    _S.DISMISSED, _S.EXPIRED)


class SortKey(StrEnum):
    """What a list is sorted by (ascending = the first thing to look at first)."""

    PRIORITY = "priority"  # critical first, then the nearest deadline
    STATE = "state"  # escalated, new, acknowledged, in progress, deferred, shelved, closed
    ASSET = "asset"  # by asset id, then newest
    AGE = "age"  # oldest first (longest waiting)
    DUE = "due"  # nearest deadline first
    NEWEST = "newest"  # newest first (the history's default)


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose interventions a person sees: their sites, lines and roles.

    ``sites``: site ids (None: every site). ``lines``: ``(site, line)`` pairs (None: every
    line of those sites). ``owner_roles``: None sees every role's; otherwise an intervention
    is admitted when its owner role is one of them, or it was raised for one of
    ``use_cases`` (the use cases those roles own, so one escalated away stays in view), or
    ``assignee`` took it.
    """

    sites: frozenset[str] | None = None
    lines: frozenset[tuple[str, str]] | None = None
    owner_roles: frozenset[str] | None = None
    use_cases: frozenset[str] = frozenset()
    assignee: str | None = None

    @property
    def is_all(self) -> bool:
        """True when nothing is left out."""
        return self.sites is None and self.lines is None and self.owner_roles is None

    def admits(self, iv: Intervention) -> bool:
        """Whether ``iv`` is in this scope."""
        if self.sites is not None and iv.site not in self.sites:
            return False
        if self.lines is not None and (iv.site, iv.line) not in self.lines:
            return False
        if self.owner_roles is None:
            return True
        return (iv.owner_role in self.owner_roles or iv.use_case in self.use_cases
                or (self.assignee is not None and iv.assignee == self.assignee))


@dataclass(frozen=True, slots=True)
class InterventionQuery:
    """One page of interventions: scope, open or closed, filters, text, order.

    Empty filters filter nothing. ``raised_after`` / ``raised_before`` bound the creation
    time (the age filter). ``text`` matches, case-insensitively, a part of the id, asset,
    asset name, action, outcome detail or any comment (``comments`` of ``admits``).
    """

    scope: Scope = field(default_factory=Scope)
    closed: bool | None = False  # False: open (inbox); True: done / dismissed / expired; None: both
    priorities: frozenset[Priority] = frozenset()
    states: frozenset[InterventionState] = frozenset()
    assets: frozenset[str] = frozenset()
    lines: frozenset[str] = frozenset()  # line ids
    raised_after: datetime | None = None
    raised_before: datetime | None = None
    text: str = ""
    sort: SortKey = SortKey.PRIORITY
    descending: bool = False
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE:
            raise ValueError(f"limit must be 1 to {MAX_PAGE}, got {self.limit}")
        if self.offset < 0:
            raise ValueError(f"offset must be 0 or more, got {self.offset}")

    @property
    def state_values(self) -> tuple[str, ...]:
        """The states asked for, within open or closed (all of that side when none is)."""
        side = [s for s in STATE_ORDER
                if self.closed is None or (s in FINAL_STATES) == self.closed]
        return tuple(s.value for s in side if not self.states or s in self.states)

    @property
    def needle(self) -> str:
        """The search text, trimmed and lower-cased ("" searches nothing)."""
        return self.text.strip().lower()

    def admits(self, iv: Intervention, comments: Iterable[str] = ()) -> bool:
        """Whether ``iv`` (with the bodies of its ``comments``) matches every filter."""
        checks = (
            self.scope.admits(iv),
            iv.state.value in self.state_values,
            not self.priorities or iv.priority in self.priorities,
            not self.assets or iv.asset in self.assets,
            not self.lines or iv.line in self.lines,
            self.raised_after is None or iv.created_at >= self.raised_after,
            self.raised_before is None or iv.created_at < self.raised_before,
        )
        if not all(checks):
            return False
        needle = self.needle
        if not needle:
            return True
        fields = (iv.id, iv.asset, iv.asset_name, iv.action, iv.outcome_detail, *comments)
        return any(needle in f.lower() for f in fields)


@dataclass(frozen=True, slots=True)
class InterventionPage:
    """One page of a query's answer and how many match in all."""

    items: tuple[Intervention, ...]
    total: int
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        """Whether more match after this page."""
        return self.offset + len(self.items) < self.total


def sort_key(sort: SortKey) -> tuple[str, ...]:
    """The order of ``sort`` as record fields, each ascending (the store mirrors this).

    Ties are always broken by creation time (newest first) and then id, so a page never
    shuffles. ``NEWEST`` is the one order whose first field runs newest first.
    """
    return {
        SortKey.PRIORITY: ("priority_rank", "deadline"),
        SortKey.STATE: ("state_rank", "deadline"),
        SortKey.ASSET: ("asset",),
        SortKey.AGE: ("created_at",),
        SortKey.DUE: ("deadline",),
        SortKey.NEWEST: (),
    }[sort]


def ordered(items: Sequence[Intervention], sort: SortKey, *,
            descending: bool = False) -> list[Intervention]:
    """``items`` in the order of ``sort`` (the pure twin of the store's ORDER BY)."""
    def rank(iv: Intervention) -> tuple[object, ...]:
        values = {"priority_rank": PRIORITY_ORDER.index(iv.priority),
                  "state_rank": STATE_ORDER.index(iv.state), "deadline": iv.deadline,
                  "asset": iv.asset, "created_at": iv.created_at}
        return tuple(values[k] for k in sort_key(sort))

    # ties: newest first, then id (stable sorts applied from the last key to the first)
    out = sorted(items, key=lambda iv: iv.id)
    out.sort(key=lambda iv: iv.created_at, reverse=True)
    out.sort(key=rank, reverse=descending)
    return out
