"""The store's side of a run evaluated in shards by Celery workers (`scorecard.distributed`).

A sharded run is written in three kinds of transaction instead of one:

1. **planning** (the coordinator): the listed entities that are new or changed, the
   tracks' layouts, and one `run_shard` row per shard, all `pending`;
2. **one per shard** (a worker): the shard's row is claimed `done` first, then its
   results, history rows, certifications and outbox events are written as a run's are
   (`scorecard.store.writes`). A shard delivered twice — a worker killed after committing
   and before acknowledging — finds its row `done` and writes nothing: the claim holds a
   row lock, so a second delivery running at the same time waits for the first to commit
   and then finds it done;
3. **finishing** (the coordinator, once every shard is in): entities no longer listed are
   marked gone, the roll-ups of the run's tracks are counted anew, and the run's counts
   are the sums of its shards'.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from scorecard.entity import Entity, InvalidEntity
from scorecard.report import OUTCOME_CODES, PairResults
from scorecard.results import Outcome
from scorecard.store.queries import recount_rollups
from scorecard.store.tables import (
    CertificationRecord,
    EntityRecord,
    RunRecord,
    RunShardRecord,
    RunStatus,
    ShardStatus,
)
from scorecard.store.writes import (
    WriteStats,
    _EntityWrites,
    _insert_new_pairs,
    _layout_ids,
    _new_and_changed,
    _stored_states,
    _touched_owners,
    _touched_tracks,
    _write_changed_pairs,
    _write_entities,
    storable,
)
from scorecard.tracks import Track

_run = RunRecord.__table__
_entity = EntityRecord.__table__
_certification = CertificationRecord.__table__
_shard = RunShardRecord.__table__
_ERROR = OUTCOME_CODES[Outcome.ERROR]


def plan_shards(
    session: Session,
    run_id: int,
    entities: list[Entity],
    tracks: Sequence[Track],
    shard_sizes: Sequence[int],
) -> _EntityWrites:
    """The planning transaction: the entities (none marked gone yet), the tracks' layouts
    (so that shards written at once never race to add the same one), and the shards.
    Returns what writing the entities did, for the finishing transaction's roll-ups."""
    touched = session.execute(
        update(_run).where(_run.c.id == run_id).values(heartbeat_at=datetime.now(UTC))
    )
    if touched.rowcount != 1:
        raise LookupError(f"there is no run {run_id}")
    written = _write_entities(session, run_id, entities, catalog_complete=False)
    _layout_ids(session, [_LayoutOf(track) for track in tracks])
    if shard_sizes:
        session.execute(
            insert(_shard),
            [
                {
                    "run_id": run_id, "shard": number, "status": ShardStatus.PENDING,
                    "entities": size, "attempts": 0, "results": 0, "errors": 0, "changed": 0,
                    "results_written": 0, "history_rows": 0, "certifications_changed": 0,
                }
                for number, size in enumerate(shard_sizes)
            ],
        )  # fmt: skip
    return written


@dataclass(frozen=True)
class _LayoutOf:
    """A track's layout as `_layout_ids` takes a pair's."""

    track: Track

    @property
    def track_id(self) -> str:
        return self.track.id

    @property
    def layout(self) -> tuple[tuple[str, str, bool], ...]:
        return self.track.layout


@dataclass(frozen=True)
class Attempt:
    """A worker's start of a shard: whether to evaluate it, and which delivery this is."""

    status: ShardStatus  # as found: only a `pending` shard is evaluated
    attempts: int  # deliveries started, this one included


def start_attempt(session: Session, run_id: int, shard: int, worker: str) -> Attempt | None:
    """Count a delivery of a pending shard (None: no such shard). A shard that was
    started and never finished counts one attempt per worker that stopped in it."""
    s = _shard.c
    started = session.execute(
        update(_shard)
        .where(s.run_id == run_id, s.shard == shard, s.status == ShardStatus.PENDING)
        .values(attempts=s.attempts + 1, worker=worker, started_at=datetime.now(UTC))
        .returning(s.attempts)
    ).first()
    if started is not None:
        return Attempt(ShardStatus.PENDING, started[0])
    found = session.execute(
        select(s.status, s.attempts).where(s.run_id == run_id, s.shard == shard)
    ).first()
    return None if found is None else Attempt(ShardStatus(found[0]), found[1])


