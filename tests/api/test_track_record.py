"""``GET /api/track-record`` over the scripted two weeks (``andon.testing.histories``)."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from andon.kpi.trackrecord import track_record_from
from andon.testing.histories import END, START, two_weeks

if TYPE_CHECKING:
    from andon.spec import PlantSpec
    from andon.store import SqlStore
    from api.conftest import Login, TestClient

PERIOD = {"since": START.isoformat(), "until": END.isoformat()}


def test_a_viewer_reads_the_same_records_as_the_cli_and_the_library(
    client: TestClient, store: SqlStore, logins: dict[str, Login], demo_spec: PlantSpec,
) -> None:
    two_weeks(store)
    got = client.get("/api/track-record", params={**PERIOD, "model": "pump-bearing@3"},
                     headers=logins["viewer"].headers)
    assert got.status_code == 200, got.text
    body = got.json()
    cw = body["records"][0]
    assert (cw["scope"], cw["raised"], cw["confirmed"], cw["false_alarms"], cw["unresolved"],
            cw["detected"], cw["missed"], cw["found_in_planned_stop"]) == (
        "cooling-water", 7, 4, 2, 1, 2, 1, 1)
    assert cw["lead_times_h"] == [3.0, 4.0, 10.0, 20.0]
    expected = [r.to_dict() for r in track_record_from(store, demo_spec, start=START, end=END,
                                                       model="pump-bearing")]
    assert [{**r, "start": START.isoformat(), "end": END.isoformat()}
            for r in body["records"]] == [
        {**r, "start": START.isoformat(), "end": END.isoformat()} for r in expected]


def test_per_asset_as_csv_and_one_line(
    client: TestClient, store: SqlStore, logins: dict[str, Login],
) -> None:
    two_weeks(store)
    got = client.get("/api/track-record", params={**PERIOD, "by": "asset", "format": "csv",
                                                   "line": "cooling-water"},
                     headers=logins["viewer"].headers)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert [(r["scope"], r["raised"], r["missed"]) for r in rows] == [
        ("p-101", "2", "1"), ("p-102", "5", "0")]


def test_unknown_model_or_line_and_a_bad_period_are_422_with_the_reason(
    client: TestClient, store: SqlStore, logins: dict[str, Login],
) -> None:
    two_weeks(store)
    for params, named in (({"model": "pump"}, "no use case runs model 'pump'"),
                          ({"line": "nowhere"}, "no line 'nowhere'"),
                          ({"since": END.isoformat(), "until": START.isoformat()},
                           "is not after")):
        got = client.get("/api/track-record", params=params, headers=logins["viewer"].headers)
        assert got.status_code == 422, got.text
        assert named in got.text


def test_it_needs_a_caller(client: TestClient) -> None:
    assert client.get("/api/track-record").status_code == 401
