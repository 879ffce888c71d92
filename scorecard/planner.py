"""The planner: which tracks apply to which entity."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scorecard.entity import Entity
from scorecard.tracks import Track


@dataclass(frozen=True, slots=True)
class EntityPlan:
    entity: Entity
    tracks: tuple[Track, ...]


def plan(entities: Iterable[Entity], tracks: Iterable[Track]) -> list[EntityPlan]:
    """One plan per entity that at least one track applies to, in catalog order."""
    tracks = tuple(tracks)
    plans = []
    for entity in entities:
        applicable = tuple(track for track in tracks if track.applies_to(entity))
        if applicable:
            plans.append(EntityPlan(entity, applicable))
    return plans
