"""What the covariate detectors (PSI, KS, Wasserstein) share: tumbling windows over a sketch.

A covariate detector holds its feature's reference sketch and a sketch of the current window
on the same edges. Every ``window`` finite values it compares the two with its statistic,
raises an alarm when the statistic passes the threshold, and starts a new window. The
threshold comes from the false-alarm budget (``threshold_for``): the statistic's
``1 - budget.rate / 2`` quantile over ``rounds`` windows drawn, seeded, from the reference
sketch itself, i.e. what a stationary stream produces; so a stationary feature raises about
half its budget (the other half is the margin for chance and for the reference's own noise).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from andon.drift.base import Budget, finite
from andon.drift.sketch import BinnedSketch

__all__ = ["Statistic", "WindowDetector", "threshold_for"]

#: a statistic between a reference sketch and a current sketch on the same edges
Statistic = Callable[[BinnedSketch, BinnedSketch], float]

#: the fewest simulated windows a threshold is estimated from
MIN_ROUNDS = 2_000


def threshold_for(statistic: Statistic, reference: BinnedSketch, window: int, budget: Budget,
                  *, seed: int = 0, rounds: int | None = None) -> float:
    """The statistic's ``1 - budget.rate / 2`` quantile over windows drawn from the reference.

    Each simulated window holds ``window`` values drawn from the reference sketch's
    piecewise-linear CDF (inverse transform of seeded uniforms), sketched on its edges like
    a live window. Half the budget is kept as a margin (for the reference being a finite
    sample, and for chance over a long run): a stationary stream raises about half the
    budget. ``rounds`` defaults to ``max(2000, 40 / budget.rate)`` (capped at 50,000), so
    that about 20 simulated windows lie beyond the threshold.
    """
    alpha = budget.rate / 2
    if rounds is None:
        rounds = int(min(50_000, max(MIN_ROUNDS, math.ceil(20 / alpha))))
    rng = np.random.default_rng(seed)
    xs, fs = reference.cdf_knots()
    stats = np.empty(rounds)
    cur = reference.empty()
    chunk = max(1, 2_000_000 // window)
    done = 0
    while done < rounds:
        k = min(chunk, rounds - done)
        values = np.interp(rng.random((k, window)), fs, xs)
        for row in values:
            cur.reset()
            cur.update_many(row)
            stats[done] = statistic(reference, cur)
            done += 1
    return float(np.quantile(stats, 1.0 - alpha, method="higher"))


class WindowDetector:
    """Tumbling windows of one feature compared with its reference sketch (see the module)."""

    #: the statistic this detector computes (set by each detector class)
    measure: Statistic

    def __init__(self, reference: BinnedSketch, *, window: int = 500,
                 budget: Budget | None = None, threshold: float | None = None,
                 seed: int = 0) -> None:
        if window < 2:  # noqa: PLR2004 - a window of one value has no distribution
            raise ValueError(f"{type(self).__name__}: window must be >= 2 values, got {window}")
        if reference.total == 0:
            raise ValueError(f"{type(self).__name__}: the reference sketch is empty")
        if (budget is None) == (threshold is None):
            raise ValueError(f"{type(self).__name__}: give a budget or a threshold (one)")
        self.reference = reference
        self.window = window
        self.budget = budget
        if threshold is None:
            assert budget is not None  # noqa: S101 - checked just above
            threshold = threshold_for(type(self).measure, reference, window, budget, seed=seed)
        self.threshold = threshold
        self.current = reference.empty()
        self.windows = 0
        self.alarms = 0
        self._statistic = math.nan
        self._drifted = False

    @property
    def drifted(self) -> bool:
        """Whether the last step closed a window whose statistic passed the threshold."""
        return self._drifted

    @property
    def statistic(self) -> float:
        """The statistic of the last closed window (``nan`` before the first)."""
        return self._statistic

    @property
    def missing(self) -> int:
        """Values of the current window that were not finite (skipped)."""
        return self.current.missing

    def update(self, x: float) -> bool:
        """Count one value; at the window's end compare, alarm or not, and start anew."""
        self._drifted = False
        if not math.isfinite(x):
            self.current.missing += 1
            return False
        self.current.update(x)
        if self.current.total >= self.window:
            self._close()
        return self._drifted

    def update_many(self, xs: ArrayLike) -> int:
        """Count the values in order, closing every window they complete; return alarms."""
        x, missing = finite(xs)
        self.current.missing += missing
        self._drifted = False
        alarms = 0
        i = 0
        while i < x.size:
            take = min(self.window - self.current.total, x.size - i)
            self.current.update_many(x[i:i + take])
            i += take
            self._drifted = False
            if self.current.total >= self.window:
                self._close()
                alarms += self._drifted
        return alarms

    def _close(self) -> None:
        self._statistic = type(self).measure(self.reference, self.current)
        self._drifted = self._statistic > self.threshold
        self.windows += 1
        self.alarms += self._drifted
        self.current.reset()
