"""The KPI report of a line: one use case for the CLI, the JSON API, the web and its HTML file.

Periods: given (baseline and after), or from when a model went live on the line: the first
``model_promoted`` event of a model of a use case watching the line. After runs from then to
now; the baseline is as long, just before it (capped at ``MAX_BASELINE``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from andon.audit import EventKind
from andon.auth.access import Permission
from andon.errors import ReportError
from andon.kpi.report import KpiReport, find_line, kpi_report_from

if TYPE_CHECKING:
    from andon.app.context import Actor, Context

__all__ = ["kpi_lines", "kpi_report", "went_live"]

#: the default baseline is at most this long
MAX_BASELINE = timedelta(days=28)
Period = tuple[datetime, datetime]


def kpi_lines(ctx: Context) -> list[str]:
    """The ids of the lines that declare production (they have KPIs)."""
    return [ln.id for _s, _a, ln in ctx.spec.lines() if ln.production is not None]


def went_live(ctx: Context, line: str) -> datetime | None:
    """When a model of a use case watching ``line`` was first promoted to production."""
    spec = ctx.spec
    models = {uc.model for uc in spec.use_cases
              if any(ln.id == line for _s, _a, ln, _x in spec.use_case_assets(uc))}
    times = [e.at for e in ctx.store.events(kind=EventKind.MODEL_PROMOTED, limit=100_000)
             if e.subject.rpartition(" v")[0] in models]
    return min(times) if times else None


def kpi_report(ctx: Context, actor: Actor, line: str, *, baseline: Period | None = None,
               after: Period | None = None) -> KpiReport:
    """The KPIs of ``line`` (or an asset's line), baseline vs after; READ permission."""
    actor.require(Permission.READ)
    now = ctx.clock.now()
    _site, found = find_line(ctx.spec, line)
    if found.production is None:
        raise ReportError(f"line {found.id!r} declares no production: (state tag, counters, "
                          "ideal rate; docs/kpi.md), so it has no OEE")
    if baseline is None or after is None:
        live = went_live(ctx, found.id)
        if after is None:
            if live is None:
                raise ReportError(f"no model went live on line {found.id!r} yet: give the "
                                  "baseline and after periods")
            after = (live, now)
        if baseline is None:
            start = live if live is not None else after[0]
            length = min(after[1] - after[0], MAX_BASELINE)
            baseline = (start - length, start)
    return kpi_report_from(ctx.store, ctx.spec, line, baseline=baseline, after=after)

