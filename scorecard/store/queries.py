"""The reads behind the HTTP API: filtered pages of entities, results and runs, and
roll-ups of levels and outcomes per track and owner.

Every count is aggregated in the database (GROUP BY, COUNT, EXISTS): a catalog of a
hundred thousand entities with a million results never travels to Python to be summed.
Roll-ups are read from the counts kept in `track_rollup`, which `recount_rollups`
recounts for the tracks a run changed; `counted_rollups` and `counted_owners_rollup`
count them from the results themselves, as the kept counts must equal.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Row,
    Select,
    cast,
    delete,
    exists,
    false,
    func,
    insert,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from scorecard.report import OUTCOME_BY_CODE, OUTCOME_CODES, Layout, PairResults
from scorecard.results import Outcome
from scorecard.store.bulk import fast_insert
from scorecard.store.tables import (
    CertificationRecord,
    EntityRecord,
    ResultRecord,
    RollupRecord,
    RunRecord,
    RunStatus,
    TrackLayoutRecord,
)

T = TypeVar("T")

# The `level` filter value for "evaluated on the track, but at no level".
NO_LEVEL = "none"

_entity = EntityRecord.__table__
_result = ResultRecord.__table__
_track_layout = TrackLayoutRecord.__table__
_certification = CertificationRecord.__table__
_run = RunRecord.__table__
_rollup = RollupRecord.__table__

# The first key of the PostgreSQL advisory locks that serialise recounts of one track.
_ROLLUP_LOCK = 0x5C0121


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """Items `offset` to `offset + limit` of a list; `total` counts the whole list."""

    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class CheckRollup:
    """How one check of a track went over many entities."""

    check_id: str
    level_id: str
    counts: dict[Outcome, int]  # every outcome, 0 when none
    total: int
    # Passes among the results the check applies to; None when it applies to none.
    pass_rate: float | None


@dataclass(frozen=True, slots=True)
class TrackRollup:
    """Entities per level of a track (None: at no level) and how each check went."""

    track_id: str
    levels: dict[str | None, int]
    checks: list[CheckRollup]


@dataclass(frozen=True, slots=True)
class OwnerTrackRollup:
    """A track's roll-up over the entities of one owner."""

    owner: str
    track_id: str
    levels: dict[str | None, int]
    checks: list[CheckRollup]


@dataclass(frozen=True, slots=True)
class OwnerLevels:
    """An owner's entities per level of a track; `owner` None for unowned entities."""

    owner: str | None
    levels: dict[str | None, int]
    entities: int


def find_entities(
    session: Session,
    *,
    kind: str | None,
    owner: str | None,
    track: str | None,
    level: str | None,
    outcome: Outcome | None,
    query: str | None,
    limit: int,
    offset: int,
) -> Page[EntityRecord]:
    e = _entity.c
    conditions: list[ColumnElement[bool]] = [e.gone_run.is_(None)]
    if kind is not None:
        conditions.append(func.lower(e.kind) == kind.lower())
    if owner is not None:
        conditions.append(_owned_by(owner))
    if track is not None or level is not None:
        conditions.append(_certified(track, level))
    if outcome is not None:
        conditions.append(_has_outcome(outcome, track))
    if query is not None:
        conditions.append(
            or_(e.ref.icontains(query, autoescape=True), e.title.icontains(query, autoescape=True))
        )
    total = None
    if len(conditions) == 1:
        # Every listed entity: all of them less the gone ones, each counted from an index
        # (a count of the listed ones would read every document: 30 ms at 100,000).
        every = session.scalar(select(func.count()).select_from(_entity)) or 0
        gone = select(func.count()).select_from(_entity).where(e.gone_run.is_not(None))
        total = every - (session.scalar(gone) or 0)
    return _page(session, EntityRecord, conditions, [e.ref], limit, offset, total)


def count_entities_with_a_track(session: Session, track_ids: Collection[str]) -> int:
    """How many listed entities hold a certification (at a level or none) on at least one
    of `track_ids`: counted from the certifications' key, less the gone entities (few, and
    found through their own index), so that no entity document is read."""
    if not track_ids:
        return 0
    c, e = _certification.c, _entity.c
    on_a_track = c.track_id.in_(list(track_ids))
    certified = select(func.count(func.distinct(c.entity_ref))).where(on_a_track)
    # From the gone entities' own index, each looked up in the certifications' key: a
    # join from the certifications would look up every certified entity instead.
    gone = select(func.count()).where(
        e.gone_run.is_not(None),
        exists().where(c.entity_ref == e.ref, on_a_track),
    )
    return (session.scalar(certified) or 0) - (session.scalar(gone) or 0)


