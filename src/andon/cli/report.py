"""``andon report ...``: figures computed from what the store keeps.

``andon report load``: the ISA-18.2 operator-load figures per operator position (interventions
per 10 minutes, % of 10-minute periods in flood, the top-10 sources' share, stale interventions
open more than 24 h), from the stored interventions.

``andon report track-record``: per model version x line (or asset) x period, how often the
model was right, how early, and how many false alarms (``andon.kpi.trackrecord`` defines every
figure; docs/reference/track-record.md).

``andon report kpi``: a line's OEE, downtime, MTBF/MTTR, adoption and ROI, baseline vs after
(``andon.kpi.report``; docs/kpi.md), as a table, JSON, CSV or one self-contained HTML file.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from andon.cli.options import DEFAULT_DB, DEFAULT_SPEC, WHEN_HELP, DbOpt, SpecOpt, parse_period
from andon.cli.terminal import Terminal

if TYPE_CHECKING:
    from andon.kpi.load import LoadReport
    from andon.kpi.trackrecord import TrackRecord

__all__ = ["report_app"]

report_app = typer.Typer(help="Reports computed from the store: operator load (ISA-18.2), "
                         "track record, KPIs (OEE, downtime, adoption, ROI).",
                         no_args_is_help=True)
console = Terminal()

#: interventions read for one report at most
_MAX = 1_000_000


def _as_json(report: LoadReport) -> dict[str, Any]:
    return {
        "start": report.start.isoformat(), "end": report.end.isoformat(),
        "now": report.now.isoformat(), "period_s": report.period.total_seconds(),
        "flood_threshold": report.flood_threshold,
        "positions": [
            {"position": p.position, "interventions": p.interventions, "periods": p.periods,
             "average_per_period": p.average_per_period, "max_per_period": p.max_per_period,
             "flood_periods": p.flood_periods, "flood_percent": p.flood_percent,
             "top_sources": [{"source": s, "count": n} for s, n in p.top_sources],
             "top_share": p.top_share, "stale": p.stale}
            for p in report.positions
        ],
    }


@report_app.command("load")
def load(
    since: Annotated[str | None, typer.Option(help="Start of the period; default 24 h "
                                              "before --until. " + WHEN_HELP)] = None,
    until: Annotated[str | None, typer.Option(help="End of the period (excluded); default "
                                              "now. Staleness is judged at this instant.")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
    = False,
    spec: SpecOpt = DEFAULT_SPEC,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """ISA-18.2 load per operator position (the owner role a use case routes to, per site).

    Interventions per 10 minutes (average and maximum; ISA-18.2: ~1 very likely acceptable,
    2 manageable), % of 10-minute periods in flood (10 or more new ones; target < 1 %), the
    top-10 sources' share of all interventions, and stale ones (open more than 24 h).
    """
    from andon.kpi.load import load_figures, load_items  # noqa: PLC0415
    from andon.spec import load_spec  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    start, end = parse_period(since, until, timedelta(hours=24))
    plant = load_spec(spec)
    with open_store(db) as store:
        # open ones raised before the period still count as stale
        ivs = store.list_interventions(open_only=False, limit=_MAX, until=end)
    report = load_figures(load_items(plant, ivs), start=start, end=end, now=end)
    if as_json:
        typer.echo(json.dumps(_as_json(report), indent=2))
        return
    minutes = f"{report.period.total_seconds() / 60:g} min"
    table = Table(title=f"Operator load {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC "
                        f"({report.positions[0].periods if report.positions else 0} periods "
                        f"of {minutes}; stale as of the end)")
    for col in ("position", "interventions", f"avg / {minutes}", f"max / {minutes}",
                f"% periods in flood (≥{report.flood_threshold})", "top-10 share", "stale",
                "top sources"):
        table.add_column(col, justify="left" if col in {"position", "top sources"} else "right")
    for p in report.positions:
        top = ", ".join(f"{s} ({n})" for s, n in p.top_sources[:3])
        table.add_row(p.position, str(p.interventions), f"{p.average_per_period:.2f}",
                      str(p.max_per_period), f"{p.flood_percent:.1f}%",
                      f"{100 * p.top_share:.1f}%", str(p.stale), top)
    console.print(table)
    if not report.positions:
        console.print("no interventions in the period", highlight=False)


@report_app.command("track-record")
def track_record(
    model: Annotated[str | None, typer.Option(
        help="Only this model: NAME or NAME@VERSION (e.g. pump-bearing@3).")] = None,
    line: Annotated[list[str] | None, typer.Option(
        "--line", help="Only this line id (repeatable).")] = None,
    by: Annotated[str, typer.Option(help="One record per line or per asset.")] = "line",
    since: Annotated[str | None, typer.Option(help="Start of the period; default 28 days "
                                              "before --until. " + WHEN_HELP)] = None,
    until: Annotated[str | None, typer.Option(help="End of the period (excluded); default "
                                              "now.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
    = False,
    csv_out: Annotated[Path | None, typer.Option(
        "--csv", help="Write the records as CSV to this file ('-': standard output).")]
    = None,
    spec: SpecOpt = DEFAULT_SPEC,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """How often each model version was right on each line, how early, how many false alarms.

    Per model version x line (or asset): interventions raised, confirmed (outcome "fault
    confirmed" or a failure within the use case's horizon), false alarms (outcome "no fault" or
    dismissed), unresolved; failures detected and missed (corrective or failure-confirming work
    orders; those found in a planned stop apart); precision, recall, false alarms per
    asset-week and the lead-time distribution. A ratio over nothing shows as "-".
    """
    from andon.app import Context, PlantRef, track_record  # noqa: PLC0415
    from andon.clock import SystemClock  # noqa: PLC0415
    from andon.kpi.trackrecord import model_ref, write_csv  # noqa: PLC0415
    from andon.spec import load_spec  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    name, version = (None, None) if model is None else model_ref(model)
    start, end = parse_period(since, until, timedelta(days=28))
    plant = load_spec(spec)
    with open_store(db) as store:
        ctx = Context(store, SystemClock(), PlantRef(plant))
        records = track_record(ctx, start=start, end=end, model=name, version=version,
                               lines=line or None, by=by)
    if csv_out is not None:
        if str(csv_out) == "-":
            write_csv(records, sys.stdout)
            return
        with csv_out.open("w", newline="", encoding="utf-8") as f:
            write_csv(records, f)
    if as_json:
        typer.echo(json.dumps({"start": start.isoformat(), "end": end.isoformat(),
                               "records": [r.to_dict() for r in records]}, indent=2))
        return
    print_records(records, start, end, by)
    if csv_out is not None:
        console.print(f"CSV written to {csv_out}", highlight=False)


def print_records(records: list[TrackRecord], start: datetime, end: datetime,
                  by: str) -> None:
    """The records as a table (also ``andon replay``'s)."""
    table = Table(title=f"Track record {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC")
    for col in ("model", by, "mode", "raised", "confirmed", "false alarms", "unresolved",
                "detected", "missed", "precision", "recall", "false alarms / asset-week",
                "lead p10 / median / p90"):
        table.add_column(col, justify="left" if col in {"model", by, "mode"} else "right")
    for r in records:
        leads = " / ".join(_lead(r.lead_quantile(q)) for q in (0.1, 0.5, 0.9))
        missed = f"{r.missed}" + (f" (+{r.found_in_planned_stop} in planned stops)"
                                  if r.found_in_planned_stop else "")
        table.add_row(f"{r.model} v{r.version}", r.scope, r.mode, str(r.raised), str(r.confirmed),
                      str(r.false_alarms), str(r.unresolved), str(r.detected), missed,
                      _pct(r.precision), _pct(r.recall), _num(r.false_alarms_per_asset_week),
                      leads)
    console.print(table)
    if not records:
        console.print("no interventions or failures on the watched assets in the period",
                      highlight=False)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _lead(value: timedelta | None) -> str:
    return "-" if value is None else f"{value.total_seconds() / 3600:.1f} h"


def _period_option(text: str | None, option: str) -> tuple[datetime, datetime] | None:
    """``START..END`` (ISO 8601 times, no offset: UTC) as a UTC period, or None."""
    from andon.cli.options import parse_time  # noqa: PLC0415

    if text is None:
        return None
    first, sep, second = text.partition("..")
    start, end = parse_time(first or None, option), parse_time(second or None, option)
    if not sep or start is None or end is None:
        raise typer.BadParameter(f"{text!r} is not START..END ({WHEN_HELP})", param_hint=option)
    if end <= start:
        raise typer.BadParameter(f"{text!r}: the end is not after the start", param_hint=option)
    return start, end


@report_app.command("kpi")
def kpi(
    line: Annotated[str, typer.Option(help="Line id (or an asset id: its line).")],
    baseline: Annotated[str | None, typer.Option(
        help="Baseline period START..END; default: as long as the after period, just "
        "before it. " + WHEN_HELP)] = None,
    after: Annotated[str | None, typer.Option(
        help="After period START..END; default: from when a model first went live on the "
        "line to now.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
    = False,
    csv_out: Annotated[Path | None, typer.Option(
        "--csv", help="Write one row per period as CSV to this file ('-': standard output).")]
    = None,
    html_out: Annotated[Path | None, typer.Option(
        "--html", help="Write the report as one self-contained HTML file (for e-mail).")]
    = None,
    spec: SpecOpt = DEFAULT_SPEC,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """OEE (ISO 22400), scrap, downtime by reason, MTBF/MTTR and adoption, baseline vs after.

    And the ROI of the after period against the baseline (avoided unplanned downtime and
    scrap at the cost rates of the line's ``costs:``). The line needs a ``production:`` block
    in the spec (state tag, counters, ideal rate; docs/kpi.md). A figure over nothing
    shows as "-"; what limits a figure (unknown state, counter resets) is listed.
    """
    from andon.app import Context, PlantRef, kpi_report  # noqa: PLC0415
    from andon.cli.actor import cli_actor  # noqa: PLC0415
    from andon.clock import SystemClock  # noqa: PLC0415
    from andon.kpi.report import write_csv  # noqa: PLC0415
    from andon.spec import load_spec  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415
    from andon.web.kpi_page import render_report  # noqa: PLC0415

    periods = _period_option(baseline, "--baseline"), _period_option(after, "--after")
    plant = load_spec(spec)
    clock = SystemClock()
    with open_store(db) as store:
        ctx = Context(store, clock, PlantRef(plant))
        report = kpi_report(ctx, cli_actor(), line, baseline=periods[0], after=periods[1])
    if csv_out is not None:
        if str(csv_out) == "-":
            write_csv(report, sys.stdout)
            return
        with csv_out.open("w", newline="", encoding="utf-8") as f:
            write_csv(report, f)
    if html_out is not None:
        html_out.write_text(render_report(report, generated=clock.now(),
                                          enterprise=plant.enterprise.name), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    _print_kpi(report)
    for what, path in (("CSV", csv_out), ("HTML report", html_out)):
        if path is not None:
            console.print(f"{what} written to {path}", highlight=False)


def _print_kpi(report: Any) -> None:
    from andon.web.kpi_page import kpi_view  # noqa: PLC0415

    v = kpi_view(report)
    b, a = v["baseline"], v["after"]
    table = Table(title=f"KPIs of {report.line_name} ({report.site}/{report.line}), "
                        f"times in {report.timezone}")
    table.add_column("figure")
    table.add_column(f"baseline {b['start']} to {b['end']}", justify="right")
    table.add_column(f"after {a['start']} to {a['end']}", justify="right")
    for label, key in (("OEE", "oee"), ("availability", "availability"),
                       ("performance", "performance"), ("quality", "quality"),
                       ("planned downtime", "planned_h"), ("planned busy time", "busy_h"),
                       ("run time", "run_h"), ("unplanned downtime", "unplanned_h"),
                       ("state unknown", "unknown_h"), (f"good {report.unit_name}", "good"),
                       (f"total {report.unit_name}", "total"), ("scrap rate", "scrap_rate"),
                       ("unplanned stops", "stops"), ("MTBF (line state)", "mtbf"),
                       ("MTTR (line state)", "mttr"), ("failures (work orders)", "wo_failures"),
                       ("MTTR (work orders)", "wo_mttr"), ("interventions raised", "raised"),
                       ("acted", "acted"), ("deferred", "deferred"), ("dismissed", "dismissed"),
                       ("overridden", "overridden"), ("adoption rate", "adoption_rate"),
                       ("median time to acknowledge", "median_ack")):
        table.add_row(label, str(b[key]), str(a[key]))
    console.print(table)
    for r in v["downtime_rows"]:
        console.print(f"downtime {r['loss']:>9}  {r['reason']}: baseline {r['baseline']}, "
                      f"after {r['after']}", highlight=False)
    roi = v["roi"]
    if roi is not None:
        console.print(f"ROI {roi['value']}: avoided unplanned downtime {roi['downtime']}, "
                      f"avoided scrap {roi['scrap']} {report.unit_name} ({roi['rates']}); "
                      f"basis: {roi['basis']}", highlight=False)
    for name in ("baseline", "after"):
        for flag in v[name]["flags"]:
            console.print(f"{name}: {flag}", highlight=False)
