"""Exemptions (request, approve, deny, revoke) and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from fastapi.responses import JSONResponse

from api import convert
from api.deps import (
    Admin,
    Runner,
    ServiceDep,
    TokenBeforeBody,
    require,
    require_admin,
    require_runner,
)
from api.routes.entities import stored_ref
from api.schemas import (
    AUTH_RESPONSES,
    COMMON_RESPONSES,
    NO_NUL,
    NOT_FOUND,
    AuditOut,
    DateTimeText,
    DecisionIn,
    ErrorOut,
    ExemptionIn,
    ExemptionOut,
    InvalidRequestOut,
    Page,
    WhoAmIOut,
)
from scorecard.auth import Principal, Role
from scorecard.store import ExemptionStatus
from scorecard.store.exemptions import ExemptionError

router = APIRouter(tags=["exemptions"], responses=COMMON_RESPONSES, route_class=TokenBeforeBody)
# The audit log and `whoami` need a token whatever `public_reads` says.
audit_router = APIRouter(tags=["audit"], responses=COMMON_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=500, description="Page size (at most 500).")]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Text = Annotated[str | None, Query(max_length=300, pattern=NO_NUL)]
ExemptionId = Annotated[int, Path(ge=1, le=2**31 - 1)]
BAD_BODY = {400: {"model": ErrorOut, "description": "The body is not JSON in UTF-8."}}
DECISION_RESPONSES = {
    **AUTH_RESPONSES,
    **NOT_FOUND,
    **BAD_BODY,
    409: {"model": ErrorOut, "description": "Defined in a file, or not in a state to take it."},
}


@router.get("/exemptions", response_model=Page[ExemptionOut])
def list_exemptions(
    service: ServiceDep,
    status_: Annotated[
        list[ExemptionStatus] | None,
        Query(alias="status", description="Any of these statuses (repeat the parameter)."),
    ] = None,
    entity: Text = None,
    owner: Annotated[
        str | None, Query(max_length=300, pattern=NO_NUL, description="Full ref")
    ] = None,
    track: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
    check: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ExemptionOut]:
    """Exemptions, newest first: pending, approved (`active` while unexpired), denied,
    revoked, expired."""
    ref = stored_ref(service, entity) if entity else None
    page = service.store.exemptions(
        status=status_, entity_ref=ref, owner=owner, track_id=track, check_id=check,
        limit=limit, offset=offset,
    )  # fmt: skip
    now = datetime.now(UTC)
    items = [convert.exemption(record, now) for record in page.items]
    return Page[ExemptionOut](items=items, total=page.total, limit=limit, offset=offset)


@router.get("/exemptions/{exemption_id}", response_model=ExemptionOut, responses=NOT_FOUND)
def get_exemption(exemption_id: ExemptionId, service: ServiceDep) -> ExemptionOut:
    record = service.store.exemption(exemption_id)
    if record is None:
        raise HTTPException(404, f"no exemption {exemption_id}")
    return convert.exemption(record, datetime.now(UTC))


@router.post(
    "/exemptions",
    response_model=ExemptionOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_runner)],
    responses={
        **AUTH_RESPONSES,
        **NOT_FOUND,
        **BAD_BODY,
        422: {
            "model": InvalidRequestOut,
            "description": "Invalid, or refused: a justification shorter than a sentence, an "
            "expiry past `exemptions.max_days`, a check the track does not have.",
        },
    },
)
def request_exemption(
    body: ExemptionIn, service: ServiceDep, principal: Runner
) -> ExemptionOut | JSONResponse:
    """Ask for an exemption (a runner or admin token). It counts once an admin approves
    it; an admin's own request is approved at once with `approve: true`. Give `expires_at`
    or `days`, at most `exemptions.max_days` ahead."""
    now = datetime.now(UTC)
    expires_at = body.expires_at or now + timedelta(days=body.days or 0)
    try:
        record, changes = service.exemptions.request(
            principal,
            entity_ref=stored_ref(service, body.entity),
            track_id=body.track,
            check_id=body.check,
            justification=body.justification,
            expires_at=expires_at.astimezone(UTC),
            approve=body.approve,
        )
    except ExemptionError as error:
        return _refused(error)
    return convert.exemption(record, datetime.now(UTC), changes)


def _refused(error: ExemptionError) -> JSONResponse:
    """The error as the API answers it: a 422 lists each problem, as invalid requests do."""
    body: dict[str, object] = {"detail": str(error)}
    if error.code == 422:
        body["errors"] = error.problems
    return JSONResponse(body, status_code=error.code)


def _decide(
    service: ServiceDep, principal: Admin, exemption_id: int, decision: str, body: DecisionIn
) -> ExemptionOut:
    try:
        record, changes = service.exemptions.decide(principal, exemption_id, decision, body.note)
    except ExemptionError as error:
        raise HTTPException(error.code, str(error)) from None
    return convert.exemption(record, datetime.now(UTC), changes)


@router.post(
    "/exemptions/{exemption_id}/approve",
    response_model=ExemptionOut,
    dependencies=[Depends(require_admin)],
    responses=DECISION_RESPONSES,
)
def approve_exemption(
    exemption_id: ExemptionId, service: ServiceDep, principal: Admin, body: DecisionIn | None = None
) -> ExemptionOut:
    """Approve a pending exemption (an admin token): the entity's levels count it at once."""
    return _decide(service, principal, exemption_id, "approve", body or DecisionIn())


