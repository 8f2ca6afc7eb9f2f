"""The operator console on ``/inbox``: what the query string asks, and the console's posts.

``/inbox`` reads its view from the query string, so every list is a link and works without
JavaScript: ``view`` (open | history), ``scope`` (mine | all), ``priority``, ``state``,
``asset``, ``line`` (each may repeat), ``age`` (raised within 1h / 8h / 24h / 7d, or more than
1d / 7d ago), ``q`` (text: asset, action, id, outcome, comments), ``sort`` (priority, state,
asset, age, due, newest) with ``dir`` (asc | desc) and ``page``. ``inbox.js`` only enhances:
it submits the filters on change, selects for bulk actions and follows ``/inbox/live``.

Posts (``feedback`` permission and the session's CSRF token, like every inbox post):
``/inbox/{id}/comment`` writes a note; ``/inbox/bulk`` acknowledges, or shelves, the selected
interventions, each through the same ``move`` as one at a time, and shows a result per item.
``GET /inbox/live`` (``read``) answers ``{"seq", "comment", "changed"}``: the store's marks and
the interventions in the caller's scope written since the ``after`` mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.responses import Response

from andon.app import Actor, bulk_move, comment_on, live_changes
from andon.app.console import BULK_MAX
from andon.auth.access import Permission
from andon.errors import FeedbackError, NotFound
from andon.feedback.answers import Via
from andon.http.auth import Caller, needs
from andon.interventions.lifecycle import FINAL_STATES, InterventionState, Priority
from andon.interventions.query import PRIORITY_ORDER, STATE_ORDER, InterventionQuery, SortKey
from andon.web.views import iv_view, local_time

if TYPE_CHECKING:
    from datetime import datetime

    from andon.app import BulkItem, Found
    from andon.feedback.comments import Comment
    from andon.interventions.query import Scope
    from andon.spec.model import PlantSpec
    from andon.web.pages import WebInbox

__all__ = ["AGES", "PAGE_SIZE", "CommentView", "ConsoleRequest", "console_router",
           "console_view", "scope_text"]

Reader = Annotated[Caller, Depends(needs(Permission.READ))]
Giver = Annotated[Caller, Depends(needs(Permission.FEEDBACK))]

#: items per page of the console
PAGE_SIZE = 25
#: age filter -> (text, raised within (True) or before (False), how long)
AGES: dict[str, tuple[str, bool, timedelta]] = {
    "1h": ("raised in the last hour", True, timedelta(hours=1)),
    "8h": ("raised in the last 8 h", True, timedelta(hours=8)),
    "24h": ("raised in the last 24 h", True, timedelta(hours=24)),
    "7d": ("raised in the last 7 days", True, timedelta(days=7)),
    "older1d": ("waiting more than 1 day", False, timedelta(days=1)),
    "older7d": ("waiting more than 7 days", False, timedelta(days=7)),
}
#: sort choices, as the console names them
SORTS = {SortKey.PRIORITY: "Priority", SortKey.STATE: "State", SortKey.ASSET: "Asset",
         SortKey.AGE: "Age (oldest first)", SortKey.DUE: "Due (nearest first)",
         SortKey.NEWEST: "Newest"}
_MAX_TEXT = 200
_MAX_PAGE = 10_000


def _bad(name: str, value: str, allowed: list[str]) -> RequestValidationError:
    return RequestValidationError([{
        "loc": ("query", name), "type": "value_error",
        "msg": f"{value[:60]!r} is not one of {', '.join(allowed)}"}])


def _pick(name: str, values: list[str], allowed: list[str]) -> tuple[str, ...]:
    """The non-empty values, each one of ``allowed`` (else a one-line 422)."""
    chosen = tuple(dict.fromkeys(v for v in values if v))
    for v in chosen:
        if v not in allowed:
            raise _bad(name, v, allowed)
    return chosen


@dataclass(frozen=True, slots=True)
class ConsoleRequest:
    """What the query string of ``/inbox`` asks for (checked; empty filters filter nothing)."""

    view: str = "open"
    scope: str = "mine"
    priority: tuple[str, ...] = ()
    state: tuple[str, ...] = ()
    asset: tuple[str, ...] = ()
    line: tuple[str, ...] = ()
    age: str = ""
    q: str = ""
    sort: str = ""
    dir: str = "asc"
    page: int = 1

    @classmethod
    def parse(cls, *, view: str = "open", scope: str = "mine",
              priority: list[str] | None = None, state: list[str] | None = None,
              asset: list[str] | None = None, line: list[str] | None = None, age: str = "",
              q: str = "", sort: str = "", direction: str = "asc",
              page: int = 1) -> ConsoleRequest:
        """Check the query string's values; ``RequestValidationError`` naming a bad one."""
        view = _pick("view", [view], ["open", "history"])[0] if view else "open"
        closed = view == "history"
        states = [s.value for s in STATE_ORDER if (s in FINAL_STATES) == closed]
        return cls(
            view=view,
            scope=_pick("scope", [scope], ["mine", "all"])[0] if scope else "mine",
            priority=_pick("priority", priority or [], [p.value for p in PRIORITY_ORDER]),
            state=_pick("state", state or [], states),
            asset=tuple(dict.fromkeys(a.strip() for a in asset or [] if a.strip())),
            line=tuple(dict.fromkeys(ln.strip() for ln in line or [] if ln.strip())),
            age=_pick("age", [age], list(AGES))[0] if age else "",
            q=q.strip(),
            sort=_pick("sort", [sort], [s.value for s in SortKey])[0] if sort else "",
            dir=_pick("dir", [direction], ["asc", "desc"])[0] if direction else "asc",
            page=page,
        )

    @property
    def closed(self) -> bool:
        """True for the history of closed interventions."""
        return self.view == "history"

    @property
    def sort_key(self) -> SortKey:
        """The sort asked for, else the view's default (priority; newest for the history)."""
        if self.sort:
            return SortKey(self.sort)
        return SortKey.NEWEST if self.closed else SortKey.PRIORITY

    @property
    def everyone(self) -> bool:
        """Whether the caller asked to see every site's and role's."""
        return self.scope == "all"

    @property
    def filtered(self) -> bool:
        """Whether any filter or search narrows the list."""
        return bool(self.priority or self.state or self.asset or self.line or self.age
                    or self.q)

    def query(self, now: datetime) -> InterventionQuery:
        """The ``InterventionQuery`` of this request at ``now`` (scope filled in by the app)."""
        after = before = None
        if self.age:
            _, within, span = AGES[self.age]
            if within:
                after = now - span
            else:
                before = now - span
        return InterventionQuery(
            closed=self.closed, priorities=frozenset(Priority(p) for p in self.priority),
            states=frozenset(InterventionState(s) for s in self.state),
            assets=frozenset(self.asset), lines=frozenset(self.line), raised_after=after,
            raised_before=before, text=self.q, sort=self.sort_key,
            descending=self.dir == "desc", limit=PAGE_SIZE,
            offset=(self.page - 1) * PAGE_SIZE)

    def params(self, **changes: Any) -> list[tuple[str, str]]:
        """Return the query string's pairs, with ``changes`` (None drops a key)."""
        values: dict[str, Any] = {
            "view": self.view, "scope": self.scope, "priority": self.priority,
            "state": self.state, "asset": self.asset, "line": self.line, "age": self.age,
            "q": self.q, "sort": self.sort, "dir": self.dir, "page": self.page,
        }
        values.update(changes)
        defaults = {"view": "open", "scope": "mine", "dir": "asc", "page": 1}
        pairs: list[tuple[str, str]] = []
        for key, value in values.items():
            if value is None or value in ("", ()) or defaults.get(key) == value:
                continue
            pairs.extend((key, str(v)) for v in (value if isinstance(value, tuple) else
                                                 (value,)))
        return pairs

    def url(self, **changes: Any) -> str:
        """``/inbox`` with this request's query string and ``changes``."""
        pairs = self.params(**changes)
        return "/inbox" + (f"?{urlencode(pairs)}" if pairs else "")


