"""Rollout routes: who may read and move, a refused advance names its figures, back at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from andon.registry import Stage
from andon.testing.factories import make_model

if TYPE_CHECKING:
    from andon.store import SqlStore
    from api.conftest import Login, TestClient


def test_an_engineer_rolls_out_and_a_viewer_watches(
    client: TestClient, store: SqlStore, logins: dict[str, Login],
) -> None:
    store.register_model(make_model(version=3))
    store.set_model_stage("pump-bearing", 3, Stage.PRODUCTION)
    store.register_model(make_model(version=4))
    body = {"version": 4, "pilot": "cooling-water", "reason": "v4 beats v3 on replay"}
    refused = client.post("/api/rollouts/pump-bearing/start", json=body,
                          headers=logins["operator"].headers)
    assert refused.status_code == 403
    started = client.post("/api/rollouts/pump-bearing/start", json=body,
                          headers=logins["engineer"].headers)
    assert started.status_code == 200, started.text
    assert (started.json()["stage"], started.json()["shadow_lines"]) == (
        "shadow_pilot", ["cooling-water"])

    seen = client.get("/api/rollouts", headers=logins["viewer"].headers)
    assert seen.status_code == 200
    first = seen.json()[0]
    assert (first["use_case"], first["production"], first["version"], first["gate_met"]) == (
        "pump-bearing", "3", "4", False)
    assert "0 labelled events < 3 (min)" in first["missing"]
    assert {c["name"] for c in first["checks"]} == {
        "min_duration", "min_labelled", "max_false_alarms_per_asset_week", "min_precision"}

    advance = client.post("/api/rollouts/pump-bearing/advance",
                          json={"reason": "eager", "shift": "early"},
                          headers=logins["engineer"].headers)
    assert advance.status_code == 409, advance.text
    assert "the gate of shadow_pilot is not met" in advance.text
    assert "0 labelled events < 3 (min)" in advance.text

    back = client.post("/api/rollouts/pump-bearing/back", json={"reason": "not yet"},
                       headers=logins["engineer"].headers)
    assert (back.status_code, back.json()["stage"]) == (200, "withdrawn")
    no_reason = client.post("/api/rollouts/pump-bearing/start",
                            json={**body, "reason": " "}, headers=logins["engineer"].headers)
    assert no_reason.status_code == 409
    assert "a reason is required" in no_reason.text
