"""``GET /api/kpi`` and the ``/kpi`` pages: who may read them, and what they return."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import TYPE_CHECKING

from andon.audit import EventKind
from andon.clock import to_ms, utc
from andon.kpi.report import kpi_report_from
from andon.simulator.production import Outage, production_samples
from andon.store.base import Event

if TYPE_CHECKING:
    from andon.clock import ManualClock
    from andon.spec import PlantSpec
    from andon.store import SqlStore
    from api.conftest import Login, TestClient

DAY1 = utc(2026, 2, 28)  # the days before the factories' T0 (2026-03-02 07:00)
DAY2 = utc(2026, 3, 1)
PERIODS = {"baseline_since": DAY1.isoformat(), "baseline_until": DAY2.isoformat(),
           "after_since": DAY2.isoformat(), "after_until": (DAY2 + timedelta(days=1)).isoformat()}


def _seed(store: SqlStore, spec: PlantSpec) -> None:
    outages = [Outage(DAY1 + timedelta(hours=14), DAY1 + timedelta(hours=18))]  # after sat 8-14 h
    for batch in production_samples(spec, "cooling-water", seed=2, start=DAY1,
                                    end=DAY2 + timedelta(days=1), outages=outages):
        store.add_samples(batch, to_ms(DAY2))


def test_no_token_is_401_and_a_viewer_reads_the_library_s_figures(
    client: TestClient, store: SqlStore, logins: dict[str, Login], demo_spec: PlantSpec,
) -> None:
    _seed(store, demo_spec)
    params = {"line": "cooling-water", **PERIODS}
    assert client.get("/api/kpi", params=params).status_code == 401
    got = client.get("/api/kpi", params=params, headers=logins["viewer"].headers)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["baseline"]["unplanned_downtime_h"] == 4.0
    assert body["after"]["unplanned_downtime_h"] == 0.0
    expected = kpi_report_from(store, demo_spec, "cooling-water",
                               baseline=(DAY1, DAY2), after=(DAY2, DAY2 + timedelta(days=1)))
    assert body == expected.to_dict()
    assert body["roi"]["avoided_downtime_h"] > 0


def test_csv_and_the_reasons_of_a_422(
    client: TestClient, store: SqlStore, logins: dict[str, Login], demo_spec: PlantSpec,
) -> None:
    _seed(store, demo_spec)
    viewer = logins["viewer"].headers
    got = client.get("/api/kpi", params={"line": "cooling-water", "format": "csv", **PERIODS},
                     headers=viewer)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert [r["period"] for r in rows] == ["baseline", "after"]
    for params, named in (({"line": "bottling-1", **PERIODS}, "declares no production"),
                          ({"line": "cooling-water"}, "no model went live on line"),
                          ({"line": "cooling-water", "after_since": DAY2.isoformat()},
                           "give both after_since and after_until")):
        bad = client.get("/api/kpi", params=params, headers=viewer)
        assert bad.status_code == 422, bad.text
        assert named in bad.text


def test_the_page_and_the_file_for_a_viewer(
    client: TestClient, store: SqlStore, logins: dict[str, Login], demo_spec: PlantSpec,
    clock: ManualClock,
) -> None:
    _seed(store, demo_spec)
    store.add_event(Event(EventKind.MODEL_PROMOTED, "pump-bearing v1", "live", DAY2, "x"))
    assert clock.now() > DAY2 + timedelta(days=1)
    viewer = logins["viewer"].headers
    assert client.get("/kpi").status_code == 401
    page = client.get("/kpi", headers=viewer)
    assert page.status_code == 200, page.text
    assert 'id="kpi-table"' in page.text
    assert 'id="roi-value"' in page.text
    assert 'href="/kpi/report.html?line=cooling-water"' in page.text
    file = client.get("/kpi/report.html", params={"line": "cooling-water"}, headers=viewer)
    assert file.status_code == 200
    assert "attachment" in file.headers["content-disposition"]
    assert not re.search(r"https?://|<link|<script|src=", file.text, re.IGNORECASE)
    assert "Equipment failure" in file.text
