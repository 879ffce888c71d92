"""A rollout preview's report: per changed track, the entities per level now and after,
those that move and the checks that make them, and the checks failing most; and its JSON,
in the shape `scorecard.preview`'s docstring documents (the API answers it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scorecard.preview.markdown import MARKDOWN_ENTITIES, render_markdown
from scorecard.results import Outcome


@dataclass(frozen=True)
class Cause:
    """A check that makes an entity lose a level (it blocks it after the change) or gain
    one (it blocked it before)."""

    id: str
    title: str
    level: str | None  # its level after the change; None: the check is gone
    outcome: Outcome | None  # after the change; None: the check is gone
    message: str
    reason: str  # what changed: "moved from silver to bronze", "now fails", "removed"…


@dataclass(frozen=True)
class Move:
    """An entity whose level changes: from `now` to `after` (None: no level)."""

    entity: str
    now: str | None
    after: str | None
    checks: tuple[Cause, ...]


@dataclass(frozen=True)
class CheckFailures:
    """How often a check of the changed track would fail, and how often it does now."""

    id: str
    title: str
    level: str
    required: bool
    after: int
    now: int | None  # None: the check is new
    outcomes: Mapping[str, int]  # failing outcome → entities


@dataclass
class TrackPreview:
    track_id: str
    title: str
    new: bool
    draft: bool
    levels: list[str]  # after the change, lowest first
    counts_now: dict[str, int]  # level (or "none") → entities
    counts_after: dict[str, int]
    not_scored_now: int
    not_scored_after: int
    lost: list[Move]
    gained: list[Move]
    entered: list[str]
    left: list[str]
    failing: list[CheckFailures]
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "track": self.track_id,
            "title": self.title,
            "new": self.new,
            "draft": self.draft,
            "levels": list(self.levels),
            "counts": {"now": dict(self.counts_now), "after": dict(self.counts_after)},
            "not_scored": {"now": self.not_scored_now, "after": self.not_scored_after},
            "lost": [_move_json(m) for m in self.lost],
            "gained": [_move_json(m) for m in self.gained],
            "entered": list(self.entered),
            "left": list(self.left),
            "failing": [
                {
                    "id": c.id,
                    "title": c.title,
                    "level": c.level,
                    "required": c.required,
                    "now": c.now,
                    "after": c.after,
                    "outcomes": dict(c.outcomes),
                }
                for c in self.failing
            ],
            "seconds": round(self.seconds, 3),
        }


@dataclass
class PreviewReport:
    baseline: str  # "stored" or "tracks"
    baseline_label: str  # for people: "the stored certifications", "the tracks at main"
    entities: int
    tracks: list[TrackPreview] = field(default_factory=list)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """The report as documented in `scorecard.preview`'s docstring."""
        return {
            "baseline": self.baseline,
            "baseline_label": self.baseline_label,
            "entities": self.entities,
            "seconds": round(self.seconds, 3),
            "tracks": [t.as_json() for t in self.tracks],
        }

    def markdown(self, limit: int = MARKDOWN_ENTITIES) -> str:
        return render_markdown(self, limit)


def _move_json(move: Move) -> dict[str, Any]:
    return {
        "entity": move.entity,
        "now": move.now,
        "after": move.after,
        "checks": [
            {
                "id": c.id,
                "title": c.title,
                "level": c.level,
                "outcome": c.outcome.value if c.outcome else None,
                "message": c.message,
                "reason": c.reason,
            }
            for c in move.checks
        ],
    }
