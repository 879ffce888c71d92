"""The worker's side: the Celery task that evaluates one shard of a run and stores it.

A worker process holds the workspace (tracks, checks, repositories, GitHub settings) it
was started with, and evaluates a shard only with the configuration the run was planned
with: on a different fingerprint it loads its files again (they may have changed since it
started), and if they still differ it refuses the shard with a clear reason, which the
shard's record keeps and the run reports once the shard's attempts are spent.

Each delivery of a shard is counted in its record before it is evaluated: a shard started
`shard_attempts` times and never finished (a check that kills its process, workers
stopped over and over) is given up on rather than delivered forever.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scorecard.distributed.fingerprint import configuration_fingerprint
from scorecard.distributed.shards import ShardMessage
from scorecard.entity import Entity
from scorecard.inputs import CatalogView
from scorecard.report import PairResults
from scorecard.runner import evaluate
from scorecard.sources.git import git_cache_from
from scorecard.store import ShardStatus, Store
from scorecard.tracks import Track
from scorecard.workspace import Workspace

if TYPE_CHECKING:
    from celery import Celery, Task

    from scorecard.service.config import LiveConfig

log = logging.getLogger("scorecard.worker")


class ConfigurationMismatch(Exception):
    """This worker's tracks and checks are not those the run was planned with."""


class StoredCatalog(CatalogView):
    """The catalog as the store lists it, read the first time a check looks an entity up
    (most shards never do), and kept for the rest of the run's shards in this process."""

    def __init__(self, store: Store) -> None:  # no super().__init__: nothing read yet
        self._store = store
        self._loaded: dict[str, Entity] | None = None

    @property
    def _by_ref(self) -> dict[str, Entity]:  # type: ignore[override]
        if self._loaded is None:
            self._loaded = {e.ref.lower(): e for e in self._store.shards.listed_entities()}
        return self._loaded


@dataclass
class WorkerContext:
    """What a worker process evaluates with; the store is opened once per process (a
    forked pool process must not share its parent's connections)."""

    workspace: Workspace
    live: LiveConfig
    fingerprint: str
    _store: Store | None = None
    _pid: int = 0
    _catalog: tuple[int, StoredCatalog] | None = None  # (run id, its catalog)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, workspace: Workspace) -> WorkerContext:
        from scorecard.service.config import LiveConfig

        fingerprint = configuration_fingerprint(workspace)
        return cls(workspace, LiveConfig(workspace), fingerprint)

    def store(self) -> Store:
        if self._store is None or self._pid != os.getpid():
            self._store = Store(self.workspace.database, upgrade=False)
            self._store.notify = bool(self.workspace.notifications.rules)
            self._pid = os.getpid()
            _share_github_limit(self._store)
        return self._store

    def tracks_for(self, fingerprint: str) -> dict[str, Track]:
        """The tracks of configuration `fingerprint`: this worker's, reloaded from its
        files when they differ; ConfigurationMismatch when they still do."""
        with self._lock:
            if fingerprint != self.fingerprint:
                found = configuration_fingerprint(self.workspace)
                if found != self.fingerprint:
                    outcome = self.live.reload()
                    if outcome.reloaded:
                        self.fingerprint = found
                        log.info("tracks and checks reloaded (configuration %s)", found)
            if fingerprint != self.fingerprint:
                raise ConfigurationMismatch(
                    f"worker {_hostname()} has configuration {self.fingerprint}, the run was "
                    f"planned with {fingerprint}: deploy the same tracks and checks (and "
                    "scorecard version) to every worker and the server"
                )
            return self.live.current.tracks_by_id

    def catalog(self, run_id: int, store: Store) -> StoredCatalog:
        if self._catalog is None or self._catalog[0] != run_id:
            self._catalog = (run_id, StoredCatalog(store))
        return self._catalog[1]


_context: WorkerContext | None = None


def use_context(context: WorkerContext) -> None:
    """Set the workspace this process's tasks evaluate with (`scorecard worker`)."""
    global _context
    _context = context


