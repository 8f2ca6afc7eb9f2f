"""PCA-tail: PCA-SPE's statistics turned into a calibrated score, comparable across series.

PCA-SPE's score is a squared residual in the units of its own training data: a threshold of
9 on one pump and 14 on another say nothing to each other. This kind keeps the same
standardised PCA (``andon.scoring.pca_spe``) and asks, for each window, **how improbable it
is under the healthy training distribution**, on both statistics at once:

- the residual off the healthy directions (SPE, the Q statistic), and
- the distance along them (Hotelling's T²), which catches an operating point never seen in
  training that SPE alone can miss (with one tag, the PCA has one component and most of a
  spike moves along it).

Each statistic's training distribution is matched, by its mean and variance, to a scaled
chi-square ``g·χ²(h)`` (Box 1954; the usual approximation for Q and T² when the data are
not exactly Gaussian), giving a tail probability per window; the two are combined by
Bonferroni (``p = min(1, 2·min(p_spe, p_t2))``). The **score** is ``-log10 p``: 3 means "one
healthy window in a thousand looks at least this unusual", on every asset and series alike,
so one threshold policy can serve a fleet. The threshold is ``-log10(alpha)`` (default alpha
1e-3, threshold 3). A score is explained by the statistic behind it: each feature's share of
the squared residual (as PCA-SPE) or of T².

When to use it: the same multivariate, correlated-tag use cases as PCA-SPE, when scores of
several assets or series must mean the same thing (fleet thresholds, ranking assets), or when
faults may move the process *along* its usual directions. It is opt-in (``model_kind:
pca-tail``); PCA-SPE stays the default.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from andon.scoring.contribution import Contribution
from andon.scoring.kinds import Fitted, ModelPlugin, TrainingSet
from andon.scoring.model import Matrix, Score
from andon.scoring.pca_spe import T2_QUANTILE, PcaSpeModel

if TYPE_CHECKING:
    from andon.scoring.artifact import ModelMeta

__all__ = ["PLUGIN", "PcaTailModel", "PcaTailParams"]

KIND = "pca-tail"
#: scores are capped here (p below 1e-300 is "impossible" either way; keeps them finite)
MAX_SCORE = 300.0


class PcaTailModel(PcaSpeModel):
    """PCA with a calibrated score: ``-log10`` of the healthy tail probability of SPE and T².

    >>> rng = np.random.default_rng(7)
    >>> load = rng.uniform(0.5, 1.0, 400)
    >>> X = np.column_stack([load * 100, load * 40 + 5, rng.normal(2.0, 0.1, 400)])
    >>> m = PcaTailModel.fit_tail(X, ["flow", "current", "vibration"], ["m^3/h", "A", "mm/s"])
    >>> m.threshold
    3.0
    >>> m.score(np.array([80.0, 37.0, 2.0])).value < m.threshold
    True
    >>> s = m.score(np.array([80.0, 37.0, 4.0]))
    >>> s.value > m.threshold, s.why[0].feature
    (True, 'vibration')
    """

    kind = KIND

    def __init__(self, pipeline: Any, features: list[str], units: list[str], threshold: float,
                 top: int = 3, *, t2_limit: float | None = None,
                 calibration: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)) -> None:
        super().__init__(pipeline, features, units, threshold, top, t2_limit=t2_limit)
        #: (g, h) of SPE, then of T²: each matched to g·χ²(h) on the training windows
        self.calibration = tuple(float(c) for c in calibration)

    @classmethod
    def fit_tail(cls, X: Matrix, features: list[str], units: list[str], *,  # noqa: N803
                 variance: float = 0.9, alpha: float = 1e-3, top: int = 3) -> PcaTailModel:
        """Fit the PCA on healthy rows and calibrate both statistics on them."""
        base = PcaSpeModel.fit(X, features, units, variance=variance, top=top)
        g1, h1 = _moments(base.spe(X))
        g2, h2 = _moments(base.t2(X))
        return cls(base.pipeline, features, units, -math.log10(alpha), top,
                   t2_limit=base.t2_limit, calibration=(g1, h1, g2, h2))

    def score_many(self, X: Matrix) -> list[Score]:  # noqa: N803
        """Score each row (``-log10`` tail probability), explained by the statistic behind it.

        Where SPE is the less probable of the two, each feature's share of the squared
        residual (as PCA-SPE); where T² is, each feature's share of T² (``z_i`` times its
        weight in the subspace; negative parts, which pull T² down, count as none).
        """
        from scipy.special import gammaincc  # noqa: PLC0415 - the chi-square survival function

        X = np.atleast_2d(X)  # noqa: N806
        g1, h1, g2, h2 = self.calibration
        scaler = self.pipeline.named_steps["scale"]
        pca = self.pipeline.named_steps["pca"]
        Z = scaler.transform(X)  # noqa: N806
        t = pca.transform(Z)
        variances = np.maximum(np.asarray(pca.explained_variance_, dtype=np.float64), 1e-12)
        residual = Z - pca.inverse_transform(t)
        spe_parts = residual**2
        t2_parts = Z * ((t / variances) @ pca.components_)  # sums to T² per row
        p_spe = gammaincc(h1 / 2, spe_parts.sum(axis=1) / g1 / 2)
        p_t2 = gammaincc(h2 / 2, t2_parts.sum(axis=1) / g2 / 2)
        p = np.minimum(1.0, 2 * np.minimum(p_spe, p_t2))
        with np.errstate(divide="ignore"):
            values = np.minimum(-np.log10(p), MAX_SCORE)
        means, scales = scaler.mean_, scaler.scale_
        out = []
        for k, row in enumerate(X):
            by_t2 = bool(p_t2[k] < p_spe[k])
            parts = np.maximum(t2_parts[k] if by_t2 else spe_parts[k], 0.0)
            total = float(parts.sum())
            why = tuple(
                Contribution(feature=self.features[i], value=float(row[i]),
                             baseline=float(means[i]), spread=float(scales[i]),
                             share=float(parts[i] / total) if total > 0 else 0.0,
                             unit=self.units[i], deviation=float(Z[k, i]),
                             # T²'s parts are no residual: the deviation says what moved
                             residual=None if by_t2 else float(residual[k, i]))
                for i in np.argsort(-parts)[: self.top]
            )
            out.append(Score(float(values[k]), self.threshold, why))
        return out


def _moments(stat: Matrix) -> tuple[float, float]:
    """(g, h) with g·χ²(h) of the statistic's mean and variance (floored: never degenerate)."""
    mean = max(float(np.mean(stat)), 1e-12)
    var = max(float(np.var(stat)), 1e-12 * mean * mean)
    return var / (2 * mean), 2 * mean * mean / var


