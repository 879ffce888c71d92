"""Saving a run's report: diff it against the stored state, write only what changed.

Every table is read in a few bulk queries, compared in Python, and written with one
executemany statement per table, all inside the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    Row,
    Select,
    Table,
    bindparam,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from scorecard.entity import Entity
from scorecard.grace import stale
from scorecard.notify.events import CHECK_FAILING, Event, emit, level_change
from scorecard.report import OUTCOME_BY_CODE, Layout, PairResults, RunReport, shown_message
from scorecard.results import Outcome
from scorecard.store.bulk import fast_insert
from scorecard.store.queries import RollupCounts, recount_rollups, write_rollups
from scorecard.store.search import terms_of
from scorecard.store.tables import (
    CertificationChange,
    CertificationRecord,
    EntityRecord,
    PairResultsRecord,
    ResultChange,
    ResultRecord,
    RunRecord,
    RunStatus,
    SearchTermRecord,
    TrackLayoutRecord,
)

# Bound parameters per IN list: far below SQLite's limit, and few round trips.
_CHUNK = 500

_run = RunRecord.__table__
_entity = EntityRecord.__table__
_result = ResultRecord.__table__
_result_change = ResultChange.__table__
_certification = CertificationRecord.__table__
_certification_change = CertificationChange.__table__
_pair_result = PairResultsRecord.__table__
_search_term = SearchTermRecord.__table__
_track_layout = TrackLayoutRecord.__table__


@dataclass(frozen=True, slots=True)
class WriteStats:
    """What one saved run wrote."""

    # Latest results inserted or updated (a check moved to another level is updated too).
    results_written: int
    # Result and certification history rows appended.
    history_rows: int
    # Latest certifications inserted or updated.
    certifications_changed: int
    # Entities whose document was new or changed.
    entities_written: int
    # Latest results deleted because their check is no longer in the track.
    results_removed: int


def write_run(
    session: Session,
    run_id: int,
    report: RunReport,
    at: datetime,
    *,
    catalog_complete: bool = False,
    notify: bool = False,
) -> WriteStats:
    """Write `report` as the outcome of run `run_id`, observed at `at`, and finish the run.

    With `catalog_complete`, `report.entities` is the whole catalog: stored entities not
    in it are marked gone. A partial listing marks nothing gone.
    """
    writer = RunWriter(session, run_id, catalog_complete=catalog_complete, notify=notify)
    writer.write_entities(report.entities)
    return writer.finish(report, at)


class RunWriter:
    """A run's writes, in the caller's transaction, in two steps: the entities, which
    are known before the run is evaluated, then the results. A run evaluated in forked
    processes writes its entities while they evaluate (`evaluate(meanwhile=...)`)."""

    def __init__(
        self,
        session: Session,
        run_id: int,
        *,
        catalog_complete: bool,
        load: Callable[[PairResults], str] | None = None,
        notify: bool = False,
    ) -> None:
        self.session = session
        # Levels lost or gained and required checks that start failing go to the outbox.
        self.notify = notify
        # Reads a written pair's packed text back once the run is committed: given, the
        # pairs `write_pairs` writes let go of theirs (`PairResults.release`).
        self._load = load
        self.run_id = run_id
        self.catalog_complete = catalog_complete
        self._entities: _EntityWrites | None = None
        self._streamed: _StreamedPairs | None = None
        self._listed: list[Entity] = []

    def write_entities(self, entities: list[Entity]) -> None:
        """Write the entities whose document is new or changed; with `catalog_complete`,
        mark gone those stored and not listed. Raises `LookupError` for an unknown run."""
        # The run row is written first so that, on SQLite, the transaction holds the
        # write lock before it reads the state it diffs against: a concurrent run cannot
        # slip in.
        touched = self.session.execute(
            update(_run).where(_run.c.id == self.run_id).values(heartbeat_at=datetime.now(UTC))
        )
        if touched.rowcount != 1:
            raise LookupError(f"there is no run {self.run_id}")
        self._entities = _write_entities(self.session, self.run_id, entities, self.catalog_complete)
        self._listed = entities

    def write_pairs(self, pairs: list[PairResults], at: datetime) -> None:
        """Write evaluated pairs as they come in, before `finish`: a large run's slices,
        while its forked processes evaluate the next. New pairs are inserted now; changed
        ones are compared and written by `finish`, which then takes the report's pairs as
        written and checks that every evaluated pair was. After `write_entities`.

        `at` stamps the new pairs' certifications: when they came in (`finish` stamps
        what it writes with the run's end)."""
        if self._entities is None:
            raise RuntimeError("the run's entities are written before its results")
        streamed = self._streamed
        if streamed is None:
            streamed = self._streamed = _StreamedPairs()
        session = self.session
        unread = sorted({pair.track_id for pair in pairs} - streamed.stored.keys())
        streamed.stored.update(_stored_states(session, unread))  # once per track
        new, changed = _new_and_changed(pairs, streamed.stored)
        streamed.count += len(pairs)
        streamed.layouts.update(_layout_ids(session, [*new, *changed], streamed.layouts))
        _insert_new_pairs(session, self.run_id, new, at, streamed.layouts)
        streamed.new.extend(new)
        streamed.changed.extend(changed)
        if self._load is not None:
            # The store has them: a large run holds no slice's text past its writing.
            for pair in new:
                pair.release(self._load)
            streamed.released = streamed.released or bool(new)
        # A track with no pair stored is on its first run: its roll-ups are counted from
        # its pairs as they come (used by `finish` if every pair is of a listed entity).
        first = [pair for pair in new if not streamed.stored[pair.track_id]]
        if first:
            if streamed.owners is None:
                streamed.owners = {e.ref: storable(e.owner) for e in self._listed}
            if all(pair.entity_ref in streamed.owners for pair in first):
                streamed.rollups.add(first, streamed.owners)
            else:
                streamed.unlisted = True

    @property
    def holds_every_result(self) -> bool:
        """Whether every pair given still holds its packed text: if this transaction
        fails, the report can be saved again from what it holds."""
        return self._streamed is None or not self._streamed.released

    def finish(self, report: RunReport, at: datetime) -> WriteStats:
        """Write the report's results, as observed at `at`, and finish the run: after
        `write_entities` of the report's entities."""
        session, run_id, entities = self.session, self.run_id, self._entities
        if entities is None:
            raise RuntimeError("the run's entities are written before its results")
        streamed = self._streamed
        if streamed is None:
            new_pairs, changed_pairs, tracks_stored = _sort_pairs(session, report)
            layouts = _layout_ids(session, [*new_pairs, *changed_pairs])
            _insert_new_pairs(session, run_id, new_pairs, at, layouts)
        else:
            evaluated = sum(1 for pair in report.pairs if not pair.reused)
            if evaluated != streamed.count:
                raise RuntimeError(
                    f"the report has {evaluated:,} evaluated pairs; "
                    f"{streamed.count:,} were written as they came in"
                )
            new_pairs, changed_pairs, layouts = streamed.new, streamed.changed, streamed.layouts
            kept_tracks = {pair.track_id for pair in report.pairs if pair.reused}
            tracks_stored = {track for track, held in streamed.stored.items() if held}
            tracks_stored |= kept_tracks
        changes = _write_changed_pairs(
            session, run_id, changed_pairs, at, layouts, notify=self.notify
        )
        # A result that appeared counts as changed, as it did when it had a history row.
        appeared = sum(len(pair.layout) for pair in new_pairs)
        session.execute(
            update(_run)
            .where(_run.c.id == run_id)
            .values(
                status=RunStatus.FINISHED,
                finished_at=at,
                entities=len(report.entities),
                results=report.result_count,
                errors=report.error_count,
                problems=[storable(str(p)) for p in report.problems],
                changed=appeared + changes.results_changed,
            )
        )
        pairs = [(p.entity_ref, p.track_id) for p in (*new_pairs, *changed_pairs)]
        tracks = _touched_tracks(session, run_id, pairs, entities)
        # A track's first run: every pair of it is new and in hand, so its roll-ups are
        # counted here rather than read back (the same counts, tests/store/test_rollups.py).
        fresh = {p.track_id for p in new_pairs} - tracks_stored
        if streamed is not None:
            if streamed.unlisted:
                fresh = set()
            elif fresh:
                streamed.rollups.write(session, fresh)
        elif fresh and not _all_listed(new_pairs, report.entities):
            fresh = set()
        elif fresh:
            # Owners as the entity table spells them (NUL replaced; see `storable`).
            owners = {entity.ref: storable(entity.owner) for entity in report.entities}
            write_rollups(session, fresh, new_pairs, owners)
        if tracks - fresh:
            owners_touched = _touched_owners(session, pairs, entities, entities.owners_before)
            recount_rollups(session, tracks - fresh, owners_touched)
        return WriteStats(
            results_written=appeared + changes.results_written,
            history_rows=changes.history_rows,
            certifications_changed=len(new_pairs) + changes.certifications_written,
            entities_written=entities.written,
            results_removed=changes.results_removed,
        )


