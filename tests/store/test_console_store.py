"""The console's query and comments on every backend (SQLite and PostgreSQL): the one suite of
``andon.testing.conformance.console``, which compares each answer with the pure rules."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from andon.store import SqlStore
from andon.store.base import Store
from andon.testing.conformance.console import CONSOLE_CHECKS


@pytest.mark.parametrize("check", CONSOLE_CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_console_conformance(check: Callable[[Store], None], any_store: SqlStore) -> None:
    """Each check on a fresh, empty store of each backend (``any_store`` in conftest.py)."""
    check(any_store)
