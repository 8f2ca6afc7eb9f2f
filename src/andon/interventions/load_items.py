"""Stored interventions as operator load (``andon.interventions.load``).

An operator position is the owner role an intervention was raised for, at its site
(``ghent/maintenance_planner``): the console whose attention it took, whoever it was later
escalated to. An intervention is closed at its first move into a final state (done, dismissed,
expired); its source is ``use_case/asset``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from andon.interventions.lifecycle import FINAL_STATES
from andon.interventions.load import LoadItem
from andon.interventions.record import Intervention

__all__ = ["closed_at", "load_items", "position_of"]


def closed_at(iv: Intervention) -> datetime | None:
    """When ``iv`` first reached a final state, or None while it is open."""
    for move in iv.lifecycle.history:
        if move.to_state in FINAL_STATES:
            return move.at
    return None


def position_of(iv: Intervention, raised_for: Callable[[str], str | None]) -> str:
    """``site/role``: the role the use case routes to (``raised_for``), else its owner now."""
    return f"{iv.site}/{raised_for(iv.use_case) or iv.owner_role}"


def load_items(ivs: Iterable[Intervention],
               raised_for: Callable[[str], str | None] = lambda _uc: None) -> list[LoadItem]:
    """One ``LoadItem`` per intervention: position, raised, closed, source."""
    return [LoadItem(position_of(r, raised_for), r.lifecycle.raised_at, closed_at(r),
                     f"{r.use_case}/{r.asset}") for r in ivs]
