"""Runs that died: a run keeps a liveness mark fresh, and whichever process opens the store
next marks a `running` run with a stale mark abandoned, never a live run of another one."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text, update

from scorecard.results import Outcome
from scorecard.service.service import Service
from scorecard.store import RunRecord, RunStatus, Store
from scorecard.store.database import create_store_engine, database_url
from scorecard.store.heartbeat import STALE_AFTER
from scorecard.workspace import Workspace, bundled_tracks

DATA = Path(__file__).parents[1] / "data" / "store"
COMPONENT = DATA / "one-component.yaml"


def age_mark(store: Store, run_id: int, by: timedelta) -> None:
    """Set a run's liveness mark `by` into the past, as if that much time had gone by."""
    with store.engine.begin() as connection:
        connection.execute(
            update(RunRecord)
            .where(RunRecord.id == run_id)
            .values(heartbeat_at=datetime.now(UTC) - by)
        )


def wait_for(condition: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"still not true after {timeout} s")


def test_only_runs_with_a_stale_mark_are_abandoned(store: Store, save, make_report) -> None:
    save(make_report({("payments", "prod", "owner"): Outcome.PASS}))
    finished = store.latest_run().id
    live, dead = store.start_run("schedule"), store.start_run("cli")
    age_mark(store, dead, STALE_AFTER + timedelta(seconds=1))
    age_mark(store, live, STALE_AFTER - timedelta(seconds=5))

    assert store.abandon_stale() == [dead]

    assert store.run(dead).status is RunStatus.ABANDONED
    assert store.run(dead).finished_at is None
    assert store.run(live).status is RunStatus.RUNNING
    assert store.run(finished).status is RunStatus.FINISHED
    assert store.abandon_stale() == []
    # Once its mark is stale too, the other one is abandoned as well.
    assert store.abandon_stale(datetime.now(UTC) + timedelta(seconds=10)) == [live]


def test_opening_the_store_abandons_stale_runs(store_url: str, caplog) -> None:
    with Store(store_url) as store:
        dead, live = store.start_run("cli"), store.start_run("cli")
        age_mark(store, dead, 2 * STALE_AFTER)

    with caplog.at_level(logging.WARNING, "scorecard.store"), Store(store_url) as reopened:
        assert reopened.run(dead).status is RunStatus.ABANDONED
        assert reopened.run(live).status is RunStatus.RUNNING
    assert f"run {dead} was abandoned: the process running it stopped" in caplog.text


def test_the_heartbeat_keeps_a_run_alive_and_stops_with_it(store: Store) -> None:
    run_id = store.start_run("cli")
    age_mark(store, run_id, 2 * STALE_AFTER)

    with store.heartbeat(run_id, interval=0.02):
        wait_for(lambda: store.run(run_id).heartbeat_at > datetime.now(UTC) - STALE_AFTER)
        assert store.abandon_stale() == []
    last = store.run(run_id).heartbeat_at
    assert f"run-{run_id}-heartbeat" not in {t.name for t in threading.enumerate()}
    time.sleep(0.1)

    assert store.run(run_id).heartbeat_at == last
    assert store.abandon_stale(last + STALE_AFTER + timedelta(seconds=1)) == [run_id]


def test_a_finished_run_is_not_revived_by_a_late_beat(store: Store, save, make_report) -> None:
    run_id = store.start_run("cli")
    with store.heartbeat(run_id, interval=0.01):
        store.save_run(run_id, make_report({("payments", "prod", "owner"): Outcome.PASS}))
        time.sleep(0.05)
    assert store.run(run_id).status is RunStatus.FINISHED


def _big_report(make_report: Callable[..., Any], entities: int) -> Any:
    checks = ("owner", "readme", "runbook", "license", "ci")
    return make_report(
        {
            (f"service-{i:05}", "prod", check): Outcome.PASS
            for i in range(entities)
            for check in checks
        }
    )


def test_beats_during_a_big_save_neither_fail_it_nor_fail(
    store: Store, make_report, caplog
) -> None:
    """The save holds the write lock for its whole transaction; beats every millisecond
    meanwhile wait for it (SQLite) or for its row (PostgreSQL) and go through after."""
    report = _big_report(make_report, 3000)
    run_id = store.start_run("cli")

    with caplog.at_level(logging.WARNING, "scorecard.store"):
        with store.heartbeat(run_id, interval=0.001):
            stats = store.save_run(run_id, report)
        assert stats.results_written == len(report.results)
    assert store.run(run_id).status is RunStatus.FINISHED
    assert "liveness mark failed" not in caplog.text


