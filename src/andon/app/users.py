"""Logins and API tokens: create, sign in, change a password, disable, delete, issue, revoke.

Every change to a login is an event that carries the hash of the login's row as it is after
the change (``user_record``), so ``andon audit verify`` notices a row changed in the database
behind Andon's back. A login's access comes from its role in the spec in force, looked up on
every request (``access_of``), not from what was stored when it was created.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from andon.app.context import Change
from andon.audit import Event, EventKind, record_hash
from andon.auth.access import (
    Permission,
    User,
    hash_password,
    hash_token,
    new_token,
    password_needs_rehash,
    verify_password,
)
from andon.auth.passwords import password_problems
from andon.auth.throttle import Backoff, address_key, user_key
from andon.errors import AuthError, NotFound, PasswordRejected, SignInLocked, SpecError

if TYPE_CHECKING:
    from andon.app.context import Actor, Context
    from andon.spec.model import PlantSpec

__all__ = [
    "IssuedToken",
    "access_of",
    "add_user",
    "change_password",
    "count_failed_sign_in",
    "delete_user",
    "issue_token",
    "refuse_if_locked",
    "revoke_token",
    "revoke_user_tokens",
    "set_user_disabled",
    "sign_in",
    "user_record",
]

#: what a refused sign-in says, whatever the reason (no hint which part was wrong)
SIGN_IN_FAILED = "wrong login name or password"
#: access of a login whose role is no longer in the spec: may do nothing
NO_ACCESS = "none"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just issued: shown once, only its hash is kept."""

    token: str
    username: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"IssuedToken(username={self.username!r}, expires_at={self.expires_at!r})"


def user_record(user: User | None, username: str = "") -> str:
    """The hash an audit entry keeps of a login's row (of its absence once deleted)."""
    if user is None:
        return record_hash({"username": username, "deleted": True})
    return record_hash({"username": user.username, "role": user.role, "access": user.access,
                        "display_name": user.display_name, "password": user.password_hash,
                        "disabled": user.disabled})


def access_of(spec: PlantSpec, user: User) -> User:
    """``user`` with the access its role grants in ``spec`` now (``none`` if the role is gone)."""
    access: str
    try:
        access = spec.role(user.role).access
    except KeyError:
        access = NO_ACCESS
    return user if access == user.access else replace(user, access=access)


def _checked_password(username: str, password: str, display_name: str = "") -> str:
    problems = password_problems(password, username=username, display_name=display_name)
    if problems:
        raise PasswordRejected(username, problems)
    return hash_password(password)


def _save(ctx: Context, actor: Actor, user: User, detail: str) -> Change[User]:
    ctx.store.save_user(user)
    event = Event(EventKind.USER, user.username, detail, ctx.clock.now(), actor.name,
                  record=user_record(user))
    ctx.store.add_event(event)
    return Change(user, (event,))


def _known(ctx: Context, username: str) -> User:
    user = ctx.store.get_user(username)
    if user is None:
        raise NotFound("user", username)
    return user


def add_user(ctx: Context, actor: Actor, username: str, role: str, password: str, *,
             display_name: str = "") -> Change[User]:
    """Create or replace a login with a role of the spec (its access comes from the role).

    Needs ``change_spec`` (user management); ``SpecError`` naming the known roles for an
    unknown one; ``PasswordRejected`` saying why for a password the policy refuses. Replacing
    a login revokes its tokens (a new person may hold the name).
    """
    actor.require(Permission.CHANGE_SPEC)
    spec = ctx.spec
    try:
        r = spec.role(role)
    except KeyError:
        known = ", ".join(x.id for x in spec.roles)
        raise SpecError("spec", None, "role", f"unknown role {role!r} (known: {known})") from None
    name = display_name or username
    user = User(username, r.id, r.access, name, _checked_password(username, password, name))
    replaced = ctx.store.get_user(username) is not None
    if replaced:
        ctx.store.revoke_user_tokens(username)
    verb = "replaced (its tokens revoked)" if replaced else "saved"
    return _save(ctx, actor, user, f"login {verb} with role {r.id} ({r.access} access)")


def change_password(ctx: Context, actor: Actor, username: str, password: str, *,
                    current: str | None = None) -> Change[User]:
    """Set a new password; every token and session of the login is revoked.

    A person changing their own password gives the ``current`` one; changing somebody else's
    needs ``change_spec``. ``PasswordRejected`` for a password the policy refuses.
    """
    user = _known(ctx, username)
    if username != actor.name or current is None:
        actor.require(Permission.CHANGE_SPEC)
    elif not verify_password(current, user.password_hash):
        raise AuthError("the current password is wrong; nothing changed")
    changed = replace(user, password_hash=_checked_password(username, password,
                                                             user.display_name))
    revoked = ctx.store.revoke_user_tokens(username)
    return _save(ctx, actor, changed, f"password changed; {revoked} token(s) revoked")


def set_user_disabled(ctx: Context, actor: Actor, username: str, *, disabled: bool,
                      reason: str = "") -> Change[User]:
    """Disable a login (it cannot sign in, its tokens are refused) or enable it again."""
    actor.require(Permission.CHANGE_SPEC)
    user = _known(ctx, username)
    if disabled:
        ctx.store.revoke_user_tokens(username)
    detail = "login disabled; its tokens revoked" if disabled else "login enabled"
    return _save(ctx, actor, replace(user, disabled=disabled),
                 detail + (f": {reason}" if reason else ""))


