"""Builders for domain records used across tests (interventions, users, tokens, models)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from andon.auth.access import User, hash_password, hash_token, new_token
from andon.clock import utc
from andon.interventions.lifecycle import InterventionState
from andon.interventions.record import Contribution, Intervention
from andon.scoring.artifact import ModelMeta

if TYPE_CHECKING:
    from andon.store.base import Store

#: a Monday morning in Ghent (07:00 UTC = 08:00 CET)
T0 = utc(2026, 3, 2, 7, 0)

#: one user per access level, with the demo spec's roles
ACCESS_ROLES = {
    "viewer": "plant_manager",
    "operator": "operator",
    "engineer": "reliability_engineer",
    "admin": "admin",
}


def make_intervention(intervention_id: str = "rec-p-101", *, asset: str = "p-101",
             asset_name: str = "Pump P-101", created_at: datetime = T0,
             state: InterventionState = InterventionState.NEW, deadline: datetime | None = None,
             deadline_label: str = "Early-shift changeover stop",
             action: str | None = None) -> Intervention:
    """An open pump-bearing intervention on a demo-plant pump, with two contributions."""
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
    """The same intervention, already closed."""
    return replace(iv, state=state)


def add_user(store: Store, username: str, *, access: str = "operator", role: str | None = None,
             password: str = "", display_name: str = "") -> User:
    """Save a user (with a scrypt hash when ``password`` is given) and return it."""
    user = User(username=username, role=role or ACCESS_ROLES[access], access=access,
                display_name=display_name or username.title(),
                password_hash=_hashed(password) if password else "")
    store.save_user(user)
    return user


@cache
def _hashed(password: str) -> str:
    """scrypt is slow on purpose; tests hash each password once."""
    return hash_password(password)


def add_token(store: Store, username: str, expires_at: datetime | None) -> str:
    """Store a fresh token for ``username`` and return the token itself."""
    token = new_token()
    store.add_token(hash_token(token), username, expires_at)
    return token


def make_model(name: str = "pump-bearing", version: int = 3) -> ModelMeta:
    """Model metadata as the registry would record it."""
    return ModelMeta(
        name=name, version=version, use_case="pump-bearing", asset_kind="pump",
        features=["vibration.mean", "bearing_temp.slope"], units=["mm/s", "degC/h"],
        threshold=4.0, train_start=T0 - timedelta(days=30), train_end=T0 - timedelta(days=1),
        train_assets=["p-101", "p-102"], train_windows=4032, data_sha256="d" * 64,
        artifact_sha256="a" * 64, created_at=T0 - timedelta(hours=12), code_version="0.1.0",
        params={"components": 3}, metrics={"false_alarm_rate": 0.01},
    )
