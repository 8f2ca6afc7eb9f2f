"""Model stages: the lifecycle of one model version, and the one function that moves it.

::

    candidate  -> production   promote (the model's previous production version is archived)
    candidate  -> archived     archive (never served)
    production -> archived     archive (replaced or withdrawn)
    archived   -> candidate    requalify (the first step of a rollback)

A version is born a candidate when it is registered (signed). Promoting it to production
archives the model's previous production version (that is the registry's job, not this
function's). An archived version can only come back as a candidate, so rolling back to an old
version is two deliberate, recorded steps (requalify, then promote), never a silent flip.
"""

from __future__ import annotations

from enum import StrEnum

from andon.errors import StageError

__all__ = ["ALLOWED", "Stage", "transition"]


class Stage(StrEnum):
    """Where a model version stands."""

    CANDIDATE = "candidate"  # registered and signed; not served by any edge
    PRODUCTION = "production"  # the one version per model name the edges load and serve
    ARCHIVED = "archived"  # retired (replaced or withdrawn); kept for lineage, never served


#: current stage -> stages it may move to
ALLOWED: dict[Stage, frozenset[Stage]] = {
    Stage.CANDIDATE: frozenset({Stage.PRODUCTION, Stage.ARCHIVED}),
    Stage.PRODUCTION: frozenset({Stage.ARCHIVED}),
    Stage.ARCHIVED: frozenset({Stage.CANDIDATE}),
}

_WHY = {
    (Stage.PRODUCTION, Stage.CANDIDATE): "archive it, then register a new version",
    (Stage.ARCHIVED, Stage.PRODUCTION): "requalify it as a candidate first",
}


def transition(current: Stage | str, target: Stage | str, model: str = "model") -> Stage:
    """Return ``target`` if a version in ``current`` may move there; ``StageError`` if not.

    >>> transition("candidate", "production")
    <Stage.PRODUCTION: 'production'>

    ``transition("archived", "production", "pump-bearing v1")`` raises ``StageError``:
    "pump-bearing v1: cannot move from archived to production (requalify it as a candidate
    first)".
    """
    try:
        cur, tgt = Stage(current), Stage(target)
    except ValueError:
        known = ", ".join(s.value for s in Stage)
        raise StageError(model, str(current), str(target), f"stages are {known}") from None
    if cur is tgt:
        raise StageError(model, cur.value, tgt.value, f"it is already {cur.value}")
    if tgt not in ALLOWED[cur]:
        why = _WHY.get((cur, tgt), f"{cur.value} may only move to "
                       + " or ".join(sorted(s.value for s in ALLOWED[cur])))
        raise StageError(model, cur.value, tgt.value, why)
    return tgt
