"""Schema migrations: a 0.1 database keeps every row, walking the revisions gives today's schema,
start-ups racing on one database do the work once. SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, event, inspect, text

from andon.errors import StoreError
from andon.feedback import FeedbackKind
from andon.interventions.gate import EpisodeState
from andon.interventions.lifecycle import InterventionState
from andon.interventions.record import OutcomeLabel
from andon.interventions.triage import TriageVerdict
from andon.registry.stages import Stage
from andon.store import SqlStore, open_store
from andon.store import migrations as migrations_pkg
from andon.store.migrations import BASELINE, head, history, release_0_1
from andon.store.migrations.runner import _LOCK_KEY
from andon.store.schema import METADATA
from andon.testing import eventually, need, postgres_database
from release_0_1 import KEY, POSITION, T0, H, make_0_1_database, read_all, renamed

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy import Connection

MIGRATIONS = Path(migrations_pkg.__file__).parent


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own on each backend (PostgreSQL: created for the test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'andon.db'}"
        return
    need("PostgreSQL", "127.0.0.1", 5432)
    with postgres_database() as url:
        yield url


def walk(conn: Connection, target: str = "head", *, down: bool = False) -> None:
    """Run the revisions through Alembic's own commands (no fast path)."""
    config = Config(attributes={"connection": conn})
    config.set_main_option("script_location", str(MIGRATIONS))
    (command.downgrade if down else command.upgrade)(config, target)


def differences(conn: Connection, metadata: MetaData) -> list[Any]:
    """What autogenerate would change to make the database ``metadata``.

    Types always; server defaults on PostgreSQL only: on SQLite Alembic takes a reflected
    ``''`` for a change even on a fresh database (``shape`` compares SQLite's defaults).
    """
    context = MigrationContext.configure(conn, opts={
        "compare_type": True, "compare_server_default": conn.dialect.name != "sqlite"})
    return list(compare_metadata(context, metadata))


def fresh_shape(like: str, tmp_path: Path) -> dict[str, Any]:
    """``shape`` of a database created by today's code (fast path) on the backend of ``like``."""
    with another_empty(like, tmp_path) as url, open_store(url) as store, store._read() as conn:
        return shape(conn)


def shape(conn: Connection) -> dict[str, Any]:
    """Every table's columns, keys, indexes and constraints as reflected (names included)."""
    inspector = inspect(conn)
    out: dict[str, Any] = {}
    for name in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
        out[name] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default"))
                        for c in inspector.get_columns(name)],
            "pk": inspector.get_pk_constraint(name),
            "fks": sorted((fk["name"] or "", fk["constrained_columns"], fk["referred_table"],
                           fk["referred_columns"], fk["options"])
                          for fk in inspector.get_foreign_keys(name)),
            "indexes": sorted((ix["name"] or "", ix["column_names"], bool(ix["unique"]))
                              for ix in inspector.get_indexes(name)),
            "unique": sorted((u["name"] or "", u["column_names"])
                             for u in inspector.get_unique_constraints(name)),
        }
    return out


def revision_of(url: str) -> str | None:
    store = SqlStore(url)
    try:
        return store.schema_status().revision
    finally:
        store.close()


#: tables that revisions after 0003 create (a 0.2 build before migrations had none of them)
LATER_TABLES = ("rollouts", "shadow_interventions", "login_failures", "audit_anchors",
                "signatures", "intervention_comments")
#: columns of revision 0006 (table, column), dropped to make an older build's schema
COLUMNS_0006 = (("users", "disabled"), ("tokens", "kind"), ("tokens", "issued_at"),
                ("tokens", "last_used_at"), ("events", "seq"), ("events", "prev_hash"),
                ("events", "hash"), ("events", "record_hash"))
#: columns of revision 0008 (interventions), absent from a 0.1 or 0.2 database
COLUMNS_0008 = ("failure_earliest", "stopped_at")


