"""An operator signs in with a real browser, takes the pump's intervention through its
lifecycle (acknowledge, start, done) and tells the outcome; the stored labels match the ones
the JSON API stores for the same answers.

The app runs under uvicorn on a free loopback port (started in a thread, awaited on
``Server.started``); Chromium is Debian's, driven by Playwright. Nothing is mocked.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import uvicorn

from andon.api import create_app
from andon.clock import ManualClock
from andon.feedback import FeedbackKind, Label
from andon.interventions.record import InterventionState
from andon.store import SqlStore, open_store
from andon.testing import eventually, free_port
from andon.testing.factories import T0, add_token, add_user, make_intervention
from e2e.browser import launch, sign_in, watch

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Page

    from andon.spec import PlantSpec

USERNAME, PASSWORD = "ana", "pump-room-2026"
STARTUP_TIMEOUT_S = 20.0

pytestmark = pytest.mark.browser


@pytest.fixture
def store(sqlite_url: str) -> Iterator[SqlStore]:
    """A SQLite store with one operator and one open intervention on pump p-101."""
    s = open_store(sqlite_url)
    # the role that owns the pump's interventions: the console shows a person their role's
    add_user(s, USERNAME, access="operator", role="maintenance_planner", password=PASSWORD,
             display_name="Ana Peeters")
    s.save_intervention(make_intervention("rec-p-101"))
    s.save_intervention(make_intervention("rec-api", created_at=T0 - timedelta(minutes=1)))
    yield s
    s.close()


@pytest.fixture
def base_url(store: SqlStore, demo_spec: PlantSpec) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1:<free port>, stopped after the test."""
    app = create_app(store, demo_spec, clock=ManualClock(T0))
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", ws="none",
                            http="h11", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()

    def serving() -> bool:
        if not thread.is_alive():
            pytest.fail("uvicorn stopped before it started serving")
        return bool(server.started)

    eventually(serving, "uvicorn to start serving", STARTUP_TIMEOUT_S, every_s=0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_S)
        assert not thread.is_alive(), "uvicorn did not shut down"


def _act_and_tell_the_outcome(page: Page) -> None:
    """Acknowledge, start, done (with a reason), then the outcome, with the inbox's buttons."""
    from playwright.sync_api import expect  # noqa: PLC0415 - browser tests only

    card = page.locator('article[data-intervention-id="rec-p-101"]')
    card.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#flash")).to_contain_text("acknowledged")
    card = page.locator('article[data-intervention-id="rec-p-101"]')
    expect(card).to_contain_text("Acknowledged by ana")
    expect(card.get_by_role("button", name="Acknowledge")).to_have_count(0)
    card.get_by_role("button", name="Start").click()
    expect(page.locator("#flash")).to_contain_text("started")
    card = page.locator('article[data-intervention-id="rec-p-101"]')
    card.locator("summary").click()  # the history
    expect(card.locator(".iv-history")).to_contain_text("new → acknowledged")
    card.get_by_label("Reason").fill("re-greased")
    card.get_by_role("button", name="Done").click()
    expect(page.locator("#flash")).to_contain_text("done")
    expect(page.locator("#rec-rec-p-101")).to_have_count(0)

    closed = page.locator("#closed-rec-p-101")
    expect(closed).to_be_visible()
    closed.get_by_label("What was found").fill("dry bearing")
    closed.get_by_role("button", name="Fault confirmed").click()
    expect(page.locator("#flash")).to_contain_text("outcome")
    expect(page.locator("#closed-rec-p-101")).to_have_count(0)


def _answer_through_the_api(base_url: str, store: SqlStore) -> None:
    """The API half: the answers the operator gave in the browser, on ``rec-api``."""
    headers = {"Authorization": f"Bearer {add_token(store, USERNAME, None)}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=10) as api:
        assert api.post("/api/interventions/rec-api/feedback",
                        json={"kind": "acted", "reason": "re-greased"}).status_code == 201
        assert api.post("/api/interventions/rec-api/outcome",
                        json={"label": "fault_confirmed",
                              "detail": "dry bearing"}).status_code == 201


def _essence(label: Label) -> tuple[str, str, str, str]:
    return (label.kind, label.label, label.detail, label.by)


def test_operator_logs_in_takes_the_pump_through_its_lifecycle_and_tells_the_outcome(
    chromium: Path, base_url: str, store: SqlStore, tmp_path: Path,
) -> None:
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415 - browser tests only

    screenshot = tmp_path / "inbox.png"
    with sync_playwright() as pw:
        browser = launch(pw, chromium)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            seen = watch(page, base_url)  # requests elsewhere; script errors, CSP violations
            signed_out = "the server responded with a status of 401"  # the login page itself

            page.goto(f"{base_url}/inbox")
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
            sign_in(page, base_url, USERNAME, PASSWORD)
            card = page.locator('[data-intervention-id="rec-p-101"]')
            expect(card).to_be_visible()
            expect(card.get_by_role("heading", name="Pump P-101")).to_be_visible()
            expect(card.get_by_text(make_intervention().action)).to_be_visible()
            expect(page.locator("#session")).to_contain_text("Ana Peeters")
            page.screenshot(path=str(screenshot), full_page=True)

            _act_and_tell_the_outcome(page)
        finally:
            browser.close()

    [fb] = store.feedback_for("rec-p-101")
    assert (fb.kind, fb.by, fb.via) == (FeedbackKind.ACTED, USERNAME, "web")
    done = store.get_intervention("rec-p-101")
    assert [m.to_state for m in done.history[1:]] == [
        InterventionState.ACKNOWLEDGED, InterventionState.IN_PROGRESS, InterventionState.DONE]
    assert [r.id for r in store.list_interventions(open_only=True)] == ["rec-api"]

    _answer_through_the_api(base_url, store)  # the same answers on an identical intervention
    web = store.labels(intervention_id="rec-p-101")
    via_api = store.labels(intervention_id="rec-api")
    assert [lb.via for lb in web] == ["web", "web"]
    assert [lb.via for lb in via_api] == ["api", "api"]
    assert [_essence(lb) for lb in web] == [_essence(lb) for lb in via_api] == [
        ("feedback", "acted", "re-greased", USERNAME), ("outcome", "fault_confirmed",
                                                        "dry bearing", USERNAME)]
    assert {(lb.asset, lb.model, lb.model_version) for lb in web + via_api} == {
        ("p-101", "pump-bearing", "3")}
    assert seen.outside == []  # nothing was fetched from another origin
    assert [e for e in seen.errors if signed_out not in e] == []
    assert screenshot.stat().st_size > 0
    print(f"inbox screenshot: {screenshot}")  # noqa: T201 - shown with -s, for a human to look at
