"""Scheduled runs: one APScheduler job per track with a schedule, stored in the results database.

Jobs live in the store's database, so a restart keeps each job's next fire time: a fire
missed while the server was down runs once when it comes back (coalesced, within the
misfire grace time) and none is doubled. A fire while the track is still being evaluated
is skipped, never queued.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from scorecard.schedules import schedule_trigger
from scorecard.service.runs import RunConflict, RunCoordinator, UnknownTracks
from scorecard.tracks import Track

log = logging.getLogger("scorecard.scheduler")

JOBS_TABLE = "scheduler_jobs"
_TRACK_JOBS = "default"  # the persistent job store
_LOCAL_JOBS = "local"  # in memory: jobs of this process only, rebuilt at every start
_JOB_PREFIX = "track:"
_EXPIRY_JOB = "exemption-expiry"

# APScheduler stores a job as a "module:function" reference plus pickled arguments, so a
# job cannot hold the coordinator it needs: the job function finds it here. It is set by
# `TrackScheduler.start` and cleared by `shutdown`; one scheduler runs per process.
_coordinator: RunCoordinator | None = None


def run_scheduled_track(track_id: str) -> None:
    """The job of a track's schedule: start a run of the track, unless one is under way.

    Stored jobs refer to this function by name: renaming or moving it drops them (and
    `sync` then schedules them afresh).
    """
    coordinator = _coordinator
    if coordinator is None:
        log.warning("track %s is due but no scheduler is running; skipped", track_id)
        return
    try:
        started = coordinator.trigger([track_id], trigger="schedule")
    except RunConflict as conflict:
        log.info(
            "track %s is already being evaluated by run %d; this scheduled run is skipped",
            track_id,
            conflict.run_id,
        )
    except UnknownTracks:
        log.info("track %s is no longer configured; its scheduled run is skipped", track_id)
    except Exception:
        # Raised into APScheduler it would only be logged there, without the track's name.
        log.exception("the scheduled run of track %s could not start", track_id)
    else:
        log.info("scheduled run %d of track %s started", started.run_id, track_id)


class TrackScheduler:
    """Runs each track on its schedule; job state is kept in the store's database.

    `scheduler` is the underlying APScheduler `BackgroundScheduler`.
    """

    def __init__(
        self,
        coordinator: RunCoordinator,
        engine: Engine,
        *,
        misfire_grace: float = 3600.0,
        poll: Callable[[], object] | None = None,
        poll_interval: float = 0.0,
    ) -> None:
        """`misfire_grace`: seconds a fire may be late (the server was down) and still run,
        rounded up to whole seconds. `poll`, when given and `poll_interval` > 0, is called
        every `poll_interval` seconds (to reload a changed configuration)."""
        if misfire_grace <= 0:
            raise ValueError(f"misfire_grace must be positive, got {misfire_grace}")
        self._coordinator = coordinator
        # APScheduler takes whole seconds only.
        self._misfire_grace = math.ceil(misfire_grace)
        self._poll = poll
        self._poll_interval = poll_interval
        self._lock = threading.Lock()
        self._running = False  # between start and shutdown; `sync` changes jobs only then
        self.scheduler = BackgroundScheduler(
            jobstores={
                _TRACK_JOBS: SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE),
                _LOCAL_JOBS: MemoryJobStore(),
            },
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": self._misfire_grace,
            },
            timezone=UTC,
        )

    def start(self) -> None:
        """Start firing: bring the stored jobs in line with the current tracks first, so a
        track removed while the server was down never fires."""
        global _coordinator
        with self._lock:
            if _coordinator is not None:
                raise RuntimeError("a track scheduler is already running in this process")
            _coordinator = self._coordinator
            try:
                self.scheduler.start(paused=True)
                self._sync(self._coordinator.config.current.tracks)
                self._add_poll_job()
                self.scheduler.resume()
            except BaseException:
                self._stop(wait=False)
                raise
            self._running = True

    def shutdown(self, wait: bool = False) -> None:
        """Stop firing; `wait`: until jobs being started have returned. Stored jobs stay."""
        # APScheduler's shutdown holds its job store lock while it waits for running jobs,
        # and a poll job's `sync` needs that lock: let a sync under way finish, turn `sync`
        # off, and only then shut down.
        with self._lock:
            self._running = False
        self._stop(wait)

    def sync(self, tracks: Iterable[Track]) -> None:
        """Make the stored jobs match `tracks`; safe to call from any thread.

        A job whose schedule is unchanged is left alone, so its next fire time (perhaps
        missed during downtime) is kept. Before `start` and after `shutdown` it does
        nothing: `start` syncs with the configuration current when it is called.
        """
        with self._lock:
            if self._running:
                self._sync(tracks)

    def expire_at(
        self,
        when: datetime | None,
        action: Callable[[], object],
        *,
        job: str = _EXPIRY_JOB,
        what: str = "acting on expired exemptions",
    ) -> None:
        """Call `action` at `when` (at once if it has passed), replacing the instant set
        before for `job`; None: at no time. What no run waits for: the exemptions' expiry
        (the default job), pushed results passing their `max_age`."""
        with self._lock:
            if not self._running:
                return
            if when is None:
                if self.scheduler.get_job(job, _LOCAL_JOBS) is not None:
                    self.scheduler.remove_job(job, _LOCAL_JOBS)
                return
            self.scheduler.add_job(
                _call_logged,
                DateTrigger(run_date=max(when, datetime.now(UTC)), timezone=UTC),
                args=[action, what],
                id=job,
                name=job,
                jobstore=_LOCAL_JOBS,
                replace_existing=True,
                misfire_grace_time=None,  # late is still better than never
            )

    def next_runs(self) -> dict[str, datetime | None]:
        """Track id → when it fires next (aware, UTC), for every track with a schedule."""
        return {
            job.id.removeprefix(_JOB_PREFIX): job.next_run_time
            for job in self.scheduler.get_jobs(_TRACK_JOBS)
        }

    def _sync(self, tracks: Iterable[Track]) -> None:
        wanted = {
            _JOB_PREFIX + t.id: (t.id, schedule_trigger(t.schedule))
            for t in tracks
            if t.schedule is not None
        }
        stored = {job.id: job for job in self.scheduler.get_jobs(_TRACK_JOBS)}
        for job_id in stored.keys() - wanted.keys():
            self.scheduler.remove_job(job_id, _TRACK_JOBS)
            log.info("track %s is no longer scheduled", job_id.removeprefix(_JOB_PREFIX))
        for job_id, (track_id, trigger) in wanted.items():
            job = stored.get(job_id)
            if job is None or not _same_trigger(job.trigger, trigger):
                self._schedule(track_id, trigger)
            elif job.misfire_grace_time != self._misfire_grace:
                self.scheduler.modify_job(
                    job_id, _TRACK_JOBS, misfire_grace_time=self._misfire_grace
                )

    def _schedule(self, track_id: str, trigger: BaseTrigger) -> None:
        job = self.scheduler.add_job(
            run_scheduled_track,
            trigger,
            args=[track_id],
            id=_JOB_PREFIX + track_id,
            name=f"scheduled run of track {track_id}",
            jobstore=_TRACK_JOBS,
            replace_existing=True,
        )
        log.info("track %s is scheduled %s; next run at %s", track_id, trigger, job.next_run_time)

    def _add_poll_job(self) -> None:
        if self._poll is None or self._poll_interval <= 0:
            return
        self.scheduler.add_job(
            _call_logged,
            IntervalTrigger(seconds=self._poll_interval, timezone=UTC),
            args=[self._poll, "checking the configuration for changes"],
            id="poll",
            name="configuration reload check",
            jobstore=_LOCAL_JOBS,
            replace_existing=True,
        )

    def _stop(self, wait: bool) -> None:
        global _coordinator
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        if _coordinator is self._coordinator:
            _coordinator = None


def _call_logged(job: Callable[[], object], what: str) -> None:
    try:
        job()
    except Exception:
        # Raised into APScheduler it would be logged without saying which job failed.
        log.exception("%s failed", what)


def _same_trigger(stored: BaseTrigger, wanted: BaseTrigger) -> bool:
    # The pickled state is what a restart restores: equal state, equal fire times.
    return type(stored) is type(wanted) and stored.__getstate__() == wanted.__getstate__()
