"""Opening a database: its URL, engine settings per backend, and the schema version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select, text, update
from sqlalchemy.engine import URL, make_url

from scorecard.store.tables import SCHEMA_VERSION, SchemaVersion, StoreModel

# A run's write is one transaction; another writer waits for it rather than failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000


class SchemaVersionError(RuntimeError):
    """The database was written by a newer scorecard than this one."""


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
    # WAL: API reads go on while a run writes. NORMAL sync is durable enough under WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # SQLite ignores foreign keys unless each connection asks for them.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def ensure_schema(engine: Engine) -> None:
    """Create missing tables and record the schema version; refuse a newer database."""
    version_table = SchemaVersion.__table__
    with engine.begin() as connection:
        version_table.create(connection, checkfirst=True)
        found = connection.scalar(select(func.max(version_table.c.version)))
        if found is not None and found > SCHEMA_VERSION:
            shown = engine.url.render_as_string(hide_password=True)
            raise SchemaVersionError(
                f"database {shown} has schema version {found}, but this scorecard knows "
                f"versions up to {SCHEMA_VERSION}: upgrade scorecard to open it"
            )
        StoreModel.metadata.create_all(connection)
        if found is None:
            connection.execute(insert(version_table).values(version=SCHEMA_VERSION))
        elif found < SCHEMA_VERSION:
            _migrate(connection, found)
            connection.execute(update(version_table).values(version=SCHEMA_VERSION))


def _migrate(connection: Connection, found: int) -> None:
    """Bring a database of schema version `found` up to `SCHEMA_VERSION`."""
    if found < 2:
        connection.execute(text("ALTER TABLE entity ADD COLUMN gone_run INTEGER"))
