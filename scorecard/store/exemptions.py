"""Exemptions, their decisions and the audit log, and the levels they change.

Every function works in the caller's transaction: a decision, its audit row, and the
certifications it changes are written together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from scorecard.grace import counted_codes, unanswered
from scorecard.notify.events import (
    EXEMPTION_EXPIRED,
    EXEMPTION_EXPIRING,
    Event,
    emit,
    level_change,
)
from scorecard.store.queries import Page, recount_rollups
from scorecard.store.recall import packed_results
from scorecard.store.tables import (
    AuditRecord,
    CertificationChange,
    CertificationRecord,
    EntityRecord,
    ExemptionRecord,
    ExemptionStatus,
)
from scorecard.store.writes import _level_row, _rows_in, _stored_layouts
from scorecard.waivers import Waiver, Waivers, waived_levels

if TYPE_CHECKING:
    from scorecard.tracks import Track

_exemption = ExemptionRecord.__table__
_audit = AuditRecord.__table__
_certification = CertificationRecord.__table__
_certification_change = CertificationChange.__table__
_entity = EntityRecord.__table__

SYSTEM = "system"  # the actor of what nobody asked for: an expiry acted on


class ExemptionError(Exception):
    """A request or decision that cannot be taken; `code` is the HTTP status that says
    so, `problems` each reason."""

    def __init__(self, code: int, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.problems = problems or [message]


@dataclass(frozen=True, slots=True)
class LevelChange:
    """A level an exemption changed."""

    entity_ref: str
    track_id: str
    level: str | None
    previous_level: str | None


def audit(
    session: Session,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int | None = None,
    change: Mapping[str, Any] | None = None,
) -> None:
    """Append one row to the audit log."""
    session.execute(
        insert(_audit).values(
            at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            change=dict(change or {}),
        )
    )


def snapshot(record: ExemptionRecord) -> dict[str, Any]:
    """What the audit log keeps of an exemption when it is made."""
    return {
        "entity": record.entity_ref,
        "track": record.track_id,
        "check": record.check_id,
        "justification": record.justification,
        "expires_at": record.expires_at.isoformat(),
        "status": str(record.status),
    }


def request(
    session: Session,
    *,
    entity_ref: str,
    track_id: str | None,
    check_id: str,
    justification: str,
    expires_at: datetime,
    by: str,
    approve: bool,
    now: datetime,
) -> ExemptionRecord:
    """Record a requested exemption, approved at once with `approve` (an admin's own)."""
    record = ExemptionRecord(
        entity_ref=entity_ref,
        track_id=track_id,
        check_id=check_id,
        justification=justification,
        expires_at=expires_at,
        status=ExemptionStatus.APPROVED if approve else ExemptionStatus.PENDING,
        requested_by=by,
        requested_at=now,
        decided_by=by if approve else None,
        decided_at=now if approve else None,
    )
    session.add(record)
    session.flush()
    audit(session, now, by, "exemption.requested", "exemption", record.id, snapshot(record))
    if approve:
        audit(
            session,
            now,
            by,
            "exemption.approved",
            "exemption",
            record.id,
            _moved(record, "pending"),
        )
    return record


# What each decision needs the exemption to be, and makes it.
_DECISIONS = {
    "approve": ((ExemptionStatus.PENDING,), ExemptionStatus.APPROVED),
    "deny": ((ExemptionStatus.PENDING,), ExemptionStatus.DENIED),
    "revoke": ((ExemptionStatus.PENDING, ExemptionStatus.APPROVED), ExemptionStatus.REVOKED),
}
_PAST = {"approve": "approved", "deny": "denied", "revoke": "revoked"}


def decide(
    session: Session,
    exemption_id: int,
    decision: str,
    *,
    by: str,
    note: str | None,
    now: datetime,
) -> tuple[ExemptionRecord, str]:
    """Approve, deny or revoke; the exemption and its status before. Raises
    `ExemptionError`: 404 unknown, 409 defined in a file or not in a state to take it."""
    record = session.get(ExemptionRecord, exemption_id, with_for_update=True)
    if record is None:
        raise ExemptionError(404, f"no exemption {exemption_id}")
    if record.source is not None:
        raise ExemptionError(
            409,
            f"exemption {exemption_id} is defined in {record.source}: change that file "
            "in its repository instead",
        )
    allowed, becomes = _DECISIONS[decision]
    if record.status not in allowed:
        raise ExemptionError(
            409, f"exemption {exemption_id} is {record.status}: it cannot be {_PAST[decision]}"
        )
    if decision == "approve" and record.expires_at <= now:
        raise ExemptionError(409, f"exemption {exemption_id} expired before it was approved")
    before = str(record.status)
    record.status = becomes
    record.decided_by = by
    record.decided_at = now
    record.decision_note = note
    session.flush()
    change = _moved(record, before) | ({"note": note} if note else {})
    audit(session, now, by, f"exemption.{_PAST[decision]}", "exemption", record.id, change)
    return record, before


def _moved(record: ExemptionRecord, before: str) -> dict[str, Any]:
    return {"status": [before, str(record.status)]}


def due(session: Session, now: datetime) -> list[ExemptionRecord]:
    """Approved exemptions whose expiry has passed but was not acted on yet."""
    e = ExemptionRecord
    query = select(e).where(e.status == ExemptionStatus.APPROVED, e.expires_at <= now)
    return list(session.scalars(query.order_by(e.expires_at, e.id)))


def mark_expired(
    session: Session, record: ExemptionRecord, now: datetime, *, notify: bool = False
) -> None:
    record.status = ExemptionStatus.EXPIRED
    session.flush()
    if notify:
        emit(session, [_exemption_event(EXEMPTION_EXPIRED, record, now)])
    change = {"status": ["approved", "expired"], "expires_at": record.expires_at.isoformat()}
    audit(session, now, SYSTEM, "exemption.expired", "exemption", record.id, change)


def _exemption_event(kind: str, record: ExemptionRecord, now: datetime) -> Event:
    return Event(
        kind,
        f"{kind}:{record.id}:{record.expires_at.isoformat()}",
        now,
        entity_ref=record.entity_ref,
        track_id=record.track_id,
        data={
            "exemption": record.id,
            "check": record.check_id,
            "justification": record.justification,
            "expires_at": record.expires_at.isoformat(),
        },
    )


def emit_expiring(session: Session, now: datetime, within: timedelta) -> int:
    """An event for each approved exemption that expires within `within` (once per
    exemption and expiry: its key holds both)."""
    e = ExemptionRecord
    query = select(e).where(
        e.status == ExemptionStatus.APPROVED, e.expires_at > now, e.expires_at <= now + within
    )
    return emit(
        session, [_exemption_event(EXEMPTION_EXPIRING, r, now) for r in session.scalars(query)]
    )


def next_expiry(session: Session) -> datetime | None:
    """When the soonest approved exemption expires."""
    e = ExemptionRecord
    return session.scalar(
        select(func.min(e.expires_at)).where(e.status == ExemptionStatus.APPROVED)
    )


def waivers(session: Session, now: datetime, entity_refs: Iterable[str] | None = None) -> Waivers:
    """The exemptions in effect at `now` (of these entities, when given)."""
    e = ExemptionRecord
    query = select(e).where(e.status == ExemptionStatus.APPROVED, e.expires_at > now)
    if entity_refs is None:
        records: Iterable[ExemptionRecord] = session.scalars(query)
    else:
        records = (row[0] for row in _rows_in(session, query, e.entity_ref, entity_refs))
    return Waivers(waiver(record) for record in records)


def waiver(record: ExemptionRecord) -> Waiver:
    return Waiver(
        exemption_id=record.id,
        entity_ref=record.entity_ref,
        track_id=record.track_id,
        check_id=record.check_id,
        justification=record.justification,
        expires_at=record.expires_at,
        approved_by=record.decided_by,
        source=record.source,
    )


def recertify(
    session: Session,
    entity_refs: Iterable[str],
    tracks: Mapping[str, Track],
    now: datetime,
    *,
    reason: str,
    exemption_id: int | None = None,
    notify: bool = False,
) -> list[LevelChange]:
    """Certify these entities' stored results again with the exemptions in effect at
    `now`, without running a check (graced results count as the run that stored them
    counted them: `scorecard.grace`); write each level that changes, and its history row
    with `reason`, and recount the roll-ups it changes.

    A pair is left as it is when its track is no longer loaded or was evaluated with
    other checks than the track has now: the next run certifies it, exemptions included.
    """
    refs = sorted(set(entity_refs))
    if not refs:
        return []
    c = _certification.c
    query = select(
        c.entity_ref, c.track_id, c.level, c.next_level, c.outcomes, c.layout_id, c.run_id,
        c.changed_at,
    )  # fmt: skip
    rows = list(_rows_in(session, query, c.entity_ref, refs))
    layouts = _stored_layouts(session, {row.layout_id for row in rows})
    in_effect = waivers(session, now, refs)
    # A graced result counts as its last known outcome: the packed results of the pairs
    # of graced tracks that hold an unanswered check are read for their graces.
    graced_tracks = {track_id for track_id, track in tracks.items() if track.graced}
    graced = packed_results(
        session,
        [
            (row.entity_ref, row.track_id)
            for row in rows
            if row.track_id in graced_tracks and row.outcomes and unanswered(row.outcomes)
        ],
    )
    ch = _certification_change.c
    with_history = {
        tuple(row)
        for row in _rows_in(
            session, select(ch.entity_ref, ch.track_id).distinct(), ch.entity_ref, refs
        )
    }
    changes: list[LevelChange] = []
    history: list[dict[str, Any]] = []
    notices: list[Event] = []
    for row in rows:
        track = tracks.get(row.track_id)
        layout = layouts.get(row.layout_id) if row.layout_id is not None else None
        if track is None or row.outcomes is None or layout != track.layout:
            continue
        key = (row.entity_ref, row.track_id)
        waived = in_effect.for_pair(*key)
        codes = counted_codes(row.outcomes, graced[key]) if key in graced else row.outcomes
        level, next_level = waived_levels(track.packer, layout, codes, waived)
        if (level, next_level) == (row.level, row.next_level):
            continue
        values: dict[str, Any] = {"level": level, "next_level": next_level}
        if level != row.level:
            values["changed_at"] = now
            if key not in with_history:  # the first observation, then the change
                history.append(
                    _level_row(*key, row.level, None, row.run_id, row.changed_at)
                    | {"reason": None, "exemption_id": None}
                )
            history.append(
                _level_row(*key, level, row.level, None, now)  # type: ignore[arg-type]
                | {"reason": reason, "exemption_id": exemption_id}
            )
            changes.append(LevelChange(*key, level, row.level))
            if notify:
                # The time in the key: "exemption files changed" happens more than once.
                notices.append(
                    level_change(
                        *key,
                        level,
                        row.level,
                        layout,
                        now,
                        why=reason,
                        cause=f"{reason}@{now.isoformat()}",
                    )
                )
        session.execute(
            update(_certification)
            .where(c.entity_ref == row.entity_ref, c.track_id == row.track_id)
            .values(**values)
        )
    if history:
        session.execute(insert(_certification_change), history)
    emit(session, notices)
    if changes:
        e = _entity.c
        changed_refs = {change.entity_ref for change in changes}
        owners = {
            owner.lower() if owner is not None else None
            for (owner,) in _rows_in(session, select(e.owner), e.ref, changed_refs)
        }
        recount_rollups(session, {change.track_id for change in changes}, owners)
    return changes


def find(
    session: Session,
    *,
    status: Sequence[ExemptionStatus] | None = None,
    entity_ref: str | None = None,
    owner: str | None = None,
    track_id: str | None = None,
    check_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[ExemptionRecord]:
    """Exemptions, newest first, filtered (`owner`: the owning entity's, any case)."""
    x = ExemptionRecord
    conditions = []
    if status:
        conditions.append(x.status.in_(status))  # type: ignore[attr-defined]
    if entity_ref is not None:
        conditions.append(func.lower(x.entity_ref) == entity_ref.lower())
    if track_id is not None:
        # An exemption of every track concerns each of them.
        conditions.append(or_(x.track_id == track_id, x.track_id.is_(None)))  # type: ignore[union-attr]
    if check_id is not None:
        conditions.append(x.check_id == check_id)
    if owner is not None:
        e = EntityRecord
        owned = select(e.ref).where(func.lower(e.owner) == owner.lower())
        conditions.append(x.entity_ref.in_(owned))  # type: ignore[attr-defined]
    total = session.scalar(select(func.count()).select_from(x).where(*conditions)) or 0
    query = (
        select(x).where(*conditions).order_by(x.id.desc()).limit(limit).offset(offset)  # type: ignore[union-attr]
    )
    return Page(list(session.scalars(query)), total, limit, offset)


def audit_page(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[AuditRecord]:
    """Audit rows, newest first, filtered (`action`: exact, or a prefix ending in `.`)."""
    a = AuditRecord
    conditions = []
    if actor is not None:
        conditions.append(a.actor == actor)
    if action is not None:
        if action.endswith("."):
            conditions.append(a.action.startswith(action, autoescape=True))  # type: ignore[attr-defined]
        else:
            conditions.append(a.action == action)
    if object_type is not None:
        conditions.append(a.object_type == object_type)
    if object_id is not None:
        conditions.append(a.object_id == object_id)
    if since is not None:
        conditions.append(a.at >= since)
    if until is not None:
        conditions.append(a.at < until)
    total = session.scalar(select(func.count()).select_from(a).where(*conditions)) or 0
    query = select(a).where(*conditions).order_by(a.id.desc()).limit(limit).offset(offset)  # type: ignore[union-attr]
    return Page(list(session.scalars(query)), total, limit, offset)


def sync_files(session: Session, specs: Iterable[Any], now: datetime) -> set[str]:
    """Make the exemptions kept as code those of `specs` (`ExemptionSpec`s of the
    workspace's files): new ones approved by their file, changed ones updated, those no
    longer in any file revoked. The entity refs whose exemptions changed."""
    x = ExemptionRecord
    stored = {
        (r.source, r.entity_ref, r.track_id, r.check_id): r
        for r in session.scalars(
            select(x).where(
                x.source.is_not(None),  # type: ignore[union-attr]
                x.status.in_([ExemptionStatus.APPROVED, ExemptionStatus.EXPIRED]),  # type: ignore[attr-defined]
            )
        )
    }
    touched: set[str] = set()
    for spec in specs:
        actor = f"file:{spec.source}"
        record = stored.pop((spec.source, spec.entity_ref, spec.track_id, spec.check_id), None)
        if record is None:
            record = ExemptionRecord(
                entity_ref=spec.entity_ref,
                track_id=spec.track_id,
                check_id=spec.check_id,
                justification=spec.justification,
                expires_at=spec.expires_at,
                status=(
                    ExemptionStatus.APPROVED if spec.expires_at > now else ExemptionStatus.EXPIRED
                ),
                requested_by=spec.requested_by or actor,
                requested_at=now,
                decided_by=actor,
                decided_at=now,
                source=spec.source,
            )
            session.add(record)
            session.flush()
            audit(
                session, now, actor, "exemption.defined", "exemption", record.id, snapshot(record)
            )
            touched.add(spec.entity_ref)
            continue
        change: dict[str, Any] = {}
        if record.justification != spec.justification:
            change["justification"] = [record.justification, spec.justification]
            record.justification = spec.justification
        if record.expires_at != spec.expires_at:
            change["expires_at"] = [record.expires_at.isoformat(), spec.expires_at.isoformat()]
            record.expires_at = spec.expires_at
            status = ExemptionStatus.APPROVED if spec.expires_at > now else ExemptionStatus.EXPIRED
            if status != record.status:
                change["status"] = [str(record.status), str(status)]
                record.status = status
        if change:
            session.flush()
            audit(session, now, actor, "exemption.changed", "exemption", record.id, change)
            touched.add(record.entity_ref)
    for record in stored.values():  # no longer in its file
        before = str(record.status)
        record.status = ExemptionStatus.REVOKED
        record.decided_by = f"file:{record.source}"
        record.decided_at = now
        record.decision_note = "removed from its file"
        session.flush()
        audit(
            session, now, record.decided_by, "exemption.removed", "exemption", record.id,
            {"status": [before, "revoked"]},
        )  # fmt: skip
        touched.add(record.entity_ref)
    return touched
