"""Windows hold exactly the good samples of ``(end - length, end]``; features never raise."""

from __future__ import annotations

import itertools
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from andon.features import AssetWindows, features_of
from andon.features.extract import _noise
from andon.features.window import Window
from andon.namespace import Quality, Sample, TagAddress
from andon.spec.model import Tag

AT = TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101", "flow")
HOP_MS = 60_000

points = st.tuples(
    st.integers(0, 40 * HOP_MS),  # source time: out of order, ties and leaps back included
    st.sampled_from([0.0, -0.0, 1.0, 2.5, -3.0, 1e9]),
    st.sampled_from([Quality.GOOD, Quality.GOOD, Quality.GOOD, Quality.UNCERTAIN, Quality.BAD]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(points, max_size=120), st.sampled_from([1, 2, 5]), st.sampled_from([0, 1, 3]))
def test_each_closed_window_holds_the_accepted_good_samples_of_its_span_in_order(
        stream: list[tuple[int, float, Quality]], hops: int, late_hops: int) -> None:
    w = AssetWindows("p-101", ["flow"], window_s=hops * HOP_MS / 1000, hop_s=HOP_MS / 1000,
                     lateness_s=late_hops * HOP_MS / 1000)
    accepted: list[tuple[int, float]] = []
    ends: list[int] = []
    for seq, (ts, value, quality) in enumerate(stream):
        dropped = w.late_dropped
        closed = w.add(Sample(AT, value, "m^3/h", quality, ts, seq, "plc"))
        if w.late_dropped == dropped and quality is Quality.GOOD:
            accepted.append((ts, value))
        for window in closed:
            start = window.end_ms - window.length_ms
            expected = sorted(p for p in accepted if start < p[0] <= window.end_ms)
            got = list(zip(window.times["flow"], window.values["flow"], strict=True))
            assert got == expected
            ends.append(window.end_ms)
    assert ends == sorted(set(ends))  # each window once, oldest first


def test_features_of_extreme_values_are_infinite_instead_of_raising() -> None:
    tag = Tag.model_validate({"name": "flow", "quantity": "flow", "unit": "m^3/h",
                              "range": [-1e308, 1e308], "period": "60s"})
    values = [1e200, -1e200, 1e200, 1.7e308, 1.7e308]
    window = Window("p-101", 300_000, 300_000, {"flow": values},
                    {"flow": [60_000 * (i + 1) for i in range(len(values))]})
    assert features_of(window, [tag]) == [math.inf, math.inf]  # the sum and a square overflow


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=80))
def test_the_noise_feature_is_the_plain_formula_bit_for_bit(values: list[float]) -> None:
    """sd of successive differences / sqrt(2), as written out (models trained before stay valid)."""
    steps = [b - a for a, b in itertools.pairwise(values)]
    mean = math.fsum(steps) / len(steps)
    expected = math.sqrt(math.fsum([(d - mean) ** 2 for d in steps]) / len(steps)) / math.sqrt(2)
    assert _noise(values) == expected
