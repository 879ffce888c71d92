"""What one run changed, read through the history's run indexes (`ix_result_change_run`,
`ix_certification_change_run`): counted in the database, listed a page at a time, so a
run that changed 100,000 results costs its page no more than one that changed ten.

What the history holds of a run: every result whose outcome, message or evidence
changed in it, and every level gained or lost in it. A result or level seen for the
first time has no history row until it first changes; then its first observation is
written too, under the run that made it (`scorecard.store.writes`). So a run's rows are
its changes plus the first observations of what it saw first and later runs changed:
those have no previous outcome or level, and are told apart as `first`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from scorecard.results import Outcome
from scorecard.store.queries import _holds
from scorecard.store.tables import (
    CertificationChange,
    CertificationRecord,
    EntityRecord,
    ResultChange,
    ResultRecord,
    RunRecord,
    RunStatus,
)

# Results that gave no answer: the check crashed (error) or could not read what it reads.
UNANSWERED = (Outcome.ERROR, Outcome.UNKNOWN)

_result_change = ResultChange.__table__
_level_change = CertificationChange.__table__
_certification = CertificationRecord.__table__
_entity = EntityRecord.__table__
_result = ResultRecord.__table__
_run = RunRecord.__table__


@dataclass(frozen=True, slots=True)
class ResultTally:
    """A run's result history rows per outcome (every outcome, 0 when none); `first` of
    them are first observations, which had no outcome before."""

    counts: dict[Outcome, int]
    first: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def unanswered(self) -> int:
        return sum(self.counts[outcome] for outcome in UNANSWERED)


@dataclass(frozen=True, slots=True)
class LevelMove:
    """How many pairs a run moved on a track from one level to another. `first`: the
    pair's first recorded level (it had none recorded before), not a move from no level."""

    track_id: str
    previous_level: str | None
    level: str | None
    first: bool
    count: int


@dataclass(frozen=True, slots=True)
class LevelChangeRow:
    """One level a run changed (or first recorded, `first`) for an entity on a track."""

    entity_ref: str
    track_id: str
    previous_level: str | None
    level: str | None
    first: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class RunCounts:
    """What a run changed, counted: its result rows per outcome, and its level changes per
    track and move. Counting reads every row of the run (through its index); the rows
    themselves are read a page at a time (`unanswered_changes`, `level_changes`)."""

    results: ResultTally
    moves: list[LevelMove]

    @property
    def levels(self) -> int:
        return sum(move.count for move in self.moves)


def run_counts(session: Session, run_id: int) -> RunCounts:
    return RunCounts(result_tally(session, run_id), level_moves(session, run_id))


