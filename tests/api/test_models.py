"""Promoting and archiving model versions over the JSON API: stage, who, why, refusals.

Promotion verifies the artifact on disk against the server's trusted keys, as every edge will:
the versions here are real, saved and signed with a real key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from andon.api import create_app
from andon.registry import Registry, Stage, generate_keypair
from andon.testing.factories import make_model, save_version, small_model

if TYPE_CHECKING:
    from fastapi import FastAPI

    from andon.clock import ManualClock
    from andon.spec import PlantSpec
    from andon.store import SqlStore
    from api.conftest import Login, TestClient


@dataclass
class Keys:
    private: Path
    trusted: Path
    key_id: str


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    private, public, key_id = generate_keypair(tmp_path / "keys", "plant")
    trusted = tmp_path / "keys" / "trusted"
    trusted.mkdir()
    (trusted / public.name).write_bytes(public.read_bytes())
    return Keys(private, trusted, key_id)


@pytest.fixture
def app(store: SqlStore, demo_spec: PlantSpec, clock: ManualClock, tmp_path: Path,
        keys: Keys) -> FastAPI:
    return create_app(store, demo_spec, clock=clock, models_dir=tmp_path / "models",
                      trusted_keys=keys.trusted)

PROMOTE = "/api/models/pump-bearing/{}/promote"
ARCHIVE = "/api/models/pump-bearing/{}/archive"


def signed(store: SqlStore, clock: ManualClock, tmp_path: Path, keys: Keys, *,
           count: int) -> list[Path]:
    """Save and sign ``count`` real versions (v1, v2...); their directories."""
    registry = Registry(store, clock, tmp_path / "models")
    dirs = [save_version(small_model(), tmp_path / "models") for _ in range(count)]
    for vdir in dirs:
        registry.register(vdir, keys.private, "ana")
    return dirs


def test_engineer_promotes_with_a_reason_and_the_previous_version_is_archived(
    client: TestClient, store: SqlStore, logins: dict[str, Login], *, clock: ManualClock,
    tmp_path: Path, keys: Keys,
) -> None:
    signed(store, clock, tmp_path, keys, count=2)
    headers = logins["engineer"].headers
    first = client.post(PROMOTE.format(1), json={"reason": "passed shadow"}, headers=headers)
    assert first.status_code == 200, first.text
    assert (first.json()["stage"], first.json()["key_id"]) == ("production", keys.key_id)
    second = client.post(PROMOTE.format(2), json={"reason": "retrained"}, headers=headers)
    assert second.json()["stage"] == "production"
    listed = client.get("/api/models", headers=headers).json()
    assert [(m["version"], m["stage"], m["signer"]) for m in listed] == [
        (1, "archived", "ana"), (2, "production", "ana"),
    ]
    [event] = store.events(kind="model_promoted", limit=1)
    assert (event.subject, event.by, event.detail) == (
        "pump-bearing v2", "engineer", "candidate -> production: retrained")


def test_archive_and_refusals_are_one_line_errors(
    client: TestClient, store: SqlStore, logins: dict[str, Login],
) -> None:
    store.register_model(make_model(version=1))  # trained, never signed
    headers = logins["admin"].headers
    unsigned = client.post(PROMOTE.format(1), json={"reason": "x"}, headers=headers)
    assert unsigned.status_code == 409
    assert unsigned.json() == {
        "error": "pump-bearing v1 is unsigned; register (sign) it first"}
    assert client.post(PROMOTE.format(1), json={"reason": ""},
                       headers=headers).status_code == 422
    assert client.post(PROMOTE.format(9), json={"reason": "x"},
                       headers=headers).status_code == 404

    archived = client.post(ARCHIVE.format(1), json={"reason": "never used"}, headers=headers)
    assert archived.json()["stage"] == "archived"
    assert store.get_model("pump-bearing", 1).stage is Stage.ARCHIVED
    again = client.post(ARCHIVE.format(1), json={"reason": "x"}, headers=headers)
    assert again.status_code == 409
    assert again.json()["error"].startswith(
        "pump-bearing v1: cannot move from archived to archived")


def test_a_version_that_would_not_verify_on_an_edge_is_not_promoted(
    client: TestClient, store: SqlStore, logins: dict[str, Login], *, clock: ManualClock,
    tmp_path: Path, keys: Keys,
) -> None:
    [vdir] = signed(store, clock, tmp_path, keys, count=1)
    blob = bytearray((vdir / "model.skops").read_bytes())
    blob[len(blob) // 2] ^= 0x10  # altered after signing
    (vdir / "model.skops").write_bytes(bytes(blob))
    refused = client.post(PROMOTE.format(1), json={"reason": "x"},
                          headers=logins["engineer"].headers)
    assert refused.status_code == 409
    assert refused.json() == {"error": "pump-bearing v1 is not promoted: signature does not "
                                       "match (artifact or metadata altered)"}
    assert store.get_model("pump-bearing", 1).stage is Stage.CANDIDATE
    assert store.events(kind="model_promoted") == []


def test_without_trusted_keys_the_server_refuses_every_promotion(
    store: SqlStore, demo_spec: PlantSpec, clock: ManualClock, *, logins: dict[str, Login],
    tmp_path: Path, keys: Keys,
) -> None:
    from fastapi.testclient import TestClient as Client  # noqa: PLC0415

    signed(store, clock, tmp_path, keys, count=1)
    bare = create_app(store, demo_spec, clock=clock, models_dir=tmp_path / "models")
    with Client(bare) as client:
        refused = client.post(PROMOTE.format(1), json={"reason": "x"},
                              headers=logins["engineer"].headers)
    assert refused.status_code == 409
    assert "cannot be verified before promotion: no trusted keys" in refused.json()["error"]
