"""Remaining useful life: a gradient-boosted regressor on causal, regime-normalised features.

For degradation use cases the question is not "is this window unusual" but "how many cycles
are left". ``RulRegressor`` answers it from a unit's history up to now:

1. **Operating regimes.** Sensors move with the operating condition (altitude, Mach,
   throttle) far more than with wear. Each cycle's condition settings are rounded onto a
   grid (``regime_of``); each sensor is standardised by the mean and standard deviation of
   its regime in training, so what is left is how the unit differs from units in the same
   condition. Sensors that never move in any regime are dropped.
2. **Features, causal.** At cycle ``t`` of a unit, from its cycles ``<= t`` only: per kept
   sensor the mean over the last 5 and the last 30 cycles and the least-squares slope over
   the last 30, plus the cycle count. A prediction never looks ahead.
3. **Regressor.** scikit-learn's ``HistGradientBoostingRegressor`` on the target
   ``min(RUL, cap)`` (the piece-wise linear target: a new unit's remaining life is not
   observable, only that it is long), seeded.

It is stored with skops (no pickle): ``dumps``/``loads`` check the artifact's types against
an allowlist first. When to use it: a unit runs to failure (or to a maintenance-relevant end
of life) many times in history, its sensors drift with wear, and the operating condition is
logged. It is not an anomaly model and is not scored by the edge yet: ``andon evaluate
cmapss`` measures it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from andon.scoring.artifact import _schema_types  # the same allowlist check as artifacts

__all__ = ["RUL_CAP", "RulRegressor", "regime_of"]

Matrix = NDArray[np.float64]
#: the piece-wise linear target's ceiling (Li et al. 2018 use 125; Heimes 2008 130)
RUL_CAP = 125.0
_SHORT, _LONG = 5, 30
#: the types a stored regressor may hold, beyond plain data and numpy arrays
_TRUSTED = frozenset({
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn._loss.loss.HalfSquaredError",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.Interval",
    "sklearn._loss._loss.CyHalfSquaredError",
    "numpy.dtype", "numpy.ndarray", "numpy.float64", "numpy.int64", "numpy.uint64",
    "numpy.random.mtrand.RandomState", "numpy.random._generator.Generator",
    "builtins.float", "builtins.int", "builtins.str", "builtins.NoneType", "builtins.dict",
    "builtins.list", "builtins.tuple", "builtins.bool", "builtins.slice",
})


def regime_of(settings: Matrix) -> list[str]:
    """The operating regime of each row: settings rounded onto a grid (0, 2 and 0 decimals).

    >>> regime_of(np.array([[0.0023, -0.0003, 100.0], [35.0, 0.8401, 100.0]]))
    ['0|0|100', '35|0.84|100']
    """
    out = []
    for row in np.atleast_2d(settings):
        parts = [round(float(v), d) + 0.0 for v, d in zip(row, (0, 2, 0), strict=False)]
        out.append("|".join(f"{p:g}" for p in parts))
    return out


@dataclass
class RulRegressor:
    """Regime normalisation + causal window features + gradient boosting (module docstring)."""

    sensors: list[str]  # the sensors kept (names given to ``fit``)
    keep: list[int]  # their column indexes in the input
    norms: dict[str, tuple[list[float], list[float]]]  # regime -> (means, stds) of kept
    model: Any  # the fitted HistGradientBoostingRegressor
    cap: float = RUL_CAP

    @classmethod
    def fit(cls, units: Sequence[tuple[Matrix, Matrix]], names: Sequence[str], *,
            cap: float = RUL_CAP, seed: int = 0) -> RulRegressor:
        """Fit on run-to-failure units, each ``(settings, sensors)`` rows in cycle order.

        The last cycle of each unit is its failure (RUL 0). ``ValueError`` without units.
        """
        from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: PLC0415 - heavy

        if not units:
            raise ValueError("no training units")
        settings = np.vstack([s for s, _ in units])
        values = np.vstack([v for _, v in units])
        regimes = regime_of(settings)
        stds = np.zeros(values.shape[1])
        for r in set(regimes):
            rows = values[[i for i, x in enumerate(regimes) if x == r]]
            stds = np.maximum(stds, rows.std(axis=0))
        scale = np.maximum(1.0, np.abs(values).max(axis=0))
        keep = [i for i in range(values.shape[1]) if stds[i] > 1e-6 * scale[i]]
        norms: dict[str, tuple[list[float], list[float]]] = {}
        for r in set(regimes):
            rows = values[[i for i, x in enumerate(regimes) if x == r]][:, keep]
            norms[r] = (rows.mean(axis=0).tolist(),
                        np.maximum(rows.std(axis=0), 1e-9).tolist())
        self = cls([names[i] for i in keep], keep, norms, None, cap)
        X = np.vstack([self.features(s, v) for s, v in units])  # noqa: N806
        y = np.concatenate([np.minimum(np.arange(len(v))[::-1], cap) for _, v in units])
        with _one_thread():
            self.model = HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05,
                                                       random_state=seed).fit(X, y)
        return self

    def normalised(self, settings: Matrix, values: Matrix) -> Matrix:
        """Kept sensors standardised by their regime (an unseen regime: the nearest known)."""
        out = np.empty((values.shape[0], len(self.keep)))
        regimes = np.asarray(regime_of(settings))
        known = list(self.norms)
        kept = values[:, self.keep]
        for r in set(regimes.tolist()):
            mean, std = self.norms.get(r) or self.norms[_nearest(r, known)]
            rows = regimes == r
            out[rows] = (kept[rows] - np.asarray(mean)) / np.asarray(std)
        return out

    def features(self, settings: Matrix, values: Matrix) -> Matrix:
        """One feature row per cycle of one unit, each from its cycles up to that one.

        Rolling sums from cumulative sums: at cycle ``i`` the window is ``[lo, i]``; the
        slope is the least-squares one, ``(sum(j z) - sum(j) sum(z) / n) / (sum(j²) -
        sum(j)² / n)`` over ``j`` in the window.
        """
        z = self.normalised(settings, values)
        n, k = z.shape
        idx = np.arange(n, dtype=np.float64)
        cz = np.vstack([np.zeros(k), np.cumsum(z, axis=0)])
        cjz = np.vstack([np.zeros(k), np.cumsum(z * idx[:, None], axis=0)])
        cj = np.concatenate([[0.0], np.cumsum(idx)])
        cjj = np.concatenate([[0.0], np.cumsum(idx * idx)])
        end = np.arange(1, n + 1)
        lo_s = np.maximum(0, end - _SHORT)
        lo_l = np.maximum(0, end - _LONG)
        m_s = (end - lo_s).astype(np.float64)
        m_l = (end - lo_l).astype(np.float64)
        mean_s = (cz[end] - cz[lo_s]) / m_s[:, None]
        sum_z = cz[end] - cz[lo_l]
        mean_l = sum_z / m_l[:, None]
        sum_j = cj[end] - cj[lo_l]
        sum_jj = cjj[end] - cjj[lo_l]
        sum_jz = cjz[end] - cjz[lo_l]
        den = sum_jj - sum_j * sum_j / m_l
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = (sum_jz - (sum_j / m_l)[:, None] * sum_z) / den[:, None]
        slope[den <= 0] = 0.0
        return np.column_stack([mean_s, mean_l, slope, end.astype(np.float64)])

    def predict(self, settings: Matrix, values: Matrix) -> Matrix:
        """Predicted RUL (cycles) at every cycle of one unit, causally, clipped to [0, cap]."""
        with _one_thread():
            got = self.model.predict(self.features(settings, values))
        return np.clip(np.asarray(got, dtype=np.float64), 0.0, self.cap)

    def dumps(self) -> bytes:
        """The regressor as a skops artifact (no pickle)."""
        import skops.io as sio  # noqa: PLC0415 - heavy

        return bytes(sio.dumps({"sensors": self.sensors, "keep": self.keep,
                                "norms": {r: [m, s] for r, (m, s) in self.norms.items()},
                                "model": self.model, "cap": self.cap}))

    @classmethod
    def loads(cls, blob: bytes) -> RulRegressor:
        """Load ``dumps``' bytes; ``ValueError`` naming any type outside the allowlist."""
        import skops.io as sio  # noqa: PLC0415 - heavy

        named = set(sio.get_untrusted_types(data=blob)) | _schema_types(blob)
        refused = sorted(named - _TRUSTED)
        if refused:
            raise ValueError(f"refusing untrusted types {refused}")
        state = sio.loads(blob, trusted=sorted(sio.get_untrusted_types(data=blob)))
        norms = {r: (list(m), list(s)) for r, (m, s) in state["norms"].items()}
        return cls(list(state["sensors"]), list(state["keep"]), norms, state["model"],
                   float(state["cap"]))


def _one_thread() -> Any:
    """OpenMP on one thread while boosting (scikit-learn's thread pools).

    On a shared 2-core machine its spinning threads made the gradient boosting ~13x slower
    (1.6 s on one thread against 20 s on two, FD001).
    """
    from threadpoolctl import threadpool_limits  # noqa: PLC0415 - scikit-learn's dependency

    return threadpool_limits(1)


def _nearest(regime: str, known: list[str]) -> str:
    def parts(r: str) -> NDArray[np.float64]:
        return np.asarray([float(p) for p in r.split("|")])

    here = parts(regime)
    return min(known, key=lambda r: float(np.abs(parts(r) - here).sum()))
