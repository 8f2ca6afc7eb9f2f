"""Every route is guarded by exactly one permission; tokens, sessions and CSRF behave.

The route walk reads the routes from the app itself, so a new route that forgets its
``Depends(needs(...))`` fails here rather than shipping open.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import TYPE_CHECKING

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Mount

from andon.api import PUBLIC_MOUNTS, PUBLIC_ROUTES, route_table
from andon.api.errors import is_api_path, status_for
from andon.auth.access import PERMISSIONS, Permission
from andon.errors import (
    AndonError,
    AuthError,
    FeedbackError,
    Forbidden,
    ModelError,
    NotFound,
    PayloadError,
    RegistryError,
    SpecError,
    SpecErrors,
    StageError,
    StoreError,
)
from andon.http.auth import CSRF_HEADER, SESSION_COOKIE
from andon.testing.factories import add_token, add_user
from api.conftest import PASSWORD, SESSION_TTL_S, Login, TestClient

if TYPE_CHECKING:
    from andon.clock import ManualClock
    from andon.interventions.record import Intervention
    from andon.store import SqlStore

#: the route table, pinned: changing a route's permission must be a deliberate edit here
EXPECTED_ROUTES: dict[tuple[str, str], Permission | None] = {
    ("GET", "/api/openapi.json"): Permission.READ,
    ("GET", "/api/health"): Permission.READ,
    ("GET", "/api/me"): Permission.READ,
    ("GET", "/api/interventions"): Permission.READ,
    ("GET", "/api/interventions/{intervention_id}"): Permission.READ,
    ("GET", "/api/interventions/{intervention_id}/feedback"): Permission.READ,
    ("POST", "/api/interventions/{intervention_id}/feedback"): Permission.FEEDBACK,
    ("GET", "/api/edges"): Permission.READ,
    ("GET", "/api/assets/{asset}/latest"): Permission.READ,
    ("GET", "/api/models/production"): Permission.READ,
    ("GET", "/api/models/{name}/{version}/artifact"): Permission.READ,
    ("GET", "/api/models"): Permission.READ,
    ("POST", "/api/models/{name}/{version}/promote"): Permission.MANAGE_MODELS,
    ("POST", "/api/models/{name}/{version}/archive"): Permission.MANAGE_MODELS,
    ("GET", "/api/quarantine"): Permission.READ,
    ("GET", "/api/data-quality"): Permission.READ,
    ("GET", "/api/track-record"): Permission.READ,
    ("GET", "/api/kpi"): Permission.READ,
    ("GET", "/kpi"): Permission.READ,
    ("GET", "/kpi/report.html"): Permission.READ,
    ("GET", "/api/drift"): Permission.READ,
    ("GET", "/api/rollouts"): Permission.READ,
    ("GET", "/track-record"): Permission.READ,
    ("GET", "/rollouts"): Permission.READ,
    ("GET", "/rollouts/{use_case}"): Permission.READ,
    ("GET", "/quality"): Permission.READ,
    ("GET", "/quarantine"): Permission.READ,
    ("POST", "/quarantine/replay"): Permission.MANAGE_MODELS,
    ("GET", "/quarantine/replay/{job_id}"): Permission.READ,
    ("GET", "/triage"): Permission.READ,
    ("POST", "/triage/{item_id}/label"): Permission.REVIEW,
    ("GET", "/load"): Permission.READ,
    ("GET", "/assets"): Permission.READ,
    ("GET", "/assets/{asset_id}"): Permission.READ,
    ("GET", "/models"): Permission.READ,
    ("GET", "/models/{name}"): Permission.READ,
    ("GET", "/edges"): Permission.READ,
    ("POST", "/api/rollouts/{use_case}/start"): Permission.MANAGE_MODELS,
    ("POST", "/api/rollouts/{use_case}/advance"): Permission.MANAGE_MODELS,
    ("POST", "/api/rollouts/{use_case}/back"): Permission.MANAGE_MODELS,
    ("POST", "/api/rollouts/{use_case}/withdraw"): Permission.MANAGE_MODELS,
    ("GET", "/api/quarantine/{item_id}"): Permission.READ,
    ("GET", "/api/work-orders"): Permission.READ,
    ("GET", "/api/spec"): Permission.READ,
    ("PUT", "/api/spec"): Permission.CHANGE_SPEC,
    ("GET", "/api/audit"): Permission.CHANGE_SPEC,
    ("GET", "/api/audit/verify"): Permission.CHANGE_SPEC,
    ("POST", "/api/tokens"): Permission.READ,
    ("DELETE", "/api/tokens/current"): Permission.READ,
    ("GET", "/login"): None,
    ("POST", "/login"): None,
    ("POST", "/logout"): Permission.READ,
    ("GET", "/"): Permission.READ,
    ("GET", "/inbox"): Permission.READ,
    ("POST", "/inbox/{intervention_id}/feedback"): Permission.FEEDBACK,
    ("POST", "/inbox/{intervention_id}/transition"): Permission.FEEDBACK,
    ("POST", "/inbox/{intervention_id}/outcome"): Permission.FEEDBACK,
    ("GET", "/inbox/live"): Permission.READ,
    ("POST", "/inbox/bulk"): Permission.FEEDBACK,
    ("POST", "/inbox/{intervention_id}/comment"): Permission.FEEDBACK,
    ("GET", "/api/interventions/{intervention_id}/comments"): Permission.READ,
    ("POST", "/api/interventions/{intervention_id}/comments"): Permission.FEEDBACK,
    ("POST", "/api/interventions/{intervention_id}/transition"): Permission.FEEDBACK,
    ("POST", "/api/interventions/{intervention_id}/outcome"): Permission.FEEDBACK,
    ("GET", "/api/labels"): Permission.READ,
    ("GET", "/api/triage"): Permission.READ,
    ("GET", "/api/triage/{item_id}"): Permission.READ,
    ("POST", "/api/triage/{item_id}/label"): Permission.REVIEW,
    ("GET", "/api/interventions/overflow"): Permission.READ,
    ("GET", "/api/interventions/fatigue"): Permission.READ,
    ("GET", "/api/docs"): Permission.READ,
    ("GET", "/api/docs/{name}"): Permission.READ,
    ("GET", "/metrics"): Permission.READ,
    ("GET", "/healthz"): None,
    ("GET", "/readyz"): None,
}
ACCESS_LEVELS = ("viewer", "operator", "engineer", "admin")


def walk(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every path operation in ``app.routes``, included routers expanded."""
    found = []
    for ctx in fastapi.routing.iter_route_contexts(app.routes):
        if isinstance(ctx.original_route, APIRoute):
            found.extend((method, str(ctx.path)) for method in ctx.methods)
    return sorted(found)


