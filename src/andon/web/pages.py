"""The inbox pages: sign in, see open interventions, say acted / deferred / dismissed.

Server-rendered with Jinja2 from ``andon/web/templates``; CSS and JS are vendored in
``andon/web/static`` (no CDN, no external URL). Every page except the login form needs a
signed-in caller, resolved by the shared dependency of ``andon.http.auth``.
"""

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from andon.app import (
    Actor,
    Context,
    find_interventions,
    give_feedback,
    issue_token,
    may_see_all,
    move,
    record_outcome,
    revoke_token,
    sign_in,
    track_record,
)
from andon.auth.access import Permission, access_allows
from andon.errors import (
    AndonError,
    AuthError,
    FeedbackError,
    LifecycleError,
    NotFound,
    SignInLocked,
)
from andon.feedback.answers import FeedbackKind, Via
from andon.http.auth import SESSION_COOKIE, Authenticator, Caller, needs
from andon.interventions.lifecycle import InterventionState
from andon.interventions.record import OutcomeLabel
from andon.spec.model import PlantSpec
from andon.web.console import ConsoleRequest, console_router, console_view
from andon.web.views import iv_view, record_text, user_view, watched_assets

__all__ = ["WebInbox"]


_MAX_SHELVE_H = 24
_DONE_TEXT = {"acknowledged": "acknowledged", "in_progress": "started", "done": "done",
              "deferred": "deferred", "dismissed": "dismissed", "shelved": "shelved",
              "outcome": "outcome", "comment": "comment",
              **{k.value: k.value for k in FeedbackKind}}

LOGIN_FAILED = "Unknown user or wrong password"
_MAX_FIELD = 1000  # longer usernames or passwords are refused like wrong ones
_REFRESH_S = 30
#: how often an open inbox asks ``/inbox/live`` whether anything in its scope changed
LIVE_POLL_S = 2.0
_HTML_HEADERS = {"Cache-Control": "no-store"}
#: the period of the track record each inbox card shows, and how long it is reused
RECORD_DAYS = 90
_RECORD_TTL = timedelta(minutes=1)

Reader = Annotated[Caller, Depends(needs(Permission.READ))]
Giver = Annotated[Caller, Depends(needs(Permission.FEEDBACK))]


