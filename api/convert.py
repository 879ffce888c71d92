"""Domain objects and store records → response models."""

from __future__ import annotations

from datetime import datetime, timedelta

from api.schemas import (
    CheckOut,
    ConfiguredCheckOut,
    EntitySummary,
    LevelOut,
    Problem,
    RunOut,
    TrackOut,
)
from scorecard.problems import Problem as ConfigProblem
from scorecard.registry import CheckRegistry
from scorecard.sdk import Check
from scorecard.store import EntityRecord, RunRecord
from scorecard.tracks import ConfiguredCheck, Track, format_duration


def schedule_text(schedule: str | timedelta | None) -> str | None:
    if isinstance(schedule, timedelta):
        return f"every {format_duration(schedule)}"
    return schedule


def configured_check(configured: ConfiguredCheck) -> ConfiguredCheckOut:
    params = configured.params.model_dump(mode="json") if configured.params is not None else {}
    return ConfiguredCheckOut(
        id=configured.id,
        check=configured.check.id,
        title=configured.title,
        description=configured.check.meta.description,
        remediation=configured.remediation,
        docs_url=configured.check.meta.docs_url,
        required=configured.required,
        params=params,
    )


def track(item: Track, next_run: datetime | None) -> TrackOut:
    return TrackOut(
        id=item.id,
        title=item.title,
        description=item.description,
        owner=item.owner,
        docs=item.docs,
        schedule=schedule_text(item.schedule),
        next_run=next_run,
        levels=[
            LevelOut(
                id=level.id,
                title=level.title,
                description=level.description,
                checks=[configured_check(c) for c in level.checks],
            )
            for level in item.levels
        ],
    )


def check(item: Check, registry: CheckRegistry) -> CheckOut:
    schema = item.params_model.model_json_schema() if item.params_model is not None else None
    return CheckOut(
        id=item.id,
        title=item.meta.title,
        description=item.meta.description,
        remediation=item.meta.remediation,
        docs_url=item.meta.docs_url,
        inputs=list(item.inputs),
        origin=registry.origin(item.id),
        params_schema=schema,
    )


def entity(record: EntityRecord, levels: dict[str, str | None]) -> EntitySummary:
    return EntitySummary(
        ref=record.ref,
        kind=record.kind,
        namespace=record.namespace,
        name=record.name,
        title=record.title,
        owner=record.owner,
        type=record.type,
        lifecycle=record.lifecycle,
        levels=levels,
        gone_since_run=record.gone_run,
    )


def run(record: RunRecord) -> RunOut:
    scope = record.scope or {}
    return RunOut(
        id=record.id,
        status=record.status,
        trigger=record.trigger,
        tracks=scope.get("tracks"),
        entity=scope.get("entity"),
        started_at=record.started_at,
        finished_at=record.finished_at,
        entities=record.entities,
        results=record.results,
        errors=record.errors,
        changed=record.changed,
        problems=list(record.problems or []),
        failure=record.failure,
    )


def problem(item: ConfigProblem) -> Problem:
    return Problem(
        file=item.file,
        line=item.line,
        column=item.column,
        key=item.key,
        message=item.message,
        text=str(item),
    )
