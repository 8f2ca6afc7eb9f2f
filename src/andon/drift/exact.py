"""Exact PSI, KS and Wasserstein per feature on raw arrays, in one sort per column.

For a backtest, a report or the central side, where the raw reference and current data are at
hand (rows x features). Each feature's reference and current columns are sorted once and
merged in linear time (merge positions from one ``searchsorted`` and one ``bincount``);
the three statistics are read off the merged order:

* **KS**: ``max |F_ref - F_cur|`` over every distinct value, both CDFs right-continuous:
  equal to ``scipy.stats.ks_2samp(ref, cur).statistic``;
* **Wasserstein**: ``sum |F_ref - F_cur| * gap`` over consecutive merged values: equal to
  ``scipy.stats.wasserstein_distance(ref, cur)``;
* **PSI**: on the reference's quantile bins (``BinnedSketch.from_reference``'s edges), equal
  to ``psi`` of the two sketches.

Non-finite values are left out, per feature. Equal to SciPy up to floating-point summation
order (1e-12 relative in the suite); 5.7-7.2x faster than SciPy's two functions in a loop
on 1M x 1M x 20 (``benchmarks/drift.py``), because SciPy sorts each column twice more and
binary-searches every value of both.

>>> import numpy as np
>>> rng = np.random.default_rng(4)
>>> ref, cur = rng.normal(size=(1000, 2)), rng.normal(size=(800, 2)) + [0.0, 1.0]
>>> d = drift_statistics(ref, cur, bins=10)
>>> d.ks.round(3).tolist(), d.wasserstein.round(2).tolist()
([0.023, 0.378], [0.03, 0.96])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from andon.drift.psi import psi_counts
from andon.drift.sketch import reference_edges

__all__ = ["DriftStatistics", "drift_statistics", "ks_wasserstein_sorted"]


@dataclass(frozen=True, slots=True)
class DriftStatistics:
    """One value per feature (column) of each statistic; ``nan`` where a column had no data."""

    psi: np.ndarray
    ks: np.ndarray
    wasserstein: np.ndarray


def drift_statistics(reference: ArrayLike, current: ArrayLike, *, bins: int = 64) -> \
        DriftStatistics:
    """PSI, KS and Wasserstein of each column of ``current`` against ``reference``'s.

    Both are 2-D (rows x features, the same number of features) or 1-D (one feature).
    """
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    if ref.ndim == 1:
        ref = ref[:, None]
    if cur.ndim == 1:
        cur = cur[:, None]
    if ref.ndim != cur.ndim or ref.ndim != 2 or ref.shape[1] != cur.shape[1]:  # noqa: PLR2004
        raise ValueError(f"drift statistics: reference {ref.shape} and current {cur.shape} "
                         "need the same number of feature columns")
    f = ref.shape[1]
    out = np.full((3, f), np.nan)
    for j in range(f):
        sr, sc = _sorted_finite(ref[:, j]), _sorted_finite(cur[:, j])
        if sr.size == 0 or sc.size == 0:
            continue
        edges = reference_edges(sr, bins)
        out[0, j] = psi_counts(_bin_counts(sr, edges), _bin_counts(sc, edges))
        out[1, j], out[2, j] = ks_wasserstein_sorted(sr, sc)
    return DriftStatistics(out[0], out[1], out[2])


def ks_wasserstein_sorted(sr: np.ndarray, sc: np.ndarray) -> tuple[float, float]:
    """Exact KS statistic and W1 between two sorted, finite, non-empty 1-D arrays."""
    n, m = sr.size, sc.size
    total = n + m
    # int32 counts halve the index arrays' memory (and time) below 2**31 values
    count = np.dtype(np.int32) if total < 2**31 else np.dtype(np.int64)
    # merge positions: a current value goes after the reference values <= it (one search);
    # a reference value after the current values < it, counted from the same search
    # (ties: reference first; the gap between tied values is 0 anyway)
    pos_c = np.searchsorted(sr, sc, side="right")
    pos_r = np.cumsum(np.bincount(pos_c, minlength=n + 1)[:n])
    pos_r += np.arange(n)
    pos_c += np.arange(m)
    merged = np.empty(total)
    merged[pos_r] = sr
    merged[pos_c] = sc
    del pos_c
    from_ref = np.zeros(total, dtype=bool)
    from_ref[pos_r] = True
    del pos_r
    cum_r: np.ndarray = np.cumsum(from_ref, dtype=count)
    del from_ref
    diff: np.ndarray = np.divide(cum_r, n)  # F_ref after each merged value
    cum_c: np.ndarray = np.arange(1, total + 1, dtype=count)
    cum_c -= cum_r  # current values so far
    del cum_r
    f_cur = np.divide(cum_c, m)
    del cum_c
    diff -= f_cur  # F_ref - F_cur after each merged value
    np.abs(diff, out=diff)
    gaps = np.subtract(merged[1:], merged[:-1], out=f_cur[:-1])
    gaps *= diff[:-1]
    w = float(np.sum(gaps))
    del gaps, f_cur
    # KS at the last of each run of equal values (where both CDFs are complete)
    ends = np.empty(total, dtype=bool)
    np.not_equal(merged[:-1], merged[1:], out=ends[:-1])
    ends[-1] = True
    diff *= ends
    return float(diff.max()), w


def _sorted_finite(col: np.ndarray) -> np.ndarray:
    s = np.sort(col)
    if s.size and not (np.isfinite(s[0]) and np.isfinite(s[-1])):
        s = s[np.isfinite(s)]
    return s


def _bin_counts(s: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.diff(np.searchsorted(s, edges, side="left"), prepend=0, append=s.size)