# -- a database made by release 0.1 -------------------------------------------------------
def test_a_0_1_database_keeps_every_row_and_reads_through_the_store(empty_url: str,
                                                                   tmp_path: Path) -> None:
    before = make_0_1_database(empty_url)
    assert all(before.values()), [name for name, rows in before.items() if not rows]
    assert revision_of(empty_url) is None

    with open_store(empty_url) as store:
        with store._read() as conn:
            after = read_all(conn, METADATA.sorted_tables)
            # tables of later releases come empty (nothing of theirs existed in 0.1)
            later = set(after) - set(renamed(before))
            assert {n: after.pop(n) for n in sorted(later)} == {n: [] for n in sorted(later)}
            assert differences(conn, METADATA) == []
            assert shape(conn) == fresh_shape(empty_url, tmp_path)
        assert {n: len(r) for n, r in after.items()} == {
            n: len(r) for n, r in renamed(before).items()}
        assert after == renamed(before)  # row by row, value by value

        done = store.get_intervention("rec-51c0")
        assert done.state is InterventionState.DONE
        assert done.outcome is OutcomeLabel.FAULT_CONFIRMED
        assert [t.to_state for t in done.history][-1] is InterventionState.DONE
        assert [(f.kind, f.by) for f in store.feedback_for("rec-51c0")] == [
            (FeedbackKind.ACTED, "ana")]
        assert [lb.label for lb in store.labels(intervention_id="rec-51c0")] == [
            "acted", "fault_confirmed"]
        assert [iv.id for iv in store.list_interventions()] == ["rec-3f9a"]
        assert store.open_intervention_for("pump-bearing", "p-101") is not None

        episode = store.get_episode(KEY)
        assert episode is not None
        assert (episode.state, episode.intervention_id) == (EpisodeState.DELIVERED, "rec-3f9a")
        [queued] = store.queued_episodes(POSITION)
        assert queued.queued is not None
        assert (queued.queued.id, queued.queued.asset, queued.queued_at) == (
            "rec-7d2e", "p-102", T0 + H)
        assert store.get_episode("pump-bearing/p-102") == queued
        assert [e.intervention_id for e in store.gate_entries(key=KEY)] == [None, "rec-3f9a"]

        assert [d.external_id for d in store.deliveries(intervention_id="rec-51c0")] == [
            "WO-1042", None]
        [triaged] = store.list_triage()
        assert triaged.label is not None
        assert triaged.label.verdict is TriageVerdict.NORMAL
        assert [m.stage for m in store.list_models()] == [Stage.PRODUCTION, Stage.CANDIDATE]
        assert store.user_for_token("1" * 64, T0) == store.get_user("ana")
        assert store.user_for_token("2" * 64, T0) is None  # revoked stays revoked
        spec = store.current_spec()
        assert spec is not None
        assert spec.version == 2
        assert store.sample_count() == 4
        assert store.count_quarantined_by_rule() == {"malformed": 1, "out_of_range": 1}

        # and it takes new work: the renamed foreign keys point at the renamed table
        store.transition_intervention("rec-3f9a", InterventionState.DONE, by="ana",
                                      at=T0 + 6 * H)
        assert [f.kind for f in store.feedback_for("rec-3f9a")] == [FeedbackKind.ACTED]
        with store._read() as conn:
            if conn.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    assert revision_of(empty_url) == head()


def test_upgrading_again_changes_nothing(empty_url: str) -> None:
    make_0_1_database(empty_url)
    with open_store(empty_url) as store:
        with store._read() as conn:
            first = shape(conn), read_all(conn, METADATA.sorted_tables)
        again = store.upgrade_schema()
        assert (again.before, again.after, again.changed) == (head(), head(), False)
        with store._read() as conn:
            assert (shape(conn), read_all(conn, METADATA.sorted_tables)) == first
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1


def test_the_0_1_tables_come_back_on_downgrade_with_their_rows(empty_url: str) -> None:
    before = make_0_1_database(empty_url)
    store = SqlStore(empty_url)
    try:
        done = store.upgrade_schema()
        assert (done.before, done.after, done.unversioned) == (BASELINE, head(), True)
        with store._schema_write() as conn:  # as upgrades run: no cascade on a table copy
            walk(conn, BASELINE, down=True)
        with store._read() as conn:
            assert differences(conn, release_0_1.METADATA) == []
            assert read_all(conn, release_0_1.METADATA.sorted_tables) == before
    finally:
        store.close()
    assert revision_of(empty_url) == BASELINE
    with open_store(empty_url) as again:  # and up once more
        assert again.get_intervention("rec-51c0").outcome is OutcomeLabel.FAULT_CONFIRMED


