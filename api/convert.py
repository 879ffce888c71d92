"""Domain objects and store records → response models."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from api.schemas import (
    AuditOut,
    CheckOut,
    ConfiguredCheckOut,
    EntitySummary,
    ExemptionOut,
    LevelChangeOut,
    LevelOut,
    Problem,
    RunOut,
    ShardsOut,
    TrackOut,
    WaiverOut,
)
from scorecard.problems import Problem as ConfigProblem
from scorecard.registry import CheckRegistry
from scorecard.results import Outcome
from scorecard.sdk import Check
from scorecard.store import AuditRecord, EntityRecord, ExemptionRecord, ExemptionStatus, RunRecord
from scorecard.store.exemptions import LevelChange
from scorecard.store.shards import ShardProgress
from scorecard.tracks import ConfiguredCheck, Track, format_duration
from scorecard.waivers import Waiver


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
        description=configured.description,
        remediation=configured.remediation,
        docs_url=configured.docs_url,
        required=configured.required,
        params=params,
        external=configured.external,
        pass_when=str(threshold.pass_when) if (threshold := configured.threshold) else None,
        warn_when=str(threshold.warn_when) if threshold and threshold.warn_when else None,
        max_age=format_duration(configured.max_age) if configured.max_age else None,
        grace=format_duration(configured.grace) if configured.grace else None,
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
        draft=item.draft,
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
        has_fix=item.fix is not None,
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


def run(record: RunRecord, shards: ShardProgress | None = None) -> RunOut:
    """A run, with its shards' progress when it was evaluated by Celery workers."""
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
        shards=ShardsOut(**shards.as_dict()) if shards is not None else None,
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


def waiver(found: Waiver, outcome: Outcome | None) -> WaiverOut:
    """An exemption in effect for a result of `outcome`: needed unless it passes anyway."""
    return WaiverOut(
        id=found.exemption_id,
        track=found.track_id,
        justification=found.justification,
        expires_at=found.expires_at,
        approved_by=found.approved_by,
        source=found.source or "api",
        needed=outcome not in (Outcome.PASS, Outcome.NOT_APPLICABLE),
    )


def exemption(
    record: ExemptionRecord, now: datetime, changes: Sequence[LevelChange] = ()
) -> ExemptionOut:
    status = str(record.status)
    if record.status == ExemptionStatus.APPROVED and record.expires_at <= now:
        status = "expired"  # its expiry has passed; the store is about to act on it
    return ExemptionOut(
        id=record.id or 0,
        entity=record.entity_ref,
        track=record.track_id,
        check=record.check_id,
        justification=record.justification,
        expires_at=record.expires_at,
        status=status,
        active=status == "approved",
        requested_by=record.requested_by,
        requested_at=record.requested_at,
        decided_by=record.decided_by,
        decided_at=record.decided_at,
        decision_note=record.decision_note,
        source=record.source or "api",
        level_changes=[
            LevelChangeOut(
                entity=c.entity_ref,
                track=c.track_id,
                level=c.level,
                previous_level=c.previous_level,
            )
            for c in changes
        ],
    )


def audit(record: AuditRecord) -> AuditOut:
    return AuditOut(
        id=record.id or 0,
        at=record.at,
        actor=record.actor,
        action=record.action,
        object_type=record.object_type,
        object_id=record.object_id,
        change=record.change,
    )