class WebInbox:
    """The web surface: its router, its static files and its error pages.

    Collaborators are passed in by the composition root (``andon.api.create_app``): ``ctx``
    (store, clock, the plant spec in force) for the use cases of ``andon.app``, ``auth`` for
    sessions and CSRF, ``status_for`` mapping Andon errors to HTTP status codes.
    """

    def __init__(self, ctx: Context, *, auth: Authenticator,
                 status_for: Callable[[AndonError], int]) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.clock = ctx.clock
        self.auth = auth
        self.status_for = status_for  # the app's one mapping of errors to HTTP status codes
        self._record_cache: tuple[datetime, dict[tuple[str, str, str], str]] | None = None
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("andon.web", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def spec(self) -> PlantSpec:
        """The plant spec in force."""
        return self.ctx.spec

    # -- building blocks -------------------------------------------------------------------
    def static_files(self) -> StaticFiles:
        """Serve the vendored CSS and JS (mounted at ``/static``)."""
        return StaticFiles(packages=[("andon.web", "static")])

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """Render a template as an uncached HTML response."""
        context.setdefault("enterprise", self.spec().enterprise.name)
        context.setdefault("me", None)
        context.setdefault("csrf", "")
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers=_HTML_HEADERS)

    def login_page(self, status: int = 200, *, message: str = "", error: str = "",
                   username: str = "") -> HTMLResponse:
        """Render the sign-in form."""
        return self.render("login.html", status, message=message, error=error,
                           username=username)

    def render_error(self, request: Request, status: int, message: str,
                     problems: Sequence[str]) -> Response:
        """Render an error as a page; a 401 is the login page (and drops a stale cookie)."""
        if status == 401:  # noqa: PLR2004 - HTTP status
            presented = SESSION_COOKIE in request.cookies or "authorization" in request.headers
            note = "Your session has ended; please sign in again." if presented else ""
            response = self.login_page(401, message=note)
            if SESSION_COOKIE in request.cookies:
                self.auth.clear_session_cookie(response)
            return response
        return self.render("error.html", status, code=status, message=message,
                           problems=list(problems))

    def inbox_page(self, caller: Caller, status: int = 200, *, flash: str = "",
                   error: str = "", error_iv: str = "", reason: str = "",
                   console: ConsoleRequest | None = None,
                   bulk: Sequence[tuple[str, bool, str]] = ()) -> HTMLResponse:
        """Render the console: the open interventions in the caller's scope, or the history.

        ``console`` is what the query string asked (filters, sort, page; ``None``: the
        defaults, e.g. when a post is refused); ``bulk`` the per-item results of a bulk action.
        """
        spec, now = self.spec(), self.clock.now()
        req = console or ConsoleRequest()
        actor = Actor.of(caller.user, Via.WEB)
        found = find_interventions(self.ctx, actor, req.query(now), everyone=req.everyone)
        said = self._records(now) if not req.closed else {}
        plant = self.store.newest_sample_ms([r.asset for r in found.page.items])
        ivs = [iv_view(r, spec, now, said.get((r.model, r.model_version, r.line), ""),
                       plant=plant)
               for r in found.page.items]
        closed: list[Any] = []
        if not req.closed:
            recent = self.store.list_interventions(open_only=False, limit=50)
            closed = [iv_view(r, spec, now) for r in recent
                      if not r.is_open and r.outcome is None and found.scope.admits(r)]
        seq, comment_mark = self.store.change_marks()
        return self.render(
            "inbox.html", status,
            me=user_view(caller.user, spec), csrf=self.auth.csrf_token(caller),
            ivs=ivs, awaiting=closed,
            can_give=access_allows(caller.user.access, Permission.FEEDBACK),
            watched=watched_assets(spec), now_count=sum(r.urgency in {"now", "overdue"}
                                                        for r in ivs),
            flash=flash, error=error, error_iv=error_iv, reason=reason,
            refresh_s=_REFRESH_S, live_s=LIVE_POLL_S, live_seq=seq, live_comment=comment_mark,
            c=req, console=console_view(req, found, spec, now,
                                        can_all=may_see_all(caller.user.access)),
            bulk=list(bulk),
        )

    def shelve_until(self, hours_text: str) -> tuple[datetime | None, str]:
        """(shelving end, "") for a number of hours in (0, 24]; (None, the reason) if not."""
        try:
            hours = float(hours_text or "nan")
        except ValueError:
            hours = float("nan")
        if not 0 < hours <= _MAX_SHELVE_H:
            return None, f"Shelve for more than 0 and at most {_MAX_SHELVE_H} hours."
        return self.clock.now() + timedelta(hours=hours), ""

    def _records(self, now: datetime) -> dict[tuple[str, str, str], str]:
        """(model, version, line) -> its live record there over ``RECORD_DAYS``, as words.

        Computed at most once a minute (the inbox refreshes every 30 s; a 90-day record does
        not move faster than that).
        """
        cached = self._record_cache
        if cached is not None and timedelta(0) <= now - cached[0] < _RECORD_TTL:
            return cached[1]
        said = {(r.model, r.version, r.scope): record_text(
                    r.confirmed, r.false_alarms, r.median_lead_time, RECORD_DAYS)
                for r in track_record(self.ctx, start=now - timedelta(days=RECORD_DAYS),
                                      end=now, mode="live")}
        self._record_cache = (now, said)
        return said

    def _flash(self, done: str | None, intervention_id: str | None) -> str:
        """Return the confirmation shown after a successful feedback post redirected here."""
        if done not in _DONE_TEXT or not intervention_id:
            return ""
        try:
            iv = self.store.get_intervention(intervention_id)
        except NotFound:
            return ""
        return f"Recorded “{_DONE_TEXT[done]}” for {iv.asset_name} ({iv.asset})."

    def sign_in(self, request: Request, username: str, password: str) -> Response:
        """Check a password (with back-off), start a session and go to the inbox."""
        auth = self.auth
        username = username.strip()
        shown = username[:_MAX_FIELD]
        if len(username) > _MAX_FIELD or len(password) > _MAX_FIELD:
            return self.login_page(401, error=LOGIN_FAILED, username=shown)
        address = request.client.host if request.client else "unknown"
        try:
            user = sign_in(self.ctx, username, password, address=address).record
        except SignInLocked as exc:
            refused = self.login_page(429, error=f"Too many failed sign-ins. Try again in "
                                      f"{exc.retry_after_s} s.", username=shown)
            refused.headers["Retry-After"] = str(exc.retry_after_s)
            return refused
        except AuthError:
            return self.login_page(401, error=LOGIN_FAILED, username=shown)
        issued = issue_token(self.ctx, Actor.of(user, Via.WEB), user.username,
                             timedelta(seconds=auth.session_ttl_s), kind="session").record
        response = RedirectResponse("/inbox", status_code=303)
        auth.set_session_cookie(response, issued.token,
                                secure=request.url.scheme == "https")
        return response

    # -- routes ----------------------------------------------------------------------------
    def router(self) -> APIRouter:  # noqa: C901 - one nested function per route
        """Build the HTML routes: login, logout, inbox and feedback posts."""
        router = APIRouter(include_in_schema=False)
        auth = self.auth

        @router.get("/login", response_class=HTMLResponse)
        def login_form() -> HTMLResponse:
            """Show the sign-in form (public)."""
            return self.login_page()

        @router.post("/login", response_class=HTMLResponse)
        def login(request: Request, username: Annotated[str, Form()] = "",
                  password: Annotated[str, Form()] = "") -> Response:
            """Check the password, start a session, go to the inbox (public)."""
            return self.sign_in(request, username, password)

        @router.post("/logout")
        def logout(caller: Reader) -> Response:
            """End the session: revoke its token and drop the cookie."""
            revoke_token(self.ctx, Actor.of(caller.user, Via.WEB), caller.token_hash,
                         what=f"{caller.via} token")
            response = RedirectResponse("/login", status_code=303)
            auth.clear_session_cookie(response)
            return response

        @router.get("/")
        def home(caller: Reader) -> Response:
            """Send the caller to the inbox, the home page."""
            del caller
            return RedirectResponse("/inbox", status_code=303)

        @router.get("/inbox", response_class=HTMLResponse)
        def inbox(
            caller: Reader, *, done: Annotated[str | None, Query(max_length=20)] = None,
            iv: Annotated[str | None, Query(max_length=200)] = None,
            view: Annotated[str, Query(max_length=10)] = "open",
            scope: Annotated[str, Query(max_length=10)] = "mine",
            priority: Annotated[list[str] | None, Query(max_length=20)] = None,
            state: Annotated[list[str] | None, Query(max_length=20)] = None,
            asset: Annotated[list[str] | None, Query(max_length=200)] = None,
            line: Annotated[list[str] | None, Query(max_length=200)] = None,
            age: Annotated[str, Query(max_length=10)] = "",
            q: Annotated[str, Query(max_length=200)] = "",
            sort: Annotated[str, Query(max_length=10)] = "",
            direction: Annotated[str, Query(alias="dir", max_length=4)] = "asc",
            page: Annotated[int, Query(ge=1, le=10_000)] = 1,
        ) -> HTMLResponse:
            """Show the console: the open interventions in scope, or the history.

            Sorted and filtered as the query string says (``andon.web.console``), with the
            buttons the caller may use.
            """
            console = ConsoleRequest.parse(
                view=view, scope=scope, priority=priority, state=state, asset=asset,
                line=line, age=age, q=q, sort=sort, direction=direction, page=page)
            return self.inbox_page(caller, flash=self._flash(done, iv), console=console)

        @router.post("/inbox/{intervention_id}/feedback", response_class=HTMLResponse)
        def feedback(intervention_id: str, caller: Giver, kind: Annotated[str, Form()] = "",
                     reason: Annotated[str, Form()] = "") -> Response:
            """Record acted / deferred / dismissed from the inbox, then show the inbox again."""
            try:
                fb_kind = FeedbackKind(kind)
            except ValueError:
                return self.inbox_page(caller, 422, error="Choose Acted, Deferred or Dismissed.",
                                       error_iv=intervention_id, reason=reason)
            return self._answer(caller, intervention_id, fb_kind.value, reason,
                                lambda: give_feedback(self.ctx, Actor.of(caller.user, Via.WEB),
                                                      intervention_id, fb_kind, reason))

        @router.post("/inbox/{intervention_id}/transition", response_class=HTMLResponse)
        def transition(intervention_id: str, caller: Giver, to: Annotated[str, Form()] = "",
                       reason: Annotated[str, Form()] = "",
                       shelve_hours: Annotated[str, Form()] = "") -> Response:
            """Move an intervention (acknowledge, start, done, defer, dismiss, shelve)."""
            if to not in {s.value for s in InterventionState}:
                return self.inbox_page(caller, 422, error="Choose one of the offered moves.",
                                       error_iv=intervention_id, reason=reason)
            until = None
            if to == InterventionState.SHELVED.value:
                until, problem = self.shelve_until(shelve_hours)
                if problem:
                    return self.inbox_page(caller, 422, error=problem,
                                           error_iv=intervention_id, reason=reason)
            return self._answer(caller, intervention_id, to, reason, lambda: move(
                self.ctx, Actor.of(caller.user, Via.WEB), intervention_id, to, reason=reason,
                shelve_until=until))

        @router.post("/inbox/{intervention_id}/outcome", response_class=HTMLResponse)
        def outcome(intervention_id: str, caller: Giver, label: Annotated[str, Form()] = "",
                    detail: Annotated[str, Form()] = "") -> Response:
            """Record what was found (fault confirmed / no fault / unsure)."""
            try:
                chosen = OutcomeLabel(label)
            except ValueError:
                return self.inbox_page(caller, 422, error="Choose what was found.",
                                       error_iv=intervention_id, reason=detail)
            return self._answer(caller, intervention_id, "outcome", detail,
                                lambda: record_outcome(self.ctx,
                                                       Actor.of(caller.user, Via.WEB),
                                                       intervention_id, chosen, detail))

        router.include_router(console_router(self))
        return router

    def _answer(self, caller: Caller, intervention_id: str, done: str, reason: str,
                act: Callable[[], object]) -> Response:
        """Run ``act``; show the inbox with the one-line reason if refused, else redirect."""
        try:
            act()
        except NotFound as exc:
            return self.inbox_page(
                caller, self.status_for(exc),
                error="That intervention no longer exists; the list below is current.")
        except (FeedbackError, LifecycleError) as exc:
            return self.inbox_page(caller, self.status_for(exc), error=_sentence(str(exc)),
                                   error_iv=intervention_id, reason=reason)
        target = f"/inbox?done={quote(done, safe='')}&iv={quote(intervention_id, safe='')}"
        return RedirectResponse(target, status_code=303)


def _sentence(text: str) -> str:
    """Capitalise a one-line reason and end it with a full stop."""
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else text
