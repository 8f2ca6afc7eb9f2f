"""Option declarations shared by every ``andon`` command group, bound to ``andon.settings``.

``option(setting)`` makes a Typer option whose flag, help and (through the command's
signature, ``= setting.default``) default come from the settings table. Its callback
resolves the value as ``andon.settings.resolve`` does (default < ``ANDON_*`` variable <
flag) and checks it, so a bad value stops the command with a one-line ``SettingsError``
before it starts anything.

``--db`` must name a database that exists (a SQLite file that is not there is refused in one
line naming it; a typo must not start an empty store), unless ``--create`` is given (the root
group adds that flag to every such command: ``andon.cli.group``). The commands that start a
database on their first run declare ``option(DB, existing=False)`` (``CreatingDbOpt``):
``serve``, ``edge``, ``ingest``, ``connect`` and ``db upgrade``; so does ``replay``, which
reads a store only when there is one.

Every time option (``--since``, ``--until``: ``parse_time``) takes an ISO 8601 time or a
duration back from now (``24h``, ``7d``, ``30min``).
"""

from __future__ import annotations

import functools
import os
import re
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, overload

import typer
import typer.main

from andon.audit import Meaning
from andon.errors import SettingsError
from andon.settings import (
    BOOLEAN,
    BROKER,
    DATA_DIR,
    DB,
    MISSING,
    MODELS_DIR,
    PATH,
    SPEC,
    Setting,
    resolve,
)
from andon.text import redact_url

__all__ = [
    "CREATE_HELP",
    "DEFAULT_BROKER",
    "DEFAULT_DATA",
    "DEFAULT_DB",
    "DEFAULT_MODELS",
    "DEFAULT_SPEC",
    "HELP_ONLY",
    "WHEN_HELP",
    "BrokerOpt",
    "CreatingDbOpt",
    "DbOpt",
    "MeaningOpt",
    "ModelsOpt",
    "SpecOpt",
    "UserOpt",
    "VersionArg",
    "create_option",
    "needs_existing_db",
    "needs_value",
    "option",
    "parse_duration",
    "parse_period",
    "parse_time",
    "parse_version",
    "refuse_missing_db",
    "setting_of",
]

# the table's defaults under the names the command modules use
DEFAULT_SPEC = SPEC.default
DEFAULT_DATA = DATA_DIR.default
DEFAULT_DB = DB.default
DEFAULT_MODELS = MODELS_DIR.default
DEFAULT_BROKER = BROKER.default

#: option callback -> the setting it resolves (``setting_of``)
_BOUND: dict[Any, Setting[Any]] = {}
#: the callbacks of options a command cannot run without (``needs_value``)
_REQUIRED: set[Any] = set()
#: the callbacks of ``--db`` options whose database must exist (``needs_existing_db``)
_EXISTING: set[Any] = set()

#: ``ctx.meta`` key: ``--create`` was given (set before ``--db`` is checked: it is eager)
_CREATE = "andon.create"
#: ``ctx.meta`` key: the command only prints its help (``andon.cli.group`` sets it)
HELP_ONLY = "andon.help_only"
#: what ``--create`` says
CREATE_HELP = ("Create the database if --db names a SQLite file that does not exist (without "
               "it, such a path is refused: a typo must not start an empty store).")


def option(setting: Setting[Any], *aliases: str, usage: str = "",
           required: bool = False, existing: bool = True) -> Any:
    """A Typer option for ``setting``: its flag (and ``aliases``), its help, its variable.

    ``usage`` adds what the option does for this command; ``required``: the command cannot
    run without a value (from the flag or the variable). A boolean gets ``--x/--no-x``.
    For ``DB``: the database must exist (unless ``--create`` is given), or, with
    ``existing=False``, need not (the command starts one, or does without).
    """
    flag = setting.cli_flag
    decls = [f"{flag}/--no-{flag.removeprefix('--')}"] if setting.kind is BOOLEAN else [
        flag, *aliases]
    text = " ".join(part for part in (setting.help, usage, "Required." if required else "")
                    if part)
    return typer.Option(decls[0], *decls[1:], help=f"{text} Env: {setting.env}.",
                        callback=_resolver(setting, required=required,
                                           existing=setting is DB and existing),
                        show_default=not setting.secret)


