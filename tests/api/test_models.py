"""Promoting and archiving model versions over the JSON API: stage, who, why, refusals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from andon.registry import Stage
from andon.testing.factories import make_model

if TYPE_CHECKING:
    from andon.store import SqlStore
    from api.conftest import Login, TestClient

PROMOTE = "/api/models/pump-bearing/{}/promote"
ARCHIVE = "/api/models/pump-bearing/{}/archive"


def signed(store: SqlStore, *versions: int) -> None:
    for v in versions:
        store.register_model(make_model(version=v))
        store.set_model_signature("pump-bearing", v, "0123456789abcdef", "ana")


def test_engineer_promotes_with_a_reason_and_the_previous_version_is_archived(
    client: TestClient, store: SqlStore, logins: dict[str, Login],
) -> None:
    signed(store, 1, 2)
    headers = logins["engineer"].headers
    first = client.post(PROMOTE.format(1), json={"reason": "passed shadow"}, headers=headers)
    assert first.status_code == 200, first.text
    assert (first.json()["stage"], first.json()["key_id"]) == ("production", "0123456789abcdef")
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
