"""A plant manager reads OEE, downtime, adoption and ROI before vs after on /kpi, in a browser.

The store holds two days of the cooling-water line from the simulator's production model (a
4 h outage the day before the model went live, 1 h the day after) and an intervention acted
on after; the app runs under uvicorn on a loopback port; Chromium is Debian's, driven by
Playwright. The page's figures must be the library's, and the downloaded report one file.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from andon.api import create_app
from andon.app import Actor, Context, PlantRef, kpi_report
from andon.audit import EventKind
from andon.clock import ManualClock, to_ms, utc
from andon.simulator.production import Outage, production_samples
from andon.store import SqlStore, open_store
from andon.store.base import Event
from andon.testing.factories import add_user, make_intervention
from andon.testing.services import serving
from andon.web.kpi_page import kpi_view
from e2e.browser import launch, sign_in, watch

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from andon.spec import PlantSpec

USERNAME, PASSWORD = "gus", "plant-2026"
LIVE = utc(2026, 1, 6)  # Tuesday 00:00 UTC: the model went live
NOW = LIVE + timedelta(days=1)

pytestmark = pytest.mark.browser


@pytest.fixture
def store(sqlite_url: str, demo_spec: PlantSpec) -> Iterator[SqlStore]:
    s = open_store(sqlite_url)
    add_user(s, USERNAME, access="viewer", role="plant_manager", password=PASSWORD)
    outages = [Outage(LIVE - timedelta(hours=10), LIVE - timedelta(hours=6)),
               Outage(LIVE + timedelta(hours=15), LIVE + timedelta(hours=16))]
    for batch in production_samples(demo_spec, "cooling-water", seed=4,
                                    start=LIVE - timedelta(days=1), end=NOW, outages=outages):
        s.add_samples(batch, to_ms(NOW))
    s.add_event(Event(EventKind.MODEL_PROMOTED, "pump-bearing v1", "went live", LIVE, "dana"))
    iv = make_intervention("iv-1", created_at=LIVE + timedelta(hours=9))
    s.save_intervention(iv)
    s.transition_intervention(iv.id, "acknowledged", by="chris",
                              at=iv.created_at + timedelta(minutes=12))
    s.transition_intervention(iv.id, "done", by="chris", at=iv.created_at + timedelta(hours=3))
    yield s
    s.close()


def test_a_plant_manager_sees_oee_before_vs_after_and_roi(
        chromium: Path, store: SqlStore, demo_spec: PlantSpec, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415 - browser only

    clock = ManualClock(NOW)
    expected = kpi_view(kpi_report(Context(store, clock, PlantRef(demo_spec)),
                                   Actor(USERNAME, "plant_manager", "viewer"), "cooling-water"))
    app = create_app(store, demo_spec, clock=clock)
    with serving(app) as base_url, sync_playwright() as pw:
        browser = launch(pw, chromium)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900},
                                    accept_downloads=True)
            seen = watch(page, base_url)
            page.goto(f"{base_url}/login")
            sign_in(page, base_url, USERNAME, PASSWORD)
            page.get_by_role("link", name="KPIs").click()
            expect(page.get_by_role("heading", name="KPIs: before vs after")).to_be_visible()
            for key in ("oee", "availability", "performance", "quality", "unplanned_h"):
                cells = page.locator(f'#kpi-table tr[data-key="{key}"] td')
                expect(cells).to_have_text([re.compile(".+"), expected["baseline"][key],
                                            expected["after"][key]])
            expect(page.locator('#kpi-table tr[data-key="unplanned_h"] td')).to_have_text(
                ["Unplanned downtime", "4.0 h", "1.0 h"])
            expect(page.locator('#kpi-adoption tr[data-key="acted"] td')).to_have_text(
                ["Acted", "0", "1"])
            expect(page.locator('#kpi-adoption tr[data-key="median_ack"] td').last
                   ).to_have_text("12 min")
            expect(page.locator("#roi-value")).to_have_text(expected["roi"]["value"])
            expect(page.locator("#kpi-roi")).to_contain_text("Avoided unplanned downtime")
            expect(page.locator("#kpi-oee-chart svg rect.bar-baseline")).to_have_count(4)
            expect(page.locator("#kpi-oee-chart svg rect.bar-after")).to_have_count(4)
            expect(page.locator("#kpi-downtime-chart svg rect.bar-after")).not_to_have_count(0)
            expect(page.locator("#kpi-adoption-chart svg")).to_be_visible()
            page.screenshot(path=str(tmp_path / "kpi.png"), full_page=True)
            with page.expect_download() as info:
                page.locator("#kpi-download").click()
            saved = tmp_path / info.value.suggested_filename
            info.value.save_as(saved)
        finally:
            browser.close()
    assert seen.outside == []
    assert seen.errors == []
    html = saved.read_text(encoding="utf-8")
    assert saved.name == "andon-kpi-cooling-water.html"
    assert expected["roi"]["value"] in html
    assert not re.search(r"https?://|<link|<script|src=", html, re.IGNORECASE)
