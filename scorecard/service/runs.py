"""Starting runs in a server: at most one run at a time per track, in worker threads.

A run asked for while another one covers any of the same tracks is refused with
`RunConflict`, naming the run in progress: the caller (API, scheduler) decides whether to
wait for it, and no track is ever evaluated twice at once. Shutdown waits for runs in
progress for a grace period; a run still going then is left `running`, its liveness mark
stops, and the next process to open the store marks it abandoned — no half-written run
is ever marked finished, since a run's results and its `finished` status are written in
one transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from scorecard.catalog import pushdown_filters, read_sources
from scorecard.distributed.coordinator import complete_sharded_run
from scorecard.metrics import Metrics
from scorecard.runner import complete_run
from scorecard.service.config import LiveConfig, select_tracks
from scorecard.sources.git import git_cache_from
from scorecard.store import Store
from scorecard.tracks import Track

log = logging.getLogger("scorecard.runs")


class RunConflict(Exception):
    """The tracks asked for are already being evaluated by run `run_id`."""

    def __init__(self, run_id: int, tracks: Iterable[str]) -> None:
        self.run_id = run_id
        self.tracks = sorted(tracks)
        super().__init__(
            f"run {run_id} is already evaluating {', '.join(self.tracks)}; "
            "wait for it to finish, then trigger again"
        )


class UnknownTracks(KeyError):
    pass


@dataclass(frozen=True)
class StartedRun:
    run_id: int
    tracks: tuple[str, ...]
    entity: str | None


class RunCoordinator:
    def __init__(self, config: LiveConfig, store: Store, metrics: Metrics | None = None) -> None:
        self.config = config
        self.store = store
        self.metrics = Metrics() if metrics is None else metrics
        self._lock = threading.Lock()
        self._busy: dict[str, int] = {}  # track id -> the run evaluating it
        self._threads: dict[int, threading.Thread] = {}
        self._accepting = True
        # Each told when a run ends, however it ended, in order: campaign progress is
        # recorded, then the notification dispatcher looks at what that wrote.
        self.on_finished: list[Callable[[], None]] = []
        # Counts finished runs (of any outcome) and other changes of stored levels
        # (`stored_changed`): caches of stored results compare it.
        self.completed = 0

    def trigger(
        self,
        track_ids: Iterable[str] | None = None,
        *,
        entity: str | None = None,
        trigger: str = "api",
        wait: bool = False,
        actor: str | None = None,
    ) -> StartedRun:
        """Start a run of these tracks (all when None), for one entity ref or all of them;
        `actor` (a token's name) is who asked, for the audit log.

        Raises UnknownTracks, RunConflict, or RuntimeError while shutting down.
        """
        snapshot = self.config.current
        try:
            tracks = select_tracks(snapshot.tracks, track_ids)
        except KeyError as error:
            raise UnknownTracks(error.args[0]) from None
        ids = tuple(t.id for t in tracks)
        with self._lock:
            if not self._accepting:
                raise RuntimeError("the server is shutting down; no new runs are started")
            busy = {t: self._busy[t] for t in ids if t in self._busy}
            if busy:
                raise RunConflict(next(iter(busy.values())), busy)
            run_id = self.store.start_run(
                trigger, {"tracks": list(ids), "entity": entity}, actor=actor
            )
            for track_id in ids:
                self._busy[track_id] = run_id
            thread = threading.Thread(
                target=self._execute,
                args=(run_id, tracks, entity, snapshot.fingerprint),
                name=f"run-{run_id}",
                daemon=True,
            )
            self._threads[run_id] = thread
        log.info("run %d started (%s) by %s", run_id, trigger, actor or "system")
        thread.start()
        if wait:
            thread.join()
        return StartedRun(run_id, ids, entity)

    def _execute(
        self, run_id: int, tracks: list[Track], entity: str | None, fingerprint: str
    ) -> None:
        workspace = self.config.workspace
        started = time.monotonic()
        try:
            try:
                with self.store.heartbeat(run_id):
                    listing = read_sources(
                        workspace.catalog,
                        backstage_filters=pushdown_filters(tracks),
                        on_failure=self.metrics.source_failed,
                        local_roots=workspace.local_roots,
                    )
            except Exception as error:
                self.store.fail_run(run_id, f"reading the catalog failed: {error}")
                raise
            if workspace.executor.distributed:
                stored = complete_sharded_run(
                    self.store,
                    run_id,
                    listing.entities,
                    tracks,
                    executor=workspace.executor,
                    fingerprint=fingerprint,
                    problems=listing.problems,
                    only=None if entity is None else {entity},
                    catalog_complete=listing.shows_removals,
                    read_back=False,  # the run's row has the counts a server shows
                )
            else:
                stored = complete_run(
                    self.store,
                    run_id,
                    listing.entities,
                    tracks,
                    concurrency=workspace.concurrency,
                    timeout=workspace.check_timeout,
                    problems=listing.problems,
                    only=None if entity is None else {entity},
                    git_cache=git_cache_from(
                        workspace.repositories, on_failure=self.metrics.source_failed
                    ),
                    github=workspace.github,
                    catalog_complete=listing.shows_removals,
                    on_source_failure=self.metrics.source_failed,
                )
            # A sharded run's report holds no pairs (its workers stored them): its check
            # errors are not counted here, only its duration.
            self.metrics.run_finished(stored.report, time.monotonic() - started)
            log.info(
                "run %d finished: %d results, %d changes",
                run_id,
                stored.report.result_count or getattr(self.store.run(run_id), "results", 0),
                stored.stats.history_rows,
            )
        except Exception:
            self.metrics.run_failed(time.monotonic() - started)
            log.exception("run %d failed", run_id)
        finally:
            with self._lock:
                self.completed += 1
                for track in tracks:
                    if self._busy.get(track.id) == run_id:
                        del self._busy[track.id]
                self._threads.pop(run_id, None)
            for hook in self.on_finished:
                try:
                    hook()
                except Exception:
                    log.exception("what follows run %d failed", run_id)

    def stored_changed(self) -> None:
        """Stored levels changed outside a run (an exemption): caches read anew."""
        with self._lock:
            self.completed += 1

    def running(self) -> dict[str, int]:
        with self._lock:
            return dict(self._busy)

    def shutdown(self, grace: float = 30.0) -> list[int]:
        """Stop accepting runs and wait up to `grace` seconds; returns runs still going."""
        with self._lock:
            self._accepting = False
            threads = list(self._threads.items())
        for _, thread in threads:
            thread.join(grace)
        return [run_id for run_id, thread in threads if thread.is_alive()]
