"""Electronic signatures over HTTP under a spec whose governance asks for them (Part 11).

Real app, real SQLite store, real signed model versions on disk. The engineer promotes, the
reliability engineer (another person) reviews; the admin replaces the spec.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from andon.api import create_app
from andon.app import Actor, Context, PlantRef, SignatureIn, sign_model
from andon.app.spec import sign_spec, start_spec
from andon.audit import Meaning
from andon.feedback.answers import Via
from andon.registry import Registry, generate_keypair
from andon.spec import load_spec_text
from andon.testing.factories import save_version, small_model
from api.conftest import DEMO_SPEC_TEXT, PASSWORD, SESSION_TTL_S, Login

if TYPE_CHECKING:
    from fastapi import FastAPI

    from andon.clock import ManualClock
    from andon.spec import PlantSpec
    from andon.store import SqlStore
    from api.conftest import TestClient

GOVERNED = DEMO_SPEC_TEXT + "\ngovernance: {esignatures: true, two_person: true}\n"
PROMOTE = "/api/models/pump-bearing/1/promote"


@pytest.fixture
def governed() -> PlantSpec:
    return load_spec_text(GOVERNED, "plant.yaml")


@pytest.fixture
def app(store: SqlStore, governed: PlantSpec, clock: ManualClock, tmp_path: Path) -> FastAPI:
    private, public, _ = generate_keypair(tmp_path / "keys", "plant")
    trusted = tmp_path / "keys" / "trusted"
    trusted.mkdir()
    (trusted / public.name).write_bytes(public.read_bytes())
    registry = Registry(store, clock, tmp_path / "models")
    registry.register(save_version(small_model(), tmp_path / "models"), private, "ana")
    return create_app(store, governed, clock=clock, session_ttl_s=SESSION_TTL_S,
                      models_dir=tmp_path / "models", trusted_keys=trusted)


def signed(meaning: str = "approved", password: str = PASSWORD) -> dict[str, object]:
    return {"reason": "passed 30 days of shadow", "signature": {"password": password,
                                                                "meaning": meaning}}


def test_a_promotion_needs_a_signature_and_a_second_person(
        client: TestClient, store: SqlStore, clock: ManualClock, governed: PlantSpec,
        logins: dict[str, Login]) -> None:
    engineer = logins["engineer"]
    bare = client.post(PROMOTE, json={"reason": "x"}, headers=engineer.headers)
    assert bare.status_code == 403
    assert "needs your electronic signature" in bare.json()["error"]
    wrong = client.post(PROMOTE, json=signed(password="not my password at all"),
                        headers=engineer.headers)
    assert wrong.status_code == 401
    assert "not signed, nothing changed" in wrong.json()["error"]
    alone = client.post(PROMOTE, json=signed(), headers=engineer.headers)
    assert alone.status_code == 403
    assert "engineer cannot approve alone" in alone.json()["error"]
    assert store.get_model("pump-bearing", 1).stage.value == "candidate"
    assert store.signatures_for("model") == []  # nothing signed while nothing changed

    # the admin (another person) reviews the exact version, then the engineer approves
    ctx = Context(store, clock, PlantRef(governed))
    admin = logins["admin"].user
    sign_model(ctx, Actor.of(admin, Via.API), "pump-bearing", 1,
               SignatureIn(PASSWORD, Meaning.REVIEWED, "checked the lineage"))
    clock.advance(60)
    done = client.post(PROMOTE, json=signed(), headers=engineer.headers)
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["stage"] == "production"
    assert [s.split(" on ")[0] for s in body["signatures"]] == [
        "reviewed by Admin (admin)", "approved by Engineer (engineer)"]
    assert body["signatures"][1].endswith(": passed 30 days of shadow")
    listed = client.get("/api/models", headers=engineer.headers).json()
    assert listed[0]["signatures"] == body["signatures"]  # shown wherever the record is
    entries = store.events(kind="signature")
    assert {e.by for e in entries} == {"admin", "engineer"}
    sigs = store.signatures_for("model", record_id="pump-bearing v1")
    assert {e.record for e in entries} == {s.hash for s in sigs}  # bound in the chain
    audit = client.get("/api/audit/verify", headers=logins["admin"].headers).json()
    assert (audit["problem"], audit["entries"]) == (None, 5), audit  # the chain is whole


def test_a_reviewers_signature_on_another_version_does_not_count(
        client: TestClient, store: SqlStore, clock: ManualClock, *, governed: PlantSpec,
        logins: dict[str, Login]) -> None:
    ctx = Context(store, clock, PlantRef(governed))
    admin = logins["admin"].user
    sign_model(ctx, Actor.of(admin, Via.API), "pump-bearing", 1,
               SignatureIn(PASSWORD, Meaning.REVIEWED))
    # the version's record changes after the review (re-signed with another key): not reviewed
    record = store.get_model("pump-bearing", 1)
    store.set_model_signature("pump-bearing", 1, "another-key", record.signer or "ana")
    stale = client.post(PROMOTE, json=signed(), headers=logins["engineer"].headers)
    assert stale.status_code == 403
    assert "cannot approve alone" in stale.json()["error"]
    assert replace(record, key_id="another-key") == store.get_model("pump-bearing", 1)


def test_the_spec_is_replaced_only_with_two_signatures(
        client: TestClient, store: SqlStore, clock: ManualClock, governed: PlantSpec,
        logins: dict[str, Login]) -> None:
    admin = logins["admin"]
    new_text = GOVERNED.replace("Reliability engineer", "Reliability engineer (RE)")
    plain = client.put("/api/spec", content=new_text,
                       headers={**admin.headers, "Content-Type": "text/plain"})
    assert plain.status_code == 403
    assert "replacing the plant spec needs your electronic signature" in plain.json()["error"]
    body = {"text": new_text, "reason": "rename a role", "signature": {
        "password": PASSWORD, "meaning": "approved"}}
    alone = client.put("/api/spec", json=body, headers=admin.headers)
    assert alone.status_code == 403
    assert "admin cannot approve alone" in alone.json()["error"]
    engineer = logins["engineer"].user
    ctx = Context(store, clock, PlantRef(governed))
    sign_spec(ctx, Actor.of(engineer, Via.API), new_text,
              SignatureIn(PASSWORD, Meaning.AUTHORED, "I wrote it"))
    done = client.put("/api/spec", json=body, headers=admin.headers)
    assert done.status_code == 200, done.text
    shown = client.get("/api/spec", headers=admin.headers).json()
    assert [x.split(" on ")[0] for x in shown["signatures"]] == [
        "authored by Engineer (engineer)", "approved by Admin (admin)"]
    # a spec that drops governance is itself a change the old governance signs for
    ungoverned = client.put("/api/spec", content=DEMO_SPEC_TEXT,
                            headers={**admin.headers, "Content-Type": "text/plain"})
    assert ungoverned.status_code == 403


def test_a_governed_stored_spec_is_not_replaced_by_editing_the_file(
        store: SqlStore, clock: ManualClock, governed: PlantSpec, tmp_path: Path) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(GOVERNED, encoding="utf-8")
    ctx = Context(store, clock, PlantRef(governed))
    first = start_spec(ctx, path).record
    assert first.version.version == 1
    path.write_text(DEMO_SPEC_TEXT, encoding="utf-8")  # governance removed by hand
    clock.advance(3600)
    again = start_spec(ctx, path).record
    assert again.version.version == 1
    assert again.spec.governance.esignatures
    assert "replace it through a signed change" in again.reason
