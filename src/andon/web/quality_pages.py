"""The pages engineers keep the data and the people's load in view with.

``/quality``: the data-quality report of ``andon dq report`` for a period, a site, a line or
an asset: samples recorded, flagged and quarantined by rule (a bar chart), the quarantine rate
hour by hour, and the table per tag and per source. ``/quarantine``: what was kept out, with
filters (rule, text in the topic, tag or source, period, replayed or not) and pages; an
engineer replays it after a fix (``POST /quarantine/replay``, a background job whose progress
the page polls at ``/quarantine/replay/{job}``). ``/triage``: detections held for a reviewer
with their evidence; a reviewer labels them (``POST /triage/{id}/label``) and they move to the
"labelled" tab. ``/load``: ISA-18.2 operator load per position over a period, per hour against
the 6 (acceptable) and 12 (manageable) lines.

Every page needs READ; a replay needs ``manage_models`` and a label ``review`` (engineer
access), each with the session's CSRF token. What a message carried (topic, source, reason) is
shown escaped and with its control and bidirectional characters spelled out
(``andon.text.printable``): a right-to-left override cannot reorder the page.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.responses import Response

from andon.app import (
    Actor,
    data_quality,
    label_triage,
    operator_load,
    quarantine_page,
    triage_queue,
)
from andon.auth.access import Permission, access_allows
from andon.contracts.rules import Rule
from andon.errors import FeedbackError, NotFound
from andon.feedback.answers import Via
from andon.http.auth import Caller, needs
from andon.interventions.triage import TriageStatus, TriageVerdict
from andon.kpi.load import ACCEPTABLE_PER_HOUR, MANAGEABLE_PER_HOUR
from andon.text import printable
from andon.units import parse_duration_s
from andon.web import charts, rate_chart
from andon.web.jobs import ReplayJobs
from andon.web.views import local_time, user_view

if TYPE_CHECKING:
    from andon.app import DataQuality, OperatorLoad, QuarantinePage
    from andon.contracts import Quarantined
    from andon.interventions.triage import TriageItem, TriageLabel
    from andon.kpi.quality import TagQuality
    from andon.spec.model import PlantSpec
    from andon.web.pages import WebInbox

__all__ = ["quality_pages_router"]

Reader = Annotated[Caller, Depends(needs(Permission.READ))]
Replayer = Annotated[Caller, Depends(needs(Permission.MANAGE_MODELS))]
Reviewer = Annotated[Caller, Depends(needs(Permission.REVIEW))]
Text = Annotated[str, Query(max_length=200)]

PER_PAGE = 50
#: how long a poll of a replay's progress may wait for it to finish, at most (seconds)
MAX_WAIT_S = 10.0
#: what each verdict is called on the page (the triage verdicts of ``andon.app``)
VERDICTS = ((TriageVerdict.REAL_PROBLEM, "Fault confirmed"), (TriageVerdict.NORMAL, "No fault"),
            (TriageVerdict.UNSURE, "Unsure"))
_FLAGGED = ("stuck", "rate_of_change", "stale", "late")


class BadPeriod(ValueError):
    """A period query parameter that is neither a duration nor a time (names it)."""


def quality_pages_router(web: WebInbox) -> APIRouter:
    """The data-quality, quarantine, triage and operator-load pages."""
    router = APIRouter(include_in_schema=False)
    pages = _Pages(web)

    @router.get("/quality", response_class=HTMLResponse)
    def quality(caller: Reader, *, since: Text = "24h", site: Text = "", line: Text = "",
                asset: Text = "", show_all: Annotated[bool, Query(alias="all")] = False,
                ) -> HTMLResponse:
        """The data-quality report: totals, by rule, the hourly trend, per tag and source."""
        return pages.quality(caller, since=since, site=site, line=line, asset=asset,
                             show_all=show_all)

    @router.get("/quarantine", response_class=HTMLResponse)
    def quarantine(caller: Reader, *, rule: Text = "", q: Text = "", since: Text = "",
                   until: Text = "", replayed: Text = "",
                   page: Annotated[int, Query(ge=1, le=100_000)] = 1, job: Text = "",
                   busy: bool = False) -> HTMLResponse:
        """Quarantined messages, filtered and paged, with the replay and its progress."""
        filters = {"rule": rule, "q": q, "since": since, "until": until, "replayed": replayed}
        return pages.quarantine(caller, filters, page=page, job=job, busy=busy)

    @router.post("/quarantine/replay")
    def replay(caller: Replayer, rule: Annotated[str, Form(max_length=40)] = "",
               item_id: Annotated[str, Form(max_length=20)] = "") -> Response:
        """Start a replay of the not-yet-replayed items (of one rule, or one item)."""
        chosen = int(item_id) if item_id.isdigit() else None
        job, started = pages.jobs.start(Actor.of(caller.user, Via.WEB),
                                        rule=(rule or None) if chosen is None else None,
                                        item_id=chosen)
        query = {"job": job.id, **({"rule": rule} if rule else {}),
                 **({} if started else {"busy": "true"})}
        return RedirectResponse(f"/quarantine?{urlencode(query)}", status_code=303)

    @router.get("/quarantine/replay/{job_id}")
    def replay_progress(job_id: str, caller: Reader,
                        wait: Annotated[float, Query(ge=0, le=MAX_WAIT_S)] = 0.0) -> Response:
        """A replay's progress as JSON; ``wait``: up to that many seconds for it to finish."""
        del caller
        job = pages.jobs.get(job_id)
        if job is None:
            return JSONResponse({"error": f"no replay {job_id[:40]!r} (finished ones are "
                                          "kept for a while only)"}, status_code=404)
        if wait:
            job.finished.wait(wait)
        return JSONResponse(job.view(), headers={"Cache-Control": "no-store"})

    @router.get("/triage", response_class=HTMLResponse)
    def triage(caller: Reader, tab: Text = "open", labelled: Text = "") -> HTMLResponse:
        """The triage queue (or the labelled items) with evidence and the label form."""
        return pages.triage(caller, tab, flash=_labelled_flash(labelled))

    @router.post("/triage/{item_id}/label", response_class=HTMLResponse)
    def label(item_id: int, caller: Reviewer, verdict: Annotated[str, Form()] = "",
              note: Annotated[str, Form(max_length=2000)] = "") -> Response:
        """Label a triage item fault confirmed / no fault / unsure, with an optional note."""
        return pages.label(caller, item_id, verdict, note)

    @router.get("/load", response_class=HTMLResponse)
    def load(caller: Reader, since: Text = "24h", until: Text = "") -> HTMLResponse:
        """ISA-18.2 operator load per position: figures, per hour against the targets."""
        return pages.load(caller, since, until)

    return router


