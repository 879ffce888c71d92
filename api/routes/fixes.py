"""`POST /api/v1/fixes`: open (or update) one pull request per GitHub repository with the
fixes a track's entities need, planned from the stored results (an admin token). Each call
that is not a dry run leaves one row in the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Admin, ServiceDep, TokenBeforeBody, require_admin
from api.schemas import (
    AUTH_RESPONSES,
    COMMON_RESPONSES,
    NO_NUL,
    EntityRefText,
    ErrorOut,
    InvalidRequestOut,
    TrackId,
)
from scorecard.problems import ConfigError

router = APIRouter(tags=["fixes"], responses=COMMON_RESPONSES, route_class=TokenBeforeBody)

Name = Annotated[str, Field(min_length=1, max_length=100, pattern=NO_NUL)]

# --- request --------------------------------------------------------------------------


class FixesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    track: TrackId = Field(description="The track whose fixes to open.")
    level: Name | None = Field(
        None, description="Fix what keeps the entities below this level (or give `checks`)."
    )
    checks: list[Name] | None = Field(
        None, min_length=1, max_length=100, description="Fix these checks of the track."
    )
    entities: list[EntityRefText] | None = Field(
        None, min_length=1, max_length=500, description="Only these entities; all when omitted."
    )
    dry_run: bool = Field(description="True: only read, and say what would be opened or updated.")


# --- response -------------------------------------------------------------------------


class FixRepositoryOut(BaseModel):
    repository: str = Field(description="`owner/repo`.")
    action: str = Field(
        description="opened, updated, unchanged, would open, would update, nothing to do, "
        "or failed."
    )
    number: int | None = Field(description="The pull request's number, when there is one.")
    url: str | None
    files: list[str] = Field(description="The paths written, or that would be.")
    skipped: list[str] = Field(description="Files left alone: they exist already.")
    notes: list[str] = Field(description="What the pull request leaves out, and why.")
    error: str | None = Field(description="Why it failed.")
    entities: list[str]


class FixCheckOut(BaseModel):
    check: str
    title: str


class UnfixedCheckOut(BaseModel):
    check: str
    title: str
    reason: str
    remediation: str


class FixEntityOut(BaseModel):
    entity: str
    repository: str | None = Field(description="Null: it gets no pull request.")
    level_before: str | None
    level_after: str | None = Field(description="With every fix made.")
    reaches_target: bool
    fixes: list[FixCheckOut]
    unfixed: list[UnfixedCheckOut] = Field(description="Left to do by hand, and why.")


class SkippedEntityOut(BaseModel):
    entity: str
    repository: str | None
    reason: str


class FixesOut(BaseModel):
    track: str
    track_title: str
    level: str | None
    checks: list[str]
    dry_run: bool
    branch: str = Field(description="The branch of every pull request.")
    repositories: list[FixRepositoryOut]
    entities: list[FixEntityOut] = Field(
        description="Every entity below the target, fixable or not."
    )
    skipped: list[SkippedEntityOut] = Field(
        description="Entities without a pull request: not on GitHub, nothing to fix, "
        "already at the target."
    )


# --- the route ------------------------------------------------------------------------


@router.post(
    "/fixes",
    response_model=FixesOut,
    dependencies=[Depends(require_admin)],
    responses={
        **AUTH_RESPONSES,
        400: {"model": ErrorOut, "description": "The body is not JSON in UTF-8."},
        422: {
            "model": InvalidRequestOut,
            "description": "An unknown track, level, check or entity; neither a level nor "
            "checks (or both); no GitHub token on the server; or an invalid body.",
        },
    },
)
def open_fixes(body: FixesIn, service: ServiceDep, principal: Admin) -> FixesOut | JSONResponse:
    """Open or update one pull request per GitHub repository holding the fixes its
    entities need to reach `level` (or pass `checks`) on `track`, from the stored results
    (an admin token). Each repository is independent: one that fails is reported and the
    others go on. A dry run only reads GitHub; any other call is recorded in the audit log
    with its repositories and pull request numbers."""
    # Imported here: the server pays for the fixes' templates and editors only once asked.
    from scorecard.fixes.remote import open_fix_prs_sync

    try:
        report = open_fix_prs_sync(
            service.store,
            service.config.current.tracks_by_id,
            service.workspace,
            track_id=body.track,
            level=body.level,
            check_ids=tuple(body.checks or ()),
            entity_refs=tuple(body.entities) if body.entities else None,
            dry_run=body.dry_run,
            actor=principal.name,
        )
    except ConfigError as error:
        texts = [f"{p.file}: {p.message}" for p in error.problems]
        refused = InvalidRequestOut(detail="; ".join(texts), errors=texts)
        return JSONResponse(refused.model_dump(mode="json"), status_code=422)
    return FixesOut.model_validate(report.as_json())
