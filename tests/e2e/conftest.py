"""Browser tests' shared fixture: Debian's Chromium (a clear skip, a failure in CI, without it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e.browser import CHROMIUM


@pytest.fixture(scope="session")  # a module's shared browser may need it too
def chromium() -> Path:
    """Debian's Chromium; a clear skip (a failure in CI) when it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"Debian chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM
