"""The stored spec is the served spec after a restart.

A spec replaced through ``PUT /api/spec`` used to be dropped when the server restarted from
its spec file, while ``GET /api/spec`` still called it current. A restart here is what
``andon serve`` does: ``start_spec`` over the same store and file, then ``create_app`` with
the spec it chose. What runs is read back through the app itself: ``GET /api/rollouts`` lists
the use cases of the spec in force.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from andon.api import create_app
from andon.app import Context
from andon.app.spec import STARTED_BY, StartSpec, start_spec
from andon.clock import ManualClock
from andon.errors import SpecErrors
from andon.testing.factories import T0

from .conftest import DEMO_SPEC_TEXT, SESSION_TTL_S, TestClient

if TYPE_CHECKING:
    from pathlib import Path

    from andon.store import SqlStore

    from .conftest import Login

#: the demo with its second use case renamed: which of the two runs is visible in the API
RENAMED = DEMO_SPEC_TEXT.replace("- id: motor-health", "- id: motor-watch", 1)


def write(path: Path, text: str, changed_at: float) -> Path:
    path.write_text(text, encoding="utf-8")
    os.utime(path, (changed_at, changed_at))
    return path


def restart(store: SqlStore, spec_file: Path, clock: ManualClock) -> tuple[StartSpec, TestClient]:
    """What ``andon serve`` does at start: choose the spec, then build the app with it."""
    chosen = start_spec(Context(store, clock), spec_file).record
    app = create_app(store, chosen.spec, clock=clock, session_ttl_s=SESSION_TTL_S)
    return chosen, TestClient(app)


def use_cases(client: TestClient, login: Login) -> list[str]:
    response = client.get("/api/rollouts", headers=login.headers)
    assert response.status_code == 200, response.text
    return [r["use_case"] for r in response.json()]


def test_a_spec_put_through_the_api_is_served_after_a_restart(
    tmp_path: Path, store: SqlStore, clock: ManualClock, logins: dict[str, Login],
) -> None:
    admin = logins["admin"]
    spec_file = write(tmp_path / "plant.yaml", DEMO_SPEC_TEXT, (T0 - timedelta(days=1)).timestamp())
    first, client = restart(store, spec_file, clock)
    with client:
        assert first.version.version == 1  # nothing was stored: the file, stored as v1
        assert use_cases(client, admin) == ["pump-bearing", "motor-health"]
        clock.advance(5 * 60)
        put = client.put("/api/spec", content=RENAMED.encode(), headers=admin.headers)
        assert put.status_code == 200, put.text
        assert put.json()["version"] == 2
        assert use_cases(client, admin) == ["pump-bearing", "motor-watch"]

    clock.advance(3600)
    second, client = restart(store, spec_file, clock)  # the file is older than v2
    with client:
        assert second.version.version == 2
        assert "the file is ignored until it changes" in second.reason
        assert use_cases(client, admin) == ["pump-bearing", "motor-watch"]
        current = client.get("/api/spec", headers=admin.headers).json()
        assert current["version"] == 2
        assert current["text"] == RENAMED
        assert current["by"] == "admin"
    assert store.current_spec().version == 2  # type: ignore[union-attr]


def test_a_file_changed_after_the_stored_spec_wins_and_is_stored(
    tmp_path: Path, store: SqlStore, clock: ManualClock, logins: dict[str, Login],
) -> None:
    admin = logins["admin"]
    store.save_spec(RENAMED, "admin", T0)
    changed = (T0 + timedelta(hours=1)).timestamp()
    spec_file = write(tmp_path / "plant.yaml", DEMO_SPEC_TEXT, changed)
    chosen, client = restart(store, spec_file, clock)
    with client:
        assert chosen.version.version == 2
        assert chosen.reason.startswith(f"plant spec v2: {spec_file}, stored now (it changed")
        assert use_cases(client, admin) == ["pump-bearing", "motor-health"]
        current = client.get("/api/spec", headers=admin.headers).json()
        assert (current["version"], current["text"], current["by"]) == (2, DEMO_SPEC_TEXT,
                                                                         STARTED_BY)


def test_the_same_text_is_not_stored_again(tmp_path: Path, store: SqlStore,
                                           clock: ManualClock) -> None:
    spec_file = write(tmp_path / "plant.yaml", DEMO_SPEC_TEXT, T0.timestamp())
    first = start_spec(Context(store, clock), spec_file)
    clock.advance(86400)
    os.utime(spec_file, ((T0 + timedelta(days=2)).timestamp(),) * 2)  # touched, not changed
    again = start_spec(Context(store, clock), spec_file)
    assert first.record.version.version == again.record.version.version == 1
    assert len(first.events) == 1
    assert again.events == ()
    assert again.record.reason == f"plant spec v1: {spec_file} (stored as it is)"


def test_a_stored_spec_that_no_longer_loads_is_named_in_the_error(
    tmp_path: Path, store: SqlStore, clock: ManualClock,
) -> None:
    spec_file = write(tmp_path / "plant.yaml", DEMO_SPEC_TEXT, T0.timestamp())
    store.save_spec("version: 1\n", "admin", T0 + timedelta(hours=1))  # e.g. a rule tightened
    with pytest.raises(SpecErrors) as caught:
        start_spec(Context(store, clock), spec_file)
    assert str(caught.value.errors[0]).startswith("stored spec v1:")


def test_a_missing_file_is_one_line(tmp_path: Path, store: SqlStore, clock: ManualClock) -> None:
    with pytest.raises(SpecErrors) as caught:
        start_spec(Context(store, clock), tmp_path / "nope.yaml")
    assert str(caught.value.errors[0]) == f"{tmp_path / 'nope.yaml'}: file not found"
