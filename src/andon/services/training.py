"""Train a use case's reference model on a healthy period of recorded samples."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import andon
from andon.clock import Clock, to_ms
from andon.errors import TrainingError
from andon.features import feature_names, feature_rows, use_case_tags
from andon.scoring import AnomalyModel, ModelMeta, save_model
from andon.spec.model import PlantSpec
from andon.store.base import Event, Store

__all__ = ["train_use_case"]


def train_use_case(spec: PlantSpec, store: Store, models_dir: Path, use_case_id: str, *,
                   start: datetime, end: datetime, clock: Clock) -> ModelMeta:
    """Fit the use case's model on ``[start, end)``, save a new version, register it."""
    try:
        uc = spec.use_case(use_case_id)
    except KeyError:
        known = ", ".join(u.id for u in spec.use_cases)
        raise TrainingError(f"unknown use case {use_case_id!r} (known: {known})") from None
    tags = use_case_tags(spec, uc)
    asset_ids = [a.id for *_, a in spec.use_case_assets(uc)]
    samples = store.samples(assets=asset_ids, start_ms=to_ms(start), end_ms=to_ms(end))
    if not samples:
        raise TrainingError(
            f"no recorded samples for {', '.join(asset_ids)} between {start.isoformat()} and "
            f"{end.isoformat()}; run the edge with recording on first",
        )
    X, keys = feature_rows(samples, dict.fromkeys(asset_ids, tags),  # noqa: N806
                           window_s=uc.window, hop_s=uc.hop)
    names, units = feature_names(tags)
    try:
        model = AnomalyModel.fit(X, names, units, top=uc.top_features)
    except ValueError as exc:
        raise TrainingError(f"use case {uc.id}: {exc}; record a longer healthy period") from None
    train_scores = model.spe(X)
    meta = save_model(model, {
        "name": uc.model, "use_case": uc.id, "asset_kind": uc.asset_kind,
        "train_start": start, "train_end": end,
        "train_assets": sorted({a for a, _ in keys}), "train_windows": len(keys),
        "data_sha256": hashlib.sha256(X.tobytes()).hexdigest(),
        "created_at": clock.now(), "code_version": andon.__version__,
        "params": {"window_s": uc.window, "hop_s": uc.hop,
                   "components": int(model.pipeline.named_steps["pca"].n_components_),
                   "quantile": 0.995, "margin": 2.0, "t2_quantile": 0.999},
        "metrics": {"train_spe_p50": float(sorted(train_scores)[len(train_scores) // 2]),
                    "train_spe_max": float(train_scores.max()),
                    "train_samples": float(len(samples))},
    }, models_dir)
    store.register_model(meta)
    store.add_event(Event("model_trained", meta.label,
                          f"{len(keys)} windows from {len(samples)} samples, "
                          f"{start.isoformat()}..{end.isoformat()}", clock.now()))
    return meta
