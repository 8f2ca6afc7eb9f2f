"""A plant manager reads a model's track record and a rollout's gate in a real browser.

The store holds the scripted two weeks (``andon.testing.histories``: v3 live on both lines)
and a rollout of v4 in shadow on cooling-water with three would-be interventions. The app
runs under uvicorn on a loopback port; Chromium is Debian's, driven by Playwright.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from andon.api import create_app
from andon.app import Actor, Context, PlantRef, start_rollout
from andon.clock import ManualClock
from andon.feedback import Via
from andon.registry import Stage
from andon.store import SqlStore, open_store
from andon.testing.factories import add_user, make_intervention, make_model
from andon.testing.histories import END, START, two_weeks
from andon.testing.services import serving
from e2e.browser import launch, sign_in, watch

if TYPE_CHECKING:
    from collections.abc import Iterator

    from andon.spec import PlantSpec

USERNAME, PASSWORD = "gus", "plant-2026"
H = timedelta(hours=1)

pytestmark = pytest.mark.browser


@pytest.fixture
def store(sqlite_url: str, demo_spec: PlantSpec) -> Iterator[SqlStore]:
    s = open_store(sqlite_url)
    add_user(s, USERNAME, access="viewer", role="plant_manager", password=PASSWORD)
    two_weeks(s)
    s.register_model(make_model(version=3))
    s.set_model_stage("pump-bearing", 3, Stage.PRODUCTION)
    s.register_model(make_model(version=4))
    ctx = Context(s, ManualClock(START), PlantRef(demo_spec))
    start_rollout(ctx, Actor("dana", "reliability_engineer", "engineer", Via.CLI),
                  "pump-bearing", 4, pilot="cooling-water", reason="v4 beats v3 on replay")
    for n, (asset, at) in enumerate([("p-101", START + 20 * H), ("p-102", START + 50 * H),
                                     ("p-102", START + 7 * 24 * H)]):
        s.save_shadow_intervention(replace(make_intervention(f"s{n}", asset=asset,
                                                             created_at=at),
                                           model_version="4"))
    s.save_intervention(make_intervention("open-1", created_at=END - 2 * H))
    yield s
    s.close()


def test_the_track_record_and_rollout_pages(chromium: Path, store: SqlStore,
                                            demo_spec: PlantSpec, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415 - browser only

    app = create_app(store, demo_spec, clock=ManualClock(END))
    with serving(app) as base_url, sync_playwright() as pw:
        browser = launch(pw, chromium)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            seen = watch(page, base_url)  # requests elsewhere; script errors, CSP violations
            page.goto(f"{base_url}/login")
            sign_in(page, base_url, USERNAME, PASSWORD)
            # the inbox says how the model did on this line
            expect(page.locator('[data-intervention-id="open-1"] [data-record]')).to_have_text(
                "Right 4 of 6 times on this line (90 days), median 4 h warning")

            page.get_by_role("link", name="Track record").click()
            page.get_by_label("Model", exact=True).select_option("pump-bearing")
            page.get_by_label("Line", exact=True).select_option("cooling-water")
            page.get_by_label("From", exact=True).fill(START.date().isoformat())
            page.get_by_label("To", exact=True).fill((END - H).date().isoformat())
            page.get_by_role("button", name="Show").click()
            live = page.locator('#tr-table tr[data-version="3"][data-mode="live"]')
            expect(live.locator("td")).to_have_text([
                "v3", "cooling-water", "live", "8", "4", "2", "2", "2",  # open-1: unresolved
                "1 (+1 in planned stops)", "67%", "67%", "0.50", "4.0 h"])
            shadow = page.locator('#tr-table tr[data-version="4"][data-mode="shadow"]')
            expect(shadow.locator("td").nth(3)).to_have_text("3")  # three would-be ones
            timeline = page.locator("#tr-timeline svg")
            expect(timeline.locator("circle.mark-live")).to_have_count(8)
            expect(timeline.locator("polygon.mark-shadow")).to_have_count(3)
            expect(timeline.locator("polygon.mark-failure")).to_have_count(4)
            expect(page.locator("#tr-weeks-live rect.bar")).to_have_count(2)
            expect(page.locator("#tr-leads-live rect.bar")).not_to_have_count(0)
            page.screenshot(path=str(tmp_path / "track-record.png"), full_page=True)

            page.get_by_role("link", name="Rollouts").click()
            page.get_by_role("link", name="pump-bearing").click()
            expect(page.locator("#ladder li.current")).to_have_text("shadow pilot")
            expect(page.locator('#gate tr[data-check="min_duration"] td').first).to_have_text(
                "met")
            expect(page.locator("#verdict")).to_contain_text("Gate met: advancing leads to "
                                                             "live on cooling-water")
            expect(page.locator("#history li")).to_have_count(1)
            page.screenshot(path=str(tmp_path / "rollout.png"), full_page=True)
        finally:
            browser.close()
    assert seen.outside == []
    assert seen.errors == []
