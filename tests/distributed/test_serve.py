"""`scorecard serve` with the celery executor: runs triggered through the API are
evaluated by a worker, their shards' progress shown by the API and the runs page, and
`scorecard workers` lists the worker."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from scorecard.cli import app
from scorecard.workspace import Workspace
from tests.distributed.cluster import Worker, query, write_workspace
from tests.serving import ServedApp, run_all

pytestmark = pytest.mark.postgres

TOKEN = "a-token-long-enough-for-the-server"


def test_api_runs_go_to_the_workers_and_show_their_shards(
    tmp_path: Path,
    broker_url: str,
    postgres_url: str,
    workers: list[Worker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = write_workspace(
        tmp_path / "ws", database=postgres_url, broker=broker_url, size=250, shard_size=60,
        queue="served",
    )  # fmt: skip
    worker = Worker(config, "served")
    workers.append(worker)
    worker.wait_ready()
    monkeypatch.setenv("SCORECARD_API_TOKEN", TOKEN)
    with ServedApp(Workspace.load(config)) as served:
        found = run_all(served.url, TOKEN, timeout=90)
        assert found["shards"]["total"] >= 3
        assert found["shards"] == {
            "total": found["shards"]["total"],
            "done": found["shards"]["total"],
            "failed": 0,
        }
        assert found["results"] > 250 and found["entities"] == 400  # with the 150 groups
        runs = httpx.get(f"{served.url}/api/v1/runs").json()["items"]
        assert all(run["shards"] is not None for run in runs)  # the first run, at start, too
        page = httpx.get(f"{served.url}/runs").text
        total = found["shards"]["total"]
        assert f"shards {total} / {total} done" in page
        # The roll-ups counted once, at the end of the run, from what the shards wrote.
        rollup = httpx.get(f"{served.url}/api/v1/tracks/basics/rollup").json()
        certified = query(
            postgres_url, "SELECT count(*) FROM certification WHERE track_id = 'basics'"
        )
        assert sum(rollup["levels"].values()) == certified[0][0] > 0

    result = CliRunner().invoke(app, ["--config", str(config), "workers", "--format", "json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["queue"] == "served" and status["waiting"] == 0
    assert [w["name"] for w in status["workers"]] == [worker.name]
    assert status["workers"][0]["processed"] >= total
