"""Point-wise detection figures on a labelled series, as the SKAB leaderboard defines them.

Each sample is a binary classification: labelled anomalous or not, predicted anomalous or not.
Over several series the counts are summed before any ratio is taken (micro-average), as
SKAB's own ``binary`` metric does:

- **F1** = TP / (TP + (FP + FN) / 2);
- **FAR** (false alarm rate, %) = 100 · FP / (FP + TN): the share of normal samples flagged;
- **MAR** (missed alarm rate, %) = 100 · FN / (FN + TP): the share of anomalous samples missed.

A ratio whose denominator is 0 is ``None`` (not a number to print as 0).

>>> c = Confusion.of([0, 0, 1, 1, 1, 0], [0, 1, 1, 1, 0, 0])
>>> (c.tp, c.fp, c.fn, c.tn), round(c.f1 or 0, 4), round(c.far or 0, 2), round(c.mar or 0, 2)
((2, 1, 1, 2), 0.6667, 33.33, 33.33)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Confusion"]


@dataclass(frozen=True, slots=True)
class Confusion:
    """Sample counts of a detector against labels; add two to pool series (micro-average)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @classmethod
    def of(cls, labels: Sequence[int | bool], predicted: Sequence[int | bool]) -> Confusion:
        """Counts of ``predicted`` against ``labels`` (truthy = anomalous), sample by sample."""
        if len(labels) != len(predicted):
            raise ValueError(f"{len(labels)} labels but {len(predicted)} predictions")
        tp = fp = fn = tn = 0
        for y, p in zip(labels, predicted, strict=True):
            if y and p:
                tp += 1
            elif p:
                fp += 1
            elif y:
                fn += 1
            else:
                tn += 1
        return cls(tp, fp, fn, tn)

    @classmethod
    def pooled(cls, parts: Iterable[Confusion]) -> Confusion:
        """The counts of several series summed."""
        total = cls()
        for c in parts:
            total += c
        return total

    def __add__(self, other: Confusion) -> Confusion:
        return Confusion(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn,
                         self.tn + other.tn)

    @property
    def samples(self) -> int:
        """Samples counted."""
        return self.tp + self.fp + self.fn + self.tn

    @property
    def f1(self) -> float | None:
        """F1 score; None without any labelled or predicted anomaly."""
        d = self.tp + (self.fp + self.fn) / 2
        return self.tp / d if d else None

    @property
    def far(self) -> float | None:
        """False alarm rate in %: flagged normal samples over all normal samples."""
        d = self.fp + self.tn
        return 100 * self.fp / d if d else None

    @property
    def mar(self) -> float | None:
        """Missed alarm rate in %: unflagged anomalous samples over all anomalous samples."""
        d = self.fn + self.tp
        return 100 * self.fn / d if d else None
