"""The reads behind the CSV exports: every row of a filtered list, a chunk at a time.

Each chunk is read in a short session of its own and found from the last row of the one
before it (keyset pagination), not by OFFSET: a chunk by offset reads and drops every row
before it, so a hundred chunks of 1,000 rows would read five million rows to hand over a
hundred thousand. In reference order a chunk is a range of the entity table's primary
key. An export holds no connection while its reader is slow, and what a run commits
between two chunks is seen from the next one on, as a page read later would see it.

The lists and their orders are those of the pages: the catalog and an owner's entities
by reference (`queries.find_entities`), a track's entities in any of the track page's
orders (`browse.track_entities`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from scorecard.report import OUTCOME_BY_CODE, Layout
from scorecard.results import Outcome
from scorecard.store.browse import SortKey, TrackEntityFilter
from scorecard.store.queries import _certified, _owned_by
from scorecard.store.tables import CertificationRecord, EntityRecord
from scorecard.store.writes import _stored_layouts

_entity = EntityRecord.__table__
_certification = CertificationRecord.__table__

# Rows per chunk: a few hundred kilobytes in hand at a time, and few enough queries that
# reading a chunk costs far more than starting one.
CHUNK = 1_000
# Sorted by owner, each chunk reads every row of the track (see `_groups`): larger chunks
# (this many times `CHUNK`) make fewer such reads.
KEYED_CHUNKS = 5


@dataclass(frozen=True, slots=True)
class CatalogFilter:
    """The catalog's filters, as `Store.find_entities` takes them; None means "any"."""

    kind: str | None = None
    owner: str | None = None  # a full entity ref
    track: str | None = None
    level: str | None = None  # NO_LEVEL: at no level (on `track` when given)


@dataclass(frozen=True, slots=True)
class ExportedEntity:
    """A row of the catalog: an entity and the level it holds on each track it was
    evaluated on (None: at no level); a track it was not evaluated on is absent."""

    ref: str
    kind: str
    namespace: str
    name: str
    title: str | None
    owner: str | None
    type: str | None
    lifecycle: str | None
    levels: dict[str, str | None]


@dataclass(frozen=True, slots=True)
class ExportedPair:
    """A row of a track's entities: the entity, its level and next level, and the stored
    outcome of each check it was evaluated with, by check id."""

    ref: str
    kind: str
    name: str
    title: str | None
    owner: str | None
    type: str | None
    level: str | None
    next_level: str | None
    outcomes: dict[str, Outcome]


def catalog_chunks(
    sessions: sessionmaker[Session], where: CatalogFilter, *, chunk: int = CHUNK
) -> Iterator[list[ExportedEntity]]:
    """The listed entities matching `where`, by reference, `chunk` at a time."""
    after: str | None = None
    while True:
        with sessions() as session:
            rows = _catalog_chunk(session, where, after, chunk)
        if rows:
            yield rows
        if len(rows) < chunk:
            return
        after = rows[-1].ref


def track_chunks(
    sessions: sessionmaker[Session],
    track_id: str,
    level_ids: Sequence[str],
    where: TrackEntityFilter,
    *,
    sort: SortKey = SortKey.NAME,
    descending: bool = False,
    chunk: int = CHUNK,
) -> Iterator[list[ExportedPair]]:
    """The entities certified on a track (gone ones left out) matching `where`, in the
    order `browse.track_entities` pages them, at most `chunk` at a time (`KEYED_CHUNKS`
    times as many sorted by owner)."""
    with sessions() as session:
        dialect = session.get_bind().dialect.name
    layouts: dict[int, Layout] = {}
    for group in _groups(sessions, dialect, track_id, level_ids, where, sort, descending, chunk):
        limit = chunk * KEYED_CHUNKS if group.key is not None else chunk
        cursor: tuple[Any, str] | None = None
        while True:
            with sessions() as session:
                query = _group_chunk(track_id, where, group, cursor, limit)
                found = session.execute(query).all()
                pairs = _certifications(session, track_id, [row.ref for row in found])
                wanted = {pair.layout_id for pair in pairs.values()} - layouts.keys()
                layouts.update(_stored_layouts(session, wanted))
            # A certification deleted between the two reads (its track dropped by a run
            # that committed in between) leaves its entity out, as a later page would.
            rows = [_pair(row, pairs[row.ref], layouts) for row in found if row.ref in pairs]
            if rows:
                yield rows
            if len(found) < limit:
                break
            cursor = (found[-1].sort_key, found[-1].ref)


