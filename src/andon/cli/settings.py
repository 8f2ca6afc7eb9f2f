"""``andon settings``: every setting's value in this environment, and where it comes from."""

from __future__ import annotations

import os

from rich.table import Table

from andon.cli.terminal import Terminal
from andon.settings import TABLE, load

__all__ = ["show_settings"]

console = Terminal()


def show_settings() -> None:
    """Show every setting: its value here (default or ANDON_* variable), its flag and variable.

    Secrets are masked, and so is a password in a URL. A bad ANDON_* value stops with one
    line naming it, as any command using that setting would.
    """
    loaded = load(environ=os.environ)
    table = Table(title="Settings (flags given to a command override these)")
    for col in ("setting", "value", "from", "flag", "environment variable"):
        table.add_column(col, overflow="fold")
    for s in TABLE:
        table.add_row(s.name, loaded.shown(s.name), loaded.source(s.name), s.cli_flag, s.env)
    console.print(table)
