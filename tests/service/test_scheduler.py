"""The track scheduler over a real workspace, store and run coordinator, on each backend."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

from scorecard.schedules import schedule_trigger
from scorecard.service.config import LiveConfig
from scorecard.service.runs import RunConflict, RunCoordinator
from scorecard.service.scheduler import JOBS_TABLE, TrackScheduler
from scorecard.store import RunRecord, RunStatus, Store
from scorecard.tracks import Track
from scorecard.workspace import Workspace

DEADLINE = 5.0
T = TypeVar("T")
ANCHOR = datetime(2000, 1, 1, tzinfo=UTC)

CATALOG = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: checkout}
spec: {type: service, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: payments}
spec: {type: service, owner: team-b}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: orphan}
spec: {type: service}
"""

TRACK = """\
apiVersion: scorecard/v1
kind: Track
id: {id}
title: Track {id}
{schedule}
levels:
  - id: bronze
    checks: [{check}]
"""

# Holds every run of the `gated` track open until the test creates the release file.
GATED_CHECK = """\
import asyncio
from pathlib import Path

from scorecard.results import Result
from scorecard.sdk import check

RELEASE = Path({release!r})


@check(id="waits", title="Waits for the test", remediation="None.")
async def waits(entity):
    \"\"\"Passes once the test releases it.\"\"\"
    while not RELEASE.exists():
        await asyncio.sleep(0.01)
    return Result.passed(f"{{entity.ref}} was released")
"""


@dataclass
class Service:
    workspace: Workspace
    config: LiveConfig
    store: Store
    coordinator: RunCoordinator
    release: Path

    def runs(self, track_id: str) -> list[RunRecord]:
        """Runs of this track, oldest first."""
        runs = [r for r in self.store.runs(limit=100) if track_id in r.scope["tracks"]]
        return runs[::-1]


@pytest.fixture
def workspace(tmp_path: Path, store_url: str) -> Workspace:
    """Three components; `basics` every minute, `gated` by cron, `manual` unscheduled."""
    (tmp_path / "catalog-info.yaml").write_text(CATALOG)
    tracks = tmp_path / "tracks"
    tracks.mkdir()
    for track_id, schedule, check in [
        ("basics", "schedule: {every: 1m}", "has_owner"),
        ("gated", 'schedule: "0 3 * * *"', "waits"),
        ("manual", "", "has_owner"),
    ]:
        text = TRACK.format(id=track_id, schedule=schedule, check=check)
        (tracks / f"{track_id}.yaml").write_text(text)
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "gate.py").write_text(GATED_CHECK.format(release=str(tmp_path / "release")))
    return Workspace(
        catalog=[str(tmp_path / "catalog-info.yaml")],
        tracks=[tracks],
        checks=[checks],
        database=store_url,
        check_timeout=10.0,
        reload_interval=0,
    )


@pytest.fixture
def open_service(workspace: Workspace, tmp_path: Path) -> Iterator[Callable[..., Service]]:
    """`open_service(on_change=None)`: config, store and coordinator; closed at teardown."""
    opened: list[Service] = []

    def open_service(on_change: Callable[..., None] | None = None) -> Service:
        config = LiveConfig(workspace, on_change)
        store = Store(workspace.database)
        service = Service(
            workspace, config, store, RunCoordinator(config, store), tmp_path / "release"
        )
        opened.append(service)
        return service

    yield open_service
    (tmp_path / "release").touch()
    for service in opened:
        assert service.coordinator.shutdown(grace=DEADLINE) == []
        service.store.close()


@pytest.fixture
def service(open_service: Callable[..., Service]) -> Service:
    return open_service()


@pytest.fixture
def make_scheduler(service: Service) -> Iterator[Callable[..., TrackScheduler]]:
    """`make_scheduler(**options)`: a scheduler on the service; shut down at teardown."""
    made: list[TrackScheduler] = []

    def make_scheduler(on: Service = service, **options: Any) -> TrackScheduler:
        scheduler = TrackScheduler(on.coordinator, on.store.engine, **options)
        made.append(scheduler)
        return scheduler

    yield make_scheduler
    for scheduler in made:
        scheduler.shutdown(wait=True)


