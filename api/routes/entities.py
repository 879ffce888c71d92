"""Entities: lists with catalog filters, one entity's scorecard, its history."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from api import convert
from api.deps import ServiceDep
from api.schemas import (
    COMMON_RESPONSES,
    NO_NUL,
    NOT_FOUND,
    CertificationChangeOut,
    CheckResultOut,
    EntityHistory,
    EntityScorecard,
    EntitySummary,
    LevelResults,
    Page,
    ResultChangeOut,
    TrackScorecard,
)
from scorecard.entity import parse_ref
from scorecard.results import NON_BLOCKING, Outcome
from scorecard.service.service import Service
from scorecard.store import EntityRecord, ResultRecord
from scorecard.tracks import ConfiguredCheck, Track
from scorecard.waivers import Waiver

router = APIRouter(tags=["entities"], responses=COMMON_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=500, description="Page size (at most 500).")]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
# Path segments and filters: any text but NUL (see `api.request_guard`).
Segment = Annotated[str, Path(pattern=NO_NUL)]
TrackFilter = Annotated[str | None, Query(max_length=100, pattern=NO_NUL)]


def resolve(service: ServiceDep, kind: str, namespace: str, name: str) -> EntityRecord:
    """The stored entity a `kind/namespace/name` path names (case-insensitive), or 404."""
    ref = f"{kind.lower()}:{namespace.lower()}/{name}"
    record = service.store.entity(ref)
    if record is None:
        raise HTTPException(404, f"no entity {ref} has been evaluated")
    return record


def stored_ref(service: ServiceDep, text: str) -> str:
    """A ref as given by a user (`payments`, `component:payments`, any case) → the ref as
    stored, or the canonical form when nothing is stored under it. `text` has passed the
    `ENTITY_REF` pattern, which every ref that parses matches."""
    wanted = str(parse_ref(text, default_kind="component"))
    record = service.store.entity(wanted)
    return record.ref if record else wanted


@router.get("/entities", response_model=Page[EntitySummary])
def list_entities(
    service: ServiceDep,
    kind: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
    owner: Annotated[
        str | None, Query(max_length=300, pattern=NO_NUL, description="Full ref")
    ] = None,
    track: TrackFilter = None,
    level: Annotated[
        str | None, Query(max_length=100, pattern=NO_NUL, description="`none`: no level")
    ] = None,
    outcome: Outcome | None = None,
    q: Annotated[
        str | None, Query(max_length=200, pattern=NO_NUL, description="In ref or title")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[EntitySummary]:
    """Entities, filtered like the catalog: every filter given must hold."""
    page = service.store.find_entities(
        kind=kind,
        owner=owner,
        track=track,
        level=level,
        outcome=outcome,
        query=q,
        limit=limit,
        offset=offset,
    )
    certifications = service.store.certifications_for([e.ref for e in page.items])
    items = [
        convert.entity(e, {c.track_id: c.level for c in certifications.get(e.ref, [])})
        for e in page.items
    ]
    return Page[EntitySummary](items=items, total=page.total, limit=limit, offset=offset)


@router.get(
    "/entities/{kind}/{namespace}/{name}", response_model=EntityScorecard, responses=NOT_FOUND
)
def get_scorecard(
    kind: Segment, namespace: Segment, name: Segment, service: ServiceDep
) -> EntityScorecard:
    """The entity's scorecard on every track that applies to it: the level reached, the next
    one, what blocks it (with remediation), and every check's result by level."""
    return build_scorecard(service, resolve(service, kind, namespace, name))


def build_scorecard(service: Service, record: EntityRecord) -> EntityScorecard:
    """A stored entity's scorecard, as the API serves it and the entity page shows it."""
    certifications = service.store.certifications(entity_ref=record.ref)
    results = {(r.track_id, r.check_id): r for r in service.store.results(entity_ref=record.ref)}
    config = service.config.current
    waivers = service.store.waivers(entity_refs=[record.ref])
    tracks = []
    for certification in certifications:
        track = config.track(certification.track_id)
        if track is None:
            continue  # a track removed from the configuration
        waived = waivers.for_pair(record.ref, track.id)
        tracks.append(
            _track_scorecard(
                record, track, certification.level, certification.next_level, results, waived
            )
        )
    levels = {c.track_id: c.level for c in certifications}
    description = record.raw.get("metadata", {}).get("description")
    return EntityScorecard(
        entity=convert.entity(record, levels),
        description=description if isinstance(description, str) else None,
        tracks=tracks,
    )


def _track_scorecard(
    record: EntityRecord,
    track: Track,
    level: str | None,
    next_level: str | None,
    results: dict[tuple[str, str], ResultRecord],
    waived: Mapping[str, Waiver],
) -> TrackScorecard:
    reached = True
    levels = []
    blocking = []
    for lvl in track.levels:
        checks = [
            _check_result(c, results.get((track.id, c.id)), waived.get(c.id)) for c in lvl.checks
        ]
        reached = reached and level is not None and _index(track, lvl.id) <= _index(track, level)
        levels.append(LevelResults(id=lvl.id, title=lvl.title, reached=reached, checks=checks))
        if lvl.id == next_level:
            blocking = [
                c
                for c in checks
                if c.required
                # A graced check counts as its last known outcome.
                and (c.stale.outcome if c.stale else c.outcome) not in NON_BLOCKING
                and c.exemption is None
            ]
    kind, _, rest = record.ref.partition(":")
    namespace, _, name = rest.partition("/")
    return TrackScorecard(
        track=track.id,
        title=track.title,
        level=level,
        next_level=next_level,
        blocking=blocking,
        levels=levels,
        badge=f"/badges/{kind}/{namespace}/{name}/{track.id}.svg",
        draft=track.draft,
    )


def _index(track: Track, level_id: str) -> int:
    ids = [lvl.id for lvl in track.levels]
    return ids.index(level_id) if level_id in ids else len(ids)


def _check_result(
    configured: ConfiguredCheck, stored: ResultRecord | None, waived: Waiver | None
) -> CheckResultOut:
    outcome = stored.outcome if stored else None
    return CheckResultOut(
        id=configured.id,
        check=configured.check.id,
        title=configured.title,
        required=configured.required,
        outcome=stored.outcome if stored else None,
        message=stored.message if stored else None,
        evidence=stored.evidence if stored else {},
        remediation=configured.remediation,
        docs_url=configured.docs_url,
        changed_at=stored.changed_at if stored else None,
        exemption=convert.waiver(waived, outcome) if waived else None,
    )


@router.get(
    "/entities/{kind}/{namespace}/{name}/history",
    response_model=EntityHistory,
    responses=NOT_FOUND,
)
def get_history(
    kind: Segment,
    namespace: Segment,
    name: Segment,
    service: ServiceDep,
    track: TrackFilter = None,
) -> EntityHistory:
    """The latest changes of the entity's results and certifications, newest first."""
    record = resolve(service, kind, namespace, name)
    results, certifications = service.store.history(record.ref, track)
    return EntityHistory(
        entity=record.ref,
        results=[
            ResultChangeOut(
                track=c.track_id,
                check=c.check_id,
                outcome=c.outcome,
                previous_outcome=c.previous_outcome,
                message=c.message,
                run_id=c.run_id,
                at=c.at,
            )
            for c in results
        ],
        certifications=[
            CertificationChangeOut(
                track=c.track_id,
                level=c.level,
                previous_level=c.previous_level,
                run_id=c.run_id,
                reason=c.reason,
                exemption_id=c.exemption_id,
                at=c.at,
            )
            for c in certifications
        ],
    )
