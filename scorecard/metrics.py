"""The server's metrics in Prometheus' text format, served at `GET /metrics`.

Two kinds, by where the truth lives:

- What the store knows is read from it at scrape time (`StoreCollector`): runs by status,
  the latest finished run, the latest results by track and outcome, the catalog's
  problems. Runs made by any process on the database show, `scorecard run` from cron and
  other servers included, and a restarted server loses nothing.
- What only this process sees is counted as it happens: HTTP requests, badge cache hits
  and misses, source fetch failures, check errors and timeouts in its runs, and how long
  its runs took.

Each `Metrics` has a registry of its own, never prometheus_client's global one: a process
may hold several servers (the tests do), and each must count only its own.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from sqlalchemy import Connection, Row, false, func, select
from sqlalchemy.exc import DBAPIError

from scorecard.results import Outcome
from scorecard.store.tables import RollupRecord, RunRecord, RunStatus

if TYPE_CHECKING:
    from scorecard.report import RunReport
    from scorecard.store import Store
    from scorecard.tracks import Track

# The text format every Prometheus version scrapes.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Where fetch failures are counted (the `source` label); each source names itself.
SOURCES = ("git", "github", "backstage")

# The executor marks a check that ran out of time with this evidence key.
TIMEOUT_EVIDENCE = "timeout_seconds"

# Runs take seconds to hours: from a one-entity re-run to a large catalog's cold run.
RUN_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, float("inf"))

log = logging.getLogger("scorecard.metrics")

_run = RunRecord.__table__
_rollup = RollupRecord.__table__


class BadgeCounts(Protocol):
    """What the badge cache counts: requests answered from it, and those that waited for
    the store."""

    hits: int
    misses: int


class Metrics:
    """The metrics of one server: its registry, and the counters its parts report to."""

    def __init__(self, store: Store | None = None) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.run_duration = Histogram(
            "scorecard_run_duration_seconds",
            "Runs of this process by how long they took, from reading the catalog to the "
            "stored results, by status (finished, failed).",
            ["status"],
            buckets=RUN_BUCKETS,
            registry=registry,
        )
        self.check_errors = Counter(
            "scorecard_check_errors",
            "Checks that crashed or returned something other than a Result in this "
            "process's runs, by track and check.",
            ["track", "check"],
            registry=registry,
        )
        self.check_timeouts = Counter(
            "scorecard_check_timeouts",
            "Checks that did not finish within their timeout in this process's runs, by "
            "track and check.",
            ["track", "check"],
            registry=registry,
        )
        self.source_failures = Counter(
            "scorecard_source_fetch_failures",
            "Reads of a source that failed: git clones and fetches, GitHub API facts, "
            "Backstage catalog pages (after their retries).",
            ["source"],
            registry=registry,
        )
        self.http_requests = Counter(
            "scorecard_http_requests",
            "HTTP requests by route template, method and status; `unmatched` for paths "
            "no route serves.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.http_duration = Histogram(
            "scorecard_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response, by route template "
            "and method.",
            ["route", "method"],
            registry=registry,
        )
        for status in (RunStatus.FINISHED, RunStatus.FAILED):
            self.run_duration.labels(status.value)
        for source in SOURCES:
            self.source_failures.labels(source)
        self._badges: BadgeCounts | None = None
        registry.register(_BadgeCollector(self))
        self._tracks: Callable[[], Iterable[Track]] = tuple
        registry.register(_TrackCollector(self))
        if store is not None:
            registry.register(StoreCollector(store))

    def watch_badges(self, cache: BadgeCounts) -> None:
        """Report the hits and misses of `cache` (the app's badge cache)."""
        self._badges = cache

    def watch_tracks(self, tracks: Callable[[], Iterable[Track]]) -> None:
        """Report which of `tracks()` (the live configuration's) are drafts."""
        self._tracks = tracks

    def source_failed(self, source: str) -> None:
        """A read of `source` (one of SOURCES) failed; sources call it with their name."""
        self.source_failures.labels(source).inc()

    def run_finished(self, report: RunReport, seconds: float) -> None:
        """A run of this process stored `report`, `seconds` after it started."""
        self.run_duration.labels(RunStatus.FINISHED.value).observe(seconds)
        errors: Tally[tuple[str, str]] = Tally()
        timeouts: Tally[tuple[str, str]] = Tally()
        error = Outcome.ERROR
        for pair in report.pairs:
            if error.value not in pair.outcomes:
                continue  # most pairs: nothing to decode
            for placed in pair.results():
                if placed.result.outcome is error:
                    timed_out = TIMEOUT_EVIDENCE in placed.result.evidence
                    (timeouts if timed_out else errors)[placed.track_id, placed.check_id] += 1
        for (track, check), count in errors.items():
            self.check_errors.labels(track, check).inc(count)
        for (track, check), count in timeouts.items():
            self.check_timeouts.labels(track, check).inc(count)

    def run_failed(self, seconds: float) -> None:
        """A run of this process failed `seconds` after it started."""
        self.run_duration.labels(RunStatus.FAILED.value).observe(seconds)

    def exposition(self) -> bytes:
        """Every metric in the text format; reads the store (call it off the event loop)."""
        return generate_latest(self.registry)


class _BadgeCollector:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def describe(self) -> Iterable[Metric]:
        return self.collect()

    def collect(self) -> Iterator[Metric]:
        badges = self._metrics._badges
        yield CounterMetricFamily(
            "scorecard_badge_cache_hits",
            "Badge requests answered from the badge cache.",
            value=badges.hits if badges else 0,
        )
        yield CounterMetricFamily(
            "scorecard_badge_cache_misses",
            "Badge requests that waited for the store to be read.",
            value=badges.misses if badges else 0,
        )


class _TrackCollector:
    """`scorecard_track_draft`: 1 for a draft track, 0 for a published one. The per-track
    series (`scorecard_results`) keep every track, drafts too; this marks which is which,
    so that sums across tracks can leave the drafts out:
    `scorecard_results unless on(track) scorecard_track_draft == 1`."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily("scorecard_track_draft", "", labels=["track"])]

    def collect(self) -> Iterator[Metric]:
        drafts = GaugeMetricFamily(
            "scorecard_track_draft",
            "1 for a draft track (previewed, not enforced), 0 for a published one.",
            labels=["track"],
        )
        for track in self._metrics._tracks():
            drafts.add_metric([track.id], 1 if track.draft else 0)
        yield drafts


class StoreCollector:
    """Metrics read from the store at each scrape.

    Runs by status cost one GROUP BY over the run table's status index each time. What
    only a finished run changes (the latest results, the latest finished run) is read
    again only when the set of finished runs has changed, which the same query tells;
    so a scrape every 15 seconds of a store of 100,000 entities reads the results only
    once per run. One scrape reads at a time; the others wait for it and share its answer.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._finished: tuple[int, int] | None = None  # (count, newest id) read last
        self._settled: list[Metric] = []

    def describe(self) -> Iterable[Metric]:
        # Named without reading the store: registering must not need the database.
        return [
            _store_up(1),
            CounterMetricFamily("scorecard_runs", "", labels=["status"]),
            GaugeMetricFamily("scorecard_runs_running", ""),
            *_settled_metrics(None, {}),
        ]

    def collect(self) -> Iterator[Metric]:
        try:
            by_status, settled = self._read()
        except DBAPIError as error:
            # The metrics this process counted are worth most when the database is down:
            # they are still served, with the store marked down.
            log.warning("metrics: the store could not be read: %s", error)
            yield _store_up(0)
            return
        yield _store_up(1)
        runs = CounterMetricFamily(
            "scorecard_runs",
            "Runs recorded in the store that have ended, by status (finished, failed, "
            "abandoned); runs of every process on the database.",
            labels=["status"],
        )
        for status in RunStatus:
            if status is not RunStatus.RUNNING:
                runs.add_metric([status.value], by_status.get(status, (0, 0))[0])
        yield runs
        yield GaugeMetricFamily(
            "scorecard_runs_running",
            "Runs recorded in the store as running now, by any process.",
            value=by_status.get(RunStatus.RUNNING, (0, 0))[0],
        )
        yield from settled

    def _read(self) -> tuple[dict[RunStatus, tuple[int, int]], list[Metric]]:
        with self._lock, self.store.engine.connect() as connection:
            by_status = {
                RunStatus(status): (count, newest)
                for status, count, newest in connection.execute(
                    select(_run.c.status, func.count(), func.max(_run.c.id)).group_by(_run.c.status)
                )
            }
            finished = by_status.get(RunStatus.FINISHED, (0, 0))
            if finished != self._finished:
                # Read after the counts, so a run finishing in between is caught next time.
                self._settled = _read_settled(connection, finished[1])
                self._finished = finished
            return by_status, self._settled


def _store_up(value: int) -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "scorecard_store_up", "1 when the store could be read for this scrape, else 0.", value
    )


