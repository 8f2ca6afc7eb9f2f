"""The ``andon`` command tree, walked for tests that cover every command."""

from __future__ import annotations

import functools
from typing import Any

import typer

from andon.cli.app import app

__all__ = ["REQUIRED", "leaves"]

#: the least each command needs besides its settings to parse (required arguments / options)
REQUIRED: dict[str, list[str]] = {
    "connect historian": ["export.csv"],
    "connect opcua": ["opc.tcp://127.0.0.1:4840", "--site", "porto"],
    "connect sparkplug": ["--site", "porto"],
    "evaluate cmapss": ["cmapss"],
    "evaluate skab": ["skab"],
    "import work-orders": ["orders.csv"],
    "interventions ack": ["iv-1"],
    "interventions defer": ["iv-1", "--reason", "r"],
    "interventions dismiss": ["iv-1", "--reason", "r"],
    "interventions done": ["iv-1"],
    "interventions outcome": ["iv-1", "no_fault"],
    "interventions shelve": ["iv-1", "--reason", "r", "--for", "1h"],
    "interventions start": ["iv-1"],
    "labels export": ["--out", "labels.csv"],
    "quarantine show": ["1"],
    "registry archive": ["m", "1", "--reason", "r"],
    "registry promote": ["m", "1", "--reason", "r"],
    "registry register": ["m", "1", "--key", "k.key"],
    "registry requalify": ["m", "1", "--reason", "r"],
    "registry show": ["m", "1"],
    "replay": ["export.csv", "--use-case", "pump-bearing"],
    "report kpi": ["--line", "cooling-water"],
    "rollout advance": ["pump-bearing", "--reason", "r"],
    "rollout back": ["pump-bearing", "--reason", "r"],
    "rollout start": ["pump-bearing", "--version", "4", "--pilot", "cooling-water", "--reason",
                      "r"],
    "rollout withdraw": ["pump-bearing", "--reason", "r"],
    "train": ["--use-case", "pump-bearing", "--since", "2026-01-01", "--until", "2026-01-02"],
    "registry sign": ["m", "1", "--user", "ana"],
    "spec apply": ["plant.yaml", "--reason", "r"],
    "spec sign": ["plant.yaml", "--user", "ana"],
    "triage label": ["1", "normal"],
    "audit anchor": ["--key", "k.key"],
    "users add": ["bob", "--role", "operator", "--password", "pw"],
    "users delete": ["bob", "--yes"],
    "users disable": ["bob"],
    "users enable": ["bob"],
    "users passwd": ["bob", "--password", "pw"],
    "users revoke": ["bob"],
    "users token": ["bob"],
    "users tokens": ["bob"],
}


@functools.cache
def leaves(*, hidden: bool = False) -> dict[str, Any]:
    """Every command of ``andon`` by its path (``"registry promote"``)."""
    found: dict[str, Any] = {}

    def walk(cmd: Any, path: list[str]) -> None:
        if getattr(cmd, "commands", None) is None:
            found[" ".join(path)] = cmd
            return
        # groups are asked for their commands: ``andon connect`` builds one per plug-in
        ctx = cmd.context_class(cmd, info_name=path[-1] if path else "andon")
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if hidden or not getattr(sub, "hidden", False):
                walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found
