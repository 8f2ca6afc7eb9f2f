"""Evaluate the RUL regressor on NASA's C-MAPSS turbofan data (``andon evaluate cmapss``).

The folder holds a subset in NASA's published layout: ``train_FD00N.txt`` (units run to
failure), ``test_FD00N.txt`` (units cut off before failure) and ``RUL_FD00N.txt`` (the true
RUL after each test unit's last cycle); space-separated, 26 columns (unit, cycle, three
settings, 21 sensors). ``andon.scoring.rul.RulRegressor`` is trained on every training unit
and predicts, causally, a RUL at every cycle of every test unit; the literature's figures are
taken at each test unit's last cycle against ``RUL_FD00N.txt``:

- **RMSE** with the true RUL capped at 125 as the piece-wise linear target is (the usual
  report, e.g. Li et al. 2018), and uncapped beside it;
- the asymmetric **PHM08 score** ``sum(exp(-d/13) - 1 if d < 0 else exp(d/10) - 1)`` with
  ``d = predicted - true`` (late predictions cost more), on the uncapped truth.

Unlike ``andon evaluate skab`` this does not go through the edge: no RUL use case runs live
yet, so the regressor is called directly (the same object a RUL use case would load).
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np

from andon.errors import DatasetError
from andon.scoring.rul import RUL_CAP, RulRegressor

if TYPE_CHECKING:
    from collections.abc import Callable

    from andon.scoring.rul import Matrix

__all__ = ["CmapssResult", "evaluate_cmapss", "phm08_score", "read_cmapss"]

SUBSETS = ("FD001", "FD002", "FD003", "FD004")
SENSORS = [f"s{i}" for i in range(1, 22)]
_COLUMNS = 26
SCORE_COLUMNS = ("unit", "cycle", "predicted_rul", "true_rul", "last")


def phm08_score(predicted: Matrix, true: Matrix) -> float:
    """The PHM08 challenge's asymmetric score (lower is better).

    >>> round(phm08_score(np.array([10.0, 20.0]), np.array([20.0, 10.0])), 3)
    2.876
    """
    d = np.asarray(predicted, dtype=np.float64) - np.asarray(true, dtype=np.float64)
    return float(np.where(d < 0, np.exp(-d / 13) - 1, np.exp(d / 10) - 1).sum())


@dataclass(frozen=True)
class Unit:
    """One engine: its cycles' settings and sensor values, in cycle order."""

    unit: int
    cycles: list[int]
    settings: Matrix
    sensors: Matrix


@dataclass
class CmapssResult:
    """The regressor's figures on a subset's test units."""

    folder: str
    subset: str
    train_units: int
    predicted: list[float] = field(default_factory=list)  # at each test unit's last cycle
    true: list[float] = field(default_factory=list)
    train_s: float = 0.0
    score_s: float = 0.0
    test_rows: int = 0
    trajectories: dict[int, tuple[list[int], list[float]]] = field(default_factory=dict)

    @property
    def rmse(self) -> float:
        """RMSE against the true RUL capped at ``RUL_CAP``."""
        p, t = np.asarray(self.predicted), np.minimum(np.asarray(self.true), RUL_CAP)
        return float(math.sqrt(float(np.mean((p - t) ** 2))))

    @property
    def rmse_uncapped(self) -> float:
        """RMSE against the true RUL as given."""
        p, t = np.asarray(self.predicted), np.asarray(self.true)
        return float(math.sqrt(float(np.mean((p - t) ** 2))))

    @property
    def score(self) -> float:
        """PHM08 score against the true RUL as given."""
        return phm08_score(np.asarray(self.predicted), np.asarray(self.true))

    def lines(self) -> list[str]:
        """The short text summary the CLI prints."""
        return [
            (f"C-MAPSS {self.subset}: trained on {self.train_units} run-to-failure units, "
             f"scored {len(self.predicted)} test units at their last cycle "
             f"({self.test_rows:,} test rows scored causally); model: gradient-boosted RUL "
             f"regressor on regime-normalised window features, target capped at {RUL_CAP:g}"),
            (f"RMSE {self.rmse:.2f} (true RUL capped at {RUL_CAP:g}; uncapped "
             f"{self.rmse_uncapped:.2f}), PHM08 score {self.score:,.0f}"),
            f"training {self.train_s:.1f} s, scoring {self.score_s:.1f} s",
        ]


