"""PCA-SPE, the built-in model kind: standardised features, PCA, the squared prediction error.

Healthy operation moves the features along a few correlated directions (load drives flow,
current, pressure and temperature together); PCA learns them. Degradation such as bearing wear
raises vibration and temperature *without* the matching change in load, off those directions,
so the squared residual (SPE, the Q statistic) grows. Each feature's share of the residual is
the "why" of a score.

**Confidence** of a detection is ``score / threshold``: how many times its alarm limit the SPE
is (1.0 right at the limit). **Training distribution**: Hotelling's T² of a window's scores
in the PCA subspace measures how far along the *healthy* directions it lies (an operating
point never seen in training, e.g. a load beyond the trained range); ``t2_limit`` is
``margin`` x its 99.9 % training quantile. A window above it is out of distribution: the model
extrapolates there, so a person should look before anyone acts on its score.

The kind is declared to Andon as ``PLUGIN`` (entry point ``pca-spe`` of ``andon.models``); its
artifact state is the scikit-learn pipeline (scaler, PCA), written by skops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from andon.scoring.contribution import Contribution
from andon.scoring.kinds import DEFAULT_MODEL_KIND, Fitted, ModelPlugin, TrainingSet
from andon.scoring.model import Matrix, Score

if TYPE_CHECKING:
    from andon.scoring.artifact import ModelMeta

__all__ = ["PLUGIN", "PcaSpeModel", "PcaSpeParams"]

#: Hotelling's T² quantile of the training windows that sets ``t2_limit`` (times ``margin``)
T2_QUANTILE = 0.999


class PcaSpeModel:
    """PCA-SPE anomaly model over a fixed, named feature vector.

    >>> rng = np.random.default_rng(7)
    >>> load = rng.uniform(0.5, 1.0, 400)
    >>> X = np.column_stack([load * 100, load * 40 + 5, rng.normal(2.0, 0.1, 400)])
    >>> m = PcaSpeModel.fit(X, ["flow", "current", "vibration"], ["m^3/h", "A", "mm/s"])
    >>> m.score(np.array([80.0, 37.0, 2.0])).value < m.threshold
    True
    >>> s = m.score(np.array([80.0, 37.0, 4.0]))
    >>> s.value > m.threshold, s.why[0].feature
    (True, 'vibration')
    """

    kind = DEFAULT_MODEL_KIND

    def __init__(self, pipeline: Any, features: list[str], units: list[str], threshold: float,
                 top: int = 3, *, t2_limit: float | None = None) -> None:
        self.pipeline = pipeline
        self.features = list(features)
        self.units = list(units)
        self.threshold = float(threshold)
        self.top = top
        #: T² above which a window is out of the training distribution (None: unknown)
        self.t2_limit = t2_limit

    @classmethod
    def fit(cls, X: Matrix, features: list[str], units: list[str], *,  # noqa: N803 - ML notation
            variance: float = 0.9, quantile: float = 0.995, margin: float = 2.0,
            top: int = 3) -> PcaSpeModel:
        """Fit on healthy rows; threshold = ``margin`` x the ``quantile`` of training SPE."""
        # scikit-learn takes ~1 s to import: only training needs it (a loaded pipeline brings
        # its own classes), so a spec that merely names this kind does not pay for it
        from sklearn.decomposition import PCA  # noqa: PLC0415
        from sklearn.pipeline import Pipeline  # noqa: PLC0415
        from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

        if X.ndim != 2 or X.shape[1] != len(features):  # noqa: PLR2004
            raise ValueError(f"expected {len(features)} feature columns, got shape {X.shape}")
        min_rows = 2 * len(features)
        if X.shape[0] < min_rows:
            raise ValueError(f"need at least {min_rows} healthy windows, got {X.shape[0]}")
        scaler = StandardScaler().fit(X)
        # A feature that never moved in training (e.g. constant speed) must not make every
        # later wiggle look infinitely anomalous: floor its scale at 1% of its level.
        floor = np.maximum(np.abs(scaler.mean_) * 0.01, 1e-6)
        scaler.scale_ = np.maximum(scaler.scale_, floor)
        Z = scaler.transform(X)  # noqa: N806
        n = max(1, min(len(features) - 1, _components_for(Z, variance)))
        pca = PCA(n_components=n, svd_solver="full").fit(Z)
        pipe = Pipeline([("scale", scaler), ("pca", pca)])
        model = cls(pipe, features, units, threshold=1.0, top=top)
        train = model.spe(X)
        model.threshold = float(np.quantile(train, quantile) * margin)
        model.t2_limit = float(np.quantile(model.t2(X), T2_QUANTILE) * margin)
        return model

    def t2(self, X: Matrix) -> Matrix:  # noqa: N803
        """Hotelling's T² per row: squared scores in the PCA subspace over their variances."""
        scaler = self.pipeline.named_steps["scale"]
        pca = self.pipeline.named_steps["pca"]
        t = pca.transform(scaler.transform(np.atleast_2d(X)))
        variances = np.maximum(np.asarray(pca.explained_variance_, dtype=np.float64), 1e-12)
        return np.asarray((t**2 / variances).sum(axis=1), dtype=np.float64)

    def in_distribution(self, x: Matrix) -> bool | None:
        """Whether ``x`` lies within the training distribution (T² up to ``t2_limit``).

        None when the model does not know its training distribution (an older artifact).
        """
        return self.in_distribution_many(x)[0]

    def in_distribution_many(self, X: Matrix) -> list[bool | None]:  # noqa: N803
        """``in_distribution`` of each row of ``X``, in one transform (replay batches)."""
        X = np.atleast_2d(X)  # noqa: N806
        if self.t2_limit is None:
            return [None] * len(X)
        return [bool(t <= self.t2_limit) for t in self.t2(X)]

    def residuals(self, X: Matrix) -> Matrix:  # noqa: N803
        """Per-feature residuals in standardised units (rows x features)."""
        scaler = self.pipeline.named_steps["scale"]
        pca = self.pipeline.named_steps["pca"]
        Z = scaler.transform(np.atleast_2d(X))  # noqa: N806
        return np.asarray(Z - pca.inverse_transform(pca.transform(Z)), dtype=np.float64)

    def spe(self, X: Matrix) -> Matrix:  # noqa: N803
        """Squared prediction error per row."""
        r = self.residuals(X)
        return np.asarray((r**2).sum(axis=1), dtype=np.float64)

    def score(self, x: Matrix) -> Score:
        """Score one feature vector and explain it (``score_many`` of one row)."""
        return self.score_many(x)[0]

    def score_many(self, X: Matrix) -> list[Score]:  # noqa: N803
        """Score each row of ``X`` and explain it: one transform for all (replay batches).

        Row by row the same arithmetic as scoring each alone (sklearn's per-call input
        checks are paid once).
        """
        X = np.atleast_2d(X)  # noqa: N806
        res_all = self.residuals(X)
        scaler = self.pipeline.named_steps["scale"]
        means, scales = scaler.mean_, scaler.scale_
        out = []
        for row, res in zip(X, res_all, strict=True):
            sq = res**2
            total = float(sq.sum())
            order = np.argsort(-sq)[: self.top]
            why = tuple(
                Contribution(
                    feature=self.features[i], value=float(row[i]), baseline=float(means[i]),
                    spread=float(scales[i]),
                    share=float(sq[i] / total) if total > 0 else 0.0, unit=self.units[i],
                    deviation=float((row[i] - means[i]) / scales[i]), residual=float(res[i]),
                )
                for i in order
            )
            out.append(Score(total, self.threshold, why))
        return out


