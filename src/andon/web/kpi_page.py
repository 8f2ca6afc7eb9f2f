"""The KPI page and the shareable KPI report: OEE, downtime, adoption and ROI before vs after.

``/kpi`` (READ): for a line, the baseline and after periods side by side (OEE and its
components, scrap, downtime planned and unplanned by reason, MTBF/MTTR, adoption) with
server-drawn SVG plots, the ROI of the after period against the baseline, the data-quality
findings on the line's tags, and a link to ``/kpi/report.html``: the same as one
self-contained HTML file (inline CSS and SVG, no script, no external URL) to e-mail.
``render_report`` writes that file for ``andon report kpi --html`` too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from andon.app import Actor, kpi_lines, kpi_report
from andon.auth.access import Permission
from andon.errors import ReportError
from andon.feedback.answers import Via
from andon.http.auth import Caller, needs
from andon.web.views import user_view

if TYPE_CHECKING:
    from andon.kpi.report import KpiReport, PeriodKpis
    from andon.web.pages import WebInbox

__all__ = ["kpi_page_router", "kpi_view", "render_report"]

Reader = Annotated[Caller, Depends(needs(Permission.READ))]
_TEMPLATES = Path(__file__).parent / "templates"
#: colours of the two periods in every plot
BASELINE_COLOUR = "#9ca3af"
AFTER_COLOUR = "#1d4ed8"
#: the standalone report's stylesheet (inline: the file must stand alone)
REPORT_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#111827;margin:2rem;
max-width:1100px}
h1{font-size:1.5rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.4rem 0 .4rem}
.muted{color:#4b5563}table{border-collapse:collapse;width:100%;margin:.6rem 0}
th,td{border-bottom:1px solid #e5e7eb;padding:.35rem .5rem;text-align:left}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.roi{font-size:1.3rem;font-weight:700}.flag{color:#92400e}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:1rem}
.chart{width:100%;height:auto}
"""


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def _h(v: float | None) -> str:
    return "-" if v is None else f"{v:,.1f} h"


def _n(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f}"


def _money(v: float | None, currency: str) -> str:
    return "-" if v is None else f"{v:,.0f} {currency}"


