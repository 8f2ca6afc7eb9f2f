"""ADWIN (adaptive windowing): a change of any size in the mean of an error stream.

ADWIN (Bifet and Gavaldà, 2007) keeps a window of the recent stream, as long as the stream
looks stationary, and cuts its older part off as soon as some split into an older and a newer
part shows means too far apart for chance: ``|mean_old - mean_new| > eps_cut``, with
``eps_cut`` the Bernstein bound at confidence ``delta / ln(width)`` (the paper's ADWIN2 bound
with the window's variance). The window is held in an exponential histogram (at most
``max_buckets`` buckets of each size 1, 2, 4, ...), so memory grows with the logarithm of the
window's width, never with the stream's length, and the splits are checked every ``clock``
values at bucket boundaries.

``statistic`` is the largest ``|mean_old - mean_new| / eps_cut`` over the splits of the last
check (an alarm when above 1); ``estimation`` is the window's mean (the current error rate),
``width`` its length.

**When to use it**: an error stream whose changes may be abrupt or gradual and of unknown
size (a model going stale over weeks, or a new product overnight): no threshold to tune, and
the window it keeps is the stream since the change. Costs O(log width) per value.

**Budget**: a false alarm is a cut on a stationary stream; the paper bounds its probability at
each check by ``delta``. Checks happen every ``clock`` values, so ``ADWIN.for_budget`` sets
``delta = budget.rate * clock``: at most ``budget.alarms`` false alarms per ``budget.per``
values. The bound is conservative; the conformance suite checks it on a long seeded stream.

>>> import numpy as np
>>> from andon.drift.base import Budget
>>> rng = np.random.default_rng(6)
>>> adwin = ADWIN.for_budget(Budget(1, 100_000))
>>> adwin.update_many(rng.random(20_000) < 0.1)
0
>>> adwin.update_many(rng.random(2_000) < 0.4) > 0, round(adwin.estimation, 1)
(True, 0.4)
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from andon.drift.base import Budget

__all__ = ["ADWIN"]


class ADWIN:
    """Adaptive windowing over a stream's mean (see the module docstring)."""

    def __init__(self, *, delta: float = 0.002, clock: int = 32, max_buckets: int = 5,
                 min_window: int = 5, grace_period: int = 10) -> None:
        if not 0 < delta < 1:
            raise ValueError(f"adwin: delta must be in (0, 1), got {delta}")
        if clock < 1 or max_buckets < 2 or min_window < 1:  # noqa: PLR2004 - two merge
            raise ValueError("adwin: need clock >= 1, max_buckets >= 2, min_window >= 1")
        self.delta = delta
        self.clock = clock
        self.max_buckets = max_buckets
        self.min_window = min_window
        self.grace_period = grace_period
        # row i holds buckets of 2**i values, oldest first: their sums and sums of squares
        self._sums: list[list[float]] = [[]]
        self._squares: list[list[float]] = [[]]
        self.width = 0
        self._total = 0.0
        self._total_sq = 0.0
        self._tick = 0
        self.alarms = 0
        self.seen = 0
        self.missing = 0
        #: the index (from 1, over every value taken) of the value that raised the last alarm
        self.detected_at = 0
        self._drifted = False
        self._statistic = math.nan

    @classmethod
    def for_budget(cls, budget: Budget, *, clock: int = 32, max_buckets: int = 5,
                   min_window: int = 5, grace_period: int = 10) -> ADWIN:
        """ADWIN with ``delta = budget.rate * clock`` (see the module docstring)."""
        return cls(delta=min(0.5, budget.rate * clock), clock=clock, max_buckets=max_buckets,
                   min_window=min_window, grace_period=grace_period)

    @property
    def drifted(self) -> bool:
        """Whether the last value's check cut the window (a change)."""
        return self._drifted

    @property
    def statistic(self) -> float:
        """The largest mean gap over its cut bound at the last check (alarm above 1)."""
        return self._statistic

    @property
    def estimation(self) -> float:
        """The mean of the window (``nan`` when empty)."""
        return self._total / self.width if self.width else math.nan

    @property
    def buckets(self) -> int:
        """How many buckets hold the window (memory: O(max_buckets x log2 width))."""
        return sum(len(row) for row in self._sums)

    def update(self, x: float) -> bool:
        """Take one value; return whether the window was cut after it."""
        if not math.isfinite(x):
            self.missing += 1
            self._drifted = False
            return False
        self._insert(x)
        self._tick += 1
        self._drifted = False
        if self._tick % self.clock == 0 and self.width > self.grace_period:
            self._drifted = self._check()
        return self._drifted

    def update_many(self, xs: ArrayLike) -> int:
        """Take the values in order; return the alarms they raised."""
        alarms = 0
        update = self.update
        for x in np.asarray(xs, dtype=np.float64).ravel().tolist():
            alarms += update(x)
        return alarms

    def _insert(self, x: float) -> None:
        self.seen += 1
        self.width += 1
        self._total += x
        self._total_sq += x * x
        sums, squares = self._sums, self._squares
        sums[0].append(x)
        squares[0].append(x * x)
        row = 0
        limit = self.max_buckets
        while len(sums[row]) > limit:  # merge the two oldest buckets into the next row
            if row + 1 == len(sums):
                sums.append([])
                squares.append([])
            s, q = sums[row], squares[row]
            sums[row + 1].append(s.pop(0) + s.pop(0))
            squares[row + 1].append(q.pop(0) + q.pop(0))
            row += 1

    def _drop_oldest(self) -> None:
        top = len(self._sums) - 1
        self.width -= 1 << top
        self._total -= self._sums[top].pop(0)
        self._total_sq -= self._squares[top].pop(0)
        if not self._sums[top] and top > 0:
            self._sums.pop()
            self._squares.pop()

    def _check(self) -> bool:
        worst, cut = self._scan()
        self._statistic = worst
        if not cut:
            return False
        self.alarms += 1
        self.detected_at = self.seen
        # drop the oldest buckets while a split still shows a change: the window left is
        # the stream since the change
        self._drop_oldest()
        while self.width > self.min_window and self._scan()[1]:
            self._drop_oldest()
        return True

    def _scan(self) -> tuple[float, bool]:
        """Every split at a bucket boundary, oldest first: the largest gap ratio, and a cut."""
        width = self.width
        total, total_sq = self._total, self._total_sq
        mean = total / width
        variance = max(total_sq / width - mean * mean, 0.0)
        log_term = math.log(2.0 * math.log(width) / self.delta) if width > 1 else math.inf
        n0, s0 = 0, 0.0
        worst = 0.0
        sums = self._sums
        min_window = self.min_window
        for row in range(len(sums) - 1, -1, -1):
            size = 1 << row
            for s in sums[row]:
                n0 += size
                s0 += s
                n1 = width - n0
                if n1 < min_window:
                    return worst, False
                if n0 < min_window:
                    continue
                m = 1.0 / (n0 - min_window + 1) + 1.0 / (n1 - min_window + 1)
                eps = math.sqrt(2.0 * m * variance * log_term) + 2.0 / 3.0 * m * log_term
                ratio = abs(s0 / n0 - (total - s0) / n1) / eps
                worst = max(worst, ratio)
                if ratio > 1.0:
                    return worst, True
        return worst, False
