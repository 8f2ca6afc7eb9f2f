"""Population Stability Index (PSI): how far a feature's mix over the reference's bins moved.

``PSI = sum over bins of (q - p) * ln(q / p)``, with ``p`` the reference's share of a bin and
``q`` the current window's (a share of 0 counts as ``EPSILON``, so that an empty bin gives a
large, finite figure). The bins are the reference sketch's (equal-share quantile bins plus
one below the reference's minimum and one above its maximum), so PSI weighs every part of the
distribution alike, tails included.

**When to use it**: the plant-floor rule of thumb for "has the mix changed?" on any numeric
feature, read the same for every feature: below 0.1 no shift, 0.1-0.25 a moderate one, above
0.25 a large one. It sees shape changes (a new operating mode, a sensor that sticks) as well
as shifts of the mean; it needs windows of a few hundred values to be steady.

>>> import numpy as np
>>> from andon.drift.base import Budget
>>> from andon.drift.sketch import BinnedSketch
>>> rng = np.random.default_rng(1)
>>> ref = BinnedSketch.from_reference(rng.normal(size=20_000), bins=10)
>>> det = PsiDetector(ref, window=500, budget=Budget(1, 1000))
>>> det.update_many(rng.normal(size=5_000)), det.windows    # stationary: no alarm
(0, 10)
>>> det.update_many(rng.normal(0.5, 1.0, size=500)), round(det.statistic, 2)  # mean + 0.5 sd
(1, 0.31)
"""

from __future__ import annotations

import numpy as np

from andon.drift._window import WindowDetector
from andon.drift.sketch import BinnedSketch

__all__ = ["EPSILON", "PsiDetector", "psi", "psi_counts"]

#: the share an empty bin counts as (Evidently and most PSI tools use 1e-4 too)
EPSILON = 1e-4


def psi_counts(ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """PSI between count arrays over the same bins, along the last axis (vectorised)."""
    p = ref / np.maximum(ref.sum(axis=-1, keepdims=True), 1)
    q = cur / np.maximum(cur.sum(axis=-1, keepdims=True), 1)
    p = np.where(p > 0, p, EPSILON)
    q = np.where(q > 0, q, EPSILON)
    out: np.ndarray = np.sum((q - p) * np.log(q / p), axis=-1)
    return out


def psi(reference: BinnedSketch, current: BinnedSketch) -> float:
    """The PSI of the current sketch against the reference sketch (same edges)."""
    return float(psi_counts(reference.counts, current.counts))


class PsiDetector(WindowDetector):
    """Alarms when a window's PSI against the reference passes the budget's threshold."""

    measure = staticmethod(psi)