def _components_for(Z: Matrix, variance: float) -> int:  # noqa: N803
    from sklearn.decomposition import PCA  # noqa: PLC0415 - see PcaSpeModel.fit

    full = PCA(svd_solver="full").fit(Z)
    cumulative = np.cumsum(full.explained_variance_ratio_)
    return int(np.searchsorted(cumulative, variance) + 1)


class PcaSpeParams(BaseModel):
    """Parameters of a PCA-SPE model (a use case's ``model_params``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    variance: float = Field(default=0.9, gt=0.0, le=1.0,
                            description="share of the healthy variance the PCA keeps")
    quantile: float = Field(default=0.995, gt=0.5, lt=1.0,
                            description="quantile of the training SPE the threshold starts from")
    margin: float = Field(default=2.0, ge=1.0, le=100.0,
                          description="threshold = margin x that quantile (and the T² limit)")


def _fit(data: TrainingSet, params: Any) -> Fitted:
    p = params if isinstance(params, PcaSpeParams) else PcaSpeParams()
    model = PcaSpeModel.fit(data.X, data.features, data.units, variance=p.variance,
                            quantile=p.quantile, margin=p.margin, top=data.top)
    train = model.spe(data.X)
    return Fitted(model, params={
        "components": int(model.pipeline.named_steps["pca"].n_components_),
        "variance": p.variance, "quantile": p.quantile, "margin": p.margin,
        "t2_quantile": T2_QUANTILE,
    }, metrics={"train_spe_p50": float(sorted(train)[len(train) // 2]),
                "train_spe_max": float(train.max())})


def _dump(model: Any) -> Any:
    if not isinstance(model, PcaSpeModel):
        raise TypeError(f"not a PCA-SPE model: {type(model).__name__}")
    return model.pipeline


def _load(pipeline: Any, meta: ModelMeta, top: int) -> PcaSpeModel:
    expected = getattr(pipeline, "n_features_in_", None)
    if expected != len(meta.features) or len(meta.units) != len(meta.features):
        raise ValueError(f"metadata lists {len(meta.features)} features and {len(meta.units)} "
                         f"units; the artifact expects {expected}")
    return PcaSpeModel(pipeline, meta.features, meta.units, meta.threshold, top=top,
                       t2_limit=meta.t2_limit)


PLUGIN = ModelPlugin(
    name=DEFAULT_MODEL_KIND,
    summary="PCA on standardised features; the score is the squared prediction error (SPE).",
    config=PcaSpeParams,
    fit=_fit,
    dump=_dump,
    load=_load,
    trusted=frozenset({"sklearn.pipeline.Pipeline", "sklearn.preprocessing._data.StandardScaler",
                       "sklearn.decomposition._pca.PCA"}),
)
