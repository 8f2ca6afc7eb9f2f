"""``andon quarantine ...``: list, show and replay messages kept out by decoding or contracts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from andon.cli.options import DEFAULT_DB, DEFAULT_SPEC, DbOpt, SpecOpt
from andon.cli.terminal import Terminal
from andon.text import printable

if TYPE_CHECKING:
    from andon.app.quarantine import ReplayProgress
    from andon.contracts import Quarantined

quarantine_app = typer.Typer(
    help="Messages kept out of the samples: malformed payloads and data-contract breaches, "
    "with the original payload, the rule and the reason. Replay them after a fix.",
    no_args_is_help=True,
)

console = Terminal()

RuleOpt = Annotated[str | None, typer.Option("--rule", help="Only this rule code, e.g. "
                                             "out_of_range, unit_mismatch, malformed.")]


def _when(item: Quarantined) -> str:
    return f"{item.received_at:%Y-%m-%d %H:%M:%S} UTC"


@quarantine_app.command("list")
def list_(
    rule: RuleOpt = None,
    asset: Annotated[str | None, typer.Option("--asset", help="Only this asset id.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest "
                                       "first.")] = 50,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """List quarantined messages, newest first, with the rule and reason of each."""
    from andon.kpi.quality import report_from  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    with open_store(db) as store:
        items = store.quarantined(rule=rule, asset=asset, limit=limit)
        counts = store.count_quarantined_by_rule()
        quality = report_from(store, asset=asset)
    table = Table(title="Quarantine")
    for col in ("id", "when", "source", "tag", "rule", "reason"):
        table.add_column(col, overflow="fold")
    for q in items:
        tag = q.tag or q.topic
        replayed = " (replayed)" if q.replayed_at is not None else ""
        # what a message carried is shown escaped, never as markup or terminal controls
        table.add_row(str(q.id), _when(q), Text(printable(q.source or "-")),
                      Text(printable(tag)), q.rule.value + replayed, Text(printable(q.reason)))
    console.print(table)
    total = ", ".join(f"{r} {n}" for r, n in counts.items()) or "nothing quarantined"
    console.print(f"by rule: {total}", highlight=False)
    # what was recorded but flagged (stuck, steps, gaps, skew): named, see `andon dq report`
    flagged = [f"{t.asset}/{t.tag}: {f}" for t in quality.tags for f in t.findings
               if t.asset not in {"", "*"}]
    flagged += [f"{s.source}: {f}" for s in quality.sources for f in s.findings]
    if flagged:
        console.print("recorded but flagged (andon dq report):", highlight=False)
        for line in flagged[:20]:
            console.print(Text(f"  {printable(line)}"))
        if len(flagged) > 20:  # a screenful; the report has the rest
            console.print(f"  ... {len(flagged) - 20} more", highlight=False)


@quarantine_app.command("show")
def show(
    item_id: Annotated[int, typer.Argument(help="Id from 'andon quarantine list'.")],
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Show one quarantined message with everything kept, including the original payload."""
    from andon.store import open_store  # noqa: PLC0415

    with open_store(db) as store:
        q = store.get_quarantined(item_id)
    size = f"{q.size} bytes" + (f" (truncated to {len(q.payload)})" if q.truncated else "")
    rows = [
        ("id", str(q.id)), ("received", _when(q)), ("topic", q.topic),
        ("source", q.source or "-"), ("tag", q.tag or "-"), ("rule", q.rule.value),
        ("reason", q.reason), ("payload size", size),
        ("replayed", "-" if q.replayed_at is None
         else f"{q.replayed_at:%Y-%m-%d %H:%M:%S} UTC"),
    ]
    table = Table(title=f"Quarantined message {q.id}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for name, value in rows:
        table.add_row(name, Text(printable(value)))
    table.add_row("payload", Text(printable(q.text(), keep="\n\t")))
    console.print(table)


@quarantine_app.command("replay")
def replay(
    rule: RuleOpt = None,
    item_id: Annotated[int | None, typer.Option("--id", help="Only this item.")] = None,
    spec: SpecOpt = DEFAULT_SPEC,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Run quarantined messages through the current decoder and contracts again.

    Those that now pass are stored as samples and marked replayed; the rest stay.
    """
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from andon.app import replay_quarantined  # noqa: PLC0415
    from andon.cli.actor import cli_actor, cli_context  # noqa: PLC0415
    from andon.spec import load_spec  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    plant = load_spec(spec)
    # on stderr, gone when done: standard output keeps the one result line
    bar = Progress(TextColumn("replaying quarantined items"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[passing]} pass"), TimeRemainingColumn(),
                   console=Terminal(stderr=True), transient=True)
    task = bar.add_task("replay", total=None, passing=0)

    def progress(p: ReplayProgress) -> None:
        bar.update(task, completed=p.done, total=p.total, passing=p.passing)

    with open_store(db) as store, bar:
        result = replay_quarantined(cli_context(store, plant), cli_actor(), rule=rule,
                                    item_id=item_id, progress=progress).record
    still = ", ".join(f"{r} {n}" for r, n in sorted(result.still.items())) or "none"
    console.print(f"replayed {result.checked}: [green]{result.stored} stored[/] as samples; "
                  f"still quarantined: {still}", highlight=False)