def certifications_for(
    session: Session, entity_refs: Sequence[str]
) -> dict[str, list[CertificationRecord]]:
    found: dict[str, list[CertificationRecord]] = {ref: [] for ref in entity_refs}
    if not found:
        return found
    c = _certification.c
    query = (
        select(CertificationRecord)
        .where(c.entity_ref.in_(list(found)))
        .order_by(c.entity_ref, c.track_id)
    )
    for record in session.scalars(query):
        found[record.entity_ref].append(record)
    return found


def track_rollups(session: Session) -> list[TrackRollup]:
    return _kept_rollups(session)


def track_rollup(session: Session, track_id: str) -> TrackRollup:
    rollups = _kept_rollups(session, track_id=track_id)
    return rollups[0] if rollups else TrackRollup(track_id, {}, [])


def owner_rollup(session: Session, owner: str, track_id: str | None) -> list[OwnerTrackRollup]:
    return [
        OwnerTrackRollup(owner, rollup.track_id, rollup.levels, rollup.checks)
        for rollup in _kept_rollups(session, track_id=track_id, owner=owner)
    ]


def owners_rollup(session: Session, track_id: str) -> list[OwnerLevels]:
    k = _rollup.c
    query = select(k.owner, k.level, k.count).where(
        k.by_owner == true(), k.track_id == track_id, k.check_id.is_(None)
    )
    return _owner_levels(session.execute(query))


def counted_owners_rollup(session: Session, track_id: str) -> list[OwnerLevels]:
    """`owners_rollup` counted from the certifications themselves."""
    e, c = _entity.c, _certification.c
    query = (
        select(e.owner, c.level, func.count())
        .join_from(_certification, _entity, e.ref == c.entity_ref)
        .where(c.track_id == track_id, e.gone_run.is_(None))
        .group_by(e.owner, c.level)
    )
    return _owner_levels(session.execute(query))


def _owner_levels(rows: Iterable[Row[Any]]) -> list[OwnerLevels]:
    # Owner refs compare without regard to case, so spellings that differ only in case
    # are one owner, shown as the first spelling in sort order. There are few of them:
    # merging the grouped rows here costs nothing.
    spellings: dict[str | None, set[str]] = defaultdict(set)
    levels: dict[str | None, dict[str | None, int]] = defaultdict(dict)
    for owner, level, count in rows:
        key = owner.lower() if owner is not None else None
        if owner is not None:
            spellings[key].add(owner)
        levels[key][level] = levels[key].get(level, 0) + count
    ordered = sorted(levels, key=lambda key: (key is None, key or ""))
    return [
        OwnerLevels(
            min(spellings[key]) if key is not None else None,
            levels[key],
            sum(levels[key].values()),
        )
        for key in ordered
    ]


def find_results(
    session: Session,
    *,
    entity_ref: str | None,
    track_id: str | None,
    check_id: str | None,
    outcome: Outcome | None,
    limit: int,
    offset: int,
) -> Page[ResultRecord]:
    if check_id is not None and entity_ref is None:
        found = _results_of_check(session, track_id, check_id, outcome, limit, offset)
        if found is not None:
            return found
    r = _result.c
    given = [
        (r.entity_ref, entity_ref),
        (r.track_id, track_id),
        (r.check_id, check_id),
        (r.outcome, outcome),
    ]
    conditions = [column == value for column, value in given if value is not None]
    if outcome is not None:
        # Only pairs whose outcomes hold this one are unpacked: a rare outcome (error,
        # unknown) is found without unpacking the whole track.
        c = _certification.c
        holding = select(c.entity_ref).where(
            c.entity_ref == r.entity_ref, c.track_id == r.track_id, _holds(outcome)
        )
        conditions.append(holding.exists())
    order = [r.entity_ref, r.track_id, r.check_id]
    return _page(session, ResultRecord, conditions, order, limit, offset)


