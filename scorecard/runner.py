"""A run from end to end: catalog → planner → executor → levels → store.

Each arrow is a plain function call on plain data. `evaluate` needs no database (CI
gating and previews use it alone); `run_workspace` adds the store around it.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scorecard.entity import Entity
from scorecard.executor import Executor, Progress
from scorecard.grace import LastKnown, Recall
from scorecard.inputs import CatalogView
from scorecard.parallel import evaluate_forked, processes_for
from scorecard.planner import EntityPlan, plan
from scorecard.problems import Problem
from scorecard.pushed import PushedResults
from scorecard.report import PairResults, RunReport
from scorecard.results import Result
from scorecard.tracks import Track
from scorecard.waivers import Waivers

if TYPE_CHECKING:
    from scorecard.sources.git import GitCache
    from scorecard.store import Store, WriteStats
    from scorecard.store.writes import RunWriter
    from scorecard.workspace import GitHubConfig


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a run builds millions of small objects.

    Results, their evidence and rows are acyclic, so reference counting frees them; but
    every few thousand allocations the collector would walk the whole heap, the catalog
    included, which cost a large catalog's run more than the checks themselves did (gc
    took 70% of a 100,000-entity evaluation). The collector resumes afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def evaluate(
    entities: Sequence[Entity],
    tracks: Sequence[Track],
    *,
    concurrency: int = 16,
    timeout: float = 30.0,
    problems: Iterable[Problem] = (),
    progress: Progress | None = None,
    only: Container[str] | None = None,
    git_cache: GitCache | None = None,
    github: GitHubConfig | None = None,
    on_source_failure: Callable[[str], None] | None = None,
    kept: Mapping[str, Mapping[str, PairResults]] | None = None,
    meanwhile: Callable[[], None] | None = None,
    taken: Callable[[list[PairResults]], None] | None = None,
    waivers: Waivers | None = None,
    pushed: PushedResults | None = None,
    recall: Recall | None = None,
    catalog: CatalogView | None = None,
) -> RunReport:
    """Evaluate every track on every entity it applies to; certify each pair.

    `only` limits the evaluation to these entity refs; every entity stays visible to
    checks through the `catalog` input. `git_cache` reads remote repositories; without
    it their checks are `unknown`. `github` configures the API the `github` checks read
    (None: the environment's, else api.github.com). `on_source_failure` is told the
    source ("github") of each read that fails. `kept` holds stored results of pure tracks
    that still stand (`Store.kept_pairs`): those pairs are taken as they are, and each
    evaluated pair of a pure track carries the digest of its inputs, to be kept next time.
    `meanwhile()` is called once, while forked processes evaluate the run when it is
    large enough for them (then this process evaluates none of it), else after.
    `taken(pairs)` is given the evaluated pairs of a run evaluated in forked processes as
    they come in, a slice at a time, after `meanwhile`, so that the run can store them
    while the rest is evaluated; a run evaluated in this process gives it none.
    `waivers` are the exemptions in effect: an evaluated pair with any is certified with
    its waived checks counting as passing (kept pairs hold the level stored for them,
    which the exemptions' own changes keep up to date). `pushed` holds the latest results
    pushed for external checks (`Store.pushed_results`; without it they are `unknown`).
    `recall` reads the stored results of pairs of graced tracks (`Store.recall_pairs`):
    with it, a check with a grace that could not be answered keeps its last known outcome
    for the level while the grace lasts (`scorecard.grace`); without it, nothing is graced.
    `catalog` is what the `catalog` input looks entities up in (default: `entities`): a
    shard of a run evaluated by a worker sees the whole catalog through it.
    """
    with gc_paused():
        return _evaluate(
            entities,
            tracks,
            concurrency,
            timeout,
            problems,
            progress,
            only,
            git_cache,
            github,
            on_source_failure,
            kept,
            meanwhile,
            taken,
            waivers,
            pushed,
            recall,
            catalog,
        )


def _evaluate(
    entities: Sequence[Entity],
    tracks: Sequence[Track],
    concurrency: int,
    timeout: float,
    problems: Iterable[Problem],
    progress: Progress | None,
    only: Container[str] | None,
    git_cache: GitCache | None = None,
    github: GitHubConfig | None = None,
    on_source_failure: Callable[[str], None] | None = None,
    kept: Mapping[str, Mapping[str, PairResults]] | None = None,
    meanwhile: Callable[[], None] | None = None,
    taken: Callable[[list[PairResults]], None] | None = None,
    waivers: Waivers | None = None,
    pushed: PushedResults | None = None,
    recall: Recall | None = None,
    catalog: CatalogView | None = None,
) -> RunReport:
    started = datetime.now(UTC)
    catalog = CatalogView(entities) if catalog is None else catalog
    subjects = entities if only is None else [e for e in entities if e.ref in only]
    problems = list(problems)
    every_plan = plan(subjects, tracks, problems)
    plans = every_plan
    nothing: Mapping[str, PairResults] = {}  # the kept pairs of a track with none
    # Grace, for a run with graced tracks and a store to recall their pairs from.
    last_known = LastKnown(tracks, recall) if recall is not None else None
    if kept and last_known:
        kept = last_known.unsettled(kept)
    if kept:
        plans = []
        for item in every_plan:
            ref = item.entity.ref
            if len(item.tracks) == 1:  # the common case, without a tuple per plan
                if ref not in kept.get(item.tracks[0].id, nothing):
                    plans.append(item)
                continue
            left = tuple([t for t in item.tracks if ref not in kept.get(t.id, nothing)])
            if left:
                plans.append(
                    item if len(left) == len(item.tracks) else EntityPlan(item.entity, left)
                )
    executor = Executor(
        concurrency=concurrency,
        timeout=timeout,
        git_cache=git_cache,
        github=github,
        on_source_failure=on_source_failure,
        pushed=pushed,
    )

    def settle(
        part: Sequence[EntityPlan], results: list[list[PairResults]], forked: bool = True
    ) -> None:
        # Graced pairs are replaced by ones certified with their grace, whose counted
        # letters the exemptions then count with.
        counted = last_known.settle(results, datetime.now(UTC)) if last_known else None
        if waivers:
            for plan_pairs in results:
                waivers.certify_all(plan_pairs, packers, counted)
        # Each pair of a pure track gets the digest of its inputs, to be kept next time;
        # made here, where the run writes its entities and hashes their documents anyway.
        if kept is not None:
            for item, plan_pairs in zip(part, results, strict=True):
                # A document that cannot be hashed (see Entity.digest) is never kept.
                with contextlib.suppress(ValueError, TypeError, RecursionError):
                    for track, pair in zip(item.tracks, plan_pairs, strict=True):
                        if track.reusable:
                            pair.inputs_digest = track.inputs_digest(item.entity)
        if taken is not None and forked:
            taken([pair for plan_pairs in results for pair in plan_pairs])

    packers = {track.id: track.packer for track in tracks}
    processes = processes_for(plans)
    if not plans:  # every pair kept: nothing to evaluate
        per_plan = []
        if meanwhile is not None:
            meanwhile()
    elif processes > 1:
        per_plan = evaluate_forked(
            executor, plans, catalog, progress, _certified, processes, meanwhile,
            settle,
        )  # fmt: skip
    else:
        per_plan = executor.run(plans, catalog, progress, _certified)
        if meanwhile is not None:
            meanwhile()
        settle(plans, per_plan, forked=False)
    pairs = [pair for plan_pairs in per_plan for pair in plan_pairs]
    if kept:
        # In catalog and track order, kept and evaluated pairs alike.
        evaluated = {(pair.entity_ref, pair.track_id): pair for pair in pairs}
        pairs = [
            kept.get(track.id, nothing).get(item.entity.ref) or evaluated[item.entity.ref, track.id]
            for item in every_plan
            for track in item.tracks
        ]
    return RunReport(
        started_at=started,
        finished_at=datetime.now(UTC),
        entities=list(entities),
        pairs=pairs,
        problems=problems,
    )


def _certified(item: EntityPlan, results: list[Result]) -> list[PairResults]:
    """What a run does with each plan's results as soon as they are all there (in the
    process that evaluated them): certify and pack them per track (`Track.packer`), so
    the run keeps no result object."""
    ref = item.entity.ref
    tracks = item.tracks
    if len(tracks) == 1:
        return [tracks[0].packer(ref, results)]
    pairs = []
    position = 0
    # Results come track by track, each in the order of the track's checks.
    for track in tracks:
        end = position + len(track.checks)
        pairs.append(track.packer(ref, results[position:end]))
        position = end
    return pairs


@dataclass(frozen=True)
class StoredRun:
    run_id: int
    report: RunReport
    stats: WriteStats
    # The exemptions in effect that the run certified with.
    waivers: Waivers = field(default_factory=Waivers)


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
    git_cache: GitCache | None = None,
    github: GitHubConfig | None = None,
    catalog_complete: bool = False,
) -> StoredRun:
    """Evaluate and save as one new run; `catalog_complete`: see `Store.save_run`."""
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
        git_cache=git_cache,
        github=github,
        catalog_complete=catalog_complete,
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
    git_cache: GitCache | None = None,
    github: GitHubConfig | None = None,
    catalog_complete: bool = False,
    on_source_failure: Callable[[str], None] | None = None,
) -> StoredRun:
    """Evaluate and save as the started run `run_id`; a failure marks the run failed
    and keeps every earlier result. `catalog_complete`: see `Store.save_run`.

    The run's liveness mark is kept fresh meanwhile (`Store.heartbeat`)."""
    with store.heartbeat(run_id):
        try:
            # Stored results of pure tracks whose inputs are as they were stand as they are.
            subjects = entities if only is None else [e for e in entities if e.ref in only]
            # Exemptions past their expiry are acted on first, so that no kept pair
            # holds a level an expired exemption gave it.
            by_id = {track.id: track for track in tracks}
            store.expire_due(by_id)
            waivers_read_at = datetime.now(UTC)
            waivers = store.waivers(waivers_read_at)
            # Results pushed after this are certified again once the run is stored.
            pushed = store.pushed_results() if any(t.external_checks for t in tracks) else {}
            with gc_paused():  # a large catalog's pairs: many small objects, no cycles
                kept = store.kept_pairs(subjects, tracks)
            report: RunReport | None = None
            writer: RunWriter | None = None
            try:
                # One transaction: the entities go in while forked processes evaluate a
                # large run (`meanwhile`), the results once they are all there.
                with store.writing(run_id, catalog_complete=catalog_complete) as writer:
                    unwritten: list[Exception] = []

                    def write_entities() -> None:
                        # A failure here must not stop the evaluation: the run is then
                        # saved on its own once evaluated (below).
                        try:
                            writer.write_entities(list(entities))
                        except Exception as error:
                            unwritten.append(error)

                    def write_pairs(pairs: list[PairResults]) -> None:
                        # As each slice of a large run comes in, stamped with when it did;
                        # once a write failed, the transaction is lost: nothing more.
                        if unwritten:
                            return
                        try:
                            writer.write_pairs(pairs, datetime.now(UTC))
                        except Exception as error:
                            unwritten.append(error)

                    report = evaluate(
                        entities,
                        tracks,
                        concurrency=concurrency,
                        timeout=timeout,
                        problems=problems,
                        progress=progress,
                        only=only,
                        git_cache=git_cache,
                        github=github,
                        on_source_failure=on_source_failure,
                        kept=kept,
                        meanwhile=write_entities,
                        taken=write_pairs,
                        waivers=waivers,
                        pushed=pushed,
                        recall=store.recall_pairs,
                    )
                    if unwritten:
                        raise unwritten[0]  # rolls the transaction back
                    with gc_paused():
                        stats = writer.finish(report, report.finished_at or datetime.now(UTC))
            except Exception:
                if report is None:
                    raise  # the evaluation failed, not the store
                if writer is not None and not writer.holds_every_result:
                    raise  # the pairs written let go of their results: nothing to save again
                # Rolled back: saved again on its own, which leaves out an entity the
                # database cannot store rather than failing the run for it.
                with gc_paused():
                    stats = _save(store, run_id, report, catalog_complete)
        except BaseException as error:
            # The original error is the one to report; a store that cannot even record the
            # failure (a database gone away) must not replace it.
            with contextlib.suppress(Exception):
                store.fail_run(run_id, f"{type(error).__name__}: {error}")
            raise
        # An exemption decided while the run evaluated may have been certified over by
        # it (on PostgreSQL, which lets both write): its entities are certified again.
        with contextlib.suppress(Exception):
            store.recertify_decided_since(waivers_read_at, by_id)
        if any(track.external_checks for track in tracks):
            with contextlib.suppress(Exception):
                store.recompute_pushed_since(waivers_read_at, by_id)
        return StoredRun(run_id, report, stats, waivers)


def _save(store: Store, run_id: int, report: RunReport, catalog_complete: bool) -> WriteStats:
    """Save the run; if that fails because some entity's document cannot be stored (a
    number too long to print, a key JSON cannot hold, a loop), save it again without
    those entities, each named in a problem: one odd document never fails a run."""
    try:
        return store.save_run(run_id, report, catalog_complete=catalog_complete)
    except Exception:  # the database may wrap the error: look for such entities either way
        unstorable = {e.ref: (e, reason) for e in report.entities if (reason := _unstorable(e))}
        if not unstorable:
            raise
    for ref, (entity, reason) in unstorable.items():
        report.problems.append(Problem(entity.source or ref, f"{ref} is not stored: {reason}"))
    report.entities = [e for e in report.entities if e.ref not in unstorable]
    report.pairs = [p for p in report.pairs if p.entity_ref not in unstorable]
    # An entity left out is not gone from the catalog.
    return store.save_run(run_id, report, catalog_complete=False)


def _unstorable(entity: Entity) -> str | None:
    """Why the store cannot write this entity's document, or None."""
    from scorecard.store.database import dump_json

    try:
        repr(entity.raw)  # the store's digest
        # PostgreSQL refuses NaN and Infinity in JSON, which Python writes.
        json.loads(dump_json(entity.raw), parse_constant=_refuse_constant)
    except (ValueError, TypeError, RecursionError) as error:
        return f"{type(error).__name__}: {str(error)[:200]}"
    return None


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON can hold")
