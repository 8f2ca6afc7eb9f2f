"""``andon dq report``: the data-quality report per tag and per source, worst first.

Missing rate (gaps against the contract's period), contract breaches (stuck, sudden steps,
out of range, stale, ...), late samples, duplicates and each source's clock skew, each
finding spelled out by name; ``--plots DIR`` writes a PNG per tag with findings (its values
with flagged, filled and gap samples marked) and one of the clock skew per source.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from andon.cli.options import DEFAULT_DB, DbOpt, parse_time
from andon.cli.terminal import Terminal

if TYPE_CHECKING:
    import numpy as np

    from andon.contracts.counts import SkewPoint
    from andon.kpi.quality import QualityReport, TagQuality
    from andon.namespace.sample import Sample
    from andon.store import SqlStore

__all__ = ["dq_app", "parse_since"]

dq_app = typer.Typer(
    help="Data quality: missing data, contract breaches, late samples, duplicates and clock "
    "skew, per tag and per source.",
    no_args_is_help=True,
)

console = Terminal()

_PLOTTED = 50  # at most this many tag plots per run (worst first)


def parse_since(text: str | None, now: datetime) -> datetime | None:
    """``--since``: a duration back from ``now`` (``24h``, ``30min``) or an ISO 8601 time."""
    return parse_time(text, "--since", now=now)


@dq_app.command("report")
def report(
    site: Annotated[str | None, typer.Option("--site", help="Only this site id.")] = None,
    asset: Annotated[str | None, typer.Option("--asset", help="Only this asset id.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only counts since then: a "
                                              "duration back from now (24h) or an ISO 8601 "
                                              "time. Default: everything kept.")] = None,
    plots: Annotated[Path | None, typer.Option("--plots", help="Write a PNG per tag with "
                                               "findings, and the clock skew per source, into "
                                               "this directory.")] = None,
    all_tags: Annotated[bool, typer.Option("--all", help="List clean tags too.")] = False,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Show the data-quality report: tags and sources with problems first, named."""
    from andon.app import Context, data_quality  # noqa: PLC0415
    from andon.clock import SystemClock, to_ms  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    clock = SystemClock()
    start = parse_since(since, clock.now())
    since_ms = None if start is None else to_ms(start)
    with open_store(db) as store:
        # the report the /quality page shows (andon.app.data_quality), without its trend
        rep = data_quality(Context(store, clock), since=start, site=site, asset=asset,
                           trend=False).report
        _print(rep, all_tags=all_tags)
        if plots is not None:
            written = write_plots(store, rep, plots, since_ms=since_ms)
            console.print(f"wrote {len(written)} plot(s) to {plots}", highlight=False)


def _print(rep: QualityReport, *, all_tags: bool) -> None:
    tags = [t for t in rep.tags if all_tags or t.findings]
    table = Table(title="Data quality per tag (worst first)")
    for col in ("site", "asset", "tag", "received", "missing", "flagged", "quarantined",
                "findings"):
        table.add_column(col, overflow="fold",
                         justify="right" if col in {"received", "missing", "flagged",
                                                    "quarantined"} else "left")
    for t in tags:
        flagged = sum(t.counts.get(r, 0) for r in ("stuck", "rate_of_change", "stale", "late"))
        quarantined = sum(t.quarantined.values())
        table.add_row(t.site or "-", t.asset or "-", t.tag or "-", str(t.received),
                      f"{t.missing} ({t.missing_rate:.1%})" if t.missing else "0",
                      str(flagged), str(quarantined),
                      Text("; ".join(t.findings) or "ok", style="red" if t.findings else "green"))
    console.print(table)
    clean = sum(1 for t in rep.tags if not t.findings)
    if not all_tags and clean:
        console.print(f"{clean} tag(s) without findings not listed (--all lists them)",
                      highlight=False)
    src = Table(title="Data quality per source")
    for col in ("source", "site", "received", "duplicates", "late", "clock skew", "findings"):
        src.add_column(col, overflow="fold")
    for s in rep.sources:
        skew = "-" if s.skew_ms is None else f"{s.skew_ms / 1000:+g} s" + (
            f" (corrected, {s.corrected})" if s.correcting or s.corrected else "")
        src.add_row(s.source, s.site or "-", str(s.received), str(s.duplicates), str(s.late),
                    skew, Text("; ".join(s.findings) or "ok",
                               style="red" if s.findings else "green"))
    console.print(src)


