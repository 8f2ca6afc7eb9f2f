"""``andon replay`` (historian export backtests) and ``andon import work-orders`` (IT data)."""

from __future__ import annotations

import csv
import json
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from andon.cli.options import (
    DEFAULT_DB,
    DEFAULT_MODELS,
    DEFAULT_SPEC,
    WHEN_HELP,
    DbOpt,
    SpecOpt,
    option,
    parse_time,
)
from andon.cli.terminal import Terminal
from andon.settings import DB, MODELS_DIR

if TYPE_CHECKING:

    from andon.feedback.workorders import WorkOrder
    from andon.namespace.tagmap import TagBinding, TagMap
    from andon.services.replay import ReplaySummary
    from andon.spec.model import PlantSpec
    from andon.store.base import Store

__all__ = ["import_app", "replay"]

import_app = typer.Typer(
    help="Import IT data: work orders and maintenance logs from a CMMS, joined to assets and "
    "time (e.g. 'failure confirmed on this asset at this time').",
    no_args_is_help=True,
)

console = Terminal()
err = Terminal(stderr=True)

TimezoneOpt = Annotated[str | None, typer.Option(
    "--timezone", help="IANA time zone (e.g. Europe/Brussels, or UTC) of timestamps written "
    "without an offset; without it such timestamps are refused.")]


def _warn(message: str) -> None:
    err.print(Text.assemble(("warning: ", "bold yellow"), message), soft_wrap=True,
              highlight=False)


def _registry(db: str) -> Store | None:
    """The plant's store when it exists (models registry, work orders); else None."""
    from andon.store import open_store  # noqa: PLC0415

    if db.startswith("sqlite:///") and not Path(db.removeprefix("sqlite:///")).is_file():
        return None
    return open_store(db)


def _tag_map(spec: PlantSpec, sites: list[str]) -> TagMap | None:
    """The tag maps of the named sites of the spec, merged."""
    from andon.namespace.tagmap import TagMap  # noqa: PLC0415

    if not sites:
        return None
    bindings: list[TagBinding] = []
    for site in sites:
        try:
            bindings.extend(TagMap.of_site(spec, site).bindings.values())
        except KeyError:
            known = ", ".join(s.id for s in spec.sites)
            raise typer.BadParameter(f"unknown site {site!r} (known: {known})",
                                     param_hint="--map") from None
    try:
        return TagMap.of(bindings)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--map") from None


