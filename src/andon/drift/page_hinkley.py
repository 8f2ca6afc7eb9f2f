"""Page-Hinkley: a sustained rise in the mean of an error stream (concept drift from labels).

The model's error stream (1 for a call the label proved wrong, 0 for a right one, or a loss
per labelled window) has a stable mean while the model fits the plant. Page-Hinkley adds up
how far each value lies above the running mean (less a tolerance ``delta``) and raises an
alarm when that sum has climbed more than ``threshold`` above its lowest point: a change that
persists, not a single bad call. After an alarm it starts afresh.

``statistic`` is the climb (``cum - min cum``); ``direction="both"`` also watches for a fall
(an error rate that suddenly drops is worth a look too: labels that stopped coming, a stuck
feature).

**When to use it**: an error stream whose level should be steady, when the change is a shift
that stays (a season, a new product, a worn tool); it reacts within a few dozen labels to a
large shift and costs O(1) per value. For changes of unknown size and a window that adapts,
use ADWIN.

**Budget**: ``PageHinkley.calibrated`` sets the threshold from a stationary sample of the
error stream (the reference period's errors): it draws ``runs`` runs of ``budget.per /
budget.alarms`` values with replacement and takes the median of the statistic's maximum over
a run. Half of such runs raise no alarm; for the roughly memoryless alarms of a stationary
stream that is about 0.7 alarms per ``per / alarms`` values, inside the budget.

>>> import numpy as np
>>> from andon.drift.base import Budget
>>> rng = np.random.default_rng(5)
>>> reference = (rng.random(20_000) < 0.1).astype(float)   # 10 % errors
>>> ph = PageHinkley.calibrated(reference, Budget(1, 100_000), delta=0.05)
>>> ph.update_many(rng.random(10_000) < 0.1)               # same rate: no alarm
0
>>> ph.update_many(rng.random(500) < 0.4) >= 1, ph.detected_at - 10_000 < 200  # errors x4
(True, True)
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from andon.drift.base import Budget, finite

__all__ = ["PageHinkley"]


class PageHinkley:
    """Page-Hinkley test on a stream's mean (see the module docstring)."""

    def __init__(self, *, threshold: float, delta: float = 0.005, min_instances: int = 30,
                 direction: str = "up") -> None:
        if threshold <= 0 or delta < 0 or min_instances < 1:
            raise ValueError("page-hinkley: need threshold > 0, delta >= 0, min_instances >= 1")
        if direction not in {"up", "both"}:
            raise ValueError(f"page-hinkley: direction is 'up' or 'both', got {direction!r}")
        self.threshold = threshold
        self.delta = delta
        self.min_instances = min_instances
        self.both = direction == "both"
        self.alarms = 0
        self.seen = 0
        self.missing = 0
        #: the index (from 1, over every value taken) of the value that raised the last alarm
        self.detected_at = 0
        self._drifted = False
        self._statistic = math.nan
        self._reset()

    @classmethod
    def calibrated(cls, reference: ArrayLike, budget: Budget, *, delta: float = 0.005,
                   min_instances: int = 30, direction: str = "up", runs: int = 200,
                   seed: int = 0) -> PageHinkley:
        """A detector whose threshold keeps a stream like ``reference`` inside ``budget``."""
        ref, _ = finite(reference)
        if ref.size < 2:  # noqa: PLR2004 - resampling one value shows no spread
            raise ValueError("page-hinkley: the reference error stream needs >= 2 values")
        length = max(min_instances + 1, round(1 / budget.rate))
        rng = np.random.default_rng(seed)
        maxima = np.empty(runs)
        chunk = max(1, 4_000_000 // length)
        for start in range(0, runs, chunk):
            k = min(chunk, runs - start)
            maxima[start:start + k] = _run_maxima(
                rng.choice(ref, size=(k, length)), delta, min_instances, direction == "both")
        threshold = float(np.median(maxima))
        return cls(threshold=max(threshold, 1e-12), delta=delta, min_instances=min_instances,
                   direction=direction)

    def _reset(self) -> None:
        self._n = 0
        self._mean = 0.0
        self._up = 0.0
        self._up_min = 0.0
        self._down = 0.0
        self._down_max = 0.0

    @property
    def drifted(self) -> bool:
        """Whether the last value raised an alarm."""
        return self._drifted

    @property
    def statistic(self) -> float:
        """The climb of the cumulative sum above its minimum (the larger side with ``both``)."""
        return self._statistic

    def update(self, x: float) -> bool:
        """Take one value of the error stream; return whether it raised an alarm."""
        self._drifted = False
        if not math.isfinite(x):
            self.missing += 1
            return False
        self.seen += 1
        self._n += 1
        self._mean += (x - self._mean) / self._n
        self._up += x - self._mean - self.delta
        self._up_min = min(self._up_min, self._up)
        stat = self._up - self._up_min
        if self.both:
            self._down += x - self._mean + self.delta
            self._down_max = max(self._down_max, self._down)
            stat = max(stat, self._down_max - self._down)
        self._statistic = stat
        if self._n >= self.min_instances and stat > self.threshold:
            self._drifted = True
            self.alarms += 1
            self.detected_at = self.seen
            self._reset()
        return self._drifted

    def update_many(self, xs: ArrayLike) -> int:
        """Take the values in order; return the alarms they raised."""
        a = np.asarray(xs, dtype=np.float64).ravel()
        alarms = 0
        update = self.update
        for x in a.tolist():
            alarms += update(x)
        return alarms


def _run_maxima(runs: np.ndarray, delta: float, min_instances: int, both: bool) -> np.ndarray:
    """The Page-Hinkley statistic's maximum over each row (a run), from ``min_instances`` on."""
    n = np.arange(1, runs.shape[1] + 1)
    mean = np.cumsum(runs, axis=1) / n
    up = np.cumsum(runs - mean - delta, axis=1)
    stat = up - np.minimum(np.minimum.accumulate(up, axis=1), 0.0)
    if both:
        down = np.cumsum(runs - mean + delta, axis=1)
        stat = np.maximum(stat, np.maximum(np.maximum.accumulate(down, axis=1), 0.0) - down)
    out: np.ndarray = stat[:, min_instances - 1:].max(axis=1)
    return out
