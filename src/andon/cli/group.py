"""The root ``andon`` group: command groups loaded when asked for, one set of option names.

Three things every command gets from the root group (``RootGroup``), on top of the one-line
errors of ``andon.cli.errors.AndonGroup``:

- **Lazy groups.** ``andon --help`` lists ``registry``, ``dq``, ``report``... from a table
  (``lazy_group``: name and ``module:attribute``) with the help their ``typer.Typer`` has,
  without building their commands (Typer evaluates every parameter's annotation: ~0.1 s for
  the whole tree); a group's commands are built only when the group is run or its own
  ``--help`` asked for. With the commands importing their heavy dependencies
  (scikit-learn, numpy, SQLAlchemy, FastAPI...) inside their bodies, ``andon --help`` and every
  ``andon GROUP [COMMAND] --help`` answer in a fraction of a second
  (``benchmarks/cli_help.py``; ``tests/cli/test_cli_help.py`` keeps the heavy modules out).
- **Deprecated spellings** (``DEPRECATED_FLAGS``): ``--models`` for ``--models-dir``,
  ``--from`` / ``--to`` for ``--since`` / ``--until``. A command that has the canonical
  option and not the old one still takes the old spelling (hidden from ``--help``), with a
  one-line warning on stderr; the reference lists them.
- **``--create``** on every command whose ``--db`` must already exist
  (``andon.cli.options``): a SQLite path that does not exist is refused in one line naming
  it, unless ``--create`` is given; the commands that start a database on their first run
  (``serve``, ``edge``, ``ingest``, ``connect``, ``db upgrade``) create it as before.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any, Final

import typer
import typer.main
from rich.text import Text
from typer.core import TyperGroup

from andon.cli.errors import AndonGroup
from andon.cli.options import HELP_ONLY, create_option, needs_existing_db
from andon.cli.terminal import Terminal

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["DEPRECATED_FLAGS", "LAZY_GROUPS", "LazyGroup", "RootGroup", "canonical_args",
           "lazy_group", "lazy_module"]

#: an option's old spelling -> its canonical one (hidden, still accepted, warned about)
DEPRECATED_FLAGS: Final = {
    "--models": "--models-dir",
    "--from": "--since",
    "--to": "--until",
}

_err = Terminal(stderr=True)


@dataclass(frozen=True)
class LazyGroup:
    """A command group of ``andon`` whose module is imported when the group is used."""

    name: str
    #: ``module:attribute`` of its ``typer.Typer``
    target: str
    hidden: bool = False
    deprecated: bool = False
    #: instead of the ``typer.Typer``'s own (an alias's "the old name of ...")
    help: str | None = None

    def typer_app(self) -> typer.Typer:
        """The group's ``typer.Typer`` (imports its module)."""
        module, _, attribute = self.target.partition(":")
        found: typer.Typer = getattr(importlib.import_module(module), attribute)
        return found

    def load(self) -> Any:
        """The group as a click command (its commands built, ``--create`` added).

        Built under a parent as ``add_typer`` builds it: a group of one command stays a group,
        and the root's rich help holds for it.
        """
        parent = typer.Typer(rich_markup_mode="rich", add_completion=False)
        if self.help is None:
            parent.add_typer(self.typer_app(), name=self.name, hidden=self.hidden,
                             deprecated=self.deprecated)
        else:
            parent.add_typer(self.typer_app(), name=self.name, hidden=self.hidden,
                             deprecated=self.deprecated, help=self.help)
        group = typer.main.get_command(parent).commands[self.name]  # type: ignore[attr-defined]
        add_create(group)
        return group

    def stub(self) -> Any:
        """What ``andon --help`` lists: the name and the help, no command built."""
        text = self.help if self.help is not None else self.typer_app().info.help
        return TyperGroup(name=self.name, help=text if isinstance(text, str) else None,
                          hidden=self.hidden, deprecated=self.deprecated)


#: the lazy groups, in the order ``andon --help`` lists them (after the eager ones)
LAZY_GROUPS: dict[str, LazyGroup] = {}


