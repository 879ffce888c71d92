"""Opening a database: its URL, engine settings per backend, and its schema revision."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import URL, make_url

from scorecard.store import migrations
from scorecard.store.tables import RESULT_VIEW, SCHEMA_VERSION, SchemaVersion, StoreModel

log = logging.getLogger("scorecard.store")

# A run's write is one transaction; another writer waits for it rather than failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# The page size of a new SQLite database (set before its first page is written).
SQLITE_PAGE_SIZE = 16384


class SchemaVersionError(RuntimeError):
    """The database's schema is not the one this scorecard uses, and was left as it is."""


class SchemaOutOfDateError(SchemaVersionError):
    """The database is older than this scorecard, and upgrading on open is turned off."""


def dump_json(value: Any) -> str:
    """JSON text for a stored document; dates from YAML or paths in evidence become text."""
    return json.dumps(value, default=str, ensure_ascii=False)


def database_url(url: str) -> URL:
    """Parse `url`; a plain `postgresql://` URL gets the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        shown = parsed.render_as_string(hide_password=True)
        raise ValueError(
            f"unsupported database URL {shown!r}: use sqlite:///path/to/file.db "
            "or postgresql://user@host/database"
        )
    return parsed


def create_store_engine(url: URL) -> Engine:
    """An engine for `url`, with the connection settings the store relies on."""
    if url.get_backend_name() == "postgresql":
        # A long-lived server outlives connections that PostgreSQL or a proxy closes.
        return create_engine(url, json_serializer=dump_json, pool_pre_ping=True)
    if url.database and url.database != ":memory:" and not url.query.get("uri"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, json_serializer=dump_json)
    event.listen(engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Pages of SQLITE_PAGE_SIZE for a database created now; an existing one keeps its
    # own (this is a no-op there). A certification row (an entity's packed results) is
    # about 1.5 kB: two fit in a 4 kB page, which leaves a fifth of the file empty.
    # Larger pages hold them with less waste, so a run writes, and a scan reads, less.
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    # WAL: API reads go on while a run writes. NORMAL sync is durable enough under WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # SQLite ignores foreign keys unless each connection asks for them.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# The schema version of the last release before migrations; its databases have no
# revision, and are brought to the baseline revision before they are upgraded.
_LEGACY_VERSION = 2
# PostgreSQL: processes upgrading the same database at once take turns on this lock.
_UPGRADE_LOCK = 0x5C0_2ECA_4D


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands: its revision, or the schema version a release before
    migrations wrote (then `revision` is None); neither for an empty database."""

    revision: str | None
    legacy_version: int | None = None

    def __str__(self) -> str:
        if self.revision is not None:
            return self.revision
        if self.legacy_version is not None:
            return f"schema version {self.legacy_version} (before revisions)"
        return "empty"


@dataclass(frozen=True)
class SchemaUpgrade:
    """What opening or `scorecard db upgrade` did to the schema."""

    before: SchemaState
    after: str

    @property
    def changed(self) -> bool:
        return self.before.revision != self.after


def schema_state(connection: Connection) -> SchemaState:
    """Read where the database stands; cheap, and imports no migration machinery."""
    tables = inspect(connection)
    if tables.has_table("alembic_version"):
        revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
        if revision is not None:
            return SchemaState(revision)
    if tables.has_table(SchemaVersion.__tablename__):
        legacy = connection.scalar(select(func.max(SchemaVersion.__table__.c.version)))
        return SchemaState(None, legacy)
    return SchemaState(None)


def prepare_schema(engine: Engine, *, upgrade: bool) -> SchemaUpgrade:
    """Make sure the database has this scorecard's schema, upgrading it when `upgrade`.

    Raises `SchemaVersionError` for a database newer than this scorecard, and
    `SchemaOutOfDateError` for an older (or empty) one when not `upgrade`.
    """
    with engine.connect() as connection:
        state = schema_state(connection)
    _refuse_newer(engine, state)
    if state.revision == migrations.head():
        return SchemaUpgrade(state, state.revision)
    if not upgrade:
        shown = _shown(engine)
        what = (
            "has no scorecard tables yet"
            if state == SchemaState(None)
            else f"is at {state}, but this scorecard needs revision {migrations.head()}"
        )
        raise SchemaOutOfDateError(
            f"database {shown} {what}; database.auto_upgrade is off in the workspace, so "
            f"run `scorecard db upgrade` to bring it up to date"
        )
    return upgrade_schema(engine)


def upgrade_schema(engine: Engine) -> SchemaUpgrade:
    """Bring the database to the head revision in one transaction, and say from where.

    A database of a release before migrations is first brought to the baseline and
    stamped with it. Raises `SchemaVersionError` for a database newer than this scorecard.
    """
    with engine.connect() as connection:
        _lock_for_upgrade(connection)
        # Read again under the lock: another process may have just upgraded it.
        state = schema_state(connection)
        _refuse_newer(engine, state)
        if state.revision == migrations.head():
            connection.rollback()
            return SchemaUpgrade(state, state.revision)
        if state == SchemaState(None):
            _create_at_head(connection)
        else:
            if state.revision is None and state.legacy_version is not None:
                _to_baseline(connection, state.legacy_version)
                migrations.stamp(connection, migrations.BASELINE)
            migrations.upgrade(connection)
        connection.commit()
    after = migrations.head()
    log.info("upgraded the schema of database %s from %s to %s", _shown(engine), state, after)
    return SchemaUpgrade(state, after)


def _lock_for_upgrade(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        # Take the write lock before reading the revision: DDL and the stamp then go
        # through as one transaction that no other process can interleave with.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})


def _create_at_head(connection: Connection) -> None:
    """Create an empty database's tables as they stand now, stamped with the head
    revision, as Alembic's cookbook builds a database from scratch: the same schema as
    running every revision (tests/store/test_migrations.py holds them equal), without
    importing Alembic and its templates into every first `scorecard run`."""
    StoreModel.metadata.create_all(connection)
    connection.exec_driver_sql(RESULT_VIEW[connection.dialect.name])
    connection.execute(SchemaVersion.__table__.insert().values(version=SCHEMA_VERSION))
    connection.execute(
        text(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
            "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
        )
    )
    connection.execute(
        text("INSERT INTO alembic_version (version_num) VALUES (:head)"),
        {"head": migrations.head()},
    )


def _to_baseline(connection: Connection, legacy_version: int) -> None:
    """What the releases before migrations did by hand, up to their last schema version."""
    if legacy_version < 2:
        connection.execute(text("ALTER TABLE entity ADD COLUMN gone_run INTEGER"))
    connection.execute(text("UPDATE schema_version SET version = :v"), {"v": _LEGACY_VERSION})


def _refuse_newer(engine: Engine, state: SchemaState) -> None:
    known = migrations.revisions()
    if state.revision is not None and state.revision not in known:
        raise SchemaVersionError(
            f"database {_shown(engine)} is at schema revision {state.revision}, which this "
            f"scorecard does not know (it knows {known[0]} to {known[-1]}): a newer "
            "scorecard upgraded it; upgrade scorecard to open it"
        )
    if state.revision is None and (state.legacy_version or 0) > _LEGACY_VERSION:
        raise SchemaVersionError(
            f"database {_shown(engine)} has schema version {state.legacy_version} but no "
            f"schema revision, and this scorecard knows versions up to {_LEGACY_VERSION}: "
            "a newer scorecard wrote it; upgrade scorecard to open it"
        )


def _shown(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
