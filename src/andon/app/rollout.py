"""Staged rollouts: start, look, advance (only when the gate is met), go back, withdraw.

Every move is checked here once, for every surface: the permission (``manage_models``), a
reason, a legal move (``andon.rollout.stages.move``) and, to advance, the stage's gate
evaluated from the challenger's track record on the stage's lines since the stage began
(``GateNotMet`` names each unmet figure against its limit). The figures are kept on the step
and in a ``rollout`` event with who and why.

``track_record`` is the one way the surfaces read the track record: it adds the rollouts'
coverage (where a challenger was live or in shadow) to ``andon.kpi.trackrecord``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from andon.app.context import Change
from andon.app.signatures import SignatureIn, approve
from andon.audit import Event, EventKind, Signature, record_hash
from andon.auth.access import Permission
from andon.errors import GateNotMet, NotFound, RolloutError
from andon.kpi.trackrecord import Mode, TrackRecord, merge, track_record_from
from andon.registry import Stage as ModelStage
from andon.registry import production_of
from andon.rollout import Action, Check, Rollout, Stage, coverage_of, evaluate, move, start, unmet
from andon.rollout.stages import to_doc

if TYPE_CHECKING:
    from andon.app.context import Actor, Context
    from andon.spec.model import Gate, PlantSpec, UseCase

__all__ = ["RolloutStatus", "advance_rollout", "rollout_back", "rollout_status",
           "start_rollout", "track_record", "withdraw_rollout"]


@dataclass(frozen=True, slots=True)
class RolloutStatus:
    """A use case's rollout now: stage, the gate's figures against its limits, the record."""

    use_case: str
    production: str | None  # the production version of the use case's model
    rollout: Rollout | None
    checks: tuple[Check, ...] = ()  # the gate of the current stage (empty when ended)
    record: TrackRecord | None = None  # the challenger's, on the stage's lines, in the stage
    next_stage: str = ""  # what advance leads to (or what it needs)
    history: tuple[str, ...] = field(default=())

    @property
    def gate_met(self) -> bool:
        """Every check of the current stage's gate passes (False when nothing to advance)."""
        return bool(self.checks) and not unmet(list(self.checks))

    @property
    def missing(self) -> list[str]:
        """What the gate still lacks, one line per unmet figure."""
        return [c.text for c in unmet(list(self.checks))]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the CLI's ``--json`` and the API's shape)."""
        r = self.rollout
        return {
            "use_case": self.use_case, "production": self.production,
            "model": None if r is None else r.model,
            "version": None if r is None else r.version,
            "stage": None if r is None else r.stage.value,
            "since": None if r is None else r.since.isoformat(),
            "live_lines": [] if r is None else list(r.live_lines),
            "shadow_lines": [] if r is None else list(r.shadow_lines),
            "shift": None if r is None else r.shift,
            "gate_met": self.gate_met, "checks": [c.to_dict() for c in self.checks],
            "missing": self.missing, "next": self.next_stage,
            "record": None if self.record is None else self.record.to_dict(),
            "history": list(self.history),
            "rollout": None if r is None else to_doc(r),
        }


def track_record(ctx: Context, *, start: datetime, end: datetime, model: str | None = None,
                 version: str | None = None, lines: Iterable[str] | None = None,
                 by: str = "line", mode: Mode | None = None,
                 use_cases: Iterable[str] | None = None) -> list[TrackRecord]:
    """The track records of ``[start, end)``, live and shadow, with the rollouts' coverage."""
    spec = ctx.spec
    cover = coverage_of(ctx.store.rollouts(), spec)
    return track_record_from(ctx.store, spec, start=start, end=end, model=model,
                             version=version, lines=lines, by=by, coverage=cover,
                             now=min(end, ctx.clock.now()), mode=mode, use_cases=use_cases)


def start_rollout(ctx: Context, actor: Actor, use_case: str, version: int, *, pilot: str,
                  reason: str, signature: SignatureIn | None = None) -> Change[Rollout]:
    """Put ``version`` of the use case's model in shadow on the pilot line."""
    actor.require(Permission.MANAGE_MODELS)
    uc = _use_case(ctx.spec, use_case)
    lines = _lines(ctx.spec, uc)
    if pilot not in lines:
        raise RolloutError(f"{use_case} watches nothing on line {pilot!r}; its lines: "
                           f"{', '.join(lines)}")
    try:
        record = ctx.store.get_model(uc.model, version)
    except NotFound:
        raise RolloutError(f"{uc.model} v{version} is not registered (andon registry "
                           "register)") from None
    if record.stage is not ModelStage.CANDIDATE:
        raise RolloutError(f"{record.label} is {record.stage.value}: only a signed candidate "
                           "is rolled out")
    now = ctx.clock.now()
    label, hash_hex = _move_record(_rollout_key(use_case, str(version), now), uc.model, 1,
                                   f"start on {pilot}", reason)
    approval = approve(ctx, actor, action=f"starting the rollout of {record.label}",
                       kind="rollout", record_id=label, hash_hex=hash_hex, given=signature)
    r = start(use_case, uc.model, str(version), pilot=pilot, at=now, by=actor.name,
              reason=reason)
    ctx.store.save_rollout(r, 0)
    return Change(r, (_event(ctx, r, actor, f"started: shadow on {pilot}: {r.current.reason}"),
                      *approval.record(ctx, "rollout", label, hash_hex)))


