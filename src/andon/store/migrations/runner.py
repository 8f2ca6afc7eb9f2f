"""Bring a database to the newest schema revision, and say where it stands.

``upgrade(conn)`` is what every store runs on start-up, inside its write transaction:

* **an empty database** (none of Andon's tables): ``create_all`` of the current schema and a
  stamp of the head revision. Running every revision would give the same schema (a test proves
  it) but costs far more, and the test suite opens hundreds of fresh stores;
* **tables but no** ``alembic_version``: an unversioned database, *adopted*: made what 0.1's
  start-up made of it (see ``_adopt``), stamped ``0001``, then upgraded like any other;
* **a revision**: upgraded to the head (nothing to do when it is the head already). A revision
  this code does not know was written by a newer Andon: ``StoreError``, nothing touched.

Concurrent start-ups are serialised: on SQLite by the caller's ``BEGIN IMMEDIATE`` (one writer;
the others wait ``busy_timeout``), on PostgreSQL by a transaction-scoped advisory lock taken
first thing. Whoever comes second finds the work done. Every step runs in the caller's one
transaction, and both backends roll DDL back: a failed upgrade changes nothing. On SQLite the
store runs it with foreign keys off and checks them before committing (``SqlStore``), so a
revision in batch mode may copy a table that others reference.

``alembic_version`` belongs to Alembic's own ``MetaData``, not to ``andon.store.schema``'s, so
code that walks ``METADATA.sorted_tables`` never sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, table
from sqlalchemy import text as sql_text

from andon.errors import StoreError
from andon.store.migrations import release_0_1
from andon.store.schema import METADATA

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Connection

__all__ = ["BASELINE", "Revision", "Status", "Upgrade", "head", "history", "status", "upgrade"]

#: the revision of release 0.1.0's schema: where an unversioned 0.1 database is adopted
BASELINE = "0001"
#: the revision whose schema 0.2 development builds made before migrations existed (adopted so)
_PRE_MIGRATIONS_0_2 = "0002"
#: PostgreSQL advisory lock key of schema changes (the ASCII of "andon")
_LOCK_KEY = 0x616E646F6E
_HERE = Path(__file__).resolve().parent
#: the tables a database made before migrations can have (0.1's; 0.2 development builds'
#: ``interventions``): an unstamped database with none of them is empty to Andon
_UNVERSIONED = frozenset(release_0_1.METADATA.tables) | {"interventions"}


@dataclass(frozen=True, slots=True)
class Revision:
    """One revision of the schema: its id, the one it follows (None: the first), its title."""

    id: str
    down: str | None
    title: str


@dataclass(frozen=True, slots=True)
class Status:
    """Where a database stands: its revision, if stamped; if not, whether it is empty."""

    revision: str | None  # None: empty, or unversioned (made before migrations: 0.1)
    empty: bool  # unstamped, and none of Andon's tables


@dataclass(frozen=True, slots=True)
class Upgrade:
    """What ``upgrade`` did: from ``before`` (None: an empty database) to ``after``."""

    before: str | None
    after: str
    unversioned: bool = False  # the database had tables but no revision: it was adopted

    @property
    def changed(self) -> bool:
        """True when the schema or its stamp was written."""
        return self.unversioned or self.before != self.after


@cache
def _script() -> ScriptDirectory:
    """The revisions (loaded once per process: each open store asks for the head)."""
    return ScriptDirectory(str(_HERE))


def head() -> str:
    """The newest revision: the schema of ``andon.store.schema.METADATA``."""
    newest = _script().get_current_head()
    if newest is None:  # pragma: no cover - the package ships its revisions
        raise StoreError("no schema revisions found in andon.store.migrations.versions")
    return newest


def history() -> list[Revision]:
    """Every revision, oldest first."""
    return [
        Revision(script.revision, _down(script.down_revision), script.doc.strip())
        for script in reversed(list(_script().walk_revisions()))
    ]


def status(conn: Connection) -> Status:
    """The database's revision and whether it is empty (reads only)."""
    revision = MigrationContext.configure(conn).get_current_revision()
    return Status(revision, revision is None and not _our_tables(conn))


