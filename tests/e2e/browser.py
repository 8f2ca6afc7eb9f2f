"""What every browser test does the same way: launch Chromium, watch a page, sign in.

Playwright drives Debian's ``chromium`` (no browser download here) with the flags the brief
names; a page is watched for requests leaving the app's origin (the plant floor is offline:
no CDN) and for script errors or CSP violations reported by the browser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def launch(pw: Playwright, chromium: Path) -> Browser:
    """Headless Debian Chromium with the brief's flags."""
    return pw.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)


@dataclass
class Watched:
    """What a page did that a test wants to be empty: requests elsewhere, browser errors."""

    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # script errors and CSP violations


def watch(page: Page, base_url: str) -> Watched:
    """Note every request to another origin and every error the browser reports."""
    seen = Watched()
    page.on("request", lambda r: None if r.url.startswith(base_url)
            else seen.outside.append(r.url))
    page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    return seen


def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    """Sign in through the login form; return on the inbox."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/inbox")
