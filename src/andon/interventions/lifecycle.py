"""The intervention lifecycle (ISA-18.2 style): states, the legal moves, and the one function.

An intervention is born ``new`` when the decider raises it, for an owner role. Someone of that
role acknowledges it (and becomes its assignee), works on it and closes it; if nobody
acknowledges it in time, escalation (``andon.interventions.escalation``) hands it to the next
role. A nuisance can be shelved for a bounded time, after which it comes back as it was.

Legal moves (``LEGAL_MOVES``; ``transition`` refuses everything else, naming both states and
the legal targets):

==============  ========================================================================
from            to
==============  ========================================================================
new             acknowledged, dismissed, shelved, escalated, expired
escalated       acknowledged, dismissed, shelved, escalated, expired
acknowledged    in_progress, done, deferred, dismissed, shelved, expired
in_progress     done, deferred, dismissed
deferred        in_progress, done, dismissed, expired
shelved         (the state before shelving), dismissed, expired
done            none (final)
dismissed       none (final)
expired         none (final)
==============  ========================================================================

Rules on top of the table:

- ``dismissed``, ``deferred`` and ``shelved`` need a non-empty reason;
- ``shelved`` needs ``shelve_until`` after the move and at most ``max_shelve`` (24 h) later;
  ``expire_shelving`` brings the intervention back to the state it was shelved from once that
  instant has come (a person may also unshelve early by moving it back to that state);
- ``escalated`` comes only from ``new`` or ``escalated`` (an acknowledged intervention has an
  owner, so it never escalates); each escalation adds one to ``escalation_level`` and may hand
  the intervention to another role; coming back from the shelf to ``escalated`` is not a new
  escalation;
- ``acknowledged`` and ``in_progress`` make the person who moved it the assignee;
- time never runs backwards within one intervention's history.

Every move, including the one that raised the intervention, is kept in ``history`` as a
``TransitionRecord`` with who, when and why, so the record is its own audit trail and the
escalation timer can be recomputed from it after a restart.

>>> from andon.clock import utc
>>> iv = new_lifecycle("rec-1", Priority.HIGH, "operator", by="andon", at=utc(2026, 1, 5, 8))
>>> iv, _ = transition(iv, InterventionState.ACKNOWLEDGED, by="ana", at=utc(2026, 1, 5, 8, 4))
>>> iv.state, iv.assignee
(<InterventionState.ACKNOWLEDGED: 'acknowledged'>, 'ana')
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from andon.errors import LifecycleError

__all__ = [
    "DEFAULT_MAX_SHELVE",
    "FINAL_STATES",
    "LEGAL_MOVES",
    "InterventionLifecycle",
    "InterventionState",
    "Priority",
    "TransitionRecord",
    "describe_duration",
    "expire_shelving",
    "legal_targets",
    "new_lifecycle",
    "transition",
]


class InterventionState(StrEnum):
    """Where an intervention stands (ISA-18.2 alarm states, adapted to owned actions)."""

    NEW = "new"  # raised, nobody has taken it yet; the acknowledge timer runs
    ACKNOWLEDGED = "acknowledged"  # someone of the owner role has seen it and owns it
    IN_PROGRESS = "in_progress"  # the assignee is doing the action
    DONE = "done"  # the action was done; final (becomes an "acted" label)
    DEFERRED = "deferred"  # the owner will act later (reason kept); stays in the inbox
    DISMISSED = "dismissed"  # judged not needed (reason kept as a label); final
    SHELVED = "shelved"  # hidden until ``shelved_until`` (reason kept), then back as it was
    ESCALATED = "escalated"  # not acknowledged in time; handed up the escalation chain
    EXPIRED = "expired"  # closed without an answer (deadline or condition passed); final


class Priority(StrEnum):
    """How urgent an intervention is; sets its acknowledge limit (see ``EscalationPolicy``)."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


_S = InterventionState

#: current state -> states ``transition`` may move it to (shelved may also go back to the state
#: it was shelved from; see ``legal_targets``)
LEGAL_MOVES: dict[InterventionState, frozenset[InterventionState]] = {
    _S.NEW: frozenset({_S.ACKNOWLEDGED, _S.DISMISSED, _S.SHELVED, _S.ESCALATED, _S.EXPIRED}),
    _S.ESCALATED: frozenset({_S.ACKNOWLEDGED, _S.DISMISSED, _S.SHELVED, _S.ESCALATED,
                             _S.EXPIRED}),
    _S.ACKNOWLEDGED: frozenset({_S.IN_PROGRESS, _S.DONE, _S.DEFERRED, _S.DISMISSED, _S.SHELVED,
                                _S.EXPIRED}),
    _S.IN_PROGRESS: frozenset({_S.DONE, _S.DEFERRED, _S.DISMISSED}),
    _S.DEFERRED: frozenset({_S.IN_PROGRESS, _S.DONE, _S.DISMISSED, _S.EXPIRED}),
    _S.SHELVED: frozenset({_S.DISMISSED, _S.EXPIRED}),
    _S.DONE: frozenset(),
    _S.DISMISSED: frozenset(),
    _S.EXPIRED: frozenset(),
}

