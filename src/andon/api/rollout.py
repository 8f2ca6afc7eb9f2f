"""Rollout routes: stage and gate (READ); start, advance, back, withdraw (MANAGE_MODELS).

The same use cases as ``andon rollout``:

- ``GET /api/rollouts``: every use case's rollout now, its gate's figures and what is missing.
- ``POST /api/rollouts/{use_case}/start`` ``{"version": 4, "pilot": "cooling-water",
  "reason": ...}``: a signed candidate in shadow on the pilot line.
- ``POST /api/rollouts/{use_case}/advance`` ``{"reason": ..., "shift": ..., "lines": [...]}``:
  409 naming each unmet figure unless the gate is met.
- ``POST /api/rollouts/{use_case}/back`` and ``/withdraw`` ``{"reason": ...}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from andon.api.schemas import MAX_STORED_INT, SignatureBody
from andon.app import (
    Actor,
    Context,
    advance_rollout,
    rollout_back,
    rollout_status,
    start_rollout,
    withdraw_rollout,
)
from andon.app.signatures import SignatureIn
from andon.auth.access import Permission
from andon.feedback.answers import Via
from andon.http.auth import Caller, needs

__all__ = ["RolloutOut", "rollout_router"]

Reader = Annotated[Caller, Depends(needs(Permission.READ))]
ModelManager = Annotated[Caller, Depends(needs(Permission.MANAGE_MODELS))]


class CheckOut(BaseModel):
    """One limit of a gate against the figure measured."""

    name: str
    limit: float
    value: float | None
    ok: bool
    text: str


class RolloutOut(BaseModel):
    """A use case's rollout now (``stage`` None: none yet)."""

    use_case: str
    production: str | None = Field(description="the production version of its model")
    model: str | None
    version: str | None
    stage: str | None
    since: str | None
    live_lines: list[str]
    shadow_lines: list[str]
    shift: str | None
    gate_met: bool
    checks: list[CheckOut]
    missing: list[str] = Field(description="what the gate still lacks, one line each")
    next: str = Field(description="what advance leads to")
    record: dict[str, Any] | None = Field(description="the challenger's track record in the "
                                          "stage (the fields of GET /api/track-record)")
    history: list[str]
    rollout: dict[str, Any] | None = Field(
        default=None, description="the rollout as stored, every step (what an edge that pulls "
        "its models from this service follows)")


class ReasonIn(BaseModel):
    """A move that needs a reason, and the signature where the spec's governance asks."""

    reason: str
    signature: SignatureBody | None = None

    def given(self) -> SignatureIn | None:
        """The signature for ``andon.app`` (None when none was sent)."""
        return None if self.signature is None else self.signature.given(self.reason)


class StartIn(ReasonIn):
    """Start a rollout."""

    version: int = Field(ge=1, le=MAX_STORED_INT)
    pilot: str


class AdvanceIn(ReasonIn):
    """Advance a rollout (``shift`` from shadow_pilot, ``lines`` from a live stage)."""

    shift: str | None = None
    lines: list[str] = Field(default_factory=list)


def rollout_router(ctx: Context) -> APIRouter:
    """Build the rollout routes over the application context."""
    router = APIRouter(prefix="/api", tags=["api"])

    def one(use_case: str) -> RolloutOut:
        [status] = rollout_status(ctx, use_case)
        return RolloutOut.model_validate(status.to_dict())

    @router.get("/rollouts")
    async def rollouts(caller: Reader) -> list[RolloutOut]:
        """Every use case's rollout: stage, gate figures against limits, what is missing."""
        del caller
        found = await run_in_threadpool(rollout_status, ctx)
        return [RolloutOut.model_validate(s.to_dict()) for s in found]

    @router.post("/rollouts/{use_case}/start")
    def start(use_case: str, body: StartIn, caller: ModelManager) -> RolloutOut:
        """Put a signed candidate version in shadow on a pilot line."""
        start_rollout(ctx, _actor(caller), use_case, body.version, pilot=body.pilot,
                      reason=body.reason, signature=body.given())
        return one(use_case)

    @router.post("/rollouts/{use_case}/advance")
    def advance(use_case: str, body: AdvanceIn, caller: ModelManager) -> RolloutOut:
        """Move to the next stage; 409 with each unmet figure unless the gate is met."""
        advance_rollout(ctx, _actor(caller), use_case, reason=body.reason, lines=body.lines,
                        shift=body.shift, signature=body.given())
        return one(use_case)

    @router.post("/rollouts/{use_case}/back")
    def back(use_case: str, body: ReasonIn, caller: ModelManager) -> RolloutOut:
        """Return to the previous stage (from the first: withdraw)."""
        rollout_back(ctx, _actor(caller), use_case, reason=body.reason,
                     signature=body.given())
        return one(use_case)

    @router.post("/rollouts/{use_case}/withdraw")
    def withdraw(use_case: str, body: ReasonIn, caller: ModelManager) -> RolloutOut:
        """Stop the rollout: production serves every line again."""
        withdraw_rollout(ctx, _actor(caller), use_case, reason=body.reason,
                         signature=body.given())
        return one(use_case)

    return router


def _actor(caller: Caller) -> Actor:
    return Actor.of(caller.user, Via.API)
