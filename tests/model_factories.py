"""Builders for small real model versions on disk (registry, API and CLI tests)."""

from __future__ import annotations

import hashlib
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from andon.clock import utc
from andon.scoring import PcaSpeModel, save_model
from factories import T0

if TYPE_CHECKING:
    from pathlib import Path

FEATURES = ["vibration.mean", "bearing_temp.mean", "flow.mean"]
UNITS = ["mm/s", "degC", "m3/h"]


@cache
def small_model() -> PcaSpeModel:
    """A 3-feature PCA-SPE model fitted on seeded synthetic healthy data."""
    rng = np.random.default_rng(3)
    load = rng.uniform(0.5, 1.0, 300)
    x = np.column_stack([2 * load, 40 + 10 * load, 100 * load]) + rng.normal(0, 0.05, (300, 3))
    return PcaSpeModel.fit(x, FEATURES, UNITS)


def save_version(model: PcaSpeModel, models_dir: Path, name: str = "pump-bearing") -> Path:
    """Save the next version of ``name``; return its directory."""
    meta = save_model(model, {
        "name": name, "use_case": name, "asset_kind": "pump",
        "train_start": utc(2026, 3, 1, 7), "train_end": T0,
        "train_assets": ["p-101"], "train_windows": 300,
        "data_sha256": hashlib.sha256(b"x").hexdigest(), "created_at": T0,
        "code_version": "0.1.0",
    }, models_dir)
    return models_dir / name / f"v{meta.version}"