@dataclass(frozen=True, slots=True)
class CommentView:
    """A comment as the card shows it: who, when (site time), what."""

    by: str
    at_local: str
    at_iso: str
    body: str


def _tz(spec: PlantSpec, site_id: str) -> ZoneInfo:
    site = next((s for s in spec.sites if s.id == site_id), None)
    return ZoneInfo(site.timezone if site is not None else "UTC")


def comment_views(comments: dict[str, list[Comment]], spec: PlantSpec,
                  sites: dict[str, str]) -> dict[str, list[CommentView]]:
    """Each intervention's comments, in its site's time (``sites``: id -> site id)."""
    return {iv_id: [CommentView(c.by, local_time(c.at, _tz(spec, sites.get(iv_id, ""))),
                                c.at.isoformat(), c.body) for c in found]
            for iv_id, found in comments.items()}


def scope_text(scope: Scope, spec: PlantSpec, *, everyone: bool) -> str:
    """Whose interventions the console shows, in words."""
    if everyone or scope.is_all:
        return "every site, line and role"
    parts = []
    if scope.sites is not None:
        names = {s.id: s.name for s in spec.sites}
        parts.append(", ".join(names.get(s, s) for s in sorted(scope.sites)))
    if scope.lines is not None:
        line_names = {(s.id, ln.id): ln.name for s, _, ln in spec.lines()}
        parts.append(", ".join(line_names.get(k, k[1]) for k in sorted(scope.lines))
                     or "no line")
    if scope.owner_roles is not None:
        roles = {r.id: r.name for r in spec.roles}
        owned = ", ".join(roles.get(r, r) for r in sorted(scope.owner_roles))
        parts.append(f"owned by {owned}, raised for it or taken by you")
    return " · ".join(parts) or "every site, line and role"