class _Pages:
    """What each route renders (the routes above only parse)."""

    def __init__(self, web: WebInbox) -> None:
        self.web = web
        self.jobs = ReplayJobs(web.ctx)

    def render(self, caller: Caller, template: str, status: int = 200, /,
               **context: Any) -> HTMLResponse:
        web = self.web
        return web.render(template, status, me=user_view(caller.user, web.spec()),
                          csrf=web.auth.csrf_token(caller), **context)

    def quality(self, caller: Caller, *, since: str, site: str, line: str, asset: str,
                show_all: bool) -> HTMLResponse:
        web = self.web
        spec = web.spec()
        tz = _zone(spec, site)
        form: dict[str, Any] = {"since": since, "site": site, "line": line, "asset": asset,
                                "all": show_all,
                "sites": [s.id for s in spec.sites],
                "lines": sorted({ln.id for _s, _a, ln in spec.lines()}), "tz": tz.key}
        try:
            start, _ = _period(since, "", web.clock.now(), tz)
        except BadPeriod as exc:
            return self.render(caller, "quality.html", 422, error=str(exc), dq=None, **form)
        dq = data_quality(web.ctx, since=start, site=site or None, line=line or None,
                          asset=asset or None)
        return self.render(caller, "quality.html", error="",
                           dq=_quality_view(dq, tz, show_all=show_all), **form)

    def quarantine(self, caller: Caller, filters: dict[str, str], *, page: int, job: str,
                   busy: bool) -> HTMLResponse:
        web = self.web
        spec = web.spec()
        tz = _zone(spec, "")
        rules = sorted(r.value for r in Rule)
        shown = self.jobs.get(job) if job else self.jobs.latest()
        form: dict[str, Any] = {**filters, "rules": rules, "tz": tz.key, "busy": busy,
                "can_replay": access_allows(caller.user.access, Permission.MANAGE_MODELS),
                "job": None if shown is None else shown.view()}
        rule = filters["rule"]
        try:
            start, end = _period(filters["since"], filters["until"], web.clock.now(), tz)
            _known_rule(rule, rules)
        except BadPeriod as exc:
            return self.render(caller, "quarantine.html", 422, error=str(exc), listing=None,
                               **form)
        found = quarantine_page(web.ctx, rule=rule or None, text=filters["q"] or None,
                                since=start, until=end,
                                replayed={"yes": True, "no": False}.get(filters["replayed"]),
                                page=page, per_page=PER_PAGE)
        return self.render(caller, "quarantine.html", error="",
                           listing=_quarantine_view(found, spec, filters), **form)

    def triage(self, caller: Caller, tab: str, status: int = 200, *, flash: str = "",
               error: str = "", error_id: int = 0) -> HTMLResponse:
        web = self.web
        spec = web.spec()
        chosen = TriageStatus.LABELLED if tab == "labelled" else TriageStatus.OPEN
        rows = [_triage_view(item, labels, spec) for item, labels in
                triage_queue(web.ctx, status=chosen, limit=500)]
        counts = {s.value: len(web.store.list_triage(status=s, limit=10_000))
                  for s in TriageStatus}
        return self.render(caller, "triage.html", status, tab=chosen.value, items=rows,
                           counts=counts, verdicts=[(v.value, text) for v, text in VERDICTS],
                           flash=flash, error=error, error_id=error_id,
                           can_label=access_allows(caller.user.access, Permission.REVIEW))

    def label(self, caller: Caller, item_id: int, verdict: str, note: str) -> Response:
        if verdict not in {v.value for v in TriageVerdict}:
            return self.triage(caller, "open", 422, error="Choose Fault confirmed, No fault "
                               "or Unsure.", error_id=item_id)
        try:
            label_triage(self.web.ctx, Actor.of(caller.user, Via.WEB), item_id, verdict, note)
        except NotFound:
            return self.triage(caller, "open", 404, error=f"Triage item {item_id} does not "
                               "exist; the list below is current.")
        except FeedbackError as exc:
            return self.triage(caller, "open", self.web.status_for(exc), error=str(exc),
                               error_id=item_id)
        return RedirectResponse(f"/triage?labelled={item_id}", status_code=303)

    def load(self, caller: Caller, since: str, until: str) -> HTMLResponse:
        web = self.web
        tz = _zone(web.spec(), "")
        form: dict[str, Any] = {"since": since, "until": until, "tz": tz.key}
        try:
            start, end = _period(since, until, web.clock.now(), tz)
        except BadPeriod as exc:
            return self.render(caller, "load.html", 422, error=str(exc), load=None, **form)
        end = end or web.clock.now()
        start = start or end - timedelta(hours=24)
        step = timedelta(hours=1) if end - start <= timedelta(days=14) else timedelta(days=1)
        figures = operator_load(web.ctx, start=start, end=end, step=step)
        return self.render(caller, "load.html", error="", load=_load_view(figures, tz),
                           **form)


