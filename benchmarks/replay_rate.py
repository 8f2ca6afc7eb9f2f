"""Replay rate of a historian export against raw CSV parsing of the same file, one run.

Run from the repository root::

    .venv/bin/python benchmarks/replay_rate.py                # 120 simulated hours, ~166k rows
    .venv/bin/python benchmarks/replay_rate.py --hours 720     # ~1M rows

What it does: trains the demo plant's ``pump-bearing`` model on 48 simulated healthy hours
of the cooling-water line (backfill + ``train_use_case``, as the demo does), then writes the
next ``--hours`` of that line, with a bearing fault on P-101, as a long-format historian CSV
(``timestamp, tag, value, unit, quality``; epoch ms). It then measures, in the same process
and on the same file:

* ``csv.reader (raw)``: ``csv.reader`` over the file, counting rows (the floor any Python
  reader pays);
* ``csv + float + datetime``: the same plus ``int(ts)`` and ``float(value)`` per row (a
  minimal hand-rolled reader that still does no mapping, contracts or scoring);
* ``andon reader only``: ``HistorianExport`` into a sink that only counts (parsing, tag
  resolution, time parsing, ``Sample`` building: the connector's own cost), row by row;
* ``andon reader only, columnar``: the same with the columnar (pyarrow) reader the replay's
  fast path uses;
* ``andon replay``: ``replay_export`` end to end, fast path (columnar reader →
  contracts → windows → features per sample as live; windows scored in batches; decider,
  envelope and gate per window with the gate in memory; per-window scores written to a CSV
  in memory; model loading and the summary included);
* ``andon replay --exact``: the per-sample path (each window scored as it closes, the gate in
  a scratch SQLite store), run ``--exact-repeat`` times (default once: it is slow).

Each other row is run ``--repeat`` times and the median is reported, with the ratio to the
raw row. The fast and exact replays must give the same interventions (checked).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from andon.clock import ManualClock, utc  # noqa: E402
from andon.connectors.historian import HistorianExport  # noqa: E402
from andon.services.history import backfill  # noqa: E402
from andon.services.replay import replay_export  # noqa: E402
from andon.services.training import train_use_case  # noqa: E402
from andon.simulator import Fault, PlantSimulator, Scenario  # noqa: E402
from andon.spec import load_spec  # noqa: E402
from andon.store import open_store  # noqa: E402

START = utc(2026, 3, 2, 8)
LINE = "cooling-water"
WARMUP = timedelta(hours=48)


def build(tmp: Path, hours: float) -> tuple[Path, Path, int]:
    """Train the model and write the export; (models dir, export, rows)."""
    spec = load_spec(ROOT / "examples" / "demo-plant.yaml")
    clock = ManualClock(START)
    fault = Fault("bearing_wear", asset="p-101", start_s=(WARMUP + timedelta(hours=2))
                  .total_seconds(), end_s=(WARMUP + timedelta(hours=hours)).total_seconds())
    sim = PlantSimulator(spec, seed=11, start=START, scenario=Scenario((fault,)), lines={LINE})
    with open_store(f"sqlite:///{tmp / 'andon.db'}") as store:
        backfill(sim, store, START + WARMUP, clock=clock)
        train_use_case(spec, store, tmp / "models", "pump-bearing", start=START,
                       end=START + WARMUP, clock=clock)
    export = tmp / "export.csv"
    rows = 0
    with export.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "tag", "value", "unit", "quality"])
        for samples in sim.run_until(START + WARMUP + timedelta(hours=hours)):
            for s in samples:
                path = "/".join(s.address.topic.split("/")[2:])  # without andon/v1
                w.writerow([s.ts_ms, path, repr(s.value), s.unit, s.quality.value])
                rows += 1
    return tmp / "models", export, rows


class CountingSink:
    """A ``PointSink`` that only counts."""

    def __init__(self) -> None:
        self.n = 0

    def on_sample(self, sample: object, topic: str | None = None,
                  payload: bytes | None = None) -> None:
        del sample, topic, payload
        self.n += 1

    def reject(self, where: str, payload: bytes, reason: str) -> None:
        del payload
        raise AssertionError(f"{where}: {reason}")


def raw_csv(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        return sum(1 for _ in reader)


def csv_float(path: Path) -> int:
    n = 0
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        for ts, _tag, value, _unit, _q in reader:
            int(ts)
            float(value)
            n += 1
    return n


def reader_rates(export: Path, rows: int, results: dict[str, list[float]]) -> None:
    """One round of the reader rows: raw csv, csv + int + float, andon's two readers."""
    t = time.perf_counter()
    assert raw_csv(export) == rows
    results["csv.reader (raw)"].append(rows / (time.perf_counter() - t))
    t = time.perf_counter()
    assert csv_float(export) == rows
    results["csv + int + float"].append(rows / (time.perf_counter() - t))
    t = time.perf_counter()
    sink = CountingSink()
    HistorianExport(export).read(sink)  # type: ignore[arg-type]
    assert sink.n == rows
    results["andon reader only"].append(rows / (time.perf_counter() - t))
    t = time.perf_counter()
    sink = CountingSink()
    columnar = HistorianExport(export)
    columnar.columnar = True
    columnar.read(sink)  # type: ignore[arg-type]
    assert sink.n == rows
    assert columnar.reader == "columnar (pyarrow)", columnar.reader
    results["andon reader only, columnar"].append(rows / (time.perf_counter() - t))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=120.0,
                        help="simulated hours in the export (23 tags, one sample a minute)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--exact-repeat", type=int, default=1,
                        help="rounds of the per-sample replay (0: skip it)")
    args = parser.parse_args()
    spec = load_spec(ROOT / "examples" / "demo-plant.yaml")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"python {platform.python_version()}, {os.cpu_count()} cpus, load average {load} "
          "at start")
    with tempfile.TemporaryDirectory(prefix="andon-bench-") as tmp:
        began = time.perf_counter()
        models, export, rows = build(Path(tmp), args.hours)
        size = export.stat().st_size
        print(f"export: {rows:,} rows, {size / 1e6:.1f} MB, {args.hours:g} simulated hours of "
              f"{LINE} (built in {time.perf_counter() - began:.1f} s)")
        results: dict[str, list[float]] = {"csv.reader (raw)": [], "csv + int + float": [],
                                           "andon reader only": [],
                                           "andon reader only, columnar": [],
                                           "andon replay": [], "andon replay --exact": []}
        summary = None
        exact = None
        for _ in range(args.exact_repeat):
            t = time.perf_counter()
            exact = replay_export(HistorianExport(export), spec, "pump-bearing", models,
                                  scores=io.StringIO(), exact=True)
            results["andon replay --exact"].append(rows / (time.perf_counter() - t))
        for _ in range(args.repeat):
            reader_rates(export, rows, results)
            t = time.perf_counter()
            summary = replay_export(HistorianExport(export), spec, "pump-bearing", models,
                                    scores=io.StringIO())
            assert summary.rows == rows
            results["andon replay"].append(rows / (time.perf_counter() - t))
    assert summary is not None
    if exact is not None:
        assert exact.interventions == summary.interventions, "fast and exact paths differ"
        assert (exact.scored, exact.anomalies) == (summary.scored, summary.anomalies)
    raw = statistics.median(results["csv.reader (raw)"])
    print(f"\n| reader | rows/s (median of {args.repeat}) | x raw csv |")
    print("|---|---:|---:|")
    for name, rates in results.items():
        if not rates:
            continue
        rate = statistics.median(rates)
        runs = f" ({len(rates)} run)" if len(rates) != args.repeat else ""
        print(f"| {name}{runs} | {rate:,.0f} | {rate / raw:.3f} |")
    print(f"\nreplay: {summary.rows:,} rows, {summary.scored:,} windows scored, "
          f"{summary.anomalies:,} anomalous, "
          f"{len(summary.interventions)} interventions, "
          f"quarantined {dict(summary.quarantined) or 0}, rejected {summary.rejected}; "
          f"path: {summary.path}"
          + ("" if exact is None else "; --exact gave the same interventions and scores"))


if __name__ == "__main__":
    main()
