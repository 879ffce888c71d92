"""A database of its own for a test: a SQLite file, or a schema on the PostgreSQL server
named by `SCORECARD_TEST_POSTGRES_URL` (tests on PostgreSQL skip without it)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

POSTGRES_URL_VARIABLE = "SCORECARD_TEST_POSTGRES_URL"
# For `params=`: every backend, PostgreSQL marked so that `-m "not postgres"` leaves it out.
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def database(backend: str, root: Path) -> Iterator[str]:
    """The URL of a new, empty database: `root`/scorecard.db, or a new PostgreSQL schema
    that every connection works in and that is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{root / 'scorecard.db'}"
        return
    base = os.environ.get(POSTGRES_URL_VARIABLE)
    if not base:
        pytest.skip(f"set {POSTGRES_URL_VARIABLE} (postgresql://user@host/db) to test PostgreSQL")
    psycopg = pytest.importorskip("psycopg")
    from psycopg import sql

    server = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    schema = sql.Identifier(f"t_{uuid.uuid4().hex[:16]}")
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
    try:
        # psycopg passes `options` to the server: every connection works in the schema.
        yield (
            make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema.as_string()}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(schema))