def delete_user(ctx: Context, actor: Actor, username: str, *, reason: str = "") -> Change[str]:
    """Delete a login and its tokens; its name may be created again, its tokens never revive."""
    actor.require(Permission.CHANGE_SPEC)
    _known(ctx, username)
    ctx.store.delete_user(username)
    event = Event(EventKind.USER, username, "login deleted" + (f": {reason}" if reason else ""),
                  ctx.clock.now(), actor.name, record=user_record(None, username))
    ctx.store.add_event(event)
    return Change(username, (event,))


def sign_in(ctx: Context, username: str, password: str, *, address: str,
            backoff: Backoff | None = None) -> Change[User]:
    """Check a password with back-off per login and per address; every outcome is an event.

    ``SignInLocked`` (saying when to try again) while the login or the address is locked after
    too many failures, even for the right password; ``AuthError`` with one message for a wrong
    password, an unknown or a disabled login. A success forgets the failures and replaces a
    hash of an older scheme or cost.
    """
    backoff = backoff or Backoff()
    now = ctx.clock.now()
    username = username.strip()
    keys = [user_key(username), address_key(address)]
    refuse_if_locked(ctx, keys)
    user = ctx.store.get_user(username) if username else None
    ok = verify_password(password, user.password_hash if user and user.password_hash
                         else _dummy())
    if user is None or not user.password_hash or not ok or user.disabled:
        why = ("unknown login" if user is None else "login disabled" if user.disabled and ok
               else "wrong password")
        count_failed_sign_in(ctx, username if user is not None else "", address=address,
                             why=why, backoff=backoff)
        raise AuthError(SIGN_IN_FAILED)
    ctx.store.clear_login_failures(keys)
    if password_needs_rehash(user.password_hash):
        user = replace(user, password_hash=hash_password(password))
        ctx.store.save_user(user)
        ctx.store.add_event(Event(EventKind.USER, user.username,
                                  "password hash upgraded to argon2id at sign-in", now,
                                  user.username, record=user_record(user)))
    event = Event(EventKind.LOGIN, user.username, f"signed in from {address}", now,
                  user.username)
    ctx.store.add_event(event)
    return Change(user, (event,))


def refuse_if_locked(ctx: Context, keys: list[str]) -> None:
    """``SignInLocked``, saying when to try again, while any of the back-off ``keys`` is locked."""
    now = ctx.clock.now()
    counts = ctx.store.login_failures(keys)
    locked = [c.locked_until for c in counts.values() if c.locked(now) and c.locked_until]
    if locked:
        raise SignInLocked((max(locked) - now).total_seconds())


def count_failed_sign_in(ctx: Context, username: str, *, address: str, why: str,
                         backoff: Backoff | None = None) -> None:
    """Count a failure on the address (and the login, if it exists); lock when due."""
    backoff = backoff or Backoff()
    now = ctx.clock.now()
    keys = [address_key(address)] + ([user_key(username)] if username else [])
    before = ctx.store.login_failures(keys)
    after = [backoff.after_failure(k, before.get(k), now) for k in keys]
    ctx.store.save_login_failures(after)
    subject = username or "(unknown login)"
    ctx.store.add_event(Event(EventKind.LOGIN_FAILED, subject,
                              f"sign-in refused from {address}: {why}", now, subject))
    for count in after:
        if count.locked_until is not None:
            seconds = round((count.locked_until - now).total_seconds())
            ctx.store.add_event(Event(
                EventKind.LOCKOUT, count.key,
                f"sign-ins locked for {seconds} s after {count.failures} failures "
                f"(last from {address})", now, "andon"))


@cache
def _dummy() -> str:
    """A hash of a random password: an unknown login costs as much as a known one."""
    return hash_password(new_token())


def issue_token(ctx: Context, actor: Actor, username: str, ttl: timedelta, *,
                kind: str = "api token") -> Change[IssuedToken]:
    """Issue a token for ``username`` valid for ``ttl``; only its hash is stored.

    Anyone signed in may issue their own; issuing one for somebody else needs ``change_spec``.
    ``NotFound`` for an unknown login. The event never contains the token. ``kind``
    ``session`` marks a browser session (the idle timeout applies to it).
    """
    if username != actor.name:
        actor.require(Permission.CHANGE_SPEC)
    user = _known(ctx, username)
    if user.disabled:
        raise AuthError(f"login {username!r} is disabled; enable it first")
    now = ctx.clock.now()
    token = new_token()
    expires_at = now + ttl
    ctx.store.add_token(hash_token(token), username, expires_at,
                        kind="session" if kind == "session" else "api", issued_at=now)
    event = Event(EventKind.TOKEN, username,
                  f"{kind} issued, expires {expires_at.isoformat()}", now, actor.name)
    ctx.store.add_event(event)
    return Change(IssuedToken(token, username, expires_at), (event,))


def revoke_token(ctx: Context, actor: Actor, token_hash: str, *,
                 what: str = "token") -> Change[str]:
    """Make the token with ``token_hash`` unusable (the actor's own, e.g. on sign-out)."""
    ctx.store.revoke_token(token_hash)
    event = Event(EventKind.TOKEN, actor.name, f"{what} revoked", ctx.clock.now(), actor.name)
    ctx.store.add_event(event)
    return Change(actor.name, (event,))


def revoke_user_tokens(ctx: Context, actor: Actor, username: str) -> Change[int]:
    """Revoke every token and session of a login (an administrator's; one's own needs none)."""
    if username != actor.name:
        actor.require(Permission.CHANGE_SPEC)
    _known(ctx, username)
    revoked = ctx.store.revoke_user_tokens(username)
    event = Event(EventKind.TOKEN, username, f"all tokens revoked ({revoked})", ctx.clock.now(),
                  actor.name)
    ctx.store.add_event(event)
    return Change(revoked, (event,))
