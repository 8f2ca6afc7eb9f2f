"""A maintenance planner works the operator console in a real browser: filters and sorts,
acknowledges two interventions at once, comments on one, searches the closed history, and
sees a new intervention appear without reloading the page.

One server (uvicorn on a loopback port) and one Chromium (Debian's, driven by Playwright)
serve the whole module; the tests run in order on one signed-in page. Nothing is mocked.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from andon.api import create_app
from andon.clock import ManualClock
from andon.interventions.lifecycle import InterventionState, Priority
from andon.interventions.record import OutcomeLabel
from andon.store import SqlStore, open_store
from andon.testing.factories import T0, add_user, closed, make_intervention
from andon.testing.services import serving
from e2e.browser import launch, sign_in, watch

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from playwright.sync_api import Page

    from andon.spec import PlantSpec
    from e2e.browser import Watched

USERNAME, PASSWORD = "chris", "planner-2026-ghent"
WAIT_MS = 10_000  # bounded wait for the live update (the page polls every 2 s)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def console_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStore]:
    """Chris (planner, Ghent); three planner items in Ghent, one operator's, one in Porto,
    and two closed ones."""
    s = open_store(f"sqlite:///{tmp_path_factory.mktemp('console') / 'andon.db'}")
    add_user(s, USERNAME, access="operator", role="maintenance_planner", password=PASSWORD,
             display_name="Chris Janssens")
    rows = [
        make_intervention("pump-a", asset="p-101", created_at=T0 - timedelta(hours=5)),
        replace(make_intervention("pump-b", asset="p-102", asset_name="Pump P-102",
                                  created_at=T0 - timedelta(hours=1)),
                priority=Priority.CRITICAL),
        replace(make_intervention("pump-c", asset="p-102", asset_name="Pump P-102",
                                  created_at=T0 - timedelta(hours=3)), priority=Priority.LOW),
        replace(make_intervention("fan-op", asset="m-103", created_at=T0),
                owner_role="operator", use_case="fan-motor"),
        replace(make_intervention("porto-1", asset="p-301", created_at=T0), site="porto",
                line="boiler-feed"),
        replace(closed(make_intervention("done-1", created_at=T0 - timedelta(days=2))),
                outcome=OutcomeLabel.FAULT_CONFIRMED,
                outcome_detail="outer race spalled, bearing replaced"),
        closed(make_intervention("done-2", asset="p-102", created_at=T0 - timedelta(days=3))),
    ]
    for iv in rows:
        s.save_intervention(iv)
    yield s
    s.close()


@pytest.fixture(scope="module")
def base_url(console_store: SqlStore, demo_spec: PlantSpec) -> Iterator[str]:
    with serving(create_app(console_store, demo_spec, clock=ManualClock(T0))) as url:
        yield url


@pytest.fixture(scope="module")
def session(base_url: str, chromium: Path) -> Iterator[tuple[Page, Watched]]:
    """One signed-in Chromium page for the module, and what it saw."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - browser only

    with sync_playwright() as pw:
        browser = launch(pw, chromium)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            seen = watch(page, base_url)
            page.goto(f"{base_url}/login")
            sign_in(page, base_url, USERNAME, PASSWORD)
            yield page, seen
        finally:
            browser.close()
    assert seen.outside == []
    assert seen.errors == []


def cards(page: Page) -> list[str]:
    return page.locator("#iv-list article[data-intervention-id]").evaluate_all(
        "els => els.map(e => e.dataset.interventionId)")


def test_the_console_shows_my_scope_filtered_and_sorted(session: tuple[Page, Watched],
                                                        base_url: str) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page, _ = session
    expect(page.locator("#scope")).to_contain_text("Ghent water treatment · owned by "
                                                   "Maintenance planner")
    assert cards(page) == ["pump-b", "pump-a", "pump-c"]  # critical, high, low
    page.get_by_label("Priority").select_option("high")  # applies on change (inbox.js)
    page.wait_for_url(f"{base_url}/inbox?*priority=high*")
    assert cards(page) == ["pump-a"]
    page.get_by_label("Priority").select_option("")
    page.wait_for_url(lambda url: "priority=high" not in url)
    page.get_by_label("Sort by").select_option("age")
    page.wait_for_url(f"{base_url}/inbox?*sort=age*")
    assert cards(page) == ["pump-a", "pump-c", "pump-b"]  # oldest first
    page.get_by_label("Order").select_option("desc")
    page.wait_for_url(f"{base_url}/inbox?*dir=desc*")
    assert cards(page) == ["pump-b", "pump-c", "pump-a"]


def test_two_are_acknowledged_at_once_each_with_its_result(
        session: tuple[Page, Watched], base_url: str, console_store: SqlStore) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page, _ = session
    page.goto(f"{base_url}/inbox")
    expect(page.locator("#bulk")).to_contain_text("each needs its own judgement (ISA-18.2)")
    page.locator('[data-select="pump-a"]').check()
    page.locator('[data-select="pump-c"]').check()
    page.get_by_role("button", name="Acknowledge selected").click()
    expect(page.locator("#flash")).to_have_text("Acknowledged 2 of 2.")
    expect(page.locator('#bulk-results [data-ok="true"]')).to_have_count(2)
    expect(page.locator("#iv-pump-a [data-state]")).to_have_text("Acknowledged by chris")
    expect(page.locator("#iv-pump-b [data-state]")).to_have_text("New")
    assert console_store.get_intervention("pump-c").state is InterventionState.ACKNOWLEDGED


def test_a_comment_appears_on_the_card(session: tuple[Page, Watched], base_url: str) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page, _ = session
    page.goto(f"{base_url}/inbox")
    page.get_by_label("Comment on Pump P-102").first.fill("spare bearing on the shelf")
    page.locator("#comments-pump-b").get_by_role("button", name="Comment").click()
    page.wait_for_url(f"{base_url}/inbox?done=comment*")
    expect(page.locator("#comments-pump-b [data-comment]")).to_contain_text(
        "chris: spare bearing on the shelf")
    expect(page.locator("#comments-pump-b h3")).to_have_text("Comments (1)")


def test_the_closed_history_is_searched(session: tuple[Page, Watched], base_url: str) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page, _ = session
    page.get_by_role("link", name="History").click()
    page.wait_for_url(f"{base_url}/inbox?view=history*")
    expect(page.locator("#history-table tbody tr")).to_have_count(2)
    page.get_by_label("Search").fill("SPALLED")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"{base_url}/inbox?*q=SPALLED*")
    rows = page.locator("#history-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-intervention-id", "done-1")
    expect(rows.first).to_contain_text("outer race spalled, bearing replaced")


def test_a_new_intervention_appears_without_a_reload(
        session: tuple[Page, Watched], base_url: str, console_store: SqlStore) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page, _ = session
    page.goto(f"{base_url}/inbox")
    page.evaluate("window.__sameDocument = true")  # a reload would drop it
    expect(page.locator("#iv-live-1")).to_have_count(0)
    console_store.save_intervention(replace(
        make_intervention("live-1", asset="p-101", created_at=T0),
        priority=Priority.CRITICAL))  # what the central ingest does when the edge raises one
    expect(page.locator("#iv-live-1")).to_be_visible(timeout=WAIT_MS)
    assert page.evaluate("window.__sameDocument") is True
    expect(page.locator("[data-open-count]")).to_have_attribute("data-open-count", "4")
