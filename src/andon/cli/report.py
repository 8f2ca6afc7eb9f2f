"""``andon report ...``: figures computed from what the store keeps.

``andon report load``: the ISA-18.2 operator-load figures per operator position (interventions
per 10 minutes, % of 10-minute periods in flood, the top-10 sources' share, stale interventions
open more than 24 h), from the stored interventions.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from andon.cli.options import DEFAULT_DB, DEFAULT_SPEC, WHEN_HELP, DbOpt, SpecOpt, parse_time

if TYPE_CHECKING:
    from andon.kpi.load import LoadReport

__all__ = ["report_app"]

report_app = typer.Typer(help="Reports computed from the store: operator load (ISA-18.2).",
                         no_args_is_help=True)
console = Console()

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

    end = parse_time(until, "--until") or datetime.now(UTC)
    start = parse_time(since, "--since") or end - timedelta(hours=24)
    if end <= start:
        raise typer.BadParameter(f"--until {end.isoformat()} is not after --since "
                                 f"{start.isoformat()}", param_hint="--until")
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