# -- a fresh database ---------------------------------------------------------------------
def test_walking_every_revision_gives_the_current_schema(empty_url: str, tmp_path: Path) -> None:
    store = SqlStore(empty_url)
    try:
        with store._write() as conn:
            walk(conn)
        with store._read() as conn:
            assert differences(conn, METADATA) == []
            walked = shape(conn)
            assert MigrationContext.configure(conn).get_current_revision() == head()
    finally:
        store.close()
    # the fast path (create_all and a stamp) gives the same tables, to the constraint names
    assert fresh_shape(empty_url, tmp_path) == walked


@contextmanager
def another_empty(like: str, tmp_path: Path) -> Iterator[str]:
    """A second empty database on the backend of ``like``."""
    if like.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'another.db'}"
        return
    with postgres_database() as url:
        yield url


def test_an_empty_database_is_created_at_once_and_stamped(empty_url: str) -> None:
    with open_store(empty_url) as store:
        with store._read() as conn:
            assert differences(conn, METADATA) == []
        assert store.schema_status().revision == head()
    assert "alembic_version" not in METADATA.tables  # sorted_tables walkers never see it


def test_a_newer_database_is_refused_untouched(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    open_store(url).close()
    store = SqlStore(url)
    try:
        with store._write() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
        with pytest.raises(StoreError, match="revision 0099, unknown to this Andon"):
            store.upgrade_schema()
        assert store.schema_status().revision == "0099"
    finally:
        store.close()


# -- unversioned databases other than a clean 0.1 one -------------------------------------
def test_a_pre_0_1_database_gets_the_columns_0_1_added(empty_url: str) -> None:
    """0.1 added the registry's ``models`` columns and ``samples.reason`` on start-up."""
    url = empty_url
    make_0_1_database(url)
    store = SqlStore(url)
    try:
        with store._write() as conn:
            for table, column in (("samples", "reason"), ("models", "stage"),
                                  ("models", "key_id"), ("models", "signer")):
                conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    finally:
        store.close()
    with open_store(url) as store, store._read() as conn:
        assert differences(conn, METADATA) == []
        assert [m.stage for m in store.list_models()] == [Stage.CANDIDATE, Stage.CANDIDATE]


def test_a_0_1_database_opened_by_an_unmigrated_0_2_build_loses_its_empty_table(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    before = make_0_1_database(url)
    store = SqlStore(url)
    try:
        with store._write() as conn:  # what 0.2 before migrations did: create_all, no more
            METADATA.tables["interventions"].create(conn)
    finally:
        store.close()
    with open_store(url) as store, store._read() as conn:
        after = read_all(conn, METADATA.sorted_tables)
        assert {n: after.pop(n) for n in LATER_TABLES} == {n: [] for n in LATER_TABLES}
        assert after == renamed(before)


def test_an_unversioned_database_with_both_names_filled_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    make_0_1_database(url)
    store = SqlStore(url)
    try:
        with store._write() as conn:
            METADATA.tables["interventions"].create(conn)
            columns = ", ".join(c.name for c in METADATA.tables["interventions"].columns
                                if c.name not in {"change_seq", *COLUMNS_0008})
            conn.execute(text(f"INSERT INTO interventions ({columns}) "  # noqa: S608 - ours
                              f"SELECT {columns} FROM recommendations"))
        with pytest.raises(StoreError, match="both 'recommendations'"):
            store.upgrade_schema()
        assert store.schema_status().revision is None
    finally:
        store.close()


def test_a_database_of_an_unmigrated_0_2_build_is_adopted_at_0002(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    store = SqlStore(url)
    try:
        with store._write() as conn:  # that build's schema: today's, before revision 0003
            METADATA.create_all(conn, tables=[t for t in METADATA.sorted_tables
                                              if t.name not in LATER_TABLES])
            conn.execute(text("DROP INDEX ix_interventions_change_seq"))
            conn.execute(text("ALTER TABLE interventions DROP COLUMN change_seq"))
            conn.execute(text("DROP INDEX ix_events_seq"))
            for table, column in COLUMNS_0006:
                conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
            for column in COLUMNS_0008:
                conn.execute(text(f"ALTER TABLE interventions DROP COLUMN {column}"))
        done = store.upgrade_schema()
        assert (done.before, done.unversioned) == ("0002", True)
        with store._read() as conn:
            assert differences(conn, METADATA) == []
    finally:
        store.close()


# -- start-ups at the same time -----------------------------------------------------------
def test_concurrent_start_ups_on_a_fresh_database_do_the_work_once(empty_url: str) -> None:
    """Two stores (two engines) start while a third party holds the schema lock; both wait,
    then one creates the schema and the other finds it done."""
    stores = [SqlStore(empty_url) for _ in range(2)]
    began = [threading.Event() for _ in stores]
    for store, flag in zip(stores, began, strict=True):
        # fires as the store connects, just before its BEGIN (SQLite: IMMEDIATE; it waits)
        event.listen(store._engine, "engine_connect", _setter(flag))
    holder = SqlStore(empty_url)
    try:
        with ThreadPoolExecutor(2) as pool, holder._write() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            else:
                conn.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock is ours
            futures = [pool.submit(s.upgrade_schema) for s in stores]
            for flag in began:
                assert flag.wait(30), "a store never began its start-up"
            if conn.dialect.name == "postgresql":
                _wait_for_lock_waiters(holder, 2)
            # leaving the block commits: the lock goes, the two proceed one after the other
        results = sorted((f.result() for f in futures), key=lambda u: u.before or "")
    finally:
        for s in (*stores, holder):
            s.close()
    assert [(u.before, u.after) for u in results] == [(None, head()), (head(), head())]
    assert revision_of(empty_url) == head()


def _setter(flag: threading.Event) -> Callable[[Connection], None]:
    def connected(conn: Connection) -> None:  # one argument: SQLAlchemy's current signature
        del conn
        flag.set()
    return connected


def _wait_for_lock_waiters(store: SqlStore, n: int) -> None:
    """Return once ``n`` sessions wait for this database's schema lock (pg_locks says so)."""
    query = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                 "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
    def waiting() -> int:
        with store._read() as conn:
            return int(conn.execute(query).scalar_one())

    # polling PostgreSQL's own view of the waiters, not guessing
    eventually(lambda: waiting() >= n, f"{n} sessions to wait for the schema lock", 30,
               state=lambda: f"{waiting()} waiting")


# -- the revisions themselves -------------------------------------------------------------
def test_revisions_are_numbered_files_in_one_line() -> None:
    revisions = history()
    assert [r.id for r in revisions] == [f"{i:04d}" for i in range(1, len(revisions) + 1)]
    assert [r.down for r in revisions] == [None, *(r.id for r in revisions[:-1])]
    assert revisions[-1].id == head()
    files = sorted(p.name for p in (MIGRATIONS / "versions").glob("*.py"))
    assert [f[:4] for f in files] == [r.id for r in revisions]
    assert all(re.fullmatch(r"\d{4}_[a-z0-9_]+\.py", f) for f in files), files
    assert all(r.title for r in revisions)


def test_revisions_never_use_the_live_schema() -> None:
    for path in [MIGRATIONS / "release_0_1.py", *(MIGRATIONS / "versions").glob("*.py")]:
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import) andon\.store(\.schema| import)", source,
                             re.MULTILINE), path.name



def test_a_revision_may_copy_a_referenced_table_without_cascading(tmp_path: Path) -> None:
    """SQLite: batch mode copies and drops a table; with foreign keys on, dropping
    ``interventions`` would delete its feedback and labels (ON DELETE CASCADE)."""
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    make_0_1_database(url)

    def copy_interventions(conn: Connection) -> None:
        with Operations(MigrationContext.configure(conn)).batch_alter_table(
                "interventions", recreate="always"):
            pass

    with open_store(url) as store:
        with store._schema_write() as conn:  # how revisions run
            copy_interventions(conn)
        assert (len(store.labels()), len(store.feedback_for("rec-51c0"))) == (3, 1)
        with store._read() as conn:  # and foreign keys are on again for everything else
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        with store._write() as conn:  # the same with foreign keys on: the hazard
            copy_interventions(conn)
        assert (len(store.labels()), len(store.feedback_for("rec-51c0"))) == (0, 0)


def test_an_unversioned_database_missing_tables_gets_them_like_0_1_gave_them(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    store = SqlStore(url)
    try:
        with store._write() as conn:  # an early database: samples and events only
            for name in ("samples", "events"):
                release_0_1.METADATA.tables[name].create(conn)
        done = store.upgrade_schema()
        assert (done.before, done.after, done.unversioned) == (BASELINE, head(), True)
        with store._read() as conn:
            assert differences(conn, METADATA) == []
    finally:
        store.close()