def test_a_beat_waits_for_another_writer_instead_of_failing(tmp_path: Path, caplog) -> None:
    """On SQLite another process's write transaction holds the only write lock; a beat
    waits for it (busy timeout) and then goes through."""
    url = f"sqlite:///{tmp_path / 'scorecard.db'}"
    with Store(url) as store:
        run_id = store.start_run("cli")
        age_mark(store, run_id, STALE_AFTER / 2)
        aged = store.run(run_id).heartbeat_at
        other: Engine = create_store_engine(database_url(url))
        with other.connect() as writer, caplog.at_level(logging.WARNING, "scorecard.store"):
            writer.exec_driver_sql("BEGIN IMMEDIATE")
            writer.execute(text("UPDATE run SET trigger = 'cli' WHERE id = :id"), {"id": run_id})
            with store.heartbeat(run_id, interval=0.01):
                time.sleep(0.5)  # beats wait behind the open write transaction
                writer.commit()
                wait_for(lambda: store.run(run_id).heartbeat_at > aged)
        other.dispose()
        assert "liveness mark failed" not in caplog.text
        assert store.run(run_id).status is RunStatus.RUNNING


def _slow_track(folder: Path, seconds: float) -> Path:
    track = folder / f"slow-{seconds}.yaml"
    track.write_text(
        "apiVersion: scorecard/v1\nkind: Track\nid: slow\ntitle: Slow\nlevels:\n"
        f"  - id: bronze\n    checks:\n      - {{check: sleeps, with: {{seconds: {seconds}}}}}\n"
    )
    return track


def _scorecard_run(db: str, *args: str | Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "scorecard",
        "run",
        "--db",
        db,
        "--catalog",
        str(COMPONENT),
        *(str(a) for a in args),
    ]


def _environment() -> dict[str, str]:
    # Only the command line names the database and workspace of the subprocesses.
    return {k: v for k, v in os.environ.items() if not k.startswith("SCORECARD_")}


def _run_status(db: str, run_id: int) -> str | None:
    engine = create_store_engine(database_url(db))
    try:
        with engine.connect() as connection:
            return connection.execute(
                text("SELECT status FROM run WHERE id = :id"), {"id": run_id}
            ).scalar()
    finally:
        engine.dispose()


def test_a_killed_scorecard_run_is_abandoned_by_the_next_one(
    tmp_path: Path, store_url: str
) -> None:
    Store(store_url).close()
    slow = _slow_track(tmp_path, 60)
    killed = subprocess.Popen(
        _scorecard_run(store_url, "--checks", DATA / "slow_checks", "--tracks", slow),
        cwd=tmp_path,
        env=_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _run_status(store_url, 1) == "running")
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()

    # Right after the kill its mark is as fresh as a live run's: nothing can tell yet.
    with Store(store_url) as store:
        assert store.run(1).status is RunStatus.RUNNING
        age_mark(store, 1, STALE_AFTER + timedelta(seconds=1))  # the time passing
    basics = bundled_tracks() / "basics.yaml"
    next_run = subprocess.run(
        _scorecard_run(store_url, "--tracks", basics),
        cwd=tmp_path,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert next_run.returncode == 0, next_run.stderr
    assert "run 1 was abandoned: the process running it stopped" in next_run.stderr
    assert _run_status(store_url, 1) == "abandoned"
    assert _run_status(store_url, 2) == "finished"


def test_a_live_run_of_another_process_is_not_abandoned(tmp_path: Path, store_url: str) -> None:
    """Neither a second `scorecard run` nor a server starting (which used to mark every
    running run abandoned) takes a live run of another process for dead."""
    Store(store_url).close()
    live = subprocess.Popen(
        _scorecard_run(
            store_url, "--checks", DATA / "slow_checks", "--tracks", _slow_track(tmp_path, 60)
        ),
        cwd=tmp_path,
        env=_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _run_status(store_url, 1) == "running")
        other = subprocess.run(
            _scorecard_run(store_url, "--tracks", bundled_tracks() / "basics.yaml"),
            cwd=tmp_path,
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert other.returncode == 0, other.stderr
        workspace = Workspace(
            catalog=[str(COMPONENT)],
            tracks=[bundled_tracks() / "basics.yaml"],
            checks=[],
            database=store_url,
        )
        service = Service.create(workspace, schedule=False)
        service.start(evaluate_if_empty=False)
        service.stop()
        status = _run_status(store_url, 1)
        assert live.poll() is None  # it was still going when its status was read
        assert status == "running"
        assert _run_status(store_url, 2) == "finished"
    finally:
        live.kill()
        live.wait()


def test_a_server_abandons_a_run_that_died_while_it_served(store_url: str, tmp_path: Path) -> None:
    workspace = Workspace(
        catalog=[str(COMPONENT)],
        tracks=[bundled_tracks() / "basics.yaml"],
        checks=[],
        database=store_url,
        reload_interval=0.05,
    )
    service = Service.create(workspace)
    service.start(evaluate_if_empty=False)
    try:
        # A `scorecard run` elsewhere starts, then dies.
        run_id = service.store.start_run("cli")
        age_mark(service.store, run_id, 2 * STALE_AFTER)
        wait_for(lambda: service.store.run(run_id).status is RunStatus.ABANDONED)
    finally:
        service.stop()