@router.post(
    "/exemptions/{exemption_id}/deny",
    response_model=ExemptionOut,
    dependencies=[Depends(require_admin)],
    responses=DECISION_RESPONSES,
)
def deny_exemption(
    exemption_id: ExemptionId, service: ServiceDep, principal: Admin, body: DecisionIn | None = None
) -> ExemptionOut:
    """Deny a pending exemption (an admin token)."""
    return _decide(service, principal, exemption_id, "deny", body or DecisionIn())


@router.post(
    "/exemptions/{exemption_id}/revoke",
    response_model=ExemptionOut,
    dependencies=[Depends(require_admin)],
    responses=DECISION_RESPONSES,
)
def revoke_exemption(
    exemption_id: ExemptionId, service: ServiceDep, principal: Admin, body: DecisionIn | None = None
) -> ExemptionOut:
    """Revoke a pending or approved exemption (an admin token): levels drop at once if
    they needed it."""
    return _decide(service, principal, exemption_id, "revoke", body or DecisionIn())


@audit_router.get(
    "/audit",
    response_model=Page[AuditOut],
    dependencies=[Depends(require_admin)],
    responses=AUTH_RESPONSES,
)
def audit_log(
    service: ServiceDep,
    actor: Text = None,
    action: Annotated[
        str | None,
        Query(
            max_length=100,
            pattern=NO_NUL,
            description="An action (`exemption.approved`), or a prefix ending in `.`.",
        ),
    ] = None,
    object_type: Annotated[str | None, Query(max_length=50, pattern=NO_NUL)] = None,
    object_id: Annotated[str | None, Query(max_length=300, pattern=NO_NUL)] = None,
    since: Annotated[DateTimeText | None, Query(description="From this time (ISO).")] = None,
    until: Annotated[DateTimeText | None, Query(description="Before this time (ISO).")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[AuditOut]:
    """Every write, newest first (an admin token): who (a token's name, `file:PATH`,
    `cli` or `system`), what, on what, and the change. Nothing updates or deletes it."""
    page = service.store.audit_log(
        actor=actor, action=action, object_type=object_type, object_id=object_id,
        since=since, until=until, limit=limit, offset=offset,
    )  # fmt: skip
    items = [convert.audit(record) for record in page.items]
    return Page[AuditOut](items=items, total=page.total, limit=limit, offset=offset)


@audit_router.get("/whoami", response_model=WhoAmIOut, responses=AUTH_RESPONSES)
async def whoami(principal: Annotated[Principal, Depends(require(Role.READER))]) -> WhoAmIOut:
    """The name and role of the bearer token sent."""
    return WhoAmIOut(name=principal.name, role=str(principal.role))
