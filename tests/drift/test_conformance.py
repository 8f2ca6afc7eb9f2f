"""The drift conformance suite (``andon.testing.conformance.drift``) on every built-in detector:
each sees a seeded shift within its stated delay, stays inside its false-alarm budget on a long
stationary stream, agrees with itself value by value and in batches, and holds bounded memory;
the sketches merge exactly and keep their size over 10**7 values."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import pytest

from andon.drift import (
    ADWIN,
    BinnedSketch,
    Budget,
    KsDetector,
    PageHinkley,
    PsiDetector,
    WassersteinDetector,
)
from andon.drift._window import WindowDetector, threshold_for
from andon.testing.conformance.drift import (
    CHECKS,
    DriftCase,
    check_sketch_bounded,
    check_sketch_merge,
)

WINDOW = 100
WINDOW_BUDGET = Budget(1, 100)  # one false alarm per 100 windows of 100 values, per feature
STREAM_BUDGET = Budget(1, 20_000)  # one false alarm per 20,000 labelled values


@cache
def reference() -> BinnedSketch:
    return BinnedSketch.from_reference(np.random.default_rng(11).normal(size=50_000), bins=32)


@cache
def threshold(kind: type[WindowDetector]) -> float:
    """Calibrated once per kind from the budget (the calibration is deterministic)."""
    return threshold_for(kind.measure, reference(), WINDOW, WINDOW_BUDGET)


def normal(mean: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    return lambda rng, n: rng.normal(mean, 1.0, size=n)


def errors(rate: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    return lambda rng, n: (rng.random(n) < rate).astype(np.float64)


def window_case(kind: type[WindowDetector]) -> DriftCase:
    return DriftCase(
        name=kind.__name__,
        make=lambda: kind(reference(), window=WINDOW, threshold=threshold(kind)),
        budget=WINDOW_BUDGET, budget_step=WINDOW,
        stationary=normal(0.0), shifted=normal(1.0),  # the mean moves by one sd
        delay=2 * WINDOW,  # seen by the end of the second window after the shift
        prefix=10 * WINDOW, long_run=1_000 * WINDOW,
        memory_n=10 * WINDOW)


@cache
def error_reference() -> np.ndarray:
    return errors(0.1)(np.random.default_rng(12), 20_000)


CASES = [
    window_case(PsiDetector),
    window_case(KsDetector),
    window_case(WassersteinDetector),
    DriftCase(
        name="PageHinkley",
        make=lambda: PageHinkley.calibrated(error_reference(), STREAM_BUDGET, delta=0.05),
        budget=STREAM_BUDGET, stationary=errors(0.1), shifted=errors(0.3),  # errors x3
        delay=300, long_run=200_000),
    DriftCase(
        name="ADWIN",
        make=lambda: ADWIN.for_budget(STREAM_BUDGET),
        budget=STREAM_BUDGET, stationary=errors(0.1), shifted=errors(0.3),
        delay=300, long_run=200_000),
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_builtin_detector_conforms(case: DriftCase, check: Callable[[DriftCase], None]) -> None:
    check(case)


def test_sketch_merge_equals_the_sketch_of_the_concatenation() -> None:
    rng = np.random.default_rng(13)
    a = np.concatenate([rng.normal(size=3_000), [np.nan, 9.0, -9.0]])
    b = rng.normal(0.4, 2.0, size=2_000)
    check_sketch_merge(reference(), a, b)


def test_sketch_size_is_constant_over_ten_million_values() -> None:
    check_sketch_bounded(reference(), values=10**7, batch=10**6)


def test_the_budget_calibrates_the_threshold_not_the_caller() -> None:
    """A tighter budget gives a higher threshold; the same budget and seed the same one."""
    loose = threshold_for(KsDetector.measure, reference(), WINDOW, Budget(1, 20))
    tight = threshold_for(KsDetector.measure, reference(), WINDOW, Budget(1, 1_000))
    assert tight > loose
    assert threshold_for(KsDetector.measure, reference(), WINDOW, Budget(1, 20)) == loose
    det = KsDetector(reference(), window=WINDOW, budget=Budget(1, 20))
    assert det.threshold == loose
