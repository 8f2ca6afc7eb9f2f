"""The pages people look at to trust a model: its track record per line, and each rollout.

``/track-record``: for a model (and a line), the records of every version, live and in
shadow, over a period: a timeline of delivered and would-be interventions against real
failures, false alarms per week and the lead-time distribution (server-drawn SVG,
``andon.web.charts``). ``/rollouts`` and ``/rollouts/{use_case}``: each use case's stage, the
gate's figures against its limits, what is missing, and the history of moves. All READ.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from andon.app import RolloutStatus, rollout_status, track_record
from andon.auth.access import Permission
from andon.errors import RolloutError
from andon.http.auth import Caller, needs
from andon.kpi.trackrecord import TrackRecord, Verdict
from andon.rollout import Stage
from andon.web import charts
from andon.web.views import user_view

if TYPE_CHECKING:
    from andon.spec.model import PlantSpec
    from andon.web.pages import WebInbox

__all__ = ["reports_router"]

Reader = Annotated[Caller, Depends(needs(Permission.READ))]
DEFAULT_DAYS = 28
#: the stages in the order a rollout walks them (the ladder on the rollout page)
LADDER = (Stage.SHADOW_PILOT, Stage.LIVE_PILOT_SHIFT, Stage.LIVE_PILOT, Stage.SHADOW_WIDE,
          Stage.LIVE_WIDE, Stage.COMPLETE)


def reports_router(web: WebInbox) -> APIRouter:
    """The track-record and rollout pages, rendered with the inbox's templates."""
    router = APIRouter(include_in_schema=False)

    @router.get("/track-record", response_class=HTMLResponse)
    def track_record_page(
        caller: Reader,
        model: Annotated[str | None, Query(max_length=200)] = None,
        line: Annotated[str | None, Query(max_length=200)] = None,
        since: Annotated[date | None, Query()] = None,
        until: Annotated[date | None, Query()] = None,
    ) -> HTMLResponse:
        """A model's record per line: timeline, false alarms per week, lead times."""
        spec, now = web.spec(), web.clock.now()
        models = list(dict.fromkeys(uc.model for uc in spec.use_cases))  # as the spec lists
        chosen = model if model in models else (models[0] if models else "")
        lines = _lines_of(spec, chosen)
        line = line if line in lines else None
        end = (datetime.combine(until, time(), UTC) + timedelta(days=1) if until
               else now)
        start = datetime.combine(since, time(), UTC) if since else end - timedelta(
            days=DEFAULT_DAYS)
        context: dict[str, Any] = {"models": models, "model": chosen, "lines": lines,
                                   "line": line or "", "since": start.date().isoformat(),
                                   "until": (end - timedelta(seconds=1)).date().isoformat(),
                                   "records": [], "error": ""}
        if end <= start:
            context["error"] = "The end of the period is before its start."
        elif chosen:
            records = track_record(web.ctx, start=start, end=end, model=chosen,
                                   lines=[line] if line else None)
            context.update(_track_record_views(spec, records, chosen, line=line, start=start,
                                               end=end))
        return web.render("track_record.html", me=user_view(caller.user, spec), **context)

    @router.get("/rollouts", response_class=HTMLResponse)
    def rollouts_page(caller: Reader) -> HTMLResponse:
        """Every use case's rollout: stage and whether its gate is met."""
        spec = web.spec()
        return web.render("rollouts.html", me=user_view(caller.user, spec),
                          statuses=[_status_view(s) for s in rollout_status(web.ctx)],
                          one=None, ladder=[s.value for s in LADDER])

    @router.get("/rollouts/{use_case}", response_class=HTMLResponse)
    def rollout_page(use_case: str, caller: Reader) -> HTMLResponse:
        """One use case's rollout: the ladder, the gate's figures, what is missing, history."""
        spec = web.spec()
        try:
            [status] = rollout_status(web.ctx, use_case)
        except RolloutError as exc:
            return web.render("error.html", 404, code=404, message=str(exc), problems=[],
                              me=user_view(caller.user, spec))
        return web.render("rollouts.html", me=user_view(caller.user, spec), statuses=[],
                          one=_status_view(status), ladder=[s.value for s in LADDER])

    return router


def _lines_of(spec: PlantSpec, model: str) -> list[str]:
    return sorted({ln.id for uc in spec.use_cases if uc.model == model
                   for _s, _a, ln, _x in spec.use_case_assets(uc)})


def _track_record_views(spec: PlantSpec, records: list[TrackRecord], model: str, *,
                        line: str | None, start: datetime, end: datetime) -> dict[str, Any]:
    """The table rows and the three charts of the track-record page."""
    assets = sorted({x.id for uc in spec.use_cases if uc.model == model
                     for _s, _a, ln, x in spec.use_case_assets(uc)
                     if line is None or ln.id == line})
    tz = next((site.timezone for site, _a, ln in spec.lines()
               if ln.id == (line or "") or line is None), "UTC")
    marks: list[charts.Mark] = []
    seen: set[str] = set()
    for r in records:
        for j in r.judged:
            iv = j.intervention
            marks.append(charts.Mark(
                iv.asset, iv.lifecycle.raised_at, r.mode, j.verdict.value,
                f"{iv.id} · {r.model} v{r.version} ({r.mode}) · "
                f"{j.verdict.value.replace('_', ' ')}: {j.evidence}"))
        for f in r.failures:
            if f.source not in seen:
                seen.add(f.source)
                marks.append(charts.Mark(f.asset, f.at, "failure", "failure",
                                         f"{f.source}: failure of {f.asset}"))
    weeks = [start + timedelta(days=7 * i) for i in range(max(1, -(-(end - start).days // 7)))]
    per_mode: dict[str, Counter[int]] = {}
    leads: dict[str, list[float]] = {}
    for r in records:
        counts = per_mode.setdefault(r.mode, Counter())
        for j in r.judged:
            if j.verdict is Verdict.FALSE_ALARM:
                counts[(j.intervention.lifecycle.raised_at - start).days // 7] += 1
        leads.setdefault(r.mode, []).extend(t.total_seconds() / 3600 for t in r.lead_times)
    week_charts = [(mode, charts.bars([(f"{w:%d %b}", float(counts[i]))
                                       for i, w in enumerate(weeks)],
                                      label=f"false alarms per week ({mode})"))
                   for mode, counts in sorted(per_mode.items())]
    lead_charts = [(mode, charts.histogram(hours, label=f"lead-time distribution ({mode})"))
                   for mode, hours in sorted(leads.items())]
    return {"records": [_record_row(r) for r in records],
            "timeline": charts.timeline(marks, assets, start=start, end=end, tz=tz),
            "week_charts": week_charts, "lead_charts": lead_charts}


def _record_row(r: TrackRecord) -> dict[str, Any]:
    d = r.to_dict()
    median = r.median_lead_time
    return {**d, "precision_text": _pct(r.precision), "recall_text": _pct(r.recall),
            "fa_text": "-" if r.false_alarms_per_asset_week is None
            else f"{r.false_alarms_per_asset_week:.2f}",
            "median_text": "-" if median is None else f"{median.total_seconds() / 3600:.1f} h"}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _status_view(s: RolloutStatus) -> dict[str, Any]:
    d = s.to_dict()
    d["record_row"] = None if s.record is None else _record_row(s.record)
    return d
