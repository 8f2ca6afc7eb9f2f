"""``GET /api/quarantine`` and ``/api/quarantine/{id}``: what was kept out, and why (READ)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from andon.contracts import Rule, quarantined_message
from andon.testing.factories import T0

if TYPE_CHECKING:
    from andon.store import SqlStore
    from api.conftest import Login, TestClient

TOPIC = "andon/v1/acme/ghent/utilities/cooling-water/{}/bearing_temp"


def fill(store: SqlStore) -> None:
    store.add_quarantined([
        quarantined_message(TOPIC.format("p-101"), b'{"v":999,"u":"degC","src":"plc"}',
                            Rule.OUT_OF_RANGE, "p-101/bearing_temp: value 999 degC is outside",
                            T0),
        quarantined_message(TOPIC.format("k-104"), b"\xffnot json", Rule.MALFORMED,
                            "payload is not JSON", T0 + timedelta(minutes=5)),
    ])


def test_a_viewer_lists_and_filters_quarantined_messages(
    client: TestClient, store: SqlStore, logins: dict[str, Login],
) -> None:
    fill(store)
    headers = logins["viewer"].headers
    listed = client.get("/api/quarantine", headers=headers)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [(q["rule"], q["asset"], q["source"]) for q in body] == [
        ("malformed", "k-104", None), ("out_of_range", "p-101", "plc")]
    assert "payload" not in body[0]
    assert body[1]["tag"] == "acme/ghent/utilities/cooling-water/p-101/bearing_temp"
    by_rule = client.get("/api/quarantine", params={"rule": "out_of_range"}, headers=headers)
    assert [q["asset"] for q in by_rule.json()] == ["p-101"]
    by_asset = client.get("/api/quarantine", params={"asset": "k-104"}, headers=headers)
    assert [q["rule"] for q in by_asset.json()] == ["malformed"]
    since = client.get("/api/quarantine", params={"since": "2026-03-02T07:01:00"},
                       headers=headers)
    assert [q["rule"] for q in since.json()] == ["malformed"]


def test_one_quarantined_message_with_its_payload_or_404(
    client: TestClient, store: SqlStore, logins: dict[str, Login],
) -> None:
    fill(store)
    headers = logins["viewer"].headers
    item_id = store.quarantined(rule="malformed")[0].id
    shown = client.get(f"/api/quarantine/{item_id}", headers=headers)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["payload"], body["size"], body["truncated"], body["reason"]) == (
        "\ufffdnot json", 9, False, "payload is not JSON")
    missing = client.get("/api/quarantine/999999", headers=headers)
    assert missing.status_code == 404
    assert "not found" in missing.json()["error"]
