"""Evaluate a model kind on a public labelled dataset, through the live scoring path.

``evaluate_skab`` follows SKAB's own protocol (Katser & Kozitsin 2020, the leaderboard of
``waico/SKAB``): one model per experiment file, trained on the file's first 400 rows, scored
on the rest; outlier detection is judged point-wise on the ``anomaly`` label with F1, FAR and
MAR pooled over all files (``andon.kpi.detection``).

Nothing here scores by itself. Each file becomes a one-asset plant (its eight sensors as
tags, 1 s period) and a historian export (long CSV, epoch ms): the model is fitted by
``andon.services.training.fit_samples`` on the windows ``feature_rows`` cuts from the first
400 rows (the cutter live scoring uses), and the whole file is then replayed by
``andon.services.replay.replay_export``: contracts, windows, features, model and decider
exactly as ``andon edge`` runs them. Scoring is causal by construction: a window is scored
when a later sample closes it, and each input row takes the score of the newest window that
ended at or before its own timestamp (rows before the first complete window have none and
count as "not anomalous"). The rows of the training part are replayed too (as they would
stream live) but only the rest is judged.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import re
import tempfile
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import ValidationError

from andon.clock import ManualClock, from_ms
from andon.connectors.historian import HistorianExport
from andon.errors import AndonError, DatasetError, TrainingError
from andon.kpi.changepoints import NabTally, flips
from andon.kpi.detection import Confusion
from andon.services.replay import replay_export
from andon.services.training import fit_samples
from andon.spec.model import PlantSpec

if TYPE_CHECKING:
    from andon.namespace.sample import Sample

__all__ = [
    "SKAB_COLUMNS",
    "SKAB_TRAIN_ROWS",
    "SkabFile",
    "SkabFileResult",
    "SkabResult",
    "evaluate_skab",
    "read_skab",
    "skab_spec",
]

#: SKAB's sensor columns -> (tag, quantity, unit) of the one-asset plant they are replayed as
SKAB_COLUMNS: dict[str, tuple[str, str, str]] = {
    "Accelerometer1RMS": ("accel_1", "acceleration", "standard_gravity"),
    "Accelerometer2RMS": ("accel_2", "acceleration", "standard_gravity"),
    "Current": ("current", "current", "A"),
    "Pressure": ("pressure", "pressure", "bar"),
    "Temperature": ("motor_temp", "temperature", "degC"),
    "Thermocouple": ("water_temp", "temperature", "degC"),
    "Voltage": ("voltage", "voltage", "V"),
    "Volume Flow RateRMS": ("flow", "flow", "L/min"),
}
#: SKAB's protocol: the first 400 rows of each file train its model
SKAB_TRAIN_ROWS = 400
#: the leaderboard's NAB scoring window, to the right of each true changepoint
NAB_WINDOW_MS = 60_000
_LABELS = ("anomaly", "changepoint")
_ASSET = "pump"
#: per-sample output: one row per input row of every file evaluated
SCORE_COLUMNS = ("file", "row", "timestamp", "part", "anomaly", "changepoint", "score",
                 "threshold", "predicted", "window_end")


@dataclass(frozen=True)
class SkabFile:
    """One SKAB experiment: its rows in file order (times, sensor values, labels)."""

    name: str  # relative to the dataset folder, e.g. "valve1/0.csv"
    times_ms: list[int]
    values: list[list[float]]  # per row, in ``SKAB_COLUMNS`` order
    anomaly: list[int]
    changepoint: list[int]


@dataclass
class SkabFileResult:
    """What one file's model did on the file's test part."""

    name: str
    rows: int
    test_rows: int
    confusion: Confusion
    threshold: float
    train_windows: int
    windows_scored: int
    train_s: float
    score_s: float
    #: per row: score (None before the first complete window), anomalous, label, test part
    scores: list[float | None] = field(repr=False, default_factory=list)
    predicted: list[int] = field(repr=False, default_factory=list)
    labels: list[int] = field(repr=False, default_factory=list)
    window_ends: list[int | None] = field(repr=False, default_factory=list)
    #: changepoint detection on the test part (the times the verdict flips)
    nab: NabTally = field(default_factory=NabTally)


@dataclass
class SkabResult:
    """SKAB outlier detection over the files evaluated (pooled as the leaderboard pools)."""

    folder: str
    model_kind: str
    window_s: float
    files: list[SkabFileResult] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, one-line reason)

    @property
    def confusion(self) -> Confusion:
        """The test parts of every file, pooled."""
        return Confusion.pooled(f.confusion for f in self.files)

    @property
    def nab(self) -> NabTally:
        """Changepoint detection on the test parts of every file, pooled."""
        return NabTally.pooled(f.nab for f in self.files)

    @property
    def train_s(self) -> float:
        """Wall time spent training, all files."""
        return sum(f.train_s for f in self.files)

    @property
    def score_s(self) -> float:
        """Wall time spent replaying (scoring), all files."""
        return sum(f.score_s for f in self.files)

    def lines(self) -> list[str]:
        """The short text summary the CLI prints."""
        c, nab = self.confusion, self.nab
        rows = sum(f.rows for f in self.files)
        test = sum(f.test_rows for f in self.files)
        out = [
            (f"SKAB outlier detection: {len(self.files)} files, {rows:,} rows ({test:,} "
             f"judged, after the first {SKAB_TRAIN_ROWS} of each file), model {self.model_kind}, "
             f"window {self.window_s:g} s, hop 1 s, causal"),
            (f"F1 {_fmt(c.f1, '.2f')}, FAR {_fmt(c.far, '.2f')} %, MAR {_fmt(c.mar, '.2f')} % "
             f"(TP {c.tp:,}, FP {c.fp:,}, FN {c.fn:,}, TN {c.tn:,})"),
            (f"changepoints (NAB, {NAB_WINDOW_MS // 1000} s window right of each): standard "
             f"{nab.score('standard'):.2f}, low FP {nab.score('low_fp'):.2f}, low FN "
             f"{nab.score('low_fn'):.2f}; missed {nab.missed} of {nab.windows}, false "
             f"positives {nab.false_positives}"),
            f"training {self.train_s:.1f} s, scoring (replay) {self.score_s:.1f} s",
        ]
        out.extend(f"skipped {name}: {why}" for name, why in self.skipped)
        return out


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def read_skab(folder: Path,
              only: Sequence[str] = ()) -> tuple[list[SkabFile], list[tuple[str, str]]]:
    """The labelled files of a SKAB folder (its published layout), and those that cannot be read.

    Labelled files are the ``*.csv`` in its sub-folders (``valve1/``, ``valve2/``, ``other/``)
    with ``anomaly`` and ``changepoint`` columns; ``anomaly-free/`` has no labels and is left
    out. ``only``: glob patterns on the relative name (``valve1/*.csv``). ``DatasetError``
    when the folder is missing or holds no usable labelled file.
    """
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such folder (expected SKAB's layout: valve1/, "
                           "valve2/, other/ with ';'-separated CSV files)")
    found = sorted(p for p in folder.glob("*/*.csv") if p.parent.name != "anomaly-free")
    names = [p.relative_to(folder).as_posix() for p in found]
    picked = [(p, n) for p, n in zip(found, names, strict=True)
              if not only or any(fnmatch.fnmatch(n, pat) for pat in only)]
    if not picked:
        what = f" matching {', '.join(only)}" if only else ""
        raise DatasetError(f"{folder}: no labelled SKAB file{what} (expected "
                           "<folder>/valve1/0.csv and the like)")
    files: list[SkabFile] = []
    skipped: list[tuple[str, str]] = []
    for path, name in picked:
        try:
            files.append(_read_skab_file(path, name))
        except DatasetError as exc:
            skipped.append((name, str(exc)))
    if not files:
        raise DatasetError(f"{folder}: no readable labelled SKAB file; first: "
                           f"{skipped[0][1]}")
    return files, skipped


def _read_skab_file(path: Path, name: str) -> SkabFile:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter=";")
        header = next(reader, None)
        if header is None:
            raise DatasetError(f"{name}: empty file")
        missing = [c for c in ("datetime", *SKAB_COLUMNS, *_LABELS) if c not in header]
        if missing:
            raise DatasetError(f"{name}:1: missing column(s) {', '.join(missing)}")
        at = {c: header.index(c) for c in ("datetime", *SKAB_COLUMNS, *_LABELS)}
        out = SkabFile(name, [], [], [], [])
        for line, row in enumerate(reader, start=2):
            try:
                ts = datetime.fromisoformat(row[at["datetime"]]).replace(tzinfo=UTC)
                out.times_ms.append(round(ts.timestamp() * 1000))
                out.values.append([float(row[at[c]]) for c in SKAB_COLUMNS])
                out.anomaly.append(int(float(row[at["anomaly"]])))
                out.changepoint.append(int(float(row[at["changepoint"]])))
            except (ValueError, IndexError) as exc:
                raise DatasetError(f"{name}:{line}: {exc}") from None
    if len(out.times_ms) <= SKAB_TRAIN_ROWS:
        raise DatasetError(f"{name}: {len(out.times_ms)} rows, SKAB's protocol needs more "
                           f"than {SKAB_TRAIN_ROWS} (the first {SKAB_TRAIN_ROWS} train)")
    return out