def wait_for(probe: Callable[[], T], what: str) -> T:
    """Poll `probe` until it returns something truthy; fail after the deadline."""
    deadline = time.monotonic() + DEADLINE
    while not (value := probe()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)
    return value


def record_job_events(scheduler: TrackScheduler) -> list[JobExecutionEvent]:
    """Every job executed, failed or missed from now on, in order."""
    events: list[JobExecutionEvent] = []
    scheduler.scheduler.add_listener(
        events.append, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED
    )
    return events


def fire_now(scheduler: TrackScheduler, track_id: str) -> JobExecutionEvent:
    """Make a track's job due now and wait until it has run."""
    job_id = f"track:{track_id}"
    events = record_job_events(scheduler)
    scheduler.scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))
    event = wait_for(lambda: next((e for e in events if e.job_id == job_id), None), job_id)
    scheduler.scheduler.remove_listener(events.append)
    return event


def set_stored_next_run(service: Service, track_id: str, when: datetime) -> None:
    """Change a stored job's next fire time while no scheduler runs, as downtime does."""
    jobs = SQLAlchemyJobStore(engine=service.store.engine, tablename=JOBS_TABLE)
    jobs.start(None, "default")
    job = jobs.lookup_job(f"track:{track_id}")
    job.next_run_time = when
    jobs.update_job(job)


def finished(service: Service, track_id: str) -> Callable[[], list[RunRecord]]:
    """A probe: the track's runs once there is one and none is running."""

    def probe() -> list[RunRecord]:
        runs = service.runs(track_id)
        return runs if runs and all(r.status != RunStatus.RUNNING for r in runs) else []

    return probe


def tracks_of(service: Service) -> dict[str, Track]:
    """The configured tracks by id."""
    return {t.id: t for t in service.config.current.tracks}


def test_one_job_per_scheduled_track(make_scheduler: Callable[..., TrackScheduler]) -> None:
    scheduler = make_scheduler()
    scheduler.start()
    now = datetime.now(UTC)
    next_runs = scheduler.next_runs()
    assert sorted(next_runs) == ["basics", "gated"]
    basics, gated = next_runs["basics"], next_runs["gated"]
    assert basics is not None and gated is not None
    # Every minute, counted from the anchor: on a minute boundary, within the next minute.
    assert basics.tzinfo == UTC and basics.second == 0
    assert now < basics <= now + timedelta(minutes=1)
    assert (gated.hour, gated.minute) == (3, 0) and now < gated <= now + timedelta(days=1)


def test_a_due_track_runs_and_its_results_are_stored(
    service: Service, make_scheduler: Callable[..., TrackScheduler]
) -> None:
    scheduler = make_scheduler()
    scheduler.start()
    basics = tracks_of(service)["basics"]
    scheduler.sync([replace(basics, schedule=timedelta(seconds=1))])
    runs = wait_for(finished(service, "basics"), "a scheduled run of basics")
    assert runs[0].trigger == "schedule"
    assert runs[0].status == RunStatus.FINISHED
    assert runs[0].scope == {"tracks": ["basics"], "entity": None}
    owners = {r.entity_ref: r.outcome for r in service.store.results(track_id="basics")}
    assert owners == {
        "component:default/checkout": "pass",
        "component:default/payments": "pass",
        "component:default/orphan": "fail",
    }


def test_a_track_is_never_evaluated_twice_at_once(
    service: Service,
    make_scheduler: Callable[..., TrackScheduler],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="scorecard.scheduler")
    scheduler = make_scheduler()
    scheduler.start()
    fire_now(scheduler, "gated")
    [first] = wait_for(lambda: service.runs("gated"), "the scheduled run")
    assert (first.trigger, first.status) == ("schedule", RunStatus.RUNNING)

    with pytest.raises(RunConflict) as conflict:
        service.coordinator.trigger(["gated"])
    assert conflict.value.run_id == first.id
    assert fire_now(scheduler, "gated").code == EVENT_JOB_EXECUTED
    assert (
        f"track gated is already being evaluated by run {first.id}; "
        "this scheduled run is skipped" in caplog.messages
    )

    service.release.touch()
    [run] = wait_for(finished(service, "gated"), "the run to finish")
    assert (run.id, run.status) == (first.id, RunStatus.FINISHED)


