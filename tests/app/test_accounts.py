"""Accounts a regulated plant can sign off: policy, back-off, revocation, disable, delete.

Real SQLite store, manual clock; every outcome checked in the store and the audit trail.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from andon.app import (
    Actor,
    Context,
    PlantRef,
    access_of,
    add_user,
    change_password,
    delete_user,
    issue_token,
    revoke_user_tokens,
    set_user_disabled,
    sign_in,
)
from andon.auth.access import hash_token, verify_password
from andon.auth.passwords import password_problems
from andon.clock import ManualClock, utc
from andon.errors import AuthError, Forbidden, PasswordRejected, SignInLocked

if TYPE_CHECKING:
    from andon.spec import PlantSpec
    from andon.store import SqlStore
    from andon.store.base import Store

T0 = utc(2026, 12, 7, 8)
ADMIN = Actor("root", "plant_manager", "admin")
PASSWORD = "correct horse battery staple"
HERE = "10.0.0.7"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def ctx(store: SqlStore, demo_spec: PlantSpec, clock: ManualClock) -> Context:
    c = Context(store, clock, PlantRef(demo_spec))
    add_user(c, ADMIN, "ana", "maintenance_planner", PASSWORD)
    return c


def kinds(store: Store, kind: str) -> list[str]:
    return [e.detail for e in store.events(kind=kind, limit=1000)]


@pytest.mark.parametrize(("password", "why"), [
    ("", "shorter than 12"),
    ("x", "shorter than 12"),
    ("password1234", "too easy to guess"),
    ("qwertyuiop123", "too easy to guess"),
    ("aaaaaaaaaaaaaaaa", "too easy to guess"),
    ("ana-maintenance-2026", "contains the login name"),
    ("y" * 300, "longer than 256"),
])
def test_weak_passwords_are_refused_for_everyone_saying_why(
        ctx: Context, password: str, why: str) -> None:
    for role in ("operator", "plant_manager"):  # an administrator too
        with pytest.raises(PasswordRejected, match=why):
            add_user(ctx, ADMIN, "ana", role, password)
    ana = ctx.store.get_user("ana")
    assert ana is not None
    assert verify_password(PASSWORD, ana.password_hash)  # unchanged


def test_the_policy_accepts_long_uncommon_passphrases() -> None:
    for good in ("correct horse battery staple", secrets.token_urlsafe(16),
                 "Lager-Halle 7, Pumpe 3 dreht"):
        assert password_problems(good, username="ana") == []


def test_a_guesser_is_locked_out_even_with_the_right_password(
        ctx: Context, clock: ManualClock) -> None:
    refused = locked = 0
    for i in range(96):  # the issue's 96 guesses
        try:
            sign_in(ctx, "ana", f"guess-{i}", address=HERE)
        except SignInLocked:
            locked += 1
        except AuthError:
            refused += 1
        clock.advance(0.125)  # ~8 guesses/s
    assert (refused, locked) == (5, 91)  # 5 checked, the rest refused unchecked
    with pytest.raises(SignInLocked, match=r"try again in \d+ s") as info:
        sign_in(ctx, "ana", PASSWORD, address=HERE)
    assert 1 <= info.value.retry_after_s <= 30
    assert len(kinds(ctx.store, "login_failed")) == 5
    assert len(kinds(ctx.store, "lockout")) == 2  # the login and the address
    clock.advance(30)
    assert sign_in(ctx, "ana", PASSWORD, address=HERE).record.username == "ana"
    assert kinds(ctx.store, "login") == [f"signed in from {HERE}"]
    assert ctx.store.login_failures(["user:ana", f"addr:{HERE}"]) == {}


def test_each_further_failure_doubles_the_lock(ctx: Context, clock: ManualClock) -> None:
    waits = []
    for i in range(9):
        while True:
            try:
                sign_in(ctx, "ana", f"guess-{i}", address=HERE)
            except SignInLocked as exc:
                clock.advance(exc.retry_after_s)
                continue
            except AuthError:
                break
        counts = ctx.store.login_failures(["user:ana"])["user:ana"]
        if counts.locked_until is not None:
            waits.append((counts.locked_until - clock.now()).total_seconds())
    assert waits == [30, 60, 120, 240, 480]


def test_one_address_trying_many_logins_is_locked_too(ctx: Context) -> None:
    for i in range(5):
        with pytest.raises(AuthError):
            sign_in(ctx, f"nobody-{i}", "whatever", address=HERE)
    with pytest.raises(SignInLocked):
        sign_in(ctx, "ana", PASSWORD, address=HERE)
    assert sign_in(ctx, "ana", PASSWORD, address="10.0.0.8").record.username == "ana"
    # unknown names leave no per-login rows an attacker could grow
    assert ctx.store.login_failures([f"user:nobody-{i}" for i in range(5)]) == {}


def test_a_password_change_revokes_every_token_and_session(ctx: Context,
                                                           clock: ManualClock) -> None:
    api = issue_token(ctx, ADMIN, "ana", timedelta(days=90)).record
    session = issue_token(ctx, ADMIN, "ana", timedelta(hours=8), kind="session").record
    for t in (api, session):
        assert ctx.store.user_for_token(hash_token(t.token), clock.now()) is not None
    ana = Actor("ana", "maintenance_planner", "engineer")
    with pytest.raises(AuthError, match="current password is wrong"):
        change_password(ctx, ana, "ana", "a brand new passphrase", current="not it at all")
    change_password(ctx, ana, "ana", "a brand new passphrase", current=PASSWORD)
    for t in (api, session):
        assert ctx.store.user_for_token(hash_token(t.token), clock.now()) is None
    with pytest.raises(AuthError):
        sign_in(ctx, "ana", PASSWORD, address=HERE)
    assert sign_in(ctx, "ana", "a brand new passphrase", address=HERE)
    with pytest.raises(Forbidden):  # somebody else's password needs change_spec
        change_password(ctx, Actor("olga", "operator", "operator"), "ana", "x" * 20)


def test_disable_refuses_sign_in_and_tokens_enable_does_not_revive_them(
        ctx: Context, clock: ManualClock) -> None:
    token = issue_token(ctx, ADMIN, "ana", timedelta(days=1)).record.token
    set_user_disabled(ctx, ADMIN, "ana", disabled=True, reason="on leave")
    assert ctx.store.user_for_token(hash_token(token), clock.now()) is None
    with pytest.raises(AuthError, match="wrong login name or password"):
        sign_in(ctx, "ana", PASSWORD, address=HERE)
    assert kinds(ctx.store, "login_failed") == [f"sign-in refused from {HERE}: login disabled"]
    with pytest.raises(AuthError, match="disabled"):
        issue_token(ctx, ADMIN, "ana", timedelta(days=1))
    set_user_disabled(ctx, ADMIN, "ana", disabled=False)
    assert ctx.store.user_for_token(hash_token(token), clock.now()) is None
    assert sign_in(ctx, "ana", PASSWORD, address=HERE).record.username == "ana"


def test_a_deleted_login_created_again_does_not_get_its_old_tokens(
        ctx: Context, clock: ManualClock) -> None:
    token = issue_token(ctx, ADMIN, "ana", timedelta(days=1)).record.token
    delete_user(ctx, ADMIN, "ana", reason="left")
    assert ctx.store.get_user("ana") is None
    add_user(ctx, ADMIN, "ana", "operator", "a different person entirely")
    assert ctx.store.user_for_token(hash_token(token), clock.now()) is None
    assert ctx.store.tokens_of("ana") == []


def test_an_administrator_revokes_anybodys_tokens(ctx: Context, clock: ManualClock) -> None:
    tokens = [issue_token(ctx, ADMIN, "ana", timedelta(days=1)).record.token for _ in range(3)]
    assert revoke_user_tokens(ctx, ADMIN, "ana").record == 3
    assert all(ctx.store.user_for_token(hash_token(t), clock.now()) is None for t in tokens)
    with pytest.raises(Forbidden):
        revoke_user_tokens(ctx, Actor("olga", "operator", "operator"), "ana")


def test_a_session_unused_too_long_ends(ctx: Context, clock: ManualClock) -> None:
    session = issue_token(ctx, ADMIN, "ana", timedelta(hours=8), kind="session").record.token
    api = issue_token(ctx, ADMIN, "ana", timedelta(days=1)).record.token
    idle = timedelta(minutes=30)
    for _ in range(4):  # used every 20 min: kept alive
        clock.advance(20 * 60)
        assert ctx.store.user_for_token(hash_token(session), clock.now(),
                                        session_idle=idle) is not None
    clock.advance(31 * 60)
    assert ctx.store.user_for_token(hash_token(session), clock.now(), session_idle=idle) is None
    # and stays ended; API tokens have no idle limit
    assert ctx.store.user_for_token(hash_token(session), clock.now()) is None
    assert ctx.store.user_for_token(hash_token(api), clock.now(), session_idle=idle) is not None


def test_a_release_0_1_scrypt_hash_still_signs_in_and_is_upgraded(ctx: Context) -> None:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    old = f"scrypt${salt.hex()}${digest.hex()}"
    user = ctx.store.get_user("ana")
    assert user is not None
    ctx.store.save_user(type(user)(user.username, user.role, user.access, user.display_name,
                                   old))
    assert sign_in(ctx, "ana", PASSWORD, address=HERE)
    upgraded = ctx.store.get_user("ana")
    assert upgraded is not None
    assert upgraded.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert any("upgraded to argon2id" in d for d in kinds(ctx.store, "user"))


def test_access_follows_the_role_in_the_spec_in_force(ctx: Context,
                                                      demo_spec: PlantSpec) -> None:
    ana = ctx.store.get_user("ana")
    assert ana is not None
    assert access_of(demo_spec, ana).access == demo_spec.role("maintenance_planner").access
    assert access_of(demo_spec, type(ana)("x", "a-role-since-removed", "admin")).access == "none"
