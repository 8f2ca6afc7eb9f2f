"""Escalation: an intervention nobody acknowledges in time goes to the next role in the chain.

Each priority has an acknowledge limit (critical 5 min, high 15 min, medium 30 min, low 4 h by
default). The timer starts when the intervention is raised, and again at each escalation (or
when it comes back from the shelf into ``new`` or ``escalated``). When it runs out, the
intervention escalates from its owner role to the next role in the chain (default operator →
maintenance_planner → reliability_engineer → shift_lead → plant_manager, in rank order); an
owner role outside the chain enters it at its first role ranked above the owner
(``andon.spec.chain.next_role``: never down the hierarchy unless the policy allows it). At the
end of the chain it stays escalated and is reported once as "chain exhausted".

``due_escalations`` is a pure function of the stored records and ``now``: nothing lives in
memory, so a service that restarts mid-timer escalates at the same instant, not earlier, not
later, and not twice. Each ``Escalation`` carries the instant it became due (not the instant
it was noticed), and ``apply_escalation`` records the move at that instant, so a late check
catches up exactly.

>>> from andon.clock import utc
>>> from andon.interventions.lifecycle import Priority, new_lifecycle
>>> policy = EscalationPolicy.default()
>>> iv = new_lifecycle("rec-7", Priority.HIGH, "operator", by="andon",
...                         at=utc(2026, 1, 5, 8, 0))
>>> due_escalations([iv], policy, utc(2026, 1, 5, 8, 14, 59))
[]
>>> [esc] = due_escalations([iv], policy, utc(2026, 1, 5, 8, 15))
>>> esc.due_at.time(), esc.to_role
(datetime.time(8, 15), 'maintenance_planner')

A service that was down from 08:10 to 09:30 catches up exactly, step by step up the chain,
and the chain is exhausted (reported once) one limit after the plant manager got it:

>>> records, done = escalate([iv], policy, utc(2026, 1, 5, 9, 30))
>>> for e in done:
...     print(f"{e.due_at:%H:%M} level {e.level}: {e.from_role} -> {e.to_role}")
08:15 level 1: operator -> maintenance_planner
08:30 level 2: maintenance_planner -> reliability_engineer
08:45 level 3: reliability_engineer -> shift_lead
09:00 level 4: shift_lead -> plant_manager
09:15 level 5: plant_manager -> None
>>> done[0].reason
'not acknowledged within 15 min; escalated from operator to maintenance_planner'
>>> done[-1].reason
'chain exhausted: not acknowledged within 15 min; stays with plant_manager'
>>> records[0].owner_role, records[0].state.value
('plant_manager', 'escalated')
>>> due_escalations(records, policy, utc(2026, 1, 6))
[]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from andon.interventions.lifecycle import (
    InterventionLifecycle,
    InterventionState,
    Priority,
    TransitionRecord,
    describe_duration,
    expire_shelving,
    transition,
)
from andon.interventions.record import SYSTEM, Intervention
from andon.spec.chain import DEFAULT_RANKS, next_role
from andon.units import parse_duration_s

if TYPE_CHECKING:
    from andon.spec.model import PlantSpec

__all__ = [
    "CHAIN_EXHAUSTED",
    "DEFAULT_CHAIN",
    "DEFAULT_LIMITS",
    "Escalation",
    "EscalationPolicy",
    "advance",
    "apply_escalation",
    "due_escalations",
    "escalate",
    "next_escalation",
    "policy_from_spec",
]

#: acknowledge limit per priority, by default
DEFAULT_LIMITS: dict[Priority, timedelta] = {
    Priority.CRITICAL: timedelta(minutes=5),
    Priority.HIGH: timedelta(minutes=15),
    Priority.MEDIUM: timedelta(minutes=30),
    Priority.LOW: timedelta(hours=4),
}
#: roles an unacknowledged intervention climbs, by default: in rank order (``DEFAULT_RANKS``)
DEFAULT_CHAIN: tuple[str, ...] = ("operator", "maintenance_planner", "reliability_engineer",
                                  "shift_lead", "plant_manager")
#: how the reason of the move that reports an exhausted chain starts (it is reported once)
CHAIN_EXHAUSTED = "chain exhausted"

_TIMED = frozenset({InterventionState.NEW, InterventionState.ESCALATED})
#: most escalations ``escalate`` applies to one record in one call (a guard, never reached
#: with a finite chain: after the chain is exhausted nothing more is due)
_MAX_STEPS = 1000


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    """Acknowledge limits per priority, the chain of roles to escalate through, their ranks.

    ``ranks`` (role -> rank) says where an owner outside the chain enters it: at the first
    role ranked above it; with ``allow_down`` (or an owner without a rank) at its first role.
    An empty chain hands nothing over: an unacknowledged intervention is reported "chain
    exhausted" once and stays with its owner.
    """

    limits: Mapping[Priority, timedelta] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    chain: tuple[str, ...] = DEFAULT_CHAIN
    ranks: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_RANKS))
    allow_down: bool = False

    def __post_init__(self) -> None:
        missing = [p.value for p in Priority if p not in self.limits]
        if missing:
            raise ValueError(f"escalation.limits: no limit for {', '.join(missing)}")
        for p, limit in self.limits.items():
            if limit <= timedelta(0):
                raise ValueError(f"escalation.limits.{p}: {limit} is not a positive duration")
        if len(set(self.chain)) != len(self.chain):
            raise ValueError(f"escalation.chain: a role appears twice in {list(self.chain)}")

    @classmethod
    def default(cls) -> EscalationPolicy:
        """Critical 5 min, high 15 min, medium 30 min, low 4 h; operator → ... → plant_manager."""
        return cls()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EscalationPolicy:
        """Build from plain data, e.g. a spec section.

        ``{"limits": {"critical": "5min", "low": 14400}, "chain": ["operator", "shift_lead"],
        "ranks": {"operator": 10, "shift_lead": 40}, "allow_down": false}``; durations are
        seconds or strings such as '90s', '15min', '4h'; priorities, the chain, the ranks and
        ``allow_down`` left out keep their defaults. Errors name the key and the bad value
        (``ValueError``).
        """
        unknown = set(data) - {"limits", "chain", "ranks", "allow_down"}
        if unknown:
            raise ValueError(f"escalation: unknown key(s) {', '.join(sorted(unknown))} "
                             "(known: allow_down, chain, limits, ranks)")
        limits = dict(DEFAULT_LIMITS)
        for key, value in dict(data.get("limits", {})).items():
            try:
                priority = Priority(key)
            except ValueError:
                known = ", ".join(p.value for p in Priority)
                raise ValueError(f"escalation.limits: unknown priority {key!r} "
                                 f"(known: {known})") from None
            limits[priority] = _limit(key, value)
        chain = data.get("chain", DEFAULT_CHAIN)
        if isinstance(chain, str) or not all(isinstance(r, str) and r for r in chain):
            raise ValueError(f"escalation.chain: {chain!r} is not a list of role ids")
        if not chain:
            raise ValueError("escalation.chain: list at least one role")
        ranks = data.get("ranks", DEFAULT_RANKS)
        if not isinstance(ranks, Mapping) or not all(
                isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                for k, v in ranks.items()):
            raise ValueError(f"escalation.ranks: {ranks!r} is not a mapping of role id to an "
                             "integer rank")
        allow_down = data.get("allow_down", False)
        if not isinstance(allow_down, bool):
            raise ValueError(  # noqa: TRY004 - settings errors are ValueError naming the key
                f"escalation.allow_down: {allow_down!r} is not true or false")
        return cls(limits=limits, chain=tuple(chain), ranks=dict(ranks), allow_down=allow_down)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (limits in seconds); ``from_dict`` rebuilds an equal policy."""
        return {"limits": {p.value: self.limits[p].total_seconds() for p in Priority},
                "chain": list(self.chain), "ranks": dict(self.ranks),
                "allow_down": self.allow_down}

    def limit(self, priority: Priority) -> timedelta:
        """The acknowledge limit of ``priority``."""
        return self.limits[priority]

    def next_role(self, role: str) -> str | None:
        """The role after ``role`` in the chain, or None at its end (``spec.chain.next_role``).

        An owner role outside the chain enters it at its first role ranked above the owner.
        """
        return next_role(role, self.chain, self.ranks, allow_down=self.allow_down)


