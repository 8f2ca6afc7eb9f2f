"""Changepoint detection judged the NAB way, as the SKAB leaderboard scores it.

Each true changepoint opens a **scoring window** of ``width`` to its right, ``[cp, cp +
width]`` (a window that would overlap the next one is cut: the next starts where it ends).
A detector's changepoints are the times its verdict flips (normal -> anomalous or back; a
series that starts anomalous has one at its first sample).

- The first detection inside a window is a true positive worth between ``A_tp`` (right at the
  changepoint) and ``A_fp`` (at the window's end), along a scaled tanh: early is better.
  Later detections in the same window count nothing.
- A window without a detection is a miss, worth ``A_fn``.
- A detection outside every window is a false positive, worth ``A_fp``.

Summed over series, the score is normalised between the null detector (every window missed:
0) and the perfect one (each changepoint detected at once: 100). Three profiles weigh the
terms (Numenta Anomaly Benchmark, Lavin & Ahmad 2015): standard ``(A_tp, A_fp, A_fn) = (1,
-0.11, -1)``, low FP ``(1, -0.22, -1)``, low FN ``(1, -0.11, -2)``.

>>> s = 1000  # times in ms
>>> nab = NabTally.of([10 * s], [12 * s, 100 * s], width_ms=60 * s)
>>> nab.missed, nab.false_positives, len(nab.positions)
(0, 1, 1)
>>> round(NabTally.pooled([nab]).score("standard"), 2)
93.95
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["PROFILES", "NabTally", "flips"]

#: (A_tp, A_fp, A_fn) per NAB profile
PROFILES: dict[str, tuple[float, float, float]] = {
    "standard": (1.0, -0.11, -1.0),
    "low_fp": (1.0, -0.22, -1.0),
    "low_fn": (1.0, -0.11, -2.0),
}
_STEPS = 1000  # the tanh curve is read at this many points across a window


def flips(times_ms: Sequence[int], anomalous: Sequence[int | bool]) -> list[int]:
    """The times a verdict changes; the first sample counts when it is already anomalous.

    >>> flips([1, 2, 3, 4, 5], [1, 1, 0, 0, 1])
    [1, 3, 5]
    """
    out: list[int] = []
    before = False
    for ts, now in zip(times_ms, anomalous, strict=True):
        if bool(now) != before:
            out.append(ts)
            before = bool(now)
    return out


@dataclass
class NabTally:
    """One or more series' detections against their changepoints' windows."""

    windows: int = 0
    missed: int = 0
    false_positives: int = 0
    #: where in its window each true positive fell: 0 at the changepoint .. 1 at the end
    positions: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, changepoints_ms: Sequence[int], detections_ms: Sequence[int], *,
           width_ms: int) -> NabTally:
        """Tally one series (both lists sorted by time)."""
        bounds: list[list[int]] = [[cp, cp + width_ms] for cp in sorted(changepoints_ms)]
        for a, b in itertools.pairwise(bounds):
            b[0] = max(a[1], b[0])  # overlapping: cut the right window
        tally = cls(windows=len(bounds))
        hits = [[t for t in detections_ms if lo <= t <= hi] for lo, hi in bounds]
        for (lo, hi), inside in zip(bounds, hits, strict=True):
            if inside:
                tally.positions.append((inside[0] - lo) / (hi - lo) if hi > lo else 0.0)
            else:
                tally.missed += 1
        tally.false_positives = sum(
            1 for t in detections_ms if not any(lo <= t <= hi for lo, hi in bounds))
        return tally

    @classmethod
    def pooled(cls, parts: Iterable[NabTally]) -> NabTally:
        """Several series' tallies together."""
        out = cls()
        for p in parts:
            out.windows += p.windows
            out.missed += p.missed
            out.false_positives += p.false_positives
            out.positions.extend(p.positions)
        return out

    def raw(self, profile: str) -> float:
        """The unnormalised sum under a profile."""
        a_tp, a_fp, a_fn = PROFILES[profile]
        return (a_fp * self.false_positives + a_fn * self.missed
                + sum(_weight(p, a_tp, a_fp) for p in self.positions))

    def score(self, profile: str = "standard") -> float:
        """0 (null detector) .. 100 (perfect); negative when worse than detecting nothing."""
        a_tp, _a_fp, a_fn = PROFILES[profile]
        perfect, null = self.windows * a_tp, self.windows * a_fn
        if perfect == null:
            return math.nan
        return 100 * (self.raw(profile) - null) / (perfect - null)


def _weight(position: float, a_tp: float, a_fp: float) -> float:
    """A true positive's worth: ``a_tp`` at the changepoint, falling to ``a_fp`` at the end."""
    step = min(int(position * _STEPS), _STEPS - 1)
    x = -math.pi / 2 + math.pi * step / (_STEPS - 1)
    half = (a_tp - a_fp) / 2
    return half * -math.tanh(x) / math.tanh(math.pi / 2) + half + a_fp
