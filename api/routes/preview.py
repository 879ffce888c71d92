"""`POST /api/v1/tracks/preview`: what new or changed tracks would do to the stored catalog
(an admin token). Nothing is stored but the audit log's row."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api import convert
from api.deps import Admin, ServiceDep, TokenBeforeBody, require_admin
from api.schemas import (
    AUTH_RESPONSES,
    COMMON_RESPONSES,
    ErrorOut,
    InvalidRequestOut,
    Problem,
)
from scorecard.service.preview import PreviewRejected, preview_documents

router = APIRouter(
    tags=["tracks and checks"], responses=COMMON_RESPONSES, route_class=TokenBeforeBody
)

# A track file is a few kilobytes; the largest real ones, with long descriptions and
# remediations, stay under 64 KiB. The YAML limits of track files apply within this.
MAX_DOCUMENT_CHARS = 256 * 1024
MAX_DOCUMENTS = 20
# Text shown back in problems and kept in the audit log: printable, one line.
DOCUMENT_NAME = r"^[^\x00-\x1f\x7f]+$"


# --- request --------------------------------------------------------------------------


class TrackDocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1,
        max_length=200,
        pattern=DOCUMENT_NAME,
        description="What problems call the document, e.g. its path: `tracks/security.yaml`.",
    )
    content: str = Field(
        max_length=MAX_DOCUMENT_CHARS, description="The track file's YAML, as text."
    )


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tracks: list[TrackDocumentIn] = Field(
        min_length=1,
        max_length=MAX_DOCUMENTS,
        description="New or changed track files; each replaces the track of its id.",
    )


# --- response -------------------------------------------------------------------------


class PreviewCauseOut(BaseModel):
    id: str = Field(description="The configured check's id.")
    title: str
    level: str | None = Field(description="Its level after the change; null: it is gone.")
    outcome: str | None = Field(description="Its outcome after the change; null: it is gone.")
    message: str
    reason: str = Field(description='What changed: "moved from silver to bronze", "now fails"…')


class PreviewMoveOut(BaseModel):
    entity: str
    now: str | None = Field(description="The level now; null: no level.")
    after: str | None = Field(description="The level after the change; null: no level.")
    checks: list[PreviewCauseOut] = Field(
        description="Losing: the checks that block the first level it no longer reaches. "
        "Gaining: the checks that blocked it before and no longer do."
    )


class PreviewSidesOut(BaseModel):
    now: int
    after: int


class PreviewCountsOut(BaseModel):
    now: dict[str, int] = Field(description="Level → entities; `none` for no level.")
    after: dict[str, int]


class PreviewFailingOut(BaseModel):
    id: str
    title: str
    level: str
    required: bool
    now: int | None = Field(description="Entities it fails for now; null: a new check.")
    after: int
    outcomes: dict[str, int] = Field(description="fail, warn, error, unknown → entities.")


class TrackPreviewOut(BaseModel):
    track: str
    title: str
    new: bool = Field(description="No such track is stored: every entity is new to it.")
    draft: bool
    levels: list[str] = Field(description="Its levels after the change, lowest first.")
    counts: PreviewCountsOut
    not_scored: PreviewSidesOut = Field(description="Entities the track does not apply to.")
    lost: list[PreviewMoveOut]
    gained: list[PreviewMoveOut]
    entered: list[str] = Field(description="Entities scored after the change, not now.")
    left: list[str] = Field(description="Entities scored now, not after the change.")
    failing: list[PreviewFailingOut] = Field(description="Most failures first.")
    seconds: float = Field(description="How long evaluating the track took.")


class PreviewOut(BaseModel):
    baseline: str = Field(description="`stored`: compared with the stored certifications.")
    baseline_label: str
    entities: int = Field(description="The stored entities the tracks were evaluated on.")
    seconds: float
    tracks: list[TrackPreviewOut]


class PreviewRejectedOut(InvalidRequestOut):
    """An invalid body (`detail` and `errors` only), or invalid track documents: then
    `errors` are `NAME:LINE:COL: key: message` lines and `problems` the same, in parts."""

    problems: list[Problem] = Field(default_factory=list)


# --- the route ------------------------------------------------------------------------


@router.post(
    "/tracks/preview",
    response_model=PreviewOut,
    dependencies=[Depends(require_admin)],
    responses={
        **AUTH_RESPONSES,
        400: {"model": ErrorOut, "description": "The body is not JSON in UTF-8."},
        422: {
            "model": PreviewRejectedOut,
            "description": "A track document is invalid (its problems, each with the "
            "document's name, line, column and key), or the body is.",
        },
    },
)
def preview(body: PreviewIn, service: ServiceDep, principal: Admin) -> PreviewOut | JSONResponse:
    """Evaluate new or changed tracks on the stored entities and compare each entity
    with its stored level (an admin token): entities per level now and after, those that
    would lose or gain a level with the checks that cause it, the checks failing most.
    Nothing is stored; the audit log records the preview."""
    documents = [(d.name, d.content) for d in body.tracks]
    try:
        report = preview_documents(service, principal.name, documents)
    except PreviewRejected as error:
        rejected = PreviewRejectedOut(
            detail=str(error),
            errors=error.texts,
            problems=[convert.problem(p) for p in error.problems],
        )
        return JSONResponse(rejected.model_dump(mode="json"), status_code=422)
    return PreviewOut.model_validate(report.as_json())