def rollout_status(ctx: Context, use_case: str | None = None) -> list[RolloutStatus]:
    """Each use case's (or one's) rollout with the current stage's gate evaluated now."""
    spec = ctx.spec
    chosen = [_use_case(spec, use_case)] if use_case is not None else list(spec.use_cases)
    models = ctx.store.list_models()
    out = []
    for uc in chosen:
        prod = production_of(models, uc.model)
        r = ctx.store.rollout(uc.id)
        production = None if prod is None else str(prod.version)
        if r is None:
            out.append(RolloutStatus(uc.id, production, None, next_stage="start a rollout"))
            continue
        checks, record = _gate(ctx, uc, r)
        out.append(RolloutStatus(uc.id, production, r, tuple(checks), record,
                                 _next(r, _lines(spec, uc)),
                                 tuple(_history(r, ctx.store.signatures_for("rollout")))))
    return out


def advance_rollout(ctx: Context, actor: Actor, use_case: str, *, reason: str,
                    lines: Sequence[str] = (), shift: str | None = None,
                    signature: SignatureIn | None = None) -> Change[Rollout]:
    """Move to the next stage if the current stage's gate is met; ``GateNotMet`` otherwise."""
    actor.require(Permission.MANAGE_MODELS)
    uc = _use_case(ctx.spec, use_case)
    r = _current(ctx, use_case)
    if shift is not None:
        _check_shift(ctx.spec, r, shift)
    checks, _record = _gate(ctx, uc, r)
    failing = unmet(checks)
    if failing:
        raise GateNotMet(f"{r.label}: the gate of {r.stage.value} is not met: "
                         + "; ".join(c.text for c in failing))
    label, hash_hex = _move_record(_key_of(r), r.model, len(r.steps) + 1,
                                   f"advance from {r.stage.value}", reason)
    approval = approve(ctx, actor, action=f"advancing {r.label}", kind="rollout",
                       record_id=label, hash_hex=hash_hex, given=signature)
    moved = move(r, Action.ADVANCE, at=ctx.clock.now(), by=actor.name, reason=reason,
                 lines=lines, shift=shift, all_lines=_lines(ctx.spec, uc), checks=checks)
    ctx.store.save_rollout(moved, len(r.steps))
    figures = "; ".join(c.text for c in checks)
    return Change(moved, (_event(ctx, moved, actor, f"advanced {r.stage.value} -> "
                                 f"{moved.stage.value}: {moved.current.reason} [{figures}]"),
                          *approval.record(ctx, "rollout", label, hash_hex)))


def rollout_back(ctx: Context, actor: Actor, use_case: str, *, reason: str,
                 signature: SignatureIn | None = None) -> Change[Rollout]:
    """Return to the configuration before the last move (withdrawn from the first stage)."""
    return _simple(ctx, actor, use_case, Action.BACK, reason, signature)


def withdraw_rollout(ctx: Context, actor: Actor, use_case: str, *, reason: str,
                     signature: SignatureIn | None = None) -> Change[Rollout]:
    """Stop the rollout: production serves every line again."""
    return _simple(ctx, actor, use_case, Action.WITHDRAW, reason, signature)


def _simple(ctx: Context, actor: Actor, use_case: str, action: Action,  # noqa: PLR0917
            reason: str, signature: SignatureIn | None) -> Change[Rollout]:
    actor.require(Permission.MANAGE_MODELS)
    r = _current(ctx, use_case, allow_complete=action is Action.BACK)
    verb = "back" if action is Action.BACK else "withdrawn"
    label, hash_hex = _move_record(_key_of(r), r.model, len(r.steps) + 1,
                                   f"{verb} from {r.stage.value}", reason)
    approval = approve(ctx, actor, action=f"moving {r.label} {verb}", kind="rollout",
                       record_id=label, hash_hex=hash_hex, given=signature)
    moved = move(r, action, at=ctx.clock.now(), by=actor.name, reason=reason)
    ctx.store.save_rollout(moved, len(r.steps))
    return Change(moved, (_event(ctx, moved, actor, f"{verb} {r.stage.value} -> "
                                 f"{moved.stage.value}: {moved.current.reason}"),
                          *approval.record(ctx, "rollout", label, hash_hex)))


