"""What grace falls back on (`scorecard.grace`): the stored results of pairs whose graced
checks could not be answered, and when a run last observed them.

A run that finds a pair as stored writes nothing of it, so no row says when a result was
last seen: the runs do. A stored pass was observed by the last finished run that
evaluated the pair — one of its track (or of every track) over the whole catalog or that
entity. Runs that certify stored results again without evaluating them (a push, a pushed
result's `max_age` passing) observed nothing, and are passed over.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scorecard.grace import Pair, Previous
from scorecard.store.tables import CertificationRecord, PairResultsRecord, RunRecord, RunStatus
from scorecard.store.writes import _rows_in, _stored_layouts

_certification = CertificationRecord.__table__
_pair_result = PairResultsRecord.__table__
_run = RunRecord.__table__

# The triggers of runs that evaluate no check but pushed ones (`scorecard.store.pushed`).
RECERTIFYING_TRIGGERS = ("push", "max-age")


def previous(session: Session, pairs: Sequence[Pair], since: datetime) -> dict[Pair, Previous]:
    """The stored results of these pairs, each with when a run started since `since`
    last evaluated it (None: none did); a pair never stored is left out."""
    wanted = set(pairs)
    if not wanted:
        return {}
    c, r = _certification.c, _pair_result.c
    query = select(c.entity_ref, c.track_id, c.outcomes, c.layout_id, r.results).join_from(
        _certification, _pair_result, (r.entity_ref == c.entity_ref) & (r.track_id == c.track_id)
    )
    rows = [
        row
        for row in _rows_in(session, query, c.entity_ref, {ref for ref, _ in wanted})
        if (row.entity_ref, row.track_id) in wanted and row.outcomes is not None
    ]
    layouts = _stored_layouts(session, {row.layout_id for row in rows})
    observed = last_observed(session, [(row.entity_ref, row.track_id) for row in rows], since)
    found = {}
    for row in rows:
        layout = layouts.get(row.layout_id)
        if layout is None:
            continue  # written before layouts were kept: nothing to match checks by
        key = (row.entity_ref, row.track_id)
        found[key] = Previous(layout, row.outcomes, row.results, observed.get(key))
    return found


def last_observed(session: Session, pairs: Iterable[Pair], since: datetime) -> dict[Pair, datetime]:
    """When the last finished run started since `since` that evaluated each pair started:
    runs newest first, until every pair is found (the latest run over the whole catalog
    usually finds them all)."""
    waiting: dict[str, set[str]] = {}
    for ref, track in pairs:
        waiting.setdefault(track, set()).add(ref)
    found: dict[Pair, datetime] = {}
    if not waiting:
        return found
    x = _run.c
    query = (
        select(x.started_at, x.scope)
        .where(
            x.status == RunStatus.FINISHED,
            x.trigger.not_in(RECERTIFYING_TRIGGERS),
            x.started_at >= since,
        )
        .order_by(x.started_at.desc(), x.id.desc())
    )
    for started_at, scope in session.execute(query):
        tracks, entity = _covers(scope)
        for track in list(waiting):
            if tracks is not None and track not in tracks:
                continue
            refs = waiting[track]
            seen = refs if entity is None else refs & {entity}
            found.update({(ref, track): started_at for ref in seen})
            refs -= seen
            if not refs:
                del waiting[track]
        if not waiting:
            break
    return found


def _covers(scope: Any) -> tuple[set[str] | None, str | None]:
    """The tracks (None: every one) and the entity (None: every one) a run's scope
    names (`Store.start_run`)."""
    if not isinstance(scope, dict):
        return None, None
    tracks = scope.get("tracks")
    entity = scope.get("entity")
    return (
        set(tracks) if isinstance(tracks, list) else None,
        entity if isinstance(entity, str) else None,
    )


def packed_results(session: Session, pairs: Iterable[Pair]) -> dict[Pair, str | list[Any]]:
    """The packed results of these pairs (text, or the document PostgreSQL hands back)."""
    wanted = set(pairs)
    if not wanted:
        return {}
    r = _pair_result.c
    query = select(r.entity_ref, r.track_id, r.results)
    return {
        (ref, track): results
        for ref, track, results in _rows_in(
            session, query, r.entity_ref, {ref for ref, _ in wanted}
        )
        if (ref, track) in wanted
    }
