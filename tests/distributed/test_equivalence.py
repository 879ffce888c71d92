"""A run on real Celery workers stores exactly what the local executor stores."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from scorecard.cli import app
from tests.distributed.cluster import Worker, write_workspace

# What a run stores, without the run ids and times that differ between two runs.
COMPARED = {
    "certification": "SELECT entity_ref, track_id, level, next_level, results_digest, "
    "inputs_digest, outcomes FROM certification ORDER BY entity_ref, track_id",
    "pair_result": "SELECT entity_ref, track_id, results::text FROM pair_result "
    "ORDER BY entity_ref, track_id",
    # The digest covers the file an entity was read from, which is another folder here.
    "entity": "SELECT ref, owner, raw::text, gone_run IS NULL FROM entity ORDER BY ref",
    "run": "SELECT status, entities, results, errors, changed, problems::text FROM run",
    "rollup": "SELECT track_id, by_owner, owner, check_id, level, outcome, count FROM track_rollup "
    "ORDER BY 1, 2, 3, 4, 5, 6",
}


def stored(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return {
                name: [tuple(row) for row in connection.execute(text(query))]
                for name, query in COMPARED.items()
            }
    finally:
        engine.dispose()


def run(config: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["--config", str(config), "run", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_workers_store_what_the_local_executor_stores(
    tmp_path: Path, broker_url: str, postgres_url: str, workers: list[Worker], request
) -> None:
    size = 3000
    sharded = write_workspace(
        tmp_path / "sharded", database=postgres_url, broker=broker_url, size=size
    )
    workers.append(Worker(sharded, "eq-1"))
    workers.append(Worker(sharded, "eq-2"))
    from tests.databases import database

    with database("postgres", tmp_path / "local-data") as local_url:
        local = write_workspace(
            tmp_path / "local", database=local_url, broker=broker_url, size=size
        )
        config = yaml.safe_load(local.read_text())
        config["executor"] = {"kind": "local"}
        local.write_text(yaml.safe_dump(config))
        run(local)
        for worker in workers:
            worker.wait_ready()
        run(sharded)
        expected, found = stored(local_url), stored(postgres_url)
    assert len(expected["certification"]) > size
    for table in COMPARED:
        assert found[table] == expected[table], table