def lazy_group(name: str, target: str, *, hidden: bool = False, deprecated: bool = False,
               help: str | None = None) -> None:  # noqa: A002 - Typer's word
    """Add a group to ``andon`` whose commands are built only when it is used."""
    LAZY_GROUPS[name] = LazyGroup(name, target, hidden=hidden, deprecated=deprecated,
                                  help=help)


def lazy_module(name: str) -> ModuleType:
    """Module ``name``, executed on its first attribute access (``importlib.util.LazyLoader``).

    For a module a command body uses but ``--help`` must not pay for. It is registered in
    ``sys.modules`` as the standard library's recipe does, so every later ``import name`` gets
    the same module; one already imported is returned as it is.
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


def add_create(cmd: Any) -> None:
    """Give ``--create`` to ``cmd`` (and, for a group, its commands) where ``--db`` must exist."""
    commands = getattr(cmd, "commands", None)
    if commands is not None:
        for sub in list(commands.values()):
            add_create(sub)
        return
    params = cmd.params
    if any(needs_existing_db(p) for p in params) and not any(
            "--create" in getattr(p, "opts", ()) for p in params):
        params.append(create_option())


def canonical_args(cmd: Any, args: list[str]) -> list[str]:
    """``args`` with the deprecated spellings of ``cmd``'s options replaced (a warning each).

    Only where ``cmd`` has the canonical option and not the old one; ``--`` ends options.
    """
    known = {o for p in getattr(cmd, "params", ()) for o in
             (*getattr(p, "opts", ()), *getattr(p, "secondary_opts", ()))}
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            return [*out, *args[i:]]
        flag, eq, value = arg.partition("=")
        new = DEPRECATED_FLAGS.get(flag)
        if new is not None and new in known and flag not in known:
            _err.print(Text.assemble(("warning: ", "bold yellow"),
                                     f"{flag} is deprecated, use {new}"),
                       soft_wrap=True, highlight=False)
            out.append(f"{new}{eq}{value}")
        else:
            out.append(arg)
    return out


class RootGroup(AndonGroup):
    """``andon``: lazy groups, deprecated spellings, ``--create`` (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listing = False
        for cmd in self.commands.values():
            add_create(cmd)

    def list_commands(self, ctx: Any) -> list[str]:
        """The eager commands and groups, then the lazy groups."""
        eager = super().list_commands(ctx)
        return [*eager, *(name for name in LAZY_GROUPS if name not in eager)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """A command; a lazy group is loaded (or, while listing for ``--help``, a stub)."""
        found = super().get_command(ctx, cmd_name)
        lazy = LAZY_GROUPS.get(cmd_name)
        if found is not None or lazy is None:
            return found
        if self._listing:
            return lazy.stub()
        loaded = lazy.load()
        self.commands[cmd_name] = loaded
        return loaded

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """``andon --help``: the lazy groups are listed from their table."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """The command and its arguments (old spellings replaced); notes a help-only run."""
        if args and args[0] not in self.list_commands(ctx) and not args[0].startswith("-"):
            matches = get_close_matches(args[0], self.list_commands(ctx))
            hint = f" Did you mean {', '.join(repr(m) for m in matches)}?" if matches else ""
            ctx.fail(f"No such command {args[0]!r}.{hint}")
        name, cmd, rest = super().resolve_command(ctx, args)
        leaf, at = cmd, 0  # the command the arguments are for: through the groups' names
        while (getattr(leaf, "commands", None) is not None and at < len(rest)
               and not rest[at].startswith("-")):
            leaf, at = leaf.get_command(ctx, rest[at]), at + 1  # type: ignore[union-attr]
        if leaf is not None and getattr(leaf, "commands", None) is None:
            rest = [*rest[:at], *canonical_args(leaf, rest[at:])]
        options = rest[:rest.index("--")] if "--" in rest else rest
        ctx.meta[HELP_ONLY] = "--help" in options or (
            getattr(cmd, "commands", None) is not None and not rest)
        return name, cmd, rest


