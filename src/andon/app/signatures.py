"""Electronic signatures on changes to production, as the spec's ``governance`` demands.

With ``governance.esignatures``, promoting, archiving or requalifying a model version, every
rollout move and replacing the spec need the actor's signature: their password re-entered
(checked with the sign-in back-off, so a signature prompt is no password oracle) and the
meaning stated. The password is checked before the change; the signature is stored after the
change succeeded, bound to the hash of the record changed, and recorded in the audit chain.
With ``governance.two_person``, a promotion or a spec replacement also needs an earlier
signature on the same record (same hash) by somebody else, meaning ``authored`` or
``reviewed`` (``sign_record``); the actor then signs ``approved``. The governance that applies
is the spec in force before the change (a new spec cannot switch its own rules off).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from andon.app.context import Change
from andon.app.users import count_failed_sign_in, refuse_if_locked
from andon.audit import Event, EventKind, Meaning, Signature, record_hash
from andon.auth.access import verify_password
from andon.auth.throttle import user_key
from andon.errors import AuthError, SignatureRequired

if TYPE_CHECKING:
    from andon.app.context import Actor, Context
    from andon.auth.access import User
    from andon.registry import ModelRecord

__all__ = ["Approval", "SignatureIn", "approve", "model_record_hash", "sign_record",
           "spec_record_hash"]


#: how a second person signs a record of each kind that the two-person rule covers
_HOW = {"model": "andon registry sign", "spec": "andon spec sign"}


@dataclass(frozen=True, slots=True)
class SignatureIn:
    """What a person gives to sign: their password again, the meaning and why."""

    password: str
    meaning: Meaning = Meaning.APPROVED
    reason: str = ""

    def __repr__(self) -> str:
        return f"SignatureIn(meaning={self.meaning!r}, reason={self.reason!r})"


def model_record_hash(record: ModelRecord) -> str:
    """The hash of a model version as signed: its lineage and signing key, not its stage."""
    return record_hash({"model": record.name, "version": record.version,
                        "key_id": record.key_id, "signer": record.signer,
                        "meta": record.meta.to_json()})


def spec_record_hash(text: str) -> str:
    """The hash of a plant spec text as signed."""
    return record_hash({"spec": text})


@dataclass(frozen=True, slots=True)
class Approval:
    """A signature checked before a change (``approve``), stored once the change is done."""

    signer: User | None  # None: governance asks for no signature and none was given
    given: SignatureIn | None

    def record(self, ctx: Context, kind: str, record_id: str, hash_hex: str) -> tuple[Event, ...]:
        """Store the signature on the record changed; its audit entry (none if unsigned)."""
        if self.signer is None or self.given is None:
            return ()
        return _store(ctx, self.signer, self.given, kind=kind, record_id=record_id,
                      hash_hex=hash_hex).events


def _signer(ctx: Context, actor: Actor, given: SignatureIn) -> User:
    """The actor's login once the re-entered password checks (with the sign-in back-off)."""
    user = ctx.store.get_user(actor.name)
    if user is None or not user.password_hash or user.disabled:
        raise AuthError(f"{actor.name!r} is not a login of Andon that can sign; sign as "
                        "yourself (andon ... --user LOGIN, or through the API)")
    refuse_if_locked(ctx, [user_key(user.username)])
    if not verify_password(given.password, user.password_hash):
        count_failed_sign_in(ctx, user.username, address="signature", why="wrong password "
                             "re-entered to sign")
        raise AuthError("the password does not match: not signed, nothing changed")
    return user


def approve(ctx: Context, actor: Actor, *, action: str, kind: str, record_id: str,
            hash_hex: str | None, given: SignatureIn | None,
            two_person: bool = False) -> Approval:
    """Check what governance demands before ``action``; the ``Approval`` to record after.

    ``SignatureRequired`` naming what is missing: a signature, or (``two_person``) another
    person's earlier one on the same record; ``AuthError`` for a wrong password.
    """
    gov = ctx.spec.governance if ctx.plant is not None else None
    if gov is None or not gov.esignatures:
        return Approval(_signer(ctx, actor, given) if given else None, given)
    if given is None:
        raise SignatureRequired(f"{action} needs your electronic signature (the spec's "
                                "governance.esignatures): re-enter your password and state the "
                                "meaning (authored, reviewed or approved)")
    signer = _signer(ctx, actor, given)  # who signs, before what they may sign
    if two_person and gov.two_person:
        if given.meaning is not Meaning.APPROVED:
            raise SignatureRequired(f"{action} under the two-person rule is signed 'approved' "
                                    f"(not {given.meaning!s})")
        earlier = [s for s in ctx.store.signatures_for(kind, record_hash=hash_hex)
                   if s.username != actor.name and s.meaning is not Meaning.APPROVED]
        if not earlier:
            raise SignatureRequired(
                f"{action} needs another person's earlier signature (authored or reviewed) on "
                f"{record_id} (the spec's governance.two_person); {actor.name} cannot approve "
                f"alone: ask the author or a reviewer to sign it first ({_HOW[kind]})")
    return Approval(signer, given)


def sign_record(ctx: Context, actor: Actor, *, kind: str, record_id: str, hash_hex: str,
                given: SignatureIn) -> Change[Signature]:
    """Sign a record without changing it (an author or a reviewer, for the two-person rule)."""
    return _store(ctx, _signer(ctx, actor, given), given, kind=kind, record_id=record_id,
                  hash_hex=hash_hex)


def _store(ctx: Context, user: User, given: SignatureIn, *, kind: str, record_id: str,
           hash_hex: str) -> Change[Signature]:
    signature = Signature(kind, record_id, hash_hex, user.username,
                          user.display_name or user.username, given.meaning, ctx.clock.now(),
                          given.reason)
    ctx.store.add_signature(signature)
    event = Event(EventKind.SIGNATURE, f"{kind} {record_id}", signature.manifest(),
                  signature.at, user.username, record=signature.hash)
    ctx.store.add_event(event)
    return Change(signature, (event,))
