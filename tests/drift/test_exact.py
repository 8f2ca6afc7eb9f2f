"""The exact batch statistics equal SciPy's definitions (KS, Wasserstein) to 1e-9, ties and
non-finite values included, and the batch PSI equals the PSI of the two sketches."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from andon.drift import BinnedSketch, drift_statistics, psi


@pytest.mark.parametrize("seed", range(6))
def test_ks_and_wasserstein_equal_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = rng.integers(1, 2_000, size=2)
    if seed % 2:  # discrete features: many ties within and across the two samples
        ref = rng.integers(0, 7, size=(n, 4)).astype(float)
        cur = rng.integers(1, 9, size=(m, 4)).astype(float)
    else:
        ref = rng.normal(size=(n, 4)) * [1, 10, 0.1, 1]
        cur = rng.standard_t(3, size=(m, 4)) + np.array([0.0, 1.0, 0.0, 5.0])
    d = drift_statistics(ref, cur)
    for j in range(4):
        assert d.ks[j] == pytest.approx(stats.ks_2samp(ref[:, j], cur[:, j]).statistic,
                                        abs=1e-9)
        assert d.wasserstein[j] == pytest.approx(
            stats.wasserstein_distance(ref[:, j], cur[:, j]), abs=1e-9, rel=1e-12)


def test_non_finite_values_are_left_out_per_feature() -> None:
    rng = np.random.default_rng(7)
    ref, cur = rng.normal(size=(500, 2)), rng.normal(size=(400, 2))
    dirty = cur.copy()
    dirty[::7, 0] = np.nan
    dirty[3, 1] = np.inf
    d = drift_statistics(ref, dirty)
    clean0, clean1 = cur[:, 0][np.isfinite(dirty[:, 0])], cur[:, 1][np.isfinite(dirty[:, 1])]
    assert d.ks[0] == pytest.approx(stats.ks_2samp(ref[:, 0], clean0).statistic, abs=1e-12)
    assert d.wasserstein[1] == pytest.approx(stats.wasserstein_distance(ref[:, 1], clean1))
    empty = drift_statistics(ref[:, :1], np.full((3, 1), np.nan))
    assert np.isnan(empty.ks[0])
    assert np.isnan(empty.psi[0])


def test_batch_psi_equals_the_sketches_psi() -> None:
    rng = np.random.default_rng(8)
    ref, cur = rng.gamma(2.0, size=10_000), rng.gamma(2.5, size=3_000)
    sketch = BinnedSketch.from_reference(ref, bins=20)
    window = sketch.empty()
    window.update_many(cur)
    assert drift_statistics(ref, cur, bins=20).psi[0] == pytest.approx(psi(sketch, window),
                                                                        abs=1e-12)


def test_same_distribution_scores_zero_and_a_shift_scores_its_size() -> None:
    x = np.random.default_rng(9).normal(size=(5_000, 1))
    same = drift_statistics(x, x)
    assert (same.ks[0], same.wasserstein[0], same.psi[0]) == (0.0, 0.0, 0.0)
    moved = drift_statistics(x, x + 3.0)
    assert moved.wasserstein[0] == pytest.approx(3.0)


def test_mismatched_feature_counts_are_refused_naming_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(10, 2\) and current \(10, 3\)"):
        drift_statistics(np.zeros((10, 2)), np.zeros((10, 3)))