@dataclass(slots=True)
class _StreamedPairs:
    """What `RunWriter.write_pairs` has written and read so far."""

    count: int = 0  # pairs given
    new: list[PairResults] = field(default_factory=list)  # inserted
    changed: list[PairResults] = field(default_factory=list)  # left for `finish`
    layouts: dict[int, int] = field(default_factory=dict)  # see `_layout_ids`
    # Roll-ups of the tracks on their first run, counted from their new pairs.
    rollups: RollupCounts = field(default_factory=RollupCounts)
    owners: dict[str, str | None] | None = None  # by entity ref, as the entity table has them
    unlisted: bool = False  # a new pair of an entity the run did not list
    released: bool = False  # some pair let go of its text (`RunWriter.holds_every_result`)
    # The stored pairs of the tracks met so far (`_stored_states`).
    stored: dict[str, dict[str, _PairState]] = field(default_factory=dict)


def _all_listed(pairs: list[PairResults], entities: list[Entity]) -> bool:
    listed = {entity.ref for entity in entities}
    return all(pair.entity_ref in listed for pair in pairs)


def _touched_tracks(
    session: Session, run_id: int, pairs: Iterable[Pair], entities: _EntityWrites
) -> set[str]:
    """The tracks whose roll-ups the run may have changed: those of the pairs it wrote,
    and every track of an entity it wrote (its owner may have changed, or it is back
    after being gone) or marked gone. A run that changed nothing touches none.

    An entity stored for the first time has no pair but those the run wrote (a pair's
    entity is stored first): only entities stored before are looked up."""
    tracks = {track for _, track in pairs}
    c, e = _certification.c, _entity.c
    if len(entities.moved) > _OWNERS_RECOUNTED:
        moved = select(e.ref).where(or_(e.updated_run == run_id, e.gone_run == run_id))
        tracks.update(session.scalars(select(c.track_id).distinct().where(c.entity_ref.in_(moved))))
    elif entities.moved:
        query = select(c.track_id).distinct()
        tracks.update(track for (track,) in _rows_in(session, query, c.entity_ref, entities.moved))
    return tracks


