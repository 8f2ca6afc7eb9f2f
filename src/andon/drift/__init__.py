"""Drift: whether what a model sees, or how well it does, has moved away from what it learnt.

A model version carries a **reference** for each feature, a compact mergeable sketch of its
training data (``sketch.BinnedSketch``: counts over the reference's quantile bins, a fixed
size). Covariate detectors compare each feature's recent windows with it: **PSI** (``psi``:
has the mix over the bins changed?), **Kolmogorov-Smirnov** (``ks``: the largest gap between
the two CDFs) and **Wasserstein** (``wasserstein``: how far, in the feature's unit, the values
moved). Concept detectors watch the error stream of the track record: **Page-Hinkley**
(``page_hinkley``: a sustained rise) and **ADWIN** (``adwin``: a change of any size, with a
window that adapts). ``exact`` computes the three covariate statistics exactly on raw arrays
(backtests, reports), vectorised per feature.

Every detector implements ``base.Detector`` (``update``, ``update_many``, ``drifted``,
``statistic``) and honours a **false-alarm budget** (``base.Budget``: at most so many alarms
per so many windows or values of a stationary stream) instead of a bare p-value. Good means:
a real shift is seen within a stated delay, a stationary stream stays inside its budget, and
memory stays bounded however long the stream runs (``andon.testing.conformance.drift``).
Pure domain code: numpy, no I/O, no clock.
"""

from andon.drift.adwin import ADWIN
from andon.drift.base import Budget, Detector
from andon.drift.exact import DriftStatistics, drift_statistics
from andon.drift.ks import KsDetector, ks
from andon.drift.page_hinkley import PageHinkley
from andon.drift.psi import PsiDetector, psi
from andon.drift.sketch import BinnedSketch
from andon.drift.wasserstein import WassersteinDetector, wasserstein

__all__ = [
    "ADWIN",
    "BinnedSketch",
    "Budget",
    "Detector",
    "DriftStatistics",
    "KsDetector",
    "PageHinkley",
    "PsiDetector",
    "WassersteinDetector",
    "drift_statistics",
    "ks",
    "psi",
    "wasserstein",
]
