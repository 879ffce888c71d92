"""Request and response shapes of the API (`/api/v1`), and the answers every operation may
give; they are its OpenAPI schema."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    computed_field,
    model_validator,
)

from scorecard.grace import stale
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
    external: bool = Field(
        False, description="Its results are pushed (`POST /api/v1/results`), not evaluated."
    )
    pass_when: str | None = Field(None, description='Threshold of a reported number: ">= 80".')
    warn_when: str | None = None
    max_age: str | None = Field(None, description="A pushed result counts this long.")
    grace: str | None = Field(
        None,
        description="While the last pass or fail is younger than this, an unknown or error "
        "result keeps it for the level.",
    )


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
    draft: bool = Field(
        False,
        description="Evaluated and shown, but not published: no badge, gate, notification "
        "or roll-up with the published tracks.",
    )


class CheckOut(BaseModel):
    id: str
    title: str
    description: str
    remediation: str
    docs_url: str | None
    inputs: list[str]
    origin: str
    params_schema: dict[str, Any] | None
    has_fix: bool = Field(False, description="`scorecard fix` can make it pass (its own fix).")


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


class WaiverOut(BaseModel):
    """An exemption in effect for a result."""

    id: int | None = Field(description="The exemption's id.")
    track: str | None = Field(description="null: every track that has the check.")
    justification: str
    expires_at: datetime
    approved_by: str | None
    source: str = Field(description="`api`, or the file that defines it.")
    needed: bool = Field(
        description="false: the check passes (or does not apply) anyway; the exemption "
        "changes nothing."
    )


class StaleOut(BaseModel):
    """A result that could not be checked whose last known outcome still counts for the
    level: the check's grace (`grace:` in its track)."""

    outcome: Outcome = Field(description="The last known outcome, which the level counts.")
    observed_at: datetime = Field(description="When a run last observed it.")
    until: datetime = Field(description="When the grace ends: later runs count the real outcome.")
    sentence: str = Field(
        description='"last known pass, 3 h ago; now unknown: <message>", the time counted '
        "as this was served."
    )


def stale_out(outcome: str | None, message: str | None, evidence: Any) -> StaleOut | None:
    """The grace a result's evidence carries, as the API shows it."""
    grace = stale(outcome, evidence) if outcome is not None else None
    if grace is None:
        return None
    return StaleOut(
        outcome=grace.outcome,
        observed_at=grace.observed_at,
        until=grace.until,
        sentence=grace.sentence(outcome or "", message or ""),
    )


_STALE = (
    "Graced: the check could not be answered, and its last known outcome counts for the "
    "level until the grace ends (the outcome stays as evaluated); null otherwise."
)


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
    exemption: WaiverOut | None = Field(
        None,
        description="The exemption in effect: the check counts as passing for the level "
        "whatever its outcome, which stays as evaluated.",
    )

    @computed_field(description=_STALE)  # type: ignore[prop-decorator]
    @property
    def stale(self) -> StaleOut | None:
        return stale_out(self.outcome, self.message, self.evidence)


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
        description="Required checks of the next level that do not pass and are not "
        "exempted (a graced check counts as its last known outcome)."
    )
    levels: list[LevelResults]
    badge: str = Field(description="Path of the SVG badge.")
    draft: bool = Field(
        False, description="The track is a draft: its level is a preview, its badge says draft."
    )


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
    exemption: WaiverOut | None = None

    @computed_field(description=_STALE)  # type: ignore[prop-decorator]
    @property
    def stale(self) -> StaleOut | None:
        return stale_out(self.outcome, self.message, self.evidence)


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
    run_id: int | None = Field(description="The run that changed it; null: no run did.")
    reason: str | None = Field(
        None, description="What changed it when no run did, e.g. `exemption 4 expired`."
    )
    exemption_id: int | None = None
    at: datetime


class EntityHistory(BaseModel):
    entity: str
    results: list[ResultChangeOut]
    certifications: list[CertificationChangeOut]


class ShardsOut(BaseModel):
    total: int
    done: int
    failed: int


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
    shards: ShardsOut | None = Field(
        None, description="A run evaluated by Celery workers: its shards stored so far."
    )


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
    draft: bool = Field(
        False, description="The track is a draft: a preview, to be left out of sums across tracks."
    )


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
    message: str = Field(
        description="The level, `none`, `draft` (a track not published yet), or why there "
        "is no level."
    )
    color: str = Field(description="A hex colour without `#`.")


class HealthOut(BaseModel):
    status: str
    config_loaded_at: datetime
    config_problems: list[Problem]
    runs_in_progress: dict[str, int]
    notification_targets_failing: list[str] = Field(
        default_factory=list,
        description="Targets whose messages have failed for an hour with none sent since.",
    )


