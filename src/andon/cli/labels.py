"""``andon labels ...``: every feedback and outcome, as labels tied to the evidence window."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer

from andon.cli.options import DEFAULT_DB, WHEN_HELP, DbOpt, parse_time
from andon.cli.terminal import Terminal

__all__ = ["labels_app"]

labels_app = typer.Typer(
    help="Labels: every answer (acted / deferred / dismissed) and outcome (fault_confirmed / "
    "no_fault / unsure) with the asset, model, evidence window, who, when and via which "
    "surface. For training and the model's track record.",
    no_args_is_help=True,
)
console = Terminal()

#: CSV columns, in order
COLUMNS = ("id", "intervention_id", "asset", "use_case", "model", "model_version",
           "window_start", "window_end", "kind", "label", "detail", "by", "at", "via")


@labels_app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write (replaced).")],
    since: Annotated[str | None, typer.Option(help="Only labels at or after this time. "
                                              + WHEN_HELP)] = None,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Write the labels to a CSV file, oldest first (times in ISO 8601 UTC)."""
    from andon.store import open_store  # noqa: PLC0415

    start = parse_time(since, "--since")
    with open_store(db) as store:
        labels = store.labels(since=start)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for label in labels:
            writer.writerow(label.to_dict())
    console.print(f"{len(labels)} label(s) written to {out}", highlight=False)