# Above this many entities changed, every owner is recounted in one GROUP BY rather than
# the changed ones looked up by name.
_OWNERS_RECOUNTED = 2_000


def _touched_owners(
    session: Session,
    pairs: Iterable[Pair],
    entities: _EntityWrites,
    before: dict[str, str | None],
) -> set[str | None] | None:
    """The owners (lower-cased; None: unowned) whose roll-ups the run may have changed:
    those of the pairs it wrote and of the entities it wrote or marked gone, as they are
    and as they were before the run. None (every owner) when the run changed many."""
    e = _entity.c
    refs = {ref for ref, _ in pairs} | entities.touched
    if len(refs) > _OWNERS_RECOUNTED:
        return None
    owners = {before[ref] for ref in refs if ref in before}
    owners.update(owner for (owner,) in _rows_in(session, select(e.owner), e.ref, refs))
    return {owner.lower() if owner is not None else None for owner in owners}


@dataclass(frozen=True, slots=True)
class _EntityWrites:
    """What writing the entities did."""

    written: int  # entities whose document was new or changed
    # The entities written or marked gone: those whose `updated_run` or `gone_run` is
    # the run.
    touched: set[str]
    # Those of them that were stored before the run.
    moved: set[str]
    # The owner of every entity stored before the run, as it was.
    owners_before: dict[str, str | None]


# `dump_json`, which the JSON column writes with, made once and without its check for
# a document that contains itself (a parsed catalog document cannot; encoding one would
# fail all the same, on the depth of the recursion): a third faster per document.
_entity_json = json.JSONEncoder(ensure_ascii=False, default=str, check_circular=False).encode

# The entity columns a run writes, in the order of the rows `_write_entities` makes.
_ENTITY_COLUMNS = (
    "ref", "kind", "namespace", "name", "title", "owner", "type", "lifecycle", "raw",
    "source", "digest", "first_seen_run", "updated_run", "gone_run",
)  # fmt: skip


