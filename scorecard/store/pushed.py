"""Results pushed for external checks, and the levels they change at once.

A push is recorded as a run of its own (trigger `push`): the pushed rows, the entities'
pairs certified again with them, and their history rows and events are written together
in the caller's transaction, as any run's are. So is the passing of a check's `max_age`,
which turns an unanswered result `unknown` without anyone pushing (trigger `max-age`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from scorecard import grace
from scorecard.pushed import PushedResult, external_result
from scorecard.report import PairResults, RunReport, unpack
from scorecard.results import Outcome, Result
from scorecard.store import exemptions
from scorecard.store.tables import (
    CertificationRecord,
    PairResultsRecord,
    PushedResultRecord,
    RunRecord,
)
from scorecard.store.writes import RunWriter, WriteStats, _rows_in, _stored_layouts, _upsert

if TYPE_CHECKING:
    from scorecard.tracks import Track

_pushed = PushedResultRecord.__table__
_certification = CertificationRecord.__table__
_pair_result = PairResultsRecord.__table__
_run = RunRecord.__table__

Pair = tuple[str, str]  # (entity ref, track id)


def record(session: Session, results: Sequence[PushedResult], run_id: int) -> None:
    """Keep each result as the latest of its check on its entity (a later push of the
    same check replaces it)."""
    rows = [
        {
            "entity_ref": r.entity_ref, "track_id": r.track_id, "check_id": r.check_id,
            "outcome": r.outcome, "value": r.value, "message": r.message,
            "evidence": r.evidence, "observed_at": r.observed_at, "received_at": r.received_at,
            "at": r.at, "pushed_by": r.pushed_by or "", "run_id": run_id, "aged_out_at": None,
        }
        for r in _latest_of_each(results)
    ]  # fmt: skip
    _upsert(session, _pushed, rows)


def _latest_of_each(results: Sequence[PushedResult]) -> list[PushedResult]:
    """One result per check and entity: of two in one batch, the one observed last (the
    later in the batch when they tie)."""
    latest: dict[tuple[str, str, str], PushedResult] = {}
    for result in results:
        key = (result.entity_ref, result.track_id, result.check_id)
        held = latest.get(key)
        if held is None or result.at >= held.at:
            latest[key] = result
    return list(latest.values())


def latest(
    session: Session, entity_refs: Iterable[str] | None = None
) -> dict[tuple[str, str, str], PushedResult]:
    """The latest pushed result of every external check (of these entities, when given)."""
    query = select(_pushed)
    rows = (
        session.execute(query)
        if entity_refs is None
        else _rows_in(session, query, _pushed.c.entity_ref, entity_refs)
    )
    return {(row.entity_ref, row.track_id, row.check_id): _result(row) for row in rows}


def _result(row: Any) -> PushedResult:
    return PushedResult(
        entity_ref=row.entity_ref,
        track_id=row.track_id,
        check_id=row.check_id,
        outcome=Outcome(row.outcome) if row.outcome is not None else None,
        value=row.value,
        message=row.message,
        evidence=row.evidence or {},
        observed_at=row.observed_at,
        received_at=row.received_at,
        pushed_by=row.pushed_by,
    )


def pushed_since(session: Session, since: datetime) -> set[Pair]:
    """The pairs with a result pushed (received) since `since`."""
    p = _pushed.c
    rows = session.execute(select(p.entity_ref, p.track_id).where(p.received_at >= since))
    return {(ref, track) for ref, track in rows}


def _limits(tracks: Mapping[str, Track]) -> list[tuple[str, str, Any]]:
    """(track id, check id, max_age) of every external check that has a `max_age`."""
    return [
        (track.id, c.id, c.max_age)
        for track in tracks.values()
        for c in track.external_checks
        if c.max_age is not None
    ]


def aged_out(session: Session, tracks: Mapping[str, Track], now: datetime) -> set[Pair]:
    """Mark the pushed results whose check's `max_age` has passed and was not acted on
    yet; the pairs they belong to."""
    p = _pushed.c
    found: set[Pair] = set()
    for track_id, check_id, max_age in _limits(tracks):
        where = (
            (p.track_id == track_id)
            & (p.check_id == check_id)
            & p.aged_out_at.is_(None)
            & (p.at <= now - max_age)
        )
        refs = list(session.scalars(select(p.entity_ref).where(where)))
        if refs:
            session.execute(update(_pushed).where(where).values(aged_out_at=now))
            found.update((ref, track_id) for ref in refs)
    return found


def next_aging(session: Session, tracks: Mapping[str, Track]) -> datetime | None:
    """When the next pushed result passes its check's `max_age` (None: never)."""
    p = _pushed.c
    soonest: datetime | None = None
    for track_id, check_id, max_age in _limits(tracks):
        oldest = session.scalar(
            select(func.min(p.at)).where(
                p.track_id == track_id, p.check_id == check_id, p.aged_out_at.is_(None)
            )
        )
        if oldest is not None:
            when = oldest + max_age
            soonest = when if soonest is None or when < soonest else soonest
    return soonest


