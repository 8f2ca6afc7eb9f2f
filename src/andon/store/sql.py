"""``SqlStore``: the ``Store`` over SQLAlchemy Core, on SQLite or PostgreSQL.

``open_store("sqlite:///var/andon.db")`` or ``open_store("postgresql://user@host/db")`` gives a
ready store: its schema created, or migrated to the newest revision (``andon.store.migrations``).
Nothing outside this package sees SQL, a driver or a row.

SQLite runs in WAL mode (readers never block the writer, nor the writer the readers) with
``synchronous=NORMAL``, a 10 s ``busy_timeout`` and foreign keys on. SQLite allows one writer
at a time, so each store instance serialises its writes with one ``threading.Lock``; across
processes, write transactions start with ``BEGIN IMMEDIATE`` and wait up to ``busy_timeout``
for the write lock instead of failing half-way. PostgreSQL writes take the same in-process
lock (cheap, and keeps both backends behaving alike); an intervention given feedback is read
with ``SELECT ... FOR UPDATE`` and a new spec version is numbered under a table lock, so other
processes cannot interleave.

Secrets (password hashes, token hashes) are never logged: the engine is created with
``hide_parameters=True``, so SQL parameters appear neither in log lines nor in error messages,
errors about tokens are re-raised without the driver's detail, and ``repr`` hides the URL's
password.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, cast

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    Table,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    StatementError,
)

from andon.contracts.quarantine import Quarantined
from andon.contracts.rules import Rule
from andon.errors import NotFound, StoreError, StoreUnavailable
from andon.namespace.sample import Quality, Sample
from andon.namespace.topics import TagAddress
from andon.registry.record import ModelRecord
from andon.registry.stages import Stage
from andon.scoring.artifact import ModelMeta
from andon.store import migrations
from andon.store.base import SampleBucket, SpecVersion
from andon.store.files import private_database
from andon.store.migrations import Status, Upgrade
from andon.store.schema import (
    MODELS,
    QUARANTINE,
    SAMPLES,
    SPEC_VERSIONS,
    as_utc,
)
from andon.store.sql_accounts import AccountTables
from andon.store.sql_audit import AuditTables
from andon.store.sql_console import ConsoleTables
from andon.store.sql_deliveries import DeliveryTable
from andon.store.sql_interventions import InterventionTables
from andon.store.sql_quality import QualityTables
from andon.store.sql_rollouts import RolloutTables
from andon.store.sql_triage import TriageTables
from andon.store.sql_workorders import WorkOrderTable

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator, Sequence
    from datetime import datetime
    from types import TracebackType

    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry

__all__ = ["SqlStore", "open_store", "refused_data"]

#: execution option marking a connection whose transaction will write (SQLite: BEGIN IMMEDIATE)
_WRITE_OPTION = "andon_write"
_BUSY_TIMEOUT_MS = 10_000
_SAMPLE_KEY = ("source", "seq", "asset", "tag", "ts_ms")
_URL_HELP = "expected sqlite:///path/to/andon.db or postgresql://user@host:port/database"

_SAMPLE_COLUMNS = tuple(c.name for c in SAMPLES.c if c.name != "id")
#: SQLite: one prepared statement run over all rows by the driver (``executemany``, in C); the
#: rows it changed are the new ones: ~2 us of CPU per sample where SQLAlchemy's multi-row
#: INSERT ... RETURNING cost ~14 us
_SQLITE_ADD_SAMPLES = (
    f"INSERT INTO samples ({', '.join(_SAMPLE_COLUMNS)}) VALUES "  # noqa: S608 - constants
    f"({', '.join('?' * len(_SAMPLE_COLUMNS))}) ON CONFLICT ({', '.join(_SAMPLE_KEY)}) DO NOTHING"
)
#: PostgreSQL: samples are copied (``COPY ... FORMAT BINARY``, rows formatted by psycopg's C
#: extension) into a per-connection temporary table shaped like ``samples`` (the same column
#: widths, so a value too long is refused as an INSERT refuses it), then inserted from there
#: ignoring duplicates: ~1 us of our CPU per sample where arrays cost ~8 us
_STAGED_COLUMNS = ", ".join(_SAMPLE_COLUMNS)
_STAGING = "andon_samples_in"
#: made once per connection (``_postgres_on_connect``), with the columns' own types
_PG = postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]
_CREATE_STAGING = "CREATE TEMPORARY TABLE IF NOT EXISTS {} ({}) ON COMMIT DELETE ROWS".format(
    _STAGING, ", ".join(f"{c.name} {c.type.compile(dialect=_PG)}"
                        for c in SAMPLES.c if c.name != "id"))
_COPY_STAGING = f"COPY {_STAGING} ({_STAGED_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_COPY_TYPES = ["text"] * 6 + ["float8", "text", "text", "int8", "int8", "text", "int8", "text"]
_INSERT_STAGED = (f"INSERT INTO samples ({_STAGED_COLUMNS}) SELECT {_STAGED_COLUMNS} FROM "  # noqa: S608
                  f"{_STAGING} ON CONFLICT ({', '.join(_SAMPLE_KEY)}) DO NOTHING")
_QUALITY_TEXT = {q: q.value for q in Quality}


class SqlStore(AccountTables, AuditTables, DeliveryTable, InterventionTables, WorkOrderTable,
               TriageTables, QualityTables, RolloutTables, ConsoleTables):
    """The ``Store`` protocol over SQLAlchemy Core (SQLite or PostgreSQL).

    Build one with ``open_store`` (which also brings the schema to the newest revision) or
    ``SqlStore(url)`` followed by ``create_schema()``. Safe to share between threads; call
    ``close`` when done (or use it as a context manager).
    """

    def __init__(self, url: str) -> None:
        engine_url = _engine_url(url)
        self._sqlite = engine_url.get_backend_name() == "sqlite"
        # One writer per store instance: SQLite allows a single writer per database, so writes
        # are serialised here in-process, and other processes are waited for via busy_timeout.
        self._write_lock = threading.Lock()
        if self._sqlite:
            self._engine: Engine = create_engine(
                engine_url,
                hide_parameters=True,
                connect_args={"check_same_thread": False},
            )
            event.listen(self._engine, "connect", _sqlite_on_connect)
            event.listen(self._engine, "begin", _sqlite_on_begin)
        else:
            self._engine = create_engine(engine_url, hide_parameters=True, pool_pre_ping=True)
            event.listen(self._engine, "connect", _postgres_on_connect)

    def __repr__(self) -> str:
        return f"SqlStore({self._engine.url.render_as_string(hide_password=True)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- lifecycle ------------------------------------------------------------------------
    def create_schema(self) -> None:
        """Bring the schema to the newest revision (idempotent; see ``upgrade_schema``)."""
        self.upgrade_schema()

    def upgrade_schema(self) -> Upgrade:
        """Create or migrate the schema to the newest revision; from which revision to which.

        An empty database gets the current schema at once, an unversioned (0.1) one is adopted
        and migrated, a stamped one migrated (``andon.store.migrations``). One transaction,
        serialised with other processes doing the same. ``StoreError`` if the database cannot
        be reached or was written by a newer Andon.
        """
        with self._connect_errors(), self._schema_write() as conn:
            return migrations.upgrade(conn)

    def schema_status(self) -> Status:
        """The database's schema revision (None: empty or unversioned), changing nothing."""
        with self._connect_errors(), self._read() as conn:
            return migrations.status(conn)

    def close(self) -> None:
        """Release all pooled connections (the store may be used again; it reconnects)."""
        self._engine.dispose()

    def ping(self) -> None:
        """Reach the database with the cheapest query; ``StoreUnavailable`` if it cannot."""
        with self._connect_errors(), self._read() as conn:
            conn.execute(select(1)).scalar_one()

    # -- samples --------------------------------------------------------------------------
    def add_samples(self, samples: Sequence[Sample], ingest_ms: int) -> int:
        """Append samples in one transaction, ignoring duplicates (same source, seq, tag, time).

        A restarted sequence (seq 0 again, at new times) is new data.

        Returns how many rows were new (duplicates within ``samples`` count once).
        """
        if not samples:
            return 0
        with self._write() as conn:
            if self._sqlite:
                return _insert_samples(conn, samples, ingest_ms)
            return _copy_samples(conn, samples, ingest_ms)

    def samples(self, *, assets: Sequence[str] | None = None, start_ms: int | None = None,
                end_ms: int | None = None, limit: int | None = None) -> list[Sample]:
        """Return samples with ``start_ms <= ts_ms < end_ms``, ordered by (ts_ms, asset, tag).

        ``assets`` restricts to those assets (an empty sequence gives nothing); ``limit`` keeps
        the first ``limit`` in that order.
        """
        c = SAMPLES.c
        stmt = select(SAMPLES).order_by(c.ts_ms, c.asset, c.tag, c.source, c.seq)
        if assets is not None:
            stmt = stmt.where(c.asset.in_(list(assets)))
        if start_ms is not None:
            stmt = stmt.where(c.ts_ms >= start_ms)
        if end_ms is not None:
            stmt = stmt.where(c.ts_ms < end_ms)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._read() as conn:
            return [_sample_from_row(row) for row in conn.execute(stmt)]

    def sample_count(self) -> int:
        """Count the stored samples."""
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(SAMPLES)).scalar_one())

    def newest_sample_ms(self, assets: Sequence[str]) -> dict[str, int]:
        """Asset -> source time (epoch ms) of its newest sample; assets with none left out.

        One ``max`` per asset, each answered from the (asset, ts_ms) index.
        """
        c = SAMPLES.c
        found: dict[str, int] = {}
        with self._read() as conn:
            for asset in dict.fromkeys(assets):
                newest = conn.execute(select(func.max(c.ts_ms)).where(c.asset == asset)
                                      ).scalar_one()
                if newest is not None:
                    found[asset] = int(newest)
        return found

    def sample_buckets(self, asset: str, *, start_ms: int, end_ms: int,
                       buckets: int) -> list[SampleBucket]:
        """An asset's samples in ``[start_ms, end_ms)`` cut in ``buckets`` equal spans.

        Grouped in the database (a month of minute data is a few thousand rows, not a
        quarter of a million); one ``SampleBucket`` per tag and span, by tag then time.
        """
        c = SAMPLES.c
        width = max(-(-(end_ms - start_ms) // max(buckets, 1)), 1)  # ms per span, rounded up
        # integer operands: both SQLite and PostgreSQL divide them as integers
        inner = (select(c.tag, c.ts_ms, c.value,
                        (c.ts_ms - start_ms).self_group().op("/")(width).label("bucket"))
                 .where(c.asset == asset, c.ts_ms >= start_ms, c.ts_ms < end_ms).subquery())
        stmt = (select(inner.c.tag, func.min(inner.c.ts_ms), func.max(inner.c.ts_ms),
                       func.count(), func.min(inner.c.value), func.max(inner.c.value))
                .group_by(inner.c.tag, inner.c.bucket)
                .order_by(inner.c.tag, inner.c.bucket))
        with self._read() as conn:
            return [SampleBucket(str(r[0]), int(r[1]), int(r[2]), int(r[3]), float(r[4]),
                                 float(r[5])) for r in conn.execute(stmt)]

    # -- quarantine -----------------------------------------------------------------------
    def add_quarantined(self, items: Sequence[Quarantined]) -> int:
        """Append quarantined messages in one transaction (their ``id`` is ignored); count."""
        if not items:
            return 0
        rows = [_quarantined_to_row(q) for q in items]
        with self._write() as conn:
            conn.execute(QUARANTINE.insert(), rows)
        return len(rows)

    def quarantined(self, *, rule: str | None = None, asset: str | None = None,
                    since: datetime | None = None, replayed: bool | None = None,
                    limit: int = 200) -> list[Quarantined]:
        """Quarantined messages, newest first (by received time, then id), with their ids.

        ``since`` keeps items received at or after it; ``replayed`` True / False keeps only
        replayed / not yet replayed items.
        """
        c = QUARANTINE.c
        stmt = select(QUARANTINE).order_by(c.received_at.desc(), c.id.desc()).limit(limit)
        if rule is not None:
            stmt = stmt.where(c.rule == rule)
        if asset is not None:
            stmt = stmt.where(c.asset == asset)
        if since is not None:
            stmt = stmt.where(c.received_at >= as_utc(since, "since"))
        if replayed is not None:
            stmt = stmt.where(c.replayed_at.is_not(None) if replayed else c.replayed_at.is_(None))
        with self._read() as conn:
            return [_quarantined_from_row(row) for row in conn.execute(stmt)]

    def get_quarantined(self, item_id: int) -> Quarantined:
        """One quarantined message; ``NotFound`` if unknown."""
        stmt = select(QUARANTINE).where(QUARANTINE.c.id == item_id)
        with self._read() as conn:
            row = conn.execute(stmt).one_or_none()
        if row is None:
            raise NotFound("quarantined message", item_id)
        return _quarantined_from_row(row)

    def count_quarantined_by_rule(self) -> dict[str, int]:
        """Rule code -> number of quarantined messages (replayed ones included)."""
        c = QUARANTINE.c
        stmt = select(c.rule, func.count()).group_by(c.rule).order_by(c.rule)
        with self._read() as conn:
            return {row[0]: int(row[1]) for row in conn.execute(stmt)}

    def mark_replayed(self, ids: Sequence[int], at: datetime) -> int:
        """Mark items as stored by a replay (those not marked yet); count."""
        if not ids:
            return 0
        c = QUARANTINE.c
        stmt = (update(QUARANTINE).where(c.id.in_(list(ids)), c.replayed_at.is_(None))
                .values(replayed_at=as_utc(at, "replay time")))
        with self._write() as conn:
            return int(conn.execute(stmt).rowcount)

    # -- models ---------------------------------------------------------------------------
    def register_model(self, meta: ModelMeta) -> None:
        """Record a model version; registering a name + version again changes nothing."""
        meta = replace(
            meta,
            train_start=as_utc(meta.train_start, "train_start"),
            train_end=as_utc(meta.train_end, "train_end"),
            created_at=as_utc(meta.created_at, "created_at"),
        )
        stmt = (
            self._insert(MODELS)
            .values(name=meta.name, version=meta.version, meta=meta.to_json())
            .on_conflict_do_nothing(index_elements=[MODELS.c.name, MODELS.c.version])
        )
        with self._write() as conn:
            conn.execute(stmt)

    def latest_model(self, name: str) -> ModelMeta | None:
        """Highest version of a model, or None."""
        stmt = (
            select(MODELS.c.meta)
            .where(MODELS.c.name == name)
            .order_by(MODELS.c.version.desc())
            .limit(1)
        )
        with self._read() as conn:
            text = conn.execute(stmt).scalar_one_or_none()
        return None if text is None else ModelMeta.from_json(text)

    def get_model(self, name: str, version: int) -> ModelRecord:
        """One model version with its stage and signer; ``NotFound`` if unknown."""
        c = MODELS.c
        stmt = select(c.meta, c.stage, c.key_id, c.signer).where(c.name == name,
                                                                  c.version == version)
        with self._read() as conn:
            row = conn.execute(stmt).one_or_none()
        if row is None:
            raise NotFound("model version", f"{name} v{version}")
        return _model_from_row(row)

    def list_models(self) -> list[ModelRecord]:
        """All model versions with stage and signer, by name then version."""
        c = MODELS.c
        stmt = select(c.meta, c.stage, c.key_id, c.signer).order_by(c.name, c.version)
        with self._read() as conn:
            return [_model_from_row(row) for row in conn.execute(stmt)]

    def set_model_stage(self, name: str, version: int, stage: Stage) -> None:
        """Store a version's stage; ``NotFound`` if the version is unknown."""
        self._update_model(name, version, stage=Stage(stage).value)

    def set_model_signature(self, name: str, version: int, key_id: str, signer: str) -> None:
        """Store who signed a version and the key's id; ``NotFound`` if unknown."""
        self._update_model(name, version, key_id=key_id, signer=signer)

    def _update_model(self, name: str, version: int, **values: str) -> None:
        c = MODELS.c
        stmt = update(MODELS).where(c.name == name, c.version == version).values(**values)
        with self._write() as conn:
            if conn.execute(stmt).rowcount == 0:
                raise NotFound("model version", f"{name} v{version}")

    # -- plant spec -----------------------------------------------------------------------
    def save_spec(self, text: str, by: str, at: datetime) -> SpecVersion:
        """Store a new spec version (caller validated it); versions count up from 1."""
        at = as_utc(at, "spec time")
        with self._write() as conn:
            if not self._sqlite:
                # other processes may save at the same time; readers are not blocked
                conn.execute(sql_text("LOCK TABLE spec_versions IN EXCLUSIVE MODE"))
            latest = conn.execute(select(func.max(SPEC_VERSIONS.c.version))).scalar_one()
            version = (latest or 0) + 1
            conn.execute(SPEC_VERSIONS.insert().values(version=version, text=text, by=by, at=at))
        return SpecVersion(version=version, text=text, by=by, at=at)

    def current_spec(self) -> SpecVersion | None:
        """Return the newest spec version, or None."""
        stmt = select(SPEC_VERSIONS).order_by(SPEC_VERSIONS.c.version.desc()).limit(1)
        with self._read() as conn:
            row = conn.execute(stmt).one_or_none()
        if row is None:
            return None
        return SpecVersion(version=row.version, text=row.text, by=row.by, at=row.at)

    # -- internals ------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """Yield a connection in a write transaction; commit on success, roll back on error."""
        with self._write_lock, _store_errors(), self._engine.connect() as conn:
            conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
                yield conn

    @contextmanager
    def _schema_write(self) -> Iterator[Connection]:
        """``_write`` for schema changes: on SQLite with foreign keys off, checked at the end.

        SQLite's own procedure for altering tables: a batch migration copies a table and drops
        the old one, and dropping a referenced table with foreign keys on would run its
        ``ON DELETE CASCADE``. The pragma only takes effect outside a transaction, so it is
        set on the driver's connection before ``BEGIN IMMEDIATE`` and restored after.
        """
        with self._write_lock, _store_errors(), self._engine.connect() as conn:
            driver = conn.connection.driver_connection if self._sqlite else None
            if driver is not None:
                driver.execute("PRAGMA foreign_keys=OFF")
            try:
                conn.execution_options(**{_WRITE_OPTION: True})
                with conn.begin():
                    yield conn
                    if self._sqlite:
                        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                        if broken is not None:
                            raise StoreError(f"the schema change breaks a foreign key of table "
                                             f"{broken[0]} (to {broken[2]}); nothing changed")
            finally:
                if driver is not None:
                    driver.execute("PRAGMA foreign_keys=ON")

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """Yield a connection for reading (one consistent snapshot, rolled back at the end)."""
        with _store_errors(), self._engine.connect() as conn:
            yield conn

    @contextmanager
    def _connect_errors(self) -> Iterator[None]:
        """A database that cannot be opened or reached: one ``StoreUnavailable`` line."""
        try:
            yield
        except (OperationalError, InterfaceError) as exc:
            lines = str(exc.orig).strip().splitlines()
            reason = lines[0] if lines else type(exc.orig).__name__
            url = self._engine.url
            where = url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)
            raise StoreUnavailable(f"cannot open the store {where}: {reason}") from None

    def _insert(self, table: Table) -> sqlite.Insert | postgresql.Insert:
        """Build the dialect's INSERT, which knows ``ON CONFLICT``."""
        return sqlite.insert(table) if self._sqlite else postgresql.insert(table)


def _sample_row(s: Sample, ingest_ms: int) -> tuple[object, ...]:
    a = s.address
    return (a.enterprise, a.site, a.area, a.line, a.asset, a.tag, s.value, s.unit,
            _QUALITY_TEXT.get(s.quality) or Quality(s.quality).value, s.ts_ms, s.seq, s.source,
            ingest_ms, s.reason)


def _insert_samples(conn: Connection, samples: Sequence[Sample], ingest_ms: int) -> int:
    """SQLite's ``add_samples`` inside ``conn``'s transaction; how many rows were new."""
    driver = cast("sqlite3.Connection", conn.connection.driver_connection)
    cursor = driver.executemany(_SQLITE_ADD_SAMPLES, [_sample_row(s, ingest_ms) for s in samples])
    return int(cursor.rowcount)


def _copy_samples(conn: Connection, samples: Sequence[Sample], ingest_ms: int) -> int:
    """PostgreSQL's ``add_samples`` inside ``conn``'s transaction: COPY, then INSERT the new."""
    import psycopg  # noqa: PLC0415 - PostgreSQL stores only

    driver = conn.connection.driver_connection
    assert driver is not None  # noqa: S101 - a live connection in a transaction
    try:
        with driver.cursor() as cur:
            with cur.copy(_COPY_STAGING) as copy:
                copy.set_types(_COPY_TYPES)
                write = copy.write_row
                for s in samples:
                    write(_sample_row(s, ingest_ms))
            cur.execute(_INSERT_STAGED)
            return int(cur.rowcount)
    except (psycopg.DataError, psycopg.IntegrityError) as exc:
        # the data itself (a value too long or out of range): what ``refused_data`` names
        raise StoreError(f"the store refused a sample: {str(exc).strip().splitlines()[0]}",
                         ) from exc


def open_store(url: str) -> SqlStore:
    """Open a ready store (schema at the newest revision): ``sqlite:///path``, ``postgresql://``.

    ``StoreUnavailable`` if the database cannot be reached; ``StoreError`` if a newer Andon
    wrote it.
    """
    store = SqlStore(url)
    try:
        store.create_schema()
    except OperationalError as exc:  # cannot connect or open the file: one line, no traceback
        store.close()
        where = store._engine.url.render_as_string(hide_password=True)  # noqa: SLF001
        reason = " ".join(str(exc.orig or exc).split())
        raise StoreUnavailable(f"cannot open the store {where}: {reason}") from None
    except BaseException:
        store.close()
        raise
    return store


def refused_data(exc: BaseException) -> bool:
    """Whether a write failed on the data itself, so that the same write will always fail.

    True when the store refuses a value (text UTF-8 cannot encode, a number out of range, a
    broken constraint, a naive datetime); False when it may take the write later (the
    database locked by another process, the server unreachable, the disk full): the caller
    retries those and splits these (``andon.edge.recorder``).
    """
    if isinstance(exc, DataError | IntegrityError | StoreError):
        return True
    if isinstance(exc, StatementError) and not isinstance(exc, DBAPIError):
        inner = exc.orig  # an error of ours or of the driver's binding, wrapped by SQLAlchemy
        return isinstance(inner, UnicodeError | ValueError | TypeError | OverflowError)
    return isinstance(exc, UnicodeError | ValueError | TypeError | OverflowError)


# -- helpers --------------------------------------------------------------------------------
def _engine_url(url: str) -> URL:
    """Map a store URL to the SQLAlchemy URL; ``StoreError`` for anything unsupported."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        # the text may hold a password: do not echo it
        raise StoreError(f"store URL is not a database URL; {_URL_HELP}") from None
    backend, driver = parsed.get_backend_name(), parsed.drivername
    if backend == "sqlite" and driver in {"sqlite", "sqlite+pysqlite"}:
        database = parsed.database or ""
        if database in {"", ":memory:"} or "mode=memory" in str(parsed.query):
            raise StoreError(f"in-memory SQLite is not supported; {_URL_HELP}")
        try:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the directory of {database}: {exc.strerror}") from None
        if not {"mode", "uri"} & set(parsed.query):  # a plain file path: made 0600 if new
            try:
                private_database(database)
            except OSError as exc:
                raise StoreError(f"cannot create {database}: {exc.strerror}") from None
        return parsed
    if backend in {"postgresql", "postgres"} and driver in {
        "postgres", "postgresql", "postgresql+psycopg",
    }:
        return parsed.set(drivername="postgresql+psycopg")
    raise StoreError(f"unsupported store URL scheme {driver!r}; {_URL_HELP}")


@contextmanager
def _store_errors() -> Iterator[None]:
    """Surface the store's own refusals (e.g. a naive datetime) unwrapped by SQLAlchemy."""
    try:
        yield
    except StatementError as exc:
        if isinstance(exc.orig, StoreError):
            raise exc.orig from None
        raise


def _sqlite_on_connect(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    """Per-connection SQLite setup: our own BEGIN, busy timeout, WAL, sync level, FKs."""
    del record
    conn = cast("sqlite3.Connection", dbapi_connection)
    conn.isolation_level = None  # sqlite3 must not BEGIN on its own; _sqlite_on_begin does
    cursor = conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _postgres_on_connect(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry,
                         ) -> None:
    """Per-connection PostgreSQL setup: the temporary table ``add_samples`` copies into."""
    del record
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(_CREATE_STAGING)
    finally:
        cursor.close()
    dbapi_connection.commit()


def _sqlite_on_begin(conn: Connection) -> None:
    """Writers take the write lock up front (waiting ``busy_timeout``); readers do not."""
    writes = bool(conn.get_execution_options().get(_WRITE_OPTION))
    conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def _sample_from_row(row: Row[Any]) -> Sample:
    return Sample(
        address=TagAddress(row.enterprise, row.site, row.area, row.line, row.asset, row.tag),
        value=row.value,
        unit=row.unit,
        quality=Quality(row.quality),
        ts_ms=row.ts_ms,
        seq=row.seq,
        source=row.source,
        reason=row.reason,
    )


def _quarantined_to_row(q: Quarantined) -> dict[str, Any]:
    a = q.address
    return {
        "received_at": as_utc(q.received_at, "received time"),
        "topic": q.topic,
        "payload": q.payload,
        "size": q.size,
        "rule": Rule(q.rule).value,
        "reason": q.reason,
        "source": q.source,
        "enterprise": None if a is None else a.enterprise,
        "site": None if a is None else a.site,
        "area": None if a is None else a.area,
        "line": None if a is None else a.line,
        "asset": None if a is None else a.asset,
        "tag": None if a is None else a.tag,
        "replayed_at": None if q.replayed_at is None else as_utc(q.replayed_at, "replay time"),
    }


def _quarantined_from_row(row: Row[Any]) -> Quarantined:
    address = None if row.asset is None else TagAddress(
        row.enterprise, row.site, row.area, row.line, row.asset, row.tag)
    return Quarantined(
        received_at=row.received_at,
        topic=row.topic,
        payload=bytes(row.payload),
        size=row.size,
        rule=Rule(row.rule),
        reason=row.reason,
        source=row.source,
        address=address,
        id=row.id,
        replayed_at=row.replayed_at,
    )


def _model_from_row(row: Row[Any, Any, Any, Any]) -> ModelRecord:
    return ModelRecord(ModelMeta.from_json(row.meta), Stage(row.stage), row.key_id, row.signer)