def give_up(session: Session, run_id: int, shard: int, reason: str) -> bool:
    """Mark a pending shard failed; False when it was no longer pending."""
    s = _shard.c
    failed = session.execute(
        update(_shard)
        .where(s.run_id == run_id, s.shard == shard, s.status == ShardStatus.PENDING)
        .values(status=ShardStatus.FAILED, failure=storable(reason), finished_at=datetime.now(UTC))
    )
    return failed.rowcount == 1


def note_failure(session: Session, run_id: int, shard: int, reason: str) -> None:
    """Record why an attempt failed, on a shard that will be tried again."""
    s = _shard.c
    session.execute(
        update(_shard)
        .where(s.run_id == run_id, s.shard == shard, s.status == ShardStatus.PENDING)
        .values(failure=storable(reason))
    )


@dataclass(frozen=True)
class ShardWrite:
    """What writing a shard did; `written` is False when it had been written before."""

    written: bool
    results: int = 0
    history_rows: int = 0


def write_shard(
    session: Session,
    run_id: int,
    shard: int,
    pairs: list[PairResults],
    at: datetime,
    *,
    notify: bool = False,
) -> ShardWrite:
    """A shard's transaction: claim the shard, then write its evaluated pairs as a run
    writes its own (new pairs inserted; changed ones compared result by result, with
    history rows and outbox events). Nothing when the shard was already written."""
    s = _shard.c
    claimed = session.execute(
        update(_shard)
        .where(s.run_id == run_id, s.shard == shard, s.status == ShardStatus.PENDING)
        .values(status=ShardStatus.DONE, finished_at=at, failure=None)
    )
    if claimed.rowcount != 1:
        return ShardWrite(written=False)
    tracks = sorted({pair.track_id for pair in pairs})
    states = _stored_states(session, tracks, {pair.entity_ref for pair in pairs})
    new, changed = _new_and_changed(pairs, states)
    layouts = _layout_ids(session, [*new, *changed])
    _insert_new_pairs(session, run_id, new, at, layouts)
    changes = _write_changed_pairs(session, run_id, changed, at, layouts, notify=notify)
    appeared = sum(len(pair.layout) for pair in new)
    results = sum(len(pair.layout) for pair in pairs)
    touched = sorted({pair.entity_ref for pair in (*new, *changed)})
    session.execute(
        update(_shard)
        .where(s.run_id == run_id, s.shard == shard)
        .values(
            results=results,
            errors="".join(pair.codes for pair in pairs).count(_ERROR),
            changed=appeared + changes.results_changed,
            results_written=appeared + changes.results_written,
            history_rows=changes.history_rows,
            certifications_changed=len(new) + changes.certifications_written,
            touched=touched or None,
        )
    )
    return ShardWrite(written=True, results=results, history_rows=changes.history_rows)


@dataclass(frozen=True)
class ShardProgress:
    """Where a run's shards stand."""

    total: int = 0
    done: int = 0
    failed: int = 0
    # (shard, why) of the failed shards, and of pending ones whose last attempt failed.
    failures: list[tuple[int, str]] = field(default_factory=list)
    # The pending shards, by number.
    pending: list[int] = field(default_factory=list)

    @property
    def settled(self) -> bool:
        return self.done + self.failed == self.total

    def as_dict(self) -> dict[str, int]:
        return {"total": self.total, "done": self.done, "failed": self.failed}


def progress(session: Session, run_id: int) -> ShardProgress:
    s = _shard.c
    rows = session.execute(
        select(s.shard, s.status, s.failure).where(s.run_id == run_id).order_by(s.shard)
    ).all()
    done = sum(1 for row in rows if row.status == ShardStatus.DONE)
    failed = [(row.shard, row.failure or "") for row in rows if row.status == ShardStatus.FAILED]
    return ShardProgress(
        total=len(rows),
        done=done,
        failed=len(failed),
        failures=failed,
        pending=[row.shard for row in rows if row.status == ShardStatus.PENDING],
    )


