"""A signed-in engineer reads the JSON API in a real browser: Swagger UI, offline, under the CSP.

The app runs under uvicorn on a loopback port; Chromium is Debian's, driven by Playwright.
Every request the page makes is recorded: none may leave the app's origin (no CDN, no
validator badge), and the browser must report no error (a Content-Security-Policy violation
is reported as one).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from andon.api import create_app
from andon.clock import ManualClock
from andon.store import SqlStore, open_store
from andon.testing.factories import T0, add_user, make_intervention
from andon.testing.services import serving
from e2e.browser import launch, sign_in, watch

if TYPE_CHECKING:
    from collections.abc import Iterator

    from andon.spec import PlantSpec

USERNAME, PASSWORD = "dana", "reliability-2026"

pytestmark = pytest.mark.browser


@pytest.fixture
def store(sqlite_url: str) -> Iterator[SqlStore]:
    s = open_store(sqlite_url)
    add_user(s, USERNAME, access="engineer", role="reliability_engineer", password=PASSWORD)
    s.save_intervention(make_intervention("iv-docs"))
    yield s
    s.close()


def test_the_api_page_renders_every_operation_from_andon_alone(
    chromium: Path, store: SqlStore, demo_spec: PlantSpec, tmp_path: Path,
) -> None:
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415 - browser only

    app = create_app(store, demo_spec, clock=ManualClock(T0))
    with serving(app) as base_url, sync_playwright() as pw:
        browser = launch(pw, chromium)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            seen = watch(page, base_url)  # requests elsewhere; script errors, CSP violations
            page.goto(f"{base_url}/login")
            sign_in(page, base_url, USERNAME, PASSWORD)
            page.get_by_role("link", name="API").click()
            page.wait_for_url(f"{base_url}/api/docs")
            feedback = page.locator("#operations-api-feedback_api_interventions__intervention_"
                                    "id__feedback_post")
            expect(feedback).to_be_visible()
            assert page.locator(".opblock").count() >= 35
            expect(page.locator(".info .title")).to_contain_text("Andon")
            # Try it out: the signed-in session reads through Swagger UI's own request
            one = page.locator("#operations-api-get_intervention_api_interventions__"
                               "intervention_id__get")
            one.locator(".opblock-summary").click()
            one.get_by_role("button", name="Try it out").click()
            one.locator('input[placeholder="intervention_id"]').fill("iv-docs")
            one.get_by_role("button", name="Execute").click()
            live = one.locator(".live-responses-table tbody tr.response").first
            expect(live.locator(".response-col_status")).to_have_text("200")
            expect(live.locator(".microlight").first).to_contain_text('"iv-docs"')
            # a write with the session cookie carries the page's CSRF token (else 403)
            write = page.locator("#operations-api-new_token_api_tokens_post")
            write.locator(".opblock-summary").click()
            write.get_by_role("button", name="Try it out").click()
            write.get_by_role("button", name="Execute").click()
            written = write.locator(".live-responses-table tbody tr.response").first
            expect(written.locator(".response-col_status")).to_have_text("201")
            page.screenshot(path=str(tmp_path / "api-docs.png"), full_page=False)
        finally:
            browser.close()
    assert seen.outside == [], f"requests left the app's origin: {seen.outside}"
    assert seen.errors == [], f"the browser reported errors: {seen.errors}"
