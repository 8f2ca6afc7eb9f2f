"""Option declarations and defaults shared by every ``andon`` command group."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

__all__ = [
    "DEFAULT_DATA",
    "DEFAULT_DB",
    "DEFAULT_SPEC",
    "WHEN_HELP",
    "BrokerOpt",
    "DbOpt",
    "ModelsOpt",
    "SpecOpt",
    "parse_time",
]

DEFAULT_SPEC = Path(__file__).resolve().parents[3] / "examples" / "demo-plant.yaml"
DEFAULT_DATA = Path("andon-data")
DEFAULT_DB = f"sqlite:///{DEFAULT_DATA / 'andon.db'}"

SpecOpt = Annotated[Path, typer.Option("--spec", help="Plant spec YAML file.")]
DbOpt = Annotated[str, typer.Option("--db", help="Store URL: sqlite:///file.db or "
                                    "postgresql://user@host:5432/db.")]
BrokerOpt = Annotated[str, typer.Option("--broker", help="MQTT broker URL, mqtt://host:port.")]
ModelsOpt = Annotated[Path, typer.Option("--models-dir", help="Directory of model artifacts.")]

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