def skab_spec(window_s: float, model_kind: str = "pca-spe",
              model_params: dict[str, Any] | None = None) -> PlantSpec:
    """The one-asset plant a SKAB file is replayed as: eight 1 s tags, one use case."""
    tags = [{"name": tag, "quantity": q, "unit": unit, "range": [-1e9, 1e9], "period": 1.0}
            for tag, q, unit in SKAB_COLUMNS.values()]
    try:
        return _validated_spec(tags, window_s, model_kind, model_params)
    except ValidationError as exc:
        why = re.sub(r"^Value error, (@\S+@ )?", "", exc.errors()[0]["msg"])
        raise TrainingError(f"model kind {model_kind!r} with parameters {model_params or {}}: "
                            f"{why}") from None


def _validated_spec(tags: list[dict[str, Any]], window_s: float, model_kind: str,
                    model_params: dict[str, Any] | None) -> PlantSpec:
    return PlantSpec.model_validate({
        "version": 1,
        "enterprise": {"id": "skab", "name": "SKAB testbed"},
        "roles": [{"id": "evaluator", "name": "Evaluator", "access": "engineer"}],
        "people": [{"id": "eva", "name": "Evaluator", "role": "evaluator"}],
        "sites": [{"id": "testbed", "name": "Testbed", "timezone": "UTC", "areas": [{
            "id": "loop", "name": "Water loop", "lines": [{
                "id": "rig", "name": "Rig", "assets": [{
                    "id": _ASSET, "name": "Pump", "kind": "pump", "tags": tags}]}]}]}],
        "use_cases": [{
            "id": "skab", "name": "SKAB outliers", "asset_kind": "pump", "model": "skab",
            "model_kind": model_kind, "model_params": model_params or {},
            "action": "check {asset}", "owner_role": "evaluator", "horizon": 3600.0,
            "window": window_s, "hop": 1.0, "persistence": 1,
        }],
    })


