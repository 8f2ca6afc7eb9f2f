"""The one protocol every drift detector implements, and the false-alarm budget it honours.

A detector reads one stream, value by value (``update``) or a batch at a time
(``update_many``), and says after each step whether the stream has drifted (``drifted``) and
by how much (``statistic``: the figure its threshold is compared with). A covariate detector
reads one feature's values against its reference; a concept detector reads an error stream
(1 for a wrong call, 0 for a right one, or a loss).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Budget", "Detector", "finite", "nan"]


@runtime_checkable
class Detector(Protocol):
    """What every drift detector offers (covariate and concept alike)."""

    def update(self, x: float) -> bool:
        """Take one value; return ``drifted`` after it."""
        ...

    def update_many(self, xs: ArrayLike) -> int:
        """Take the values in order (as ``update`` one by one would); return the alarms raised."""
        ...

    @property
    def drifted(self) -> bool:
        """Whether the last step raised an alarm (the value that completed a window, or a cut)."""
        ...

    @property
    def statistic(self) -> float:
        """The figure the threshold is compared with, as of the last step (``nan`` before any)."""
        ...


@dataclass(frozen=True, slots=True)
class Budget:
    """A false-alarm budget: at most ``alarms`` alarms per ``per`` steps of a stationary stream.

    A step is a window for a windowed detector (PSI, KS, Wasserstein) and an update for a
    streaming one (Page-Hinkley, ADWIN). A plant engineer states the budget ("one false alarm
    per 1,000 windows per feature"); the detector derives its threshold from it, so that the
    threshold means the same for every feature and statistic, unlike a bare p-value that says
    nothing about how often a person is called out over a month.

    >>> Budget(1, 1000).rate
    0.001
    """

    alarms: float
    per: int

    def __post_init__(self) -> None:
        if not (self.alarms > 0 and self.per >= 1 and self.alarms <= self.per):
            raise ValueError(f"budget: need 0 < alarms <= per, got {self.alarms} per {self.per}")

    @property
    def rate(self) -> float:
        """The allowed false alarms per step (the per-window false-alarm probability)."""
        return self.alarms / self.per

    def allows(self, steps: int) -> float:
        """The alarms the budget allows over ``steps`` steps."""
        return self.rate * steps


def finite(xs: ArrayLike) -> tuple[np.ndarray, int]:
    """The finite values of ``xs`` as float64, and how many were not (NaN, inf: missing)."""
    a = np.asarray(xs, dtype=np.float64).ravel()
    ok = np.isfinite(a)
    if ok.all():
        return a, 0
    return a[ok], int(a.size - np.count_nonzero(ok))


def nan() -> float:
    """``nan``: the statistic before a detector has seen anything."""
    return math.nan
