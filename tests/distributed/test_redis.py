"""Redis works as the celery executor's broker, by URL."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

from tests.distributed.cluster import Worker, finished_run, query, start_run, write_workspace

pytestmark = pytest.mark.postgres


def test_a_run_through_a_redis_broker(tmp_path: Path, postgres_url: str, workers: list[Worker]):
    try:
        socket.create_connection(("127.0.0.1", 6379), 2).close()
    except OSError:
        if os.environ.get("CI"):
            pytest.fail("Redis is not listening on 127.0.0.1:6379")
        pytest.skip("Redis is not listening on 127.0.0.1:6379")
    config = write_workspace(
        tmp_path / "ws", database=postgres_url, broker="redis://127.0.0.1:6379/0", size=200,
        shard_size=50, queue=f"scorecard-test-{uuid.uuid4().hex[:8]}",
    )  # fmt: skip
    worker = Worker(config, "redis")
    workers.append(worker)
    worker.wait_ready()
    code, _, err = finished_run(start_run(config))
    assert code == 0, err + worker.log()
    assert query(postgres_url, "SELECT status, count(*) FROM run_shard GROUP BY 1") == [("done", 4)]
