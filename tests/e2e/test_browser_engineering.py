"""An engineer looks behind an intervention in a real browser: asset trends, models, edges.

The store holds a day of the demo plant (``web.engineering_plant``); the app runs once for the
module under uvicorn on a loopback port, and one Chromium (Debian's, driven by Playwright)
visits the three pages, signed in as a viewer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from andon.api import create_app
from andon.clock import ManualClock
from andon.store import open_store
from andon.testing.factories import add_user
from andon.testing.services import serving
from e2e.browser import launch, sign_in, watch
from web.engineering_plant import IV_ID, NOW, seed

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from playwright.sync_api import Page

    from andon.spec import PlantSpec
    from e2e.browser import Watched

USERNAME, PASSWORD = "dana", "plant-2026"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def signed_in(tmp_path_factory: pytest.TempPathFactory, demo_spec: PlantSpec,
              chromium: Path) -> Iterator[tuple[Page, str, Watched, Path]]:
    """One server and one signed-in page for the module; nothing left the origin at the end."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - browser only

    root = tmp_path_factory.mktemp("engineering-browser")
    with open_store(f"sqlite:///{root / 'andon.db'}") as store:
        seeded = seed(store, demo_spec, root)
        add_user(store, USERNAME, access="viewer", role="plant_manager", password=PASSWORD)
        app = create_app(store, demo_spec, clock=ManualClock(NOW),
                         models_dir=seeded.models_dir, trusted_keys=seeded.trusted_keys)
        with serving(app) as base_url, sync_playwright() as pw:
            browser = launch(pw, chromium)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                seen = watch(page, base_url)
                page.goto(f"{base_url}/login")
                sign_in(page, base_url, USERNAME, PASSWORD)
                yield page, base_url, seen, root
            finally:
                browser.close()
    assert seen.outside == []  # no CDN, nothing from another origin
    assert seen.errors == []  # no script error, no CSP violation


def test_the_asset_page_shows_the_evidence_band_and_the_markers(
        signed_in: tuple[Page, str, Watched, Path]) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415 - browser only

    page, _base, _seen, root = signed_in
    page.get_by_role("link", name="Assets").click()
    page.get_by_role("link", name="Pump P-101").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pump P-101")
    trends = page.locator("section.trend")
    expect(trends).to_have_count(6)
    temp = page.locator("#trend-bearing_temp svg")
    expect(temp).to_be_visible()
    expect(temp.locator("rect.band-healthy")).to_have_count(1)
    expect(temp.locator("rect.evidence")).to_have_count(1)
    expect(temp.locator("rect.evidence title")).to_contain_text(f"evidence of {IV_ID}")
    expect(temp.locator("g.mark-intervention")).to_have_count(1)
    expect(temp.locator("polygon.mark-breach")).to_have_count(1)
    expect(page.locator("#trend-vibration svg rect.mark-quarantine")).to_have_count(1)
    box = temp.locator("rect.evidence").bounding_box()
    assert box is not None
    assert box["width"] > 2
    assert box["height"] > 50  # drawn, not collapsed
    expect(page.locator("#asset-events tr[data-kind]")).to_have_count(3)
    page.screenshot(path=str(root / "asset.png"), full_page=True)


def test_the_model_page_shows_each_versions_signature_status(
        signed_in: tuple[Page, str, Watched, Path]) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415 - browser only

    page, _base, _seen, root = signed_in
    page.get_by_role("link", name="Models").click()
    page.get_by_role("link", name="pump-bearing").click()
    expect(page.locator("#v1 [data-signature]")).to_have_attribute("data-signature",
                                                                   "verified")
    expect(page.locator("#v1 [data-signature]")).to_contain_text("verified: trusted key")
    expect(page.locator("#v2 [data-signature]")).to_contain_text(
        "refused: signed by untrusted key")
    expect(page.locator("#v1 [data-stage]")).to_have_text("production")
    expect(page.locator("#v2 [data-rollout-text]")).to_contain_text("shadow on cooling-water")
    page.screenshot(path=str(root / "models.png"), full_page=True)


def test_the_edges_page_flags_the_stale_edge(
        signed_in: tuple[Page, str, Watched, Path]) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415 - browser only

    page, _base, _seen, root = signed_in
    page.get_by_role("link", name="Edges").click()
    expect(page.locator('tr[data-edge="edge-porto"] [data-stale]')).to_have_text("stale")
    expect(page.locator('tr[data-edge="edge-ghent"] [data-stale]')).to_have_count(0)
    expect(page.locator('tr[data-edge="edge-ghent"] circle.spark-point')).to_have_count(4)
    page.screenshot(path=str(root / "edges.png"), full_page=True)
