"""A run from end to end: catalog → planner → executor → levels → store.

Each arrow is a plain function call on plain data. `evaluate` needs no database (CI
gating and previews use it alone); `run_workspace` adds the store around it.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scorecard.entity import Entity
from scorecard.executor import Executor, Progress
from scorecard.inputs import CatalogView
from scorecard.levels import certify
from scorecard.planner import plan
from scorecard.problems import Problem
from scorecard.report import RunReport
from scorecard.results import Outcome
from scorecard.tracks import Track

if TYPE_CHECKING:
    from scorecard.store import Store, WriteStats


def evaluate(
    entities: Sequence[Entity],
    tracks: Sequence[Track],
    *,
    concurrency: int = 16,
    timeout: float = 30.0,
    problems: Iterable[Problem] = (),
    progress: Progress | None = None,
    only: Container[str] | None = None,
) -> RunReport:
    """Evaluate every track on every entity it applies to; certify each pair.

    `only` limits the evaluation to these entity refs; every entity stays visible to
    checks through the `catalog` input.
    """
    started = datetime.now(UTC)
    subjects = entities if only is None else [e for e in entities if e.ref in only]
    plans = plan(subjects, tracks)
    executor = Executor(concurrency=concurrency, timeout=timeout)
    results = executor.run(plans, CatalogView(entities), progress)
    outcomes: dict[tuple[str, str], dict[str, Outcome]] = defaultdict(dict)
    for result in results:
        outcomes[result.entity_ref, result.track_id][result.check_id] = result.outcome
    certifications = [
        certify(item.entity.ref, track, outcomes[item.entity.ref, track.id])
        for item in plans
        for track in item.tracks
    ]
    return RunReport(
        started_at=started,
        finished_at=datetime.now(UTC),
        entities=list(entities),
        results=results,
        certifications=certifications,
        problems=list(problems),
    )


@dataclass(frozen=True)
class StoredRun:
    run_id: int
    report: RunReport
    stats: WriteStats


def run_and_store(
    store: Store,
    entities: Sequence[Entity],
    tracks: Sequence[Track],
    *,
    trigger: str,
    concurrency: int = 16,
    timeout: float = 30.0,
    problems: Iterable[Problem] = (),
    progress: Progress | None = None,
) -> StoredRun:
    """Evaluate and save as one new run."""
    run_id = store.start_run(trigger, {"tracks": [t.id for t in tracks], "entity": None})
    return complete_run(
        store,
        run_id,
        entities,
        tracks,
        concurrency=concurrency,
        timeout=timeout,
        problems=problems,
        progress=progress,
    )


def complete_run(
    store: Store,
    run_id: int,
    entities: Sequence[Entity],
    tracks: Sequence[Track],
    *,
    concurrency: int = 16,
    timeout: float = 30.0,
    problems: Iterable[Problem] = (),
    progress: Progress | None = None,
    only: Container[str] | None = None,
) -> StoredRun:
    """Evaluate and save as the started run `run_id`; a failure marks the run failed
    and keeps every earlier result."""
    try:
        report = evaluate(
            entities,
            tracks,
            concurrency=concurrency,
            timeout=timeout,
            problems=problems,
            progress=progress,
            only=only,
        )
        stats = store.save_run(run_id, report)
    except BaseException as error:
        # The original error is the one to report; a store that cannot even record the
        # failure (a database gone away) must not replace it.
        with contextlib.suppress(Exception):
            store.fail_run(run_id, f"{type(error).__name__}: {error}")
        raise
    return StoredRun(run_id, report, stats)
