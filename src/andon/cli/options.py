"""Option declarations and defaults shared by every ``andon`` command group."""

from pathlib import Path
from typing import Annotated

import typer

__all__ = [
    "DEFAULT_DATA",
    "DEFAULT_DB",
    "DEFAULT_SPEC",
    "BrokerOpt",
    "DbOpt",
    "ModelsOpt",
    "SpecOpt",
]

DEFAULT_SPEC = Path(__file__).resolve().parents[3] / "examples" / "demo-plant.yaml"
DEFAULT_DATA = Path("andon-data")
DEFAULT_DB = f"sqlite:///{DEFAULT_DATA / 'andon.db'}"

SpecOpt = Annotated[Path, typer.Option("--spec", help="Plant spec YAML file.")]
DbOpt = Annotated[str, typer.Option("--db", help="Store URL: sqlite:///file.db or "
                                    "postgresql://user@host:5432/db.")]
BrokerOpt = Annotated[str, typer.Option("--broker", help="MQTT broker URL, mqtt://host:port.")]
ModelsOpt = Annotated[Path, typer.Option("--models-dir", help="Directory of model artifacts.")]