def _read_settled(connection: Connection, newest_finished: int) -> list[Metric]:
    """The latest results by track and outcome, and the newest finished run."""
    # The catalog-wide check rows of the kept roll-ups: the results of every entity in
    # the catalog (gone ones count in none), a few rows per track at any catalog size.
    k = _rollup.c
    counts = Tally(
        {
            (track, Outcome(outcome)): int(count)
            for track, outcome, count in connection.execute(
                select(k.track_id, k.outcome, func.sum(k.count))
                .where(k.by_owner == false(), k.check_id.is_not(None))
                .group_by(k.track_id, k.outcome)
            )
        }
    )
    last = None
    if newest_finished:
        last = connection.execute(
            select(_run.c.started_at, _run.c.finished_at, _run.c.problems).where(
                _run.c.id == newest_finished
            )
        ).one_or_none()
    # Every outcome of every track, zeros included: a series that disappears at zero
    # breaks rates and alerts.
    tracks = sorted({track for track, _ in counts})
    by_track = {(track, outcome): counts[track, outcome] for track in tracks for outcome in Outcome}
    return _settled_metrics(last, by_track)


def _settled_metrics(
    last: Row[tuple[datetime, datetime | None, list[str] | None]] | None,
    counts: dict[tuple[str, Outcome], int],
) -> list[Metric]:
    results = GaugeMetricFamily(
        "scorecard_results",
        "Latest results of the entities in the catalog, by track and outcome.",
        labels=["track", "outcome"],
    )
    for (track, outcome), count in counts.items():
        results.add_metric([track, outcome.value], count)
    metrics: list[Metric] = [results]
    duration = GaugeMetricFamily(
        "scorecard_last_run_duration_seconds",
        "How long the newest finished run took, by any process.",
    )
    finished_at = GaugeMetricFamily(
        "scorecard_last_run_finished_timestamp_seconds",
        "When the newest finished run finished, in seconds since the epoch.",
    )
    problems = GaugeMetricFamily(
        "scorecard_catalog_problems",
        "Catalog documents skipped and sources that failed in the newest finished run.",
    )
    if last is not None and last.finished_at is not None:
        started, ended, found = last
        duration.add_metric([], (ended - started).total_seconds())
        finished_at.add_metric([], ended.timestamp())
        problems.add_metric([], len(found or ()))
    metrics += [duration, finished_at, problems]
    return metrics