def replay(
    file: Annotated[Path, typer.Argument(help="Historian export: .csv or .parquet, long "
                                         "(timestamp, tag, value[, unit][, quality]) or wide "
                                         "(timestamp + one column per tag).")],
    use_case: Annotated[list[str] | None, typer.Option(
        "--use-case", help="Use case id from the spec (repeatable); default: every use case "
        "with a model (those whose tags the export lacks score nothing).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write per-window scores here (CSV: window end, asset, score, "
        "threshold, anomalous, top features).")] = None,
    interventions: Annotated[Path | None, typer.Option(
        "--interventions", help="Write the interventions that would have been raised "
        "here (CSV).")] = None,
    work_orders: Annotated[Path | None, typer.Option(
        "--work-orders", help="CMMS work orders (CSV/JSON, as 'andon import work-orders' "
        "reads) giving the failures the track record judges against; default: the work "
        "orders imported into --db.")] = None,
    map_assets: Annotated[Path | None, typer.Option(
        "--map-assets", help="With --work-orders: CMMS asset name -> asset id (as 'andon "
        "import work-orders').")] = None,
    since: Annotated[str | None, typer.Option(
        help="Start of the track record's period; default the export's first sample. "
        + WHEN_HELP)] = None,
    until: Annotated[str | None, typer.Option(
        help="End of the track record's period (excluded); default just after the export's "
        "last sample.")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the summary and the track record as JSON.")] = False,
    record_csv: Annotated[Path | None, typer.Option(
        "--track-record-csv", help="Write the track record as CSV (the columns of 'andon "
        "report track-record --csv').")] = None,
    exact: Annotated[bool, typer.Option(
        "--exact", help="Score each window as it closes with the gate in a scratch SQLite "
        "store, exactly as 'andon edge' does (slower; the fast path batches scoring and keeps "
        "the gate in memory, with the same results).")] = False,
    models: Annotated[Path, option(MODELS_DIR)] = DEFAULT_MODELS,
    tag_map: Annotated[list[str] | None, typer.Option(
        "--map", help="Resolve raw tag names through this site's tag map (repeatable).")]
    = None,
    timezone: TimezoneOpt = None,
    model_version: Annotated[int | None, typer.Option(
        "--model-version", min=1, help="Replay with this version; default: the production version "
        "in the store, else the newest in --models.")] = None,
    layout: Annotated[str, typer.Option(
        help="File layout: auto, long or wide.")] = "auto",
    source: Annotated[str | None, typer.Option(
        help="Producer id given to the samples; default historian:FILE.")] = None,
    spec: SpecOpt = DEFAULT_SPEC,
    db: Annotated[str, option(DB, existing=False, usage="Read only when it exists: the "
                              "production version and the work orders.")] = DEFAULT_DB,
) -> None:
    """Backtest: run a historian export through the live scoring path at full speed.

    The same contracts, windows, features, model and decider as 'andon edge'; nothing is
    recorded. Prints a summary (rows read, rejected with file:line, quarantined by rule,
    windows scored, anomalies, interventions, first detection per asset and its lead time)
    and the track record the versions would have earned on the history, computed as 'andon
    report track-record' computes it: false alarms per asset-week, precision, recall, lead
    times, missed failures. Would-be interventions have no outcomes, so they are judged as a
    shadow version's: confirmed when a failure followed within the horizon, a false alarm
    when the horizon passed without one, unresolved when it runs past the period.
    """
    from andon.connectors.historian import HistorianExport  # noqa: PLC0415
    from andon.kpi.trackrecord import write_csv  # noqa: PLC0415
    from andon.services.replay import replay_export  # noqa: PLC0415
    from andon.spec import load_spec  # noqa: PLC0415

    if layout not in {"auto", "long", "wide"}:
        raise typer.BadParameter("expected auto, long or wide", param_hint="--layout")
    shape: Literal["auto", "long", "wide"] = (
        "long" if layout == "long" else "wide" if layout == "wide" else "auto")
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    plant = load_spec(spec)
    orders = (None if work_orders is None
              else _work_orders(work_orders, plant, map_assets, timezone))
    export = HistorianExport(file, tagmap=_tag_map(plant, tag_map or []), spec=plant,
                             timezone=timezone, source=source, layout=shape)
    columns = ([DownloadColumn()] if export.progress_unit == "bytes"
               else [MofNCompleteColumn(), TextColumn("rows")])
    bar = Progress(TextColumn(f"replaying {file.name}"), BarColumn(), TaskProgressColumn(),
                   *columns, TimeRemainingColumn(), console=err, transient=True)
    task = bar.add_task("replay", total=None)

    def progress(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with ExitStack() as stack:
        registry = _registry(db)
        if registry is not None:
            stack.callback(registry.close)
        scores = None if out is None else stack.enter_context(
            out.open("w", newline="", encoding="utf-8"))
        ivs = None if interventions is None else stack.enter_context(
            interventions.open("w", newline="", encoding="utf-8"))
        with bar:
            summary = replay_export(export, plant, use_case or None, models,
                                    registry=registry, model_version=model_version,
                                    scores=scores, interventions=ivs, progress=progress,
                                    work_orders=orders, since=start, until=end,
                                    exact=exact)
    if record_csv is not None:
        with record_csv.open("w", newline="", encoding="utf-8") as f:
            write_csv(summary.records, f)
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        _print_summary(summary)
        for path, what in ((out, "scores"), (interventions, "interventions"),
                           (record_csv, "track record")):
            if path is not None:
                console.print(f"{what} written to {path}", highlight=False)
    _refuse_if_nothing_usable(summary)


def _refuse_if_nothing_usable(summary: ReplaySummary) -> None:
    """A ``HistorianError`` (exit code 3) when no row of the export gave a usable sample.

    A script must not take a run that rejected or quarantined everything for a backtest.
    """
    from andon.errors import HistorianError  # noqa: PLC0415

    # the quarantine counts the rejected rows too (as malformed): the rest are samples
    quarantined = max(0, sum(summary.quarantined.values()) - summary.rejected)
    if summary.rows and summary.samples > quarantined:
        return
    raise HistorianError(f"{summary.file}: nothing usable: {summary.rows} rows read, "
                         f"{summary.rejected} rejected, {quarantined} of {summary.samples} "
                         "samples quarantined; nothing was scored")


def _work_orders(path: Path, plant: PlantSpec, map_assets: Path | None,
                 timezone: str | None) -> list[WorkOrder]:
    """The usable work orders of a CMMS file (read as 'andon import work-orders' reads)."""
    from andon.connectors.historian import parse_timezone  # noqa: PLC0415
    from andon.feedback.workorders import load_asset_map, read_work_orders  # noqa: PLC0415

    names = None if map_assets is None else load_asset_map(map_assets)
    read = read_work_orders(path, plant, asset_map=names, timezone=parse_timezone(timezone))
    for line in read.lines()[:20]:
        _warn(f"work order skipped: {line}")
    return read.orders


def _print_summary(summary: ReplaySummary) -> None:
    for line in summary.lines(records=False):
        if line.startswith("warning: "):
            _warn(line.removeprefix("warning: "))
        else:
            console.print(line, highlight=False, soft_wrap=True)
    if summary.period is None:
        return
    console.print("track record: would-be interventions judged as a shadow version's; "
                  f"failures from {summary.failures_from}", highlight=False)
    from andon.cli.report import print_records  # noqa: PLC0415 - keep --help light

    print_records(summary.records, *summary.period, "line")
    for r in summary.records:
        for failure in r.missed_failures:
            console.print(f"missed by {r.model} v{r.version}: {failure.asset} at "
                          f"{failure.at:%Y-%m-%d %H:%M} UTC ({failure.source})",
                          highlight=False)


@import_app.command("work-orders")
def import_work_orders(
    file: Annotated[Path, typer.Argument(help="CMMS export: .csv, .json (array) or .jsonl.")],
    map_assets: Annotated[Path | None, typer.Option(
        "--map-assets", help="CMMS asset name -> asset id: YAML/JSON mapping or CSV "
        "(name,asset). Asset ids and names of the spec are recognised without it.")] = None,
    timezone: TimezoneOpt = None,
    rejects: Annotated[Path | None, typer.Option(
        "--rejects", help="Write rejected rows here (CSV: where, reason, row); default: "
        "FILE.rejects.csv in the current directory, when there are any.")] = None,
    spec: SpecOpt = DEFAULT_SPEC,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Import work orders (idempotent by external id); bad rows are reported, others kept.

    Fields: external id, asset, opened_at, closed_at, type (corrective / preventive /
    inspection), failure_confirmed, failure mode and code, description. Exit code 1 when some
    rows were rejected (each printed as file:line: reason).
    """
    from andon.app import import_work_orders as run_import  # noqa: PLC0415
    from andon.cli.actor import cli_actor, cli_context  # noqa: PLC0415
    from andon.connectors.historian import parse_timezone  # noqa: PLC0415
    from andon.feedback.workorders import load_asset_map  # noqa: PLC0415
    from andon.spec import load_spec  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    plant = load_spec(spec)
    names = None if map_assets is None else load_asset_map(map_assets)
    with open_store(db) as store:
        result = run_import(cli_context(store, plant), cli_actor(), file, asset_map=names,
                            timezone=parse_timezone(timezone)).record
    console.print(f"{file.name}: {result.read} rows read, {len(result.orders)} usable: "
                  f"{result.new} new, {result.updated} updated, {result.unchanged} unchanged; "
                  f"{len(result.rejected)} rejected", highlight=False)
    if not result.rejected:
        return
    for line in result.lines()[:20]:
        err.print(Text.assemble(("error: ", "bold red"), line), soft_wrap=True, highlight=False)
    if len(result.rejected) > 20:
        err.print(f"... and {len(result.rejected) - 20} more", highlight=False)
    path = rejects or Path(f"{file.stem}.rejects.csv")
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(("where", "reason", "row"))
        w.writerows((r.where, r.reason, r.raw) for r in result.rejected)
    err.print(f"rejected rows written to {path}", highlight=False)
    raise typer.Exit(1)
