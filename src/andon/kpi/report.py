"""The KPI report of one line: OEE, downtime, MTBF/MTTR, adoption before vs after, and ROI.

``kpi_report_from`` reads what it needs through ``KpiReader`` (the store has it): the line's
production tags (``production:`` in the spec), the calendar's planned stops, the work orders
and interventions on the line's assets, and the data-quality counters; it computes each
period with ``oee``, ``reliability`` and ``adoption`` and the after period's ``roi`` against
the baseline. Every figure carries its period and basis; what limits a figure is a flag.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from andon.clock import to_ms
from andon.errors import ReportError
from andon.interventions.lifecycle import InterventionState
from andon.kpi.adoption import Adoption, Answer, adoption
from andon.kpi.oee import Oee, oee
from andon.kpi.quality import QualityReader, QualityReport, report_from
from andon.kpi.reliability import Reliability, reliability
from andon.kpi.roi import Roi, roi
from andon.kpi.trackrecord import failures_of
from andon.spec.calendar import planned_stops

if TYPE_CHECKING:
    from collections.abc import Sequence

    from andon.feedback.workorders import WorkOrder
    from andon.interventions.record import Intervention
    from andon.namespace.sample import Sample
    from andon.spec.model import Line, PlantSpec, Site

__all__ = ["CSV_COLUMNS", "KpiReader", "KpiReport", "PeriodKpis", "find_line", "kpi_report_from",
           "write_csv"]

#: a state sample holds for at most this many periods of the state tag
STATE_HOLD_PERIODS = 3
_MAX_READ = 1_000_000


class KpiReader(QualityReader, Protocol):
    """What the report reads (``andon.store.Store`` has it)."""

    def samples(self, *, assets: Sequence[str] | None = None, start_ms: int | None = None,
                end_ms: int | None = None, limit: int | None = None) -> list[Sample]:
        """Samples in ``[start_ms, end_ms)``."""
        ...

    def work_orders(self, *, asset: str | None = None, start: datetime | None = None,
                    end: datetime | None = None, failure_confirmed: bool | None = None,
                    limit: int | None = 1000) -> list[WorkOrder]:
        """Work orders opened in ``[start, end)``."""
        ...

    def list_interventions(self, *, open_only: bool = True, limit: int = 200,
                           since: datetime | None = None,
                           until: datetime | None = None) -> list[Intervention]:
        """Interventions created in ``[since, until)``."""
        ...


@dataclass(frozen=True, slots=True)
class PeriodKpis:
    """One period's figures."""

    name: str  # "baseline" or "after"
    oee: Oee
    reliability: Reliability
    adoption: Adoption

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {"name": self.name, **self.oee.to_dict(),
                "reliability": self.reliability.to_dict(),
                "adoption": self.adoption.to_dict()}


@dataclass(frozen=True, slots=True)
class KpiReport:
    """The KPIs of one line, baseline vs after, with ROI and the data-quality summary."""

    site: str
    line: str
    line_name: str
    timezone: str
    unit_name: str
    baseline: PeriodKpis
    after: PeriodKpis
    roi: Roi | None
    quality: QualityReport = field(default_factory=QualityReport)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {"site": self.site, "line": self.line, "line_name": self.line_name,
                "timezone": self.timezone, "unit_name": self.unit_name,
                "baseline": self.baseline.to_dict(), "after": self.after.to_dict(),
                "roi": None if self.roi is None else self.roi.to_dict(),
                "data_quality": [{"asset": t.asset, "tag": t.tag, "received": t.received,
                                  "findings": list(t.findings)}
                                 for t in self.quality.tags if t.findings]}


#: the CSV's columns: one row per period
CSV_COLUMNS = ("line", "period", "start", "end", "period_h", "planned_downtime_h", "run_h",
               "unplanned_downtime_h", "unknown_h", "availability", "performance", "quality",
               "oee", "good", "total", "scrap", "scrap_rate", "unplanned_stops", "mtbf_h",
               "mttr_h", "work_order_failures", "work_order_mttr_h", "raised", "acted",
               "deferred", "dismissed", "overridden", "median_ack_min", "adoption_rate",
               "roi_value", "currency", "flags")


