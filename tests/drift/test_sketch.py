"""Sketches: edges from the reference's quantiles, a fixed size, statistics close to the exact
ones within their stated bounds, a JSON round trip, and clear refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from andon.drift import BinnedSketch, drift_statistics, ks, wasserstein


def test_edges_split_the_reference_into_equal_shares_and_catch_the_outside() -> None:
    ref = BinnedSketch.from_reference(np.arange(1_000.0), bins=10)
    assert ref.counts.tolist() == [0] + [100] * 10 + [0]
    window = ref.empty()
    window.update_many([-5.0, 2_000.0, np.nan])
    assert (window.counts[0], window.counts[-1], window.missing) == (1, 1, 1)


def test_a_constant_reference_still_sees_values_above_and_below_it() -> None:
    ref = BinnedSketch.from_reference(np.full(100, 4.0))
    window = ref.empty()
    window.update_many([3.0, 4.0, 5.0])
    assert window.counts.tolist() == [1, 1, 1]


def test_sketch_statistics_are_within_their_stated_bounds_of_the_exact_ones() -> None:
    rng = np.random.default_rng(10)
    raw_ref, raw_cur = rng.normal(size=50_000), rng.normal(0.3, 1.2, size=20_000)
    ref = BinnedSketch.from_reference(raw_ref, bins=64)
    cur = ref.empty()
    cur.update_many(raw_cur)
    exact = drift_statistics(raw_ref, raw_cur, bins=64)
    widest = max(ref.proportions().max(), cur.proportions().max())
    assert exact.ks[0] - widest <= ks(ref, cur) <= exact.ks[0]
    xr = np.clip(ref.edges, min(ref.minimum, cur.minimum), max(ref.maximum, cur.maximum))
    bound = float(np.sum(np.diff(xr) * (ref.proportions() + cur.proportions())[1:-1]))
    assert abs(wasserstein(ref, cur) - exact.wasserstein[0]) <= bound


def test_json_round_trip_keeps_everything() -> None:
    ref = BinnedSketch.from_reference(np.random.default_rng(1).normal(size=1_000), bins=8)
    ref.update(float("nan"))
    back = BinnedSketch.from_dict(json.loads(json.dumps(ref.to_dict())))
    assert back.same_as(ref)


def test_merging_sketches_on_other_edges_is_refused() -> None:
    a = BinnedSketch.from_reference(np.arange(100.0), bins=4)
    b = BinnedSketch.from_reference(np.arange(200.0), bins=4)
    with pytest.raises(ValueError, match="different edges"):
        a.merge(b)


@pytest.mark.parametrize(("edges", "reason"), [
    ([], "non-empty"), ([1.0, 1.0], "strictly increasing"), ([0.0, np.inf], "finite")])
def test_bad_edges_are_refused_with_the_reason(edges: list[float], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        BinnedSketch(np.asarray(edges))


def test_an_empty_reference_is_refused() -> None:
    with pytest.raises(ValueError, match="no finite value"):
        BinnedSketch.from_reference([np.nan])


@pytest.mark.parametrize(("stored", "reason"), [
    ({"edges": [0.0, 1.0], "counts": [0, 1, 0], "min": 0.5, "max": 0.5}, "lacks 'missing'"),
    ({"edges": [0.0, 1.0], "counts": [0, 1], "min": 0.5, "max": 0.5, "missing": 0},
     "2 edges need 3 counts"),
    ({"edges": "x", "counts": [0], "min": 0, "max": 0, "missing": 0}, "malformed")])
def test_a_bad_stored_sketch_is_refused_naming_what(stored: dict[str, object],
                                                     reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        BinnedSketch.from_dict(stored)
