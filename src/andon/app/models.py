"""Model versions: register (sign), promote, archive and requalify, each recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from andon.app.context import Change
from andon.app.signatures import SignatureIn, approve, model_record_hash, sign_record
from andon.auth.access import Permission
from andon.registry import ModelRecord, Registry

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from andon.app.context import Actor, Context
    from andon.audit import Event, Signature

__all__ = ["archive_model", "promote_model", "register_model", "requalify_model", "sign_model"]


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


def _stage_change(ctx: Context, actor: Actor, name: str, version: int,
                  change: Callable[[Registry, str], ModelRecord], *, action: str,
                  signature: SignatureIn | None, two_person: bool = False,
                  ) -> Change[ModelRecord]:
    """Run one registry stage change as ``actor`` (``manage_models``), with its events.

    Under the spec's ``governance``, the actor's electronic signature is checked first and
    stored once the change is done, bound to the version's record hash (``andon.app.signatures``).
    """
    actor.require(Permission.MANAGE_MODELS)
    before = ctx.store.get_model(name, version)
    hash_hex = model_record_hash(before)
    approval = approve(ctx, actor, action=f"{action} {before.label}", kind="model",
                       record_id=before.label, hash_hex=hash_hex, given=signature,
                       two_person=two_person)
    events: list[Event] = []
    record = change(_registry(ctx, events), actor.name)
    events.extend(approval.record(ctx, "model", before.label, hash_hex))
    return Change(record, tuple(events))


def promote_model(ctx: Context, actor: Actor, name: str, version: int, reason: str, *,
                  signature: SignatureIn | None = None) -> Change[ModelRecord]:
    """Make a signed version production (the previous one is archived); reason required.

    The artifact is verified against the context's trusted keys first (``RegistryError``
    naming why when it does not verify, or when the context has no keys or models directory).
    Under ``governance.two_person``, somebody else must have signed the version first.
    """
    return _stage_change(ctx, actor, name, version,
                         lambda r, by: r.promote(name, version, by, reason), action="promoting",
                         signature=signature, two_person=True)


def archive_model(ctx: Context, actor: Actor, name: str, version: int, reason: str, *,
                  signature: SignatureIn | None = None) -> Change[ModelRecord]:
    """Retire a version so that no edge loads it again; reason required."""
    return _stage_change(ctx, actor, name, version,
                         lambda r, by: r.archive(name, version, by, reason), action="archiving",
                         signature=signature)


def requalify_model(ctx: Context, actor: Actor, name: str, version: int, reason: str, *,
                    signature: SignatureIn | None = None) -> Change[ModelRecord]:
    """Bring an archived version back as a candidate (the first step of a rollback)."""
    return _stage_change(ctx, actor, name, version,
                         lambda r, by: r.requalify(name, version, by, reason),
                         action="requalifying", signature=signature)


def sign_model(ctx: Context, actor: Actor, name: str, version: int,
               signature: SignatureIn) -> Change[Signature]:
    """Sign a version without changing it: its author or a reviewer, before a promotion."""
    actor.require(Permission.MANAGE_MODELS)
    record = ctx.store.get_model(name, version)
    return sign_record(ctx, actor, kind="model", record_id=record.label,
                       hash_hex=model_record_hash(record), given=signature)
