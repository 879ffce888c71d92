"""Trends: how many entities held each level of a track on each day, and which owners
gained the most level steps, aggregated in the database from the level history.

What a day's count means. A (entity, track) pair counts from its first observation (the
run that first certified it) at the level it held at the end of that day (UTC); today's
count is now. A gone entity counts until the run that found it gone finished, and in no
day after (an entity listed again counts as if it had never gone: when it was away is
not kept). A pair counts under its entity's owner as the entity table has it now. Pairs of
tracks no longer configured are simply not asked for. So the last day equals the kept
roll-ups (`track_rollup`), which count listed entities only.

How it is counted without replaying the history. The kept roll-ups give the counts now;
walking back a day at a time subtracts that day's net change per level, and the net
changes per (track, day, level) come out of GROUP BY queries over the period only:

- level history rows (`certification_change`, by `ix_certification_change_track_at`):
  +1 at the level, −1 at the previous level — except for a pair's first row, the first
  observation written when the level first changed (`writes._write_changed_pairs`), which
  only adds the pair; a run and an exemption decision write the same rows;
- pairs first observed in the period that never changed level: they have no history row,
  their certification's `changed_at` is their first observation (+1 at their level).
  They are counted as every certification whose level was set in the period (one
  GROUP BY, `_set_since`) less the pairs whose latest history row is in the period
  (their `changed_at` is that row's time): no question is asked per certification;
- pairs of entities that went in the period: −1 at the level held when they went.

Rows of a gone entity written after it went (an exemption expiring) count in nothing:
they are counted with the others, then counted again from the gone entities (few, found
from `ix_entity_gone_run`) and taken off, as `queries` counts roll-ups less the gone
entities' rows rather than joining every row to its entity.

What it costs, at 100,000 entities on SQLite: a store whose first run is within the
period reads every certification of the tracks (0.1–0.2 s for one track; an index on
`certification (track_id, changed_at, level)` would make it 0.02–0.05 s); with a fifth
of the pairs of three tracks changing level within the period, 0.5–1 s, most of it two
index lookups per history row. The pages keep the result until the next run
(`PageMemo`). Every function works in the caller's session.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from scorecard.store.tables import (
    CertificationChange,
    CertificationRecord,
    EntityRecord,
    RollupRecord,
    RunRecord,
)

_change = CertificationChange.__table__
_certification = CertificationRecord.__table__
_entity = EntityRecord.__table__
_rollup = RollupRecord.__table__
_run = RunRecord.__table__

# A level as the queries hand it back: a level id, or None for no level.
Level = str | None


@dataclass(frozen=True, slots=True)
class LevelTrend:
    """Entities per level of a track at the end of each day (the last: now), oldest
    first, from the first day on which any was held. Empty when none ever was."""

    track_id: str
    days: list[date]
    counts: list[dict[Level, int]]


@dataclass(frozen=True, slots=True)
class OwnerGain:
    """An owner's level steps over a period: `gained` up, `lost` down (bronze to gold is
    two up), `net` the difference."""

    owner: str
    gained: int
    lost: int

    @property
    def net(self) -> int:
        return self.gained - self.lost


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def level_trends(
    session: Session,
    track_ids: Sequence[str],
    first_day: date,
    today: date,
    owner: str | None = None,
) -> dict[str, LevelTrend]:
    """The daily counts of each of `track_ids` from `first_day` to `today` (UTC dates),
    over every listed entity or over those of `owner` (compared without regard to case);
    by track id. A handful of GROUP BY queries, for all the tracks at once."""
    asked = set(track_ids)
    tracks = sorted(asked)
    if not tracks or first_day > today:
        return {}
    _without_jit(session)
    # The count at the end of `first_day` is the count now less every change after it.
    since = midnight(first_day + timedelta(days=1))
    deltas: dict[str, dict[str, dict[Level, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int))
    )
    # Every row of the period, less those of gone entities written after they went.
    for sign, after_gone in ((1, False), (-1, True)):
        query = _history_changes(session, tracks, since, owner, after_gone=after_gone)
        for track, day, level, previous, first, last, count in session.execute(query):
            deltas[track][day][level] += sign * count
            if not first:
                deltas[track][day][previous] -= sign * count
            if last and not after_gone:
                # A pair's latest row: its certification, counted below among those set
                # since `since`, is no arrival.
                deltas[track][day][level] -= count
    for track, moment, level, count in session.execute(_set_since(tracks, since, owner)):
        deltas[track][moment.date().isoformat()][level] += count
    for query in (_arrivals_after_gone(session, since, owner), _departures(session, since, owner)):
        # Of every track (the gone entities' pairs): others are dropped here.
        for track, day, level, count in session.execute(query):
            if track in asked:
                deltas[track][day][level] -= count
    now = _counts_now(session, tracks, owner)
    days = [first_day + timedelta(days=n) for n in range((today - first_day).days + 1)]
    return {
        track: _walk_back(track, days, now.get(track, {}), deltas.get(track, {}))
        for track in tracks
    }


def most_improved(
    session: Session,
    track_id: str,
    ladder: Sequence[str],
    since: datetime,
    limit: int,
) -> list[OwnerGain]:
    """The owners whose entities gained the most level steps on a track since `since`
    (net of the steps lost; `ladder` is the track's level ids, lowest first), those with
    a net gain only, most first (ties: more gained, then by name); at most `limit`.

    Counted from the level history rows of the period, as `level_trends` counts them: a
    pair's first observation is no step, a gone entity's steps count until it went, and
    unowned entities count for nobody. Owner refs that differ only in case are one owner.
    """
    _without_jit(session)
    h, e = _change.c, _entity.c
    gone = _run.alias("gone")
    rank = ranked_levels(ladder)
    steps = case(rank, value=h.level, else_=0) - case(rank, value=h.previous_level, else_=0)
    moves = (
        select(
            func.lower(e.owner).label("key"),
            e.owner.label("owner"),
            steps.label("steps"),
        )
        .select_from(_change)
        .join(_entity, e.ref == h.entity_ref)
        .outerjoin(gone, gone.c.id == e.gone_run)
        .where(
            h.track_id == track_id,
            h.at >= since,
            e.owner.is_not(None),
            _listed_at(h.at, gone),
            ~_first_observation(),
        )
        .subquery()
    )
    m = moves.c
    gained = cast(func.sum(case((m.steps > 0, m.steps), else_=0)), BigInteger)
    lost = cast(func.sum(case((m.steps < 0, -m.steps), else_=0)), BigInteger)
    query = (
        select(func.min(m.owner), gained, lost)
        .group_by(m.key)
        .having(gained > lost)
        .order_by((gained - lost).desc(), gained.desc(), m.key)
        .limit(limit)
    )
    return [
        OwnerGain(owner, gained or 0, lost or 0) for owner, gained, lost in session.execute(query)
    ]


# --- the queries -------------------------------------------------------------------------


def _without_jit(session: Session) -> None:
    """On PostgreSQL, no JIT compilation for the rest of the transaction. The lookups
    per history row make the planner's estimate high enough to compile the query, which
    then takes longer than running it (at 100,000 entities, 0.7 s of a 1.4 s query)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def _day(session: Session, moment: ColumnElement[Any]) -> ColumnElement[str]:
    """The UTC date of a stored time as `YYYY-MM-DD` text."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", moment), "YYYY-MM-DD")
    # SQLite keeps times as UTC text, `YYYY-MM-DD HH:MM:SS.ffffff` (`UTCDateTime`).
    return func.substr(moment, 1, 10)


def _owned(column: ColumnElement[str], owner: str | None) -> list[ColumnElement[bool]]:
    """`column` (an entity ref) is an entity of `owner`: stated on the counted table, so
    that the planner starts from the owner's entities (`ix_entity_owner_lower`)."""
    if owner is None:
        return []
    e = _entity.c
    return [column.in_(select(e.ref).where(func.lower(e.owner) == owner.lower()))]


def _gone_at(gone: Any) -> ColumnElement[datetime]:
    """When the run that found an entity gone finished (started, should it not have)."""
    return func.coalesce(gone.c.finished_at, gone.c.started_at)


def _gone_refs() -> Select[Any]:
    """The gone entities' refs (`ix_entity_gone_run`, few): stated on the certifications
    of a query about them, so that SQLite starts from them and their keys rather than
    from every certification."""
    return select(_entity.c.ref).where(_entity.c.gone_run.is_not(None))


def _listed_at(moment: ColumnElement[datetime], gone: Any) -> ColumnElement[bool]:
    """The entity (joined as `entity`, its gone run as `gone`) was listed at `moment`."""
    return or_(_entity.c.gone_run.is_(None), moment <= _gone_at(gone))


def _rows_of_pair(rows: Any, entity_ref: Any, track_id: Any) -> list[ColumnElement[bool]]:
    """`rows` (`certification_change` or an alias) are those of one (entity, track) pair.

    Looked up by entity (`ix_certification_change_entity_at`): the track is compared as
    `track_id || ''`, which no index serves, since SQLite would otherwise take the index
    by track and time and read the track's whole history for each row."""
    return [rows.c.entity_ref == entity_ref, rows.c.track_id.concat("") == track_id]


def _first_observation() -> ColumnElement[bool]:
    """The history row (`certification_change`) is its pair's first: no earlier row.

    Only a row without a previous level can be; the others are not looked up."""
    h = _change.c
    earlier = _change.alias("earlier")
    before = select(literal(1)).where(
        *_rows_of_pair(earlier, h.entity_ref, h.track_id),
        # (at, id) before the row's: one range of the index by entity and time.
        earlier.c.at <= h.at,
        or_(earlier.c.at < h.at, earlier.c.id < h.id),
    )
    return and_(h.previous_level.is_(None), ~before.exists())


def _latest_row() -> ColumnElement[bool]:
    """The history row (`certification_change`) is its pair's latest: no later row. Its
    time and level are then its certification's `changed_at` and `level`, as every
    writer of a level change writes them (a run, a push, an exemption decision)."""
    h = _change.c
    later = _change.alias("later")
    after = select(literal(1)).where(
        *_rows_of_pair(later, h.entity_ref, h.track_id),
        later.c.at >= h.at,
        or_(later.c.at > h.at, later.c.id > h.id),
    )
    return ~after.exists()


def _history_changes(
    session: Session, tracks: list[str], since: datetime, owner: str | None, *, after_gone: bool
) -> Select[Any]:
    """(track, day, level, previous level, first observation, latest, count) of the
    history rows of `tracks` since `since`; `after_gone`: only those of gone entities
    written after their entity went (few), found from the gone entities."""
    h = _change.c
    rows = select(
        h.track_id.label("track_id"),
        _day(session, h.at).label("on_day"),
        h.level.label("level"),
        h.previous_level.label("previous_level"),
        case((_first_observation(), 1), else_=0).label("is_first"),
        case((_latest_row(), 1), else_=0).label("is_latest"),
    ).where(h.at >= since, *_owned(h.entity_ref, owner))
    if after_gone:
        e, gone = _entity.c, _run.alias("gone")
        rows = (
            rows.select_from(_entity)
            .join(gone, gone.c.id == e.gone_run)
            .join(_change, h.entity_ref == e.ref)
            # `|| ''`: no index serves it, so SQLite reads the rows by entity, from the
            # gone ones, not every row of the tracks by time.
            .where(
                e.gone_run.is_not(None), h.at > _gone_at(gone), h.track_id.concat("").in_(tracks)
            )
        )
    elif owner is not None:
        # From the owner's entities by entity (`|| ''` as above), not every row of the
        # tracks in the period by time.
        rows = rows.select_from(_change).where(h.track_id.concat("").in_(tracks))
    else:
        rows = rows.select_from(_change).where(h.track_id.in_(tracks))
    r = rows.subquery().c
    keys = (r.track_id, r.on_day, r.level, r.previous_level, r.is_first, r.is_latest)
    return select(*keys, func.count()).group_by(*keys)


def _set_since(tracks: list[str], since: datetime, owner: str | None) -> Select[Any]:
    """(track, time, level, count) of the certifications of `tracks` whose level was set
    since `since`: first stored then (an arrival, when its level never changed since: it
    has no history row) or changed then (its latest history row, which `level_trends`
    takes off). Nothing is asked of the history per certification.

    By the time itself, not its day: the times are few (a run's, or a large run's
    slices'), and an index by track and time (and level) would give these rows in order,
    read from the index alone. Without one, SQLite reads the tracks' certifications."""
    c = _certification.c
    keys = (c.track_id, c.changed_at, c.level)
    return (
        select(*keys, func.count())
        .where(c.track_id.in_(tracks), c.changed_at >= since, *_owned(c.entity_ref, owner))
        .group_by(*keys)
    )


def _arrivals_after_gone(session: Session, since: datetime, owner: str | None) -> Select[Any]:
    """(track, day, level, count) of the pairs of gone entities first stored since
    `since` and after their entity went, whose level never changed (no history row):
    arrivals that count in no day. Found from the gone entities."""
    c, e = _certification.c, _entity.c
    gone = _run.alias("gone")
    never_changed = (
        ~select(literal(1)).where(*_rows_of_pair(_change, c.entity_ref, c.track_id)).exists()
    )
    rows = (
        select(
            c.track_id.label("track_id"),
            _day(session, c.changed_at).label("on_day"),
            c.level.label("level"),
        )
        .select_from(_entity)
        .join(gone, gone.c.id == e.gone_run)
        .join(_certification, c.entity_ref == e.ref)
        .where(
            e.gone_run.is_not(None),
            c.entity_ref.in_(_gone_refs()),
            c.changed_at >= since,
            c.changed_at > _gone_at(gone),
            never_changed,
            *_owned(c.entity_ref, owner),
        )
    )
    return _counted(rows.subquery().c)


def _departures(session: Session, since: datetime, owner: str | None) -> Select[Any]:
    """(track, day, level, count) of the pairs of entities gone since `since`, at the
    level each held when its entity went; pairs not yet observed then are left out. Of
    every track, found from the gone entities."""
    c, e, h = _certification.c, _entity.c, _change.c
    gone = _run.alias("gone")
    went = _gone_at(gone)
    of_pair = _rows_of_pair(_change, c.entity_ref, c.track_id)
    held_rows = select(literal(1)).where(*of_pair, h.at <= went)
    last_held = (
        select(h.level)
        .where(*of_pair, h.at <= went)
        .order_by(h.at.desc(), h.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    never_changed = ~select(literal(1)).where(*of_pair).exists()
    rows = (
        select(
            c.track_id.label("track_id"),
            _day(session, went).label("on_day"),
            case((held_rows.exists(), last_held), else_=c.level).label("level"),
        )
        .select_from(_entity)
        .join(gone, gone.c.id == e.gone_run)
        .join(_certification, c.entity_ref == e.ref)
        .where(
            e.gone_run.is_not(None),
            c.entity_ref.in_(_gone_refs()),
            went >= since,
            or_(held_rows.exists(), and_(never_changed, c.changed_at <= went)),
        )
        .where(*([func.lower(e.owner) == owner.lower()] if owner is not None else []))
        .subquery()
    )
    r = rows.c
    return _counted(r)


def _counted(rows: Any) -> Select[Any]:
    """(track, day, level, count) of `rows`' columns. Grouped by day first: grouped by
    track and level first, SQLite would read the certifications in the order of their
    index by track and level, one row lookup each, rather than scan the table."""
    return select(rows.track_id, rows.on_day, rows.level, func.count()).group_by(
        rows.on_day, rows.track_id, rows.level
    )


def _counts_now(
    session: Session, tracks: list[str], owner: str | None
) -> dict[str, dict[Level, int]]:
    """Entities per level of each track now, from the kept roll-ups."""
    k = _rollup.c
    # An owner's rows by its name alone, as `queries._kept_rollups` finds them.
    scope = [func.lower(k.owner) == owner.lower()] if owner is not None else [k.by_owner == false()]
    total = cast(func.sum(k.count), BigInteger)
    query = (
        select(k.track_id, k.level, total)
        .where(*scope, k.track_id.in_(tracks), k.check_id.is_(None))
        .group_by(k.track_id, k.level)
    )
    found: dict[str, dict[Level, int]] = defaultdict(dict)
    for track, level, count in session.execute(query):
        found[track][level] = int(count or 0)
    return found


def _walk_back(
    track_id: str,
    days: list[date],
    now: Mapping[Level, int],
    deltas: Mapping[str, Mapping[Level, int]],
) -> LevelTrend:
    """The counts at the end of each of `days`: those of the last are `now`, each day
    before them less the changes of the day after it. Leading days when nothing was held
    are left out."""
    state = dict(now)
    counts: list[dict[Level, int]] = []
    for day in reversed(days):
        # On PostgreSQL the roll-ups and the history are read in statements of their own:
        # a run committed between them could leave a count a few short for a moment.
        counts.append({level: max(count, 0) for level, count in state.items() if count})
        for level, change in deltas.get(day.isoformat(), {}).items():
            state[level] = state.get(level, 0) - change
    counts.reverse()
    start = next((n for n, held in enumerate(counts) if sum(held.values())), len(counts))
    return LevelTrend(track_id, days[start:], counts[start:])


def ranked_levels(levels: Iterable[str]) -> dict[str, int]:
    """Each level id's step on a ladder given lowest first (no level is step 0)."""
    return {level: position for position, level in enumerate(levels, start=1)}