def _results_of_check(
    session: Session,
    track_id: str | None,
    check_id: str,
    outcome: Outcome | None,
    limit: int,
    offset: int,
) -> Page[ResultRecord] | None:
    """A page of one check's results (on one track, with one outcome, when given) found
    from the certifications' outcome letters — which letter is the check's, each pair's
    layout says — so that only the page's pairs are unpacked: at 100,000 entities a few
    tens of milliseconds rather than a second. None when a pair of the track was stored
    before layouts were kept (the caller then unpacks every pair)."""
    c, t = _certification.c, _track_layout.c
    scope = [c.track_id == track_id] if track_id is not None else []
    if session.execute(select(c.entity_ref).where(*scope, c.layout_id.is_(None)).limit(1)).first():
        return None
    layouts = select(t.id, t.checks)
    if track_id is not None:
        layouts = layouts.where(t.track_id == track_id)
    positions = {}
    for layout_id, checks in session.execute(layouts):
        ids = [entry[0] for entry in json.loads(checks)]
        if check_id in ids:
            positions[layout_id] = ids.index(check_id) + 1  # SQL counts from 1
    if not positions:
        return Page([], 0, limit, offset)
    letter = OUTCOME_CODES[outcome] if outcome is not None else None
    matches = [
        (c.layout_id == layout_id) & (func.substr(c.outcomes, position, 1) == letter)
        if letter is not None
        else c.layout_id == layout_id
        for layout_id, position in positions.items()
    ]
    conditions = [*scope, or_(*matches)]
    total = session.scalar(select(func.count()).select_from(_certification).where(*conditions))
    pairs = select(c.entity_ref, c.track_id).where(*conditions)
    keys = {
        (ref, track)
        for ref, track in session.execute(
            pairs.order_by(c.entity_ref, c.track_id).limit(limit).offset(offset)
        )
    }
    if not keys:
        return Page([], total or 0, limit, offset)
    r = _result.c
    rows = select(ResultRecord).where(
        r.entity_ref.in_(sorted({ref for ref, _ in keys})),
        r.track_id.in_(sorted({track for _, track in keys})),
        r.check_id == check_id,
    )
    found = [
        row
        for row in session.scalars(rows.order_by(r.entity_ref, r.track_id, r.check_id))
        if (row.entity_ref, row.track_id) in keys
    ]
    return Page(found, total or 0, limit, offset)


def find_runs(session: Session, *, limit: int, offset: int) -> Page[RunRecord]:
    return _page(session, RunRecord, [], [_run.c.id.desc()], limit, offset)


def fingerprint(session: Session) -> str:
    # The number of finished runs goes up with every run that finishes, even one that
    # finishes after a newer run did (runs of different tracks overlap), which the
    # newest id alone would miss; the newest id tells apart equal counts should runs
    # ever be pruned. Both come from one scan of ix_run_status_id.
    r = _run.c
    finished, newest = session.execute(
        select(func.count(), func.max(r.id)).where(r.status == RunStatus.FINISHED)
    ).one()
    return f"{finished}-{newest or 0}"


def _page(
    session: Session,
    record: type[T],
    conditions: Sequence[ColumnElement[bool]],
    order: Sequence[ColumnElement[Any]],
    limit: int,
    offset: int,
    total: int | None = None,
) -> Page[T]:
    """A page of `record` rows; `total` counts them all when the caller already knows."""
    # SQLite reads a negative LIMIT as "no limit", PostgreSQL refuses it: refuse it here.
    if limit < 0 or offset < 0:
        raise ValueError(f"limit ({limit}) and offset ({offset}) must not be negative")
    if total is None:
        total = session.scalar(select(func.count()).select_from(record).where(*conditions))
    query = select(record).where(*conditions).order_by(*order).limit(limit).offset(offset)
    return Page(list(session.scalars(query)), total or 0, limit, offset)


