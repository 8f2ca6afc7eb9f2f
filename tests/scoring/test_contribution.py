"""Reasons consistent with their numbers: each share explained by what actually moved.

Windows constructed against a PCA-SPE model fitted on a healthy pump whose load drives flow
and current together: a value inside its healthy band is never said to be off, and its share
is put on the relation that moved; a value outside its band is said with the standard
deviations that drive it.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andon.scoring.contribution import IN_BAND, Contribution
from andon.scoring.pca_spe import PcaSpeModel
from andon.text import sigma

FEATURES = ["flow.mean", "motor_current.mean", "vibration.noise"]
UNITS = ["m^3/h", "A", "mm/s"]


@pytest.fixture(scope="module")
def model() -> PcaSpeModel:
    rng = np.random.default_rng(11)
    load = rng.uniform(0.6, 1.0, 600)
    flow = 250 * load + rng.normal(0, 3, 600)
    current = 70 * load + 5 + rng.normal(0, 0.8, 600)
    vibration = rng.normal(1.2, 0.1, 600)
    X = np.column_stack([flow, current, vibration])  # noqa: N806
    return PcaSpeModel.fit(X, FEATURES, UNITS, variance=0.9, top=3)


def test_a_flow_inside_its_band_is_never_said_to_be_off(model: PcaSpeModel) -> None:
    """Flow at its healthy mean, current 8 A above what that flow needs: the relation moved."""
    scaler = model.pipeline.named_steps["scale"]
    flow = float(scaler.mean_[0])
    current = 70 * flow / 250 + 5 + 8.0
    s = model.score(np.array([flow, current, 1.2]))
    assert s.value > s.threshold
    by = {c.feature: c for c in s.why}
    fc = by["flow.mean"]
    assert fc.in_band
    assert fc.share > 0.2
    text = fc.describe()
    # ... and the text says its value is normal and what moved, with the residual's sigmas
    assert text.startswith(f"flow {fc.value:,.0f} m³/h is within its healthy band (")
    assert "but does not match the other features (" in text
    assert sigma(fc.residual or 0.0) in text
    assert "above healthy" not in text
    assert "below healthy" not in text


def test_an_off_feature_is_named_with_its_sigmas(model: PcaSpeModel) -> None:
    """Vibration noise doubled: far outside its band, named with its deviation."""
    s = model.score(np.array([220.0, 70 * 220 / 250 + 5, 2.4]))
    top = next(c for c in s.why if c.feature == "vibration.noise")
    assert not top.in_band
    text = top.describe()
    assert text.startswith(f"vibration noise 2.4 mm/s, {sigma(top.z or 0)} above healthy (1.2 ± ")
    assert text.endswith(f": {top.share:.0%} of the score".replace("%", " %"))


@settings(max_examples=60, deadline=None)
@given(st.floats(100, 300), st.floats(30, 110), st.floats(0.5, 4.0))
def test_every_reason_agrees_with_its_numbers(flow: float, current: float, vib: float) -> None:
    rng = np.random.default_rng(11)
    load = rng.uniform(0.6, 1.0, 300)
    X = np.column_stack([250 * load + rng.normal(0, 3, 300),  # noqa: N806
                         70 * load + 5 + rng.normal(0, 0.8, 300), rng.normal(1.2, 0.1, 300)])
    m = _MODELS.setdefault("m", PcaSpeModel.fit(X, FEATURES, UNITS, top=3))
    for c in m.score(np.array([flow, current, vib])).why:
        text = c.describe()
        z = c.z
        assert z is not None
        assert z == pytest.approx((c.value - c.baseline) / c.spread)
        if abs(z) >= IN_BAND:
            side = "above" if z > 0 else "below"
            assert f", {sigma(z)} {side} healthy (" in text, text
        else:
            assert " is within its healthy band (" in text, text
        assert not re.search(r"\d[eE][+-]?\d", text), text  # never an exponent


_MODELS: dict[str, PcaSpeModel] = {}


def test_old_records_without_deviation_compute_it() -> None:
    """A stored reason from before (no deviation, no residual) still reads consistently."""
    inside = Contribution("flow.mean", 203.0, 200.0, 40.0, 0.5, "m^3/h")
    assert inside.describe() == ("flow 203 m³/h is within its healthy band (200 ± 40 m³/h) but "
                                 "does not match the other features: 50 % of the score")
    flat = Contribution("speed.mean", 0.0, 1360.0, 0.0, 0.9, "rpm")
    assert flat.describe() == "speed 0 rpm (healthy 1,360 ± 0 rpm): 90 % of the score"
