"""The celery executor when things go wrong: a worker killed in the middle of a shard, the
broker restarted during a run, a shard whose check kills its process, a worker with other
tracks, and no worker at all."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import yaml

from tests.databases import database
from tests.distributed.cluster import (
    Worker,
    broker_stopped,
    query,
    start_run,
    wait_for,
    write_workspace,
)
from tests.distributed.cluster import (
    finished_run as finished,
)

pytestmark = pytest.mark.postgres

# What a run stores, less run ids and times: compared between the executors.
STATE = {
    "certification": "SELECT entity_ref, track_id, level, next_level, results_digest, outcomes "
    "FROM certification ORDER BY 1, 2",
    "pair_result": "SELECT entity_ref, track_id, results::text FROM pair_result ORDER BY 1, 2",
    "result_change": "SELECT entity_ref, track_id, check_id, outcome, previous_outcome, message "
    "FROM result_change ORDER BY 1, 2, 3, 4, 5, 6",
    "certification_change": "SELECT entity_ref, track_id, level, previous_level "
    "FROM certification_change ORDER BY 1, 2, 3, 4",
    # Recounted for the owners the second run changed only: the same counts all the same.
    "gone": "SELECT ref FROM entity WHERE gone_run IS NOT NULL ORDER BY ref",
    "track_rollup": "SELECT track_id, by_owner, owner, check_id, level, outcome, count "
    "FROM track_rollup ORDER BY 1, 2, 3, 4, 5, 6",
}


def run_locally(root: Path, **options) -> dict[str, list[tuple[object, ...]]]:
    """What the local executor stores for the same catalog, run for each variant in turn."""
    from typer.testing import CliRunner

    from scorecard.cli import app

    with database("postgres", root / "data") as url:
        for variant in options.pop("variants"):
            config = write_workspace(root, database=url, variant=variant, **options)
            document = yaml.safe_load(config.read_text())
            document["executor"] = {"kind": "local"}
            config.write_text(yaml.safe_dump(document))
            result = CliRunner().invoke(app, ["--config", str(config), "run", "-f", "json"])
            assert result.exit_code == 0, result.output
        return {name: query(url, sql) for name, sql in STATE.items()}


def shards(url: str, run_id: int | None = None) -> list[tuple[object, ...]]:
    where = "" if run_id is None else f"WHERE run_id = {run_id}"
    return query(url, f"SELECT run_id, shard, status, attempts, failure FROM run_shard {where}")


def test_a_worker_killed_mid_shard_loses_nothing_and_writes_nothing_twice(
    tmp_path: Path, broker_url: str, postgres_url: str, workers: list[Worker]
) -> None:
    options = {"broker": broker_url, "size": 500, "shard_size": 100, "pause": 0.02}
    config = write_workspace(tmp_path / "ws", database=postgres_url, **options)
    first = Worker(config, "doomed")
    workers.append(first)
    first.wait_ready()
    code, _, err = finished(start_run(config))
    assert code == 0, err
    # A week later, a third of the entities changed: the second run writes history.
    config = write_workspace(tmp_path / "ws", database=postgres_url, variant=1, **options)
    run = start_run(config)
    wait_for(
        "a shard in the worker's hands",
        lambda: any(r[2] == "pending" and r[3] == 1 for r in shards(postgres_url, 2)),
    )
    first.kill(signal.SIGKILL)  # the worker and its pool, as a machine going down
    second = Worker(config, "survivor")
    workers.append(second)
    code, out, err = finished(run)
    assert code == 0, err + first.log() + second.log()
    rows = shards(postgres_url, 2)
    assert {r[2] for r in rows} == {"done"}
    assert max(r[3] for r in rows) == 2  # the killed shard was delivered again

    # Nothing written twice: one history row per result and level per run at most.
    assert not query(
        postgres_url,
        "SELECT entity_ref, track_id, check_id, run_id FROM result_change "
        "GROUP BY 1, 2, 3, 4 HAVING count(*) > 1",
    )
    assert not query(
        postgres_url,
        "SELECT entity_ref, track_id, run_id FROM certification_change "
        "GROUP BY 1, 2, 3 HAVING count(*) > 1",
    )
    # And the very state the local executor reaches over the same two catalogs.
    expected = run_locally(tmp_path / "local", variants=(0, 1), **options)
    found = {name: query(postgres_url, sql) for name, sql in STATE.items()}
    assert expected["result_change"], "the second catalog changes results"
    assert len(expected["gone"]) == 5
    for name in STATE:
        assert found[name] == expected[name], name
    assert json.loads(out)["run"]["id"] == 2


def test_a_broker_restart_mid_run_never_leaves_a_run_hanging_or_short(
    tmp_path: Path, broker_url: str, postgres_url: str, workers: list[Worker]
) -> None:
    config = write_workspace(
        tmp_path / "ws", database=postgres_url, broker=broker_url, size=600, shard_size=100,
        pause=0.02, stall_timeout=60,
    )  # fmt: skip
    worker = Worker(config, "steady")
    workers.append(worker)
    worker.wait_ready()
    run = start_run(config)
    wait_for("a shard stored", lambda: any(r[2] == "done" for r in shards(postgres_url)))
    with broker_stopped(3.0):
        pass
    code, _, err = finished(run, timeout=150)
    status, failure = query(postgres_url, "SELECT status, failure FROM run WHERE id = 1")[0]
    rows = shards(postgres_url, 1)
    if code == 0:
        assert status == "finished"
        assert {r[2] for r in rows} == {"done"}, rows
    else:  # a clear reason, and the run is not reported finished
        assert status == "failed" and failure, err
    assert code == 0, f"the run failed after the broker restart: {failure}\n{worker.log()}"


def test_a_poison_shard_fails_alone_after_its_attempts(
    tmp_path: Path, broker_url: str, postgres_url: str, workers: list[Worker]
) -> None:
    config = write_workspace(
        tmp_path / "ws", database=postgres_url, broker=broker_url, size=300, shard_size=100,
        poison=(150,),
    )  # fmt: skip
    worker = Worker(config, "taster")
    workers.append(worker)
    worker.wait_ready()
    code, _, err = finished(start_run(config))
    assert code == 1, err
    rows = shards(postgres_url, 1)
    failed = [r for r in rows if r[2] == "failed"]
    assert len(failed) == 1, rows
    number = failed[0][1]
    assert failed[0][3] == 4  # three deliveries killed their process; the fourth gave up
    assert f"shard {number}: started 3 times and never finished" in err
    assert {r[2] for r in rows if r[1] != number} == {"done"}
    status, failure = query(postgres_url, "SELECT status, failure FROM run WHERE id = 1")[0]
    assert status == "failed" and f"shard {number}" in failure
    # The other shards' results are stored; the poison entity has none.
    assert query(
        postgres_url, "SELECT count(*) FROM certification WHERE entity_ref LIKE '%-000150'"
    ) == [(0,)]
    stored = query(postgres_url, "SELECT count(DISTINCT entity_ref) FROM certification")
    done = "SELECT sum(entities) FROM run_shard WHERE status = 'done'"
    assert stored == query(postgres_url, done)
    # The worker is still there for the next run.
    assert worker.process.poll() is None


def test_a_worker_with_other_tracks_refuses_the_shard(
    tmp_path: Path, broker_url: str, postgres_url: str, workers: list[Worker]
) -> None:
    options = {"database": postgres_url, "broker": broker_url, "size": 50, "shard_attempts": 2}
    stale = write_workspace(tmp_path / "stale", pause=0.5, **options)
    worker = Worker(stale, "stale")
    workers.append(worker)
    worker.wait_ready()
    config = write_workspace(tmp_path / "current", **options)
    code, _, err = finished(start_run(config))
    assert code == 1
    assert "the run was planned with" in err and "deploy the same tracks and checks" in err
    assert query(postgres_url, "SELECT count(*) FROM certification") == [(0,)]


def test_a_worker_notices_changed_tracks_before_evaluating(
    tmp_path: Path, broker_url: str, postgres_url: str, workers: list[Worker]
) -> None:
    options = {"database": postgres_url, "broker": broker_url, "size": 50}
    config = write_workspace(tmp_path / "ws", **options)
    worker = Worker(config, "reloading")
    workers.append(worker)
    worker.wait_ready()
    # The platform team moves a check; the worker, started before, has not been restarted.
    track = tmp_path / "ws" / "tracks" / "basics.yaml"
    track.write_text(track.read_text().replace("      - has_lifecycle\n", "", 1))
    code, _, err = finished(start_run(config))
    assert code == 0, err + worker.log()
    assert "tracks and checks reloaded" in worker.log()
    checks = query(postgres_url, "SELECT checks FROM track_layout WHERE track_id = 'basics'")
    assert "has_lifecycle" not in str(checks)


def test_a_run_with_no_worker_fails_once_nothing_moves(
    tmp_path: Path, broker_url: str, postgres_url: str
) -> None:
    config = write_workspace(
        tmp_path / "ws", database=postgres_url, broker=broker_url, size=20,
        queue="nobody-listens", stall_timeout=2,
    )  # fmt: skip
    code, _, err = finished(start_run(config), timeout=60)
    assert code == 1
    assert "no shard finished in 2 s: 1 of 1 shards never finished (0)" in err
    assert shards(postgres_url, 1)[0][2] == "failed"  # a late worker evaluates nothing


def test_a_broker_that_cannot_be_reached_fails_the_run_with_a_clear_reason(
    tmp_path: Path, postgres_url: str
) -> None:
    from tests.serving import free_port

    broker = f"amqp://guest:guest@127.0.0.1:{free_port()}//"  # nothing listens there
    config = write_workspace(tmp_path / "ws", database=postgres_url, broker=broker, size=20)
    code, _, err = finished(start_run(config), timeout=90)
    assert code == 1
    assert "the broker could not take the run's shards" in err
    assert query(postgres_url, "SELECT status FROM run") == [("failed",)]
    assert shards(postgres_url, 1)[0][2] == "failed"


def test_a_worker_stopped_with_sigterm_stores_the_shard_in_hand_first(
    tmp_path: Path, broker_url: str, postgres_url: str, workers: list[Worker]
) -> None:
    config = write_workspace(
        tmp_path / "ws", database=postgres_url, broker=broker_url, size=300, shard_size=100,
        pause=0.02, queue="graceful",
    )  # fmt: skip
    leaving = Worker(config, "leaving")
    workers.append(leaving)
    leaving.wait_ready()
    run = start_run(config)
    wait_for("a shard in the worker's hands", lambda: shards(postgres_url, 1)[0][3] == 1)
    leaving.terminate()  # a warm shutdown: what it holds is finished first
    assert leaving.process.wait(60) == 0, leaving.log()
    held = [r for r in shards(postgres_url, 1) if r[3] == 1]
    assert held and all(r[2] == "done" for r in held), held
    staying = Worker(config, "staying")
    workers.append(staying)
    code, _, err = finished(run)
    assert code == 0, err
    # Nothing was delivered twice: the shard in hand was stored before the worker left.
    assert {(r[2], r[3]) for r in shards(postgres_url, 1)} == {("done", 1)}