def recount_rollups(
    session: Session, track_ids: Iterable[str], owners: Collection[str | None] | None = None
) -> None:
    """Count anew the kept roll-ups of `track_ids`: per owner, of every owner or of
    `owners` (lower-cased refs, None for unowned entities), then over the whole catalog.

    Recounted rather than adjusted by what a run changed: INSERT … SELECT … GROUP BY in
    the database, within the run's transaction, is exact by construction (an owner
    change, a gone entity, a check moved to another level, results without a level all
    count as the reading queries count them), where keeping deltas exact through every
    one of those would be code of its own to get wrong. Recounting only the owners whose
    entities a run changed keeps a run of a few entities cheap at any catalog size; the
    catalog-wide rows are then the sums of the owners' rows.
    """
    tracks = sorted(set(track_ids))
    if not tracks:
        return
    k, c, r, e = _rollup.c, _certification.c, _result.c, _entity.c
    _lock_rollups(session, tracks)
    columns = ["track_id", "by_owner", "owner", "check_id", "level", "outcome", "count"]
    kept_owned = [k.by_owner == true(), k.track_id.in_(tracks)]
    listed = [e.gone_run.is_(None)]
    certified, evaluated = [c.track_id.in_(tracks)], [r.track_id.in_(tracks)]
    if owners is not None:
        named = sorted({owner for owner in owners if owner is not None})
        kept_owned.append(_among(k.owner, named, None in owners))
        owned = select(e.ref).where(_among(e.owner, named, None in owners))
        # Stated on the counted tables too, so that SQLite starts from the owners'
        # entities and their keys rather than from every row of the track.
        certified.append(c.entity_ref.in_(owned))
        evaluated.append(r.entity_ref.in_(owned))
    session.execute(delete(_rollup).where(*kept_owned))
    # Per owner spelling as stored; reads merge spellings that differ only in case.
    owned_levels = (
        select(c.track_id, true(), e.owner, null(), c.level, null(), func.count())
        .join_from(_certification, _entity, e.ref == c.entity_ref)
        .where(*listed, *certified)
        .group_by(c.track_id, e.owner, c.level)
    )
    owned_outcomes = (
        select(r.track_id, true(), e.owner, r.check_id, r.level_id, r.outcome, func.count())
        .join_from(_result, _entity, e.ref == r.entity_ref)
        .where(*listed, *evaluated)
        .group_by(r.track_id, e.owner, r.check_id, r.level_id, r.outcome)
    )
    session.execute(delete(_rollup).where(k.by_owner == false(), k.track_id.in_(tracks)))
    whole = (
        select(k.track_id, false(), null(), k.check_id, k.level, k.outcome, func.sum(k.count))
        .where(k.by_owner == true(), k.track_id.in_(tracks))
        .group_by(k.track_id, k.check_id, k.level, k.outcome)
    )
    for query in (owned_levels, owned_outcomes, whole):
        session.execute(insert(_rollup).from_select(columns, query))


def write_rollups(
    session: Session,
    track_ids: Iterable[str],
    pairs: Iterable[PairResults],
    owner_of: Mapping[str, str | None],
) -> None:
    """Write the kept roll-ups of `track_ids` counted from `pairs`, every pair of those
    tracks (their first run), each entity's owner as `owner_of` gives it: the rows
    `recount_rollups` would count in the database, without reading back what was just
    written."""
    counts = RollupCounts()
    counts.add(pairs, owner_of)
    counts.write(session, track_ids)


class RollupCounts:
    """Roll-ups counted from pairs in hand, added as they come (a large run's slices):
    pairs are grouped by track, owner and layout; each group's levels and each of its
    checks' outcomes are counted at C speed (`Counter` over a column) when written."""

    def __init__(self) -> None:
        # (track, owner, layout) → (levels, outcome letters) of the group's pairs
        self._groups: dict[tuple[str, str | None, Layout], tuple[list[str | None], list[str]]] = {}

    def add(self, pairs: Iterable[PairResults], owner_of: Mapping[str, str | None]) -> None:
        groups = self._groups
        for pair in pairs:
            key = (pair.track_id, owner_of[pair.entity_ref], pair.layout)
            group = groups.get(key)
            if group is None:
                groups[key] = group = ([], [])
            group[0].append(pair.level)
            group[1].append(pair.codes)

    def write(self, session: Session, track_ids: Iterable[str]) -> None:
        """Replace the kept roll-ups of `track_ids` with the counts of their pairs added."""
        tracks = set(track_ids)
        _lock_rollups(session, tracks)
        k = _rollup.c
        session.execute(delete(_rollup).where(k.track_id.in_(sorted(tracks))))
        levels: Counter[tuple[str, str | None, str | None]] = Counter()
        outcomes: Counter[tuple[str, str | None, str, str, str]] = Counter()
        for (track, owner, layout), (held, found) in self._groups.items():
            if track not in tracks:
                continue
            for level, count in Counter(held).items():
                levels[track, owner, level] += count
            # One column of outcome letters per check of the layout.
            for (check, level, _), column in zip(layout, zip(*found, strict=True), strict=True):
                for code, count in Counter(column).items():
                    outcomes[track, owner, check, level, OUTCOME_BY_CODE[code]] += count
        rows: list[tuple[Any, ...]] = []
        whole: Counter[tuple[str, str | None, str | None, str | None]] = Counter()
        for (track, owner, level), count in levels.items():
            rows.append((track, True, owner, None, level, None, count))
            whole[track, None, level, None] += count
        for (track, owner, check, level, outcome), count in outcomes.items():
            rows.append((track, True, owner, check, level, outcome, count))
            whole[track, check, level, outcome] += count
        for (track, check, level, outcome), count in whole.items():
            rows.append((track, False, None, check, level, outcome, count))
        # Through the driver, as the run's other bulk inserts: the values are already as
        # it takes them (a flag as a bool, an outcome as its text).
        fast_insert(session, _rollup, _ROLLUP_COLUMNS, rows)