#: states an intervention never leaves
FINAL_STATES = frozenset(s for s, targets in LEGAL_MOVES.items() if not targets)

#: moves that need a non-empty reason
_NEEDS_REASON = frozenset({_S.DISMISSED, _S.DEFERRED, _S.SHELVED})
#: moves that make the mover the assignee
_TAKES_OWNERSHIP = frozenset({_S.ACKNOWLEDGED, _S.IN_PROGRESS})

#: longest shelving ``transition`` accepts unless told otherwise
DEFAULT_MAX_SHELVE = timedelta(hours=24)

#: why some illegal moves are refused, beyond the table
_WHY: dict[tuple[InterventionState, InterventionState], str] = {
    (_S.ACKNOWLEDGED, _S.ESCALATED): "only new or escalated interventions escalate; "
                                     "an acknowledged one has an owner",
    (_S.IN_PROGRESS, _S.ESCALATED): "only new or escalated interventions escalate; "
                                    "one in progress has an owner",
    (_S.DEFERRED, _S.ESCALATED): "only new or escalated interventions escalate; "
                                 "a deferred one has an owner",
    (_S.NEW, _S.IN_PROGRESS): "acknowledge it first",
    (_S.NEW, _S.DONE): "acknowledge it first",
    (_S.NEW, _S.DEFERRED): "acknowledge it first",
    (_S.ESCALATED, _S.IN_PROGRESS): "acknowledge it first",
    (_S.ESCALATED, _S.DONE): "acknowledge it first",
    (_S.ESCALATED, _S.DEFERRED): "acknowledge it first",
}


