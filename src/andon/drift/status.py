"""Covariate drift of one asset over a period: each feature's windows against the reference.

A model version keeps a **reference**: one ``BinnedSketch`` per feature of its training
windows (``reference_of``, written beside the artifact when it is trained). ``feature_drift``
sketches a period's windows of one asset on the same edges and gives, per feature, PSI, KS and
Wasserstein (their sketch forms, so no raw reference data is needed; PSI on ten equal-share
bins, ``coarse``, as it is usually read), and calls a feature **moved** when its PSI passes
``psi_limit`` (0.25 by default: the plant-floor reading of PSI, "a large shift") beyond the
PSI sampling alone gives an unchanged feature at these counts (``psi_noise``), over at least
``min_windows`` windows. A period's windows overlap and follow each other, so they are far
from independent draws: a p-value or a budget calibrated on independent windows would call a
healthy machine drifted; PSI's limit is read the same on every feature, and the figures are
shown beside it. The
streaming detectors (``PsiDetector`` and the others, with their false-alarm budget) are for
monitors that read windows as they close.

>>> import numpy as np
>>> rng = np.random.default_rng(2)
>>> ref = reference_of(rng.normal(size=(5_000, 2)), ["a.mean", "b.mean"])
>>> now = rng.normal(size=(400, 2)) + [0.0, 1.0]   # b moved by one standard deviation
>>> [(f.feature, f.moved) for f in feature_drift(ref, now, ["a.mean", "b.mean"])]
[('a.mean', False), ('b.mean', True)]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from andon.drift.ks import ks
from andon.drift.psi import psi_counts
from andon.drift.sketch import BinnedSketch
from andon.drift.wasserstein import wasserstein

__all__ = [
    "PSI_LIMIT",
    "FeatureDrift",
    "coarse",
    "feature_drift",
    "reference_document",
    "reference_from_document",
    "reference_of",
]

#: PSI at or above which a feature has moved ("a large shift" by the usual reading)
PSI_LIMIT = 0.5
#: the fewest windows a period needs before a feature can be called moved
MIN_WINDOWS = 30
#: bins of a reference sketch (Wasserstein from a sketch needs a few dozen to be close)
BINS = 64
#: bins PSI is computed on: its usual ten (with 64, a period of a few hundred windows would
#: read as a shift from sampling noise alone: PSI's bias is about bins / windows)
PSI_GROUPS = 8
#: the form of a stored reference
FORMAT = "andon.drift.reference.v1"


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    """One feature of one asset over a period, against the model version's reference."""

    feature: str
    unit: str
    windows: int  # finite values of the period
    psi: float
    psi_noise: float  # the PSI an unchanged feature shows at these counts (sampling alone)
    ks: float
    wasserstein: float  # in the feature's unit
    reference_mean: float
    current_mean: float
    moved: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (NaN as None)."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in asdict(self).items()}


def reference_of(x: ArrayLike, names: Sequence[str], bins: int = BINS) -> dict[str, BinnedSketch]:
    """One sketch per column of the training matrix ``x`` (rows: windows), by feature name."""
    matrix = np.asarray(x, dtype=np.float64).reshape(-1, len(names))
    return {name: BinnedSketch.from_reference(matrix[:, j], bins=bins)
            for j, name in enumerate(names)
            if np.isfinite(matrix[:, j]).any()}


def reference_document(sketches: dict[str, BinnedSketch]) -> dict[str, Any]:
    """The stored form of a reference: ``{"format", "features": {name: sketch}}``."""
    return {"format": FORMAT, "features": {n: s.to_dict() for n, s in sketches.items()}}


def reference_from_document(doc: object) -> dict[str, BinnedSketch]:
    """The reference ``reference_document`` wrote; ``ValueError`` naming what is wrong."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"not a drift reference (expected format {FORMAT!r})")
    features = doc.get("features")
    if not isinstance(features, dict):
        raise ValueError("drift reference: 'features' must be an object")  # noqa: TRY004
    out = {}
    for name, sketch in features.items():
        if not isinstance(sketch, dict):
            raise ValueError(f"drift reference: feature {name!r} is not a sketch")  # noqa: TRY004
        try:
            out[str(name)] = BinnedSketch.from_dict(sketch)
        except ValueError as exc:
            raise ValueError(f"drift reference: feature {name!r}: {exc}") from None
    return out


def coarse(sketch: BinnedSketch, groups: int = PSI_GROUPS) -> np.ndarray:
    """The sketch's counts on ``groups`` equal-share bins (plus the two outside the reference).

    The reference's inner bins hold equal shares, so consecutive ones are merged into
    ``groups`` of about equal share; the bins below the reference's minimum and above its
    maximum stay apart (a value outside what the model saw is the clearest drift there is).
    """
    counts = sketch.counts
    inner = counts[1:-1]
    if inner.size <= groups:
        return counts
    merged = [int(c.sum()) for c in np.array_split(inner, groups)]
    return np.asarray([counts[0], *merged, counts[-1]], dtype=np.int64)


def _mean(sketch: BinnedSketch) -> float:
    """The mean of a sketch's piecewise-linear distribution (nan when empty)."""
    if sketch.total == 0:
        return math.nan
    xs, fs = sketch.cdf_knots()
    mids = (xs[1:] + xs[:-1]) / 2
    return float(np.sum(mids * np.diff(fs)))


def feature_drift(reference: dict[str, BinnedSketch], x: ArrayLike, names: Sequence[str],
                  units: Sequence[str] | None = None, *, psi_limit: float = PSI_LIMIT,
                  min_windows: int = MIN_WINDOWS) -> list[FeatureDrift]:
    """Each referenced feature of the period's windows ``x`` (rows) against its sketch.

    Features the reference lacks (added since the version was trained, or never finite) are
    left out. A feature is ``moved`` when its PSI passes ``psi_limit`` beyond ``psi_noise``,
    what sampling alone gives an unchanged feature (about ``(bins - 1) * (1/n + 1/m)`` for n
    windows against m reference windows: 0.08 for a day of 10-minute hops against two days),
    over at least ``min_windows`` finite windows.
    """
    matrix = np.asarray(x, dtype=np.float64).reshape(-1, len(names))
    unit_of = list(units) if units is not None else [""] * len(names)
    out = []
    for j, name in enumerate(names):
        ref = reference.get(name)
        if ref is None:
            continue
        cur = ref.empty()
        cur.update_many(matrix[:, j])
        n = cur.total
        if n == 0:
            out.append(FeatureDrift(name, unit_of[j], 0, math.nan, math.nan, math.nan, math.nan,
                                    _mean(ref),
                                    math.nan, moved=False))
            continue
        bins = coarse(ref)
        p = float(psi_counts(bins, coarse(cur)))
        noise = (bins.size - 1) * (1 / n + 1 / max(ref.total, 1))
        k, w = ks(ref, cur), wasserstein(ref, cur)
        out.append(FeatureDrift(name, unit_of[j], n, p, noise, k, w, _mean(ref), _mean(cur),
                                moved=n >= min_windows and p - noise >= psi_limit))
    return out
