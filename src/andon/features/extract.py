"""Feature extraction: per tag, mean and noise level; counters as a rate per hour.

The noise level is the standard deviation of successive differences divided by sqrt(2): it
measures sample-to-sample roughness (what a worn bearing adds to vibration) and, unlike the
plain standard deviation, does not grow when a slow process value ramps during a shift change.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import repeat
from operator import sub

import numpy as np
from numpy.typing import NDArray

from andon.errors import SpecError
from andon.features.window import AssetWindows, Window
from andon.namespace.sample import Sample
from andon.spec.model import PlantSpec, Tag, UseCase

__all__ = ["feature_names", "feature_rows", "features_of", "use_case_tags"]

#: a window is scored only if every tag has at least this share of its expected samples
MIN_COVERAGE = 0.5
_SQRT2 = math.sqrt(2.0)


def feature_names(tags: Sequence[Tag]) -> tuple[list[str], list[str]]:
    """Feature names and their units, in a fixed order, for an asset's tags."""
    names: list[str] = []
    units: list[str] = []
    for t in tags:
        if t.quantity == "count":
            names.append(f"{t.name}.rate")
            units.append(f"{t.unit}/h" if t.unit != "dimensionless" else "1/h")
        else:
            names += [f"{t.name}.mean", f"{t.name}.noise"]
            units += [t.unit, t.unit]
    return names, units


def features_of(window: Window, tags: Sequence[Tag]) -> list[float] | None:
    """The feature vector of a window, or None if some tag has too little good data."""
    out: list[float] = []
    for t in tags:
        vals = window.values.get(t.name, [])
        expected = window.length_ms / 1000 / t.period
        if len(vals) < max(2, math.floor(expected * MIN_COVERAGE)):
            return None
        if t.quantity == "count":
            times = window.times[t.name]
            hours = (times[-1] - times[0]) / 3_600_000
            out.append((vals[-1] - vals[0]) / hours if hours > 0 else 0.0)
        else:
            out += [_mean(vals), _noise(vals)]
    return out


def _mean(vals: Sequence[float]) -> float:
    """Mean of a window's values; ``inf`` where the sum overflows (tags ranged beyond 1e300)."""
    try:
        return math.fsum(vals) / len(vals)
    except OverflowError:
        return math.inf


def _noise(vals: Sequence[float]) -> float:
    """Standard deviation of successive differences over sqrt(2) (``len(vals) >= 2``).

    Plain Python on the few dozen values of a window: ~10x faster than numpy's per-call
    overhead, and ``fsum`` is exact where numpy's pairwise sum rounds. ``inf`` where a square
    overflows (values beyond ~1e154, which numpy also turned into ``inf``).
    """
    steps = list(map(sub, vals[1:], vals))  # C loops (map), no Python frame per value
    try:
        mean = math.fsum(steps) / len(steps)
        squares = map(pow, map(sub, steps, repeat(mean)), repeat(2))  # as ``(d - mean) ** 2``
        return math.sqrt(math.fsum(squares) / len(steps)) / _SQRT2
    except (OverflowError, ValueError):  # fsum: an overflow, or steps of +inf and -inf
        return math.inf


def feature_rows(
    samples: Iterable[Sample], assets: dict[str, Sequence[Tag]], *, window_s: float, hop_s: float,
) -> tuple[NDArray[np.float64], list[tuple[str, int]]]:
    """Feature matrix for stored samples (sorted by time), cut exactly as live scoring cuts.

    Returns the rows and, per row, (asset id, window end ms).
    """
    windows = {
        a: AssetWindows(a, [t.name for t in tags], window_s=window_s, hop_s=hop_s, lateness_s=0)
        for a, tags in assets.items()
    }
    rows: list[list[float]] = []
    keys: list[tuple[str, int]] = []

    def take(ws: Sequence[Window]) -> None:
        for w in ws:
            vec = features_of(w, assets[w.asset])
            if vec is not None:
                rows.append(vec)
                keys.append((w.asset, w.end_ms))

    for s in samples:
        aw = windows.get(s.address.asset)
        if aw is not None:
            take(aw.add(s))
    width = len(feature_names(next(iter(assets.values())))[0]) if assets else 0
    matrix = np.asarray(rows, dtype=np.float64).reshape(len(rows), width)
    return matrix, keys


def use_case_tags(spec: PlantSpec, uc: UseCase) -> list[Tag]:
    """The tags a use case's model reads: those of its first asset, which all its assets share.

    Raises ``SpecError`` naming the asset whose tags differ, because one model per asset type
    needs one feature vector.
    """
    assets = spec.use_case_assets(uc)
    if not assets:
        raise SpecError("spec", None, f"use_cases.{uc.id}", "watches no asset")
    first = assets[0][3]
    names = [t.name for t in first.tags]
    for *_, asset in assets[1:]:
        if sorted(t.name for t in asset.tags) != sorted(names):
            raise SpecError("spec", None, f"use_cases.{uc.id}",
                            f"asset {asset.id!r} has tags {sorted(t.name for t in asset.tags)}, "
                            f"but {first.id!r} has {sorted(names)}; one model needs one tag set")
    return list(first.tags)
