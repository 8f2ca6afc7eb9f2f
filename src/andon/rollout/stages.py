"""The staged rollout of a new model version, one use case at a time: stages and their moves.

The plant's real path, one stage after the other (``Stage``), each with the lines where the
new version (the *challenger*) scores live or in shadow; production serves everything else:

================  =============================================================================
stage             the challenger ...
================  =============================================================================
shadow_pilot      scores in shadow on the pilot line (would-be interventions, never delivered)
live_pilot_shift  is live on the pilot line during one shift (operators may override it,
                  with a reason), in shadow there the rest of the time
live_pilot        is live on the pilot line, all shifts
shadow_wide       is live where it was, and in shadow on further lines
live_wide         is live on those lines too (a phase; more phases go back to shadow_wide
                  with still more lines)
complete          is live on every line of the use case
withdrawn         is gone: production serves every line again
================  =============================================================================

One function moves a rollout (``move``): ``advance`` (to the next stage, once its gate is met:
``andon.rollout.gate``), ``back`` (to the configuration before the last move, one command),
``withdraw`` (stop it). Every move is kept as a ``Step`` (who, when, why, the gate's figures):
the history is append-only, ``back`` adds a step too.

>>> from andon.clock import utc
>>> r = start("pump-bearing", "pump-bearing", "4", pilot="cooling-water",
...           at=utc(2026, 3, 2), by="ana", reason="v4 beats v3 on replay")
>>> r.stage, r.shadow_lines, r.live_lines
(<Stage.SHADOW_PILOT: 'shadow_pilot'>, ('cooling-water',), ())
>>> r = move(r, Action.ADVANCE, at=utc(2026, 3, 9), by="ana", reason="gate met",
...          shift="early", all_lines=("cooling-water", "process-water"))
>>> r.stage, r.shift
(<Stage.LIVE_PILOT_SHIFT: 'live_pilot_shift'>, 'early')
>>> move(r, Action.BACK, at=utc(2026, 3, 9, 8), by="ana", reason="operators unsure").stage
<Stage.SHADOW_PILOT: 'shadow_pilot'>
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from andon.errors import RolloutError

__all__ = ["Action", "Check", "Rollout", "Stage", "Step", "from_doc", "move", "start", "to_doc"]


class Stage(StrEnum):
    """Where a rollout stands (module doc)."""

    SHADOW_PILOT = "shadow_pilot"
    LIVE_PILOT_SHIFT = "live_pilot_shift"
    LIVE_PILOT = "live_pilot"
    SHADOW_WIDE = "shadow_wide"
    LIVE_WIDE = "live_wide"
    COMPLETE = "complete"
    WITHDRAWN = "withdrawn"

    @property
    def ended(self) -> bool:
        """A stage no move leaves but ``start`` (a new rollout) or, for complete, ``back``."""
        return self in {Stage.COMPLETE, Stage.WITHDRAWN}

    @property
    def gated(self) -> bool:
        """Leaving it forward needs its gate met (every stage but the ended ones)."""
        return not self.ended


class Action(StrEnum):
    """What a person asks of a rollout."""

    ADVANCE = "advance"
    BACK = "back"
    WITHDRAW = "withdraw"


@dataclass(frozen=True, slots=True)
class Check:
    """One limit of a gate against the figure measured: ``ok`` or what is missing."""

    name: str  # e.g. "min_precision"
    limit: float
    value: float | None  # None: not measurable yet (e.g. no labelled event)
    ok: bool
    text: str  # "precision 0.43 < 0.50 (min)", "7.0 d in the stage >= 7.0 d (min)"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"name": self.name, "limit": self.limit, "value": self.value, "ok": self.ok,
                "text": self.text}


@dataclass(frozen=True, slots=True)
class Step:
    """One move of a rollout: the configuration it led to, who made it, when and why."""

    stage: Stage
    at: datetime
    by: str
    reason: str
    live_lines: tuple[str, ...] = ()
    shadow_lines: tuple[str, ...] = ()
    shift: str | None = None  # live_pilot_shift: the shift the challenger is live in
    back_to: int | None = None  # index of the step ``back`` returns to
    checks: tuple[Check, ...] = ()  # the gate's figures when it was advanced

    @property
    def where(self) -> str:
        """Where the challenger runs after this step, in words ('' when nowhere).

        >>> from andon.clock import utc
        >>> Step(Stage.LIVE_PILOT_SHIFT, utc(2026, 3, 2), "dana", "r",
        ...      live_lines=("cooling-water",), shadow_lines=("cooling-water",),
        ...      shift="early").where
        'live on cooling-water in shift early; shadow on cooling-water outside it'
        """
        where = []
        if self.live_lines:
            where.append(f"live on {', '.join(self.live_lines)}"
                         + (f" in shift {self.shift}" if self.shift else ""))
        if self.shadow_lines:
            where.append(f"shadow on {', '.join(self.shadow_lines)}"
                         + (" outside it" if self.shift else ""))
        return "; ".join(where)


@dataclass(frozen=True, slots=True)
class Rollout:
    """A use case's rollout of one model version; its current state is its last step."""

    use_case: str
    model: str
    version: str
    steps: tuple[Step, ...] = field(default=())

    @property
    def current(self) -> Step:
        """The last step."""
        return self.steps[-1]

    @property
    def stage(self) -> Stage:
        """The stage it stands in."""
        return self.current.stage

    @property
    def since(self) -> datetime:
        """When it entered the current stage."""
        return self.current.at

    @property
    def live_lines(self) -> tuple[str, ...]:
        """Lines where the challenger is live (in its shift only, at live_pilot_shift)."""
        return self.current.live_lines

    @property
    def shadow_lines(self) -> tuple[str, ...]:
        """Lines where the challenger scores in shadow."""
        return self.current.shadow_lines

    @property
    def shift(self) -> str | None:
        """At live_pilot_shift: the shift it is live in."""
        return self.current.shift

    @property
    def pilot(self) -> str:
        """The pilot line (the first step's)."""
        return self.steps[0].shadow_lines[0]

    @property
    def label(self) -> str:
        """``pump-bearing v4 on pump-bearing``."""
        return f"{self.model} v{self.version} on {self.use_case}"


