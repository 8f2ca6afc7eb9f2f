"""``andon evaluate``: a model kind on a public labelled dataset, with its published metrics.

The work is ``andon.services.evaluate`` (through the live scoring path); this module parses
the options, shows progress, prints the figures and draws the plot.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from andon.cli.terminal import Terminal

if TYPE_CHECKING:
    from andon.services.cmapss import CmapssResult
    from andon.services.evaluate import SkabResult

__all__ = ["evaluate_app"]

evaluate_app = typer.Typer(
    help="Evaluate a model kind on a public labelled dataset (its own protocol and metrics), "
    "through the same path as live scoring.",
    no_args_is_help=True,
)

console = Terminal()
err = Terminal(stderr=True)


@evaluate_app.command("skab")
def skab(
    folder: Annotated[Path, typer.Argument(help="SKAB in its published layout: valve1/, "
                                           "valve2/, other/ with ';'-separated CSV files.")],
    out: Annotated[Path, typer.Option(
        "--out", help="Per-sample scores (CSV, one row per input row: file, row, timestamp, "
        "part, anomaly, changepoint, score, threshold, predicted, window end); the plot is "
        "written next to it (same name, .png).")] = Path("skab-scores.csv"),
    model_kind: Annotated[str, typer.Option(
        "--model-kind", help="Installed model kind to train per file (see 'andon plugins').")]
    = "pca-spe",
    window: Annotated[float, typer.Option(
        "--window", min=2.0, help="Feature window in seconds (hop 1 s).")] = 10.0,
    param: Annotated[list[str] | None, typer.Option(
        "--param", help="A parameter of the model kind, KEY=VALUE (repeatable), as a use "
        "case's model_params, e.g. --param alpha=1e-4 for pca-tail.")] = None,
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="Evaluate only files matching this glob on their relative name, e.g. "
        "'valve1/*.csv' (repeatable).")] = None,
) -> None:
    """SKAB outlier detection: per-file models on the first 400 rows, F1 / FAR / MAR.

    SKAB's own protocol (the leaderboard of waico/SKAB): each experiment file trains its own
    model on its first 400 rows and is judged point-wise on the rest against the 'anomaly'
    label, counts pooled over files. Each file is replayed through 'andon replay''s path
    (contracts, windows, features, model, decider), causally: a row's score comes from the
    newest window that ended at or before it.
    """
    from andon.services.evaluate import evaluate_skab  # noqa: PLC0415

    bar = Progress(TextColumn("evaluating {task.description}"), BarColumn(),
                   MofNCompleteColumn(), TextColumn("files"), TimeRemainingColumn(),
                   console=err, transient=True)
    task = bar.add_task("SKAB", total=None)

    def progress(done: int, total: int, name: str) -> None:
        if not bar.live.is_started:  # shown once the folder is read (a refusal is one line)
            bar.start()
        bar.update(task, completed=done, total=total, description=name)

    scores = io.StringIO()  # written once the run succeeds: a refusal leaves no file behind
    try:  # would-be interventions are logged on stderr (every command's logs go there)
        result = evaluate_skab(folder, window_s=window, model_kind=model_kind,
                               model_params=_params(param or []), only=only or (),
                               scores=scores, progress=progress)
    finally:
        bar.stop()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(scores.getvalue(), encoding="utf-8", newline="")
    plot = out.with_suffix(".png")
    write_skab_plot(result, plot)
    _print_skab(result)
    console.print(f"per-sample scores written to {out}; plot to {plot}", highlight=False)


@evaluate_app.command("cmapss")
def cmapss(
    folder: Annotated[Path, typer.Argument(help="C-MAPSS in NASA's layout: train_FD00N.txt, "
                                           "test_FD00N.txt, RUL_FD00N.txt.")],
    subset: Annotated[str, typer.Option(
        "--subset", help="FD001, FD002, FD003 or FD004.")] = "FD001",
    out: Annotated[Path, typer.Option(
        "--out", help="Per-sample predictions (CSV, one row per test input row: unit, cycle, "
        "predicted RUL, true RUL, last); the plot is written next to it (.png) and the "
        "trained regressor too (.skops).")] = Path("cmapss-rul.csv"),
) -> None:
    """C-MAPSS RUL: RMSE (true RUL capped at 125) and the PHM08 score on the test units.

    A gradient-boosted regressor on regime-normalised, causal window features (andon.scoring.
    rul), trained on every training unit; each test unit's RUL is predicted at every cycle
    from its cycles so far, and judged at its last cycle against RUL_FD00N.txt.
    """
    import io  # noqa: PLC0415

    from andon.services.cmapss import evaluate_cmapss  # noqa: PLC0415

    scores = io.StringIO()
    out.parent.mkdir(parents=True, exist_ok=True)
    with Progress(TextColumn("{task.description}"), console=err, transient=True) as bar:
        task = bar.add_task("reading")
        result = evaluate_cmapss(folder, subset, scores=scores,
                                 model_out=out.with_suffix(".skops"),
                                 progress=lambda what: bar.update(
                                     task, description=what))
    out.write_text(scores.getvalue(), encoding="utf-8", newline="")
    plot = write_cmapss_plot(result, out.with_suffix(".png"))
    for line in result.lines():
        console.print(line, highlight=False, soft_wrap=True)
    console.print(f"per-sample predictions written to {out}; plot to {plot}", highlight=False)


def write_cmapss_plot(result: CmapssResult, path: Path) -> Path:
    """PNG: predicted against true RUL per test unit, and a few units' predictions by cycle."""
    import matplotlib as mpl  # noqa: PLC0415 - heavy; only here

    mpl.use("Agg")
    from matplotlib.figure import Figure  # noqa: PLC0415

    fig = Figure(figsize=(12, 5), layout="constrained")
    left, right = fig.subplots(1, 2)
    order = sorted(range(len(result.true)), key=lambda i: result.true[i])
    left.plot(range(len(order)), [min(result.true[i], 125.0) for i in order], "k-",
              label="true RUL (capped at 125)")
    left.plot(range(len(order)), [result.predicted[i] for i in order], "o", ms=3,
              color="#1f77b4", label="predicted at last cycle")
    left.set_xlabel("test unit (sorted by true RUL)")
    left.set_ylabel("RUL (cycles)")
    left.legend(fontsize=8)
    left.set_title(f"C-MAPSS {result.subset}: RMSE {result.rmse:.2f}, PHM08 "
                   f"{result.score:,.0f}", fontsize=9, loc="left")
    units = sorted(result.trajectories)
    for unit in units[:: max(1, len(units) // 6)][:6]:
        cycles, predicted = result.trajectories[unit]
        true_last = result.true[units.index(unit)]
        right.plot(cycles, predicted, "-", linewidth=1, label=f"unit {unit}")
        right.plot(cycles, [min(true_last + cycles[-1] - c, 125.0) for c in cycles], ":",
                   linewidth=0.8, color="#777777")
    right.set_xlabel("cycle")
    right.set_ylabel("predicted RUL (dotted: true, capped)")
    right.legend(fontsize=7)
    fig.savefig(path, dpi=100)
    return path


def _params(given: list[str]) -> dict[str, object]:
    """``KEY=VALUE`` pairs; a value that reads as a number is one."""
    out: dict[str, object] = {}
    for item in given:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--param")
        try:
            out[key] = float(value)
        except ValueError:
            out[key] = value
    return out


def _print_skab(result: SkabResult) -> None:
    lines = result.lines()
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)
    table = Table("file", "rows", "threshold", "F1", "FAR %", "MAR %", "train s", "score s",
                  title="per file (test part)", title_justify="left")
    for r in result.files:
        c = r.confusion
        table.add_row(r.name, str(r.rows), f"{r.threshold:.3g}", _f(c.f1, ".2f"),
                      _f(c.far, ".1f"), _f(c.mar, ".1f"), f"{r.train_s:.2f}",
                      f"{r.score_s:.2f}")
    console.print(table)


def _f(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def write_skab_plot(result: SkabResult, path: Path) -> Path:
    """PNG: score / threshold over every file's rows (labels shaded), and F1 per file."""
    import matplotlib as mpl  # noqa: PLC0415 - heavy; only here

    mpl.use("Agg")  # files only: no display, no GUI toolkit
    from matplotlib.figure import Figure  # noqa: PLC0415

    fig = Figure(figsize=(12, 6), layout="constrained")
    top, bottom = fig.subplots(2, 1, height_ratios=[2, 1])
    x0 = 0
    for r in result.files:
        xs = range(x0, x0 + r.rows)
        ratio = [math.nan if s is None else max(s / r.threshold, 1e-3) for s in r.scores]
        spans = _runs(r.labels)
        for a, b in spans:
            top.axvspan(x0 + a, x0 + b, color="#f4b6b6", linewidth=0)
        top.axvspan(x0, x0 + 400, color="#e8e8e8", linewidth=0)
        top.plot(list(xs), ratio, "-", linewidth=0.5, color="#1f77b4")
        x0 += r.rows
    top.axhline(1.0, color="#d62728", linewidth=0.8)
    top.set_yscale("log")
    top.set_ylabel("score / threshold")
    c = result.confusion
    top.set_title(f"SKAB, {result.model_kind}, window {result.window_s:g} s: F1 "
                  f"{_f(c.f1, '.2f')}, FAR {_f(c.far, '.1f')} %, MAR {_f(c.mar, '.1f')} % "
                  "(red: labelled anomalous; grey: first 400 rows, training)",
                  fontsize=9, loc="left")
    top.set_xlabel("row (files one after another)")
    names = [r.name.removesuffix(".csv") for r in result.files]
    bottom.bar(range(len(names)), [r.confusion.f1 or 0.0 for r in result.files],
               color="#1f77b4")
    bottom.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    bottom.set_ylabel("F1 per file")
    bottom.set_ylim(0, 1)
    fig.savefig(path, dpi=100)
    return path


def _runs(labels: list[int]) -> list[tuple[int, int]]:
    """[start, end) of each run of 1s."""
    out: list[tuple[int, int]] = []
    start = None
    for i, v in enumerate([*labels, 0]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append((start, i))
            start = None
    return out
