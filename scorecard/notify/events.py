"""Events: changes worth telling someone about, written to the outbox in the same
transaction as the change itself.

Each event has a key that names the change (`certification.lost:run:12:component:default/x:ops`):
written twice, it is kept once, so a job run again or a run saved again tells nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

CERTIFICATION_LOST = "certification.lost"
CERTIFICATION_GAINED = "certification.gained"
CHECK_FAILING = "check.failing"
EXEMPTION_EXPIRING = "exemption.expiring"
EXEMPTION_EXPIRED = "exemption.expired"
CAMPAIGN_MILESTONE_MISSED = "campaign.milestone_missed"
CAMPAIGN_DEADLINE_NEAR = "campaign.deadline_near"
CAMPAIGN_DEADLINE_MISSED = "campaign.deadline_missed"
CAMPAIGN_DONE = "campaign.done"
RUN_FAILED = "run.failed"


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    key: str
    at: datetime
    run_id: int | None = None
    entity_ref: str | None = None
    track_id: str | None = None
    campaign_id: str | None = None
    # What the message needs beyond the columns: levels, check, why, deadline, ...
    data: dict[str, Any] = field(default_factory=dict)


def emit(session: Session, events: Iterable[Event]) -> int:
    """Write `events` to the outbox in the caller's transaction; an event whose key is
    there already is left out. How many were given."""
    rows = [
        {
            "key": e.key, "kind": e.kind, "at": e.at, "run_id": e.run_id,
            "entity_ref": e.entity_ref, "track_id": e.track_id, "campaign_id": e.campaign_id,
            "data": e.data, "routed": False,
        }
        for e in events
    ]  # fmt: skip
    if not rows:
        return 0
    # Here rather than at the top: the store's writes import this module.
    from scorecard.store.tables import OutboxEvent

    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(OutboxEvent.__table__).on_conflict_do_nothing(index_elements=["key"])
    for start in range(0, len(rows), 1_000):
        session.execute(statement, rows[start : start + 1_000])
    return len(rows)


def level_rank(layout: Sequence[Sequence[Any]], level: str | None) -> int:
    """The position of `level` among the levels of a layout, in order (-1: no level)."""
    levels = list(dict.fromkeys(entry[1] for entry in layout))
    return levels.index(level) if level in levels else -1


def level_change(
    ref: str,
    track: str,
    level: str | None,
    previous: str | None,
    layout: Sequence[Sequence[Any]],
    at: datetime,
    *,
    why: str,
    cause: str,
    run_id: int | None = None,
) -> Event:
    """A certification gained or lost. `why` says it for people ("run 12", "exemption 4
    expired"); `cause` names the change uniquely in the event's key."""
    lost = level_rank(layout, level) < level_rank(layout, previous)
    kind = CERTIFICATION_LOST if lost else CERTIFICATION_GAINED
    return Event(
        kind,
        f"{kind}:{cause}:{ref}:{track}",
        at,
        run_id=run_id,
        entity_ref=ref,
        track_id=track,
        data={"from": previous, "to": level, "why": why},
    )