def register(app: Celery) -> None:
    """Add the shard task to `app` (the worker's; the coordinator sends it by name)."""
    from scorecard.distributed.app import EVALUATE_SHARD

    app.task(name=EVALUATE_SHARD, bind=True, max_retries=None)(evaluate_shard)


def evaluate_shard(task: Task, body: dict[str, Any]) -> str:
    """The task: evaluate a shard and store it, unless it was stored or given up on."""
    if _context is None:
        raise RuntimeError("this process was not started by `scorecard worker`")
    context = _context
    run_id, shard = int(body["run_id"]), int(body["shard"])
    store = context.store()
    attempts = context.workspace.executor.shard_attempts
    attempt = store.shards.start_attempt(run_id, shard, worker=task.request.hostname or "")
    if attempt is None:
        log.warning("run %d has no shard %d: passed over", run_id, shard)
        return "unknown"
    if attempt.status is not ShardStatus.PENDING:
        return str(attempt.status)  # written by an earlier delivery, or given up on
    if attempt.attempts > attempts:
        store.shards.give_up(
            run_id,
            shard,
            f"started {attempt.attempts - 1} times and never finished: each time its worker "
            f"process stopped in it (last on {task.request.hostname}); a check may kill or "
            "exhaust its process",
        )
        return "failed"
    try:
        tracks = context.tracks_for(str(body["fingerprint"]))
        pairs = _evaluate(ShardMessage.decode(body), tracks, context, store)
        written = store.shards.write(run_id, shard, pairs, datetime.now(UTC), notify=store.notify)
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"
        log.warning("run %d shard %d, attempt %d: %s", run_id, shard, attempt.attempts, reason)
        if attempt.attempts >= attempts:
            store.shards.give_up(run_id, shard, f"{reason} (after {attempt.attempts} attempts)")
            return "failed"
        store.shards.note_failure(run_id, shard, reason)
        # A new delivery, which another worker (one with the right configuration, say)
        # may take.
        raise task.retry(countdown=1.0) from None
    return "written" if written.written else "done"


def _evaluate(
    message: ShardMessage, tracks: dict[str, Track], context: WorkerContext, store: Store
) -> list[PairResults]:
    """Evaluate each entity of the shard on its tracks, as a local run would."""
    groups: dict[tuple[str, ...], list[Entity]] = {}
    for entity, track_ids in message.items:
        groups.setdefault(track_ids, []).append(entity)
    missing = {t for ids in groups for t in ids} - tracks.keys()
    if missing:
        raise ConfigurationMismatch(f"no track {', '.join(sorted(missing))} in this worker")
    workspace = context.workspace
    # What the store holds for the shard's entities only: each shard reads its own.
    refs = [entity.ref for entity, _ in message.items]
    waivers = store.waivers(datetime.now(UTC), refs)
    every = [tracks[t] for ids in groups for t in ids]
    pushed = store.pushed_results(refs) if any(t.external_checks for t in every) else {}
    catalog = context.catalog(message.run_id, store)
    git_cache = git_cache_from(workspace.repositories)
    pairs: list[PairResults] = []
    for track_ids, entities in groups.items():
        report = evaluate(
            entities,
            [tracks[t] for t in track_ids],
            concurrency=workspace.concurrency,
            timeout=workspace.check_timeout,
            git_cache=git_cache,
            github=workspace.github,
            kept={},  # so that pure tracks' pairs get the digest a later run keeps them by
            waivers=waivers,
            pushed=pushed,
            recall=store.recall_pairs,
            catalog=catalog,
        )
        pairs.extend(report.pairs)
    return pairs


def _hostname() -> str:
    import socket

    return socket.gethostname()


def _share_github_limit(store: Store) -> None:
    """Every worker process reads GitHub under one rate limit, kept in the store: a limit
    that one worker is told is spent holds back every worker."""
    from scorecard.sources.github import share_rate_limit
    from scorecard.store.ratelimits import SharedRateLimit

    share_rate_limit(SharedRateLimit(store.engine))
