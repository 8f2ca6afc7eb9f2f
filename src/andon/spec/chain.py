"""Escalation chains: who gets an intervention nobody acknowledged, and the checks on them.

An unacknowledged intervention is handed from its owner role to the next role of the
plant's chain (``interventions.escalation_chain``). Good means it only reaches people who can
act on it, and never goes *down* the plant's hierarchy:

- **who may act**: a role whose access grants the ``feedback`` permission (operator, engineer,
  admin; ``ACTING_ACCESS``). A viewer can see an intervention but not acknowledge it, so an
  escalation to a viewer reaches nobody.
- **the hierarchy**: each role's ``rank`` (higher = more authority). A role that declares none
  takes the rank of its well-known id (``DEFAULT_RANKS``: operator 10, maintenance technician
  and maintenance planner 20, reliability engineer 30, shift lead, supervisor and maintenance
  manager 40, plant manager 50); any other role has no rank.
- **the chain**: as written in the spec, or, when the spec writes none, every role that may act
  and has a rank, lowest rank first (ties in the order of ``roles:``). An owner role in the
  chain hands over to the role after it; an owner outside it enters the chain at its first
  role ranked *above* the owner (none: the chain is exhausted at once, the intervention stays
  with its owner and is reported as escalated once).
- ``interventions.escalation_allow_down: true`` says a chain is meant as written: it may step
  down and hold roles without a rank, and an owner outside it enters at its first role.

``chain_problems`` is what ``andon spec check`` (every load of a spec) reports: one line per
problem, at the chain entry or the use case's ``owner_role``, naming the use cases (and their
owner roles) whose interventions would take the faulty step.

>>> next_role("maintenance_technician", ["operator", "shift_lead", "plant_manager"],
...           DEFAULT_RANKS)
'shift_lead'
>>> next_role("shift_lead", ["operator", "shift_lead", "plant_manager"], DEFAULT_RANKS)
'plant_manager'
>>> next_role("plant_manager", ["operator", "shift_lead"], DEFAULT_RANKS) is None
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from andon.spec.fields import unknown

if TYPE_CHECKING:
    from andon.spec.model import PlantSpec, Role, UseCase

__all__ = ["ACTING_ACCESS", "DEFAULT_RANKS", "chain_problems", "derived_chain", "next_role"]

Path = tuple[str | int, ...]

#: access levels that may act on interventions: those ``andon.auth`` grants ``feedback``
#: (``tests/spec/test_chain.py`` pins that the two agree)
ACTING_ACCESS = frozenset({"operator", "engineer", "admin"})

#: the rank of a well-known role id that declares none (higher = more authority)
DEFAULT_RANKS: Mapping[str, int] = {
    "operator": 10,
    "maintenance_technician": 20,
    "maintenance_planner": 20,
    "reliability_engineer": 30,
    "shift_lead": 40,
    "supervisor": 40,
    "maintenance_manager": 40,
    "plant_manager": 50,
}

_ALLOW = "interventions.escalation_allow_down: true"


def next_role(role: str, chain: Sequence[str], ranks: Mapping[str, int], *,
              allow_down: bool = False) -> str | None:
    """The role an intervention owned by ``role`` is handed to next, or None (chain exhausted).

    In the chain: the role after it. Outside: the first role ranked above ``role``; its first
    role with ``allow_down`` or when ``role`` has no rank (a spec that loads has neither
    without saying so).
    """
    if role in chain:
        i = list(chain).index(role)
        return chain[i + 1] if i + 1 < len(chain) else None
    if not chain:
        return None
    rank = ranks.get(role)
    if allow_down or rank is None:
        return chain[0]
    return next((r for r in chain if r in ranks and ranks[r] > rank), None)


def derived_chain(roles: Sequence[Role]) -> list[str]:
    """The chain of a spec that writes none: the roles that may act and have a rank, by rank."""
    ranked = [(rank, i, r.id) for i, r in enumerate(roles)
              if r.may_act and (rank := r.effective_rank) is not None]
    return [role for _, _, role in sorted(ranked)]


def chain_problems(spec: PlantSpec) -> list[tuple[Path, str]]:
    """The escalation chain's problems against the roles and use cases; (field path, reason).

    A chain the spec writes is checked role by role; a derived one is right by construction.
    Each use case's owner role is checked either way.
    """
    written = spec.interventions.escalation_chain is not None
    return [*(_written_chain_problems(spec) if written else []), *_owner_problems(spec)]


def _written_chain_problems(spec: PlantSpec) -> list[tuple[Path, str]]:
    """Each role of a written chain: known, may act, ranked and not below the one before."""
    chain = spec.escalation_chain()
    ranks = spec.escalation_ranks()
    roles = {r.id: (i, r) for i, r in enumerate(spec.roles)}
    allow = spec.interventions.escalation_allow_down
    reach = _reach(spec.use_cases, chain, ranks, allow_down=allow)
    problems: list[tuple[Path, str]] = []
    for i, role_id in enumerate(chain):
        path: Path = ("interventions", "escalation_chain", i)
        if role_id not in roles:
            problems.append((path, unknown("role", role_id, set(roles))))
            continue
        j, role = roles[role_id]
        who = _who(reach.get(i, []))
        if not role.may_act:
            problems.append((path, (
                f"{who} to '{role_id}', whose access {role.access} may not act on "
                "interventions (acknowledge, give feedback); give the role access operator "
                "or higher, or take it out of the chain")))
        rank = role.effective_rank
        before = chain[i - 1] if i else None
        if allow:
            continue
        if rank is None:
            problems.append((path, (
                f"role '{role_id}' has no rank, so the chain cannot be checked for steps "
                f"down; give it one (roles[{j}].rank, e.g. operator 10 ... plant_manager "
                f"50) or set {_ALLOW}")))
        elif before is not None and before in ranks and ranks[before] > rank:
            problems.append((path, (
                f"{who} down from '{before}' (rank {ranks[before]}) to '{role_id}' (rank "
                f"{rank}); put the chain in rank order, or set {_ALLOW} if that is meant")))
    return problems


def _owner_problems(spec: PlantSpec) -> list[tuple[Path, str]]:
    """Each use case's owner role: may act, and has a rank if it must enter the chain."""
    chain = spec.escalation_chain()
    roles = {r.id: (i, r) for i, r in enumerate(spec.roles)}
    allow = spec.interventions.escalation_allow_down
    problems: list[tuple[Path, str]] = []
    for k, uc in enumerate(spec.use_cases):
        if uc.owner_role not in roles:
            continue  # an unknown owner role is reported with the use case's references
        j, owner = roles[uc.owner_role]
        path = ("use_cases", k, "owner_role")
        if not owner.may_act:
            problems.append((path, (
                f"use case '{uc.id}': owner role '{owner.id}' (access {owner.access}) may not "
                "act on its interventions (acknowledge, give feedback); give the role access "
                "operator or higher, or choose another owner")))
        if chain and not allow and owner.id not in chain and owner.effective_rank is None:
            problems.append((path, (
                f"use case '{uc.id}': owner role '{owner.id}' is not in the escalation chain "
                "and has no rank, so where its interventions enter the chain is unknown; give "
                f"it one (roles[{j}].rank) or put it in interventions.escalation_chain")))
    return problems


def _reach(use_cases: Sequence[UseCase], chain: Sequence[str], ranks: Mapping[str, int], *,
           allow_down: bool) -> dict[int, list[UseCase]]:
    """Chain position -> the use cases whose interventions are handed to the role there."""
    reach: dict[int, list[UseCase]] = {}
    for uc in use_cases:
        first = next_role(uc.owner_role, chain, ranks, allow_down=allow_down)
        if first is None:
            continue
        for i in range(list(chain).index(first), len(chain)):
            reach.setdefault(i, []).append(uc)
    return reach


def _who(use_cases: Sequence[UseCase]) -> str:
    """``use case 'a' (owner x) escalates`` / ``use cases ... escalate`` / ``the chain steps``."""
    if not use_cases:
        return "the chain escalates"
    named = ", ".join(f"'{uc.id}' (owner {uc.owner_role})" for uc in use_cases)
    return f"use case {named} escalates" if len(use_cases) == 1 else (
        f"use cases {named} escalate")