def progress_of_runs(session: Session, run_ids: Iterable[int]) -> dict[int, ShardProgress]:
    """The progress of each of these runs that was sharded (one grouped query)."""
    s = _shard.c
    wanted = sorted(set(run_ids))
    if not wanted:
        return {}
    found: dict[int, dict[str, int]] = {}
    query = (
        select(s.run_id, s.status, func.count())
        .where(s.run_id.in_(wanted))
        .group_by(s.run_id, s.status)
    )
    for run_id, status, count in session.execute(query):
        found.setdefault(run_id, {})[status] = count
    return {
        run_id: ShardProgress(
            total=sum(counts.values()),
            done=counts.get(ShardStatus.DONE, 0),
            failed=counts.get(ShardStatus.FAILED, 0),
        )
        for run_id, counts in found.items()
    }


@dataclass(frozen=True)
class Kept:
    """The stored pairs a sharded run kept as they were (`Store.kept_pairs`): counted in
    its results, evaluated by no shard."""

    results: int = 0
    errors: int = 0


def finish(
    session: Session,
    run_id: int,
    entities: list[Entity],
    tracks: Sequence[str],
    *,
    problems: Sequence[str],
    kept: Kept,
    catalog_complete: bool,
    planned: _EntityWrites | None = None,
    succeeded: bool = True,
) -> None:
    """The finishing transaction: gone-marking (of a complete listing), the roll-ups the
    run changed counted anew, and the run's counts; a run that `succeeded` is marked
    finished. One that did not is left for `Store.fail_run`: what its finished shards
    wrote stays (it was observed) and the roll-ups count it, but nothing is marked gone.
    `planned` is what the planning transaction's entity writes did."""
    s = _shard.c
    writes = [planned] if planned is not None else []
    if catalog_complete and succeeded:
        writes.append(_write_entities(session, run_id, entities, catalog_complete=True))
    _recount_touched(session, run_id, tracks, writes)
    sums = session.execute(
        select(
            func.coalesce(func.sum(s.results), 0),
            func.coalesce(func.sum(s.errors), 0),
            func.coalesce(func.sum(s.changed), 0),
        ).where(s.run_id == run_id, s.status == ShardStatus.DONE)
    ).one()
    values: dict[str, object] = {
        "entities": len(entities),
        "results": sums[0] + kept.results,
        "errors": sums[1] + kept.errors + len(problems),
        "changed": sums[2],
        "problems": [storable(problem) for problem in problems],
    }
    if succeeded:
        values.update(status=RunStatus.FINISHED, finished_at=datetime.now(UTC))
    session.execute(update(_run).where(_run.c.id == run_id).values(**values))


def _recount_touched(
    session: Session, run_id: int, tracks: Sequence[str], writes: Sequence[_EntityWrites]
) -> None:
    """Count anew the roll-ups of the owners whose entities the run changed: those whose
    pairs a shard wrote (new or changed), and those written, back or marked gone, as a
    local run does (`RunWriter.finish`); every owner when many changed, none when
    nothing did (a re-run of an unchanged catalog recounts nothing)."""
    s = _shard.c
    refs: set[str] = set()
    for (touched,) in session.execute(
        select(s.touched).where(s.run_id == run_id, s.status == ShardStatus.DONE)
    ):
        refs.update(touched or ())
    moved: set[str] = set()
    written: set[str] = set()
    before: dict[str, str | None] = {}
    for entity_writes in reversed(writes):  # the planning's owners are the ones before
        moved |= entity_writes.moved
        written |= entity_writes.touched
        before.update(entity_writes.owners_before)
    if not refs and not written:
        return
    combined = _EntityWrites(written=0, touched=written, moved=moved, owners_before=before)
    pairs = [(ref, "") for ref in refs]
    touched_tracks = set(tracks) | _touched_tracks(session, run_id, [], combined)
    owners = _touched_owners(session, pairs, combined, before)
    recount_rollups(session, touched_tracks, owners)


def stats(session: Session, run_id: int) -> dict[str, int]:
    """What a sharded run's shards wrote, summed."""
    s = _shard.c
    row = session.execute(
        select(
            func.coalesce(func.sum(s.results_written), 0),
            func.coalesce(func.sum(s.history_rows), 0),
            func.coalesce(func.sum(s.certifications_changed), 0),
        ).where(s.run_id == run_id, s.status == ShardStatus.DONE)
    ).one()
    return {"results_written": row[0], "history_rows": row[1], "certifications_changed": row[2]}


def abandon_pending(session: Session, run_id: int, reason: str) -> None:
    """A run that failed: its shards still pending fail with it, so that a delivery that
    comes later evaluates nothing."""
    s = _shard.c
    session.execute(
        update(_shard)
        .where(s.run_id == run_id, s.status == ShardStatus.PENDING)
        .values(status=ShardStatus.FAILED, failure=storable(reason), finished_at=datetime.now(UTC))
    )


