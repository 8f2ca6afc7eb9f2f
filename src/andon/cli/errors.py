"""The one place where Andon's exception tree becomes ``error:`` lines and exit codes.

The root ``andon`` group (``AndonGroup``) runs every command; an ``AndonError`` it raises is
printed as ``error: <one line>`` on stderr (one line per problem for ``SpecErrors``) and
``andon`` exits with the error class's ``exit_code`` (``andon.errors.ExitCode``). An
``OSError`` (a file that cannot be written, a broker that cannot be reached) is printed the
same way and exits with ``ExitCode.UNAVAILABLE``. Typer's own usage errors keep their
format and exit code 2. Anything else is a bug in Andon and keeps its traceback.

Because the group does this, ``typer.testing.CliRunner`` sees exactly what a user sees.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.text import Text
from typer.core import TyperGroup

from andon.cli.terminal import Terminal
from andon.errors import AndonError, ExitCode

__all__ = ["AndonGroup", "error_line", "exit_code_of"]

_err = Terminal(stderr=True)


def error_line(message: str) -> None:
    """Print one ``error: ...`` line on stderr."""
    _err.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True, highlight=False)


def exit_code_of(exc: BaseException) -> int:
    """The exit code for an error that ends a command."""
    if isinstance(exc, AndonError):
        return int(exc.exit_code)
    return int(ExitCode.UNAVAILABLE)


def _describe(exc: OSError) -> str:
    """One line for an OS error: ``path: reason`` when it names a file."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        return f"{exc.filename}: {reason}"
    return " ".join(str(exc).split()) or reason


class AndonGroup(TyperGroup):
    """The root command group: turns Andon errors into one-line messages and exit codes."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: Any = None, **extra: Any) -> Any:
        """Parse the root options (``andon --mqtt-ca ...``); a bad value is one line too."""
        with _one_line_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        """Run the command; report an ``AndonError`` or ``OSError`` in one line and exit."""
        with _one_line_errors():
            return super().invoke(ctx)


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """Report an ``AndonError`` or ``OSError`` in one line and exit with its code."""
    try:
        yield
    except AndonError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            error_line(line)
        raise typer.Exit(exit_code_of(exc)) from None
    except OSError as exc:
        error_line(_describe(exc))
        raise typer.Exit(exit_code_of(exc)) from None
