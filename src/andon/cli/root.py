"""The options of the ``andon`` group itself, given before the command: they hold for every one.

``andon --version``; ``andon --log-level debug --log-format json serve ...`` (or
``ANDON_LOG_LEVEL`` / ``ANDON_LOG_FORMAT``: ``andon.cli.logs``); and the MQTT security options
(``andon.cli.mqtt``). The callback runs before the command, so a command's first line is
already logged the chosen way, and a bad value stops it in one line before anything starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from andon import __version__
from andon.cli.mqtt import mqtt_options
from andon.cli.options import HELP_ONLY, option
from andon.settings import (
    LOG_FORMAT,
    LOG_LEVEL,
    MQTT_CA,
    MQTT_CERT,
    MQTT_KEY,
    MQTT_PASSWORD,
    MQTT_USERNAME,
)

__all__ = ["root_options", "version_line"]


def version_line() -> str:
    """What ``andon --version`` prints.

    >>> version_line().startswith("andon ")
    True
    """
    return f"andon {__version__}"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(version_line())
        raise typer.Exit


def root_options(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_show_version,
        help="Print Andon's version and exit.")] = False,
    log_level: Annotated[str, option(LOG_LEVEL)] = LOG_LEVEL.default,
    log_format: Annotated[str, option(LOG_FORMAT)] = LOG_FORMAT.default,
    mqtt_ca: Annotated[Path | None, option(MQTT_CA)] = MQTT_CA.default,
    mqtt_cert: Annotated[Path | None, option(MQTT_CERT)] = MQTT_CERT.default,
    mqtt_key: Annotated[Path | None, option(MQTT_KEY)] = MQTT_KEY.default,
    mqtt_username: Annotated[str | None, option(MQTT_USERNAME)] = MQTT_USERNAME.default,
    mqtt_password: Annotated[str | None, option(MQTT_PASSWORD)] = MQTT_PASSWORD.default,
) -> None:
    """Log as asked, and make the MQTT options this process's, for the command's run.

    Not for a command that only prints its help (``andon serve --help``): structlog and the
    MQTT client stay unimported, so help answers fast (``andon.cli.group``).
    """
    del version  # handled eagerly by its callback
    if ctx.meta.get(HELP_ONLY):
        return
    from andon.cli.logs import configure_logging  # noqa: PLC0415 - structlog: not for --help

    configure_logging(log_level, log_format)
    mqtt_options(ctx, mqtt_ca, mqtt_cert, mqtt_key, mqtt_username, mqtt_password)