def _when(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def grouped_bars(groups: list[tuple[str, float | None, float | None]], *, label: str,
                 unit: str = "", scale: float = 1.0) -> str:
    """Two bars (baseline grey, after blue) per group; a missing value draws no bar."""
    width, height, base = 640, 200, 160
    top = max((v for _g, a, b in groups for v in (a, b) if v is not None), default=0.0) or 1.0
    slot = (width - 50) / max(len(groups), 1)
    out = [(f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
           f'aria-label="{escape(label)}" class="chart">'),
           f'<rect x="40" y="10" width="{width - 50}" height="{base - 10}" fill="#f9fafb"/>']
    for i, (name, a, b) in enumerate(groups):
        for j, (v, colour, period) in enumerate(((a, BASELINE_COLOUR, "baseline"),
                                                 (b, AFTER_COLOUR, "after"))):
            bx = 40 + slot * i + slot * (0.1 + 0.4 * j)
            if v is None:
                out.append(f'<text x="{bx + slot * 0.18:.1f}" y="{base - 4}" font-size="10" '
                           f'text-anchor="middle" fill="#6b7280">-</text>')
                continue
            h = (base - 24) * v / top
            shown = f"{v * scale:,.1f}{unit}" if unit else f"{v * scale:,.0f}"
            out.append(f'<rect class="bar bar-{period}" x="{bx:.1f}" y="{base - h:.1f}" '
                       f'width="{slot * 0.36:.1f}" height="{h:.1f}" fill="{colour}">'
                       f"<title>{escape(name)} ({period}): {escape(shown)}</title></rect>")
            out.append(f'<text x="{bx + slot * 0.18:.1f}" y="{base - h - 3:.1f}" '
                       f'font-size="10" text-anchor="middle" fill="#111827">'
                       f"{escape(shown)}</text>")
        out.append(f'<text x="{40 + slot * (i + 0.5):.1f}" y="{base + 16}" font-size="11" '
                   f'text-anchor="middle" fill="#374151">{escape(name)}</text>')
    out.append(f'<rect x="{width - 190}" y="{height - 18}" width="10" height="10" '
               f'fill="{BASELINE_COLOUR}"/><text x="{width - 176}" y="{height - 9}" '
               'font-size="11" fill="#374151">baseline</text>'
               f'<rect x="{width - 110}" y="{height - 18}" width="10" height="10" '
               f'fill="{AFTER_COLOUR}"/><text x="{width - 96}" y="{height - 9}" '
               'font-size="11" fill="#374151">after</text></svg>')
    return "".join(out)


def _period_view(p: PeriodKpis, tz: str, currency: str) -> dict[str, Any]:
    k, r, a = p.oee, p.reliability, p.adoption
    del currency
    return {
        "name": p.name, "start": _when(k.start, tz), "end": _when(k.end, tz),
        "length": _h((k.end - k.start).total_seconds() / 3600),
        "oee": _pct(k.oee), "availability": _pct(k.availability),
        "performance": _pct(k.performance), "quality": _pct(k.quality),
        "planned_h": _h(k.planned_downtime_h), "run_h": _h(k.run_h),
        "unplanned_h": _h(k.unplanned_downtime_h), "unknown_h": _h(k.unknown_h),
        "busy_h": _h(k.planned_busy_h), "good": _n(k.good), "total": _n(k.total),
        "scrap": _n(k.scrap), "scrap_rate": _pct(k.scrap_rate), "stops": k.stops(),
        "mtbf": _h(r.mtbf_h), "mttr": _h(r.mttr_h), "wo_failures": r.work_order_failures,
        "wo_mttr": _h(r.work_order_mttr_h), "raised": a.raised, "acted": a.acted,
        "deferred": a.deferred, "dismissed": a.dismissed, "overridden": a.overridden,
        "unanswered": a.unanswered, "adoption_rate": _pct(a.adoption_rate),
        "median_ack": "-" if a.median_ack_min is None else f"{a.median_ack_min:,.0f} min",
        "flags": list(k.flags),
    }


def kpi_view(report: KpiReport) -> dict[str, Any]:
    """Everything the page and the file show: formatted figures and the SVG plots."""
    tz = report.timezone
    currency = report.roi.currency if report.roi is not None else ""
    b, a = report.baseline, report.after
    reasons: dict[tuple[str, str], list[float]] = {}
    for i, p in enumerate((b, a)):
        for loss, reason, hours in p.oee.downtime_by_reason():
            reasons.setdefault((loss, reason), [0.0, 0.0])[i] = hours
    downtime_rows = [{"loss": loss, "reason": reason, "baseline": _h(x), "after": _h(y)}
                     for (loss, reason), (x, y) in sorted(reasons.items(),
                                                          key=lambda kv: -max(kv[1]))]
    oee_chart = grouped_bars(
        [(n, getattr(b.oee, f), getattr(a.oee, f)) for n, f in (
            ("Availability", "availability"), ("Performance", "performance"),
            ("Quality", "quality"), ("OEE", "oee"))],
        label="OEE and its components, baseline vs after", unit=" %", scale=100)
    downtime_chart = grouped_bars(
        [(f"{reason} ({loss})", x, y) for (loss, reason), (x, y) in reasons.items()]
        or [("no downtime", 0.0, 0.0)],
        label="downtime by reason in hours, baseline vs after", unit=" h")
    adoption_chart = grouped_bars(
        [(n, float(getattr(b.adoption, f)), float(getattr(a.adoption, f))) for n, f in (
            ("Acted", "acted"), ("Deferred", "deferred"), ("Dismissed", "dismissed"),
            ("Overridden", "overridden"), ("Unanswered", "unanswered"))],
        label="what people did with the interventions, baseline vs after")
    roi = report.roi
    return {
        "line": report.line, "line_name": report.line_name, "site": report.site, "tz": tz,
        "unit_name": report.unit_name,
        "baseline": _period_view(b, tz, currency), "after": _period_view(a, tz, currency),
        "downtime_rows": downtime_rows, "oee_chart": oee_chart,
        "downtime_chart": downtime_chart, "adoption_chart": adoption_chart,
        "roi": None if roi is None else {
            "value": _money(roi.value, roi.currency),
            "downtime": _h(roi.avoided_downtime_h),
            "scrap": _n(roi.avoided_scrap),
            "rates": f"{roi.cost_per_hour:,.0f} {roi.currency}/h of unplanned downtime, "
                     f"{roi.cost_per_unit:,.2f} {roi.currency} per scrapped unit",
            "basis": roi.basis},
        "quality": [{"asset": t.asset, "tag": t.tag, "received": t.received,
                     "findings": "; ".join(t.findings)}
                    for t in report.quality.tags if t.findings],
    }


def _env() -> Environment:
    return Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(),
                       auto_reload=False)


