"""``andon plugins``: the installed sink types, connectors and model kinds, and refused ones."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from andon.cli.terminal import Terminal

if TYPE_CHECKING:
    from andon.plugins import Installed, Plugin

__all__ = ["plugins"]

console = Terminal()


def plugins() -> None:
    """List the installed plug-ins: sink types, connectors, model kinds.

    Each with the distribution and entry point it comes from; one that failed to load or was
    refused is listed with its one-line reason, and the exit code is then 1.
    """
    # each group as its user sees it (a sink type must be a SinkPlugin...)
    from andon.connectors.plugin import connector_plugins  # noqa: PLC0415
    from andon.scoring.kinds import model_kinds  # noqa: PLC0415
    from andon.sinks.plugin import sink_plugins  # noqa: PLC0415

    groups: list[Installed[Plugin]] = [sink_plugins(), connector_plugins(), model_kinds()]
    table = Table("group", "name", "what", "from")
    for found in groups:
        for name in found.names():
            origin = found.origins[name]
            table.add_row(found.what, name, found.plugins[name].summary,
                          f"{origin.distribution} ({origin.value})")
    console.print(table)
    refused = [b for found in groups for b in found.broken]
    for broken in refused:
        console.print(f"[red]refused[/] {broken}", highlight=False, soft_wrap=True)
    if refused:
        raise typer.Exit(1)
