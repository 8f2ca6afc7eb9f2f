"""Sink fixtures: a real store (SQLite; PostgreSQL where marked), a manual clock, a rec."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from andon.clock import ManualClock
from factories import T0, make_rec

if TYPE_CHECKING:
    from andon.interventions.recommendation import Recommendation
    from andon.store import SqlStore


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def rec(store: SqlStore) -> Recommendation:
    r = make_rec()
    store.save_recommendation(r)
    return r
