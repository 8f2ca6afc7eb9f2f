"""Database files only their owner can read: created 0600, whatever the umask.

The store, the edge's outbox and the central ingest's ledger hold plant data, user names and
token hashes. SQLite creates a new database file with mode 0644 less the umask (world-readable
under the usual 022) and gives its ``-wal``, ``-shm`` and ``-journal`` companions the mode of
the database file. ``private_database`` creates the file empty with mode 0600 before SQLite
opens it (an empty file is a new database to SQLite), so the companions are 0600 too. A file
that exists is left as it is; when others may read it, a warning names it and the fix.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import structlog

__all__ = ["PRIVATE_MODE", "private_database"]

#: owner read and write, nothing for group and others
PRIVATE_MODE = 0o600

log = structlog.get_logger("andon.store")


def private_database(path: str | Path) -> bool:
    """Create the SQLite database file ``path`` empty with mode 0600 unless it exists.

    Returns True if it created the file. ``":memory:"`` and ``""`` (in-memory databases) are
    left alone. An existing file readable or writable by group or others is kept as it is, with
    a warning (``chmod 600`` it). ``OSError`` if the file cannot be created (the directory
    must exist).
    """
    if str(path) in {"", ":memory:"}:
        return False
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_MODE)
    except FileExistsError:
        mode = stat.S_IMODE(Path(path).stat().st_mode)
        if mode & 0o077:
            log.warning("database file readable by others", path=str(path),
                        mode=f"{mode:04o}", fix=f"chmod 600 {path}")
        return False
    try:
        os.fchmod(fd, PRIVATE_MODE)  # the umask may have taken owner bits away too
    finally:
        os.close(fd)
    return True
