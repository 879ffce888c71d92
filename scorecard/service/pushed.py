"""Pushed results in a server: a batch validated whole, then recorded and certified at
once; and the `max_age` of each external check acted on at its instant.

A batch is all or nothing: one unknown entity, track or check, or an outcome its check
does not accept, rejects it with every bad item named, and nothing of it is written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from scorecard.auth import Principal
from scorecard.entity import Entity, InvalidEntity, parse_ref
from scorecard.pushed import PUSHABLE_OUTCOMES, PushedResult
from scorecard.results import Outcome
from scorecard.service.desk import LevelsDesk
from scorecard.store.writes import WriteStats
from scorecard.thresholds import numeric
from scorecard.tracks import ConfiguredCheck, Track

log = logging.getLogger("scorecard.pushed")

# A tool's clock may run a little ahead of the server's.
_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class PushItem:
    """One result as a client sends it (`POST /api/v1/results`, `scorecard push`)."""

    entity: str
    check: str
    track: str | None = None
    outcome: str | None = None
    value: float | None = None
    message: str | None = None
    evidence: dict[str, Any] | None = None
    observed_at: datetime | None = None


class PushRejected(Exception):
    """A batch refused whole: one line per bad item (`results[3]: ...`)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Pushed:
    """What a push did: its run, the results it recorded, and the levels it wrote."""

    run_id: int
    results: list[PushedResult]
    stats: WriteStats
    # The levels the entities held on the tracks the push touched, before and after it.
    levels_before: dict[tuple[str, str], str | None]
    levels_after: dict[tuple[str, str], str | None]


class PushDesk(LevelsDesk):
    """Takes pushed results; its timed change is the next result passing its `max_age`."""

    def next_instant(self) -> datetime | None:
        return self.store.next_pushed_aging(self._tracks())

    def push(self, principal: Principal, items: Sequence[PushItem]) -> Pushed:
        """Validate the batch whole, then record it and certify its entities again, as
        one run. Raises `PushRejected` naming every bad item."""
        now = datetime.now(UTC)
        tracks = self._tracks()
        results = resolve(items, tracks, self.find_entity, now, principal.name)
        refs = sorted({result.entity_ref for result in results})
        with self._lock:
            before = self._levels(refs)
            run_id, stats = self.store.push(results, tracks, actor=principal.name)
            after = self._levels(refs)
        log.info(
            "%s pushed %d result(s) as run %d; %d level(s) written",
            principal.name, len(results), run_id, stats.certifications_changed,
        )  # fmt: skip
        self._changed()
        return Pushed(run_id, results, stats, before, after)

    def _levels(self, refs: list[str]) -> dict[tuple[str, str], str | None]:
        held = self.store.certifications_for(refs)
        return {(c.entity_ref, c.track_id): c.level for ref in refs for c in held[ref]}

    def age_out(self) -> int | None:
        """Act on pushed results whose `max_age` has passed (at its instant, and at start
        for those that passed while no server ran); the run that did, if any."""
        with self._lock:
            run_id = self.store.age_out_pushed(self._tracks())
        if run_id is not None:
            log.info("pushed results passed their max_age: certified again in run %d", run_id)
        self._changed()
        return run_id

    def find_entity(self, text: str) -> Entity | None:
        """The stored, listed entity a ref names (any case), or None."""
        try:
            ref = str(parse_ref(text, default_kind="component"))
        except (InvalidEntity, ValueError):
            return None
        record = self.store.entity(ref)
        if record is None or record.gone_run is not None:
            return None
        try:
            return Entity(record.raw, record.source)
        except InvalidEntity:
            return None