def guarded(app: FastAPI) -> list[tuple[str, str, Permission]]:
    return [(m, p, perm) for m, p, perm in route_table(app) if perm is not None]


def url(path: str, iv: Intervention) -> str:
    """Fill every path parameter with a real intervention id (a model version with 1)."""
    path = path.replace("{version}", "1")
    return re.sub(r"{[^}]+}", iv.id, path)


def fresh_token(store: SqlStore, clock: ManualClock, login: Login) -> dict[str, str]:
    """A token of its own per request: some routes (logout, token revocation) revoke it."""
    token = add_token(store, login.user.username, clock.now() + timedelta(hours=1))
    return {"Authorization": f"Bearer {token}"}


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; return the CSRF token of the inbox page."""
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 303, response.text
    page = client.get("/inbox")
    assert page.status_code == 200
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert match is not None
    return match.group(1)


# -- the route table ------------------------------------------------------------------------
def test_route_table_lists_every_route_with_one_permission(app: FastAPI) -> None:
    table = route_table(app)  # raises if a route declares no permission or several
    assert sorted((m, p) for m, p, _ in table) == walk(app)
    assert {(m, p): perm for m, p, perm in table} == EXPECTED_ROUTES


def test_public_allowlist_is_exactly_login_probes_and_static(app: FastAPI) -> None:
    assert {("GET", "/login"), ("POST", "/login"), ("GET", "/healthz"),
            ("GET", "/readyz")} == PUBLIC_ROUTES
    assert {"/static"} == PUBLIC_MOUNTS
    assert {(m, p) for m, p, perm in route_table(app) if perm is None} == PUBLIC_ROUTES
    mounts = {r.path for r in app.routes if isinstance(r, Mount)}
    assert mounts == PUBLIC_MOUNTS


def test_public_routes_answer_without_a_token(client: TestClient) -> None:
    assert client.get("/login").status_code == 200
    assert client.get("/static/andon.css").status_code == 200
    assert client.get("/static/inbox.js").status_code == 200
    refused = client.post("/login", data={"username": "nobody", "password": "x"})
    assert refused.status_code == 401  # a failed login, not a missing token


# -- the walk over every route --------------------------------------------------------------
def test_every_guarded_route_refuses_a_caller_without_token(
    app: FastAPI, client: TestClient, iv: Intervention,
) -> None:
    failures = []
    for method, path, _ in guarded(app):
        response = client.request(method, url(path, iv))
        if response.status_code != 401:
            failures.append(f"{method} {path}: {response.status_code}")
        elif is_api_path(path):
            if "error" not in response.json():
                failures.append(f"{method} {path}: 401 without an error field")
        elif 'action="/login"' not in response.text:
            failures.append(f"{method} {path}: 401 page is not the login page")
    assert failures == []


def test_every_guarded_route_refuses_roles_without_its_permission(
    app: FastAPI, client: TestClient, *, store: SqlStore, clock: ManualClock,
    iv: Intervention, logins: dict[str, Login],
) -> None:
    failures, checked = [], 0
    for method, path, permission in guarded(app):
        for access in ACCESS_LEVELS:
            if permission in PERMISSIONS[access]:
                continue
            checked += 1
            headers = fresh_token(store, clock, logins[access])
            response = client.request(method, url(path, iv), headers=headers)
            if response.status_code != 403:
                failures.append(f"{method} {path} as {access}: {response.status_code}")
    assert failures == []
    # nine FEEDBACK routes (six, and the console's bulk, comment and API comment) x viewer,
    # PUT /api/spec and the two audit routes x three non-admins, seven MANAGE_MODELS routes
    # (promote, archive, four rollout moves, the quarantine replay page's) x viewer and
    # operator, two REVIEW routes (API and triage page) x viewer and operator
    assert checked == 36


def test_every_guarded_route_admits_roles_with_its_permission(
    app: FastAPI, client: TestClient, *, store: SqlStore, clock: ManualClock,
    iv: Intervention, logins: dict[str, Login],
) -> None:
    failures = []
    for method, path, permission in guarded(app):
        for access in ACCESS_LEVELS:
            if permission not in PERMISSIONS[access]:
                continue
            headers = fresh_token(store, clock, logins[access])
            response = client.request(method, url(path, iv), headers=headers)
            if response.status_code in {401, 403}:
                failures.append(f"{method} {path} as {access}: {response.status_code}")
    assert failures == []


# -- tokens -----------------------------------------------------------------------------------
def test_expired_token_is_refused(
    client: TestClient, store: SqlStore, clock: ManualClock, logins: dict[str, Login],
) -> None:
    token = add_token(store, "operator", clock.now() + timedelta(minutes=10))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=headers).status_code == 200
    clock.advance(seconds=600)
    response = client.get("/api/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "expired" in response.json()["error"]


def test_revoked_token_is_refused(client: TestClient, logins: dict[str, Login]) -> None:
    headers = logins["viewer"].headers
    assert client.delete("/api/tokens/current", headers=headers).status_code == 204
    assert client.get("/api/me", headers=headers).status_code == 401


def test_unknown_and_malformed_credentials_are_refused(client: TestClient) -> None:
    assert client.get("/api/me", headers={"Authorization": "Bearer andon_nope"}).status_code == 401
    assert client.get("/api/me", headers={"Authorization": "Basic dXNlcjpwdw=="}).status_code == 401
    assert client.get("/api/me", headers={"Authorization": "Bearer "}).status_code == 401
    client.cookies.set(SESSION_COOKIE, "andon_nope")
    assert client.get("/api/me").status_code == 401


def test_issued_api_token_works_once_shown_and_is_stored_hashed(
    client: TestClient, store: SqlStore, logins: dict[str, Login],
) -> None:
    response = client.post("/api/tokens", headers=logins["engineer"].headers,
                           json={"expires_in_s": 3600})
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["username"] == "engineer"
    assert body["expires_at"] == "2026-03-02T08:00:00Z"
    me = client.get("/api/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.json()["username"] == "engineer"
    assert all(body["token"] not in e.detail for e in store.events(kind="token"))


def test_token_lifetime_is_bounded(client: TestClient, logins: dict[str, Login]) -> None:
    response = client.post("/api/tokens", headers=logins["viewer"].headers,
                           json={"expires_in_s": 10 * 365 * 86400})
    assert response.status_code == 422


# -- login, sessions, cookies -----------------------------------------------------------------
def test_wrong_password_and_unknown_user_get_the_same_401_and_no_cookie(
    client: TestClient, logins: dict[str, Login],
) -> None:
    for username, password in (("operator", "Not-The-Password-7"), ("nobody", PASSWORD)):
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 401
        assert "set-cookie" not in response.headers
        assert "Unknown user or wrong password" in response.text
        assert password not in response.text
    assert SESSION_COOKIE not in client.cookies


def test_user_without_password_cannot_log_in(client: TestClient, store: SqlStore) -> None:
    add_user(store, "svc", access="viewer")
    response = client.post("/login", data={"username": "svc", "password": ""})
    assert response.status_code == 401


def test_login_sets_a_strict_httponly_session_cookie(
    client: TestClient, logins: dict[str, Login],
) -> None:
    response = client.post("/login", data={"username": "operator", "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["location"] == "/inbox"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=andon_")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/" in cookie
    assert f"Max-Age={int(SESSION_TTL_S)}" in cookie


def test_bearer_and_cookie_both_identify_the_caller(
    client: TestClient, logins: dict[str, Login],
) -> None:
    by_bearer = client.get("/api/me", headers=logins["admin"].headers)
    assert by_bearer.json()["username"] == "admin"
    sign_in(client, "operator")
    by_cookie = client.get("/api/me")
    assert by_cookie.json()["username"] == "operator"
    assert client.get("/inbox").status_code == 200


def test_a_wrong_bearer_token_wins_over_a_valid_cookie(
    client: TestClient, logins: dict[str, Login],
) -> None:
    sign_in(client, "operator")
    response = client.get("/api/me", headers={"Authorization": "Bearer andon_wrong"})
    assert response.status_code == 401


def test_session_expires_after_its_ttl_and_shows_the_login_page(
    client: TestClient, clock: ManualClock, logins: dict[str, Login],
) -> None:
    sign_in(client, "operator")
    clock.advance(seconds=SESSION_TTL_S)
    response = client.get("/inbox")
    assert response.status_code == 401
    assert 'action="/login"' in response.text
    assert "Your session has ended; please sign in again." in response.text
    assert f'{SESSION_COOKIE}=""' in response.headers["set-cookie"]  # stale cookie dropped


def test_logout_revokes_the_session(client: TestClient, logins: dict[str, Login]) -> None:
    csrf = sign_in(client, "viewer")
    session = client.cookies[SESSION_COOKIE]
    response = client.post("/logout", data={"csrf": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    client.cookies.set(SESSION_COOKIE, session)
    assert client.get("/api/me").status_code == 401


# -- CSRF -----------------------------------------------------------------------------------
def test_cookie_writes_need_the_session_csrf_token(
    client: TestClient, iv: Intervention, logins: dict[str, Login],
) -> None:
    csrf = sign_in(client, "operator")
    path = f"/inbox/{iv.id}/feedback"
    assert client.post(path, data={"kind": "deferred"}).status_code == 403
    assert client.post(path, data={"kind": "deferred", "csrf": "0" * 64}).status_code == 403
    api = f"/api/interventions/{iv.id}/feedback"
    assert client.post(api, json={"kind": "deferred"}).status_code == 403
    assert client.post(api, json={"kind": "deferred", "reason": "spares Monday"},
                       headers={CSRF_HEADER: csrf}).status_code == 201
    assert client.post(path, data={"kind": "acted", "csrf": csrf}).status_code == 303


def test_csrf_token_is_bound_to_the_session(
    app: FastAPI, client: TestClient, iv: Intervention, logins: dict[str, Login],
) -> None:
    other_csrf = sign_in(client, "engineer")
    with TestClient(app, follow_redirects=False) as second:
        sign_in(second, "operator")
        response = second.post(f"/inbox/{iv.id}/feedback",
                               data={"kind": "deferred", "csrf": other_csrf})
    assert response.status_code == 403


def test_bearer_callers_need_no_csrf_token(
    client: TestClient, iv: Intervention, logins: dict[str, Login],
) -> None:
    response = client.post(f"/inbox/{iv.id}/feedback",
                           data={"kind": "deferred", "reason": "spares Monday"},
                           headers=logins["operator"].headers)
    assert response.status_code == 303


# -- no CDN, no docs pages, OpenAPI only for callers ----------------------------------------
def test_openapi_is_served_only_to_authenticated_callers(
    client: TestClient, logins: dict[str, Login],
) -> None:
    assert client.get("/api/openapi.json").status_code == 401
    spec = client.get("/api/openapi.json", headers=logins["viewer"].headers).json()
    assert "/api/interventions/{intervention_id}/feedback" in spec["paths"]
    assert "/inbox" not in spec["paths"]  # HTML pages are not part of the API description
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
        assert client.get(path, headers=logins["viewer"].headers).status_code == 404


def test_pages_load_nothing_from_another_origin(
    client: TestClient, iv: Intervention, logins: dict[str, Login],
) -> None:
    login_page = client.get("/login")
    sign_in(client, "operator")
    bodies = [login_page.text, client.get("/inbox").text,
              client.get("/static/andon.css").text, client.get("/static/inbox.js").text]
    for body in bodies:
        assert re.search(r"https?://|(src|href|action)=[\"']//|url\(", body) is None
    csp = login_page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp


# -- secrets stay secret ------------------------------------------------------------------
def test_tokens_and_passwords_are_not_logged_or_echoed(
    client: TestClient, logins: dict[str, Login], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    token = logins["operator"].token
    client.get("/api/me", headers=logins["operator"].headers)
    refused = client.get("/api/me", headers={"Authorization": f"Bearer {token}x"})
    failed = client.post("/login", data={"username": "operator", "password": "hunter2-wrong"})
    client.post("/login", data={"username": "operator", "password": PASSWORD})
    session = client.cookies[SESSION_COOKIE]
    for secret in (token, session, PASSWORD, "hunter2-wrong"):
        assert secret not in caplog.text
        assert secret not in refused.text
        assert secret not in failed.text


# -- one mapping from the error tree to HTTP --------------------------------------------------
@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (AuthError("who?"), 401),
        (Forbidden("ana", "operator", "change spec"), 403),
        (NotFound("intervention", "x"), 404),
        (FeedbackError("needs a reason"), 422),
        (SpecError("plant.yaml", 3, "sites", "bad"), 422),
        (SpecErrors([SpecError("plant.yaml", 3, "sites", "bad")]), 422),
        (PayloadError("t", "bad"), 422),
        (ModelError("m", "bad"), 409),
        (RegistryError("unsigned"), 409),
        (StageError("m v1", "archived", "production", "requalify first"), 409),
        (StoreError("refused"), 409),
        (AndonError("other"), 400),
    ],
)
def test_error_tree_maps_to_status_codes(exc: AndonError, status: int) -> None:
    assert status_for(exc) == status
    assert "http_status" in vars(type(exc)), "declared by the class itself (andon.errors)"