def test_a_fire_for_a_track_no_longer_configured_is_skipped(
    service: Service,
    make_scheduler: Callable[..., TrackScheduler],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="scorecard.scheduler")
    scheduler = make_scheduler()
    scheduler.start()
    # Removed from the configuration, but not yet from the scheduler (no on_change here).
    (service.workspace.tracks[0] / "basics.yaml").unlink()
    assert service.config.reload().reloaded

    assert fire_now(scheduler, "basics").code == EVENT_JOB_EXECUTED
    assert "track basics is no longer configured; its scheduled run is skipped" in caplog.messages
    assert service.runs("basics") == []


def test_a_restart_keeps_each_next_fire_time(
    make_scheduler: Callable[..., TrackScheduler],
) -> None:
    first = make_scheduler()
    first.start()
    # Off the anchor's grid: a job scheduled afresh could never get this time.
    marker = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1, seconds=17)
    first.scheduler.modify_job("track:basics", next_run_time=marker)
    before = first.next_runs()
    with pytest.raises(RuntimeError, match="already running"):
        make_scheduler().start()
    first.shutdown()

    second = make_scheduler()
    second.start()
    assert second.next_runs() == before
    assert before["basics"] == marker


@pytest.mark.parametrize(
    ("grace", "expected"),
    [
        pytest.param(300.0, EVENT_JOB_EXECUTED, id="within-grace-runs-once"),
        # Coalesced, only the latest missed fire counts: it is 30 s late.
        pytest.param(10.0, EVENT_JOB_MISSED, id="past-grace-is-skipped"),
    ],
)
def test_a_fire_missed_during_downtime(
    service: Service,
    make_scheduler: Callable[..., TrackScheduler],
    grace: float,
    expected: int,
) -> None:
    first = make_scheduler()
    first.start()
    first.shutdown()
    # Down for two and a half minutes: three fires of `basics` (every minute) were missed.
    set_stored_next_run(service, "basics", datetime.now(UTC) - timedelta(seconds=150))

    second = make_scheduler(misfire_grace=grace)
    events = record_job_events(second)
    second.start()
    [event] = wait_for(lambda: events, "the missed fire")
    assert (event.job_id, event.code) == ("track:basics", expected)
    next_run = second.next_runs()["basics"]
    assert next_run is not None and next_run > datetime.now(UTC)
    if expected == EVENT_JOB_EXECUTED:
        [run] = wait_for(finished(service, "basics"), "the run of the missed fire")
        assert (run.trigger, run.status) == ("schedule", RunStatus.FINISHED)
    else:
        assert service.runs("basics") == []


Tracks = dict[str, Track]
EVERY_MINUTE = "interval[0:01:00]"
AT_THREE = "cron[month='*', day='*', day_of_week='*', hour='3', minute='0']"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda t: {k: v for k, v in t.items() if k != "basics"},
            {"gated": AT_THREE},
            id="removed",
        ),
        pytest.param(
            lambda t: t | {"basics": replace(t["basics"], schedule=None)},
            {"gated": AT_THREE},
            id="unscheduled",
        ),
        pytest.param(
            lambda t: t | {"basics": replace(t["basics"], schedule=timedelta(hours=2))},
            {"basics": "interval[2:00:00]", "gated": AT_THREE},
            id="rescheduled",
        ),
        pytest.param(
            lambda t: t | {"manual": replace(t["manual"], schedule="15 * * * *")},
            {
                "basics": EVERY_MINUTE,
                "gated": AT_THREE,
                "manual": "cron[month='*', day='*', day_of_week='*', hour='*', minute='15']",
            },
            id="newly-scheduled",
        ),
    ],
)
def test_sync_makes_the_jobs_match_the_tracks(
    service: Service,
    make_scheduler: Callable[..., TrackScheduler],
    change: Callable[[Tracks], Tracks],
    expected: dict[str, str],
) -> None:
    scheduler = make_scheduler()
    scheduler.start()
    marker = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=5, seconds=3)
    scheduler.scheduler.modify_job("track:gated", next_run_time=marker)

    scheduler.sync(change(tracks_of(service)).values())
    jobs = {j.id.removeprefix("track:"): j for j in scheduler.scheduler.get_jobs("default")}
    assert {k: str(j.trigger) for k, j in jobs.items()} == expected
    # The unchanged job keeps its next fire time; a new or changed one is on its grid.
    assert jobs["gated"].next_run_time == marker
    if "basics" in jobs:
        basics = jobs["basics"]
        assert (basics.next_run_time - ANCHOR) % basics.trigger.interval == timedelta(0)


