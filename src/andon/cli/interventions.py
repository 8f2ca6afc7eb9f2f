"""``andon interventions ack | start | done | defer | dismiss | shelve | outcome ID``.

Answering an intervention from a terminal, through the same application functions as the
inbox and the JSON API: ``andon.app.move`` (acknowledge, start, shelve),
``andon.app.give_feedback`` (done = acted, deferred, dismissed: acknowledged first if nobody
had) and ``andon.app.record_outcome`` (what was found). The lifecycle's rules hold as there:
a reason for defer, dismiss and shelve, shelving for at most 24 h, one-line refusals naming
both states. Who acts: ``--user LOGIN`` (signed in: its password asked for, hidden, or read
from ``ANDON_PASSWORD``; its role must grant feedback), else the OS user, as every command of
the CLI (``andon.cli.actor``). The id is the one ``andon interventions list`` prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.text import Text

from andon.cli.options import DEFAULT_DB, DEFAULT_SPEC, DbOpt, SpecOpt, parse_duration
from andon.cli.terminal import Terminal

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from andon.app import Actor, Answered, Context, Moved

__all__ = ["ivs_ack", "ivs_defer", "ivs_dismiss", "ivs_done", "ivs_outcome", "ivs_shelve",
           "ivs_start"]

console = Terminal()

IdArg = Annotated[str, typer.Argument(
    metavar="ID", help="Intervention id, as 'andon interventions list' prints it.")]
#: ``--user``: answer as a login of Andon (``andon.cli.actor.cli_login``)
UserOpt = Annotated[str | None, typer.Option(
    "--user", envvar="ANDON_USER", help="Answer as this login (its password is asked for, "
    "hidden, or read from ANDON_PASSWORD; its role must grant feedback); without it the OS "
    "user answers.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept on the record).")]
NoteOpt = Annotated[str, typer.Option("--reason", help="A note (kept on the record).")]
#: the values of ``OutcomeLabel`` (andon.interventions.record), spelled here so that ``--help``
#: imports no domain; tests/cli/test_cli_help.py pins them to the enum
Found = Literal["fault_confirmed", "no_fault", "unsure"]


def _act(db: str, spec: Path, user: str | None, verb: str,
         act: Callable[[Context, Actor], Moved | Answered]) -> None:
    """Open the store, identify the actor, act, and say what the intervention is now."""
    from andon.cli.actor import cli_context, cli_login, spec_in_force  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    with open_store(db) as store:
        ctx = cli_context(store, spec_in_force(store, spec, required=False))
        actor = cli_login(ctx, user)
        record = act(ctx, actor).record
    console.print(Text(f"{verb} {record.id} ({record.asset_name}): now {record.state.value}, "
                       f"by {actor.name}"), soft_wrap=True)


def ivs_ack(intervention_id: IdArg, note: NoteOpt = "", user: UserOpt = None,
            spec: SpecOpt = DEFAULT_SPEC, db: DbOpt = DEFAULT_DB) -> None:
    """Acknowledge an intervention: you have seen it and own it (stops its escalation)."""
    from andon.app import move  # noqa: PLC0415

    _act(db, spec, user, "acknowledged", lambda c, a: move(
        c, a, intervention_id, "acknowledged", reason=note))


def ivs_start(intervention_id: IdArg, note: NoteOpt = "", user: UserOpt = None,
              spec: SpecOpt = DEFAULT_SPEC, db: DbOpt = DEFAULT_DB) -> None:
    """Start an acknowledged intervention: the action is being done."""
    from andon.app import move  # noqa: PLC0415

    _act(db, spec, user, "started", lambda c, a: move(
        c, a, intervention_id, "in_progress", reason=note))


def ivs_done(intervention_id: IdArg, note: NoteOpt = "", user: UserOpt = None,
             spec: SpecOpt = DEFAULT_SPEC, db: DbOpt = DEFAULT_DB) -> None:
    """The action was done (feedback "acted"); record what was found with 'outcome'."""
    from andon.app import give_feedback  # noqa: PLC0415

    _act(db, spec, user, "done", lambda c, a: give_feedback(
        c, a, intervention_id, "acted", note))


def ivs_defer(intervention_id: IdArg, reason: ReasonOpt, user: UserOpt = None,
              spec: SpecOpt = DEFAULT_SPEC, db: DbOpt = DEFAULT_DB) -> None:
    """Defer an intervention: you will act later (it stays in the inbox); a reason is needed."""
    from andon.app import give_feedback  # noqa: PLC0415

    _act(db, spec, user, "deferred", lambda c, a: give_feedback(
        c, a, intervention_id, "deferred", reason))


def ivs_dismiss(intervention_id: IdArg, reason: ReasonOpt, user: UserOpt = None,
                spec: SpecOpt = DEFAULT_SPEC, db: DbOpt = DEFAULT_DB) -> None:
    """Dismiss an intervention as not needed (kept as a label); a reason is needed."""
    from andon.app import give_feedback  # noqa: PLC0415

    _act(db, spec, user, "dismissed", lambda c, a: give_feedback(
        c, a, intervention_id, "dismissed", reason))


def ivs_shelve(intervention_id: IdArg, reason: ReasonOpt,
               for_: Annotated[str, typer.Option(
                   "--for", help="How long: a duration such as 4h or 30min (at most 24 h).")],
               user: UserOpt = None, spec: SpecOpt = DEFAULT_SPEC,
               db: DbOpt = DEFAULT_DB) -> None:
    """Shelve a nuisance for a while; it comes back as it was afterwards. A reason is needed."""
    from andon.app import move  # noqa: PLC0415
    from andon.clock import SystemClock  # noqa: PLC0415

    span = parse_duration(for_)
    if span is None or span.total_seconds() <= 0:
        raise typer.BadParameter(f"{for_!r} is not a duration (e.g. 4h, 30min)",
                                 param_hint="--for")
    until = SystemClock().now() + span
    _act(db, spec, user, "shelved", lambda c, a: move(
        c, a, intervention_id, "shelved", reason=reason, shelve_until=until))


def ivs_outcome(intervention_id: IdArg,
                found: Annotated[Found, typer.Argument(metavar="FOUND", help=(
                    "What was found: fault_confirmed, no_fault or unsure."))],
                detail: Annotated[str, typer.Option("--detail", help="What you saw.")] = "",
                user: UserOpt = None, spec: SpecOpt = DEFAULT_SPEC,
                db: DbOpt = DEFAULT_DB) -> None:
    """Record what was found once the intervention is done or dismissed (a training label)."""
    from andon.app import record_outcome  # noqa: PLC0415

    _act(db, spec, user, f"outcome {found} recorded for", lambda c, a: record_outcome(
        c, a, intervention_id, found, detail))
