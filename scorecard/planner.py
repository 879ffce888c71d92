"""The planner: which tracks apply to which entity."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from scorecard.entity import Entity
from scorecard.problems import Problem
from scorecard.tracks import Track


class EntityPlan(NamedTuple):
    """The tracks that apply to one entity. A tuple: a run makes one per entity."""

    entity: Entity
    tracks: tuple[Track, ...]


def plan(
    entities: Iterable[Entity], tracks: Iterable[Track], problems: list[Problem] | None = None
) -> list[EntityPlan]:
    """One plan per entity that at least one track applies to, in catalog order.

    Catalog data is untrusted: an entity a track's filter cannot even be matched against
    is left out with a problem in `problems`, so that one odd document never fails a run
    (without `problems`, the error is raised).
    """
    tracks = tuple(tracks)
    if all(track.filter is None and track.exclude is None for track in tracks):
        # Every track applies to every entity: nothing to match.
        return [EntityPlan(entity, tracks) for entity in entities] if tracks else []
    plans = []
    for entity in entities:
        try:
            applicable = tuple(track for track in tracks if track.applies_to(entity))
        except Exception as error:
            if problems is None:
                raise
            problems.append(_unplanned(entity, error))
            continue
        if applicable:
            plans.append(EntityPlan(entity, applicable))
    return plans


def _unplanned(entity: Entity, error: Exception) -> Problem:
    reason = f"{type(error).__name__}: {str(error)[:200]}"
    return Problem(entity.source or entity.ref, f"{entity.ref} is not evaluated: {reason}")
