"""Fixtures of the celery executor's tests: a RabbitMQ virtual host for the session, a
PostgreSQL schema per workspace, and workers that are always stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.databases import database
from tests.distributed.cluster import Worker, need_rabbitmq, virtual_host


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    need_rabbitmq()
    with virtual_host() as url:
        yield url


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    with database("postgres", tmp_path / "data") as url:
        yield url


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    """Workers a test starts (append them); every one is stopped at the end."""
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.kill()
