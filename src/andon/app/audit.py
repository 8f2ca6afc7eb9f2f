"""The audit trail for an inspector: verify it, anchor it with a signature, read it.

``verify_trail`` walks the whole hash chain (``andon.audit.chain``) and its signed anchors,
then checks that every login row is the one its newest audit entry recorded: a role, a
password hash or a ``disabled`` flag changed in the database behind Andon's back is named.
``anchor_trail`` signs the newest entry with an Ed25519 key (the registry's signing keys), so
deleting the newest entries is noticed too. Reading the trail needs ``change_spec``: it names
who signed in from where.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature

from andon.app.users import user_record
from andon.audit import Anchor, Event, EventKind, Verification, anchor_message, verify_chain
from andon.auth.access import Permission
from andon.errors import StoreError
from andon.registry.signing import key_id_of, load_private_key, trusted_keys

if TYPE_CHECKING:
    from pathlib import Path

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from andon.app.context import Actor, Context

__all__ = ["TrailReport", "anchor_trail", "read_trail", "verify_trail"]


@dataclass(frozen=True, slots=True)
class TrailReport:
    """What ``verify_trail`` found."""

    chain: Verification
    unchained: int  # events written before the chain began (release 0.1)
    head_seq: int  # the newest entry
    record_problems: tuple[str, ...]  # login rows that differ from their audit entry

    @property
    def ok(self) -> bool:
        """True when the chain is whole and every login row matches the trail."""
        return self.chain.ok and not self.record_problems

    def lines(self) -> list[str]:
        """The report in words, first the verdict."""
        c = self.chain
        head = (f"audit trail {'intact' if self.ok else 'BROKEN'}: {c.entries} entries "
                f"checked, {c.anchors} signed anchor(s)"
                + (f", newest at entry {c.newest_anchor}" if c.newest_anchor else ""))
        out = [head]
        if c.problem:
            out.append(f"first break: {c.problem}")
        out.extend(self.record_problems)
        if self.unchained:
            out.append(f"{self.unchained} older event(s) were written before the chain began "
                       "(not covered)")
        if c.ok and not c.anchors:
            out.append("no signed anchor yet: deleting the newest entries would not show "
                       "(andon audit anchor --key ...)")
        return out


def verify_trail(ctx: Context, actor: Actor, *, keys_dir: Path | None = None) -> TrailReport:
    """Walk the chain, its anchors (checked against ``keys_dir``) and the login rows."""
    actor.require(Permission.CHANGE_SPEC)
    store = ctx.store
    keys = trusted_keys(keys_dir) if keys_dir is not None else {}
    anchors = [Anchor(a.seq, a.hash, a.at, a.key_id,
                      valid=_signature_ok(keys, a.key_id, a.signature,
                                          anchor_message(a.seq, a.hash, a.at)))
               for a in store.anchors()]
    if keys_dir is None:  # nothing to check them with: still check the chain reaches them
        anchors = [Anchor(a.seq, a.hash, a.at, a.key_id, valid=True) for a in anchors]
    chain = verify_chain(store.chain_entries(), anchors)
    head_seq, _ = store.chain_head()
    return TrailReport(chain, store.unchained_events(), head_seq, tuple(_record_problems(ctx)))


def _signature_ok(keys: dict[str, Ed25519PublicKey], key_id: str, signature_hex: str,
                  message: bytes) -> bool:
    key = keys.get(key_id)
    if key is None:
        return False
    try:
        key.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _record_problems(ctx: Context) -> list[str]:
    """Login rows that are not what their newest USER entry recorded."""
    recorded = ctx.store.latest_record_hashes(str(EventKind.USER))
    problems = []
    for user in ctx.store.list_users():
        entry = recorded.get(user.username)
        if entry is None or entry[1] is None:
            problems.append(f"login {user.username!r} has no audit entry recording it: it was "
                            "created or changed in the database, outside Andon")
        elif entry[1] != user_record(user):
            problems.append(f"login {user.username!r} differs from what audit entry {entry[0]} "
                            "recorded (role, access, password or disabled changed in the "
                            "database, outside Andon)")
    return problems


def anchor_trail(ctx: Context, actor: Actor, private_key: Path) -> Event:
    """Sign the newest entry with ``private_key``; the anchor is itself recorded as an event."""
    actor.require(Permission.CHANGE_SPEC)
    key = load_private_key(private_key)
    key_id = key_id_of(key.public_key())
    seq, hash_hex = ctx.store.chain_head()
    if seq == 0:
        raise StoreError("the audit trail is empty: nothing to anchor")
    now = ctx.clock.now()
    signature = key.sign(anchor_message(seq, hash_hex, now)).hex()
    ctx.store.add_anchor(seq, hash_hex, now, key_id, signature)
    event = Event(EventKind.AUDIT_ANCHOR, f"entry {seq}",
                  f"audit chain signed at entry {seq} with key {key_id}", now, actor.name)
    ctx.store.add_event(event)
    return event


def read_trail(ctx: Context, actor: Actor, *, kind: str | None = None,
               subject: str | None = None, by: str | None = None,
               since: datetime | None = None, until: datetime | None = None,
               limit: int = 200, offset: int = 0) -> list[Event]:
    """Entries of the trail, newest first, filtered (``[since, until)``)."""
    actor.require(Permission.CHANGE_SPEC)
    return ctx.store.events(kind=kind, subject=subject, by=by, since=since, until=until,
                            limit=limit, offset=offset)
