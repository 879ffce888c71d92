"""A database that goes away gives 503 with a message, and the server recovers after."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.databases import POSTGRES_URL_VARIABLE


@pytest.fixture
def database() -> Iterator[tuple[str, Any]]:
    """A PostgreSQL database of its own, and an admin connection to switch it off."""
    base = os.environ.get(POSTGRES_URL_VARIABLE)
    if not base:
        pytest.skip(f"set {POSTGRES_URL_VARIABLE} to test a database outage on PostgreSQL")
    psycopg = pytest.importorskip("psycopg")
    name = f"scorecard_down_{uuid.uuid4().hex[:10]}"
    server = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = make_url(base).set(database=name).render_as_string(hide_password=False)
            yield url, admin
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _switch_off(admin: Any, url: str) -> None:
    name = make_url(url).database
    admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
    )


def test_outage_answers_503_then_recovers(
    tmp_path: Path, database: tuple[str, Any], workspace_factory: Any, start_server: Any
) -> None:
    url, admin = database
    server_context = start_server(workspace_factory(tmp_path, url), tmp_path)
    with server_context as server, server.client() as client:
        assert client.get("/api/v1/entities").status_code == 200
        _switch_off(admin, url)
        for path in ("/api/v1/entities", "/api/v1/health", "/api/v1/runs"):
            response = client.get(path)
            assert response.status_code == 503, (path, response.text)
            assert response.json()["detail"] == "the database is unavailable; try again shortly"
            assert response.headers["retry-after"]
        admin.execute(f'ALTER DATABASE "{make_url(url).database}" ALLOW_CONNECTIONS true')
        assert client.get("/api/v1/entities").status_code == 200
