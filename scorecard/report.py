"""What an evaluation produces: results placed in their tracks, certifications, a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from scorecard.entity import Entity
from scorecard.problems import Problem
from scorecard.results import Outcome, Result


# Not frozen, like Result: a run builds one per check per entity. Treat it as a value.
@dataclass(slots=True)
class CheckResult:
    """One configured check of one track, evaluated on one entity."""

    entity_ref: str
    track_id: str
    check_id: str  # the configured check's id, unique within its track
    level_id: str
    required: bool
    result: Result  # outcome as it counts: a failure of an optional check is already `warn`

    @property
    def outcome(self) -> Outcome:
        return self.result.outcome


@dataclass(frozen=True, slots=True)
class Certification:
    """The highest level an entity reaches on a track (None: not even the first)."""

    entity_ref: str
    track_id: str
    level: str | None
    next_level: str | None


@dataclass(slots=True)
class RunReport:
    started_at: datetime
    finished_at: datetime | None = None
    entities: list[Entity] = field(default_factory=list)
    results: list[CheckResult] = field(default_factory=list)
    certifications: list[Certification] = field(default_factory=list)
    # Catalog documents that were skipped, sources that failed: reported, never fatal.
    problems: list[Problem] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return sum(1 for r in self.results if r.outcome is Outcome.ERROR) + len(self.problems)
