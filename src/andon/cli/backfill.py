"""``andon simulate --backfill``: render a backfill (``andon.services.backfill``) for people.

The simulate command parses its options and calls ``backfill``; the work, the idempotence and
the recording path live in the service. Here: the period (``--since`` / ``--until``, rounded
down to the minute), a Rich progress bar, and the summary line.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from andon.cli.terminal import Terminal

if TYPE_CHECKING:
    from pathlib import Path

    from andon.simulator import Scenario
    from andon.spec.model import PlantSpec

__all__ = ["DEFAULT_SPAN", "backfill", "backfill_period"]

console = Terminal()

#: how far back ``--backfill`` reaches without ``--since``
DEFAULT_SPAN = timedelta(days=14)


def _minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def backfill_period(since: str | None, until: str | None,
                    now: datetime | None = None) -> tuple[datetime, datetime]:
    """``--since`` / ``--until`` (ISO 8601 or a duration back from now), to the minute."""
    import typer  # noqa: PLC0415 - keep --help fast

    from andon.cli.options import parse_time  # noqa: PLC0415

    now = now or datetime.now(UTC)
    end = _minute(parse_time(until, "--until", now=now) or now)
    start = _minute(parse_time(since, "--since", now=now) or end - DEFAULT_SPAN)
    if end <= start:
        raise typer.BadParameter(f"--until {end.isoformat()} is not after --since "
                                 f"{start.isoformat()}", param_hint="--until")
    return start, end


def backfill(plant: PlantSpec, scenario: Scenario, *, db: str, since: str | None,
             until: str | None, seed: int, lines: set[str] | None, score: bool,
             models_dir: Path, trusted_keys: Path | None) -> None:
    """Run the backfill with a progress bar; print what it recorded (and raised)."""
    from rich.progress import (  # noqa: PLC0415 - keep --help fast
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    from andon.services.backfill import backfill_history  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    start, end = backfill_period(since, until)
    keys = None
    if score:
        keys = trusted_keys if trusted_keys is not None else models_dir.parent / "keys" / "trusted"
    what = "scoring" if score else "recording"
    with open_store(db) as store, Progress(
            TextColumn(f"[bold]{what}[/] {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"),
            BarColumn(), TaskProgressColumn(), TimeRemainingColumn(), console=console,
            transient=True) as bar:
        task = bar.add_task(what, total=1.0)
        summary = backfill_history(
            plant, store, start=start, end=end, seed=seed, scenario=scenario, lines=lines,
            models_dir=models_dir if score else None, trusted_keys=keys,
            progress=lambda done: bar.update(task, completed=done))
    console.print(summary.line(), highlight=False)
    if score:
        console.print(f"{summary.interventions} intervention(s) raised "
                      f"({summary.windows} windows scored); see 'andon interventions list' "
                      "or the inbox", highlight=False)
