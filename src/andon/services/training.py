"""Train a use case's model on a healthy period of recorded samples.

The use case names its model kind (``model_kind``, default ``pca-spe``) and the kind's
parameters (``model_params``); the kind is an ``andon.models`` plug-in (``andon.scoring.kinds``),
so training a third-party kind is the same call.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import andon
from andon.app.drift import save_reference
from andon.audit import Event, EventKind
from andon.clock import Clock, to_ms
from andon.errors import PluginError, TrainingError
from andon.features import feature_names, feature_rows, use_case_tags
from andon.scoring import ModelMeta, TrainingSet, model_kinds, save_model
from andon.spec.model import PlantSpec
from andon.store.base import Store

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from andon.namespace.sample import Sample
    from andon.scoring import ModelPlugin
    from andon.spec.model import UseCase

__all__ = ["TRAINING_STEPS", "fit_samples", "train_use_case"]


#: the steps of a training run, in order, as ``progress`` is told them
TRAINING_STEPS = ("reading samples", "cutting windows", "fitting", "saving")


def train_use_case(spec: PlantSpec, store: Store, models_dir: Path, use_case_id: str, *,
                   start: datetime, end: datetime, clock: Clock,
                   progress: Callable[[str], None] | None = None) -> ModelMeta:
    """Fit the use case's model on ``[start, end)``, save a new version, register it.

    ``progress`` is called with each of ``TRAINING_STEPS`` as it starts.
    """
    step = progress or (lambda _: None)
    try:
        uc = spec.use_case(use_case_id)
    except KeyError:
        known = ", ".join(u.id for u in spec.use_cases)
        raise TrainingError(f"unknown use case {use_case_id!r} (known: {known})") from None
    try:
        kind = model_kinds().get(uc.model_kind)
    except PluginError as exc:
        raise TrainingError(f"use case {uc.id}: {exc}") from None
    use_case_tags(spec, uc)  # refuses assets whose tags differ before reading anything
    asset_ids = [a.id for *_, a in spec.use_case_assets(uc)]
    step(TRAINING_STEPS[0])
    samples = store.samples(assets=asset_ids, start_ms=to_ms(start), end_ms=to_ms(end))
    if not samples:
        raise TrainingError(
            f"no recorded samples for {', '.join(asset_ids)} between {start.isoformat()} and "
            f"{end.isoformat()}; run the edge with recording on first",
        )
    meta, windows = fit_samples(spec, uc, samples, models_dir, start=start, end=end,
                                clock=clock, kind=kind, progress=step)
    store.register_model(meta)
    store.add_event(Event(EventKind.MODEL_TRAINED, meta.label,
                          f"{windows} windows from {len(samples)} samples, "
                          f"{start.isoformat()}..{end.isoformat()}", clock.now()))
    return meta


def fit_samples(spec: PlantSpec, uc: UseCase, samples: Sequence[Sample], models_dir: Path, *,
                start: datetime, end: datetime, clock: Clock,
                kind: ModelPlugin | None = None,
                progress: Callable[[str], None] | None = None) -> tuple[ModelMeta, int]:
    """Fit ``uc``'s model on ``samples`` (sorted by time) and save a new version.

    The windows and features are cut exactly as live scoring cuts them
    (``andon.features.feature_rows``). Returns the metadata and the number of training
    windows; ``TrainingError`` when the data cannot make a model. Nothing is registered:
    ``train_use_case`` registers what it trains from the store; ``andon evaluate`` trains
    from a dataset's files. ``progress`` is told the last three of ``TRAINING_STEPS``.
    """
    step = progress or (lambda _: None)
    if kind is None:
        try:
            kind = model_kinds().get(uc.model_kind)
        except PluginError as exc:
            raise TrainingError(f"use case {uc.id}: {exc}") from None
    tags = use_case_tags(spec, uc)
    asset_ids = [a.id for *_, a in spec.use_case_assets(uc)]
    step(TRAINING_STEPS[1])
    X, keys = feature_rows(samples, dict.fromkeys(asset_ids, tags),  # noqa: N806
                           window_s=uc.window, hop_s=uc.hop)
    names, units = feature_names(tags)
    params = kind.params(uc.model_params)  # checked when the spec loaded
    step(TRAINING_STEPS[2])
    try:
        fitted = kind.fit(TrainingSet(X, names, units, top=uc.top_features), params)
    except ValueError as exc:
        raise TrainingError(f"use case {uc.id}: {exc}; record a longer healthy period") from None
    step(TRAINING_STEPS[3])
    meta = save_model(fitted.model, {
        "name": uc.model, "use_case": uc.id, "asset_kind": uc.asset_kind,
        "train_start": start, "train_end": end,
        "train_assets": sorted({a for a, _ in keys}), "train_windows": len(keys),
        "data_sha256": hashlib.sha256(X.tobytes()).hexdigest(),
        "created_at": clock.now(), "code_version": andon.__version__,
        "params": {"window_s": uc.window, "hop_s": uc.hop, **fitted.params},
        "metrics": {**fitted.metrics, "train_samples": float(len(samples))},
    }, models_dir)
    # what the version was trained on, for drift monitoring (andon.app.drift)
    save_reference(models_dir / meta.name / f"v{meta.version}", X, names)
    return meta, len(keys)
