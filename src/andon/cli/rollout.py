"""``andon rollout ...``: a new model version's staged rollout, one use case at a time.

``status`` shows each use case's stage, the gate's figures against its limits and what is
missing; ``start`` puts a signed candidate in shadow on a pilot line; ``advance`` moves on
only when the gate is met (and says which figure is not); ``back`` returns to the previous
stage in one command; ``withdraw`` stops it. Every move needs a reason and keeps who made it.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from andon.audit import Meaning
from andon.cli.options import (
    DEFAULT_DB,
    DEFAULT_SPEC,
    DbOpt,
    MeaningOpt,
    SpecOpt,
    UserOpt,
    parse_version,
)
from andon.cli.terminal import Terminal

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from andon.app import Actor, Change, Context, RolloutStatus
    from andon.app.signatures import SignatureIn
    from andon.rollout import Rollout

__all__ = ["rollout_app"]

rollout_app = typer.Typer(help="Staged rollout of a new model version: shadow on one line, "
                          "live for one shift, then more lines, each gate met.",
                          no_args_is_help=True)
console = Terminal()

UseCaseArg = Annotated[str, typer.Argument(help="Use case id from the spec, e.g. pump-bearing.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept on record; required).")]


@contextmanager
def _in_context(spec: Path, db: str) -> Iterator[Context]:
    """The context over the store at ``db`` with the spec in force (stored, else ``spec``)."""
    from andon.cli.actor import cli_context, spec_in_force  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    with open_store(db) as store:
        yield cli_context(store, spec_in_force(store, spec))


def _run(spec: Path, db: str, user: str | None,
         change: Callable[[Context, Actor, SignatureIn | None], Change[Rollout]],
         meaning: str, reason: str) -> None:
    from andon.cli.actor import cli_signer, signed_lines  # noqa: PLC0415

    with _in_context(spec, db) as ctx:
        actor, signature = cli_signer(ctx, user, meaning=meaning, reason=reason)
        done = change(ctx, actor, signature)
    r = done.record
    where = r.current.where
    console.print(f"{r.label}: {r.stage.value}" + (f" ({where})" if where else ""),
                  highlight=False)
    for line in signed_lines(done.events):
        console.print(line, highlight=False)


@rollout_app.command("start")
def start(use_case: UseCaseArg,
          version: Annotated[int, typer.Option(
              "--version", parser=parse_version, metavar="VERSION", help="The signed "
              "candidate version of the use case's model to roll out: N or vN.")],
          pilot: Annotated[str, typer.Option("--pilot", help="The line it shadows first.")],
          reason: ReasonOpt, spec: SpecOpt = DEFAULT_SPEC, db: DbOpt = DEFAULT_DB,
          user: UserOpt = None, meaning: MeaningOpt = Meaning.APPROVED) -> None:
    """Put a signed candidate version in shadow on a pilot line (nothing is delivered)."""
    from andon.app import start_rollout  # noqa: PLC0415

    _run(spec, db, user, lambda c, a, s: start_rollout(c, a, use_case, version, pilot=pilot,
                                                       reason=reason, signature=s),
         meaning, reason)


@rollout_app.command("advance")
def advance(use_case: UseCaseArg, reason: ReasonOpt,
            shift: Annotated[str | None, typer.Option(
                "--shift", help="From shadow_pilot: the shift it goes live in first.")] = None,
            line: Annotated[list[str] | None, typer.Option(
                "--line", help="From a live stage: further lines to shadow next "
                "(repeatable).")] = None,
            spec: SpecOpt = DEFAULT_SPEC, db: DbOpt = DEFAULT_DB, user: UserOpt = None,
            meaning: MeaningOpt = Meaning.APPROVED) -> None:
    """Move to the next stage; refused, with the unmet figures, unless the gate is met."""
    from andon.app import advance_rollout  # noqa: PLC0415

    _run(spec, db, user, lambda c, a, s: advance_rollout(c, a, use_case, reason=reason,
                                                         lines=line or (), shift=shift,
                                                         signature=s),
         meaning, reason)


@rollout_app.command("back")
def back(use_case: UseCaseArg, reason: ReasonOpt, spec: SpecOpt = DEFAULT_SPEC,
         db: DbOpt = DEFAULT_DB, user: UserOpt = None,
         meaning: MeaningOpt = Meaning.APPROVED) -> None:
    """Return to the previous stage (from the first: withdraw), at once."""
    from andon.app import rollout_back  # noqa: PLC0415

    _run(spec, db, user, lambda c, a, s: rollout_back(c, a, use_case, reason=reason,
                                                      signature=s), meaning, reason)


@rollout_app.command("withdraw")
def withdraw(use_case: UseCaseArg, reason: ReasonOpt, spec: SpecOpt = DEFAULT_SPEC,
             db: DbOpt = DEFAULT_DB, user: UserOpt = None,
             meaning: MeaningOpt = Meaning.APPROVED) -> None:
    """Stop the rollout: production serves every line again."""
    from andon.app import withdraw_rollout  # noqa: PLC0415

    _run(spec, db, user, lambda c, a, s: withdraw_rollout(c, a, use_case, reason=reason,
                                                          signature=s), meaning, reason)


@rollout_app.command("status")
def status(use_case: Annotated[str | None, typer.Argument(
               help="Only this use case; default: all.")] = None,
           as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
           spec: SpecOpt = DEFAULT_SPEC, db: DbOpt = DEFAULT_DB) -> None:
    """Each use case's stage, its gate's figures against the limits, and what is missing."""
    from andon.app import rollout_status  # noqa: PLC0415

    with _in_context(spec, db) as ctx:
        found = rollout_status(ctx, use_case)
    if as_json:
        typer.echo(json.dumps([s.to_dict() for s in found], indent=2))
        return
    for s in found:
        _print(s)


def _print(s: RolloutStatus) -> None:
    r = s.rollout
    prod = f"production v{s.production}" if s.production else "no production version"
    if r is None:
        console.print(f"[bold]{s.use_case}[/]: {prod}; no rollout", highlight=False)
        return
    console.print(f"[bold]{s.use_case}[/]: {prod}; {r.model} v{r.version} in "
                  f"[bold]{r.stage.value}[/] since {r.since:%Y-%m-%d %H:%M} UTC"
                  + (f", live on {', '.join(r.live_lines)}" if r.live_lines else "")
                  + (f" (shift {r.shift})" if r.shift else "")
                  + (f", shadow on {', '.join(r.shadow_lines)}" if r.shadow_lines else ""),
                  highlight=False)
    if s.checks:
        table = Table(title=f"gate of {r.stage.value}", title_justify="left")
        for col in ("", "figure", "limit"):
            table.add_column(col)
        for c in s.checks:
            table.add_row("[green]ok[/]" if c.ok else "[red]not met[/]", c.text,
                          c.name.replace("_", " "))
        console.print(table)
    verdict = ("gate met: advance leads to " if s.gate_met
               else "not yet: advance would be refused; next: ") + s.next_stage
    console.print(verdict, highlight=False)