def _limit(key: str, value: object) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(  # noqa: TRY004 - settings errors are ValueError naming key and value
            f"escalation.limits.{key}: {value!r} is not a duration (e.g. '5min', '4h', 300)",
        )
    try:
        seconds = parse_duration_s(value)
    except Exception as exc:  # noqa: BLE001 - pint raises many kinds; all mean "not a duration"
        raise ValueError(f"escalation.limits.{key}: {value!r} is not a duration "
                         f"(e.g. '5min', '4h', 300): {exc}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"escalation.limits.{key}: {value!r} is not a positive duration")
    return timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class Escalation:
    """One escalation that is due: which intervention, when it became due, from whom to whom.

    ``to_role`` is None when the chain is exhausted: the intervention stays with
    ``from_role`` and this is reported once.
    """

    intervention_id: str
    priority: Priority
    due_at: datetime
    from_role: str
    to_role: str | None
    level: int  # escalation level after the move
    limit: timedelta

    @property
    def chain_exhausted(self) -> bool:
        """True when there is no role left to escalate to."""
        return self.to_role is None

    @property
    def reason(self) -> str:
        """The reason recorded on the move."""
        waited = f"not acknowledged within {describe_duration(self.limit)}"
        if self.to_role is None:
            return f"{CHAIN_EXHAUSTED}: {waited}; stays with {self.from_role}"
        return f"{waited}; escalated from {self.from_role} to {self.to_role}"

    def describe(self) -> str:
        """One line for logs and the inbox."""
        at = self.due_at.astimezone(UTC).strftime("%H:%M:%SZ")
        return f"{self.intervention_id} ({self.priority}): {self.reason} at {at}"


def _timer_start(record: InterventionLifecycle) -> datetime:
    """When the acknowledge timer started: the last move into new or escalated."""
    for move in reversed(record.history):
        if move.to_state in _TIMED:
            return move.at
    return record.raised_at


def _exhausted(record: InterventionLifecycle) -> bool:
    return any(m.to_state is InterventionState.ESCALATED and m.reason.startswith(CHAIN_EXHAUSTED)
               for m in record.history)


def next_escalation(record: InterventionLifecycle,
                    policy: EscalationPolicy) -> Escalation | None:
    """The next escalation of ``record`` whenever it falls, or None if it will never escalate.

    Only ``new`` and ``escalated`` interventions have a running timer; an exhausted chain is
    reported once and then never again.
    """
    if record.state not in _TIMED or _exhausted(record):
        return None
    limit = policy.limit(record.priority)
    return Escalation(
        intervention_id=record.id, priority=record.priority,
        due_at=_timer_start(record) + limit, from_role=record.owner_role,
        to_role=policy.next_role(record.owner_role), level=record.escalation_level + 1,
        limit=limit,
    )


def due_escalations(records: Iterable[InterventionLifecycle], policy: EscalationPolicy,
                    now: datetime) -> list[Escalation]:
    """Escalations due at or before ``now``: at most one per record, earliest first.

    A record whose service was down through several limits has only its next escalation
    here; apply it (``apply_escalation``) and ask again, or use ``escalate``.
    """
    due = [e for e in (next_escalation(r, policy) for r in records)
           if e is not None and e.due_at <= now]
    return sorted(due, key=lambda e: (e.due_at, e.intervention_id))


def apply_escalation(record: InterventionLifecycle, esc: Escalation, *,
                     by: str = "andon") -> tuple[InterventionLifecycle, TransitionRecord]:
    """Record ``esc`` on ``record`` (moved to ``escalated`` at ``esc.due_at``)."""
    if esc.intervention_id != record.id:
        raise ValueError(f"escalation of {esc.intervention_id} applied to {record.id}")
    return transition(record, InterventionState.ESCALATED, by=by, at=esc.due_at,
                      reason=esc.reason, owner_role=esc.to_role)


def escalate(records: Sequence[InterventionLifecycle], policy: EscalationPolicy,
             now: datetime, *, by: str = "andon",
             ) -> tuple[list[InterventionLifecycle], list[Escalation]]:
    """Apply every escalation due by ``now``, catching up several steps if need be.

    Returns the records (same order) and the escalations applied, earliest first.
    """
    out: list[InterventionLifecycle] = []
    applied: list[Escalation] = []
    for record in records:
        current = record
        for _ in range(_MAX_STEPS):
            esc = next_escalation(current, policy)
            if esc is None or esc.due_at > now:
                break
            current, _move = apply_escalation(current, esc, by=by)
            applied.append(esc)
        out.append(current)
    applied.sort(key=lambda e: (e.due_at, e.intervention_id))
    return out, applied


def policy_from_spec(spec: PlantSpec) -> EscalationPolicy:
    """The escalation policy of the spec's ``interventions`` section and its roles' ranks.

    A chain left out is every role of the spec that may act and has a rank, by rank
    (``PlantSpec.escalation_chain``).
    """
    section = spec.interventions
    return EscalationPolicy(
        limits={Priority(p): timedelta(seconds=s) for p, s in section.ack_limits.items()},
        chain=tuple(spec.escalation_chain()), ranks=spec.escalation_ranks(),
        allow_down=section.escalation_allow_down,
    )


def advance(iv: Intervention, policy: EscalationPolicy, now: datetime) -> Intervention:
    """``iv`` with every shelving expiry and escalation due by ``now`` applied (pure)."""
    lc, _ = expire_shelving(iv.lifecycle, now, by=SYSTEM)
    [lc], _ = escalate([lc], policy, now, by=SYSTEM)
    return iv if lc.history == iv.lifecycle.history else iv.with_lifecycle(lc)