def write_plots(store: SqlStore, rep: QualityReport, directory: Path, *,
                since_ms: int | None = None) -> list[Path]:
    """PNG per tag with findings (worst first, at most 50) and ``clock-skew.png``; the paths."""
    import matplotlib as mpl  # noqa: PLC0415 - heavy; only with --plots

    mpl.use("Agg")  # files only: no display, no GUI toolkit
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    chosen = [t for t in rep.tags if t.findings and t.asset not in {"", "*"}][:_PLOTTED]
    for asset in dict.fromkeys(t.asset for t in chosen):  # each asset's samples read once
        by_tag: dict[str, list[Sample]] = {}
        for s in store.samples(assets=[asset], start_ms=since_ms):
            by_tag.setdefault(s.address.tag, []).append(s)
        for t in chosen:
            samples = by_tag.get(t.tag) if t.asset == asset else None
            if samples:
                written.append(_tag_plot(t, samples, directory))
    skews = store.skew_points(since_ms=since_ms)
    if skews:
        written.append(_skew_plot(skews, directory))
    return written


def _times(ms: list[int]) -> np.ndarray[Any, np.dtype[np.datetime64]]:
    """Epoch milliseconds as numpy datetimes (matplotlib draws a UTC time axis)."""
    import numpy as np  # noqa: PLC0415 - keep --help fast

    return np.array(ms, dtype="datetime64[ms]")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80]


def _tag_plot(t: TagQuality, samples: list[Sample], directory: Path) -> Path:
    from matplotlib.figure import Figure  # noqa: PLC0415

    from andon.namespace.sample import Quality  # noqa: PLC0415

    fig = Figure(figsize=(10, 3.5), layout="constrained")
    ax = fig.subplots()
    groups: dict[str, list[Sample]] = {}
    for s in samples:
        kind = ("good" if s.quality is Quality.GOOD and s.reason in {None, "skew_corrected"}
                else s.reason or s.quality.value)
        groups.setdefault(kind, []).append(s)
    good = groups.pop("good", [])
    if good:
        ax.plot(_times([s.ts_ms for s in good]), [s.value for s in good], ".", ms=2,
                color="#1f77b4",
                label="good")
    markers = {"filled": ("s", "#999999"), "gap": ("x", "#d62728")}
    for kind, points in sorted(groups.items()):
        marker, color = markers.get(kind, ("o", "#ff7f0e"))
        ax.plot(_times([s.ts_ms for s in points]), [s.value for s in points], marker, ms=4,
                color=color,
                linestyle="none", label=f"{kind} ({len(points)})")
    ax.set_title(f"{t.site}/{t.asset}/{t.tag}: " + "; ".join(t.findings), fontsize=8, loc="left")
    ax.set_ylabel(samples[0].unit)
    ax.legend(fontsize=7, loc="best")
    path = directory / f"{_safe(t.site)}_{_safe(t.asset)}_{_safe(t.tag)}.png"
    fig.savefig(path, dpi=100)
    return path


def _skew_plot(points: list[SkewPoint], directory: Path) -> Path:
    from matplotlib.figure import Figure  # noqa: PLC0415

    fig = Figure(figsize=(10, 3.5), layout="constrained")
    ax = fig.subplots()
    by: dict[str, list[SkewPoint]] = {}
    for p in points:
        by.setdefault(p.source, []).append(p)
    for source, series in sorted(by.items()):
        ax.plot(_times([p.at_ms for p in series]), [p.skew_ms / 1000 for p in series],
                "-", drawstyle="steps-post", label=source)
    ax.axhline(0.0, color="#999999", linewidth=0.8)
    ax.set_title("clock skew per source (positive: source clock ahead)", fontsize=9, loc="left")
    ax.set_ylabel("s")
    ax.legend(fontsize=7, loc="best")
    path = directory / "clock-skew.png"
    fig.savefig(path, dpi=100)
    return path
