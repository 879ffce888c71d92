"""Results pushed by CI pipelines and other tools for external checks (`check: external`)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.deps import Runner, ServiceDep, TokenBeforeBody, require_runner
from api.schemas import (
    AUTH_RESPONSES,
    COMMON_RESPONSES,
    NO_NUL,
    DateTimeText,
    EntityRefText,
    ErrorOut,
    InvalidRequestOut,
    TrackId,
)
from scorecard.results import Outcome
from scorecard.service.pushed import PushItem, PushRejected

router = APIRouter(tags=["pushed results"], responses=COMMON_RESPONSES, route_class=TokenBeforeBody)

MAX_BATCH = 1000
_MAX_EVIDENCE = 16_384  # bytes of JSON per result's evidence

PushedOutcome = Literal["pass", "fail", "not_applicable", "unknown", "error"]


class PushedResultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: EntityRefText
    track: TrackId | None = Field(
        None, description="Omitted: every track of the entity with an external check of that id."
    )
    check: str = Field(min_length=1, max_length=100, pattern=NO_NUL, description="Check id.")
    outcome: PushedOutcome | None = Field(
        None, description="For a check without a threshold; or to say nothing was measured."
    )
    value: float | None = Field(
        None, allow_inf_nan=False, description="A number; the check's threshold decides."
    )
    message: str | None = Field(None, max_length=2000, pattern=NO_NUL, description="A sentence.")
    evidence: dict[str, Any] | None = Field(None, description="Facts as data (links, figures).")
    observed_at: DateTimeText | None = Field(
        None, description="When the tool observed it (with a time zone); default: now."
    )

    @model_validator(mode="after")
    def _something(self) -> PushedResultIn:
        if self.outcome is None and self.value is None:
            raise ValueError("give an `outcome`, a `value`, or both")
        return self

    @field_validator("evidence")
    @classmethod
    def _small(cls, evidence: dict[str, Any] | None) -> dict[str, Any] | None:
        import orjson

        if evidence is None:
            return None
        try:
            text = orjson.dumps(evidence)
        except (TypeError, orjson.JSONEncodeError) as error:
            raise ValueError(f"evidence cannot be stored as JSON: {error}") from None
        if len(text) > _MAX_EVIDENCE:
            raise ValueError(f"evidence is {len(text):,} bytes of JSON; at most {_MAX_EVIDENCE:,}")
        if b"\\u0000" in text:
            raise ValueError("evidence holds a NUL character")
        return evidence


class PushIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    results: list[PushedResultIn] = Field(min_length=1, max_length=MAX_BATCH)


class PushedResultOut(BaseModel):
    entity: str
    track: str
    check: str
    outcome: Outcome = Field(description="As it counts now (after the threshold).")
    message: str
    value: float | None = None
    level: str | None = Field(description="The entity's level on the track after the push.")
    previous_level: str | None


class PushOut(BaseModel):
    run_id: int = Field(description="The push is recorded as a run with trigger `push`.")
    results: list[PushedResultOut]
    levels_changed: int


@router.post(
    "/results",
    response_model=PushOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_runner)],
    responses={
        **AUTH_RESPONSES,
        400: {"model": ErrorOut, "description": "The body is not JSON in UTF-8."},
        422: {
            "model": InvalidRequestOut,
            "description": "Rejected whole, nothing written: an unknown entity, track or "
            "check, a check that is not external, or an outcome the check does not accept "
            "(each bad item named as `results[N].field: what`).",
        },
    },
)
def push_results(body: PushIn, service: ServiceDep, principal: Runner) -> PushOut | JSONResponse:
    """Report results of external checks (a runner or admin token). The batch is
    validated whole; the entities' levels on the tracks it touches are certified again at
    once, with history and notifications as a run writes them."""
    desk = service.pushed
    assert desk is not None
    items = [
        PushItem(
            entity=item.entity,
            check=item.check,
            track=item.track,
            outcome=item.outcome,
            value=item.value,
            message=item.message,
            evidence=item.evidence,
            observed_at=item.observed_at,
        )
        for item in body.results
    ]
    try:
        pushed = desk.push(principal, items)
    except PushRejected as error:
        return JSONResponse({"detail": str(error), "errors": error.problems}, status_code=422)
    # Each result as it counts now, read once per pair the push touched.
    stored = {}
    for key in dict.fromkeys((r.entity_ref, r.track_id) for r in pushed.results):
        for record in service.store.results(entity_ref=key[0], track_id=key[1]):
            stored[(*key, record.check_id)] = record
    out = []
    for result in pushed.results:
        key = (result.entity_ref, result.track_id)
        now = stored.get((*key, result.check_id))
        out.append(
            PushedResultOut(
                entity=result.entity_ref,
                track=result.track_id,
                check=result.check_id,
                outcome=now.outcome if now else Outcome.UNKNOWN,
                message=now.message if now else result.message,
                value=result.value,
                level=pushed.levels_after.get(key),
                previous_level=pushed.levels_before.get(key),
            )
        )
    return PushOut(
        run_id=pushed.run_id, results=out, levels_changed=pushed.stats.certifications_changed
    )
