"""``andon users ...``: the whole life of a login from the terminal, in a real SQLite store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from typer.testing import CliRunner

from andon.auth.access import hash_token
from andon.clock import SystemClock
from andon.store import open_store

if TYPE_CHECKING:
    from andon.store import SqlStore

from andon.cli.app import app as cli

ENV = {"COLUMNS": "200", "NO_COLOR": "1"}
PASSWORD = "correct horse battery staple"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=ENV)
    return result.exit_code, result.output


def live(store: SqlStore, token: str) -> bool:
    return store.user_for_token(hash_token(token), SystemClock().now()) is not None


def test_a_login_from_creation_to_deletion(sqlite_url: str) -> None:
    db = ["--db", sqlite_url]
    code, out = run("users", "add", "dana", "--role", "reliability_engineer", "--password",
                    "pw", *db, "--create")  # the first login of a new database
    assert code == 3
    assert "password for 'dana' refused: shorter than 12 characters" in out
    assert run("users", "add", "dana", "--role", "reliability_engineer", "--password",
               PASSWORD, *db)[0] == 0
    code, token = run("users", "token", "dana", *db)
    assert code == 0
    token = token.strip()
    code, out = run("users", "list", *db)
    assert code == 0
    assert "dana" in out
    assert "enabled" in out
    code, out = run("users", "tokens", "dana", *db)
    assert code == 0
    assert hash_token(token)[:12] in out
    assert token not in out  # never the token itself
    with open_store(sqlite_url) as store:
        assert live(store, token)
    code, out = run("users", "passwd", "dana", "--password", "a new long passphrase", *db)
    assert code == 0, out
    assert "tokens and sessions are revoked" in out
    with open_store(sqlite_url) as store:
        assert not live(store, token)
    token = run("users", "token", "dana", *db)[1].strip()
    assert run("users", "disable", "dana", "--reason", "on leave", *db)[0] == 0
    assert "disabled" in run("users", "list", *db)[1]
    with open_store(sqlite_url) as store:
        assert not live(store, token)
    code, out = run("users", "token", "dana", *db)
    assert code == 6
    assert "disabled" in out
    assert run("users", "enable", "dana", *db)[0] == 0
    token = run("users", "token", "dana", *db)[1].strip()
    code, out = run("users", "revoke", "dana", *db)
    assert (code, "1 token(s) of dana revoked" in out) == (0, True)
    assert run("users", "delete", "dana", "--yes", "--reason", "left", *db)[0] == 0
    code, out = run("users", "delete", "dana", "--yes", *db)
    assert code == 4
    assert "user" in out
    assert "dana" in out
    code, out = run("audit", "show", "--subject", "dana", "--kind", "user", *db)
    assert code == 0
    for what in ("login saved", "password changed", "login disabled", "login enabled",
                 "login deleted: left"):
        assert what in out
