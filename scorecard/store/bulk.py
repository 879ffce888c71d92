"""The store's fastest way in for many new rows, on either backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


def fast_insert(
    session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """INSERT many rows whose values are already as the driver takes them (JSON as text).

    On SQLite this goes straight to the driver's executemany: SQLAlchemy's per-row
    parameter processing cost more than SQLite's own work for a large catalog. On
    PostgreSQL it is a COPY, the fastest way in, on the session's own connection and so
    in its transaction: several times faster than psycopg's pipelined executemany.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        marks = ", ".join("?" for _ in columns)
        statement = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
        connection.exec_driver_sql(statement, rows)
        return
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    driver_error = connection.dialect.loaded_dbapi.Error
    try:
        with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except driver_error as error:
        # As SQLAlchemy raises the driver's errors for its own statements: a broken
        # foreign key is an IntegrityError on either backend.
        raise DBAPIError.instance(
            statement, None, error, driver_error, dialect=connection.dialect
        ) from error