# -- parsing -------------------------------------------------------------------------------
def _period(since: str, until: str, now: datetime,
            tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """``since`` / ``until`` as times (each None when empty); an empty period is refused.

    ``since`` counts back from ``until`` (now when empty).
    """
    end = _when(until, now, tz, "until") if until.strip() else None
    start = _when(since, end or now, tz, "since") if since.strip() else None
    if start is not None and start >= (end or now):
        raise BadPeriod(f"the period from {since[:40]!r} to {until[:40] or 'now'!r} is empty: "
                        "until must be after since")
    return start, end


def _when(text: str, now: datetime, tz: ZoneInfo, name: str) -> datetime:
    """A duration back from ``now`` (``24h``, ``7 d``) or a time (no offset: the site's zone)."""
    text = text.strip()
    with contextlib.suppress(ValueError):
        when = datetime.fromisoformat(text)
        return (when if when.tzinfo is not None else when.replace(tzinfo=tz)).astimezone(UTC)
    try:
        seconds = parse_duration_s(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise BadPeriod(f"{name} {text[:40]!r} is neither a duration back from now (e.g. 24h, "
                        "7d) nor a time (e.g. 2026-03-02T07:00)")
    return now - timedelta(seconds=seconds)


def _known_rule(rule: str, rules: list[str]) -> None:
    if rule and rule not in rules:
        raise BadPeriod(f"rule {rule[:40]!r} is not a rule code (one of the list)")


def _zone(spec: PlantSpec, site: str) -> ZoneInfo:
    """The site's time zone (the first site's without one chosen; UTC without sites)."""
    chosen = next((s for s in spec.sites if s.id == site), None) or next(iter(spec.sites), None)
    return ZoneInfo(chosen.timezone if chosen is not None else "UTC")


def _labelled_flash(item: str) -> str:
    return f"Labelled triage item {item}; it is in the Labelled tab." if item.isdigit() else ""


# -- views ---------------------------------------------------------------------------------
def _count(n: int) -> str:
    """A count with thin spaces between thousands: 34 500."""
    return f"{n:,}".replace(",", "\u2009")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.3g} %" if x < 0.1 else f"{100 * x:.1f} %"  # noqa: PLR2004


def _quality_view(dq: DataQuality, tz: ZoneInfo, *, show_all: bool) -> dict[str, Any]:
    rep = dq.report
    by_rule = list(dq.quarantined.items())
    tags = [_tag_row(t) for t in rep.tags if show_all or t.findings]
    kept_out = sum(dq.quarantined.values())
    trend = rate_chart.lines(
        [h.start for h in dq.hours], [rate_chart.Series("quarantined share", [h.rate for h in
                                                                          dq.hours])],
        label="share of samples quarantined per hour", tz=tz.key, percent=True)
    return {
        "recorded": _count(dq.recorded), "flagged": _count(sum(dq.flagged.values())),
        "quarantined": _count(kept_out), "rate": _pct(dq.quarantine_rate),
        "by_rule": [(r, _count(n)) for r, n in by_rule],
        "flags": [(f, _count(n)) for f, n in dq.flagged.items()],
        "rule_chart": charts.bars([(r, float(n)) for r, n in by_rule],
                                  label="samples quarantined by rule") if by_rule else "",
        "trend": trend, "hours": len(dq.hours),
        "tags": tags, "clean": sum(1 for t in rep.tags if not t.findings),
        "sources": [{"source": printable(s.source), "site": s.site or "-",
                     "received": _count(s.received), "duplicates": _count(s.duplicates),
                     "late": _count(s.late),
                     "skew": "-" if s.skew_ms is None else f"{s.skew_ms / 1000:+.3g} s",
                     "findings": [printable(f) for f in s.findings]} for s in rep.sources],
        "since": "everything kept" if dq.since is None else local_time(dq.since, tz),
        "until": local_time(dq.until, tz),
    }


def _tag_row(t: TagQuality) -> dict[str, Any]:
    return {"site": t.site or "-", "asset": printable(t.asset or "-"),
            "tag": printable(t.tag or "-"), "received": _count(t.received),
            "missing": f"{_count(t.missing)} ({_pct(t.missing_rate)})" if t.missing else "0",
            "flagged": _count(sum(t.counts.get(r, 0) for r in _FLAGGED)),
            "quarantined": _count(sum(t.quarantined.values())),
            "by_rule": ", ".join(f"{r} {n}" for r, n in sorted(t.quarantined.items())),
            "findings": [printable(f) for f in t.findings]}


def _quarantine_view(found: QuarantinePage, spec: PlantSpec,
                     filters: dict[str, str]) -> dict[str, Any]:
    zones = {s.id: ZoneInfo(s.timezone) for s in spec.sites}

    def link(n: int) -> str:
        return "/quarantine?" + urlencode({**{k: v for k, v in filters.items() if v},
                                           "page": n})

    return {
        "rows": [_quarantined_row(q, zones) for q in found.items],
        "page": found.page, "pages": found.pages, "matched": _count(found.matched),
        "scanned_all": found.scanned_all,
        "prev": link(found.page - 1) if found.page > 1 else "",
        "next": link(found.page + 1) if found.page < found.pages else "",
        "by_rule": [(r, _count(n)) for r, n in sorted(found.by_rule.items())],
    }


def _quarantined_row(q: Quarantined, zones: dict[str, ZoneInfo]) -> dict[str, Any]:
    site = q.address.site if q.address is not None else ""
    tz = zones.get(site, ZoneInfo("UTC"))
    return {"id": q.id, "when": local_time(q.received_at, tz), "rule": q.rule.value,
            "source": printable(q.source or "-"), "where": printable(q.tag or q.topic),
            "reason": printable(q.reason),
            "replayed": "" if q.replayed_at is None else local_time(q.replayed_at, tz)}


def _triage_view(item: TriageItem, labels: list[TriageLabel],
                 spec: PlantSpec) -> dict[str, Any]:
    site = next((s for s in spec.sites if s.id == item.site), None)
    tz = ZoneInfo(site.timezone if site is not None else "UTC")
    names = {v.value: text for v, text in VERDICTS}
    return {
        "id": item.id, "asset": item.asset, "use_case": item.use_case, "line": item.line,
        "site": item.site, "window_end": local_time(item.window_end, tz),
        "reasons": [r.value.replace("_", " ") for r in item.reasons],
        "confidence": f"{item.confidence:.2f}", "score": f"{item.score:.3g}",
        "threshold": f"{item.threshold:.3g}", "model": f"{item.model} v{item.model_version}",
        "detections": item.detections, "why": [c.describe() for c in item.why],
        "labels": [{"verdict": names.get(lb.verdict.value, lb.verdict.value),
                    "by": lb.by, "role": lb.role, "at": local_time(lb.at, tz),
                    "note": lb.note} for lb in labels],
    }


def _load_view(figures: OperatorLoad, tz: ZoneInfo) -> dict[str, Any]:
    rep = figures.report
    hours = figures.step.total_seconds() / 3600
    per_h = 1 / hours
    periods_per_h = timedelta(hours=1) / rep.period
    rows = []
    for p in rep.positions:
        steps = figures.per_step.get(p.position, [])
        span_h = (rep.end - rep.start).total_seconds() / 3600
        rows.append({
            "position": p.position, "interventions": _count(p.interventions),
            "per_hour": f"{p.interventions / span_h:.2f}",
            "max_step": _count(max(steps, default=0)),
            "per_period": f"{p.average_per_period:.2f}", "max_period": _count(p.max_per_period),
            "flood": f"{p.flood_percent:.1f} %", "flood_periods": p.flood_periods,
            "top_share": f"{100 * p.top_share:.1f} %", "stale": p.stale,
            "top": [(printable(s), n) for s, n in p.top_sources],
            "chattering": [(printable(s), n) for s, n in figures.chattering.get(p.position, ())],
            "over": p.interventions / span_h > MANAGEABLE_PER_HOUR,
        })
    series = [rate_chart.Series(pos, [n * per_h for n in counts])
              for pos, counts in figures.per_step.items()]
    chart = rate_chart.lines(figures.starts, series, tz=tz.key, unit="/h",
                         label="interventions per operator position and hour",
                         targets=[rate_chart.Target(ACCEPTABLE_PER_HOUR, "acceptable", "#b45309"),
                                  rate_chart.Target(MANAGEABLE_PER_HOUR, "max manageable")])
    return {"rows": rows, "chart": chart, "step": "hour" if hours == 1 else "day",
            "period_min": f"{rep.period.total_seconds() / 60:g}",
            "periods_per_h": f"{periods_per_h:g}", "flood_threshold": rep.flood_threshold,
            "start": local_time(rep.start, tz), "end": local_time(rep.end, tz),
            "acceptable": ACCEPTABLE_PER_HOUR, "manageable": MANAGEABLE_PER_HOUR}
