"""An HMI page frames the inbox in a real browser: refused by default, shown when allowed.

The "HMI" is a page of its own origin (``http://localhost:PORT``, another site than Andon's
``http://127.0.0.1:PORT``) holding an iframe of Andon's sign-in page, as Ignition Perspective's
web frame would. Chromium (Debian's, through Playwright) enforces ``X-Frame-Options`` and
``Content-Security-Policy: frame-ancestors`` as any plant browser would.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from andon.api import create_app
from andon.clock import ManualClock
from andon.testing.factories import T0
from andon.testing.services import serving
from e2e.browser import launch

if TYPE_CHECKING:
    from andon.spec import PlantSpec
    from andon.store import SqlStore


pytestmark = pytest.mark.browser


async def _hmi(request: Request) -> HTMLResponse:
    src = html.escape(request.query_params["src"], quote=True)
    return HTMLResponse(f'<!doctype html><title>HMI</title><h1>Line 1</h1>'
                        f'<iframe id="andon" src="{src}" width="900" height="600"></iframe>')


def test_only_an_allowed_origin_may_show_the_inbox_in_a_frame(
    chromium: Path, store: SqlStore, demo_spec: PlantSpec,
) -> None:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - browser only

    hmi_app = Starlette(routes=[Route("/hmi", _hmi)])
    with serving(hmi_app) as hmi_url:
        hmi_origin = hmi_url.replace("127.0.0.1", "localhost")  # another site than Andon's
        closed = create_app(store, demo_spec, clock=ManualClock(T0))
        allowing = create_app(store, demo_spec, clock=ManualClock(T0),
                              frame_ancestors=[hmi_origin])
        with serving(closed) as closed_url, serving(allowing) as open_url, \
                sync_playwright() as pw:
            browser = launch(pw, chromium)
            try:
                shown: dict[str, tuple[str, int]] = {}
                for name, base in (("closed", closed_url), ("allowing", open_url)):
                    page = browser.new_page()
                    with page.expect_event("framenavigated", predicate=lambda f: (
                            f.parent_frame is not None), timeout=20_000) as navigated:
                        page.goto(f"{hmi_origin}/hmi?src={base}/login")
                    frame = navigated.value  # Andon's page, or the browser's refusal page
                    frame.wait_for_load_state("load")
                    buttons = frame.locator("button", has_text="Sign in").count()
                    shown[name] = (frame.url, buttons)
                    page.close()
            finally:
                browser.close()
    assert shown["allowing"] == (f"{open_url}/login", 1), f"the allowed HMI got {shown}"
    assert shown["closed"][1] == 0, f"a frame showed the inbox without being allowed: {shown}"
    assert not shown["closed"][0].startswith(closed_url), shown  # the browser's error page