def start(use_case: str, model: str, version: str, *, pilot: str, at: datetime, by: str,
          reason: str) -> Rollout:
    """A new rollout: the version in shadow on the pilot line."""
    return Rollout(use_case, model, version, (
        Step(Stage.SHADOW_PILOT, at, by, _reason(reason), shadow_lines=(pilot,)),))


def move(r: Rollout, action: Action, *, at: datetime, by: str, reason: str,
         lines: Sequence[str] = (), shift: str | None = None,
         all_lines: Sequence[str] = (), checks: Sequence[Check] = ()) -> Rollout:
    """The rollout after ``action`` (the one transition function; ``RolloutError`` if illegal).

    ``lines``: the further lines of an advance into shadow_wide; ``shift``: the shift of an
    advance into live_pilot_shift; ``all_lines``: every line of the use case (to know when it
    is live everywhere); ``checks``: the gate's figures, kept on the step (the caller has
    evaluated the gate: ``andon.rollout.gate``).
    """
    why = _reason(reason)
    cur = r.current
    here = len(r.steps) - 1
    if action is Action.WITHDRAW:
        if r.stage is Stage.WITHDRAWN:
            raise RolloutError(f"{r.label} is already withdrawn")
        return _then(r, Step(Stage.WITHDRAWN, at, by, why, back_to=here))
    if action is Action.BACK:
        if cur.back_to is None:
            return _then(r, Step(Stage.WITHDRAWN, at, by, why, back_to=here))
        prev = r.steps[cur.back_to]
        return _then(r, replace(prev, at=at, by=by, reason=why, checks=()))
    return _then(r, _advance(r, at=at, by=by, reason=why, lines=lines, shift=shift,
                             all_lines=all_lines, checks=tuple(checks)))


def _advance(r: Rollout, *, at: datetime, by: str, reason: str,
             lines: Sequence[str], shift: str | None, all_lines: Sequence[str],
             checks: tuple[Check, ...]) -> Step:
    cur, here = r.current, len(r.steps) - 1
    step = Step(r.stage, at, by, reason, back_to=here, checks=checks)
    pilot = (r.pilot,)
    if r.stage in {Stage.COMPLETE, Stage.WITHDRAWN}:
        raise RolloutError(f"{r.label} is {r.stage.value}: nothing to advance to; start a new "
                           "rollout")
    if r.stage is Stage.SHADOW_PILOT:
        if not shift:
            raise RolloutError(f"{r.label}: name the shift it goes live in first (--shift)")
        return replace(step, stage=Stage.LIVE_PILOT_SHIFT, live_lines=pilot,
                       shadow_lines=pilot, shift=shift)
    if r.stage is Stage.LIVE_PILOT_SHIFT:
        return replace(step, stage=Stage.LIVE_PILOT, live_lines=pilot)
    if r.stage is Stage.SHADOW_WIDE:
        return replace(step, stage=Stage.LIVE_WIDE,
                       live_lines=tuple(sorted({*cur.live_lines, *cur.shadow_lines})))
    # live_pilot, live_wide: shadow on further lines, or complete when live everywhere
    live = set(cur.live_lines)
    if lines:
        unknown = sorted(set(lines) - set(all_lines))
        if unknown:
            raise RolloutError(f"{r.label}: the use case watches nothing on line "
                               f"{', '.join(unknown)}; its lines: {', '.join(all_lines)}")
        already = sorted(set(lines) & live)
        if already:
            raise RolloutError(f"{r.label} is already live on {', '.join(already)}")
        return replace(step, stage=Stage.SHADOW_WIDE, live_lines=cur.live_lines,
                       shadow_lines=tuple(sorted(set(lines))))
    rest = sorted(set(all_lines) - live)
    if rest:
        raise RolloutError(f"{r.label}: name the further lines to shadow next (--line); not "
                           f"live yet on {', '.join(rest)}")
    return replace(step, stage=Stage.COMPLETE, live_lines=tuple(sorted(all_lines)))


def _then(r: Rollout, step: Step) -> Rollout:
    return replace(r, steps=(*r.steps, step))


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise RolloutError("say why (a reason is required for every rollout move)")
    return reason


def to_doc(r: Rollout) -> dict[str, Any]:
    """A JSON-ready document of a rollout (what the store keeps)."""
    return {"use_case": r.use_case, "model": r.model, "version": r.version,
            "steps": [{"stage": s.stage.value, "at": s.at.isoformat(), "by": s.by,
                       "reason": s.reason, "live_lines": list(s.live_lines),
                       "shadow_lines": list(s.shadow_lines), "shift": s.shift,
                       "back_to": s.back_to, "checks": [c.to_dict() for c in s.checks]}
                      for s in r.steps]}


def from_doc(doc: dict[str, Any]) -> Rollout:
    """The rollout a ``to_doc`` document holds."""
    return Rollout(doc["use_case"], doc["model"], str(doc["version"]), tuple(
        Step(Stage(s["stage"]), datetime.fromisoformat(s["at"]), s["by"], s["reason"],
             tuple(s["live_lines"]), tuple(s["shadow_lines"]), s["shift"], s["back_to"],
             tuple(Check(**c) for c in s["checks"]))
        for s in doc["steps"]))
