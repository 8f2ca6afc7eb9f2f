"""``GET /api/data-quality``: the data-quality report per tag and per source (READ)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from andon.clock import to_ms
from andon.contracts.counts import QualityCount, SkewPoint
from andon.testing.factories import T0

if TYPE_CHECKING:
    from andon.store import SqlStore
    from api.conftest import Login, TestClient

HOUR = 3_600_000


def fill(store: SqlStore) -> None:
    t0 = to_ms(T0)
    store.add_quality_counts(t0, [
        QualityCount("ghent", "cv-202", "drive_temp", "", "received", 360),
        QualityCount("ghent", "cv-202", "drive_temp", "", "stuck", 171),
        QualityCount("ghent", "p-101", "flow", "", "received", 360),
        QualityCount("ghent", "pr-201", "vibration", "", "received", 340),
        QualityCount("ghent", "pr-201", "vibration", "", "missing", 20),
        QualityCount("ghent", "pr-201", "vibration", "", "gap", 1),
        QualityCount("porto", "", "", "plc-porto-bottling-1", "received", 3240),
    ])
    store.add_quality_counts(t0 + 2 * HOUR, [
        QualityCount("ghent", "k-104", "discharge_temp", "", "received", 60),
        QualityCount("ghent", "k-104", "discharge_temp", "", "out_of_range", 2),
    ])
    store.add_skew_points([SkewPoint("plc-porto-bottling-1", t0, 89_960, correcting=True)])


def test_a_viewer_reads_the_report_worst_first_with_findings_named(
    client: TestClient, store: SqlStore, logins: dict[str, Login],
) -> None:
    fill(store)
    got = client.get("/api/data-quality", headers=logins["viewer"].headers)
    assert got.status_code == 200, got.text
    body = got.json()
    assert [(t["asset"], t["findings"]) for t in body["tags"]] == [
        ("cv-202", ["stuck sensor: 171 samples flat"]),
        ("pr-201", ["dropout: 20 samples missing in 1 gap (5.6%)"]),
        ("k-104", ["out of range: 2 quarantined"]),
    ]
    assert body["tags"][1]["missing_rate"] == 0.055556
    assert body["tags"][2]["quarantined"] == {"out_of_range": 2}
    assert body["sources"] == [{
        "source": "plc-porto-bottling-1", "site": "porto", "received": 3240, "duplicates": 0,
        "late": 0, "corrected": 0, "skew_s": 89.96, "correcting": True,
        "findings": ["skewed clock: 89.96 s ahead (corrected)"]}]


def test_filters_by_site_asset_and_since_and_all_lists_clean_tags(
    client: TestClient, store: SqlStore, logins: dict[str, Login],
) -> None:
    fill(store)
    headers = logins["viewer"].headers
    everything = client.get("/api/data-quality", params={"all": "true"}, headers=headers)
    assert "p-101" in [t["asset"] for t in everything.json()["tags"]]
    # counters are kept per hour: since 08:15 (UTC, no offset given) reads from 08:00 on
    since = client.get("/api/data-quality", params={"since": "2026-03-02T08:15:00"},
                       headers=headers)
    assert [t["asset"] for t in since.json()["tags"]] == ["k-104"]
    porto = client.get("/api/data-quality", params={"site": "porto"}, headers=headers).json()
    assert (porto["tags"], [s["source"] for s in porto["sources"]]) == (
        [], ["plc-porto-bottling-1"])
    one = client.get("/api/data-quality", params={"asset": "pr-201"}, headers=headers).json()
    assert ([t["asset"] for t in one["tags"]], one["sources"]) == (["pr-201"], [])


def test_the_report_needs_a_signed_in_caller(client: TestClient, store: SqlStore) -> None:
    fill(store)
    assert client.get("/api/data-quality").status_code == 401
