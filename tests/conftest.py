"""Fixtures shared across the suite."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from scorecard.registry import CheckRegistry, build_registry

DATA = Path(__file__).parent / "data"
REPO_ROOT = Path(__file__).resolve().parents[1]
BACKSTAGE_EXAMPLES = REPO_ROOT.parent / "shared" / "catalogs" / "backstage-examples"
POSTGRES_URL_VARIABLE = "SCORECARD_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def registry() -> CheckRegistry:
    """The built-in checks only, as a workspace without plugins or check folders has."""
    return build_registry(plugins=False)


@pytest.fixture
def backstage_examples() -> Path:
    if not BACKSTAGE_EXAMPLES.is_dir():
        pytest.skip(f"the Backstage example catalog is not present at {BACKSTAGE_EXAMPLES}")
    return BACKSTAGE_EXAMPLES


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own for each test: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'scorecard.db'}"
        return
    base = os.environ.get(POSTGRES_URL_VARIABLE)
    if not base:
        pytest.skip(f"set {POSTGRES_URL_VARIABLE} (postgresql://user@host/db) to test PostgreSQL")
    psycopg = pytest.importorskip("psycopg")
    from psycopg import sql

    server = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        # psycopg passes `options` to the server: every connection works in the schema.
        yield (
            make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