def write_csv(report: KpiReport, out: TextIO) -> None:
    """Write the report as CSV: one row per period (ROI on the after row)."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for p in (report.baseline, report.after):
        d = p.to_dict()
        row = {**d, **d["reliability"], **d["adoption"], "line": report.line, "period": p.name,
               "roi_value": report.roi.value if report.roi is not None and p.name == "after"
               else None,
               "currency": "" if report.roi is None else report.roi.currency,
               "flags": "; ".join(d["flags"])}
        w.writerow(["" if row.get(c) is None else row[c] for c in CSV_COLUMNS])


def find_line(spec: PlantSpec, line_id: str) -> tuple[Site, Line]:
    """The site and line of a line id, or of an asset id (its line); ``ReportError`` if none."""
    lines = {ln.id: (s, ln) for s, _a, ln in spec.lines()}
    if line_id not in lines:
        by_asset = {x.id: ln.id for _s, _a, ln, x in spec.assets()}
        if line_id in by_asset:
            return lines[by_asset[line_id]]
        raise ReportError(f"unknown line or asset {line_id!r} (lines: {', '.join(sorted(lines))})")
    return lines[line_id]


def kpi_report_from(store: KpiReader, spec: PlantSpec, line_id: str, *,
                    baseline: tuple[datetime, datetime],
                    after: tuple[datetime, datetime]) -> KpiReport:
    """The KPI report of a line (or an asset's line) for two periods."""
    site, line = find_line(spec, line_id)
    if line.production is None:
        raise ReportError(f"line {line.id!r} declares no production: (state tag, counters, "
                          "ideal rate; docs/kpi.md), so it has no OEE")
    for name, (a, b) in (("baseline", baseline), ("after", after)):
        if b <= a:
            raise ReportError(f"{name} period: end {b.isoformat()} is not after its start "
                              f"{a.isoformat()}")
    periods = [_period(store, spec, site, line, name, a, b)
               for name, (a, b) in (("baseline", baseline), ("after", after))]
    base, aft = periods
    money = None
    if line.costs is not None:
        money = roi(base_downtime_h=base.oee.unplanned_downtime_h,
                    base_busy_h=base.oee.planned_busy_h, base_scrap=base.oee.scrap,
                    base_total=base.oee.total, after_downtime_h=aft.oee.unplanned_downtime_h,
                    after_busy_h=aft.oee.planned_busy_h, after_scrap=aft.oee.scrap,
                    after_total=aft.oee.total, cost_per_hour=line.costs.downtime_per_hour,
                    cost_per_unit=line.costs.scrap_per_unit, currency=line.costs.currency)
    quality = report_from(store, since_ms=to_ms(min(baseline[0], after[0])), site=site.id)
    assets = {x.id for x in line.assets}
    quality = QualityReport([t for t in quality.tags if t.asset in assets], quality.sources)
    return KpiReport(site.id, line.id, line.name, site.timezone,
                     line.production.unit_name, base, aft, money, quality)


def _period(  # noqa: PLR0917 - private, one caller
        store: KpiReader, spec: PlantSpec, site: Site, line: Line, name: str,
            start: datetime, end: datetime) -> PeriodKpis:
    prod = line.production
    assert prod is not None  # noqa: S101 - checked by the caller
    tags = {asset_tag: field for field, asset_tag in prod.tags().items()}
    state_asset, state_tag = prod.state_tag.split("/")
    period = next(t.period for x in line.assets if x.id == state_asset for t in x.tags
                  if t.name == state_tag)
    hold = timedelta(seconds=period * STATE_HOLD_PERIODS)
    assets = sorted({ref.split("/")[0] for ref in tags})
    series: dict[str, list[tuple[datetime, float]]] = {f: [] for f in tags.values()}
    for s in store.samples(assets=assets, start_ms=to_ms(start - hold), end_ms=to_ms(end),
                           limit=_MAX_READ):
        f = tags.get(f"{s.address.asset}/{s.address.tag}")
        if f is not None:
            series[f].append((s.ts, s.value))
    for f, points in series.items():  # counters: from the last point before start on
        if f != "state_tag":
            before = [p for p in points if p[0] < start]
            series[f] = before[-1:] + [p for p in points if p[0] >= start]
    rate = prod.ideal_rate
    if rate is None and series.get("ideal_rate_tag"):
        rate = series["ideal_rate_tag"][-1][1]
    stops = [(s.start, s.end, s.name) for s in planned_stops(
        line.calendar, site.timezone, start - timedelta(days=8), end)]
    k = oee(series["state_tag"], {v: (m.loss, m.reason) for v, m in prod.states.items()},
            good=series["good_count"], total=series.get("total_count"),
            scrap=series.get("scrap_count"), ideal_rate=rate, start=start, end=end,
            max_gap=hold, planned=stops)
    line_assets = {x.id for x in line.assets}
    orders = [wo for wo in store.work_orders(start=start, end=end, limit=None)
              if wo.asset in line_assets]
    failures = failures_of(orders)
    failed = {f.source for f in failures}
    rel = reliability(run_h=k.run_h, unplanned_h=k.unplanned_downtime_h, stops=k.stops(),
                      repairs=[(wo.opened_at, wo.closed_at) for wo in orders
                               if wo.external_id in failed])
    horizon = {uc.id: timedelta(seconds=uc.horizon) for uc in spec.use_cases}
    all_failures = failures_of(store.work_orders(start=start, end=end + max(
        horizon.values(), default=timedelta(0)), limit=None))
    answers = [_answer(iv, all_failures, horizon.get(iv.use_case, timedelta(0)))
               for iv in store.list_interventions(open_only=False, limit=_MAX_READ,
                                                  since=start, until=end)
               if iv.asset in line_assets]
    return PeriodKpis(name, k, rel, adoption(answers))


def _answer(iv: Intervention, failures: Sequence[Any], horizon: timedelta) -> Answer:
    history = iv.lifecycle.history
    raised = iv.lifecycle.raised_at
    ack = next((m.at for m in history if m.to_state is InterventionState.ACKNOWLEDGED), None)
    reached = {m.to_state for m in history}
    if InterventionState.DONE in reached:
        outcome = "done"
    elif InterventionState.DISMISSED in reached:
        outcome = "dismissed"
    elif InterventionState.DEFERRED in reached:
        outcome = "deferred"
    else:
        outcome = ""
    failed = any(f.asset == iv.asset and raised <= f.at <= raised + horizon for f in failures)
    return Answer(raised, ack, outcome, failed)