# --- the catalog ------------------------------------------------------------------------


def _catalog_chunk(
    session: Session, where: CatalogFilter, after: str | None, limit: int
) -> list[ExportedEntity]:
    """The first `limit` entities matching `where` past the ref `after`, with their
    levels looked up by ref."""
    e, c = _entity.c, _certification.c
    # The conditions of `queries.find_entities`, for the filters the catalog offers.
    conditions: list[ColumnElement[bool]] = [e.gone_run.is_(None)]
    if where.kind is not None:
        conditions.append(func.lower(e.kind) == where.kind.lower())
    if where.owner is not None:
        conditions.append(_owned_by(where.owner))
    if where.track is not None or where.level is not None:
        conditions.append(_certified(where.track, where.level))
    if after is not None:
        conditions.append(e.ref > after)
    query = (
        select(e.ref, e.kind, e.namespace, e.name, e.title, e.owner, e.type, e.lifecycle)
        .where(*conditions)
        .order_by(e.ref)
        .limit(limit)
    )
    rows = session.execute(query).all()
    if not rows:
        return []
    levels: dict[str, dict[str, str | None]] = {row.ref: {} for row in rows}
    held = select(c.entity_ref, c.track_id, c.level).where(c.entity_ref.in_(list(levels)))
    for ref, track_id, level in session.execute(held):
        levels[ref][track_id] = level
    return [ExportedEntity(*row, levels=levels[row.ref]) for row in rows]


# --- a track's entities ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class _Group:
    """Rows of a track that come together in the page's order (those at one level, of
    one kind, …), in reference order, ascending unless `by_ref_descending`; or, when
    `key` is given, by it (`descending` or not), then by reference ascending."""

    entity: ColumnElement[bool] | None = None
    certification: ColumnElement[bool] | None = None
    by_ref_descending: bool = False
    key: ColumnElement[str | None] | None = None
    descending: bool = False
    nulls_first: bool = False  # whether rows without a `key` come first

    def order_by(self) -> list[ColumnElement[Any]]:
        ref = _entity.c.ref
        if self.key is None:
            return [ref.desc() if self.by_ref_descending else ref.asc()]
        return [self.key.desc() if self.descending else self.key.asc(), ref.asc()]

    def after(self, cursor: tuple[Any, str]) -> ColumnElement[bool]:
        """The group's rows that come after the one whose (key, reference) is `cursor`."""
        value, last = cursor
        ref = _entity.c.ref
        key = self.key
        if key is None:
            return ref < last if self.by_ref_descending else ref > last
        tie = ref > last
        if value is None:  # the last row had no key
            same = key.is_(None) & tie
            return or_(same, key.is_not(None)) if self.nulls_first else same
        # A row without a key compares as neither: it is after one with a key only when
        # such rows come last.
        beyond = key < value if self.descending else key > value
        later = or_(beyond, (key == value) & tie)
        return later if self.nulls_first else or_(later, key.is_(None))


def _groups(
    sessions: sessionmaker[Session],
    dialect: str,
    track_id: str,
    level_ids: Sequence[str],
    where: TrackEntityFilter,
    sort: SortKey,
    descending: bool,
    chunk: int,
) -> Iterator[_Group]:
    """The track page's order (`browse.track_entities`: by the sort key, then by
    reference ascending) as groups read one after the other.

    A chunk sorted by a column the entities are not stored in the order of, found past
    the last row of the chunk before it, reads and sorts every row of the track again: a
    hundred times over for 100,000 rows in chunks of 1,000. So the few values a sort by
    level, kind or type takes are each a group, read along the primary key (one pass of
    it per value). Owners are too many for a pass each: sorted by owner, the chunks are
    found past the last (owner, reference), larger (`KEYED_CHUNKS`) so that fewer of
    them read the track's rows.
    """
    e, c = _entity.c, _certification.c
    # Where the page's ORDER BY leaves rows without an owner or type: SQLite takes NULL
    # for the smallest value, PostgreSQL for the largest.
    nulls_first = (dialect != "postgresql") != descending
    if sort is SortKey.NAME or (sort is SortKey.LEVEL and where.level):
        # Sorted by level with one level filtered, every row has the same rank: the page
        # orders them by reference alone.
        yield _Group(by_ref_descending=sort is SortKey.NAME and descending)
    elif sort is SortKey.LEVEL:
        # By rank on the track's ladder: a level no longer on it ranks with no level.
        ranks: list[ColumnElement[bool]] = [
            or_(c.level.is_(None), c.level.not_in(list(level_ids))),
            *(c.level == level for level in level_ids),
        ]
        for rank in reversed(ranks) if descending else ranks:
            yield _Group(certification=rank)
    elif sort is SortKey.OWNER:
        yield _Group(key=e.owner, descending=descending, nulls_first=nulls_first)
    else:
        column = e.kind if sort is SortKey.KIND else e.type
        # Every entity has a kind; some have no type.
        untyped = [_Group(entity=column.is_(None))] if sort is SortKey.TYPE else []
        if nulls_first:
            yield from untyped
        for value in _distinct(sessions, track_id, where, column, descending, chunk):
            yield _Group(entity=column == value)
        if not nulls_first:
            yield from untyped