_ROLLUP_COLUMNS = ("track_id", "by_owner", "owner", "check_id", "level", "outcome", "count")


def _lock_rollups(session: Session, tracks: Iterable[str]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # Runs of other tracks may recount a track too (one of its entities changed):
        # two transactions recounting one track at once would each delete the rows they
        # see and insert their counts, twice. A lock per track, taken in order and held
        # to the end of the transaction, makes the second wait and then count anew.
        # SQLite needs none: a run holds its write lock from its first statement.
        for track in sorted(tracks):
            session.execute(select(func.pg_advisory_xact_lock(_ROLLUP_LOCK, func.hashtext(track))))


def _among(
    owner: ColumnElement[str | None], named: list[str], unowned: bool
) -> ColumnElement[bool]:
    """`owner` is one of `named` (lower-cased), or is None when `unowned`."""
    found = [func.lower(owner).in_(named)] if named else []
    if unowned:
        found.append(owner.is_(None))
    return or_(*found) if found else false()


def _kept_rollups(
    session: Session, *, track_id: str | None = None, owner: str | None = None
) -> list[TrackRollup]:
    """`counted_rollups` read from the kept counts: a few rows per track and owner."""
    k = _rollup.c
    # An owner's rows are found by its name alone: the catalog-wide rows have none, and
    # by_owner beside it would lead SQLite to every owner's rows instead of its index.
    if owner is not None:
        conditions = [func.lower(k.owner) == owner.lower()]
    else:
        conditions = [k.by_owner == false()]
    if track_id is not None:
        conditions.append(k.track_id == track_id)
    # Summed, for an owner whose spellings differ in case; over the whole catalog each
    # group is one row already.
    total = cast(func.sum(k.count), BigInteger)
    levels = (
        select(k.track_id, k.level, total)
        .where(*conditions, k.check_id.is_(None))
        .group_by(k.track_id, k.level)
    )
    outcomes = (
        select(k.track_id, k.check_id, k.level, k.outcome, total)
        .where(*conditions, k.check_id.is_not(None))
        .group_by(k.track_id, k.check_id, k.level, k.outcome)
    )
    return _assemble(session, levels, outcomes)


def counted_rollups(
    session: Session, *, track_id: str | None = None, owner: str | None = None
) -> list[TrackRollup]:
    """Roll-ups by track id, of every track or of `track_id`, over every entity or those
    of `owner`, counted from the results: one GROUP BY query for levels and one for
    outcomes. The kept counts are recounted with these queries and must equal them."""
    return _assemble(session, *_counted(track_id=track_id, owner=owner))


def _counted(*, track_id: str | None, owner: str | None) -> tuple[Select[Any], Select[Any]]:
    """The counting queries: (track, level, count) and (track, check, check's level,
    outcome, count) rows, of every track or of `track_id`."""
    c, r = _certification.c, _result.c
    levels = select(c.track_id, c.level)
    outcomes = select(r.track_id, r.check_id, r.level_id, r.outcome)
    if track_id is not None:
        levels = levels.where(c.track_id == track_id)
        outcomes = outcomes.where(r.track_id == track_id)
    # Gone entities' results stay stored but count in no roll-up.
    if owner is not None:
        listed = (_entity.c.gone_run.is_(None), _owned_by(owner))
        levels = levels.join(_entity, _entity.c.ref == c.entity_ref).where(*listed)
        outcomes = outcomes.join(_entity, _entity.c.ref == r.entity_ref).where(*listed)
        level_rows = levels.add_columns(func.count()).group_by(*levels.selected_columns)
        outcome_rows = outcomes.add_columns(func.count()).group_by(*outcomes.selected_columns)
    else:
        # Over the whole catalog: every row counted, less the gone entities' rows (few),
        # rather than each of a million results joined to its entity (at 100,000
        # entities 0.2 s instead of 1.6 s).
        gone = select(_entity.c.ref).where(_entity.c.gone_run.is_not(None))
        level_rows = _less(levels, levels.where(c.entity_ref.in_(gone)))
        outcome_rows = _less(outcomes, outcomes.where(r.entity_ref.in_(gone)))
    return level_rows, outcome_rows


def _assemble(
    session: Session, level_rows: Select[Any], outcome_rows: Select[Any]
) -> list[TrackRollup]:
    """Roll-ups from rows of (track, level, count) and (track, check, check's level,
    outcome, count), levels in order with no level last, checks by id and level."""
    level_counts: dict[str, dict[str | None, int]] = defaultdict(dict)
    for track, level, count in session.execute(
        level_rows.order_by(
            level_rows.selected_columns[0], level_rows.selected_columns[1].asc().nulls_last()
        )
    ):
        level_counts[track][level] = count
    outcome_counts: dict[tuple[str, str, str], dict[Outcome, int]] = defaultdict(dict)
    for track, check, check_level, outcome, count in session.execute(
        outcome_rows.order_by(*outcome_rows.selected_columns[:3])
    ):
        outcome_counts[track, check, check_level][Outcome(outcome)] = count

    checks: dict[str, list[CheckRollup]] = defaultdict(list)
    for (track, check, check_level), counts in outcome_counts.items():
        checks[track].append(_check_rollup(check, check_level, counts))
    return [
        TrackRollup(track, level_counts.get(track, {}), checks.get(track, []))
        for track in sorted(level_counts.keys() | checks.keys())
    ]


def _less(every: Select[Any], taken: Select[Any]) -> Select[Any]:
    """The rows of `every` counted by their columns, less the rows of `taken`, in one
    query (each side grouped on its own, so the large one reads an index); a group that
    `taken` empties is left out."""

    def counted(rows: Select[Any], sign: int) -> Select[Any]:
        columns = [col.label(f"c{i}") for i, col in enumerate(rows.selected_columns)]
        grouped = rows.with_only_columns(*columns, (sign * func.count()).label("n"))
        return grouped.group_by(*rows.selected_columns)

    both = union_all(counted(every, 1), counted(taken, -1)).subquery()
    keys = [column for column in both.c if column.name != "n"]
    total = func.sum(both.c.n)
    # A sum of counts is a NUMERIC on PostgreSQL: read it back as the count it is.
    return select(*keys, cast(total, BigInteger)).group_by(*keys).having(total != 0)


def _owned_by(owner: str) -> ColumnElement[bool]:
    return func.lower(_entity.c.owner) == owner.lower()


def _certified(track: str | None, level: str | None) -> ColumnElement[bool]:
    """The entity holds a certification: on `track`, at `level` (NO_LEVEL: at none)."""
    c = _certification.c
    conditions = [c.entity_ref == _entity.c.ref]
    if track is not None:
        conditions.append(c.track_id == track)
    if level == NO_LEVEL:
        conditions.append(c.level.is_(None))
    elif level is not None:
        conditions.append(c.level == level)
    return exists().where(*conditions)


def _has_outcome(outcome: Outcome, track: str | None) -> ColumnElement[bool]:
    """At least one of the entity's latest results (on `track`) has `outcome`: read from
    each certification's outcomes, a letter per result, without unpacking a result."""
    c = _certification.c
    conditions = [c.entity_ref == _entity.c.ref, _holds(outcome)]
    if track is not None:
        conditions.append(c.track_id == track)
    return exists().where(*conditions)


def _holds(outcome: Outcome) -> ColumnElement[bool]:
    """The certification's pair has a result with `outcome`: its outcomes' letters hold
    the outcome's, or, for a pair stored before they were kept, its unpacked results do."""
    c, r = _certification.c, _result.c
    letters = c.outcomes.contains(OUTCOME_CODES[outcome], autoescape=True)
    unpacked = exists().where(
        r.entity_ref == c.entity_ref, r.track_id == c.track_id, r.outcome == outcome
    )
    return or_(c.outcomes.is_not(None) & letters, c.outcomes.is_(None) & unpacked)


def _check_rollup(check_id: str, level_id: str, found: dict[Outcome, int]) -> CheckRollup:
    counts = {outcome: found.get(outcome, 0) for outcome in Outcome}
    total = sum(counts.values())
    applicable = total - counts[Outcome.NOT_APPLICABLE]
    pass_rate = counts[Outcome.PASS] / applicable if applicable else None
    return CheckRollup(check_id, level_id, counts, total, pass_rate)