def stored_pairs(
    session: Session, wanted: Sequence[tuple[str, Track]], load: Callable[[PairResults], str]
) -> list[PairResults]:
    """The stored pairs of these (entity ref, track), in that order; the packed text of
    each read by `load` when asked for."""
    c = _certification.c
    tracks = {track.id: track for _, track in wanted}
    rows = {}
    for track_id in tracks:
        query = select(
            c.entity_ref, c.level, c.next_level, c.results_digest, c.inputs_digest, c.outcomes
        ).where(c.track_id == track_id)
        rows[track_id] = {row.entity_ref: row for row in session.execute(query)}
    pairs = []
    for ref, track in wanted:
        row = rows[track.id].get(ref)
        if row is None or row.outcomes is None:
            continue
        stored = PairResults.stored(
            ref, track.id, row.level, row.next_level, track.layout, row.results_digest,
            row.inputs_digest, row.outcomes, load,
        )  # fmt: skip
        pairs.append(stored)
    return pairs


class Shards:
    """The store's sharded-run operations, each in a transaction of its own
    (`Store.shards`)."""

    def __init__(self, sessions: sessionmaker[Session], load: Callable[[PairResults], str]):
        self._sessions = sessions
        self._load = load

    def plan(
        self, run_id: int, entities: list[Entity], tracks: Sequence[Track], sizes: Sequence[int]
    ) -> _EntityWrites:
        with self._sessions.begin() as session:
            return plan_shards(session, run_id, entities, tracks, sizes)

    def start_attempt(self, run_id: int, shard: int, worker: str) -> Attempt | None:
        with self._sessions.begin() as session:
            return start_attempt(session, run_id, shard, worker)

    def give_up(self, run_id: int, shard: int, reason: str) -> bool:
        with self._sessions.begin() as session:
            return give_up(session, run_id, shard, reason)

    def note_failure(self, run_id: int, shard: int, reason: str) -> None:
        with self._sessions.begin() as session:
            note_failure(session, run_id, shard, reason)

    def write(
        self, run_id: int, shard: int, pairs: list[PairResults], at: datetime, *, notify: bool
    ) -> ShardWrite:
        with self._sessions.begin() as session:
            return write_shard(session, run_id, shard, pairs, at, notify=notify)

    def progress(self, run_id: int) -> ShardProgress:
        with self._sessions() as session:
            return progress(session, run_id)

    def progress_of_runs(self, run_ids: Iterable[int]) -> dict[int, ShardProgress]:
        with self._sessions() as session:
            return progress_of_runs(session, run_ids)

    def finish(
        self,
        run_id: int,
        entities: list[Entity],
        tracks: Sequence[str],
        *,
        problems: Sequence[str],
        kept: Kept,
        catalog_complete: bool,
        planned: _EntityWrites | None = None,
        succeeded: bool = True,
    ) -> None:
        with self._sessions.begin() as session:
            finish(
                session, run_id, entities, tracks, problems=problems, kept=kept,
                catalog_complete=catalog_complete, planned=planned, succeeded=succeeded,
            )  # fmt: skip

    def abandon_pending(self, run_id: int, reason: str) -> None:
        with self._sessions.begin() as session:
            abandon_pending(session, run_id, reason)

    def stats(self, run_id: int) -> WriteStats:
        with self._sessions() as session:
            found = stats(session, run_id)
        return WriteStats(
            results_written=found["results_written"],
            history_rows=found["history_rows"],
            certifications_changed=found["certifications_changed"],
            entities_written=0,
            results_removed=0,
        )

    def stored_pairs(self, wanted: Sequence[tuple[str, Track]]) -> list[PairResults]:
        with self._sessions() as session:
            return stored_pairs(session, wanted, self._load)

    def listed_entities(self) -> list[Entity]:
        """Every stored entity not marked gone: the catalog a shard's checks look other
        entities up in (the `catalog` input)."""
        e = _entity.c
        entities = []
        with self._sessions() as session:
            for raw, source in session.execute(select(e.raw, e.source).where(e.gone_run.is_(None))):
                with contextlib.suppress(InvalidEntity):
                    entities.append(Entity(raw, source))
        return entities