class PcaTailParams(BaseModel):
    """Parameters of a PCA-tail model (a use case's ``model_params``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    variance: float = Field(default=0.9, gt=0.0, le=1.0,
                            description="share of the healthy variance the PCA keeps")
    alpha: float = Field(default=1e-3, gt=0.0, lt=0.5,
                         description="healthy tail probability below which a window is "
                         "anomalous (threshold = -log10 alpha)")


def _fit(data: TrainingSet, params: Any) -> Fitted:
    p = params if isinstance(params, PcaTailParams) else PcaTailParams()
    model = PcaTailModel.fit_tail(data.X, data.features, data.units, variance=p.variance,
                                  alpha=p.alpha, top=data.top)
    g1, h1, g2, h2 = model.calibration
    return Fitted(model, params={
        "components": int(model.pipeline.named_steps["pca"].n_components_),
        "variance": p.variance, "alpha": p.alpha, "t2_quantile": T2_QUANTILE,
    }, metrics={"spe_g": g1, "spe_h": h1, "t2_g": g2, "t2_h": h2})


def _dump(model: Any) -> Any:
    if not isinstance(model, PcaTailModel):
        raise TypeError(f"not a PCA-tail model: {type(model).__name__}")
    return {"pipeline": model.pipeline, "calibration": list(model.calibration)}


def _load(state: Any, meta: ModelMeta, top: int) -> PcaTailModel:
    if not isinstance(state, dict) or set(state) != {"pipeline", "calibration"}:
        raise ValueError("the artifact is not a PCA-tail state (pipeline and calibration)")
    pipeline, calibration = state["pipeline"], state["calibration"]
    expected = getattr(pipeline, "n_features_in_", None)
    if expected != len(meta.features) or len(meta.units) != len(meta.features):
        raise ValueError(f"metadata lists {len(meta.features)} features and {len(meta.units)} "
                         f"units; the artifact expects {expected}")
    if len(calibration) != 4 or not all(float(c) > 0 for c in calibration):  # noqa: PLR2004
        raise ValueError(f"calibration must be four positive numbers, got {calibration!r}")
    g1, h1, g2, h2 = (float(c) for c in calibration)
    return PcaTailModel(pipeline, meta.features, meta.units, meta.threshold, top=top,
                        t2_limit=meta.t2_limit, calibration=(g1, h1, g2, h2))


PLUGIN = ModelPlugin(
    name=KIND,
    summary="PCA on standardised features; the score is -log10 of the healthy tail "
    "probability of SPE and T² together (calibrated: comparable across assets and series).",
    config=PcaTailParams,
    fit=_fit,
    dump=_dump,
    load=_load,
    trusted=frozenset({"sklearn.pipeline.Pipeline", "sklearn.preprocessing._data.StandardScaler",
                       "sklearn.decomposition._pca.PCA"}),
)