class _Collect:
    """A ``PointSink`` keeping the samples a historian export reads (training data)."""

    def __init__(self, before_ms: int) -> None:
        self.before_ms = before_ms
        self.samples: list[Sample] = []
        self.rejected = 0

    def on_sample(self, sample: Sample, topic: str | None = None,
                  payload: bytes | None = None) -> None:
        del topic, payload
        if sample.ts_ms < self.before_ms:
            self.samples.append(sample)

    def reject(self, where: str, payload: bytes, reason: str) -> None:
        del where, payload, reason
        self.rejected += 1


def evaluate_skab(folder: Path, *, window_s: float = 10.0, model_kind: str = "pca-spe",
                  model_params: dict[str, Any] | None = None, only: Sequence[str] = (),
                  scores: TextIO | None = None,
                  progress: Callable[[int, int, str], None] | None = None) -> SkabResult:
    """Train and score one model per SKAB file (its protocol), through the live path.

    ``scores`` receives one CSV row per input row of every file (``SCORE_COLUMNS``).
    ``progress(done, total, file)`` after each file. ``DatasetError`` when the folder cannot
    be used; a file that cannot be read or trained on is skipped with its reason.
    """
    files, skipped = read_skab(folder, only)
    spec = skab_spec(window_s, model_kind, model_params)
    result = SkabResult(str(folder), model_kind, window_s, skipped=list(skipped))
    writer = None if scores is None else csv.writer(scores, lineterminator="\n")
    if writer is not None:
        writer.writerow(SCORE_COLUMNS)
    with tempfile.TemporaryDirectory(prefix="andon-evaluate-") as tmp:
        for i, f in enumerate(files):
            try:
                got = _evaluate_file(f, spec, Path(tmp) / str(i))
            except AndonError as exc:
                result.skipped.append((f.name, str(exc)))
            else:
                result.files.append(got)
                if writer is not None:
                    _write_scores(writer, f, got)
            if progress is not None:
                progress(i + 1, len(files), f.name)
    if not result.files:
        raise DatasetError(f"{folder}: no file could be evaluated; first: "
                           f"{result.skipped[0][0]}: {result.skipped[0][1]}")
    return result


