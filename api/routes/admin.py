"""Operating the server: health, and reloading tracks and checks without a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from api import convert
from api.deps import Admin, ServiceDep, require_admin
from api.schemas import (
    AUTH_RESPONSES,
    COMMON_RESPONSES,
    INVALID,
    HealthOut,
    InvalidRequestOut,
    NotificationOut,
    Page,
    ReloadOut,
)
from scorecard.notify.dispatcher import failing_targets
from scorecard.store.tables import DeliveryStatus

router = APIRouter(tags=["operations"], responses=COMMON_RESPONSES)


@router.get("/health", response_model=HealthOut)
def health(service: ServiceDep) -> HealthOut:
    """Liveness and the state of the configuration; 503 when the database is unreachable."""
    service.store.fingerprint()  # touches the database: a dead one answers 503
    failing = (
        failing_targets(service.store, datetime.now(UTC)) if service.dispatcher is not None else []
    )
    return HealthOut(
        status="ok",
        config_loaded_at=service.config.current.loaded_at,
        config_problems=[convert.problem(p) for p in service.config.last_problems],
        runs_in_progress=service.runs.running(),
        notification_targets_failing=failing,
    )


@router.post(
    "/reload",
    response_model=ReloadOut,
    dependencies=[Depends(require_admin)],
    responses={
        **AUTH_RESPONSES,
        422: {
            "model": ReloadOut | InvalidRequestOut,
            "description": f"The files were rejected (their problems), or: {INVALID}",
        },
    },
)
def reload(service: ServiceDep, principal: Admin) -> ReloadOut | JSONResponse:
    """Load tracks, checks, exemption and campaign files again (an admin token). Invalid
    files are rejected with their problems (422) and the last good configuration stays in
    service."""
    outcome = service.config.reload()
    service.store.audit(
        principal.name,
        "config.reloaded" if outcome.reloaded else "config.reload_rejected",
        "config",
        change={"problems": [str(p) for p in outcome.problems]} if outcome.problems else None,
    )
    body = ReloadOut(
        reloaded=outcome.reloaded,
        loaded_at=service.config.current.loaded_at,
        problems=[convert.problem(p) for p in outcome.problems],
    )
    if outcome.reloaded:
        return body
    return JSONResponse(body.model_dump(mode="json"), status_code=422)


@router.get(
    "/notifications",
    response_model=Page[NotificationOut],
    dependencies=[Depends(require_admin)],
    responses=AUTH_RESPONSES,
)
def notifications(
    service: ServiceDep,
    status: DeliveryStatus | None = None,
    target: Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]*$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Page[NotificationOut]:
    """Recent messages, newest first (an admin token): sent, waiting for their next
    attempt (with the last error), or failed for good."""
    page = service.store.notifications(status=status, target=target, limit=limit, offset=offset)
    items = [NotificationOut.model_validate(record, from_attributes=True) for record in page.items]
    return Page[NotificationOut](items=items, total=page.total, limit=limit, offset=offset)