def test_a_changed_track_file_is_picked_up_by_polling(
    open_service: Callable[..., Service], make_scheduler: Callable[..., TrackScheduler]
) -> None:
    schedulers: list[TrackScheduler] = []
    # As the server wires it: the config exists before the scheduler that follows it.
    service = open_service(on_change=lambda loaded: schedulers[0].sync(loaded.tracks))
    scheduler = make_scheduler(service, poll=service.config.reload_if_changed, poll_interval=0.05)
    schedulers.append(scheduler)
    scheduler.start()

    track_file = service.workspace.tracks[0] / "basics.yaml"
    track_file.write_text(track_file.read_text().replace("{every: 1m}", "{every: 2h}"))
    wait_for(
        lambda: str(scheduler.scheduler.get_job("track:basics").trigger) == "interval[2:00:00]",
        "the new schedule",
    )
    (service.workspace.tracks[0] / "gated.yaml").unlink()
    wait_for(lambda: "gated" not in scheduler.next_runs(), "the removed track's job to go")


def test_polling_calls_the_callable_and_survives_its_errors(
    make_scheduler: Callable[..., TrackScheduler], caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[float] = []

    def poll() -> None:
        calls.append(time.monotonic())
        raise OSError("the tracks folder is gone")

    scheduler = make_scheduler(poll=poll, poll_interval=0.05)
    scheduler.start()
    wait_for(lambda: len(calls) >= 3, "three polls")
    assert "checking the configuration for changes failed" in caplog.messages


def test_no_polling_without_an_interval(make_scheduler: Callable[..., TrackScheduler]) -> None:
    scheduler = make_scheduler(poll=lambda: None, poll_interval=0)
    scheduler.start()
    assert scheduler.scheduler.get_jobs("local") == []


def test_shutdown_waits_for_a_poll_in_the_middle_of_a_sync(
    service: Service, make_scheduler: Callable[..., TrackScheduler]
) -> None:
    syncing, proceed = threading.Event(), threading.Event()
    schedulers: list[TrackScheduler] = []

    def tracks() -> Iterator[Track]:
        syncing.set()
        proceed.wait()
        yield from service.config.current.tracks

    def poll() -> None:
        schedulers[0].sync(tracks())

    scheduler = make_scheduler(poll=poll, poll_interval=0.05)
    schedulers.append(scheduler)
    scheduler.start()
    assert syncing.wait(DEADLINE)
    stopping = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True)
    stopping.start()
    # Give the shutdown time to get stuck: APScheduler holds its job store lock while it
    # waits for running jobs, and the sync under way needs that lock to finish.
    time.sleep(0.1)
    proceed.set()
    stopping.join(DEADLINE)
    assert not stopping.is_alive()


SUNDAY = datetime(2024, 6, 2, 12, tzinfo=UTC)
WEEK = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@pytest.mark.parametrize(
    ("day_of_week", "days"),
    [
        ("*", WEEK),
        ("1-5", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("0", ["Sun"]),
        ("7", ["Sun"]),
        ("0,6", ["Sat", "Sun"]),
        ("*/2", ["Tue", "Thu", "Sat", "Sun"]),
        ("mon-fri", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("fri-sun", ["Fri", "Sat", "Sun"]),
    ],
)
def test_cron_days_of_week_count_from_sunday(day_of_week: str, days: list[str]) -> None:
    trigger = schedule_trigger(f"0 9 * * {day_of_week}")
    fires: list[datetime] = []
    at = SUNDAY
    while (at := trigger.get_next_fire_time(None, at)) < SUNDAY + timedelta(days=7):
        fires.append(at)
        at += timedelta(minutes=1)
    assert sorted({f.strftime("%a") for f in fires}, key=WEEK.index) == days
    assert all((f.hour, f.minute) == (9, 0) for f in fires)
