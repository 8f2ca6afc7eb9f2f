"""``andon db ...``: the store's schema revision, its history, and upgrading it on demand.

Every command that opens the store upgrades it first anyway; ``andon db upgrade`` does only that
(before a release goes live, say), and ``current`` / ``history`` change nothing.
"""

from __future__ import annotations

import typer
from rich.table import Table

from andon.cli.options import DEFAULT_DB, CreatingDbOpt, DbOpt
from andon.cli.terminal import Terminal

__all__ = ["db_app"]

db_app = typer.Typer(
    help="The store's schema: which revision a database is at, the revisions this Andon knows, "
    "and upgrading to the newest (a 0.1 database keeps all its rows).",
    no_args_is_help=True,
)
console = Terminal()


@db_app.command("upgrade")
def upgrade(db: CreatingDbOpt = DEFAULT_DB) -> None:
    """Create or migrate the store's schema to the newest revision; say from which to which."""
    from andon.store import SqlStore  # noqa: PLC0415

    with SqlStore(db) as store:
        done = store.upgrade_schema()
    if not done.changed:
        console.print(f"already at {done.after}", highlight=False)
    elif done.before is None:
        console.print(f"upgraded from empty to {done.after}", highlight=False)
    elif done.unversioned:
        console.print(f"upgraded from {done.before} (unversioned, release 0.1) to {done.after}",
                      highlight=False)
    else:
        console.print(f"upgraded from {done.before} to {done.after}", highlight=False)


@db_app.command("current")
def current(db: DbOpt = DEFAULT_DB) -> None:
    """Show the store's schema revision, changing nothing."""
    from andon.store import SqlStore  # noqa: PLC0415
    from andon.store.migrations import head, history  # noqa: PLC0415

    with SqlStore(db) as store:
        state = store.schema_status()
    newest = head()
    if state.revision is None:
        what = ("empty: 'andon db upgrade' creates the schema" if state.empty else
                "unversioned (release 0.1): 'andon db upgrade' migrates it")
        console.print(f"none ({what})", highlight=False)
    elif state.revision == newest:
        console.print(f"{newest} (head)", highlight=False)
    elif state.revision in {r.id for r in history()}:
        console.print(f"{state.revision} (behind head {newest}: 'andon db upgrade' migrates it)",
                      highlight=False)
    else:
        console.print(f"{state.revision} (unknown to this Andon, whose newest is {newest}: "
                      "written by a newer version)", highlight=False)


@db_app.command("history")
def history_() -> None:
    """List the schema revisions this Andon knows, oldest first."""
    from andon.store.migrations import head, history  # noqa: PLC0415

    newest = head()
    table = Table("revision", "follows", "change")
    for rev in history():
        title = rev.title + (" (head)" if rev.id == newest else "")
        table.add_row(rev.id, rev.down or "-", title)
    console.print(table)
