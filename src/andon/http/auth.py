"""Who is calling: the one auth dependency every HTTP route (JSON and HTML) declares.

A caller presents a token either as ``Authorization: Bearer <token>`` or in the session cookie
``andon_session`` (HttpOnly, SameSite=Strict). Only ``hash_token(token)`` is ever looked up or
stored; tokens and passwords are never logged or echoed.

Each route names the ONE permission it needs with ``Depends(needs(Permission.X))``; the
permission is readable back from the route (``route_permissions``), so a test can walk every
route of the app and prove it is guarded. The only routes without a permission are listed in
``PUBLIC_ROUTES`` (plus the ``/static`` mount, ``PUBLIC_MOUNTS``): the login form, and the
liveness and readiness probes (``andon.api.probes``), which a service manager calls without a
token and which therefore say nothing but "ok" or which check is down.

Cookie-authenticated requests that change state (POST, PUT, PATCH, DELETE) must also carry the
session's CSRF token (form field ``csrf`` or header ``X-CSRF-Token``): an HMAC of the session
token's hash under a per-process secret. Bearer callers need none (a browser never adds a bearer
header on its own).
"""

import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Literal

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from starlette.responses import Response

from andon.audit import Event, EventKind
from andon.auth.access import Permission, User, access_allows, hash_token
from andon.clock import Clock
from andon.errors import AuthError, Forbidden
from andon.store.base import Store

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "PUBLIC_MOUNTS",
    "PUBLIC_ROUTES",
    "SESSION_COOKIE",
    "Authenticator",
    "Caller",
    "Needs",
    "needs",
    "route_permissions",
]

#: name of the session cookie set by ``POST /login``
SESSION_COOKIE = "andon_session"
#: form field and header that carry the CSRF token on cookie-authenticated writes
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
#: (method, path) of the only routes anyone may call without a token: the login form, and the
#: probes of service managers (``andon.api.probes``: they reveal nothing but up or down)
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset({
    ("GET", "/login"), ("POST", "/login"), ("GET", "/healthz"), ("GET", "/readyz")})
#: path prefixes of mounted sub-apps served without a token (vendored CSS and JS only)
PUBLIC_MOUNTS: frozenset[str] = frozenset({"/static"})

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: how a refusal names what the caller may not do
_ACTS = {
    Permission.READ: "read Andon",
    Permission.FEEDBACK: "give feedback on interventions",
    Permission.MANAGE_MODELS: "manage models",
    Permission.CHANGE_SPEC: "change the plant spec",
    Permission.REVIEW: "label triage items",
}


#: a browser session unused this long is ended (IEC 62443-4-2 CR 2.6, Part 11 §11.300)
SESSION_IDLE_S = 30 * 60.0
#: a refused request is recorded at most once per address and reason in this many seconds
_DENIED_EVERY_S = 60.0
#: (address, reason) pairs remembered for that; the oldest are forgotten beyond this
_DENIED_KEPT = 1024


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller: the user, the hash of the token they used, and how."""

    user: User
    token_hash: str
    via: Literal["bearer", "cookie"]


class Authenticator:
    """Resolves callers from tokens and manages sessions and CSRF tokens for one app."""

    def __init__(self, store: Store, clock: Clock, *, session_ttl_s: float,
                 secret: bytes | None = None, session_idle_s: float = SESSION_IDLE_S,
                 access: Callable[[User], User] | None = None) -> None:
        if session_ttl_s <= 0 or session_idle_s <= 0:
            raise ValueError(f"session_ttl_s and session_idle_s must be positive, got "
                             f"{session_ttl_s!r} and {session_idle_s!r}")
        self.store = store
        self.clock = clock
        self.session_ttl_s = session_ttl_s
        self.session_idle = timedelta(seconds=session_idle_s)
        self._secret = secret or secrets.token_bytes(32)
        self._access = access  # the access a user's role grants now (the spec in force)
        self._denied: OrderedDict[tuple[str, str], tuple[datetime, int]] = OrderedDict()
        self._denied_lock = threading.Lock()

    # -- resolving callers -----------------------------------------------------------------
    def caller(self, request: Request) -> Caller:
        """Return the caller of ``request``; ``AuthError`` (401) if no valid token was presented.

        An ``Authorization`` header wins over the cookie: a wrong bearer token is a 401 even
        when a valid session cookie is present.
        """
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthError("the Authorization header must be 'Bearer <token>'")
            return self._lookup(token.strip(), "bearer")
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            return self._lookup(cookie, "cookie")
        raise AuthError("sign in first: no bearer token or session cookie was sent")

    def _lookup(self, token: str, via: Literal["bearer", "cookie"]) -> Caller:
        token_hash = hash_token(token)
        user = self.store.user_for_token(token_hash, self.clock.now(),
                                         session_idle=self.session_idle)
        if user is None:
            raise AuthError("the token is unknown, expired, idle too long or revoked, or its "
                            "login is disabled; sign in again")
        if self._access is not None:
            user = self._access(user)
        return Caller(user=user, token_hash=token_hash, via=via)

    # -- refusals --------------------------------------------------------------------------
    def record_denied(self, request: Request, who: str, reason: str) -> None:
        """Record a refused request as an event, at most once a minute per address and reason.

        The next record for the same address and reason says how many more were refused
        meanwhile, so a flood of bad tokens cannot flood the audit trail yet is counted. The
        path is cut to 300 characters (it is the caller's to choose).
        """
        address = request.client.host if request.client else "unknown"
        now = self.clock.now()
        key = (address, reason)
        with self._denied_lock:
            last = self._denied.get(key)
            if last is not None and (now - last[0]).total_seconds() < _DENIED_EVERY_S:
                self._denied[key] = (last[0], last[1] + 1)
                return
            skipped = last[1] if last is not None else 0
            self._denied[key] = (now, 0)
            self._denied.move_to_end(key)
            while len(self._denied) > _DENIED_KEPT:
                self._denied.popitem(last=False)
        more = f" ({skipped} more refused since the last record)" if skipped else ""
        subject = f"{request.method} {request.url.path}"[:300]
        self.store.add_event(Event(EventKind.ACCESS_DENIED, subject,
                                   f"{reason}, from {address}{more}", now, who))

    # -- sessions --------------------------------------------------------------------------
    def set_session_cookie(self, response: Response, token: str, *, secure: bool) -> None:
        """Attach the session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS)."""
        response.set_cookie(SESSION_COOKIE, token, max_age=int(self.session_ttl_s), path="/",
                            httponly=True, samesite="strict", secure=secure)

    @staticmethod
    def clear_session_cookie(response: Response) -> None:
        """Tell the browser to drop the session cookie."""
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")

    # -- CSRF ------------------------------------------------------------------------------
    def csrf_token(self, caller: Caller) -> str:
        """Return the CSRF token bound to the caller's session (stable for its life)."""
        return hmac.new(self._secret, caller.token_hash.encode(), sha256).hexdigest()

    def csrf_ok(self, caller: Caller, presented: str | None) -> bool:
        """Check whether ``presented`` is the caller's CSRF token (constant-time)."""
        return presented is not None and hmac.compare_digest(self.csrf_token(caller), presented)


