"""Accounts over HTTP: a password guesser is throttled, refusals are recorded, sessions idle
out, and access follows the spec in force on every request (real app, real SQLite store)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.conftest import DEMO_SPEC_TEXT, PASSWORD, Login

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from andon.clock import ManualClock
    from andon.store import SqlStore


def sign_in(client: TestClient, username: str, password: str) -> int:
    status: int = client.post("/login", data={"username": username,
                                              "password": password}).status_code
    return status


def test_96_guesses_at_8_per_second_get_5_checks_then_429(
        client: TestClient, store: SqlStore, clock: ManualClock,
        logins: dict[str, Login]) -> None:
    statuses = []
    for i in range(96):
        statuses.append(sign_in(client, "operator", f"guess-{i}"))
        clock.advance(0.125)
    assert statuses[:5] == [401] * 5
    assert set(statuses[5:]) == {429}
    locked = client.post("/login", data={"username": "operator", "password": PASSWORD})
    assert locked.status_code == 429  # the right password too, while locked
    assert "Too many failed sign-ins" in locked.text
    assert 1 <= int(locked.headers["Retry-After"]) <= 30
    assert len(store.events(kind="login_failed")) == 5
    clock.advance(30)
    assert sign_in(client, "operator", PASSWORD) == 303
    assert [e.subject for e in store.events(kind="login")] == ["operator"]


def test_refused_requests_are_recorded_without_flooding_the_trail(
        client: TestClient, store: SqlStore, clock: ManualClock,
        logins: dict[str, Login]) -> None:
    viewer = logins["viewer"]
    assert client.put("/api/spec", content="x", headers=viewer.headers).status_code == 403
    denied = store.events(kind="access_denied")
    assert [(e.subject, e.by) for e in denied] == [("PUT /api/spec", "viewer")]
    assert "may not change the plant spec" in denied[0].detail
    for _ in range(10):
        bad = client.get("/api/me", headers={"Authorization": "Bearer andon_not-a-token"})
        assert bad.status_code == 401
    assert len(store.events(kind="access_denied")) == 2  # one record for ten refusals
    clock.advance(61)
    client.get("/api/me", headers={"Authorization": "Bearer andon_not-a-token"})
    newest = store.events(kind="access_denied")[0]
    assert "(9 more refused since the last record)" in newest.detail
    # a visit without any credentials is not an attack: not recorded
    assert client.get("/inbox").status_code == 401
    assert len(store.events(kind="access_denied")) == 3


def test_a_browser_session_ends_after_30_idle_minutes(
        client: TestClient, clock: ManualClock, logins: dict[str, Login]) -> None:
    assert sign_in(client, "operator", PASSWORD) == 303
    for _ in range(3):
        clock.advance(25 * 60)
        assert client.get("/inbox").status_code == 200  # in use: kept alive
    clock.advance(31 * 60)
    ended = client.get("/inbox")
    assert ended.status_code == 401
    assert 'action="/login"' in ended.text


def test_access_is_what_the_role_grants_in_the_spec_in_force(
        client: TestClient, logins: dict[str, Login]) -> None:
    engineer, admin = logins["engineer"], logins["admin"]
    me = client.get("/api/me", headers=engineer.headers).json()
    assert me["access"] == "engineer"
    role = me["role"]
    # down to operator (the role owns use cases and sits in the escalation chain: it must
    # still be able to act, or the spec is refused)
    demoted = DEMO_SPEC_TEXT.replace(
        f"{{id: {role}, name: Reliability engineer, access: engineer, rank: 30}}",
        f"{{id: {role}, name: Reliability engineer, access: operator, rank: 30}}")
    assert demoted != DEMO_SPEC_TEXT
    saved = client.put("/api/spec", content=demoted, headers={**admin.headers,
                                                             "Content-Type": "text/plain"})
    assert saved.status_code == 200, saved.text
    # the same token, no new sign-in: the spec decides
    assert client.get("/api/me", headers=engineer.headers).json()["access"] == "operator"
