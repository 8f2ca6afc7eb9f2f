"""Detector settings are checked when built, each refusal naming the detector and the rule; the
budget reads as a rate."""

from __future__ import annotations

import numpy as np
import pytest

from andon.drift import ADWIN, BinnedSketch, Budget, KsDetector, PageHinkley


def test_budget_is_a_rate_and_refuses_nonsense() -> None:
    assert Budget(2, 1_000).rate == 0.002
    assert Budget(2, 1_000).allows(5_000) == 10
    with pytest.raises(ValueError, match="0 < alarms <= per"):
        Budget(0, 100)


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"window": 1, "threshold": 0.1}, "window must be >= 2"),
    ({"window": 100}, "give a budget or a threshold"),
    ({"window": 100, "threshold": 0.1, "budget": Budget(1, 10)}, "give a budget or a threshold"),
])
def test_window_detector_settings_are_checked(kwargs: dict[str, object], reason: str) -> None:
    ref = BinnedSketch.from_reference(np.arange(100.0))
    with pytest.raises(ValueError, match=f"KsDetector: {reason}"):
        KsDetector(ref, **kwargs)  # type: ignore[arg-type]


def test_streaming_detector_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="page-hinkley: direction"):
        PageHinkley(threshold=1.0, direction="down")
    with pytest.raises(ValueError, match="adwin: delta"):
        ADWIN(delta=1.5)
    with pytest.raises(ValueError, match="needs >= 2 values"):
        PageHinkley.calibrated([0.0], Budget(1, 100))


def test_page_hinkley_both_ways_sees_an_error_rate_that_falls() -> None:
    rng = np.random.default_rng(3)
    ref = (rng.random(20_000) < 0.3).astype(float)
    up = PageHinkley.calibrated(ref, Budget(1, 20_000), delta=0.02)
    both = PageHinkley.calibrated(ref, Budget(1, 20_000), delta=0.02, direction="both")
    falling = np.concatenate([rng.random(2_000) < 0.3, np.zeros(1_000)])
    assert up.update_many(falling) == 0
    assert both.update_many(falling) >= 1
    assert both.detected_at > 2_000


def test_adwin_keeps_the_stream_since_the_change() -> None:
    rng = np.random.default_rng(4)
    adwin = ADWIN.for_budget(Budget(1, 100_000))
    adwin.update_many(rng.random(10_000) < 0.1)
    adwin.update_many(rng.random(3_000) < 0.5)
    assert adwin.alarms >= 1
    assert adwin.width < 4_000  # the 10,000 values before the change were dropped
    assert adwin.estimation == pytest.approx(0.5, abs=0.05)
