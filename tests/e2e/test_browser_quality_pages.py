"""An engineer looks after the data and the people's load in a real browser.

One server and one browser for the module: the store holds two hours of an edge's data (a
quarantined out-of-range value, a counter that went down, a broken payload, a topic whose
asset id carries a right-to-left override), two triage items and a flood of interventions.
The app runs the fixed spec (the counter may go down), so a replay recovers one item. The
replay is held at its last step by a gate the test opens, so the page is seen running, then
finishing, without a reload.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from andon.api import create_app
from andon.clock import ManualClock
from andon.spec import load_spec
from andon.store import open_store
from andon.testing.factories import add_user, make_intervention
from andon.testing.services import serving
from e2e.browser import launch, sign_in, watch
from web.test_quality_pages import DEMO_SPEC, fill_plant, held

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

    from playwright.sync_api import Browser, Page

    from andon.store import SqlStore

USERNAME, PASSWORD = "erin", "plant-2026"

pytestmark = pytest.mark.browser


class GatedStore:
    """The real store, whose ``mark_replayed`` waits for the test to open ``gate``."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self.gate = threading.Event()

    def mark_replayed(self, ids: Any, at: datetime) -> int:
        assert self.gate.wait(30), "the test never opened the replay's gate"
        return self._store.mark_replayed(ids, at)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, GatedStore]]:
    tmp = tmp_path_factory.mktemp("engineer-pages")
    spec = load_spec(DEMO_SPEC)
    text = DEMO_SPEC.read_text(encoding="utf-8")
    old = "{name: stroke_count, quantity: count,"
    fixed = tmp / "fixed.yaml"
    fixed.write_text(text.replace(old, old + " monotonic: false,"), encoding="utf-8")
    store = open_store(f"sqlite:///{tmp / 'andon.db'}")
    clock = ManualClock(make_intervention().created_at)
    fill_plant(store, spec, clock, tmp / "models")
    held(store, "p-101")
    held(store, "p-102")
    start = clock.now() - timedelta(hours=2)
    raised = [("p-101", 0), ("p-101", 1), ("p-101", 2)] + [  # p-101 chatters
        (asset, 15 + 9 * n) for n, asset in enumerate(["p-102", "k-104", "m-103"] * 3)]
    for n, (asset, minute) in enumerate(raised):
        store.save_intervention(make_intervention(
            f"iv-{n}", asset=asset, created_at=start + timedelta(minutes=minute)))
    add_user(store, USERNAME, access="engineer", role="reliability_engineer",
             password=PASSWORD)
    gated = GatedStore(store)
    app = create_app(gated, load_spec(fixed), clock=clock)  # type: ignore[arg-type]
    try:
        with serving(app) as base_url:
            yield base_url, gated
    finally:
        gated.gate.set()
        store.close()


@pytest.fixture(scope="module")
def browser(site: tuple[str, GatedStore], chromium: Path) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - browser only

    with sync_playwright() as pw:
        b = launch(pw, chromium)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def page(browser: Browser, site: tuple[str, GatedStore]) -> Iterator[Page]:
    base_url, _ = site
    p = browser.new_page(viewport={"width": 1280, "height": 900})
    seen = watch(p, base_url)
    p.goto(f"{base_url}/login")
    sign_in(p, base_url, USERNAME, PASSWORD)
    yield p
    assert seen.outside == []  # nothing loaded from elsewhere
    assert seen.errors == []  # no script error, no CSP violation


def test_the_quality_and_load_pages_draw_their_figures(page: Page, tmp_path: Path) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page.get_by_role("link", name="Data quality").click()
    expect(page.locator("[data-quarantined]")).to_have_text("3")
    expect(page.locator("#dq-by-rule rect.bar")).to_have_count(3)
    expect(page.locator("#dq-trend svg polyline.series")).to_have_count(1)
    page.get_by_label("Line", exact=True).select_option("press-line")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#dq-tags tr[data-tag]")).to_have_count(1)
    page.screenshot(path=str(tmp_path / "quality.png"), full_page=True)

    page.get_by_role("link", name="Operator load").click()
    row = page.locator("#load-table tr[data-position]")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1)).to_have_text("12")
    expect(row.locator("td").last).to_have_text("pump-bearing/p-101 (3)")
    expect(page.locator("#load-chart line.target")).to_have_count(2)
    page.screenshot(path=str(tmp_path / "load.png"), full_page=True)


def test_a_replay_is_watched_to_its_end_and_hostile_names_stay_in_place(
        page: Page, site: tuple[str, GatedStore], tmp_path: Path) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    _, gated = site
    page.get_by_role("link", name="Quarantine").click()
    hostile = page.locator('#q-table tr[data-rule="unknown_tag"] td.q-where')
    expect(hostile).to_contain_text("p-101\\u202elive/bearing_temp")  # spelled out
    # the cells keep their order: the rule cell is right of the topic cell
    rule_cell = page.locator('#q-table tr[data-rule="unknown_tag"] td.q-rule')
    assert rule_cell.bounding_box()["x"] > hostile.bounding_box()["x"]  # type: ignore[index]

    page.get_by_role("button", name="Replay").click()
    expect(page.locator("#replay-job")).to_have_attribute("data-state", "running")
    expect(page.locator("#replay-count")).to_have_text("4 of 4 checked")  # polled
    expect(page.locator("#replay-bar")).to_have_attribute("value", "4")
    expect(page.get_by_role("button", name="Replay")).to_be_disabled()
    gated.gate.set()  # let it store what passed
    expect(page.locator("#replay-state")).to_have_text("done")
    expect(page.locator("#replay-stored")).to_have_text("1")
    expect(page.locator("#replay-still")).to_have_text(
        "malformed 1, out_of_range 1, unknown_tag 1")
    expect(page.locator("#replay-result")).to_be_visible()
    page.screenshot(path=str(tmp_path / "quarantine.png"), full_page=True)


def test_an_engineer_labels_a_triage_item(page: Page) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415

    page.get_by_role("link", name="Triage").click()
    items = page.locator("#triage-list li[data-triage-id]")
    expect(items).to_have_count(2)
    first = items.first
    first.get_by_label("Note (optional)").fill("load test on the line")
    first.get_by_role("button", name="No fault").click()
    expect(page.locator("#flash")).to_contain_text("it is in the Labelled tab")
    expect(page.locator("#triage-list li[data-triage-id]")).to_have_count(1)
    page.get_by_role("link", name="Labelled (1)").click()
    expect(page.locator("#triage-list li[data-label]")).to_contain_text(
        f"No fault by {USERNAME} (reliability_engineer)")
