"""The coordinator of a sharded run: plan, record the shards, enqueue them, wait, finish.

It runs where a local run would (`scorecard serve`'s run thread, `scorecard run`), holds
the run's liveness mark while it waits, and never trusts the broker to say when a run is
over: the store's `run_shard` rows do. A run ends when every shard is `done` (finished)
or `failed` (the run fails and names them), or when no shard has finished for
`stall_timeout` seconds (the run fails and names the shards still pending) — it never
waits forever and is never reported finished with a shard missing.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Container, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scorecard.distributed.shards import message_for, split
from scorecard.entity import Entity
from scorecard.planner import EntityPlan, plan
from scorecard.problems import Problem
from scorecard.report import OUTCOME_CODES, PairResults, RunReport
from scorecard.results import Outcome
from scorecard.runner import StoredRun, gc_paused
from scorecard.store import Store
from scorecard.store.shards import Kept, ShardProgress
from scorecard.store.writes import WriteStats
from scorecard.tracks import Track
from scorecard.workspace import ExecutorConfig

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger("scorecard.distributed")

# Seconds between looks at the shards: short at first, so that a small run ends soon.
_FIRST_POLL, _LONGEST_POLL = 0.05, 0.25


class ShardsFailed(RuntimeError):
    """A sharded run ended without every shard stored; `str()` says which and why."""


def complete_sharded_run(
    store: Store,
    run_id: int,
    entities: Sequence[Entity],
    tracks: Sequence[Track],
    *,
    executor: ExecutorConfig,
    fingerprint: str,
    problems: Iterable[Problem] = (),
    only: Container[str] | None = None,
    catalog_complete: bool = False,
    progress: Callable[[ShardProgress], None] | None = None,
    read_back: bool = True,
) -> StoredRun:
    """Evaluate the started run `run_id` on the workers of `executor`, as `complete_run`
    would in this process; raises ShardsFailed (the run marked failed) when it cannot.

    `progress` is told where the shards stand each time more are in. With `read_back`
    the returned report holds the run's pairs as stored (for a command's output); without,
    none (a server needs only the counts, which the run's row has)."""
    from scorecard.distributed.app import celery_app

    started_at = datetime.now(UTC)
    by_id = {track.id: track for track in tracks}
    problems = list(problems)
    with store.heartbeat(run_id):
        try:
            app = celery_app(executor)  # without Celery installed, before anything is planned
            store.expire_due(by_id)
            decided_since = datetime.now(UTC)
            subjects = list(entities) if only is None else [e for e in entities if e.ref in only]
            with gc_paused():
                every_plan = plan(subjects, tracks, problems)
                kept_pairs = store.kept_pairs(subjects, tracks)
                plans, kept = _without_kept(every_plan, kept_pairs)
            shards = split(plans, executor.shard_size)
            planned = store.shards.plan(run_id, list(entities), tracks, [len(s) for s in shards])
            if shards:  # none when every pair is kept as stored
                _enqueue(app, executor, run_id, fingerprint, shards)
            log.info("run %d: %d shards enqueued on %s", run_id, len(shards), executor.queue)
            settled = _wait(store, run_id, executor.stall_timeout, progress)
            shown = [str(problem) for problem in problems]
            if settled.failed:
                store.shards.finish(
                    run_id, list(entities), list(by_id), problems=shown, kept=kept,
                    catalog_complete=False, planned=planned, succeeded=False,
                )  # fmt: skip
                raise ShardsFailed(_failed_shards(settled))
            store.shards.finish(
                run_id, list(entities), list(by_id), problems=shown, kept=kept,
                catalog_complete=catalog_complete, planned=planned,
            )  # fmt: skip
        except BaseException as error:
            reason = str(error) if isinstance(error, ShardsFailed) else _described(error)
            with contextlib.suppress(Exception):
                store.shards.abandon_pending(run_id, f"run {run_id} failed")
            with contextlib.suppress(Exception):
                store.fail_run(run_id, reason)
            raise
    # As a local run does: what was decided or pushed while the shards were evaluated is
    # certified again over what they wrote.
    with contextlib.suppress(Exception):
        store.recertify_decided_since(decided_since, by_id)
    if any(track.external_checks for track in tracks):
        with contextlib.suppress(Exception):
            store.recompute_pushed_since(decided_since, by_id)
    pairs = []
    if read_back:
        # In catalog and track order, kept and evaluated pairs alike.
        wanted = [(item.entity.ref, track) for item in every_plan for track in item.tracks]
        pairs = store.shards.stored_pairs(wanted)
    report = RunReport(
        started_at=started_at,
        finished_at=datetime.now(UTC),
        entities=list(entities),
        pairs=pairs,
        problems=problems,
    )
    return StoredRun(run_id, report, store.shards.stats(run_id))


def _enqueue(
    app: Celery,
    executor: ExecutorConfig,
    run_id: int,
    fingerprint: str,
    shards: list[list[EntityPlan]],
) -> None:
    """Put each shard on the queue, through one producer; ShardsFailed when the broker
    cannot take them (after the publishing retries of `celery_app`)."""
    from scorecard.distributed.app import EVALUATE_SHARD

    try:
        with app.producer_or_acquire() as producer:
            for number, part in enumerate(shards):
                body = message_for(run_id, number, fingerprint, part).encode()
                app.send_task(
                    EVALUATE_SHARD, kwargs={"body": body}, queue=executor.queue, producer=producer
                )
    except Exception as error:
        raise ShardsFailed(
            f"the broker could not take the run's shards ({type(error).__name__}: "
            f"{error}); is it running at {_redacted(executor.broker)}?"
        ) from None


def _without_kept(
    plans: list[EntityPlan], kept: dict[str, dict[str, PairResults]]
) -> tuple[list[EntityPlan], Kept]:
    """The plans less the pairs a run keeps as stored, and what those count."""
    if not kept:
        return plans, Kept()
    error = OUTCOME_CODES[Outcome.ERROR]
    results = errors = 0
    left = []
    for item in plans:
        tracks = []
        for track in item.tracks:
            pair = kept.get(track.id, {}).get(item.entity.ref)
            if pair is None:
                tracks.append(track)
            else:
                results += len(pair.layout)
                errors += pair.codes.count(error)
        if tracks:
            left.append(
                item if len(tracks) == len(item.tracks) else EntityPlan(item.entity, tuple(tracks))
            )
    return left, Kept(results=results, errors=errors)


def _wait(
    store: Store,
    run_id: int,
    stall_timeout: float,
    progress: Callable[[ShardProgress], None] | None,
) -> ShardProgress:
    """Wait until every shard is done or failed; ShardsFailed when none has finished for
    `stall_timeout` seconds."""
    pause = _FIRST_POLL
    seen = -1
    last_change = time.monotonic()
    while True:
        now = store.shards.progress(run_id)
        finished = now.done + now.failed
        if finished != seen:
            seen, last_change = finished, time.monotonic()
            if progress is not None:
                progress(now)
        if now.settled:
            return now
        if time.monotonic() - last_change > stall_timeout:
            raise ShardsFailed(
                f"no shard finished in {stall_timeout:g} s: {len(now.pending)} of "
                f"{now.total} shards never finished ({_numbers(now.pending)}); are workers "
                "running on the queue and reaching the broker? (`scorecard workers`)"
            )
        time.sleep(pause)
        pause = min(_LONGEST_POLL, pause * 2)


def _failed_shards(progress: ShardProgress) -> str:
    reasons = "; ".join(f"shard {shard}: {why}" for shard, why in progress.failures[:10])
    more = f"; and {len(progress.failures) - 10} more" if len(progress.failures) > 10 else ""
    return (
        f"{progress.failed} of {progress.total} shards failed after their attempts "
        f"({reasons}{more}); the other shards' results are stored"
    )


def _described(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _numbers(shards: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in shards[:20])
    return shown + (", …" if len(shards) > 20 else "")


def _redacted(url: str | None) -> str:
    from scorecard.sources.git import redact

    return redact(url or "")


__all__ = ["ShardsFailed", "WriteStats", "complete_sharded_run"]
