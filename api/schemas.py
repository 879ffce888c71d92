"""Request and response shapes of the API (`/api/v1`), and the answers every operation may
give; they are its OpenAPI schema."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from scorecard.results import Outcome

T = TypeVar("T")

# Text the server takes in a path, a query or a body: anything but NUL, which PostgreSQL
# refuses (the request guard answers 422 for it before any route runs).
NO_NUL = r"^[^\x00]*$"
# What the API takes as an entity ref, `[kind:][namespace/]name` in Backstage's
# characters: every such text parses; anything else names no entity that can be stored.
ENTITY_REF = r"^(?:[A-Za-z][A-Za-z0-9]*:)?(?:[A-Za-z0-9][A-Za-z0-9-]*/)?[A-Za-z0-9][A-Za-z0-9._-]*$"
EntityRefText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=300,
        pattern=ENTITY_REF,
        description="An entity ref, `[kind:][namespace/]name`; kind defaults to component.",
    ),
]
TrackId = Annotated[str, Field(min_length=1, max_length=100, pattern=NO_NUL)]


# --- errors ---------------------------------------------------------------------------


class ErrorOut(BaseModel):
    detail: str = Field(description="What went wrong, in a sentence.")


class InvalidRequestOut(BaseModel):
    detail: str = Field(description="Every problem, joined by `; `.")
    errors: list[str] = Field(description="One `where: what` line per problem.")


class RunConflictOut(BaseModel):
    detail: str
    run_id: int = Field(description="The run evaluating those tracks.")
    tracks: list[str] = Field(description="The tracks asked for that it is evaluating.")


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer"},
    }
}
_WWW_AUTHENTICATE = {
    "WWW-Authenticate": {"description": "`Bearer`.", "required": True, "schema": {"type": "string"}}
}
INVALID = (
    "A parameter or the body is invalid, or holds text the server refuses (NUL, bytes that "
    "are not UTF-8)."
)
# What any operation may answer besides its own statuses.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"model": InvalidRequestOut, "description": INVALID},
    500: {"model": ErrorOut, "description": "A bug of the server; its log has the details."},
    503: {
        "model": ErrorOut,
        "description": "The database cannot be reached.",
        "headers": _RETRY_AFTER,
    },
}
# What an operation behind the API token may answer.
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No bearer token.", "headers": _WWW_AUTHENTICATE},
    403: {
        "model": ErrorOut,
        "description": "The token is wrong, or the server has none (writes are disabled).",
    },
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "Not found; `detail` says what."}
}


class Problem(BaseModel):
    file: str
    line: int | None
    column: int | None
    key: str
    message: str
    text: str = Field(description="FILE:LINE:COL: key: message")


class ConfiguredCheckOut(BaseModel):
    id: str = Field(description="Unique within the track.")
    check: str = Field(description="The registered check it configures.")
    title: str
    description: str
    remediation: str
    docs_url: str | None
    required: bool
    params: dict[str, Any]


class LevelOut(BaseModel):
    id: str
    title: str
    description: str | None
    checks: list[ConfiguredCheckOut]


class TrackOut(BaseModel):
    id: str
    title: str
    description: str
    owner: str | None
    docs: str | None
    schedule: str | None = Field(description="A cron expression or `every <interval>`.")
    next_run: datetime | None
    levels: list[LevelOut]


class CheckOut(BaseModel):
    id: str
    title: str
    description: str
    remediation: str
    docs_url: str | None
    inputs: list[str]
    origin: str
    params_schema: dict[str, Any] | None


class EntitySummary(BaseModel):
    ref: str
    kind: str
    namespace: str
    name: str
    title: str | None
    owner: str | None
    type: str | None
    lifecycle: str | None
    levels: dict[str, str | None] = Field(description="Track id → level reached (null: none).")
    gone_since_run: int | None = Field(
        None,
        description="The run whose complete catalog listing no longer had the entity; its "
        "results no longer count in roll-ups. Null while the catalog lists it.",
    )


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class CheckResultOut(BaseModel):
    id: str
    check: str | None
    title: str
    required: bool
    outcome: Outcome | None = Field(description="null: not evaluated yet.")
    message: str | None
    evidence: dict[str, Any]
    remediation: str | None
    docs_url: str | None
    changed_at: datetime | None


class LevelResults(BaseModel):
    id: str
    title: str
    reached: bool
    checks: list[CheckResultOut]


class TrackScorecard(BaseModel):
    track: str
    title: str
    level: str | None
    next_level: str | None
    blocking: list[CheckResultOut] = Field(
        description="Required checks of the next level that do not pass."
    )
    levels: list[LevelResults]
    badge: str = Field(description="Path of the SVG badge.")


class EntityScorecard(BaseModel):
    entity: EntitySummary
    description: str | None
    tracks: list[TrackScorecard]


class ResultOut(BaseModel):
    entity: str
    track: str
    check: str
    level: str
    required: bool
    outcome: Outcome
    message: str
    evidence: dict[str, Any]
    changed_at: datetime
    run_id: int


class ResultChangeOut(BaseModel):
    track: str
    check: str
    outcome: Outcome
    previous_outcome: Outcome | None
    message: str
    run_id: int
    at: datetime


class CertificationChangeOut(BaseModel):
    track: str
    level: str | None
    previous_level: str | None
    run_id: int
    at: datetime


class EntityHistory(BaseModel):
    entity: str
    results: list[ResultChangeOut]
    certifications: list[CertificationChangeOut]


class RunOut(BaseModel):
    id: int
    status: str
    trigger: str
    tracks: list[str] | None
    entity: str | None
    started_at: datetime
    finished_at: datetime | None
    entities: int | None
    results: int | None
    errors: int | None
    changed: int | None
    problems: list[str]
    failure: str | None


class RunRequest(BaseModel):
    # A misspelt key would otherwise start a run of every track over every entity.
    model_config = ConfigDict(extra="forbid")

    tracks: list[TrackId] | None = Field(
        None, min_length=1, max_length=100, description="Track ids; all tracks when omitted."
    )
    entity: EntityRefText | None = Field(None, description="Every entity when omitted.")


class CheckRollupOut(BaseModel):
    check: str
    level: str
    counts: dict[Outcome, int]
    total: int
    pass_rate: float | None = Field(description="pass / (total − not_applicable).")


class TrackRollupOut(BaseModel):
    track: str
    levels: dict[str, int] = Field(description="Level → entities; `none` for no level.")
    checks: list[CheckRollupOut]


class OwnerLevelsOut(BaseModel):
    owner: str | None
    entities: int
    levels: dict[str, int]


class ReloadOut(BaseModel):
    reloaded: bool
    loaded_at: datetime
    problems: list[Problem]


class BadgeEndpointOut(BaseModel):
    """shields.io's endpoint badge: https://shields.io/badges/endpoint-badge"""

    schemaVersion: int = Field(description="Always 1.")
    label: str = Field(description="The track.")
    message: str = Field(description="The level, `none`, or why there is no level.")
    color: str = Field(description="A hex colour without `#`.")


class HealthOut(BaseModel):
    status: str
    config_loaded_at: datetime
    config_problems: list[Problem]
    runs_in_progress: dict[str, int]