def _resolver(setting: Setting[Any], *, required: bool, existing: bool = False) -> Any:
    """The option callback: resolve and check the value (flag > variable > default)."""

    def resolved(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
        if setting.kind is PATH and isinstance(value, str):
            value = Path(value)
        source = ctx.get_parameter_source(param.name or "")
        given = value if source is not None and source.name == "COMMANDLINE" else MISSING
        value = resolve(setting, given=given, default=value, environ=os.environ,
                        required=required)
        if existing and not ctx.meta.get(_CREATE):
            _refuse_missing(setting, value, "flag" if given is not MISSING
                            else "env" if os.environ.get(setting.env) else "default")
        return value

    _BOUND[resolved] = setting
    if required:
        _REQUIRED.add(resolved)
    if existing:
        _EXISTING.add(resolved)
    return resolved


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///path`` store URL (None: another database, or in memory).

    >>> sqlite_file("sqlite:///andon-data/andon.db")
    PosixPath('andon-data/andon.db')
    >>> sqlite_file("postgresql://andon@db/andon") is None
    True
    """
    scheme, sep, rest = url.partition(":///")
    if not sep or scheme not in {"sqlite", "sqlite+pysqlite"}:
        return None
    path, _, query = rest.partition("?")
    if not path or path == ":memory:" or "mode=" in query or "uri=" in query:
        return None
    return Path(path)


def _refuse_missing(setting: Setting[Any], url: str, source: str, *,
                    hint: str = " (give --create to start a new one there)") -> None:
    """A ``SettingsError`` naming the file when ``url`` is a SQLite file that does not exist."""
    path = sqlite_file(url)
    if path is None or path.exists():
        return
    raise SettingsError(setting.name, source, shlex.quote(redact_url(url)),
                        f"no database at {path}{hint}", flag=setting.cli_flag, env=setting.env)


def refuse_missing_db(url: str) -> None:
    """For a command whose ``--db`` is used only sometimes: refuse it now if it is not there.

    (``andon status`` reads the store only without ``--broker``.)
    """
    source = "env" if os.environ.get(DB.env) == url else "flag"
    _refuse_missing(DB, url, source, hint="")


def needs_existing_db(param: Any) -> bool:
    """Whether a command's (click) parameter is a ``--db`` whose database must exist."""
    return _callback(param) in _EXISTING


def _created(ctx: typer.Context, param: typer.CallbackParam, value: bool) -> bool:
    del param
    if value:
        ctx.meta[_CREATE] = True
    return value


def create_option() -> Any:
    """The ``--create`` option (eager: it is known before ``--db`` is checked)."""
    return _create_param()


@functools.cache
def _create_param() -> Any:
    probe = typer.Typer()

    @probe.command()
    def create(
        create: Annotated[bool, typer.Option("--create", is_eager=True, expose_value=False,
                                             callback=_created, help=CREATE_HELP)] = False,
    ) -> None:
        """Only its parameter is used."""

    return typer.main.get_command(probe).params[0]


def setting_of(param: Any) -> Setting[Any] | None:
    """The setting a command's (click) parameter is bound to, if any."""
    return _BOUND.get(_callback(param))


def needs_value(param: Any) -> bool:
    """Whether a command's (click) parameter must get a value: from its flag or variable too."""
    return bool(getattr(param, "required", False)) or _callback(param) in _REQUIRED


def _callback(param: Any) -> Any:
    callback = getattr(param, "callback", None)
    return getattr(callback, "__wrapped__", callback)


SpecOpt = Annotated[Path, option(SPEC)]
DbOpt = Annotated[str, option(DB)]
#: ``--db`` of a command that starts a database on its first run (no ``--create`` needed)
CreatingDbOpt = Annotated[str, option(DB, existing=False)]
BrokerOpt = Annotated[str, option(BROKER)]
ModelsOpt = Annotated[Path, option(MODELS_DIR)]

WHEN_HELP = ("ISO 8601 time (an offset-less time is UTC), e.g. 2026-03-02T07:00, or a "
             "duration back from now: 24h, 7d, 30min")

#: a plain duration: a number and one of these units
_DURATION = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(s|sec|min|m|h|d|w)\s*")
_UNIT_S = {"s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "d": 86400.0,
           "w": 604800.0}


def parse_duration(text: str) -> timedelta | None:
    """A duration (``24h``, ``7d``, ``30min``, ``1.5 hours``) or None if ``text`` is not one.

    >>> parse_duration("24h"), parse_duration("7d"), parse_duration("2026-03-02")
    (datetime.timedelta(days=1), datetime.timedelta(days=7), None)
    """
    plain = _DURATION.fullmatch(text)
    if plain is not None:
        return timedelta(seconds=float(plain[1]) * _UNIT_S[plain[2]])
    if not text.strip() or not text.strip()[0].isdigit():
        return None
    from andon.units import parse_duration_s  # noqa: PLC0415 - pint: keep --help fast

    try:
        seconds = parse_duration_s(text)
    except ValueError:
        return None
    return timedelta(seconds=seconds) if seconds >= 0 else None


@overload
def parse_time(text: str, option: str, *, now: datetime | None = None) -> datetime: ...


@overload
def parse_time(text: str | None, option: str, *, now: datetime | None = None,
               ) -> datetime | None: ...


def parse_time(text: str | None, option: str, *, now: datetime | None = None,
               ) -> datetime | None:
    """A time option in UTC (None if not given); a bad one names the option and the format.

    An ISO 8601 time (UTC if it has no offset), or a duration back from ``now`` (default:
    the wall clock): ``--since 24h``. Every time option of every command reads it here.
    """
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        back = parse_duration(text)
        if back is None:
            raise typer.BadParameter(f"{text!r} is neither an ISO 8601 time nor a duration "
                                     f"({WHEN_HELP})", param_hint=option) from None
        return (now or datetime.now(UTC)).astimezone(UTC) - back
    # in UTC: tables say UTC, and a time given with an offset must not show as UTC
    return when.astimezone(UTC) if when.tzinfo is not None else when.replace(tzinfo=UTC)


def parse_period(since: str | None, until: str | None, default: timedelta,
                 ) -> tuple[datetime, datetime]:
    """``--since`` / ``--until`` as a UTC period; a bad time or an empty period names the option.

    ``--until`` defaults to now, ``--since`` to ``default`` before it; both take a duration
    back from now too (``--since 7d``).
    """
    now = datetime.now(UTC)
    end = parse_time(until, "--until", now=now) or now
    start = parse_time(since, "--since", now=now) or end - default
    if end <= start:
        raise typer.BadParameter(f"--until {end.isoformat()} is not after --since "
                                 f"{start.isoformat()}", param_hint="--until")
    return start, end


def parse_version(text: str | int) -> int:
    """A model version as ``andon registry list`` prints it (``v2``) or as a number (``2``).

    >>> parse_version("v2"), parse_version("2"), parse_version("V10")
    (2, 2, 10)
    """
    if isinstance(text, int):
        return text
    digits = text.strip().removeprefix("v").removeprefix("V")
    if not digits.isdigit() or int(digits) < 1:
        raise typer.BadParameter(f"{text!r} is not a model version (N or vN, e.g. v2)")
    return int(digits)


#: a model version argument: ``2`` or ``v2`` (``registry show pump-bearing v2``)
VersionArg = Annotated[int, typer.Argument(
    parser=parse_version, metavar="VERSION",
    help="Version: N or vN, as 'andon registry list' prints it (e.g. v2).")]

#: ``--user``: act and sign as a login of Andon (``andon.cli.actor.cli_signer``)
UserOpt = Annotated[str | None, typer.Option(
    "--user", envvar="ANDON_USER",
    help="Act and sign as this login (its password is asked for, hidden, or read from "
    "ANDON_PASSWORD); without it the OS user acts and nothing is signed. Needed where the "
    "spec's governance asks for electronic signatures.")]
#: ``--meaning``: what an electronic signature means
MeaningOpt = Annotated[Meaning, typer.Option("--meaning", help="What your signature means.")]
