"""The accounts part of ``SqlStore``: logins, their tokens and the sign-in back-off's counts.

``SqlStore`` inherits ``AccountTables``. Only hashes of tokens and passwords are stored. A token
is refused when revoked, expired, its login is disabled or deleted, or (sessions, when the
caller asks for an idle limit) unused for longer than that limit; a used session's
``last_used_at`` is written at most once a minute, so a busy page does not write per request.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, false, or_, select, update
from sqlalchemy.exc import IntegrityError

from andon.auth.access import User
from andon.auth.throttle import Failures
from andon.errors import NotFound, StoreError
from andon.store.base import TokenInfo
from andon.store.schema import LOGIN_FAILURES, TOKENS, USERS, as_utc
from andon.store.sql_mixin import SqlMixin

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy import Row

__all__ = ["AccountTables"]

#: a session's ``last_used_at`` is rewritten when older than this
_TOUCH = timedelta(seconds=60)


class AccountTables(SqlMixin):
    """Store methods for users, tokens and failed sign-ins (mixed into ``SqlStore``)."""

    # -- users ------------------------------------------------------------------------------
    def save_user(self, user: User) -> None:
        """Insert or replace a user by username."""
        values = _user_to_row(user)
        stmt = self._insert(USERS).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[USERS.c.username],
            set_={k: stmt.excluded[k] for k in values if k != "username"},
        )
        with self._write() as conn:
            conn.execute(stmt)

    def get_user(self, username: str) -> User | None:
        """Return a user, or None."""
        stmt = select(USERS).where(USERS.c.username == username)
        with self._read() as conn:
            row = conn.execute(stmt).one_or_none()
        return None if row is None else _user_from_row(row)

    def list_users(self) -> list[User]:
        """Every login, by username."""
        with self._read() as conn:
            return [_user_from_row(r)
                    for r in conn.execute(select(USERS).order_by(USERS.c.username))]

    def delete_user(self, username: str) -> None:
        """Delete a login and every token it had (``NotFound`` if unknown)."""
        with self._write() as conn:
            conn.execute(delete(TOKENS).where(TOKENS.c.username == username))
            if conn.execute(delete(USERS).where(USERS.c.username == username)).rowcount == 0:
                raise NotFound("user", username)

    # -- tokens -----------------------------------------------------------------------------
    def add_token(self, token_hash: str, username: str, expires_at: datetime | None, *,
                  kind: str = "api", issued_at: datetime | None = None) -> None:
        """Store a token hash for a user (never the token).

        ``NotFound`` if the user is unknown; ``StoreError`` if the hash is already stored (a
        token's hash is never reused, even after its login was deleted).
        """
        if expires_at is not None:
            expires_at = as_utc(expires_at, "token expiry")
        if issued_at is not None:
            issued_at = as_utc(issued_at, "token issue time")
        try:
            with self._write() as conn:
                known = conn.execute(
                    select(USERS.c.username).where(USERS.c.username == username),
                ).first()
                if known is None:
                    raise NotFound("user", username)
                conn.execute(
                    TOKENS.insert().values(
                        token_hash=token_hash, username=username, expires_at=expires_at,
                        revoked=False, kind=kind, issued_at=issued_at, last_used_at=issued_at,
                    ),
                )
        except IntegrityError:
            # the driver's detail would quote the hash; say what happened without it
            raise StoreError(f"a token of user {username!r} is already stored") from None

    def user_for_token(self, token_hash: str, now: datetime, *,
                       session_idle: timedelta | None = None) -> User | None:
        """Return the user of a live token (not revoked, expired, idle or of a disabled login).

        A token expires at ``expires_at`` (no longer valid from that instant on). With
        ``session_idle``, a session unused for that long is refused too (and revoked).
        """
        now = as_utc(now, "now")
        t = TOKENS.c
        stmt = (
            select(USERS, t.kind, t.last_used_at)
            .join(TOKENS, t.username == USERS.c.username)
            .where(
                t.token_hash == token_hash,
                t.revoked == false(),
                USERS.c.disabled == false(),
                or_(t.expires_at.is_(None), t.expires_at > now),
            )
        )
        with self._read() as conn:
            row = conn.execute(stmt).one_or_none()
        if row is None:
            return None
        idle = (None if row.last_used_at is None or row.kind != "session"
                else now - row.last_used_at)
        if idle is not None and session_idle is not None and idle >= session_idle:
            self.revoke_token(token_hash)
            return None
        if row.last_used_at is None or now - row.last_used_at >= _TOUCH:
            with self._write() as conn:
                conn.execute(update(TOKENS).where(t.token_hash == token_hash)
                             .values(last_used_at=now))
        return _user_from_row(row)

    def revoke_token(self, token_hash: str) -> None:
        """Make a token unusable (an unknown token is left as it is: unusable)."""
        stmt = update(TOKENS).where(TOKENS.c.token_hash == token_hash).values(revoked=True)
        with self._write() as conn:
            conn.execute(stmt)

    def revoke_user_tokens(self, username: str, *, kind: str | None = None) -> int:
        """Revoke every live token of a login (of one kind); how many were revoked."""
        t = TOKENS.c
        stmt = update(TOKENS).where(t.username == username, t.revoked == false())
        if kind is not None:
            stmt = stmt.where(t.kind == kind)
        with self._write() as conn:
            return int(conn.execute(stmt.values(revoked=True)).rowcount)

    def tokens_of(self, username: str) -> list[TokenInfo]:
        """Every token stored for a login, newest first (hashes only)."""
        t = TOKENS.c
        stmt = (select(TOKENS).where(t.username == username)
                .order_by(t.issued_at.desc().nulls_last(), t.token_hash))
        with self._read() as conn:
            return [TokenInfo(r.token_hash, r.username, r.kind, r.issued_at, r.last_used_at,
                              r.expires_at, bool(r.revoked)) for r in conn.execute(stmt)]

    # -- failed sign-ins --------------------------------------------------------------------
    def login_failures(self, keys: Sequence[str]) -> dict[str, Failures]:
        """The failure counts of the given back-off keys (absent: none counted)."""
        f = LOGIN_FAILURES.c
        with self._read() as conn:
            rows = conn.execute(select(LOGIN_FAILURES).where(f.key.in_(list(keys))))
            return {r.key: Failures(r.key, r.failures, r.last_at, r.locked_until) for r in rows}

    def save_login_failures(self, counts: Sequence[Failures]) -> None:
        """Insert or replace the counts of some keys."""
        if not counts:
            return
        rows = [{"key": c.key, "failures": c.failures, "last_at": as_utc(c.last_at, "failure"),
                 "locked_until": c.locked_until} for c in counts]
        stmt = self._insert(LOGIN_FAILURES).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=[LOGIN_FAILURES.c.key],
            set_={k: stmt.excluded[k] for k in ("failures", "last_at", "locked_until")},
        )
        with self._write() as conn:
            conn.execute(stmt)

    def clear_login_failures(self, keys: Sequence[str]) -> None:
        """Forget the failures of some keys (after a successful sign-in)."""
        with self._write() as conn:
            conn.execute(delete(LOGIN_FAILURES).where(LOGIN_FAILURES.c.key.in_(list(keys))))


def _user_to_row(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "role": user.role,
        "access": user.access,
        "display_name": user.display_name,
        "password_hash": user.password_hash,
        "disabled": user.disabled,
    }


def _user_from_row(row: Row[Any]) -> User:
    return User(
        username=row.username,
        role=row.role,
        access=row.access,
        display_name=row.display_name,
        password_hash=row.password_hash,
        disabled=bool(row.disabled),
    )
