"""Option declarations shared by every ``andon`` command group, bound to ``andon.settings``.

``option(setting)`` makes a Typer option whose flag, help and (through the command's
signature, ``= setting.default``) default come from the settings table. Its callback
resolves the value as ``andon.settings.resolve`` does (default < ``ANDON_*`` variable <
flag) and checks it, so a bad value stops the command with a one-line ``SettingsError``
before it starts anything.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from andon.audit import Meaning
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

__all__ = [
    "DEFAULT_BROKER",
    "DEFAULT_DATA",
    "DEFAULT_DB",
    "DEFAULT_MODELS",
    "DEFAULT_SPEC",
    "WHEN_HELP",
    "BrokerOpt",
    "DbOpt",
    "MeaningOpt",
    "ModelsOpt",
    "SpecOpt",
    "UserOpt",
    "needs_value",
    "option",
    "parse_time",
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


def option(setting: Setting[Any], *aliases: str, usage: str = "",
           required: bool = False) -> Any:
    """A Typer option for ``setting``: its flag (and ``aliases``), its help, its variable.

    ``usage`` adds what the option does for this command; ``required``: the command cannot
    run without a value (from the flag or the variable). A boolean gets ``--x/--no-x``.
    """
    flag = setting.cli_flag
    decls = [f"{flag}/--no-{flag.removeprefix('--')}"] if setting.kind is BOOLEAN else [
        flag, *aliases]
    text = " ".join(part for part in (setting.help, usage, "Required." if required else "")
                    if part)
    return typer.Option(decls[0], *decls[1:], help=f"{text} Env: {setting.env}.",
                        callback=_resolver(setting, required=required),
                        show_default=not setting.secret)


def _resolver(setting: Setting[Any], *, required: bool) -> Any:
    """The option callback: resolve and check the value (flag > variable > default)."""

    def resolved(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
        if setting.kind is PATH and isinstance(value, str):
            value = Path(value)
        source = ctx.get_parameter_source(param.name or "")
        given = value if source is not None and source.name == "COMMANDLINE" else MISSING
        return resolve(setting, given=given, default=value, environ=os.environ,
                       required=required)

    _BOUND[resolved] = setting
    if required:
        _REQUIRED.add(resolved)
    return resolved


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
BrokerOpt = Annotated[str, option(BROKER)]
ModelsOpt = Annotated[Path, option(MODELS_DIR)]

WHEN_HELP = "ISO 8601 time (an offset-less time is UTC), e.g. 2026-03-02T07:00"


def parse_time(text: str | None, option: str) -> datetime | None:
    """A time option in UTC (None if not given); a bad one names the option and the format."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 time ({WHEN_HELP})",
                                 param_hint=option) from None
    # in UTC: tables say UTC, and a time given with an offset must not show as UTC
    return when.astimezone(UTC) if when.tzinfo is not None else when.replace(tzinfo=UTC)


def parse_period(since: str | None, until: str | None, default: timedelta,
                 ) -> tuple[datetime, datetime]:
    """``--since`` / ``--until`` as a UTC period; a bad time or an empty period names the option.

    ``--until`` defaults to now, ``--since`` to ``default`` before it.
    """
    end = parse_time(until, "--until") or datetime.now(UTC)
    start = parse_time(since, "--since") or end - default
    if end <= start:
        raise typer.BadParameter(f"--until {end.isoformat()} is not after --since "
                                 f"{start.isoformat()}", param_hint="--until")
    return start, end


#: ``--user``: act and sign as a login of Andon (``andon.cli.actor.cli_signer``)
UserOpt = Annotated[str | None, typer.Option(
    "--user", envvar="ANDON_USER",
    help="Act and sign as this login (its password is asked for, hidden, or read from "
    "ANDON_PASSWORD); without it the OS user acts and nothing is signed. Needed where the "
    "spec's governance asks for electronic signatures.")]
#: ``--meaning``: what an electronic signature means
MeaningOpt = Annotated[Meaning, typer.Option("--meaning", help="What your signature means.")]