def read_cmapss(folder: Path, subset: str) -> tuple[list[Unit], list[Unit], list[float]]:
    """Training units, test units and the test units' true RUL; ``DatasetError`` if unusable."""
    if subset not in SUBSETS:
        raise DatasetError(f"unknown C-MAPSS subset {subset!r} (known: {', '.join(SUBSETS)})")
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such folder (expected NASA's layout: "
                           f"train_{subset}.txt, test_{subset}.txt, RUL_{subset}.txt)")
    train = _units(folder / f"train_{subset}.txt")
    test = _units(folder / f"test_{subset}.txt")
    rul_path = folder / f"RUL_{subset}.txt"
    try:
        true = [float(line.split()[0]) for line in
                rul_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except FileNotFoundError:
        raise DatasetError(f"{rul_path}: missing (the true RUL of each test unit)") from None
    except (ValueError, IndexError) as exc:
        raise DatasetError(f"{rul_path}: not one number per line ({exc})") from None
    if len(true) != len(test):
        raise DatasetError(f"{rul_path}: {len(true)} values for {len(test)} test units")
    return train, test, true


def _units(path: Path) -> list[Unit]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing") from None
    rows: dict[int, list[list[float]]] = {}
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = line.split()
        if len(cells) != _COLUMNS:
            raise DatasetError(f"{path}:{line_no}: {len(cells)} columns, expected {_COLUMNS} "
                               "(unit, cycle, 3 settings, 21 sensors)")
        try:
            values = [float(c) for c in cells]
        except ValueError as exc:
            raise DatasetError(f"{path}:{line_no}: {exc}") from None
        rows.setdefault(int(values[0]), []).append(values)
    if not rows:
        raise DatasetError(f"{path}: no rows")
    out = []
    for unit, got in sorted(rows.items()):
        m = np.asarray(sorted(got, key=lambda r: r[1]))
        out.append(Unit(unit, [int(c) for c in m[:, 1]], m[:, 2:5], m[:, 5:]))
    return out


def evaluate_cmapss(folder: Path, subset: str = "FD001", *, scores: TextIO | None = None,
                    model_out: Path | None = None, seed: int = 0,
                    progress: Callable[[str], None] | None = None) -> CmapssResult:
    """Train on the subset's training units, predict every test row causally, score.

    ``scores`` receives one CSV row per test input row (``SCORE_COLUMNS``; ``true_rul`` on
    every row, from ``RUL_FD00N.txt`` plus the cycles still to come). ``model_out``: where to
    write the trained regressor (skops).
    """
    train, test, true = read_cmapss(folder, subset)
    result = CmapssResult(str(folder), subset, len(train))
    if progress is not None:
        progress(f"training on {len(train)} units")
    began = time.perf_counter()
    model = RulRegressor.fit([(u.settings, u.sensors) for u in train], SENSORS, seed=seed)
    result.train_s = time.perf_counter() - began
    if model_out is not None:
        model_out.write_bytes(model.dumps())
    if progress is not None:
        progress(f"scoring {len(test)} test units")
    writer = None if scores is None else csv.writer(scores, lineterminator="\n")
    if writer is not None:
        writer.writerow(SCORE_COLUMNS)
    began = time.perf_counter()
    for u, rul in zip(test, true, strict=True):
        predicted = model.predict(u.settings, u.sensors)
        result.test_rows += len(u.cycles)
        result.predicted.append(float(predicted[-1]))
        result.true.append(rul)
        result.trajectories[u.unit] = (u.cycles, predicted.tolist())
        if writer is not None:
            last = u.cycles[-1]
            writer.writerows((u.unit, c, f"{p:.3f}", f"{rul + last - c:g}",
                              int(c == last)) for c, p in zip(u.cycles, predicted, strict=True))
    result.score_s = time.perf_counter() - began
    return result
