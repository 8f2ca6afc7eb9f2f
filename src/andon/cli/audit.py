"""``andon audit verify|anchor|show|export``: the tamper-evident trail, for an inspector.

``verify`` walks the hash chain and its signed anchors and checks every login row against
the trail; it names the first broken entry and exits 1 when anything does not hold.
``anchor`` signs the newest entry (run it from cron or a systemd timer, e.g. hourly: a
deletion of the newest entries then shows). ``show`` lists entries, ``export`` writes them
as CSV or JSON lines with their chain fields, oldest first.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from andon.cli.options import DEFAULT_DB, WHEN_HELP, DbOpt, parse_time
from andon.cli.terminal import Terminal
from andon.errors import ExitCode
from andon.text import printable

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

    from andon.audit import ChainEntry

__all__ = ["audit_app"]

audit_app = typer.Typer(help="The tamper-evident audit trail: verify, anchor, show, export.",
                        no_args_is_help=True)
console = Terminal()

Kind = Annotated[str | None, typer.Option(help="Only this kind (login_failed, user, "
                                          "model_promoted, ...).")]
Subject = Annotated[str | None, typer.Option(help="Only entries about this subject.")]
By = Annotated[str | None, typer.Option(help="Only entries by this actor.")]
Since = Annotated[str | None, typer.Option(help="From this time. " + WHEN_HELP)]
Until = Annotated[str | None, typer.Option(help="Before this time (excluded).")]


@audit_app.command("verify")
def verify(
    db: DbOpt = DEFAULT_DB,
    keys: Annotated[Path | None, typer.Option(
        help="Folder of trusted public keys (*.pub) to check the anchors' signatures; "
        "without it only that the chain reaches each anchor is checked.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check the whole trail; name the first broken entry (exit 1 when broken)."""
    from andon.app import verify_trail  # noqa: PLC0415
    from andon.cli.actor import cli_actor, cli_context  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    with open_store(db) as store:
        report = verify_trail(cli_context(store), cli_actor(), keys_dir=keys)
    if as_json:
        c = report.chain
        print(json.dumps({"ok": report.ok, "entries": c.entries, "problem": c.problem,
                          "broken_at": c.broken_at, "anchors": c.anchors,
                          "newest_anchor": c.newest_anchor, "unchained": report.unchained,
                          "records": list(report.record_problems)}))
    else:
        for i, line in enumerate(report.lines()):
            style = ("green" if report.ok else "red bold") if i == 0 else None
            console.print(printable(line), style=style, highlight=False)
    if not report.ok:
        raise typer.Exit(ExitCode.ERROR)


@audit_app.command("anchor")
def anchor(
    key: Annotated[Path, typer.Option(help="Ed25519 private key (PEM) to sign with, e.g. one "
                                      "made by 'andon registry keygen'.")],
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Sign the newest entry of the trail (a checkpoint no deletion can pass unnoticed)."""
    from andon.app import anchor_trail  # noqa: PLC0415
    from andon.cli.actor import cli_actor, cli_context  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    with open_store(db) as store:
        event = anchor_trail(cli_context(store), cli_actor(), key)
    console.print(printable(event.detail), highlight=False)


@audit_app.command("show")
def show(
    db: DbOpt = DEFAULT_DB,
    kind: Kind = None,
    subject: Subject = None,
    by: By = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many.")] = 50,
) -> None:
    """List entries, newest first."""
    from andon.app import read_trail  # noqa: PLC0415
    from andon.cli.actor import cli_actor, cli_context  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    with open_store(db) as store:
        events = read_trail(cli_context(store), cli_actor(), kind=kind, subject=subject, by=by,
                            since=parse_time(since, "--since"),
                            until=parse_time(until, "--until"), limit=limit)
    table = Table("#", "time (UTC)", "kind", "subject", "by", "detail")
    for e in events:
        table.add_row("-" if e.seq is None else str(e.seq), f"{e.at:%Y-%m-%d %H:%M:%S}",
                      printable(str(e.kind)), printable(e.subject), printable(e.by),
                      printable(e.detail))
    console.print(table)


@audit_app.command("export")
def export(
    db: DbOpt = DEFAULT_DB,
    fmt: Annotated[str, typer.Option("--format", help="csv or json (one object per line).")]
    = "csv",
    out: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")]
    = None,
    kind: Kind = None,
    subject: Subject = None,
    by: By = None,
    since: Since = None,
    until: Until = None,
) -> None:
    """Write the chained entries, oldest first, with seq, previous hash and hash."""
    from andon.store import open_store  # noqa: PLC0415

    if fmt not in {"csv", "json"}:
        raise typer.BadParameter(f"unknown format {fmt!r} (csv or json)", param_hint="--format")
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    with open_store(db) as store:
        entries = _filtered(store.chain_entries(), kind, subject, by, start, end)
        if out is None:
            count = _write(sys.stdout, entries, fmt)
        else:
            with out.open("w", encoding="utf-8", newline="") as f:
                count = _write(f, entries, fmt)
    if out is not None:
        console.print(f"{count} entries written to {out}", highlight=False)


_FIELDS = ("seq", "at", "kind", "subject", "detail", "by", "record_hash", "prev_hash", "hash")


def _filtered(entries: Iterator[ChainEntry], kind: str | None, subject: str | None,
              by: str | None, since: datetime | None,
              until: datetime | None) -> Iterator[ChainEntry]:
    for e in entries:
        if ((kind is None or e.kind == kind) and (subject is None or e.subject == subject)
                and (by is None or e.by == by) and (since is None or e.at >= since)
                and (until is None or e.at < until)):
            yield e


def _write(f: IO[str], entries: Iterator[ChainEntry], fmt: str) -> int:
    writer = csv.writer(f) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(_FIELDS)
    count = 0
    for e in entries:
        row = (e.seq, e.at.isoformat(), e.kind, e.subject, e.detail, e.by, e.record or "",
               e.prev_hash, e.hash)
        if writer is not None:
            writer.writerow(row)
        else:
            f.write(json.dumps(dict(zip(_FIELDS, row, strict=True)), ensure_ascii=False) + "\n")
        count += 1
    return count