@dataclass(frozen=True, slots=True)
class TransitionRecord:
    """One move of an intervention: from where to where, who, when and why.

    ``from_state`` is None only for the record that raised the intervention.
    """

    from_state: InterventionState | None
    to_state: InterventionState
    by: str
    at: datetime
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (ISO datetimes, state values)."""
        return {
            "from_state": None if self.from_state is None else self.from_state.value,
            "to_state": self.to_state.value,
            "by": self.by,
            "at": self.at.isoformat(),
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TransitionRecord:
        """Inverse of ``to_dict``."""
        src = data["from_state"]
        return cls(
            from_state=None if src is None else InterventionState(src),
            to_state=InterventionState(data["to_state"]),
            by=str(data["by"]),
            at=datetime.fromisoformat(data["at"]),
            reason=str(data["reason"]),
        )


@dataclass(frozen=True, slots=True)
class InterventionLifecycle:
    """Where one intervention stands, who owns it, and every move it made (oldest first)."""

    id: str
    priority: Priority
    state: InterventionState
    owner_role: str
    assignee: str | None
    shelved_until: datetime | None
    escalation_level: int
    history: tuple[TransitionRecord, ...]

    @property
    def raised_at(self) -> datetime:
        """When the intervention was raised (its first record)."""
        return self.history[0].at

    @property
    def last_change(self) -> datetime:
        """When it last moved."""
        return self.history[-1].at

    @property
    def is_final(self) -> bool:
        """True once it can no longer move."""
        return self.state in FINAL_STATES

    @property
    def shelved_from(self) -> InterventionState | None:
        """The state it was shelved from, while shelved; None otherwise."""
        if self.state is not _S.SHELVED:
            return None
        return self.history[-1].from_state

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields; ``from_dict`` rebuilds an equal record."""
        return {
            "id": self.id,
            "priority": self.priority.value,
            "state": self.state.value,
            "owner_role": self.owner_role,
            "assignee": self.assignee,
            "shelved_until": None if self.shelved_until is None
            else self.shelved_until.isoformat(),
            "escalation_level": self.escalation_level,
            "history": [t.to_dict() for t in self.history],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InterventionLifecycle:
        """Inverse of ``to_dict``."""
        until = data["shelved_until"]
        return cls(
            id=str(data["id"]),
            priority=Priority(data["priority"]),
            state=InterventionState(data["state"]),
            owner_role=str(data["owner_role"]),
            assignee=None if data["assignee"] is None else str(data["assignee"]),
            shelved_until=None if until is None else datetime.fromisoformat(until),
            escalation_level=int(data["escalation_level"]),
            history=tuple(TransitionRecord.from_dict(t) for t in data["history"]),
        )


def new_lifecycle(intervention_id: str, priority: Priority, owner_role: str, *, by: str,
                      at: datetime, reason: str = "raised") -> InterventionLifecycle:
    """A ``new`` intervention for ``owner_role``, raised by ``by`` at ``at``."""
    if at.tzinfo is None:
        raise ValueError(f"intervention {intervention_id}: 'at' must be timezone-aware")
    if not by.strip():
        raise ValueError(f"intervention {intervention_id}: 'by' must name who raised it")
    first = TransitionRecord(None, _S.NEW, by, at, reason)
    return InterventionLifecycle(
        id=intervention_id, priority=Priority(priority), state=_S.NEW, owner_role=owner_role,
        assignee=None, shelved_until=None, escalation_level=0, history=(first,),
    )


def legal_targets(record: InterventionLifecycle) -> frozenset[InterventionState]:
    """States ``record`` may move to now (the table, plus the way back from the shelf)."""
    targets = LEGAL_MOVES[record.state]
    back = record.shelved_from
    return targets | {back} if back is not None else targets


def _listing(states: frozenset[InterventionState]) -> str:
    return ", ".join(sorted(s.value for s in states)) if states else "none"


def transition(  # noqa: C901, PLR0912 - one flat list of rules reads better than helpers
    record: InterventionLifecycle,
    target: InterventionState | str,
    *,
    by: str,
    at: datetime,
    reason: str = "",
    shelve_until: datetime | None = None,
    owner_role: str | None = None,
    max_shelve: timedelta = DEFAULT_MAX_SHELVE,
) -> tuple[InterventionLifecycle, TransitionRecord]:
    """Move ``record`` to ``target``; return the new record and the move's ``TransitionRecord``.

    ``owner_role`` hands the intervention to another role and is accepted on escalation only.
    Raises ``LifecycleError`` (naming both states and the legal targets) for a move outside
    the table or one that breaks a rule (reason missing, shelving expiry in the past or too far
    away, time running backwards).
    """
    current = record.state
    legal = legal_targets(record)
    legal_names = tuple(sorted(s.value for s in legal))
    try:
        tgt = InterventionState(target)
    except ValueError:
        known = ", ".join(s.value for s in InterventionState)
        raise LifecycleError(current.value, str(target), f"unknown state; states are {known}",
                             legal_names) from None

    def refuse(why: str) -> LifecycleError:
        return LifecycleError(current.value, tgt.value, why, legal_names)

    if tgt not in legal:
        if current in FINAL_STATES:
            raise refuse(f"{current.value} is final; legal: none")
        hint = _WHY.get((current, tgt))
        if hint is None and current is _S.SHELVED and tgt is not _S.SHELVED:
            hint = f"it was shelved from {record.shelved_from}, so it can only go back there"
        if hint is None and current is tgt:
            hint = f"it is already {current.value}"
        prefix = f"{hint}; " if hint else ""
        raise refuse(f"{prefix}legal: {_listing(legal)}")
    if not by.strip():
        raise refuse("say who makes the move ('by' is empty)")
    if at.tzinfo is None:
        raise refuse("'at' must be timezone-aware")
    if at < record.last_change:
        raise refuse(f"{at.isoformat()} is before its last change at "
                     f"{record.last_change.isoformat()}")
    if tgt in _NEEDS_REASON and not reason.strip():
        verb = {_S.DISMISSED: "dismissing", _S.DEFERRED: "deferring", _S.SHELVED: "shelving"}[tgt]
        raise refuse(f"{verb} needs a reason")
    if owner_role is not None and (tgt is not _S.ESCALATED or current is _S.SHELVED):
        raise refuse("the owner role changes only on escalation")
    if tgt is _S.SHELVED:
        if shelve_until is None:
            raise refuse("shelving needs an expiry (shelve_until)")
        if shelve_until.tzinfo is None:
            raise refuse("shelve_until must be timezone-aware")
        if shelve_until <= at:
            raise refuse(f"shelving expiry {shelve_until.isoformat()} is not after "
                         f"{at.isoformat()}")
        if shelve_until - at > max_shelve:
            raise refuse(f"shelving expiry {shelve_until.isoformat()} is more than "
                         f"{describe_duration(max_shelve)} after {at.isoformat()}")
    elif shelve_until is not None:
        raise refuse("shelve_until applies to shelving only")

    move = TransitionRecord(current, tgt, by, at, reason)
    new = replace(record, state=tgt, history=(*record.history, move),
                  shelved_until=shelve_until if tgt is _S.SHELVED else None)
    if tgt in _TAKES_OWNERSHIP:
        new = replace(new, assignee=by)
    if tgt is _S.ESCALATED and current is not _S.SHELVED:
        new = replace(new, escalation_level=record.escalation_level + 1, assignee=None,
                      owner_role=owner_role if owner_role is not None else record.owner_role)
    return new, move


def expire_shelving(
    record: InterventionLifecycle, now: datetime, *, by: str = "andon",
) -> tuple[InterventionLifecycle, TransitionRecord | None]:
    """Bring a shelved intervention back to the state it was shelved from once its expiry came.

    The move is recorded at the expiry instant (not at ``now``), so a late check leaves the
    same history as a punctual one. Anything else (not shelved, or not yet due) comes back
    unchanged, with None.
    """
    back = record.shelved_from
    until = record.shelved_until
    if back is None or until is None or now < until:
        return record, None
    return transition(record, back, by=by, at=until,
                      reason=f"shelving expired at {until.isoformat()}")


def describe_duration(delta: timedelta) -> str:
    """A duration as people read it, in whole seconds, largest units first.

    >>> describe_duration(timedelta(minutes=6, seconds=40)), describe_duration(timedelta(hours=24))
    ('6 min 40 s', '24 h')
    """
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n} {unit}" for n, unit in ((hours, "h"), (minutes, "min"), (secs, "s")) if n]
    return " ".join(parts) or "0 s"
