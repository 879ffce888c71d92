"""Runs and results: what was evaluated when, and starting a run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from fastapi.responses import JSONResponse

from api import convert
from api.deps import Runner, ServiceDep, TokenBeforeBody, require_runner
from api.errors import RETRY_AFTER_SECONDS
from api.routes.entities import Limit, Offset, TrackFilter, stored_ref
from api.schemas import (
    AUTH_RESPONSES,
    COMMON_RESPONSES,
    ENTITY_REF,
    NO_NUL,
    NOT_FOUND,
    ErrorOut,
    Page,
    ResultOut,
    RunConflictOut,
    RunOut,
    RunRequest,
)
from scorecard.results import Outcome
from scorecard.service.runs import RunConflict, UnknownTracks

router = APIRouter(
    tags=["runs and results"], responses=COMMON_RESPONSES, route_class=TokenBeforeBody
)
# The store keeps run ids in a 32-bit integer column (PostgreSQL's `integer`).
MAX_RUN_ID = 2**31 - 1


@router.get("/runs", response_model=Page[RunOut])
def list_runs(service: ServiceDep, limit: Limit = 50, offset: Offset = 0) -> Page[RunOut]:
    """Runs, newest first."""
    page = service.store.find_runs(limit=limit, offset=offset)
    shards = service.store.shards.progress_of_runs(r.id for r in page.items if r.id is not None)
    items = [convert.run(r, shards.get(r.id or 0)) for r in page.items]
    return Page[RunOut](items=items, total=page.total, limit=limit, offset=offset)


@router.get("/runs/{run_id}", response_model=RunOut, responses=NOT_FOUND)
def get_run(run_id: Annotated[int, Path(ge=1, le=MAX_RUN_ID)], service: ServiceDep) -> RunOut:
    record = service.store.run(run_id)
    if record is None:
        raise HTTPException(404, f"no run {run_id}")
    return convert.run(record, service.store.shards.progress_of_runs([run_id]).get(run_id))


@router.post(
    "/runs",
    response_model=RunOut,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(require_runner)],
    responses={
        **AUTH_RESPONSES,
        **NOT_FOUND,
        400: {"model": ErrorOut, "description": "The body is not UTF-8."},
        409: {"model": RunConflictOut, "description": "Those tracks are being run."},
    },
)
def trigger_run(
    request: RunRequest, service: ServiceDep, principal: Runner
) -> RunOut | JSONResponse:
    """Start a run of some tracks (all by default) over one entity or all of them.

    Answers 202 with the run at once; poll `GET /runs/{id}` until its status is no longer
    `running`. A run covering a track that is already being evaluated answers 409 with
    that run's id.
    """
    entity = None
    if request.entity is not None:
        entity = stored_ref(service, request.entity)
        if service.store.entity(entity) is None:
            raise HTTPException(404, f"no entity {entity} has been evaluated")
    try:
        started = service.runs.trigger(
            request.tracks, entity=entity, trigger="api", actor=principal.name
        )
    except UnknownTracks as error:
        raise HTTPException(404, f"no track {error.args[0]}") from None
    except RunConflict as conflict:
        return JSONResponse(
            {"detail": str(conflict), "run_id": conflict.run_id, "tracks": conflict.tracks},
            status_code=status.HTTP_409_CONFLICT,
        )
    except RuntimeError as error:  # shutting down: the next server takes it
        raise HTTPException(
            503, str(error), headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
        ) from None
    record = service.store.run(started.run_id)
    assert record is not None
    return convert.run(record)


@router.get("/results", response_model=Page[ResultOut])
def list_results(
    service: ServiceDep,
    entity: Annotated[
        str | None, Query(max_length=300, pattern=ENTITY_REF, description="Entity ref")
    ] = None,
    track: TrackFilter = None,
    check: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
    outcome: Outcome | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[ResultOut]:
    """The latest results, filtered."""
    ref = stored_ref(service, entity) if entity is not None else None
    page = service.store.find_results(
        entity_ref=ref, track_id=track, check_id=check, outcome=outcome, limit=limit, offset=offset
    )
    waivers = service.store.waivers(entity_refs=sorted({r.entity_ref for r in page.items}))
    items = [
        ResultOut(
            entity=r.entity_ref,
            track=r.track_id,
            check=r.check_id,
            level=r.level_id,
            required=r.required,
            outcome=r.outcome,
            message=r.message,
            evidence=r.evidence,
            changed_at=r.changed_at,
            run_id=r.run_id,
            exemption=convert.waiver(w, r.outcome)
            if (w := waivers.for_result(r.entity_ref, r.track_id, r.check_id))
            else None,
        )
        for r in page.items
    ]
    return Page[ResultOut](items=items, total=page.total, limit=limit, offset=offset)