def recompute(
    session: Session,
    run_id: int,
    pairs: Iterable[Pair],
    tracks: Mapping[str, Track],
    now: datetime,
    *,
    notify: bool = False,
) -> WriteStats:
    """Certify these pairs again with their latest pushed results, without evaluating
    any other check: each external check's result as it stands at `now`, every other
    result as stored. Written as run `run_id`, which it finishes: history rows, events
    and roll-ups as any run writes them.

    A pair never stored takes `unknown` for its other checks until a run evaluates them;
    a pair stored with other checks than its track has now is left to the next run."""
    wanted = sorted({pair for pair in pairs if pair[1] in tracks})
    refs = sorted({ref for ref, _ in wanted})
    pushed = latest(session, refs)
    stored = _stored_pairs(session, refs, {track for _, track in wanted})
    waivers = exemptions.waivers(session, now, refs)
    made: list[PairResults] = []
    for ref, track_id in wanted:
        track = tracks[track_id]
        held = stored.get((ref, track_id))
        if held is None:
            results = [
                Result.unknown(f"{ref}: {c.id} is evaluated by the next run.", evaluated=False)
                for c in track.checks
            ]
        elif held[0] == track.layout:
            layout, packed, codes = held
            results = [r.result for r in unpack(ref, track_id, packed, layout, codes)]
        else:
            continue  # evaluated with other checks: the next run certifies it
        for position, configured in enumerate(track.checks):
            if configured.external:
                result = external_result(
                    configured, pushed.get((ref, track_id, configured.id)), ref, now
                )
                if result.outcome is Outcome.FAIL and not configured.required:
                    result = Result(Outcome.WARN, result.message, result.evidence)
                results[position] = result
        pair = track.packer(ref, results)
        _certify(pair, track, waivers)
        made.append(pair)
    writer = RunWriter(session, run_id, catalog_complete=False, notify=notify)
    writer.write_entities([])  # a push lists no entity: it changes no document
    stats = writer.finish(RunReport(now, now, [], made), now)
    # The run's count is of the entities it certified again, as a run's is of those it read.
    session.execute(update(_run).where(_run.c.id == run_id).values(entities=len(refs)))
    return stats


def _certify(pair: PairResults, track: Track, waivers: exemptions.Waivers) -> None:
    """The level the pair's results reach with the grace and exemptions in effect."""
    grace.certify(pair, track.packer, waivers)


def _stored_pairs(
    session: Session, refs: Sequence[str], track_ids: set[str]
) -> dict[Pair, tuple[Any, str, str]]:
    """(layout, packed text, outcome letters) of the stored pairs of these entities."""
    c, r = _certification.c, _pair_result.c
    query = select(c.entity_ref, c.track_id, c.outcomes, c.layout_id, r.results).join_from(
        _certification, _pair_result, (r.entity_ref == c.entity_ref) & (r.track_id == c.track_id)
    )
    rows = [
        row
        for row in _rows_in(session, query, c.entity_ref, refs)
        if row.track_id in track_ids and row.outcomes is not None
    ]
    layouts = _stored_layouts(session, {row.layout_id for row in rows})
    found = {}
    for row in rows:
        packed = row.results
        if not isinstance(packed, str):  # PostgreSQL hands JSONB back as the document
            packed = orjson.dumps(packed).decode()
        found[row.entity_ref, row.track_id] = (layouts.get(row.layout_id), packed, row.outcomes)
    return found
