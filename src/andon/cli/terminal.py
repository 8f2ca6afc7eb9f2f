"""The commands' Rich consoles: as wide as the terminal when they print.

Rich fixes a console's width from ``COLUMNS`` when the console is built. The command modules
build theirs at import, and the lazy command groups (``andon.cli.group``) import a module on
the first command that needs it, so that command's environment would fix the width of every
later one in the same process (a test run, an embedding program). A ``Terminal`` reads the
width of the terminal, or ``COLUMNS``, each time it lays something out.
"""

from __future__ import annotations

from rich.console import Console

__all__ = ["Terminal"]


class Terminal(Console):
    """A ``rich.console.Console`` whose width is the terminal's at print time."""

    def __init__(self, *, stderr: bool = False) -> None:
        super().__init__(stderr=stderr)
        self._width = None  # Console.size then asks the terminal / COLUMNS on every call
