"""Shared fixtures. Real services only; a missing one skips locally and fails in CI."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from andon.clock import ManualClock
from andon.interventions.record import Intervention
from andon.settings import TABLE
from andon.spec import PlantSpec, load_spec
from andon.store import SqlStore, open_store
from andon.store.schema import METADATA
from andon.testing import need, postgres_database
from andon.testing.factories import T0, make_intervention

# detailed assertion messages from the conformance checks (registered before they are imported)
pytest.register_assert_rewrite("andon.testing.conformance")

ROOT = Path(__file__).resolve().parents[1]
DEMO_SPEC = ROOT / "examples" / "demo-plant.yaml"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failed run: a missing service must not hide."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not IN_CI or reporter is None:
        return
    skipped = reporter.stats.get("skipped", [])
    if skipped and exitstatus == 0:
        reporter.write_line(
            f"CI=true: {len(skipped)} test(s) skipped; every service must be available in CI.",
            red=True,
        )
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _no_settings_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands under test see the settings' defaults, whatever ANDON_* the shell exports."""
    for setting in TABLE:
        monkeypatch.delenv(setting.env, raising=False)


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """A command run in process (``CliRunner``) configures logging; the next test starts afresh."""
    before = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**before)
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def demo_spec() -> PlantSpec:
    return load_spec(DEMO_SPEC)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'andon.db'}"


@pytest.fixture
def store(sqlite_url: str) -> Iterator[SqlStore]:
    """A fresh SQLite store (modules that need seeded data override this fixture)."""
    with open_store(sqlite_url) as s:
        yield s


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """A store URL on each backend: SQLite and PostgreSQL (for store conformance tests)."""
    url = request.getfixturevalue(f"{request.param}_url")
    assert isinstance(url, str)
    return url


@pytest.fixture
def any_store(store_url: str) -> Iterator[SqlStore]:
    """A fresh, empty store on each backend (the PostgreSQL database lives for the session)."""
    s = open_store(store_url)
    with s._engine.begin() as conn:
        for table in reversed(METADATA.sorted_tables):
            conn.execute(table.delete())
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    need("PostgreSQL", "127.0.0.1", 5432)
    with postgres_database() as url:
        yield url


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at the factories' ``T0`` (suites needing another start override it)."""
    return ManualClock(T0)


@pytest.fixture
def iv(store: SqlStore) -> Intervention:
    """The factories' intervention, saved in the test's store."""
    r = make_intervention()
    store.save_intervention(r)
    return r
