"""Roll-ups: how far a track has got across the catalog, and per owner."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from api.deps import ServiceDep
from api.routes.entities import Segment, TrackFilter
from api.schemas import COMMON_RESPONSES, NOT_FOUND, CheckRollupOut, OwnerLevelsOut, TrackRollupOut
from scorecard.store import CheckRollup

router = APIRouter(tags=["roll-ups"], responses=COMMON_RESPONSES)


def _levels(counts: dict[str | None, int]) -> dict[str, int]:
    return {level or "none": count for level, count in counts.items()}


def _checks(checks: list[CheckRollup]) -> list[CheckRollupOut]:
    return [
        CheckRollupOut(
            check=c.check_id,
            level=c.level_id,
            counts=c.counts,
            total=c.total,
            pass_rate=c.pass_rate,
        )
        for c in checks
    ]


def _known_track(service: ServiceDep, track_id: str) -> None:
    if service.config.current.track(track_id) is None:
        raise HTTPException(404, f"no track {track_id!r}")


def _is_draft(service: ServiceDep, track_id: str) -> bool:
    track = service.config.current.track(track_id)
    return track is not None and track.draft


@router.get("/tracks/{track_id}/rollup", response_model=TrackRollupOut, responses=NOT_FOUND)
def track_rollup(track_id: Segment, service: ServiceDep) -> TrackRollupOut:
    """Entities at each level of the track, and the pass rate of each of its checks. For a
    draft track (`draft: true`) they are the preview: the levels it would give."""
    _known_track(service, track_id)
    rollup = service.store.track_rollup(track_id)
    return TrackRollupOut(
        track=track_id,
        levels=_levels(rollup.levels),
        checks=_checks(rollup.checks),
        draft=_is_draft(service, track_id),
    )


@router.get("/tracks/{track_id}/owners", response_model=list[OwnerLevelsOut], responses=NOT_FOUND)
def owners_of_track(track_id: Segment, service: ServiceDep) -> list[OwnerLevelsOut]:
    """Per owner: how many of its entities are at each level of the track."""
    _known_track(service, track_id)
    return [
        OwnerLevelsOut(owner=o.owner, entities=o.entities, levels=_levels(o.levels))
        for o in service.store.owners_rollup(track_id)
    ]


@router.get(
    "/owners/{kind}/{namespace}/{name}/rollup",
    response_model=list[TrackRollupOut],
    responses=NOT_FOUND,
)
def owner_rollup(
    kind: Segment,
    namespace: Segment,
    name: Segment,
    service: ServiceDep,
    track: TrackFilter = None,
) -> list[TrackRollupOut]:
    """For one owner (a group or user ref), per track: levels of its entities and the pass
    rate of each check over them. Draft tracks come last, marked `draft`."""
    if track is not None:
        _known_track(service, track)
    owner = f"{kind.lower()}:{namespace.lower()}/{name}"
    found = [
        TrackRollupOut(
            track=r.track_id,
            levels=_levels(r.levels),
            checks=_checks(r.checks),
            draft=_is_draft(service, r.track_id),
        )
        for r in service.store.owner_rollup(owner, track)
    ]
    # Stable: the published tracks in their order, then the drafts, apart.
    return sorted(found, key=lambda r: r.draft)