def _distinct(
    sessions: sessionmaker[Session],
    track_id: str,
    where: TrackEntityFilter,
    column: ColumnElement[str | None],
    descending: bool,
    chunk: int,
) -> Iterator[str]:
    """The values `column` takes among the track's rows matching `where`, NULL left out,
    in the order of the page, `chunk` at a time."""
    last: str | None = None
    while True:
        conditions = [*_listed(track_id, where), column.is_not(None)]
        if last is not None:
            conditions.append(column < last if descending else column > last)
        query = (
            select(column)
            .distinct()
            .where(*conditions)
            .order_by(column.desc() if descending else column.asc())
            .limit(chunk)
        )
        with sessions() as session:
            values = list(session.scalars(query))
        yield from values
        if len(values) < chunk:
            return
        last = values[-1]


def _listed(
    track_id: str, where: TrackEntityFilter, certification: ColumnElement[bool] | None = None
) -> list[ColumnElement[bool]]:
    """The conditions of the track page's rows: listed entities matching `where`, each
    certified on the track (at the group's level, if it has one)."""
    e, c = _entity.c, _certification.c
    held = [c.entity_ref == e.ref, c.track_id == track_id, *where.level_conditions()]
    if certification is not None:
        held.append(certification)
    certified = select(c.entity_ref).where(*held).exists()
    return [e.gone_run.is_(None), certified, *where.entity_conditions()]


def _group_chunk(
    track_id: str,
    where: TrackEntityFilter,
    group: _Group,
    cursor: tuple[Any, str] | None,
    limit: int,
) -> Any:
    """A chunk of a group's rows, read from the entity table with the certification
    looked up per row, as the page reads them. (Joined instead, SQLite would start from
    the track's certifications and sort all of them for every chunk.)"""
    e = _entity.c
    conditions = _listed(track_id, where, group.certification)
    if group.entity is not None:
        conditions.append(group.entity)
    if cursor is not None:
        conditions.append(group.after(cursor))
    sort_key = (group.key if group.key is not None else e.ref).label("sort_key")
    return (
        select(e.ref, e.kind, e.name, e.title, e.owner, e.type, sort_key)
        .where(*conditions)
        .order_by(*group.order_by())
        .limit(limit)
    )


def _certifications(session: Session, track_id: str, refs: list[str]) -> dict[str, Row[Any]]:
    """The certifications of these entities on the track, by entity ref."""
    if not refs:
        return {}
    c = _certification.c
    query = select(c.entity_ref, c.level, c.next_level, c.outcomes, c.layout_id).where(
        c.track_id == track_id, c.entity_ref.in_(refs)
    )
    return {row.entity_ref: row for row in session.execute(query)}


def _pair(entity: Row[Any], held: Row[Any], layouts: dict[int, Layout]) -> ExportedPair:
    layout = layouts.get(held.layout_id) if held.layout_id is not None else None
    outcomes: dict[str, Outcome] = {}
    if layout is not None and held.outcomes is not None:
        # One letter per check of the layout the pair was evaluated with, in its order.
        for (check_id, _, _), code in zip(layout, held.outcomes, strict=False):
            outcomes[check_id] = OUTCOME_BY_CODE[code]
    return ExportedPair(
        entity.ref,
        entity.kind,
        entity.name,
        entity.title,
        entity.owner,
        entity.type,
        held.level,
        held.next_level,
        outcomes,
    )