def _write_entities(
    session: Session, run_id: int, entities: list[Entity], catalog_complete: bool
) -> _EntityWrites:
    """Write the entities whose document is new or changed, and mark gone those no
    longer listed."""
    if not entities and not catalog_complete:
        # A run that lists no entity (a push certifying stored pairs again) writes none:
        # reading every stored one would cost a large catalog's push a full scan.
        return _EntityWrites(written=0, touched=set(), moved=set(), owners_before={})
    by_ref = {e.ref: e for e in entities}
    # One pass over every stored entity costs less than many IN lists; through the
    # driver, as a re-run of a large catalog reads every row and changes none.
    stored: dict[str, tuple[str, int | None]] = {}
    owners_before: dict[str, str | None] = {}
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute("SELECT ref, digest, gone_run, owner FROM entity")
        rows = cursor.fetchall()
    finally:
        cursor.close()
    for ref, digest, gone, owner in rows:
        stored[ref] = (digest, gone)
        owners_before[ref] = owner
    vanished: list[str] = []
    if catalog_complete:
        vanished = [ref for ref, (_, gone) in stored.items() if gone is None and ref not in by_ref]
        for chunk in range(0, len(vanished), 500):
            session.execute(
                update(_entity)
                .where(_entity.c.ref.in_(vanished[chunk : chunk + 500]))
                .values(gone_run=run_id)
            )
    # Entities never stored go in by the driver's own path (`fast_insert`), their
    # document as JSON text; the others are upserted.
    new: list[tuple[Any, ...]] = []
    inserted: list[str] = []
    changed: list[dict[str, Any]] = []
    # The search terms (`scorecard.store.search`) of the new entities, written after
    # them, and of the changed ones, which replace what their old name and title gave.
    new_terms: list[tuple[str, str]] = []
    changed_terms: list[tuple[str, str]] = []
    for ref, entity in by_ref.items():
        if len(new) == _ENTITIES_PER_INSERT:
            # In chunks: the documents of a whole large catalog as JSON text at once
            # would add a tenth of a gigabyte to the run's peak.
            fast_insert(session, _entity, _ENTITY_COLUMNS, new)
            _insert_search_terms(session, new_terms)
            new, new_terms = [], []
        before = stored.get(ref)
        if before is not None and before[1] is None and before[0] == entity.digest():
            continue  # unchanged, and listed: the common case of a re-run
        row = entity_row(entity)
        # An unchanged entity costs no write, unless it comes back after being gone.
        if before == (row.digest, None):
            continue
        stored_ref, _, _, name, title = row.values[:5]  # with NUL replaced, as stored
        terms = [(term, stored_ref) for term in terms_of(stored_ref, name, title)]
        if before is None:
            new.append((*row.values, row.digest, run_id, run_id, None))
            new_terms.extend(terms)
            inserted.append(ref)
        else:
            values = dict(zip(_ENTITY_COLUMNS, (*row.values, row.digest), strict=False))
            values["raw"] = orjson.loads(values["raw"])  # the JSON column takes the document
            back = {"first_seen_run": run_id, "updated_run": run_id, "gone_run": None}
            changed.append(values | back)
            changed_terms.extend(terms)
    fast_insert(session, _entity, _ENTITY_COLUMNS, new)
    _insert_search_terms(session, new_terms)
    _delete_search_terms(session, [row["ref"] for row in changed])
    _upsert(session, _entity, changed, keep=("first_seen_run",))
    _insert_search_terms(session, changed_terms)
    moved = {row["ref"] for row in changed}
    moved.update(vanished)
    return _EntityWrites(
        written=len(inserted) + len(changed),
        touched=moved.union(inserted),
        moved=moved,
        owners_before=owners_before,
    )


_ENTITIES_PER_INSERT = 10_000


def _insert_search_terms(session: Session, terms: list[tuple[str, str]]) -> None:
    # In the index's order: appending to a B-tree costs far less than inserting at random.
    terms.sort()
    fast_insert(session, _search_term, ("term", "entity_ref"), terms)


def _delete_search_terms(session: Session, refs: list[str]) -> None:
    """Delete the terms the stored name and title of these entities gave. The table has
    no index by entity (a second index would cost every cold run as much again), so the
    terms are found by the primary key, from what they were made of."""
    e = _entity.c
    old: list[dict[str, str]] = []
    for chunk in range(0, len(refs), _CHUNK):
        rows = session.execute(
            select(e.ref, e.name, e.title).where(e.ref.in_(refs[chunk : chunk + _CHUNK]))
        )
        for ref, name, title in rows:
            old.extend({"t": term, "r": ref} for term in terms_of(ref, name, title))
    if old:
        t = _search_term.c
        session.execute(
            delete(_search_term).where(t.term == bindparam("t"), t.entity_ref == bindparam("r")),
            old,
        )


