"""The registry: sign to register, promote, archive; every change on record in the store."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from andon.errors import NotFound, RegistryError, StageError
from andon.registry import SIGNATURE_FILE, Registry, Stage, generate_keypair, verify
from andon.scoring import load_model
from andon.testing.factories import save_version
from registry.conftest import Keys

if TYPE_CHECKING:
    from pathlib import Path

    from andon.clock import ManualClock
    from andon.scoring import PcaSpeModel
    from andon.store import SqlStore


@pytest.fixture
def models(tmp_path: Path) -> Path:
    return tmp_path / "models"


def stages(registry: Registry) -> dict[str, str]:
    return {r.label: r.stage.value for r in registry.list()}


def test_register_signs_and_records_a_candidate(
    registry: Registry, small_model: PcaSpeModel, models: Path, keys: Keys, store: SqlStore,
) -> None:
    v1 = save_version(small_model, models)
    record = registry.register(v1, keys.private, "ana")
    assert (record.label, record.stage, record.key_id, record.signer) == (
        "pump-bearing v1", Stage.CANDIDATE, keys.key_id, "ana")
    assert (v1 / SIGNATURE_FILE).is_file()
    assert verify(v1, keys.trusted) == keys.key_id
    assert registry.show("pump-bearing", 1) == record
    assert registry.production("pump-bearing") is None
    [event] = store.events(kind="model_registered")
    assert (event.subject, event.by) == ("pump-bearing v1", "ana")
    assert keys.key_id in event.detail


def test_promoting_archives_the_previous_production_version(
    registry: Registry, small_model: PcaSpeModel, models: Path, keys: Keys, *, store: SqlStore,
    clock: ManualClock,
) -> None:
    for _ in range(2):
        registry.register(save_version(small_model, models), keys.private, "ana")
    registry.promote("pump-bearing", 1, "ana", "beat the baseline on last month")
    assert stages(registry) == {"pump-bearing v1": "production", "pump-bearing v2": "candidate"}
    clock.advance(3600)
    promoted = registry.promote("pump-bearing", 2, "bob", "retrained after the overhaul")
    assert promoted.stage is Stage.PRODUCTION
    assert stages(registry) == {"pump-bearing v1": "archived", "pump-bearing v2": "production"}
    production = registry.production("pump-bearing")
    assert production is not None
    assert production.version == 2

    archived = store.events(kind="model_archived")
    assert [(e.subject, e.by, e.detail) for e in archived] == [
        ("pump-bearing v1", "bob", ("production -> archived: replaced by v2: retrained after "
         "the overhaul")),
    ]
    assert archived[0].at == clock.now()
    promotions = store.events(kind="model_promoted")
    assert [(e.subject, e.by, e.detail) for e in promotions] == [
        ("pump-bearing v2", "bob", "candidate -> production: retrained after the overhaul"),
        ("pump-bearing v1", "ana", "candidate -> production: beat the baseline on last month"),
    ]


def test_one_model_name_does_not_touch_another(
    registry: Registry, small_model: PcaSpeModel, models: Path, keys: Keys,
) -> None:
    registry.register(save_version(small_model, models), keys.private, "ana")
    registry.register(save_version(small_model, models, "motor-health"), keys.private, "ana")
    registry.promote("pump-bearing", 1, "ana", "first")
    registry.promote("motor-health", 1, "ana", "first")
    assert set(stages(registry).values()) == {"production"}


def test_promoting_needs_a_signature_and_a_reason(
    registry: Registry, small_model: PcaSpeModel, models: Path, keys: Keys, store: SqlStore,
) -> None:
    meta_dir = save_version(small_model, models)
    store.register_model(load_model(meta_dir)[1])  # as `andon train` does: unsigned
    with pytest.raises(RegistryError, match=r"^pump-bearing v1 is unsigned; register \(sign\) "
                                            r"it first$"):
        registry.promote("pump-bearing", 1, "ana", "looks good")
    registry.register(meta_dir, keys.private, "ana")
    with pytest.raises(RegistryError, match="a reason is required"):
        registry.promote("pump-bearing", 1, "ana", "   ")
    assert stages(registry) == {"pump-bearing v1": "candidate"}
    assert store.events(kind="model_promoted") == []


def test_illegal_moves_are_refused_and_change_nothing(
    registry: Registry, small_model: PcaSpeModel, models: Path, keys: Keys,
) -> None:
    registry.register(save_version(small_model, models), keys.private, "ana")
    registry.promote("pump-bearing", 1, "ana", "first")
    with pytest.raises(StageError, match="cannot move from production to production"):
        registry.promote("pump-bearing", 1, "ana", "again")
    registry.archive("pump-bearing", 1, "ana", "false alarms on p-102")
    with pytest.raises(StageError, match="cannot move from archived to production"):
        registry.promote("pump-bearing", 1, "ana", "roll back")
    with pytest.raises(StageError, match="cannot move from archived to archived"):
        registry.archive("pump-bearing", 1, "ana", "again")
    assert stages(registry) == {"pump-bearing v1": "archived"}


def test_rollback_is_requalify_then_promote(
    registry: Registry, small_model: PcaSpeModel, models: Path, keys: Keys, store: SqlStore,
) -> None:
    for _ in range(2):
        registry.register(save_version(small_model, models), keys.private, "ana")
    registry.promote("pump-bearing", 1, "ana", "first")
    registry.promote("pump-bearing", 2, "ana", "second")
    registry.requalify("pump-bearing", 1, "bob", "v2 raises false alarms")
    registry.promote("pump-bearing", 1, "bob", "roll back to v1")
    assert stages(registry) == {"pump-bearing v1": "production", "pump-bearing v2": "archived"}
    assert [e.subject for e in store.events(kind="model_requalified")] == ["pump-bearing v1"]


def test_only_candidates_are_signed_again(
    registry: Registry, small_model: PcaSpeModel, models: Path, keys: Keys,
) -> None:
    v1 = save_version(small_model, models)
    registry.register(v1, keys.private, "ana")
    registry.register(v1, keys.private, "bob")  # a candidate may be re-signed
    assert registry.show("pump-bearing", 1).signer == "bob"
    registry.promote("pump-bearing", 1, "ana", "first")
    with pytest.raises(RegistryError, match="pump-bearing v1 is production; only candidates"):
        registry.register(v1, keys.private, "mallory")
    assert registry.show("pump-bearing", 1).signer == "bob"


def test_unknown_versions_are_not_found(registry: Registry) -> None:
    with pytest.raises(NotFound, match="pump-bearing v4"):
        registry.promote("pump-bearing", 4, "ana", "x")
    with pytest.raises(NotFound, match="pump-bearing v4"):
        registry.show("pump-bearing", 4)
    assert registry.list() == []


# -- promotion verifies the artifact as an edge will --------------------------------------------
def test_a_version_altered_after_signing_is_not_promoted(
        registry: Registry, small_model: PcaSpeModel, models: Path, keys: Keys,
        store: SqlStore) -> None:
    vdir = save_version(small_model, models)
    registry.register(vdir, keys.private, "ana")
    meta = json.loads((vdir / "meta.json").read_text(encoding="utf-8"))
    meta["threshold"] *= 100  # would silence every alarm
    (vdir / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(RegistryError, match=r"^pump-bearing v1 is not promoted: signature does "
                       r"not match \(artifact or metadata altered\)$"):
        registry.promote("pump-bearing", 1, "ana", "looks good")
    assert stages(registry) == {"pump-bearing v1": "candidate"}
    assert store.events(kind="model_promoted") == []


def test_a_version_signed_by_a_key_the_plant_does_not_trust_is_not_promoted(
        registry: Registry, small_model: PcaSpeModel, models: Path, tmp_path: Path) -> None:
    mallory, _, mallory_id = generate_keypair(tmp_path / "elsewhere", "mallory")
    registry.register(save_version(small_model, models), mallory, "mallory")
    with pytest.raises(RegistryError, match=f"signed by untrusted key {mallory_id}"):
        registry.promote("pump-bearing", 1, "mallory", "trust me")
    assert stages(registry) == {"pump-bearing v1": "candidate"}


def test_without_trusted_keys_nothing_is_promoted(
        store: SqlStore, clock: ManualClock, small_model: PcaSpeModel, models: Path,
        keys: Keys) -> None:
    blind = Registry(store, clock, models)
    blind.register(save_version(small_model, models), keys.private, "ana")
    with pytest.raises(RegistryError, match="cannot be verified before promotion: no trusted "
                       "keys given"):
        blind.promote("pump-bearing", 1, "ana", "looks good")