def _rollout_key(use_case: str, version: str, started: datetime) -> str:
    """Names one rollout for good: use case, version and start (a use case has many)."""
    return f"{use_case} v{version} started {started.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def _key_of(r: Rollout) -> str:
    return _rollout_key(r.use_case, r.version, r.steps[0].at)


def _move_record(key: str, model: str, step: int, what: str,
                 reason: str) -> tuple[str, str]:
    """How a rollout move is named and hashed when it is signed."""
    label = f"{key} step {step}: {what}"
    return label, record_hash({"rollout": key, "model": model, "step": step, "move": what,
                               "reason": reason})


def _gate(ctx: Context, uc: UseCase, r: Rollout) -> tuple[list[Check], TrackRecord | None]:
    """The current stage's gate against the challenger's record there since it began."""
    if r.stage.ended:
        return [], None
    now = ctx.clock.now()
    live = r.stage in {Stage.LIVE_PILOT_SHIFT, Stage.LIVE_PILOT, Stage.LIVE_WIDE}
    lines = r.live_lines if live else r.shadow_lines
    records = track_record(ctx, start=r.since, end=max(now, r.since), model=r.model,
                           version=r.version, lines=lines, mode="live" if live else "shadow",
                           use_cases=[uc.id]) if now > r.since else []
    record = merge(records, ", ".join(lines)) or TrackRecord(
        r.model, r.version, ", ".join(lines), r.since, max(now, r.since),
        assets=sum(1 for _s, _a, line, _x in ctx.spec.use_case_assets(uc) if line.id in lines),
        mode="live" if live else "shadow")  # nothing raised, nothing failed: zeros
    gate: Gate = getattr(uc.gates, r.stage.value)
    return evaluate(gate, record, in_stage=now - r.since, live=live), record


def _next(r: Rollout, lines: list[str]) -> str:
    """What ``advance`` leads to from here, in words."""
    told = {
        Stage.SHADOW_PILOT: f"live on {r.pilot} for one shift (--shift NAME)",
        Stage.LIVE_PILOT_SHIFT: f"live on {r.pilot}, all shifts",
        Stage.SHADOW_WIDE: f"live on {', '.join(r.shadow_lines)} too",
        Stage.COMPLETE: "nothing: live everywhere (promote it in the registry)",
        Stage.WITHDRAWN: "nothing: start a new rollout",
    }.get(r.stage)
    rest = sorted(set(lines) - set(r.live_lines))
    return told or ("complete (live on every line)" if not rest
                    else f"shadow on further lines (--line: {', '.join(rest)})")


def _history(r: Rollout, signatures: Sequence[Signature] = ()) -> list[str]:
    """One line per step, with the electronic signature on it where there is one."""
    key = _key_of(r)
    signed = {s.record_id.split(": ", 1)[0]: s for s in signatures
              if s.record_id.startswith(key + " step ")}
    out = []
    for i, step in enumerate(r.steps, start=1):
        line = f"{step.at:%Y-%m-%d %H:%M} {step.stage.value} by {step.by}: {step.reason}"
        sig = signed.get(f"{key} step {i}")
        out.append(line + (f" [signed: {sig.manifest()}]" if sig is not None else ""))
    return out


def _current(ctx: Context, use_case: str, *, allow_complete: bool = False) -> Rollout:
    _use_case(ctx.spec, use_case)
    r = ctx.store.rollout(use_case)
    if r is None or r.stage is Stage.WITHDRAWN or (r.stage is Stage.COMPLETE
                                                  and not allow_complete):
        state = "no rollout" if r is None else f"its last rollout is {r.stage.value}"
        raise RolloutError(f"{use_case} has {state}; start one with andon rollout start")
    return r


def _check_shift(spec: PlantSpec, r: Rollout, shift: str) -> None:
    for site, _area, line in spec.lines():
        if line.id == r.pilot:
            names = [s.name for s in site.shifts]
            if shift not in names:
                raise RolloutError(f"site {site.id} has no shift {shift!r}; its shifts: "
                                   f"{', '.join(names) or 'none (add shifts: to the site)'}")


def _use_case(spec: PlantSpec, use_case: str) -> UseCase:
    try:
        return spec.use_case(use_case)
    except KeyError:
        raise RolloutError(f"no use case {use_case!r}; the spec's: "
                           f"{', '.join(u.id for u in spec.use_cases)}") from None


def _lines(spec: PlantSpec, uc: UseCase) -> list[str]:
    return sorted({line.id for _s, _a, line, _x in spec.use_case_assets(uc)})


def _event(ctx: Context, r: Rollout, actor: Actor, detail: str) -> Event:
    event = Event(EventKind.ROLLOUT, r.label, detail, r.current.at, actor.name)
    ctx.store.add_event(event)
    return event
