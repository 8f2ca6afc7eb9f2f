"""Wasserstein distance (earth mover's distance): how far, in the feature's unit, values moved.

``W1 = integral over x of |F_ref(x) - F_cur(x)|``: the average distance each reading would
have to move to turn the reference distribution into the current one. A bearing temperature
whose distribution moved up by 3 K as a whole has ``W1 = 3 K``; unlike KS and PSI the figure
is in the feature's own unit and grows with how far the values went, not only with how many.

From sketches, each CDF is taken as linear inside its bins (from the sketch's minimum to its
maximum), and ``wasserstein`` integrates the gap between the two piecewise-linear CDFs
exactly; the error against the exact figure is at most the sum over bins of the bin's width
times the two sketches' shares in it. ``andon.drift.exact`` computes the exact figure on raw
arrays (equal to ``scipy.stats.wasserstein_distance``).

**When to use it**: when "how far" matters in engineering units (a drift of 0.5 bar means
something to a process engineer, a KS of 0.1 does not), and to see moves in the tails
that KS underweights. Its threshold depends on the feature's scale, which the budget takes
care of (it is calibrated per feature).

>>> import numpy as np
>>> from andon.drift.base import Budget
>>> from andon.drift.sketch import BinnedSketch
>>> rng = np.random.default_rng(3)
>>> ref = BinnedSketch.from_reference(rng.normal(size=20_000), bins=32)
>>> det = WassersteinDetector(ref, window=500, budget=Budget(1, 1000))
>>> det.update_many(rng.normal(size=5_000))
0
>>> det.update_many(rng.normal(0.5, 1.0, size=500)), round(det.statistic, 1)
(1, 0.5)
"""

from __future__ import annotations

import numpy as np

from andon.drift._window import WindowDetector
from andon.drift.sketch import BinnedSketch

__all__ = ["WassersteinDetector", "wasserstein"]


def wasserstein(reference: BinnedSketch, current: BinnedSketch) -> float:
    """W1 between the piecewise-linear CDFs of two sketches (same edges)."""
    xr, fr = reference.cdf_knots()
    xc, fc = current.cdf_knots()
    grid = np.union1d(xr, xc)
    d = np.interp(grid, xr, fr) - np.interp(grid, xc, fc)
    w = np.diff(grid)
    a, b = d[:-1], d[1:]
    same_sign = a * b >= 0
    sa, sb = np.abs(a), np.abs(b)
    denom = np.where(same_sign, 1.0, sa + sb)
    area = np.where(same_sign, (sa + sb) / 2, (a * a + b * b) / (2 * denom))
    return float(np.sum(w * area))


class WassersteinDetector(WindowDetector):
    """Alarms when a window's Wasserstein distance to the reference passes the threshold."""

    measure = staticmethod(wasserstein)
