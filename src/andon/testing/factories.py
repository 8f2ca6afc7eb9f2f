"""Deterministic builders of domain records for tests: interventions, users, tokens, models.

Every builder returns the same record for the same arguments (no clock, no randomness: times
derive from ``T0``, models are fitted on seeded data), so a test states only what it changes::

    iv = make_intervention(asset="p-102", created_at=T0 + timedelta(hours=1))
    store.save_intervention(closed(iv))
    add_user(store, "ana", access="engineer", password="s3cret")
    vdir = save_version(small_model(), tmp_path / "models")

The records match the demo plant (``examples/demo-plant.yaml``): enterprise ``acme``, site
``ghent``, the pump-bearing use case on pump ``p-101`` of the cooling-water line.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from andon.auth.access import User, hash_password, hash_token, new_token
from andon.clock import utc
from andon.interventions.lifecycle import InterventionState
from andon.interventions.record import Contribution, Intervention
from andon.scoring import PcaSpeModel, save_model
from andon.scoring.artifact import ModelMeta

if TYPE_CHECKING:
    from pathlib import Path

    from andon.store.base import Store

__all__ = [
    "ACCESS_ROLES",
    "FEATURES",
    "T0",
    "UNITS",
    "add_token",
    "add_user",
    "closed",
    "make_intervention",
    "make_model",
    "save_version",
    "small_model",
]

#: a Monday morning in Ghent (07:00 UTC = 08:00 CET)
T0 = utc(2026, 3, 2, 7, 0)

#: one user per access level, with the demo spec's roles
ACCESS_ROLES = {
    "viewer": "plant_manager",
    "operator": "operator",
    "engineer": "reliability_engineer",
    "admin": "admin",
}

#: the features and units of ``small_model``
FEATURES = ["vibration.mean", "bearing_temp.mean", "flow.mean"]
UNITS = ["mm/s", "degC", "m3/h"]


# -- interventions ----------------------------------------------------------------------------
def make_intervention(intervention_id: str = "rec-p-101", *, asset: str = "p-101",
                      asset_name: str = "Pump P-101", created_at: datetime = T0,
                      state: InterventionState = InterventionState.NEW,
                      deadline: datetime | None = None,
                      deadline_label: str = "Early-shift changeover stop",
                      action: str | None = None) -> Intervention:
    """An open pump-bearing intervention on a demo-plant pump, with two contributions.

    Its deadline is 21 h 30 min after ``created_at`` unless given, the predicted failure three
    days after, the detection five minutes before.
    """
    return Intervention(
        id=intervention_id,
        use_case="pump-bearing",
        enterprise="acme",
        site="ghent",
        area="utilities",
        line="cooling-water",
        asset=asset,
        asset_name=asset_name,
        action=action or f"Inspect the drive-end bearing of {asset_name} at the changeover stop",
        owner_role="maintenance_planner",
        deadline=deadline or created_at + timedelta(hours=21, minutes=30),
        deadline_label=deadline_label,
        predicted_failure=created_at + timedelta(days=3),
        detected_at=created_at - timedelta(minutes=5),
        score=7.91,
        threshold=4.0,
        model="pump-bearing",
        model_version="3",
        why=(
            Contribution("vibration.mean", 7.9, 2.1, 0.3, 0.61, "mm/s"),
            Contribution("bearing_temp.slope", 0.8, 0.05, 0.04, 0.22, "degC/h"),
        ),
        state=state,
        detections=4,
        created_at=created_at,
        updated_at=created_at,
    )


def closed(iv: Intervention,
           state: InterventionState = InterventionState.DONE) -> Intervention:
    """The same intervention, already closed (done unless ``state`` says otherwise)."""
    return replace(iv, state=state)


# -- people -----------------------------------------------------------------------------------
def add_user(store: Store, username: str, *, access: str = "operator", role: str | None = None,
             password: str = "", display_name: str = "") -> User:
    """Save a user (with a scrypt hash when ``password`` is given) and return it.

    The role defaults to the demo spec's role for ``access`` (``ACCESS_ROLES``).
    """
    user = User(username=username, role=role or ACCESS_ROLES[access], access=access,
                display_name=display_name or username.title(),
                password_hash=_hashed(password) if password else "")
    store.save_user(user)
    return user


@cache
def _hashed(password: str) -> str:
    """Hash once per password: scrypt is slow on purpose."""
    return hash_password(password)


def add_token(store: Store, username: str, expires_at: datetime | None) -> str:
    """Store a fresh API token for ``username`` and return the token itself.

    The one builder that is not deterministic: a token is a secret, drawn fresh each call.
    """
    token = new_token()
    store.add_token(hash_token(token), username, expires_at)
    return token


# -- models -----------------------------------------------------------------------------------
def make_model(name: str = "pump-bearing", version: int = 3) -> ModelMeta:
    """Model metadata as the registry would record it (no artifact on disk)."""
    return ModelMeta(
        name=name, version=version, use_case="pump-bearing", asset_kind="pump",
        features=["vibration.mean", "bearing_temp.slope"], units=["mm/s", "degC/h"],
        threshold=4.0, train_start=T0 - timedelta(days=30), train_end=T0 - timedelta(days=1),
        train_assets=["p-101", "p-102"], train_windows=4032, data_sha256="d" * 64,
        artifact_sha256="a" * 64, created_at=T0 - timedelta(hours=12), code_version="0.1.0",
        params={"components": 3}, metrics={"false_alarm_rate": 0.01},
    )


@cache
def small_model() -> PcaSpeModel:
    """A 3-feature PCA-SPE model (``FEATURES``) fitted on seeded synthetic healthy data."""
    rng = np.random.default_rng(3)
    load = rng.uniform(0.5, 1.0, 300)
    x = np.column_stack([2 * load, 40 + 10 * load, 100 * load]) + rng.normal(0, 0.05, (300, 3))
    return PcaSpeModel.fit(x, FEATURES, UNITS)


def save_version(model: PcaSpeModel, models_dir: Path, name: str = "pump-bearing") -> Path:
    """Save the next version of ``name`` under ``models_dir``; return its directory."""
    meta = save_model(model, {
        "name": name, "use_case": name, "asset_kind": "pump",
        "train_start": utc(2026, 3, 1, 7), "train_end": T0,
        "train_assets": ["p-101"], "train_windows": 300,
        "data_sha256": hashlib.sha256(b"x").hexdigest(), "created_at": T0,
        "code_version": "0.1.0",
    }, models_dir)
    return models_dir / name / f"v{meta.version}"
