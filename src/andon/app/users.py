"""Logins and API tokens: create a login, issue a token, revoke one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from andon.app.context import Change
from andon.audit import Event, EventKind
from andon.auth.access import Permission, User, hash_password, hash_token, new_token
from andon.errors import NotFound, SpecError

if TYPE_CHECKING:
    from andon.app.context import Actor, Context

__all__ = ["IssuedToken", "add_user", "issue_token", "revoke_token"]


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just issued: shown once, only its hash is kept."""

    token: str
    username: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"IssuedToken(username={self.username!r}, expires_at={self.expires_at!r})"


def add_user(ctx: Context, actor: Actor, username: str, role: str, password: str, *,
             display_name: str = "") -> Change[User]:
    """Create or replace a login with a role of the spec (its access comes from the role).

    Needs ``change_spec`` (user management); ``SpecError`` naming the known roles for an
    unknown one.
    """
    actor.require(Permission.CHANGE_SPEC)
    spec = ctx.spec
    try:
        r = spec.role(role)
    except KeyError:
        known = ", ".join(x.id for x in spec.roles)
        raise SpecError("spec", None, "role", f"unknown role {role!r} (known: {known})") from None
    user = User(username, r.id, r.access, display_name or username, hash_password(password))
    ctx.store.save_user(user)
    event = Event(EventKind.USER, username, f"login saved with role {r.id} ({r.access} access)",
                  ctx.clock.now(), actor.name)
    ctx.store.add_event(event)
    return Change(user, (event,))


def issue_token(ctx: Context, actor: Actor, username: str, ttl: timedelta, *,
                kind: str = "api token") -> Change[IssuedToken]:
    """Issue a token for ``username`` valid for ``ttl``; only its hash is stored.

    Anyone signed in may issue their own; issuing one for somebody else needs ``change_spec``.
    ``NotFound`` for an unknown login. The event never contains the token.
    """
    if username != actor.name:
        actor.require(Permission.CHANGE_SPEC)
    if ctx.store.get_user(username) is None:
        raise NotFound("user", username)
    now = ctx.clock.now()
    token = new_token()
    expires_at = now + ttl
    ctx.store.add_token(hash_token(token), username, expires_at)
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