@dataclass(frozen=True, slots=True)
class EntityRow:
    """An entity as the store writes it."""

    digest: str
    # ref, kind, namespace, name, title, owner, type, lifecycle, the document as JSON
    # text, source: `_ENTITY_COLUMNS` up to the digest.
    values: tuple[Any, ...]


def entity_row(entity: Entity) -> EntityRow:
    """The row of `entity`; NUL in its document or source is stored as U+FFFD (see
    `storable`), and the digest is then that of the document as stored."""
    text = _document_json(entity.raw)
    if "\\u0000" in text or (entity.source is not None and "\x00" in entity.source):
        entity = Entity(storable(entity.raw), storable(entity.source))
        text = _document_json(entity.raw)
    return EntityRow(
        entity.digest(),
        (
            entity.ref, entity.kind, entity.namespace, entity.name, entity.title, entity.owner,
            entity.type, entity.lifecycle, text, entity.source,
        ),
    )  # fmt: skip


def _document_json(document: dict[str, Any]) -> str:
    try:
        return orjson.dumps(document, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        # What orjson refuses (an integer past 64 bits) the JSON column writes as it can.
        return _entity_json(document)


Pair = tuple[str, str]  # (entity ref, track id)


def _sort_pairs(
    session: Session, report: RunReport
) -> tuple[list[PairResults], list[PairResults], set[str]]:
    """Split the report's (entity, track) pairs into new ones, changed ones and — left
    out — those stored with the same level and results digest, which need nothing written
    or compared; and say which of the report's tracks had any pair stored."""
    # Pairs a run kept (`Store.kept_pairs`) are stored as they are: nothing to compare.
    evaluated = [pair for pair in report.pairs if not pair.reused]
    tracks = sorted({pair.track_id for pair in evaluated})
    # A few entities: their pairs found by their keys; more: every pair of the tracks.
    few = len(evaluated) <= _OWNERS_RECOUNTED
    refs = {pair.entity_ref for pair in evaluated} if few else None
    states = _stored_states(session, tracks, refs)
    new, changed = _new_and_changed(evaluated, states)
    kept_tracks = {pair.track_id for pair in report.pairs if pair.reused}
    return new, changed, {track for track, held in states.items() if held} | kept_tracks


# A stored pair as a re-run compares it: level, next level, results digest, inputs digest.
_PairState = tuple[str | None, str | None, str | None, str | None]


def _stored_states(
    session: Session, tracks: Sequence[str], refs: Iterable[str] | None = None
) -> dict[str, dict[str, _PairState]]:
    """The stored pairs of `tracks` (of the entities `refs` only, when given), by track
    and entity ref."""
    states: dict[str, dict[str, _PairState]] = {track: {} for track in tracks}
    if not tracks:
        return states
    c = _certification.c
    query = select(
        c.entity_ref, c.track_id, c.level, c.next_level, c.results_digest, c.inputs_digest
    ).where(c.track_id.in_(tracks))
    rows = session.execute(query) if refs is None else _rows_in(session, query, c.entity_ref, refs)
    for ref, track, level, next_level, digest, inputs in rows:
        states[track][ref] = (level, next_level, digest, inputs)
    return states


def _new_and_changed(
    pairs: Iterable[PairResults], states: Mapping[str, Mapping[str, _PairState]]
) -> tuple[list[PairResults], list[PairResults]]:
    """The pairs never stored, and those stored otherwise; the rest are as stored."""
    new: list[PairResults] = []
    changed: list[PairResults] = []
    for pair in pairs:
        old = states[pair.track_id].get(pair.entity_ref)
        if old is None:
            new.append(pair)
        elif old != (pair.level, pair.next_level, pair.digest, pair.inputs_digest):
            changed.append(pair)
    return new, changed


@dataclass(frozen=True, slots=True)
class _Changes:
    """What writing the changed pairs did."""

    results_changed: int  # results whose outcome, message or evidence changed, or appeared
    results_written: int  # those, and results that only moved to another level
    results_removed: int  # results of checks no longer in their track
    history_rows: int
    certifications_written: int


def _layout_ids(
    session: Session, pairs: list[PairResults], known: Mapping[int, int] | None = None
) -> dict[int, int]:
    """The `track_layout` id of each pair's layout, by the layout's object id (a track's
    pairs share one tuple), made for the layouts not stored yet; those in `known` (ids
    found before, by object id) are left out."""
    known = known or {}
    by_object = {id(p.layout): (p.track_id, p.layout) for p in pairs if id(p.layout) not in known}
    if not by_object:
        return {}
    t = _track_layout.c
    tracks = sorted({track for track, _ in by_object.values()})
    stored = {
        (track, checks): layout_id
        for layout_id, track, checks in session.execute(
            select(t.id, t.track_id, t.checks).where(t.track_id.in_(tracks))
        )
    }
    found = {}
    for key, (track, layout) in by_object.items():
        checks = orjson.dumps([list(entry) for entry in layout]).decode()
        layout_id = stored.get((track, checks))
        if layout_id is None:
            layout_id = stored[track, checks] = session.execute(
                insert(_track_layout).values(track_id=track, checks=checks).returning(t.id)
            ).scalar_one()
        found[key] = layout_id
    return found


def _write_changed_pairs(
    session: Session,
    run_id: int,
    pairs: list[PairResults],
    at: datetime,
    layouts: Mapping[int, int],
    *,
    notify: bool = False,
) -> _Changes:
    """Rewrite each changed pair's row: results compared one by one with the stored ones,
    a history row for each that changed and for a level that changed; with `notify`, an
    outbox event for each level lost or gained and each required check that went from
    pass to fail.

    The first observation of a result or level has no history row of its own (the latest
    state is it): when it first changes, it is written first, so the history of every
    result that ever changed starts where it did.
    """
    if not pairs:
        return _Changes(0, 0, 0, 0, 0)
    c, r = _certification.c, _pair_result.c
    wanted = {(p.entity_ref, p.track_id) for p in pairs}
    refs = {ref for ref, _ in wanted}
    query = select(
        c.entity_ref, c.track_id, c.level, c.next_level, c.run_id, c.changed_at,
        c.outcomes, c.layout_id, r.results, r.first_run, r.results_since,
    ).outerjoin_from(
        _certification, _pair_result, (r.entity_ref == c.entity_ref) & (r.track_id == c.track_id)
    )  # fmt: skip
    stored = {
        (row.entity_ref, row.track_id): row
        for row in _rows_in(session, query, c.entity_ref, refs)
        if (row.entity_ref, row.track_id) in wanted
    }
    h = _result_change.c
    results_with_history = {
        tuple(row)
        for row in _rows_in(
            session, select(h.entity_ref, h.track_id, h.check_id).distinct(), h.entity_ref, refs
        )
    }
    ch = _certification_change.c
    levels_with_history = {
        tuple(row)
        for row in _rows_in(
            session, select(ch.entity_ref, ch.track_id).distinct(), ch.entity_ref, refs
        )
    }
    run_times = _run_times(session, stored.values())
    stored_layouts = _stored_layouts(session, {row.layout_id for row in stored.values()})
    postgresql = session.get_bind().dialect.name == "postgresql"
    rows: list[dict[str, Any]] = []
    result_rows: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    level_history: list[dict[str, Any]] = []
    notices: list[Event] = []
    changed = written = removed = 0

    def observed(
        ref: str, track: str, item: list[Any], previous: str | None, run: int, when: datetime
    ) -> dict[str, Any]:
        return {
            "entity_ref": ref, "track_id": track, "check_id": item[0], "outcome": item[3],
            "previous_outcome": previous, "message": item[4], "evidence": _evidence(item),
            "run_id": run, "at": when,
        }  # fmt: skip

    for pair in pairs:
        ref, track = key = (pair.entity_ref, pair.track_id)
        old = stored[key]
        first_run = old.first_run if old.first_run is not None else old.run_id
        old_items = _items(ref, old.results, stored_layouts.get(old.layout_id), old.outcomes)
        old_since = old.results_since or [None] * len(old_items)
        before = {
            item[0]: (item, since if since is not None else first_run)
            for item, since in zip(old_items, old_since, strict=False)
        }
        packed = json.loads(pair.packed)
        items = _items(ref, packed, pair.layout, pair.codes)
        since: list[int | None] = []
        for item in items:
            kept = before.pop(item[0], None)
            if kept is not None and kept[0][3:] == item[3:]:
                since.append(None if kept[1] == first_run else kept[1])
                if kept[0][1:3] != item[1:3]:  # only moved to another level
                    written += 1
                continue
            changed += 1
            written += 1
            since.append(run_id)
            was = _counted(kept[0]) if notify and kept is not None and item[2] else None
            if (was, item[3]) == _PASS_TO_FAIL:
                notices.append(_check_failing(ref, track, item, run_id, at))
            if kept is not None and (ref, track, item[0]) not in results_with_history:
                history.append(observed(ref, track, kept[0], None, kept[1], run_times[kept[1]]))
            history.append(observed(ref, track, item, kept[0][3] if kept else None, run_id, at))
        # Checks no longer in the track: their latest result goes, their history stays.
        for check, (item, run) in before.items():
            removed += 1
            if (ref, track, check) not in results_with_history:
                history.append(observed(ref, track, item, None, run, run_times[run]))
        level_changed = old.level != pair.level
        if level_changed:
            if key not in levels_with_history:
                level_history.append(
                    _level_row(ref, track, old.level, None, old.run_id, old.changed_at)
                )
            level_history.append(_level_row(ref, track, pair.level, old.level, run_id, at))
            if notify:
                notices.append(_level_event(ref, track, pair, old.level, items, run_id, at))
        rows.append(
            {
                "entity_ref": ref,
                "track_id": track,
                "level": pair.level,
                "next_level": pair.next_level,
                "run_id": run_id if level_changed else old.run_id,
                "changed_at": at if level_changed else old.changed_at,
                "results_digest": pair.digest,
                "inputs_digest": pair.inputs_digest,
                "outcomes": pair.codes,
                "layout_id": layouts[id(pair.layout)],
            }
        )
        result_rows.append(
            {
                "entity_ref": ref,
                "track_id": track,
                # JSONB on PostgreSQL takes the document; SQLite keeps the packed text.
                "results": packed if postgresql else pair.packed,
                "first_run": first_run,
                "results_since": since if any(s is not None for s in since) else None,
            }
        )
    _upsert(session, _certification, rows)
    _upsert(session, _pair_result, result_rows)
    _insert(session, _result_change, history)
    _insert(session, _certification_change, level_history)
    emit(session, notices)
    return _Changes(changed, written, removed, len(history) + len(level_history), len(rows))


_PASS_TO_FAIL = (Outcome.PASS, Outcome.FAIL)
_BLOCKING = (Outcome.FAIL, Outcome.ERROR, Outcome.UNKNOWN)


def _check_failing(ref: str, track: str, item: list[Any], run_id: int, at: datetime) -> Event:
    check, level = item[0], item[1]
    return Event(
        CHECK_FAILING,
        f"{CHECK_FAILING}:run:{run_id}:{ref}:{track}:{check}",
        at,
        run_id=run_id,
        entity_ref=ref,
        track_id=track,
        data={"check": check, "level": level, "message": item[4]},
    )


def _level_event(
    ref: str,
    track: str,
    pair: PairResults,
    previous: str | None,
    items: list[list[Any]],
    run_id: int,
    at: datetime,
) -> Event:
    """A level lost or gained in a run, with the required checks of the first level not
    reached that hold it back (what the message tells the team to fix)."""
    event = level_change(
        ref, track, pair.level, previous, pair.layout, at,
        why=f"run {run_id}", cause=f"run:{run_id}", run_id=run_id,
    )  # fmt: skip
    event.data["blocking"] = [
        {"check": item[0], "outcome": str(item[3]), "message": item[4]}
        for item in items
        if item[1] == pair.next_level and item[2] and _counted(item) in _BLOCKING
    ]
    return event


def _level_row(
    ref: str, track: str, level: str | None, previous: str | None, run: int, when: datetime
) -> dict[str, Any]:
    return {
        "entity_ref": ref, "track_id": track, "level": level, "previous_level": previous,
        "run_id": run, "at": when,
    }  # fmt: skip


def _items(ref: str, value: Any, layout: Layout | None, codes: str | None) -> list[list[Any]]:
    """A pair's packed results (text, or the document PostgreSQL hands back) as
    `[check_id, level_id, required, outcome, message, evidence]` lists, evidence left out
    when empty: each result whole, for comparing and for history rows."""
    packed = json.loads(value) if isinstance(value, str) else list(value or [])
    if not packed:
        return []
    if layout is None or codes is None or not len(packed) == len(layout) == len(codes):
        raise ValueError(f"the stored results of {ref} do not match their layout")
    items = []
    for (check_id, level_id, required), code, item in zip(layout, codes, packed, strict=True):
        kept, evidence = (item[0], item[1]) if isinstance(item, list) else (item, None)
        found = [check_id, level_id, required, OUTCOME_BY_CODE[code], shown_message(ref, kept)]
        items.append([*found, evidence] if evidence else found)
    return items


def _stored_layouts(session: Session, layout_ids: Iterable[int | None]) -> dict[int, Layout]:
    """The stored layouts of these ids (`track_layout.checks`), as tuples."""
    wanted = sorted(i for i in layout_ids if i is not None)
    if not wanted:
        return {}
    t = _track_layout.c
    rows = session.execute(select(t.id, t.checks).where(t.id.in_(wanted)))
    return {i: tuple((e[0], e[1], bool(e[2])) for e in json.loads(checks)) for i, checks in rows}


def _evidence(item: list[Any]) -> dict[str, Any]:
    return item[5] if len(item) > 5 else {}


def _counted(item: list[Any]) -> Outcome:
    """A result's outcome as it counts for the level: a graced one's last known outcome
    (`scorecard.grace`), so that an outage in between neither hides a pass turning into a
    fail nor lists a graced check as holding a level back."""
    grace = stale(item[3], _evidence(item))
    return grace.outcome if grace is not None else item[3]


def _run_times(session: Session, rows: Iterable[Row[Any]]) -> dict[int, datetime]:
    """When each run that the stored results last changed in finished: their time."""
    runs: set[int] = set()
    for row in rows:
        runs.add(row.run_id)
        if row.first_run is not None:
            runs.add(row.first_run)
        runs.update(run for run in row.results_since or () if run is not None)
    r = _run.c
    found: dict[int, datetime] = {}
    ordered = sorted(runs)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        query = select(RunRecord.id, RunRecord.finished_at).where(r.id.in_(chunk))
        found.update({run: at for run, at in session.execute(query)})
    return found


REPLACEMENT_CHARACTER = "\ufffd"


def storable(value: Any) -> Any:
    """`value` with each NUL in its text, keys included, replaced by U+FFFD.

    Catalog data is written by every team, and PostgreSQL refuses NUL in text and
    `\\u0000` in JSONB. Replacing it keeps everything else a team wrote (dropping the
    entity or failing the run would lose far more), marks where the byte was, and stores
    the same text on SQLite and PostgreSQL, so that both read back alike and a re-run of
    the same catalog finds nothing changed.
    """
    if isinstance(value, str):
        return value.replace("\x00", REPLACEMENT_CHARACTER)
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [storable(item) for item in value]
    return value


def _insert_new_pairs(
    session: Session,
    run_id: int,
    pairs: list[PairResults],
    at: datetime,
    layouts: Mapping[int, int],
) -> None:
    """Pairs never stored before: one row each, their results as the run packed them.
    No history row: until a result or the level changes, the latest state is all there is
    to tell (`Store.result_history` shows it as the first observation)."""
    if not pairs:
        return
    at_db = _bind(_certification.c.changed_at, at, session.get_bind().dialect)
    levels = [
        (
            p.entity_ref, p.track_id, p.level, p.next_level, run_id, at_db, p.digest,
            p.inputs_digest, p.codes, layouts[id(p.layout)],
        )
        for p in pairs
    ]  # fmt: skip
    fast_insert(session, _certification, _CERTIFICATION_COLUMNS, levels)
    results = [(p.entity_ref, p.track_id, p.packed, run_id) for p in pairs]
    fast_insert(session, _pair_result, _PAIR_RESULT_COLUMNS, results)


_CERTIFICATION_COLUMNS = (
    "entity_ref", "track_id", "level", "next_level", "run_id", "changed_at", "results_digest",
    "inputs_digest", "outcomes", "layout_id",
)  # fmt: skip
_PAIR_RESULT_COLUMNS = ("entity_ref", "track_id", "results", "first_run")


def _bind(column: Column[Any], value: Any, dialect: Any) -> Any:
    """`value` as the driver receives it for `column` (its type's bind processing, as
    SQLAlchemy does it for the dialect: on SQLite, a time as the text it writes)."""
    processor = column.type.dialect_impl(dialect).bind_processor(dialect)
    return processor(value) if processor else value


def _rows_in(
    session: Session, query: Select[Any], column: Column[Any], values: Iterable[str]
) -> Iterator[Row[Any]]:
    """The rows of `query` whose `column` is one of `values`, a chunk of values at a time."""
    ordered = sorted(values)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        yield from session.execute(query.where(column.in_(chunk)))


def _insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(table), rows)


def _upsert(
    session: Session, table: Table, rows: list[dict[str, Any]], keep: Sequence[str] = ()
) -> None:
    """Insert `rows`, or update the stored row with the same key, except columns `keep`."""
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    key = [column.name for column in table.primary_key]
    statement = statement.on_conflict_do_update(
        index_elements=key,
        set_={name: statement.excluded[name] for name in rows[0] if name not in (*key, *keep)},
    )
    session.execute(statement, rows)
