"""``andon users list|passwd|disable|enable|delete|revoke|tokens``: logins after they exist.

``andon users add`` and ``andon users token`` live in ``andon.cli.app`` (the first commands a
plant runs); these manage the logins afterwards. Each is one ``andon.app`` use case, so a
password change revokes the login's tokens and every change is an audit entry wherever it
is made.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from andon.cli.options import DEFAULT_DB, DEFAULT_SPEC, DbOpt, SpecOpt
from andon.cli.terminal import Terminal
from andon.text import printable

__all__ = ["users_delete", "users_disable", "users_enable", "users_list", "users_passwd",
           "users_revoke", "users_tokens"]

console = Terminal()

Username = Annotated[str, typer.Argument(help="Existing login.")]
Reason = Annotated[str, typer.Option(help="Why (kept in the audit trail).")]


def users_list(spec: SpecOpt = DEFAULT_SPEC, db: DbOpt = DEFAULT_DB) -> None:
    """List logins: role, the access it grants in the spec now, state and live tokens."""
    from andon.app import access_of  # noqa: PLC0415
    from andon.spec import load_spec  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    plant = load_spec(spec)
    table = Table("login", "name", "role", "access", "state", "live tokens", "sessions")
    with open_store(db) as store:
        for user in store.list_users():
            tokens = [t for t in store.tokens_of(user.username) if not t.revoked]
            sessions = sum(1 for t in tokens if t.kind == "session")
            access = access_of(plant, user).access
            table.add_row(printable(user.username), printable(user.display_name),
                          printable(user.role), access if access != "none" else
                          "[red]none (role not in spec)[/red]",
                          "[red]disabled[/red]" if user.disabled else "enabled",
                          str(len(tokens) - sessions), str(sessions))
    console.print(table)


def users_passwd(
    username: Username,
    db: DbOpt = DEFAULT_DB,
    password: Annotated[str, typer.Option(prompt="New password", hide_input=True,
                                          confirmation_prompt=True,
                                          help="New password; asked for (hidden) when not "
                                          "given.")] = "",
) -> None:
    """Set a new password for a login; its tokens and sessions are revoked."""
    from andon.app import change_password  # noqa: PLC0415
    from andon.cli.actor import cli_actor, cli_context  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    with open_store(db) as store:
        change_password(cli_context(store), cli_actor(), username, password)
    console.print(f"password of {printable(username)} changed; its tokens and sessions are "
                  "revoked", highlight=False)


def users_disable(username: Username, db: DbOpt = DEFAULT_DB, reason: Reason = "") -> None:
    """Disable a login: it cannot sign in and its tokens are revoked (kept for the record)."""
    _set_disabled(username, db, disabled=True, reason=reason)


def users_enable(username: Username, db: DbOpt = DEFAULT_DB, reason: Reason = "") -> None:
    """Enable a disabled login again (its old tokens stay revoked)."""
    _set_disabled(username, db, disabled=False, reason=reason)


def _set_disabled(username: str, db: str, *, disabled: bool, reason: str) -> None:
    from andon.app import set_user_disabled  # noqa: PLC0415
    from andon.cli.actor import cli_actor, cli_context  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    with open_store(db) as store:
        set_user_disabled(cli_context(store), cli_actor(), username, disabled=disabled,
                          reason=reason)
    console.print(f"{printable(username)} {'disabled' if disabled else 'enabled'}",
                  highlight=False)


def users_delete(
    username: Username,
    db: DbOpt = DEFAULT_DB,
    reason: Reason = "",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a login and its tokens (the audit trail keeps what it did)."""
    from andon.app import delete_user  # noqa: PLC0415
    from andon.cli.actor import cli_actor, cli_context  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    if not yes:
        typer.confirm(f"Delete login {username!r} and its tokens?", abort=True)
    with open_store(db) as store:
        delete_user(cli_context(store), cli_actor(), username, reason=reason)
    console.print(f"{printable(username)} deleted", highlight=False)


def users_revoke(username: Username, db: DbOpt = DEFAULT_DB) -> None:
    """Revoke every API token and session of a login (it can sign in again)."""
    from andon.app import revoke_user_tokens  # noqa: PLC0415
    from andon.cli.actor import cli_actor, cli_context  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    with open_store(db) as store:
        revoked = revoke_user_tokens(cli_context(store), cli_actor(), username).record
    console.print(f"{revoked} token(s) of {printable(username)} revoked", highlight=False)


def users_tokens(username: Username, db: DbOpt = DEFAULT_DB) -> None:
    """List a login's tokens: kind, issued, last used, expiry, state (never the token)."""
    from andon.store import open_store  # noqa: PLC0415

    def when(at: object) -> str:
        return "-" if at is None else f"{at:%Y-%m-%d %H:%M}"

    table = Table("id (hash prefix)", "kind", "issued", "last used", "expires", "state")
    with open_store(db) as store:
        if store.get_user(username) is None:
            raise typer.BadParameter(f"no user {username!r}", param_hint="USERNAME")
        for t in store.tokens_of(username):
            table.add_row(t.token_hash[:12], t.kind, when(t.issued_at), when(t.last_used_at),
                          when(t.expires_at), "revoked" if t.revoked else "live")
    console.print(table)
