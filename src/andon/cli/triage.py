"""``andon triage ...``: detections held back for a reviewer, and the reviewer's labels.

A detection goes to triage instead of an inbox when its confidence (score / threshold) is
below the use case's ``confidence_floor`` or its input is out of the model's training
distribution. ``andon triage label ID real_problem --note ...`` keeps the verdict with who,
their role and when.
"""

from __future__ import annotations

import getpass
from typing import Annotated, Literal

import typer
from rich.table import Table
from rich.text import Text

from andon.cli.options import DEFAULT_DB, DbOpt, UserOpt
from andon.cli.terminal import Terminal

__all__ = ["Status", "Verdict", "triage_app"]

# the values of ``TriageStatus`` and ``TriageVerdict`` (andon.interventions.triage), spelled
# here so that ``--help`` does not import the domain (numpy); tests/cli/test_cli_help.py pins
# them to the enums
#: ``--status``
Status = Literal["open", "labelled"]
#: the verdict argument
Verdict = Literal["real_problem", "normal", "unsure"]

triage_app = typer.Typer(
    help="Detections held for a reviewer (low confidence or out of the model's training "
    "distribution) and their labels: real_problem, normal or unsure.",
    no_args_is_help=True,
)

console = Terminal()


@triage_app.command("list")
def list_(
    status: Annotated[Status | None, typer.Option(
        "--status", help="Only open or labelled items.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest "
                                       "first.")] = 50,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """List triage items, newest first: why each is held, its evidence and its label."""
    from andon.interventions.triage import TriageStatus  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    with open_store(db) as store:
        items = store.list_triage(status=None if status is None else TriageStatus(status),
                                  limit=limit)
    table = Table(title="Triage")
    for col in ("id", "window end", "asset", "why held", "confidence", "top feature",
                "windows", "label"):
        table.add_column(col, overflow="fold")
    for item in items:
        top = item.why[0].describe() if item.why else "-"
        lab = item.label
        label = "-" if lab is None else (
            f"{lab.verdict.value} by {lab.by} ({lab.role}) {lab.at:%Y-%m-%d %H:%M} UTC"
            + (f": {lab.note}" if lab.note else ""))
        table.add_row(str(item.id), f"{item.window_end:%Y-%m-%d %H:%M} UTC",
                      f"{item.asset} ({item.use_case})",
                      ", ".join(r.value for r in item.reasons), f"{item.confidence:.2f}",
                      Text(top), str(item.detections), Text(label))
    console.print(table)
    if not items:
        console.print("no triage items", highlight=False)


@triage_app.command("label")
def label(
    item_id: Annotated[int, typer.Argument(help="Id from 'andon triage list'.")],
    verdict: Annotated[Verdict, typer.Argument(help="What it was.")],
    note: Annotated[str, typer.Option("--note", help="What you saw (kept on record).")] = "",
    user: UserOpt = None,
    role: Annotated[str | None, typer.Option("--role", help="Without --user: the role the OS "
                                             "user reviews as.")] = None,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Label a triage item real_problem / normal / unsure, with who, role, when and a note.

    As a login of Andon (``--user``: its password is asked for, hidden, or read from
    ANDON_PASSWORD; its role must grant review), else as the OS user in ``--role``.
    """
    from andon.app import Actor, label_triage  # noqa: PLC0415
    from andon.audit import Meaning  # noqa: PLC0415
    from andon.cli.actor import cli_context, cli_signer  # noqa: PLC0415
    from andon.feedback.answers import Via  # noqa: PLC0415
    from andon.interventions.triage import TriageVerdict  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    said = TriageVerdict(verdict)
    with open_store(db) as store:
        ctx = cli_context(store)
        if user is not None:
            actor, _ = cli_signer(ctx, user, meaning=Meaning.REVIEWED, reason=note)
        elif role:
            actor = Actor(getpass.getuser(), role, "engineer", Via.CLI)
        else:
            raise typer.BadParameter("say who reviews: --user LOGIN (signed in), or --role "
                                     "ROLE for the OS user", param_hint="--user")
        item = label_triage(ctx, actor, item_id, said, note).record
    reviewer, who_role = actor.name, actor.role
    console.print(f"[green]labelled[/] triage item {item.id} ({item.asset}): {said.value} "
                  f"by {reviewer} ({who_role})", highlight=False)
