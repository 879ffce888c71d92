"""Evaluating a large run on every core: forked processes, each evaluating a slice of
the plans, their packed results sent back in plan order.

Python runs one thread of checks at a time. A check that reads only the entity, its
params and the catalog is a function of data the process already holds, so a forked
child sees all of it without a copy or a byte pickled; only the packed results (one
string per entity and track) travel back. Checks that read repositories, HTTP or GitHub
share caches and clients across the run, and stay in one process.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from scorecard.executor import Executor, Finish, Progress
from scorecard.inputs import CatalogView
from scorecard.planner import EntityPlan

T = TypeVar("T")

# Inputs that are data the process already holds; any other makes a plan stay in process.
_HELD_INPUTS = frozenset({"entity", "params", "catalog"})
# Below this many check evaluations one process finishes before forking pays off.
MIN_EVALUATIONS = 50_000
# Slices per process: enough that a slow slice does not leave the other cores idle.
_SLICES_PER_PROCESS = 4


def processes_for(plans: Sequence[EntityPlan], limit: int | None = None) -> int:
    """How many processes to evaluate `plans` in: one, unless the run is large, every
    check of it runs inline on held inputs, and there are cores to spare. `limit` caps it
    (None: the cores this process may use)."""
    if not _can_fork():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    wanted = min(cores or 1, limit) if limit is not None else cores or 1
    if wanted < 2:
        return 1
    tracks = {id(track): track for plan in plans for track in plan.tracks}
    per_entity = [len(track.checks) for track in tracks.values()]
    if not per_entity or len(plans) * max(per_entity) < MIN_EVALUATIONS:
        return 1
    for track in tracks.values():
        for configured in track.checks:
            check = configured.check
            if not check.runs_inline or not _HELD_INPUTS.issuperset(check.inputs):
                return 1
    return wanted


def _can_fork() -> bool:
    # Fork is POSIX; macOS system libraries are not safe to use in a forked child.
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


@dataclass(frozen=True)
class _Job:
    executor: Executor
    plans: Sequence[EntityPlan]
    catalog: CatalogView
    finish: Finish[Any]


# The job of the run being evaluated, set just before the processes are forked: each
# child finds it here, in the memory it was forked with.
_job: _Job | None = None


def evaluate_forked(
    executor: Executor,
    plans: Sequence[EntityPlan],
    catalog: CatalogView,
    progress: Progress | None,
    finish: Finish[T],
    processes: int,
) -> list[T]:
    """`executor.run` over `plans` in `processes` forked processes, in plan order."""
    global _job
    size = max(1, -(-len(plans) // (processes * _SLICES_PER_PROCESS)))
    slices = [(start, min(start + size, len(plans))) for start in range(0, len(plans), size)]
    _job = _Job(executor, plans, catalog, finish)
    try:
        context = multiprocessing.get_context("fork")
        found: list[T] = []
        with context.Pool(processes) as pool:
            for part in pool.imap(_evaluate_slice, slices):
                found.extend(part)
                if progress:
                    progress(len(part))
        return found
    finally:
        _job = None


def _evaluate_slice(bounds: tuple[int, int]) -> list[Any]:
    job = _job
    assert job is not None, "a slice is evaluated only in a process forked with its job"
    start, end = bounds
    return job.executor.run(list(job.plans[start:end]), job.catalog, None, job.finish)
