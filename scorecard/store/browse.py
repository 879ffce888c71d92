"""The reads behind the web pages that the JSON API does not already make: a track's
entities with their levels (filtered, sorted, one page at a time), the values its
filters offer, and what blocks an owner's entities from their next level.

Like the API's reads, every one is bounded: a page never loads the whole catalog.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from scorecard.results import NON_BLOCKING, Outcome
from scorecard.store.queries import NO_LEVEL, Page
from scorecard.store.tables import CertificationRecord, EntityRecord, ResultRecord

_entity = EntityRecord.__table__
_result = ResultRecord.__table__
_certification = CertificationRecord.__table__

# How many distinct values a filter menu lists; a catalog with more owners than this
# still filters by any owner typed into the URL.
MENU_LIMIT = 300


class SortKey(StrEnum):
    NAME = "name"
    OWNER = "owner"
    KIND = "kind"
    TYPE = "type"
    LEVEL = "level"


@dataclass(frozen=True, slots=True)
class TrackEntityFilter:
    """The filters of a track's entity table; None means "any"."""

    owner: str | None = None
    kind: str | None = None
    type: str | None = None
    level: str | None = None  # NO_LEVEL: evaluated, at no level

    def entity_conditions(self) -> list[ColumnElement[bool]]:
        e = _entity.c
        found: list[ColumnElement[bool]] = []
        if self.owner:
            found.append(func.lower(e.owner) == self.owner.lower())
        if self.kind:
            found.append(func.lower(e.kind) == self.kind.lower())
        if self.type:
            found.append(func.lower(e.type) == self.type.lower())
        return found

    def level_conditions(self) -> list[ColumnElement[bool]]:
        c = _certification.c
        if self.level == NO_LEVEL:
            return [c.level.is_(None)]
        if self.level:
            return [c.level == self.level]
        return []


@dataclass(frozen=True, slots=True)
class TrackEntity:
    entity: EntityRecord
    level: str | None
    next_level: str | None


@dataclass(frozen=True, slots=True)
class Blocker:
    """A required check that does not pass at the next level of one entity on one track:
    it fails, or it could not be checked (`error`, `unknown`; `message` says why)."""

    entity_ref: str
    track_id: str
    next_level: str
    check_id: str
    outcome: Outcome
    message: str


def track_entities(
    session: Session,
    track_id: str,
    level_ids: Sequence[str],
    where: TrackEntityFilter,
    *,
    sort: SortKey = SortKey.NAME,
    descending: bool = False,
    limit: int,
    offset: int,
) -> Page[TrackEntity]:
    """The entities certified on a track (gone ones left out), with their levels.

    `level_ids` is the track's ladder, lowest first: sorting by level sorts by rank on it
    (no level lowest), not by the level's name.
    """
    e, c = _entity.c, _certification.c
    # Entities that hold a certification on the track, read from the entity table with
    # the certification looked up per row (as the JSON API's entity list does): in
    # reference order a page is read off the primary key, with no sort of the catalog.
    certified = (
        select(c.entity_ref)
        .where(c.entity_ref == e.ref, c.track_id == track_id, *where.level_conditions())
        .exists()
    )
    conditions = [e.gone_run.is_(None), certified, *where.entity_conditions()]
    total = session.scalar(select(func.count()).select_from(_entity).where(*conditions)) or 0

    def certification(column: ColumnElement[str | None]) -> ColumnElement[str | None]:
        lookup = select(column).where(c.entity_ref == e.ref, c.track_id == track_id)
        return lookup.scalar_subquery()

    level, next_level = certification(c.level), certification(c.next_level)
    rank = case({lvl: i for i, lvl in enumerate(level_ids, 1)}, value=level, else_=0)
    key: ColumnElement[object] = {
        # By reference (kind:namespace/name): the name order within a kind and namespace.
        SortKey.NAME: e.ref,
        SortKey.OWNER: e.owner,
        SortKey.KIND: e.kind,
        SortKey.TYPE: e.type,
        SortKey.LEVEL: rank,
    }[sort]
    order = [key.desc() if descending else key.asc()]
    if sort is SortKey.LEVEL and where.level:
        # The filter holds every row at one level: the order is the references' (the
        # tie-break), read off the primary key rather than ranking and sorting each row.
        order = [e.ref]
    elif sort is not SortKey.NAME:
        order.append(e.ref)
    query = (
        select(EntityRecord, level, next_level)
        .where(*conditions)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    )
    items = [TrackEntity(entity, level, nxt) for entity, level, nxt in session.execute(query)]
    return Page(items, total, limit, offset)


def track_menus(session: Session, track_id: str) -> dict[str, list[str]]:
    """The owners, kinds and types of a track's entities, for its filter menus."""
    e, c = _entity.c, _certification.c
    joined = _certification.join(_entity, e.ref == c.entity_ref)
    menus: dict[str, list[str]] = {}
    for name, column in (("owner", e.owner), ("kind", e.kind), ("type", e.type)):
        query = (
            select(column)
            .distinct()
            .select_from(joined)
            .where(c.track_id == track_id, e.gone_run.is_(None), column.is_not(None))
            .order_by(column)
            .limit(MENU_LIMIT)
        )
        menus[name] = list(session.scalars(query))
    return menus


def owner_blockers(session: Session, owner: str) -> list[Blocker]:
    """Every required check that blocks the next level of one of the owner's entities,
    with its outcome: failing and could-not-be-checked are not the same news.

    An entity certified at a level has passed every required check up to it, so what
    stands between it and the next level is exactly the next level's blocking results.
    """
    e, c, r = _entity.c, _certification.c, _result.c
    query = (
        select(r.entity_ref, r.track_id, c.next_level, r.check_id, r.outcome, r.message)
        .join_from(
            _result,
            _certification,
            (c.entity_ref == r.entity_ref) & (c.track_id == r.track_id),
        )
        .join(_entity, e.ref == r.entity_ref)
        .where(
            func.lower(e.owner) == owner.lower(),
            e.gone_run.is_(None),
            r.level_id == c.next_level,
            r.required.is_(True),
            r.outcome.not_in([outcome.value for outcome in NON_BLOCKING]),
        )
        .order_by(r.track_id, r.entity_ref, r.check_id)
    )
    return [
        Blocker(ref, track, level, check, Outcome(outcome), message)
        for ref, track, level, check, outcome, message in session.execute(query)
    ]
