"""Tracks and checks: what the server is configured to evaluate."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from api import convert
from api.deps import ServiceDep
from api.routes.entities import Segment
from api.schemas import COMMON_RESPONSES, NOT_FOUND, CheckOut, TrackOut

router = APIRouter(tags=["tracks and checks"], responses=COMMON_RESPONSES)


@router.get("/tracks", response_model=list[TrackOut])
def list_tracks(service: ServiceDep) -> list[TrackOut]:
    """Every loaded track with its levels and configured checks."""
    next_runs = service.scheduler.next_runs() if service.scheduler else {}
    return [convert.track(t, next_runs.get(t.id)) for t in service.config.current.tracks]


@router.get("/tracks/{track_id}", response_model=TrackOut, responses=NOT_FOUND)
def get_track(track_id: Segment, service: ServiceDep) -> TrackOut:
    track = service.config.current.track(track_id)
    if track is None:
        raise HTTPException(404, f"no track {track_id!r}")
    next_runs = service.scheduler.next_runs() if service.scheduler else {}
    return convert.track(track, next_runs.get(track.id))


@router.get("/checks", response_model=list[CheckOut])
def list_checks(service: ServiceDep) -> list[CheckOut]:
    """The check registry: metadata and the JSON Schema of each check's params."""
    registry = service.config.current.registry
    return [convert.check(c, registry) for c in registry]


@router.get("/checks/{check_id}", response_model=CheckOut, responses=NOT_FOUND)
def get_check(check_id: Segment, service: ServiceDep) -> CheckOut:
    registry = service.config.current.registry
    item = registry.get(check_id)
    if item is None:
        raise HTTPException(404, f"no check {check_id!r}")
    return convert.check(item, registry)