def _evaluate_file(f: SkabFile, spec: PlantSpec, work: Path) -> SkabFileResult:
    work.mkdir(parents=True)
    export = work / f"{f.name.replace('/', '-')}"
    _write_export(export, f)
    uc = spec.use_cases[0]
    cut = f.times_ms[SKAB_TRAIN_ROWS]
    began = time.perf_counter()
    sink = _Collect(cut)
    HistorianExport(export, spec=spec).read(sink)
    clock = ManualClock(from_ms(cut))
    meta, windows = fit_samples(spec, uc, sink.samples, work / "models",
                                start=from_ms(f.times_ms[0]), end=from_ms(cut), clock=clock)
    trained = time.perf_counter()
    out = io.StringIO()
    summary = replay_export(HistorianExport(export, spec=spec), spec, uc.id, work / "models",
                            scores=out)
    scored = time.perf_counter()
    ends, values = _window_scores(out.getvalue())
    per_row: list[float | None] = []
    predicted: list[int] = []
    window_ends: list[int | None] = []
    for ts in f.times_ms:
        k = bisect_right(ends, ts)  # the newest window ended at or before this row
        score, anomalous = values[k - 1] if k else (None, False)
        per_row.append(score)
        predicted.append(int(anomalous))
        window_ends.append(ends[k - 1] if k else None)
    test = slice(SKAB_TRAIN_ROWS, None)
    times = f.times_ms[test]
    nab = NabTally.of([t for t, cp in zip(times, f.changepoint[test], strict=True) if cp],
                      flips(times, predicted[test]), width_ms=NAB_WINDOW_MS)
    return SkabFileResult(
        f.name, len(f.times_ms), len(f.times_ms) - SKAB_TRAIN_ROWS,
        Confusion.of(f.anomaly[test], predicted[test]), meta.threshold, windows,
        summary.scored, trained - began, scored - trained, per_row, predicted, f.anomaly,
        window_ends, nab)


def _write_export(path: Path, f: SkabFile) -> None:
    """The file as a long historian export (epoch ms, ``asset/tag``): what replay reads."""
    tags = [(tag, unit) for tag, _q, unit in SKAB_COLUMNS.values()]
    with path.open("w", newline="", encoding="utf-8") as out:
        out.write("timestamp,tag,value,unit\n")
        for ts, row in zip(f.times_ms, f.values, strict=True):
            out.writelines(f"{ts},{_ASSET}/{tag},{v!r},{unit}\n"
                           for (tag, unit), v in zip(tags, row, strict=True))


def _window_scores(text: str) -> tuple[list[int], list[tuple[float, bool]]]:
    """Window ends (epoch ms, sorted) and (score, anomalous) from replay's scores CSV.

    "Anomalous" is the live path's own verdict on the window (score above threshold).
    """
    rows = list(csv.DictReader(io.StringIO(text)))
    pairs = sorted((round(datetime.fromisoformat(r["window_end"]).timestamp() * 1000),
                    (float(r["score"]), r["anomalous"] == "true")) for r in rows)
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _write_scores(writer: Any, f: SkabFile, got: SkabFileResult) -> None:
    for i, ts in enumerate(f.times_ms):
        score = got.scores[i]
        writer.writerow((
            f.name, i, from_ms(ts).isoformat(), "train" if i < SKAB_TRAIN_ROWS else "test",
            f.anomaly[i], f.changepoint[i], "" if score is None else f"{score:.6g}",
            f"{got.threshold:.6g}", got.predicted[i],
            "" if (end := got.window_ends[i]) is None else from_ms(end).isoformat()))