def upgrade(conn: Connection) -> Upgrade:
    """Bring the schema to the head revision (see the module docstring); what was done.

    ``conn`` must be in a write transaction (on SQLite begun with ``BEGIN IMMEDIATE``, foreign
    keys off); the caller commits.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    newest = head()
    context = MigrationContext.configure(conn)
    before = context.get_current_revision()
    if before == newest:
        return Upgrade(before, newest)
    if before is None:
        tables = _our_tables(conn)
        if not tables:
            METADATA.create_all(conn)
            context.stamp(_script(), newest)
            return Upgrade(None, newest)
        adopted = _adopt(conn, tables)
        context.stamp(_script(), adopted)
        _upgrade(conn)
        return Upgrade(adopted, newest, unversioned=True)
    if before not in {r.id for r in history()}:
        raise StoreError(f"the database's schema is at revision {before}, unknown to this "
                         f"Andon (newest {newest}): it was written by a newer version")
    _upgrade(conn)
    return Upgrade(before, newest)


def _upgrade(conn: Connection) -> None:
    """Run the revisions from the stamped one to the head, through ``env.py``."""
    config = Config(attributes={"connection": conn})
    config.set_main_option("script_location", str(_HERE))
    command.upgrade(config, "head")


def _our_tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) & _UNVERSIONED


def _adopt(conn: Connection, tables: set[str]) -> str:
    """Prepare an unversioned database for its first stamp; the revision it is at.

    A database with ``interventions`` and no ``recommendations`` was made by a 0.2 build
    before migrations: its schema is revision 0002's. Any other is a 0.1 database (or older)
    and gets what 0.1's ``create_schema`` did on every start: ``create_all`` of 0.1's schema
    (the tables an older database lacks) and the column fix-ups 0.1 carried for databases
    made before the registry and quality reasons. A 0.1 database that a 0.2 build before
    migrations opened also has that build's empty ``interventions`` table, which goes (one
    with rows cannot be told apart from real data: ``StoreError``).
    """
    if "recommendations" not in tables and "interventions" in tables:
        return _PRE_MIGRATIONS_0_2
    if "interventions" in tables:
        rows = conn.execute(select(func.count()).select_from(table("interventions")))
        if rows.scalar_one():
            raise StoreError(
                "the database has both 'recommendations' (release 0.1) and a non-empty "
                "'interventions' table (written by a 0.2 development build before "
                "migrations); move the rows by hand and drop one of them",
            )
        conn.execute(sql_text("DROP TABLE interventions"))
    release_0_1.METADATA.create_all(conn)
    _add_missing_columns(conn)
    return BASELINE


#: columns that 0.1's start-up added to tables made before them: table -> name -> DDL type
_PRE_0_1_COLUMNS = {
    "samples": {"reason": "VARCHAR(32)"},
    "models": {
        "stage": "VARCHAR(16) NOT NULL DEFAULT 'candidate'",
        "key_id": "VARCHAR(64)",
        "signer": "VARCHAR(200)",
    },
}


def _add_missing_columns(conn: Connection) -> None:
    """Add the columns 0.1 added on start-up to ``samples`` and ``models`` (idempotent)."""
    inspector = inspect(conn)
    for name, columns in _PRE_0_1_COLUMNS.items():
        present = {c["name"] for c in inspector.get_columns(name)}
        for col, ddl in columns.items():
            if col not in present:
                conn.execute(sql_text(f"ALTER TABLE {name} ADD COLUMN {col} {ddl}"))


def _down(down_revision: str | Sequence[str] | None) -> str | None:
    """The one revision before (the history is linear: a merge would be a mistake here)."""
    if down_revision is None or isinstance(down_revision, str):
        return down_revision
    raise StoreError(f"schema revisions merge {down_revision}; keep them in a straight line")