# --- exemptions and the audit log ------------------------------------------------------


def _date_time_text(value: Any) -> Any:
    """A date-time as ISO text only: pydantic would read a number as seconds since 1970,
    which the schema (`format: date-time`) does not allow."""
    if value is not None and not isinstance(value, str | datetime):
        raise ValueError("expected a date-time such as 2027-03-01T00:00:00Z")
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?\s*", value):
        raise ValueError("expected a date-time such as 2027-03-01T00:00:00Z")
    return value


DateTimeText = Annotated[AwareDatetime, BeforeValidator(_date_time_text)]


class ExemptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: EntityRefText
    track: TrackId | None = Field(None, description="Omitted: every track that has the check.")
    check: str = Field(min_length=1, max_length=100, pattern=NO_NUL, description="Check id.")
    justification: str = Field(
        min_length=1, max_length=2000, pattern=NO_NUL, description="Why, in a sentence or more."
    )
    expires_at: DateTimeText | None = Field(
        None, description="When it ends (with a time zone); or give `days`, not both."
    )
    days: int | None = Field(
        None, ge=1, le=3650, description="Ends this many days from now; or give `expires_at`."
    )
    approve: bool = Field(False, description="An admin's own request, approved at once.")

    @model_validator(mode="after")
    def _one_expiry(self) -> ExemptionIn:
        if (self.expires_at is None) == (self.days is None):
            raise ValueError("give exactly one of `expires_at` and `days`")
        return self


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=1000, pattern=NO_NUL, description="Why.")


class LevelChangeOut(BaseModel):
    entity: str
    track: str
    level: str | None
    previous_level: str | None


class ExemptionOut(BaseModel):
    id: int
    entity: str
    track: str | None = Field(description="null: every track that has the check.")
    check: str
    justification: str
    expires_at: datetime
    status: str = Field(description="pending, approved, denied, revoked or expired.")
    active: bool = Field(description="Approved and not expired: it counts for levels now.")
    requested_by: str = Field(description="A token's name, or `file:PATH`.")
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    source: str = Field(description="`api`, or the file that defines it (read-only here).")
    level_changes: list[LevelChangeOut] = Field(
        default_factory=list, description="Levels this write changed (write answers only)."
    )


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="A token's name, `file:PATH`, `cli` or `system`.")
    action: str
    object_type: str
    object_id: str | None
    change: dict[str, Any]


class WhoAmIOut(BaseModel):
    name: str
    role: str


class NotificationOut(BaseModel):
    id: int
    target: str
    key: str = Field(description="The idempotency key sent with the message.")
    events: list[int]
    title: str
    body: str
    status: str = Field(description="pending, sent or failed.")
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None


# --- campaigns -------------------------------------------------------------------------


class CampaignGoalOut(BaseModel):
    track: str
    level: str | None = Field(description="The level every entity must reach; null: `checks`.")
    checks: list[str] | None = Field(description="The checks that must all pass; null: `level`.")


class MilestoneOut(BaseModel):
    date: date
    share: float = Field(description="The share of the entities in scope at the goal by then.")


class CampaignOut(BaseModel):
    id: str
    title: str
    description: str | None
    owner: str | None
    docs: str | None
    goal: CampaignGoalOut
    start: date
    deadline: date
    milestones: list[MilestoneOut]
    in_scope: int = Field(description="Listed entities the campaign applies to.")
    at_goal: int
    share: float | None = Field(description="at_goal / in_scope; null: nothing in scope.")
    status: str = Field(description="not started, on track, at risk, done or missed.")
    source: str = Field(description="The file that defines it.")


class CampaignOwnerOut(BaseModel):
    owner: str | None = Field(description="null: entities without an owner.")
    in_scope: int
    at_goal: int
    share: float | None


class CampaignBlockerOut(BaseModel):
    check: str
    title: str
    outcome: Outcome | None = Field(description="null: not evaluated yet.")
    message: str | None


class CampaignEntityOut(BaseModel):
    ref: str
    title: str | None
    owner: str | None
    level: str | None = Field(description="The level reached on the goal's track.")
    blocking: list[CampaignBlockerOut] = Field(
        description="The goal checks that do not pass and are not exempted."
    )


class CampaignDetailOut(CampaignOut):
    owners: list[CampaignOwnerOut] = Field(description="Furthest behind first.")
    not_at_goal: list[CampaignEntityOut] = Field(description="A page of them, by ref.")
    not_at_goal_total: int


class CampaignPointOut(BaseModel):
    at: datetime
    in_scope: int
    at_goal: int
