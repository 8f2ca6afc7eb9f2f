"""A compact, mergeable sketch of one feature's distribution: counts over fixed bin edges.

The edges come from the reference (a model version's training data): its minimum, its
quantiles and just above its maximum, so each bin holds about the same share of the reference
and values outside the reference's range land in bins of their own. A sketch is the edges,
one count per bin, the minimum, the maximum and the count of missing values: its size is fixed
by the number of bins, however many values it has seen (64 bins: about 1 KiB). It is what is
stored with a model version and shipped to the edge (no raw reference data), and what the edge
keeps for the current window.

Two sketches on the same edges **merge** by adding counts (minimum of minima, maximum of
maxima): the sketch of two streams is the merge of their sketches, so edges, lines or shifts
can be sketched apart and combined centrally.

>>> import numpy as np
>>> rng = np.random.default_rng(7)
>>> ref = BinnedSketch.from_reference(rng.normal(size=10_000), bins=8)
>>> len(ref.counts), ref.total
(10, 10000)
>>> a, b = ref.empty(), ref.empty()
>>> a.update_many([0.1, 2.5]); b.update(-4.0)
>>> a.merge(b).counts.tolist()
[1, 0, 0, 0, 0, 1, 0, 0, 1, 0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from andon.drift.base import finite

__all__ = ["BinnedSketch"]


@dataclass(slots=True, eq=False)
class BinnedSketch:
    """Counts of one feature's values over fixed edges (see the module docstring).

    Bin ``0`` is ``(-inf, edges[0])``, bin ``i`` is ``[edges[i-1], edges[i])``, the last is
    ``[edges[-1], inf)``: ``len(counts) == len(edges) + 1``.
    """

    edges: np.ndarray
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    minimum: float = math.inf
    maximum: float = -math.inf
    missing: int = 0

    def __post_init__(self) -> None:
        self.edges = np.asarray(self.edges, dtype=np.float64)
        if self.edges.ndim != 1 or self.edges.size == 0:
            raise ValueError("sketch: edges must be a non-empty 1-D array")
        if not (np.all(np.isfinite(self.edges)) and np.all(np.diff(self.edges) > 0)):
            raise ValueError("sketch: edges must be finite and strictly increasing")
        if self.counts.size == 0:
            self.counts = np.zeros(self.edges.size + 1, dtype=np.int64)
        self.counts = np.asarray(self.counts, dtype=np.int64)
        if self.counts.shape != (self.edges.size + 1,):
            raise ValueError(f"sketch: {self.edges.size} edges need {self.edges.size + 1} "
                             f"counts, got {self.counts.size}")

    @classmethod
    def from_reference(cls, values: ArrayLike, bins: int = 64) -> BinnedSketch:
        """The sketch of ``values`` on edges at their ``bins``-quantiles (the reference's own).

        The edges are the minimum, the ``i / bins`` quantiles (order statistics, no
        interpolation) and the value just above the maximum, without repeats; a feature with
        few distinct values gets one bin per value.
        """
        x, missing = finite(values)
        if x.size == 0:
            raise ValueError("sketch: the reference holds no finite value")
        if bins < 1:
            raise ValueError(f"sketch: bins must be >= 1, got {bins}")
        s = np.sort(x)
        return cls.from_sorted(s, bins=bins, missing=missing)

    @classmethod
    def from_sorted(cls, s: np.ndarray, bins: int = 64, missing: int = 0) -> BinnedSketch:
        """``from_reference`` on finite values already sorted (saves the sort)."""
        edges = reference_edges(s, bins)
        counts = np.diff(np.searchsorted(s, edges, side="left"), prepend=0, append=s.size)
        return cls(edges, counts.astype(np.int64), float(s[0]), float(s[-1]), missing)

    def empty(self) -> BinnedSketch:
        """A sketch on the same edges that has seen nothing (for a current window)."""
        return BinnedSketch(self.edges)

    @property
    def total(self) -> int:
        """How many finite values the sketch has seen."""
        return int(self.counts.sum())

    @property
    def nbytes(self) -> int:
        """The bytes its arrays hold: fixed by the number of bins, never by the values seen."""
        return int(self.edges.nbytes + self.counts.nbytes)

    def update(self, x: float) -> None:
        """Count one value (NaN or infinite: counted as missing)."""
        if not math.isfinite(x):
            self.missing += 1
            return
        self.counts[int(np.searchsorted(self.edges, x, side="right"))] += 1
        self.minimum = min(self.minimum, x)
        self.maximum = max(self.maximum, x)

    def update_many(self, xs: ArrayLike) -> None:
        """Count every value of ``xs`` (vectorised; the same counts as ``update`` one by one)."""
        x, missing = finite(xs)
        self.missing += missing
        if x.size == 0:
            return
        idx = np.searchsorted(self.edges, x, side="right")
        self.counts += np.bincount(idx, minlength=self.counts.size)
        self.minimum = min(self.minimum, float(x.min()))
        self.maximum = max(self.maximum, float(x.max()))

    def reset(self) -> None:
        """Forget every value (keep the edges)."""
        self.counts[:] = 0
        self.minimum, self.maximum, self.missing = math.inf, -math.inf, 0

    def merge(self, other: BinnedSketch) -> BinnedSketch:
        """The sketch of both streams: counts added; both must have the same edges."""
        if not np.array_equal(self.edges, other.edges):
            raise ValueError("sketch: cannot merge sketches on different edges "
                             f"({self.edges.size} vs {other.edges.size} edges, or moved)")
        return BinnedSketch(self.edges, self.counts + other.counts,
                            min(self.minimum, other.minimum), max(self.maximum, other.maximum),
                            self.missing + other.missing)

    def proportions(self) -> np.ndarray:
        """Each bin's share of the values (zeros when empty)."""
        n = self.total
        return self.counts / n if n else np.zeros(self.counts.size)

    def cdf_knots(self) -> tuple[np.ndarray, np.ndarray]:
        """The piecewise-linear CDF the sketch stands for: x and F(x) at its knots.

        Knots are the minimum, each edge (clipped into [minimum, maximum]) and the maximum;
        between knots the values are taken as spread evenly.
        """
        lo, hi = self.minimum, self.maximum
        xs = np.concatenate(([lo], np.clip(self.edges, lo, hi), [hi]))
        fs = np.concatenate(([0.0], np.cumsum(self.proportions())[:-1], [1.0]))
        return xs, np.maximum.accumulate(fs)

    def same_as(self, other: BinnedSketch) -> bool:
        """Equal edges, counts, extremes and missing count."""
        return (np.array_equal(self.edges, other.edges)
                and np.array_equal(self.counts, other.counts)
                and self.minimum == other.minimum and self.maximum == other.maximum
                and self.missing == other.missing)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (stored with a model version)."""
        return {"edges": self.edges.tolist(), "counts": self.counts.tolist(),
                "min": self.minimum, "max": self.maximum, "missing": self.missing}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BinnedSketch:
        """The sketch ``to_dict`` wrote (a missing or malformed field: ``ValueError`` naming it)."""
        for key in ("edges", "counts", "min", "max", "missing"):
            if key not in d:
                raise ValueError(f"sketch: the stored form lacks {key!r}")
        try:
            return cls(np.asarray(d["edges"], dtype=np.float64),
                       np.asarray(d["counts"], dtype=np.int64),
                       float(d["min"]), float(d["max"]), int(d["missing"]))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"sketch: the stored form is malformed: {exc}") from None


def reference_edges(s: np.ndarray, bins: int) -> np.ndarray:
    """Bin edges of sorted finite values: minimum, ``i / bins`` order statistics, past maximum."""
    n = s.size
    inner = s[(np.arange(1, bins) * n) // bins] if bins > 1 else s[:0]
    top = np.nextafter(s[-1], np.inf)
    return np.unique(np.concatenate(([s[0]], inner, [top])))