def resolve(
    items: Sequence[PushItem],
    tracks: dict[str, Track],
    find_entity: Callable[[str], Entity | None],
    now: datetime,
    pushed_by: str,
) -> list[PushedResult]:
    """Each item as the result it records, or `PushRejected` with every problem. An item
    without `track` goes to every track of its entity that has an external check of that
    id."""
    problems: list[str] = []
    results: list[PushedResult] = []
    entities: dict[str, Entity | None] = {}
    for index, item in enumerate(items):
        where = f"results[{index}]"
        if item.entity not in entities:
            entities[item.entity] = find_entity(item.entity)
        entity = entities[item.entity]
        if entity is None:
            problems.append(f"{where}.entity: no entity {item.entity!r} in the catalog")
            continue
        targets, problem = _targets(item, entity, tracks)
        if problem:
            problems.append(f"{where}.{problem}")
            continue
        found = [_accepts(item, configured, now) for configured in targets]
        if any(found):
            problems.extend(f"{where}.{p}" for p in dict.fromkeys(p for p in found if p))
            continue
        for configured in targets:
            results.append(
                PushedResult(
                    entity_ref=entity.ref,
                    track_id=configured.track_id,
                    check_id=configured.id,
                    outcome=Outcome(item.outcome) if item.outcome is not None else None,
                    value=item.value,
                    message=(item.message or "").strip(),
                    evidence=item.evidence or {},
                    observed_at=item.observed_at.astimezone(UTC) if item.observed_at else None,
                    received_at=now,
                    pushed_by=pushed_by,
                )
            )
    if problems:
        raise PushRejected(problems)
    return results


def _targets(
    item: PushItem, entity: Entity, tracks: dict[str, Track]
) -> tuple[list[ConfiguredCheck], str | None]:
    """The external checks an item reports, or what is wrong with where it points."""
    if item.track is not None:
        track = tracks.get(item.track)
        if track is None:
            return [], f"track: no track {item.track!r}"
        configured = track.find_check(item.check)
        if configured is None:
            return [], f"check: track {track.id!r} has no check {item.check!r}"
        if not configured.external:
            return [], (
                f"check: {item.check!r} of track {track.id!r} is evaluated by scorecard, "
                "not pushed (only `check: external` entries take pushed results)"
            )
        if not track.applies_to(entity):
            return [], f"track: track {track.id!r} does not apply to {entity.ref}"
        return [configured], None
    found = [
        configured
        for track in tracks.values()
        if track.applies_to(entity)
        for configured in track.external_checks
        if configured.id == item.check
    ]
    if not found:
        return [], f"check: no track of {entity.ref} has an external check {item.check!r}"
    return found, None


def _accepts(item: PushItem, configured: ConfiguredCheck, now: datetime) -> str | None:
    """Why `configured` cannot take the item's outcome or value, or None."""
    name = f"{configured.track_id}/{configured.id}"
    if item.observed_at is not None and item.observed_at - now > _CLOCK_SKEW:
        return f"observed_at: {item.observed_at.isoformat()} is in the future"
    if item.value is not None and numeric(item.value) is None:
        return f"value: {item.value!r} is not a finite number"
    if configured.threshold is not None:
        if item.value is None and item.outcome in ("pass", "fail", "warn", None):
            return (
                f"value: check {name} {configured.threshold.describe()}: push its `value`, "
                "and the threshold decides the outcome"
            )
        if item.value is not None and item.outcome is not None:
            return f"outcome: check {name} takes a `value` (its threshold decides), not both"
        if item.outcome is not None and item.outcome not in _UNMEASURED:
            return (
                f"outcome: check {name} takes a `value`; an outcome only to say that none "
                f"was measured ({', '.join(_UNMEASURED)})"
            )
        return None
    if item.outcome is None:
        return f"outcome: check {name} has no threshold: push an `outcome`"
    if item.outcome not in _PUSHABLE:
        return (
            f"outcome: check {name} does not accept {item.outcome!r} "
            f"(one of {', '.join(_PUSHABLE)})"
        )
    return None


_PUSHABLE = tuple(str(outcome) for outcome in PUSHABLE_OUTCOMES)
_UNMEASURED = ("not_applicable", "unknown", "error")
