"""Saving a run's report: diff it against the stored state, write only what changed.

Every table is read in a few bulk queries, compared in Python, and written with one
executemany statement per table, all inside the caller's transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Row, Select, Table, bindparam, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from scorecard.entity import Entity
from scorecard.report import Certification, CheckResult, RunReport
from scorecard.results import Result
from scorecard.store.database import dump_json
from scorecard.store.queries import recount_rollups
from scorecard.store.tables import (
    CertificationChange,
    CertificationRecord,
    EntityRecord,
    ResultChange,
    ResultRecord,
    RunRecord,
    RunStatus,
)

# Bound parameters per IN list: far below SQLite's limit, and few round trips.
_CHUNK = 500

_run = RunRecord.__table__
_entity = EntityRecord.__table__
_result = ResultRecord.__table__
_result_change = ResultChange.__table__
_certification = CertificationRecord.__table__
_certification_change = CertificationChange.__table__


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
) -> WriteStats:
    """Write `report` as the outcome of run `run_id`, observed at `at`, and finish the run.

    With `catalog_complete`, `report.entities` is the whole catalog: stored entities not
    in it are marked gone. A partial listing marks nothing gone.
    """
    # The run row is written first so that, on SQLite, the transaction holds the write
    # lock before it reads the state it diffs against: a concurrent run cannot slip in.
    finished = session.execute(
        update(_run)
        .where(_run.c.id == run_id)
        .values(
            status=RunStatus.FINISHED,
            finished_at=at,
            entities=len(report.entities),
            results=len(report.results),
            errors=report.error_count,
            problems=[storable(str(p)) for p in report.problems],
        )
    )
    if finished.rowcount != 1:
        raise LookupError(f"there is no run {run_id}")
    owners_before = _owners(session, [entity.ref for entity in report.entities])
    entities_written = _write_entities(session, run_id, report.entities, catalog_complete)
    new_pairs, changed_pairs, digests = _sort_pairs(session, report)
    fresh = _insert_new_pairs(session, run_id, new_pairs, digests, at)
    changed_results = [r for pair in changed_pairs.values() for r in pair[0]]
    changed_certifications = [c for _, c in changed_pairs.values() if c is not None]
    results_written, result_changes, removed = _write_results(session, run_id, changed_results, at)
    certifications, certification_changes = _write_certifications(
        session, run_id, changed_certifications, digests, at
    )
    results_written += fresh.results
    result_changes += fresh.results
    certifications += fresh.certifications
    certification_changes += fresh.certifications
    session.execute(update(_run).where(_run.c.id == run_id).values(changed=result_changes))
    pairs = [*new_pairs, *changed_pairs]
    tracks = _touched_tracks(session, run_id, pairs)
    if tracks:
        recount_rollups(session, tracks, _touched_owners(session, run_id, pairs, owners_before))
    return WriteStats(
        results_written=results_written,
        history_rows=result_changes + certification_changes,
        certifications_changed=certifications,
        entities_written=entities_written,
        results_removed=removed,
    )


def _touched_tracks(session: Session, run_id: int, pairs: Iterable[Pair]) -> set[str]:
    """The tracks whose roll-ups the run may have changed: those of the pairs it wrote,
    and every track of an entity it wrote (its owner may have changed, or it is back
    after being gone) or marked gone. A run that changed nothing touches none."""
    tracks = {track for _, track in pairs}
    e = _entity.c
    moved = select(e.ref).where(or_(e.updated_run == run_id, e.gone_run == run_id))
    for table in (_certification, _result):
        found = select(table.c.track_id).distinct().where(table.c.entity_ref.in_(moved))
        tracks.update(session.scalars(found))
    return tracks


# Above this many entities changed, every owner is recounted in one GROUP BY rather than
# the changed ones looked up by name.
_OWNERS_RECOUNTED = 2_000


def _touched_owners(
    session: Session, run_id: int, pairs: Iterable[Pair], before: dict[str, str | None]
) -> set[str | None] | None:
    """The owners (lower-cased; None: unowned) whose roll-ups the run may have changed:
    those of the pairs it wrote and of the entities it wrote or marked gone, as they are
    and as they were before the run. None (every owner) when the run changed many."""
    e = _entity.c
    refs = {ref for ref, _ in pairs}
    refs.update(
        session.scalars(select(e.ref).where(or_(e.updated_run == run_id, e.gone_run == run_id)))
    )
    if len(refs) > _OWNERS_RECOUNTED:
        return None
    owners = {before[ref] for ref in refs if ref in before}
    owners.update(owner for (owner,) in _rows_in(session, select(e.owner), e.ref, refs))
    return {owner.lower() if owner is not None else None for owner in owners}


def _owners(session: Session, refs: list[str]) -> dict[str, str | None]:
    """The stored owner of each of `refs` that is stored, before a run rewrites them."""
    e = _entity.c
    if len(refs) > _OWNERS_RECOUNTED:
        # One pass over the table costs less than many IN lists.
        return {ref: owner for ref, owner in session.execute(select(e.ref, e.owner))}
    return {ref: owner for ref, owner in _rows_in(session, select(e.ref, e.owner), e.ref, refs)}


def _write_entities(
    session: Session, run_id: int, entities: list[Entity], catalog_complete: bool
) -> int:
    by_ref = {e.ref: e for e in entities}
    # One pass over (ref, digest) of every stored entity costs less than many IN lists.
    stored = {
        ref: (digest, gone)
        for ref, digest, gone in session.execute(
            select(_entity.c.ref, _entity.c.digest, _entity.c.gone_run)
        )
    }
    if catalog_complete:
        vanished = [ref for ref, (_, gone) in stored.items() if gone is None and ref not in by_ref]
        for chunk in range(0, len(vanished), 500):
            session.execute(
                update(_entity)
                .where(_entity.c.ref.in_(vanished[chunk : chunk + 500]))
                .values(gone_run=run_id)
            )
    rows = []
    for ref, entity in by_ref.items():
        # The document's repr both finds a NUL (written `\x00`) and makes its digest:
        # repr is stable for a document parsed the same way, and several times cheaper
        # than sorted JSON; a document whose keys were reordered is written once more.
        text = repr((entity.raw, entity.source))
        if "\\x00" in text:
            entity = Entity(storable(entity.raw), storable(entity.source))
            text = repr((entity.raw, entity.source))
        digest = _hash(text)
        # An unchanged entity costs no write, unless it comes back after being gone.
        if stored.get(ref) == (digest, None):
            continue
        rows.append(
            {
                "ref": ref,
                "kind": entity.kind,
                "namespace": entity.namespace,
                "name": entity.name,
                "title": entity.title,
                "owner": entity.owner,
                "type": entity.type,
                "lifecycle": entity.lifecycle,
                "raw": entity.raw,
                "source": entity.source,
                "digest": digest,
                "first_seen_run": run_id,
                "updated_run": run_id,
                "gone_run": None,
            }
        )
    written = len(rows)
    if rows and session.get_bind().dialect.name == "postgresql":
        # Entities never stored before go in by COPY, as a cold run's results do.
        columns = tuple(rows[0])
        new = [
            tuple(dump_json(value) if column == "raw" else value for column, value in row.items())
            for row in rows
            if row["ref"] not in stored
        ]
        _fast_insert(session, _entity, columns, new)
        rows = [row for row in rows if row["ref"] in stored]
    _upsert(session, _entity, rows, keep=("first_seen_run",))
    return written


def _write_results(
    session: Session, run_id: int, results: list[CheckResult], at: datetime
) -> tuple[int, int, int]:
    """Returns (latest rows written, history rows appended, latest rows removed)."""
    latest = {(r.entity_ref, r.track_id, r.check_id): r for r in results}
    query = select(
        _result.c.entity_ref,
        _result.c.track_id,
        _result.c.check_id,
        _result.c.level_id,
        _result.c.required,
        _result.c.outcome,
        _result.c.message,
        _result.c.evidence,
        _result.c.run_id,
        _result.c.changed_at,
    )
    refs = {r.entity_ref for r in results}
    stored = {
        (row.entity_ref, row.track_id, row.check_id): row
        for row in _rows_in(session, query, _result.c.entity_ref, refs)
    }
    rows: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for key, new in latest.items():
        old = stored.get(key)
        changed = old is None or not _same_result(old, new)
        if not changed and old.level_id == new.level_id and old.required == new.required:
            continue
        rows.append(
            {
                "entity_ref": new.entity_ref,
                "track_id": new.track_id,
                "check_id": new.check_id,
                "level_id": new.level_id,
                "required": new.required,
                "outcome": new.outcome,
                "message": new.result.message,
                "evidence": new.result.evidence,
                # A check moved to another level keeps the time its result last changed.
                "run_id": run_id if changed else old.run_id,
                "changed_at": at if changed else old.changed_at,
            }
        )
        if changed:
            history.append(
                {
                    "entity_ref": new.entity_ref,
                    "track_id": new.track_id,
                    "check_id": new.check_id,
                    "outcome": new.outcome,
                    "previous_outcome": old.outcome if old is not None else None,
                    "message": new.result.message,
                    "evidence": new.result.evidence,
                    "run_id": run_id,
                    "at": at,
                }
            )
    # A stored check missing from a pair the report evaluated was removed from the
    # track; its history stays, its latest result goes.
    pairs = {key[:2] for key in latest}
    removed = [key for key in stored if key[:2] in pairs and key not in latest]
    _upsert(session, _result, rows)
    _insert(session, _result_change, history)
    if removed:
        session.execute(
            delete(_result).where(
                _result.c.entity_ref == bindparam("key_entity_ref"),
                _result.c.track_id == bindparam("key_track_id"),
                _result.c.check_id == bindparam("key_check_id"),
            ),
            [{"key_entity_ref": e, "key_track_id": t, "key_check_id": c} for e, t, c in removed],
        )
    return len(rows), len(history), len(removed)


def _write_certifications(
    session: Session,
    run_id: int,
    certifications: list[Certification],
    digests: dict[tuple[str, str], str],
    at: datetime,
) -> tuple[int, int]:
    """Returns (latest rows written, history rows appended)."""
    latest = {(c.entity_ref, c.track_id): c for c in certifications}
    query = select(
        _certification.c.entity_ref,
        _certification.c.track_id,
        _certification.c.level,
        _certification.c.next_level,
        _certification.c.run_id,
        _certification.c.changed_at,
    )
    refs = {c.entity_ref for c in certifications}
    stored = {
        (row.entity_ref, row.track_id): row
        for row in _rows_in(session, query, _certification.c.entity_ref, refs)
    }
    rows = []
    history: list[dict[str, Any]] = []
    for (entity_ref, track_id), new in latest.items():
        old = stored.get((entity_ref, track_id))
        # Only the level is history; a new next level means the track itself changed.
        changed = old is None or old.level != new.level
        rows.append(
            {
                "entity_ref": entity_ref,
                "track_id": track_id,
                "level": new.level,
                "next_level": new.next_level,
                "run_id": run_id if changed else old.run_id,
                "changed_at": at if changed else old.changed_at,
                "results_digest": digests[entity_ref, track_id],
            }
        )
        if changed:
            history.append(
                {
                    "entity_ref": entity_ref,
                    "track_id": track_id,
                    "level": new.level,
                    "previous_level": old.level if old is not None else None,
                    "run_id": run_id,
                    "at": at,
                }
            )
    _upsert(session, _certification, rows)
    _insert(session, _certification_change, history)
    return len(rows), len(history)


Pair = tuple[str, str]  # (entity ref, track id)


def _sort_pairs(
    session: Session, report: RunReport
) -> tuple[
    dict[Pair, tuple[list[CheckResult], Certification]],
    dict[Pair, tuple[list[CheckResult], Certification | None]],
    dict[Pair, str],
]:
    """Split the report's (entity, track) pairs into new ones, changed ones and — left
    out — those whose results hash as stored, which need nothing written or compared."""
    grouped: dict[Pair, list[CheckResult]] = {}
    for result in report.results:
        key = (result.entity_ref, result.track_id)
        group = grouped.get(key)
        if group is None:
            group = grouped[key] = []
        group.append(result)
    digests = {}
    for key, results in grouped.items():
        # The repr that makes the digest also finds a NUL (written `\x00`) in a message
        # or evidence, which a check may copy from an entity: such results are stored, and
        # compared with what is stored, with NUL replaced.
        text = _results_text(results)
        if "\\x00" in text:
            results[:] = [_storable_result(r) for r in results]
            text = _results_text(results)
        digests[key] = _hash(text)
    tracks = sorted({track for _, track in grouped})
    stored: dict[Pair, tuple[str | None, str | None, str | None]] = {}
    if tracks:
        query = select(
            _certification.c.entity_ref,
            _certification.c.track_id,
            _certification.c.level,
            _certification.c.next_level,
            _certification.c.results_digest,
        ).where(_certification.c.track_id.in_(tracks))
        stored = {(e, t): (lvl, nxt, d) for e, t, lvl, nxt, d in session.execute(query)}
    certifications = {(c.entity_ref, c.track_id): c for c in report.certifications}
    new: dict[Pair, tuple[list[CheckResult], Certification]] = {}
    changed: dict[Pair, tuple[list[CheckResult], Certification | None]] = {}
    # In report order, so that history rows of one run are written in a stable order.
    for key in [*grouped, *(k for k in certifications if k not in grouped)]:
        results = grouped.get(key, [])
        certification = certifications.get(key)
        if key not in digests:  # not setdefault: its argument would hash every pair again
            digests[key] = _results_digest(results)
        old = stored.get(key)
        if certification is None:
            changed[key] = (results, None)  # results without a level: compared one by one
        elif old is None:
            new[key] = (results, certification)
        elif old != (certification.level, certification.next_level, digests[key]):
            changed[key] = (results, certification)
    return new, changed, digests


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


def _storable_result(result: CheckResult) -> CheckResult:
    stored = Result(
        result.result.outcome, storable(result.result.message), storable(result.result.evidence)
    )
    return replace(result, result=stored)


def _results_digest(results: list[CheckResult]) -> str:
    return _hash(_results_text(results))


def _results_text(results: list[CheckResult]) -> str:
    # The outcome's value, not the enum: an enum's repr is Python code, called a million
    # times in a large run.
    return repr(
        [
            (
                r.check_id,
                r.level_id,
                r.required,
                r.result.outcome.value,
                r.result.message,
                r.result.evidence,
            )
            for r in results
        ]
    )


@dataclass(frozen=True, slots=True)
class _Fresh:
    results: int
    certifications: int


def _insert_new_pairs(
    session: Session,
    run_id: int,
    pairs: dict[Pair, tuple[list[CheckResult], Certification]],
    digests: dict[Pair, str],
    at: datetime,
) -> _Fresh:
    """Pairs never stored before: their results and level are inserted as they are, and
    each is also the first row of its history."""
    if not pairs:
        return _Fresh(0, 0)
    dialect = session.get_bind().dialect
    at_db = _bind(_result.c.changed_at, at, dialect)
    evidence_of = _json_writer(_result.c.evidence, dialect)
    written = 0
    groups = [results for results, _ in pairs.values()]
    # A chunk of pairs at a time: the rows of a whole large catalog at once would need
    # more memory than the catalog itself.
    for start in range(0, len(groups), _PAIRS_PER_CHUNK):
        rows = [
            (
                r.entity_ref,
                r.track_id,
                r.check_id,
                r.level_id,
                r.required,
                r.result.outcome.value,
                r.result.message,
                evidence_of(r.result.evidence),
                run_id,
                at_db,
            )
            for results in groups[start : start + _PAIRS_PER_CHUNK]
            for r in results
        ]
        _fast_insert(session, _result, _RESULT_COLUMNS, rows)
        history = [(*row[:3], row[5], None, row[6], row[7], run_id, at_db) for row in rows]
        _fast_insert(session, _result_change, _RESULT_CHANGE_COLUMNS, history)
        written += len(rows)
    certifications = [
        (c.entity_ref, c.track_id, c.level, c.next_level, run_id, at_db, digests[key])
        for key, (_, c) in pairs.items()
    ]
    _fast_insert(session, _certification, _CERTIFICATION_COLUMNS, certifications)
    changes = [(e, t, level, None, run_id, at_db) for e, t, level, *_ in certifications]
    _fast_insert(session, _certification_change, _CERTIFICATION_CHANGE_COLUMNS, changes)
    return _Fresh(written, len(certifications))


_PAIRS_PER_CHUNK = 2_000

_RESULT_COLUMNS = (
    "entity_ref", "track_id", "check_id", "level_id", "required", "outcome", "message",
    "evidence", "run_id", "changed_at",
)  # fmt: skip
_RESULT_CHANGE_COLUMNS = (
    "entity_ref", "track_id", "check_id", "outcome", "previous_outcome", "message",
    "evidence", "run_id", "at",
)  # fmt: skip
_CERTIFICATION_COLUMNS = (
    "entity_ref", "track_id", "level", "next_level", "run_id", "changed_at", "results_digest",
)  # fmt: skip
_CERTIFICATION_CHANGE_COLUMNS = (
    "entity_ref", "track_id", "level", "previous_level", "run_id", "at",
)  # fmt: skip


def _bind(column: Column[Any], value: Any, dialect: Any) -> Any:
    """`value` as the driver receives it for `column` (its type's bind processing)."""
    processor = column.type.bind_processor(dialect)
    return processor(value) if processor else value


def _json_writer(column: Column[Any], dialect: Any) -> Any:
    # COPY (see `_fast_insert`) takes a JSONB value as its JSON text.
    processor = dump_json if dialect.name == "postgresql" else column.type.bind_processor(dialect)
    empty = processor({}) if processor else {}
    if processor is None:
        return lambda value: value
    # Most results carry no evidence: serialise the empty document once.
    return lambda value: processor(value) if value else empty


def _fast_insert(
    session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """INSERT many rows whose values are already as the driver takes them (JSON as text).

    On SQLite this goes straight to the driver's executemany: SQLAlchemy's per-row
    parameter processing cost more than SQLite's own work for a large catalog. On
    PostgreSQL it is a COPY, the fastest way in, on the session's own connection and so
    in its transaction: several times faster than psycopg's pipelined executemany.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        marks = ", ".join("?" for _ in columns)
        statement = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
        connection.exec_driver_sql(statement, rows)
        return
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    driver_error = connection.dialect.loaded_dbapi.Error
    try:
        with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except driver_error as error:
        # As SQLAlchemy raises the driver's errors for its own statements: a broken
        # foreign key is an IntegrityError on either backend.
        raise DBAPIError.instance(
            statement, None, error, driver_error, dialect=connection.dialect
        ) from error


def _same_result(old: Row[Any], new: CheckResult) -> bool:
    if old.outcome != new.outcome or old.message != new.result.message:
        return False
    # Evidence comes back from the database as JSON: tuples as lists, paths as text.
    return old.evidence == new.result.evidence or old.evidence == json.loads(
        dump_json(new.result.evidence)
    )


def _hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


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
