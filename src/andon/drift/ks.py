"""Kolmogorov-Smirnov (KS): the largest gap between the reference's and the current CDF.

``D = max over x of |F_ref(x) - F_cur(x)|``: the biggest difference, anywhere in the range,
between the share of reference values and the share of current values below ``x``. 0 means
the same distribution; 0.2 means that at some value 20 % more (or fewer) of the current
readings lie below it than in the reference.

From sketches, the CDFs are known at the bin edges, so ``ks`` is the largest gap at an edge:
never above the exact KS of the underlying values, and below it by at most the largest share
of one bin in either sketch (about ``1 / bins`` for the reference). ``andon.drift.exact``
computes the exact figure on raw arrays (equal to ``scipy.stats.ks_2samp``'s statistic).

**When to use it**: a shift of the bulk of a feature (a mean or a median moved, a spread
changed) on a scale that is the same for every feature (0 to 1) whatever its unit; it is
least sensitive in the tails (use PSI or Wasserstein there).

>>> import numpy as np
>>> from andon.drift.base import Budget
>>> from andon.drift.sketch import BinnedSketch
>>> rng = np.random.default_rng(2)
>>> ref = BinnedSketch.from_reference(rng.normal(size=20_000), bins=32)
>>> det = KsDetector(ref, window=500, budget=Budget(1, 1000))
>>> det.update_many(rng.normal(size=5_000))
0
>>> det.update_many(rng.normal(0.5, 1.0, size=500)), round(det.statistic, 2)
(1, 0.22)
"""

from __future__ import annotations

import numpy as np

from andon.drift._window import WindowDetector
from andon.drift.sketch import BinnedSketch

__all__ = ["KsDetector", "ks", "ks_counts"]


def ks_counts(ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """The largest CDF gap at the bin edges between count arrays, along the last axis."""
    fr = np.cumsum(ref, axis=-1) / np.maximum(ref.sum(axis=-1, keepdims=True), 1)
    fc = np.cumsum(cur, axis=-1) / np.maximum(cur.sum(axis=-1, keepdims=True), 1)
    out: np.ndarray = np.max(np.abs(fr - fc), axis=-1)
    return out


def ks(reference: BinnedSketch, current: BinnedSketch) -> float:
    """The KS statistic at the edges of the current sketch against the reference sketch."""
    return float(ks_counts(reference.counts, current.counts))


class KsDetector(WindowDetector):
    """Alarms when a window's KS statistic passes the budget's threshold."""

    measure = staticmethod(ks)
