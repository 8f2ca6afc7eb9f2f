"""Store conformance: every backend (SQLite and PostgreSQL) passes the one suite in
``andon.testing.conformance.store``; what only one backend has is checked here."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from andon.errors import StoreError
from andon.namespace.sample import Quality, Sample
from andon.namespace.topics import TagAddress
from andon.store import SqlStore, open_store, refused_data
from andon.store.base import Store
from andon.testing.conformance.store import STORE_CHECKS, Reopen

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize("check", STORE_CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_store_conformance(check: Callable[[Store, Reopen], None], any_store: SqlStore,
                           store_url: str) -> None:
    """Each check on a fresh, empty store of each backend (``any_store`` in conftest.py)."""
    check(any_store, lambda: open_store(store_url))


# -- what is particular to a backend ----------------------------------------------------------
def test_open_store_refuses_unsupported_urls() -> None:
    with pytest.raises(StoreError, match="in-memory"):
        open_store("sqlite:///:memory:")
    with pytest.raises(StoreError, match="unsupported"):
        open_store("mysql://root:hunter2@localhost/andon")
    with pytest.raises(StoreError) as info:
        open_store("not a url :hunter2@")
    assert "hunter2" not in str(info.value)


def test_sqlite_store_uses_wal_and_foreign_keys(sqlite_url: str, tmp_path: Path) -> None:
    with open_store(sqlite_url) as store:
        with store._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 10_000
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 1  # NORMAL
        address = TagAddress("acme", "ghent", "utilities", "line-1", "p-101", "vibration")
        store.add_samples([Sample(address, 1.5, "mm/s", Quality.GOOD, 1, 1, "sim-ghent")],
                          ingest_ms=1)
    with sqlite3.connect(tmp_path / "andon.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    raw.close()


def test_repr_hides_password() -> None:
    store = SqlStore("postgresql://andon:s3cret@127.0.0.1:1/andon")
    assert "s3cret" not in repr(store)
    store.close()


_ADDRESS = TagAddress("acme", "ghent", "utilities", "line-1", "p-101", "vibration")


def test_a_sample_the_store_cannot_hold_refuses_its_whole_batch_as_refused_data(
        any_store: SqlStore) -> None:
    """The recorder and the central ingest split a batch on ``refused_data``: nothing half-done."""
    good = Sample(_ADDRESS, 1.5, "mm/s", Quality.GOOD, 1, 1, "sim-ghent")
    bad = Sample(_ADDRESS, 1.5, "mm/s", Quality.GOOD, 2, 2, "sim-\ud800")  # a lone surrogate
    with pytest.raises(Exception) as info:  # the backend's own error
        any_store.add_samples([good, bad], ingest_ms=1)
    assert refused_data(info.value)
    assert any_store.sample_count() == 0
    assert any_store.add_samples([good, good], ingest_ms=1) == 1


@pytest.mark.postgres
def test_postgres_refuses_a_source_longer_than_its_column_and_writes_nothing_of_the_batch(
        postgres_url: str) -> None:
    with open_store(postgres_url) as store:
        before = store.sample_count()
        good = Sample(_ADDRESS, 1.5, "mm/s", Quality.GOOD, 3, 3, "sim-long-test")
        long = Sample(_ADDRESS, 1.5, "mm/s", Quality.GOOD, 4, 4, "s" * 201)
        with pytest.raises(StoreError, match="the store refused a sample") as info:
            store.add_samples([good, long], ingest_ms=1)
        assert refused_data(info.value)
        assert store.sample_count() == before
        assert store.add_samples([good], ingest_ms=1) == 1, "the connection is usable after"
