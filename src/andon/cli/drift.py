"""``andon drift status``: whether the production models' inputs moved since their training.

Per use case and watched asset, the period's windows (cut from the stored samples as live
scoring cuts them) against the production version's reference sketches: PSI, KS and
Wasserstein per feature, and the features that moved (PSI at or above ``--psi-limit``;
``andon.app.drift``, ``andon.drift.status``). ``--record`` keeps a ``drift`` event per
drifted asset, naming what moved.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from andon.cli.options import (
    DEFAULT_DB,
    DEFAULT_MODELS,
    DEFAULT_SPEC,
    WHEN_HELP,
    DbOpt,
    ModelsOpt,
    SpecOpt,
    parse_period,
)
from andon.cli.terminal import Terminal
from andon.text import printable

__all__ = ["PSI_LIMIT", "drift_app"]

#: ``andon.drift.status.PSI_LIMIT``, spelled here so that ``--help`` does not import numpy
#: (tests/cli/test_cli_help.py pins the two equal)
PSI_LIMIT = 0.5

drift_app = typer.Typer(help="Drift of the production models' inputs against what they were "
                        "trained on.", no_args_is_help=True)
console = Terminal()


@drift_app.command("status")
def status(
    use_case: Annotated[str | None, typer.Option(help="Only this use case.")] = None,
    since: Annotated[str | None, typer.Option(help="Start of the period; default 24 h "
                                              "before --until. " + WHEN_HELP)] = None,
    until: Annotated[str | None, typer.Option(help="End of the period (excluded); default "
                                              "now.")] = None,
    psi_limit: Annotated[float, typer.Option(
        min=0.0, help="PSI at or above which a feature has moved (0.1: moderate, 0.25: a "
        "large shift).")] = PSI_LIMIT,
    record: Annotated[bool, typer.Option(help="Keep a drift event per drifted asset.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
    = False,
    spec: SpecOpt = DEFAULT_SPEC,
    db: DbOpt = DEFAULT_DB,
    models_dir: ModelsOpt = DEFAULT_MODELS,
) -> None:
    """Each watched asset's features over the period against its production version's reference.

    A version trained before references were kept has none: train it again to monitor it.
    """
    from andon.app import Context, PlantRef, drift_status, record_drift  # noqa: PLC0415
    from andon.cli.actor import cli_actor  # noqa: PLC0415
    from andon.clock import SystemClock  # noqa: PLC0415
    from andon.spec import load_spec  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    start, end = parse_period(since, until, timedelta(hours=24))
    plant = load_spec(spec)
    with open_store(db) as store:
        ctx = Context(store, SystemClock(), PlantRef(plant), models_dir=models_dir)
        rows = drift_status(ctx, start=start, end=end, use_case=use_case, psi_limit=psi_limit)
        kept = record_drift(ctx, cli_actor(), rows) if record else []
    if as_json:
        typer.echo(json.dumps({"start": start.isoformat(), "end": end.isoformat(),
                               "psi_limit": psi_limit, "events": len(kept),
                               "assets": [r.to_dict() for r in rows]}, indent=2))
        return
    table = Table(title=f"Drift {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC "
                        f"(moved: PSI >= {psi_limit:g})")
    for col in ("use case", "asset", "version", "windows", "drifted", "largest PSI",
                "features that moved"):
        table.add_column(col, justify="right" if col in {"windows", "largest PSI"} else "left")
    for r in rows:
        top = max((f.psi for f in r.features if f.windows), default=None)
        moved = ", ".join(f"{f.feature} ({f.psi:.2f})" for f in r.moved)
        table.add_row(printable(r.use_case), printable(r.asset),
                      "-" if r.version is None else f"{printable(r.model)} v{r.version}",
                      str(r.windows), "[red]yes[/]" if r.drifted else "no",
                      "-" if top is None else f"{top:.2f}", printable(moved or r.note))
    console.print(table)
    for r in rows:
        for f in r.moved:
            unit = f" {f.unit}" if f.unit else ""
            console.print(f"{printable(r.asset)} {printable(f.feature)}: mean "
                          f"{f.reference_mean:.4g} -> {f.current_mean:.4g}{unit}, PSI "
                          f"{f.psi:.2f}, KS {f.ks:.2f}, Wasserstein {f.wasserstein:.4g}{unit}",
                          highlight=False)
    if record:
        console.print(f"{len(kept)} drift event(s) kept", highlight=False)