def console_view(req: ConsoleRequest, found: Found, spec: PlantSpec, now: datetime, *,
                 can_all: bool) -> dict[str, Any]:
    """What the template needs beyond the cards: tabs, scope, filter options, pages, history."""
    page = found.page
    last = max(1, -(-page.total // page.limit))
    sites = {iv.id: iv.site for iv in page.items}
    scope = found.scope
    assets = [(x.id, f"{x.name} ({x.id})") for s, _, ln, x in spec.assets()
              if (scope.sites is None or s.id in scope.sites)
              and (scope.lines is None or (s.id, ln.id) in scope.lines)]
    lines = list(dict.fromkeys((ln.id, ln.name) for s, _, ln in spec.lines()
                               if (scope.sites is None or s.id in scope.sites)
                               and (scope.lines is None or (s.id, ln.id) in scope.lines)))
    closed = req.closed
    history = [{"v": iv_view(iv, spec, now), "closed_local": local_time(iv.updated_at,
                                                                        _tz(spec, iv.site)),
                "outcome_detail": iv.outcome_detail}
               for iv in page.items] if closed else []
    return {
        "total": page.total, "page": req.page, "pages": last,
        "first": page.offset + 1 if page.items else 0, "last": page.offset + len(page.items),
        "prev_url": req.url(page=req.page - 1) if req.page > 1 else "",
        "next_url": req.url(page=req.page + 1) if page.has_next else "",
        "open_url": req.url(view="open", state=(), sort="", page=1),
        "history_url": req.url(view="history", state=(), sort="", page=1),
        "mine_url": req.url(scope="mine", page=1), "all_url": req.url(scope="all", page=1),
        "clear_url": ConsoleRequest(view=req.view, scope=req.scope).url(),
        "scope_text": scope_text(scope, spec, everyone=found.everyone), "can_all": can_all,
        "priorities": [p.value for p in PRIORITY_ORDER],
        "states": [s.value for s in STATE_ORDER if (s in FINAL_STATES) == closed],
        "assets": assets, "lines": lines,
        "ages": [(k, text) for k, (text, _, _) in AGES.items()],
        "sorts": [(k.value, text) for k, text in SORTS.items()],
        "sort": req.sort_key.value,
        "comments": comment_views(found.comments, spec, sites),
        "history": history,
        "bulk_max": BULK_MAX,
    }


def bulk_text(results: list[BulkItem], target: str) -> tuple[str, list[tuple[str, bool, str]]]:
    """The summary of a bulk action and its lines (id, done, reason)."""
    verb = "Acknowledged" if target == InterventionState.ACKNOWLEDGED.value else "Shelved"
    done = sum(r.ok for r in results)
    refused = len(results) - done
    summary = f"{verb} {done} of {len(results)}" + (f"; {refused} refused" if refused else "")
    return summary + ".", [(r.intervention_id, r.ok, r.reason) for r in results]


def console_router(web: WebInbox) -> APIRouter:
    """The console's posts and its live endpoint (the list itself is ``/inbox``)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/inbox/live")
    def live(caller: Reader, after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
             scope: Annotated[str, Query(max_length=10)] = "mine") -> JSONResponse:
        """The store's marks and the ids in the caller's scope changed since ``after``."""
        everyone = _pick("scope", [scope], ["mine", "all"])[0] == "all" if scope else False
        marks = live_changes(web.ctx, Actor.of(caller.user, Via.WEB), after=after,
                             everyone=everyone)
        return JSONResponse({"seq": marks.seq, "comment": marks.comment,
                             "changed": list(marks.changed)},
                            headers={"Cache-Control": "no-store"})

    @router.post("/inbox/bulk", response_class=HTMLResponse)
    def bulk(caller: Giver, ids: Annotated[list[str] | None, Form(max_length=200)] = None,
             to: Annotated[str, Form(max_length=20)] = "",
             reason: Annotated[str, Form(max_length=2000)] = "",
             shelve_hours: Annotated[str, Form(max_length=20)] = "") -> Response:
        """Acknowledge or shelve the selected interventions; a result per item."""
        until = None
        if to == InterventionState.SHELVED.value:
            until, problem = web.shelve_until(shelve_hours)
            if problem:
                return web.inbox_page(caller, 422, error=problem)
        try:
            results = bulk_move(web.ctx, Actor.of(caller.user, Via.WEB), ids or [], to,
                                reason=reason, shelve_until=until)
        except FeedbackError as exc:
            return web.inbox_page(caller, web.status_for(exc), error=_sentence(str(exc)))
        summary, lines = bulk_text(results, to)
        return web.inbox_page(caller, flash=summary, bulk=lines)

    @router.post("/inbox/{intervention_id}/comment", response_class=HTMLResponse)
    def comment(intervention_id: str, caller: Giver,
                body: Annotated[str, Form(max_length=10_000)] = "") -> Response:
        """Write a note on an intervention, then show the inbox (at that card)."""
        try:
            comment_on(web.ctx, Actor.of(caller.user, Via.WEB), intervention_id, body)
        except NotFound as exc:
            return web.inbox_page(
                caller, web.status_for(exc),
                error="That intervention no longer exists; the list below is current.")
        except FeedbackError as exc:
            return web.inbox_page(caller, web.status_for(exc), error=_sentence(str(exc)),
                                  error_iv=intervention_id)
        back = urlencode({"done": "comment", "iv": intervention_id})
        return RedirectResponse(f"/inbox?{back}", status_code=303)

    return router


def _sentence(text: str) -> str:
    """Capitalise a one-line reason and end it with a full stop."""
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else text