def render_report(report: KpiReport, *, generated: datetime, enterprise: str) -> str:
    """The KPI report as one self-contained HTML file (inline CSS and SVG, no URL)."""
    return _env().get_template("kpi_report.html").render(
        css=REPORT_CSS, enterprise=enterprise,
        generated=_when(generated, report.timezone), **kpi_view(report))


def _periods(bs: date | None, bu: date | None, as_: date | None, au: date | None,
             ) -> tuple[tuple[datetime, datetime] | None, tuple[datetime, datetime] | None]:
    def day(d: date) -> datetime:
        return datetime.combine(d, time(), UTC)

    baseline = (day(bs), day(bu) + timedelta(days=1)) if bs and bu else None
    after = (day(as_), day(au) + timedelta(days=1)) if as_ and au else None
    return baseline, after


def kpi_page_router(web: WebInbox) -> APIRouter:
    """``/kpi`` and ``/kpi/report.html``, rendered with the inbox's templates."""
    router = APIRouter(include_in_schema=False)
    Day = Annotated[date | None, Query()]  # noqa: N806 - a type alias

    @router.get("/kpi", response_class=HTMLResponse)
    async def kpi_page(caller: Reader,  # noqa: PLR0917
                       line: Annotated[str | None, Query(max_length=200)] = None,
                       baseline_since: Day = None, baseline_until: Day = None,
                       after_since: Day = None, after_until: Day = None) -> HTMLResponse:
        """A line's OEE, downtime, adoption and ROI, baseline vs after, with plots."""
        spec = web.spec()
        lines = kpi_lines(web.ctx)
        chosen = line if line in lines else (lines[0] if lines else "")
        context: dict[str, Any] = {"lines": lines, "line": chosen, "error": "", "view": None,
                                   "query": ""}
        baseline, after = _periods(baseline_since, baseline_until, after_since, after_until)
        if chosen:
            try:
                report = await run_in_threadpool(
                    kpi_report, web.ctx, Actor.of(caller.user, Via.WEB), chosen,
                    baseline=baseline, after=after)
            except ReportError as exc:
                context["error"] = str(exc)
            else:
                context["view"] = kpi_view(report)
                context["query"] = "&".join(
                    f"{k}={v.isoformat()}" for k, v in (
                        ("baseline_since", baseline_since), ("baseline_until", baseline_until),
                        ("after_since", after_since), ("after_until", after_until)) if v)
        return web.render("kpi.html", me=user_view(caller.user, spec), **context)

    @router.get("/kpi/report.html")
    async def kpi_file(caller: Reader,  # noqa: PLR0917
                       line: Annotated[str, Query(max_length=200)],
                       baseline_since: Day = None, baseline_until: Day = None,
                       after_since: Day = None, after_until: Day = None) -> Response:
        """The KPI report of a line as one self-contained HTML file (a download)."""
        baseline, after = _periods(baseline_since, baseline_until, after_since, after_until)
        report = await run_in_threadpool(kpi_report, web.ctx, Actor.of(caller.user, Via.WEB),
                                         line, baseline=baseline, after=after)
        html = render_report(report, generated=web.clock.now(),
                             enterprise=web.spec().enterprise.name)
        name = f"andon-kpi-{report.line}.html"
        return Response(html, media_type="text/html; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store"})

    return router
