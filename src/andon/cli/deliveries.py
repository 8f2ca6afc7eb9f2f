"""``andon deliveries ...``: what went to which sink (UNS, webhook, CMMS), and what failed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from andon.cli.options import DEFAULT_DB, DbOpt
from andon.cli.terminal import Terminal

__all__ = ["deliveries_app"]

deliveries_app = typer.Typer(
    help="Deliveries: every attempt to hand an intervention to a sink (the spec's sinks: "
    "UNS topic, webhooks, CMMS), with its result.",
    no_args_is_help=True,
)
console = Terminal()


@deliveries_app.command("list")
def list_deliveries(
    sink: Annotated[str | None, typer.Option(help="Only this sink (uns, webhook:ID, "
                                             "cmms:ID).")] = None,
    intervention: Annotated[str | None, typer.Option(help="Only this intervention id.")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed attempts.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows, newest first.")]
    = 50,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """List delivery attempts, newest first: sink, intervention, version, attempt, result."""
    from andon.store import open_store  # noqa: PLC0415

    with open_store(db) as store:
        rows = store.deliveries(sink=sink, intervention_id=intervention, limit=limit,
                                ok=False if failed else None)
    table = Table("at (UTC)", "sink", "intervention", "version", "attempt", "result",
                  "external id")
    for r in rows:
        result = "ok" if r.ok else f"failed: {r.error}"
        if r.http_status is not None:
            result = f"{r.http_status} {result}"
        table.add_row(f"{r.at:%Y-%m-%d %H:%M:%S}", r.sink, r.intervention_id, str(r.version),
                      str(r.attempt), result, r.external_id or "")
    console.print(table)
    console.print(f"{len(rows)} attempt(s)", highlight=False)