def authenticator(request: Request) -> Authenticator:
    """Return the app's ``Authenticator`` (``create_app`` sets ``app.state.authenticator``)."""
    found = getattr(request.app.state, "authenticator", None)
    if not isinstance(found, Authenticator):
        raise TypeError("app.state.authenticator is not set; build the app with create_app()")
    return found


class Needs:
    """FastAPI dependency: resolve the caller and require one permission.

    Raises ``AuthError`` (401) for an unknown caller and ``Forbidden`` (403) for a caller
    whose access level lacks ``permission`` or whose cookie-authenticated write lacks the CSRF
    token. Returns the ``Caller``.
    """

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __repr__(self) -> str:
        return f"needs({self.permission.value!r})"

    async def __call__(self, request: Request) -> Caller:
        """Resolve and check the caller of ``request``."""
        auth = authenticator(request)
        try:
            caller = await run_in_threadpool(auth.caller, request)
        except AuthError as exc:
            if _presented_credentials(request):  # a bare visit to a page is not an attack
                await run_in_threadpool(auth.record_denied, request, "(unknown caller)",
                                        f"401 {exc}")
            raise
        try:
            await _allowed_check(self.permission, auth, request, caller)
        except Forbidden as exc:
            await run_in_threadpool(auth.record_denied, request, caller.user.username,
                                    f"403 {exc}")
            raise
        return caller


async def _allowed_check(permission: Permission, auth: Authenticator, request: Request,
                         caller: Caller) -> None:
    """``Forbidden`` unless the caller holds ``permission`` (and, for a cookie write, CSRF)."""
    user = caller.user
    if not access_allows(user.access, permission):
        raise Forbidden(user.username, user.role, _ACTS.get(permission, permission.value))
    if caller.via == "cookie" and request.method not in _SAFE_METHODS:
        presented = request.headers.get(CSRF_HEADER)
        if presented is None and _is_form(request):
            value = (await request.form()).get(CSRF_FIELD)
            presented = value if isinstance(value, str) else None
        if not auth.csrf_ok(caller, presented):
            raise Forbidden(user.username, user.role,
                            "send this form without a valid CSRF token (reload the page)")


def _presented_credentials(request: Request) -> bool:
    return "authorization" in request.headers or SESSION_COOKIE in request.cookies


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in {"application/x-www-form-urlencoded", "multipart/form-data"}


def needs(permission: Permission) -> Needs:
    """Declare that a route needs ``permission``: ``Depends(needs(Permission.READ))``."""
    return Needs(permission)


def route_permissions(dependant: Dependant) -> list[Permission]:
    """List every permission a route's dependency tree requires (guarded routes: one)."""
    found: list[Permission] = []
    stack = list(dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Needs):
            found.append(dep.call.permission)
        stack.extend(dep.dependencies)
    return found
