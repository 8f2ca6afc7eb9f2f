"""Every SQLite file Andon creates is 0600, with its -wal and -shm, under the usual umask 022.

The store (``open_store``), the edge's outbox and the central ingest's ledger each create their
database; each is checked after a committed write, while its write-ahead log is on disk.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import structlog

from andon.edge.outbox import Outbox
from andon.services.central import Sequencer
from andon.store import open_store
from andon.store.files import private_database
from andon.testing.factories import T0


@pytest.fixture(autouse=True)
def _umask_022() -> Iterator[None]:
    """The umask most systems run with: files default to 0644, readable by everyone."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_store(path: Path) -> Callable[[], None]:
    store = open_store(f"sqlite:///{path}")
    store.save_spec("version: 1\n", "ana", T0)
    return store.close


def write_outbox(path: Path) -> Callable[[], None]:
    box = Outbox(path)
    box.append("event", "k1", "edge", "andon/v1/acme/_andon/edge/e1/event", {"kind": "x"})
    return box.close


def write_ledger(path: Path) -> Callable[[], None]:
    ledger = Sequencer(path)
    ledger.advance_many({("epoch", "edge"): 7})
    return ledger.close


@pytest.mark.parametrize("write", [write_store, write_outbox, write_ledger],
                         ids=["store", "edge outbox", "ingest ledger"])
def test_a_new_database_and_its_wal_are_private(tmp_path: Path,
                                                write: Callable[[Path], Callable[[], None]],
                                                ) -> None:
    path = tmp_path / "data" / "andon.db"  # the directory is created too
    close = write(path)
    try:
        companions = [Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert all(p.exists() for p in companions), "WAL mode: a committed write is in the -wal"
        for p in [path, *companions]:
            assert mode(p) & 0o077 == 0, f"{p.name} is {mode(p):04o}"
        assert mode(path) == 0o600
    finally:
        close()


def test_the_control_a_file_sqlite_creates_itself_is_readable_by_others(tmp_path: Path) -> None:
    """Without ``private_database`` the same umask leaves the file world-readable."""
    import sqlite3  # noqa: PLC0415

    path = tmp_path / "plain.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    assert mode(path) & 0o004


def test_an_existing_readable_file_is_left_as_it_is_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "andon.db"
    path.touch(mode=0o644)
    with structlog.testing.capture_logs() as logs:
        assert private_database(path) is False
        open_store(f"sqlite:///{path}").close()
    assert mode(path) == 0o644
    warned = [e for e in logs if e["event"] == "database file readable by others"]
    assert warned
    assert warned[0]["path"] == str(path)
    assert warned[0]["fix"] == f"chmod 600 {path}"


def test_an_existing_private_file_is_quiet(tmp_path: Path) -> None:
    path = tmp_path / "andon.db"
    assert private_database(path) is True
    with structlog.testing.capture_logs() as logs:
        assert private_database(path) is False
    assert logs == []


def test_a_strict_umask_still_gives_the_owner_read_and_write(tmp_path: Path) -> None:
    os.umask(0o277)  # would leave 0400: SQLite could not write its own file
    path = tmp_path / "andon.db"
    store = open_store(f"sqlite:///{path}")
    try:
        store.save_spec("version: 1\n", "ana", T0 + timedelta(seconds=1))
    finally:
        store.close()
    assert mode(path) == 0o600