def unanswered_changes(
    session: Session, run_id: int, *, limit: int, offset: int = 0
) -> list[ResultChange]:
    """A page of a run's result rows that gave no answer (error, unknown), in the order
    they were written."""
    _check_page(limit, offset)
    rc = _result_change.c
    rows = session.scalars(
        select(ResultChange)
        .where(rc.run_id == run_id, rc.outcome.in_(UNANSWERED))
        .order_by(rc.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows)


def _check_page(limit: int, offset: int) -> None:
    # SQLite reads a negative LIMIT as "no limit", PostgreSQL refuses it: refuse it here.
    if limit < 0 or offset < 0:
        raise ValueError(f"limit ({limit}) and offset ({offset}) must not be negative")


def result_tally(session: Session, run_id: int) -> ResultTally:
    rc = _result_change.c
    first = rc.previous_outcome.is_(None)
    rows = session.execute(
        select(rc.outcome, first, func.count())
        .where(rc.run_id == run_id)
        .group_by(rc.outcome, first)
    )
    counts = dict.fromkeys(Outcome, 0)
    first_seen = 0
    for outcome, was_first, count in rows:
        counts[Outcome(outcome)] += count
        if was_first:
            first_seen += count
    return ResultTally(counts, first_seen)


def _first_level() -> ColumnElement[int]:
    """1 for a first observation: no previous level, and no earlier row of its pair (a
    move from no level has the pair's first observation before it).

    The earlier rows are looked up by entity (`ix_certification_change_entity_at`); the
    track is compared as `track_id || ''`, which no index serves, since SQLite would
    otherwise take the index by track and read the track's whole history for each row."""
    lc = _level_change.c
    earlier = _level_change.alias("earlier")
    before = exists().where(
        earlier.c.entity_ref == lc.entity_ref,
        earlier.c.track_id.concat("") == lc.track_id,
        earlier.c.id < lc.id,
    )
    return case((and_(lc.previous_level.is_(None), ~before), 1), else_=0)


def level_moves(session: Session, run_id: int) -> list[LevelMove]:
    """A run's level changes per track, previous level and level: most first."""
    lc = _level_change.c
    first = _first_level().label("first")
    moved = (
        select(lc.track_id, lc.previous_level, lc.level, first)
        .where(lc.run_id == run_id)
        .subquery()
    )
    m = moved.c
    rows = session.execute(
        select(m.track_id, m.previous_level, m.level, m.first, func.count()).group_by(
            m.track_id, m.previous_level, m.level, m.first
        )
    )
    found = [
        LevelMove(track, previous, level, bool(was_first), count)
        for track, previous, level, was_first, count in rows
    ]
    found.sort(key=lambda move: (move.track_id, -move.count, move.previous_level or ""))
    return found


def level_changes(
    session: Session, run_id: int, *, limit: int, offset: int = 0
) -> list[LevelChangeRow]:
    """A page of a run's level changes, in the order they were written."""
    _check_page(limit, offset)
    lc = _level_change.c
    # The page's rows first, from the run's index alone; only they are told apart as
    # first observations (PostgreSQL would look up the rows skipped by the offset too).
    page = select(lc.id).where(lc.run_id == run_id).order_by(lc.id).limit(limit).offset(offset)
    rows = session.execute(
        select(lc.entity_ref, lc.track_id, lc.previous_level, lc.level, _first_level(), lc.at)
        .where(lc.id.in_(page))
        .order_by(lc.id)
    )
    return [
        LevelChangeRow(ref, track, previous, level, bool(was_first), at)
        for ref, track, previous, level, was_first, at in rows
    ]


def latest_finished_run(session: Session) -> int | None:
    """The id of the newest finished run (from `ix_run_status_id` alone)."""
    r = _run.c
    return session.scalar(select(func.max(r.id)).where(r.status == RunStatus.FINISHED))


def unanswered_results(
    session: Session, track_ids: Collection[str], *, limit: int
) -> list[ResultRecord]:
    """The first `limit` latest results of these tracks that gave no answer, by entity,
    track and check, of listed entities only (as the roll-ups count them).

    The pairs are found from their outcome letters, walking the certifications in key
    order and stopping at the `limit`-th (the track is compared as `track_id || ''`, which
    no index serves: the index by track would have every pair of the track read and
    sorted first); only the page's pairs are unpacked."""
    _check_page(limit, 0)
    if not track_ids or limit == 0:
        return []
    c, e = _certification.c, _entity.c
    pairs = (
        select(c.entity_ref, c.track_id)
        .join(_entity, e.ref == c.entity_ref)
        .where(
            c.track_id.concat("").in_(sorted(track_ids)),
            e.gone_run.is_(None),
            or_(*(_holds(outcome) for outcome in UNANSWERED)),
        )
        .order_by(c.entity_ref, c.track_id)
        .limit(limit)
    )
    keys = {(ref, track) for ref, track in session.execute(pairs)}
    if not keys:
        return []
    r = _result.c
    rows = session.scalars(
        select(ResultRecord)
        .where(
            r.entity_ref.in_(sorted({ref for ref, _ in keys})),
            r.track_id.in_(sorted({track for _, track in keys})),
            r.outcome.in_(UNANSWERED),
        )
        .order_by(r.entity_ref, r.track_id, r.check_id)
    )
    # Each pair holds at least one such result: `limit` pairs hold `limit` results or more.
    return [row for row in rows if (row.entity_ref, row.track_id) in keys][:limit]
