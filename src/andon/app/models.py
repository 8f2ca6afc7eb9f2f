"""Model versions: register (sign), promote, archive and requalify, each recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from andon.app.context import Change
from andon.auth.access import Permission
from andon.registry import ModelRecord, Registry

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from andon.app.context import Actor, Context
    from andon.audit import Event

__all__ = ["archive_model", "promote_model", "register_model", "requalify_model"]


def _registry(ctx: Context, events: list[Event], models_dir: Path | None = None) -> Registry:
    return Registry(ctx.store, ctx.clock, models_dir or ctx.models_dir,
                    trusted_keys=ctx.trusted_keys, record=ctx.record(events))


def register_model(ctx: Context, actor: Actor, name: str, version: int, *, key: Path,
                   models_dir: Path) -> Change[ModelRecord]:
    """Check a trained version loads, sign it with ``key`` and record it as a candidate."""
    actor.require(Permission.MANAGE_MODELS)
    events: list[Event] = []
    registry = _registry(ctx, events, models_dir)
    record = registry.register(registry.version_dir(name, version), key, actor.name)
    return Change(record, tuple(events))


def _stage_change(ctx: Context, actor: Actor,
                  change: Callable[[Registry, str], ModelRecord]) -> Change[ModelRecord]:
    """Run one registry stage change as ``actor`` (``manage_models``), with its events."""
    actor.require(Permission.MANAGE_MODELS)
    events: list[Event] = []
    record = change(_registry(ctx, events), actor.name)
    return Change(record, tuple(events))


def promote_model(ctx: Context, actor: Actor, name: str, version: int,
                  reason: str) -> Change[ModelRecord]:
    """Make a signed version production (the previous one is archived); reason required.

    The artifact is verified against the context's trusted keys first (``RegistryError``
    naming why when it does not verify, or when the context has no keys or models directory).
    """
    return _stage_change(ctx, actor, lambda r, by: r.promote(name, version, by, reason))


def archive_model(ctx: Context, actor: Actor, name: str, version: int,
                  reason: str) -> Change[ModelRecord]:
    """Retire a version so that no edge loads it again; reason required."""
    return _stage_change(ctx, actor, lambda r, by: r.archive(name, version, by, reason))


def requalify_model(ctx: Context, actor: Actor, name: str, version: int,
                    reason: str) -> Change[ModelRecord]:
    """Bring an archived version back as a candidate (the first step of a rollback)."""
    return _stage_change(ctx, actor, lambda r, by: r.requalify(name, version, by, reason))
