"""Levels are cumulative: level N needs every required check of levels 1..N to pass."""

from __future__ import annotations

from collections.abc import Mapping

from scorecard.report import Certification
from scorecard.results import NON_BLOCKING, Outcome
from scorecard.tracks import Track


def certify(entity_ref: str, track: Track, outcomes: Mapping[str, Outcome]) -> Certification:
    """The highest level whose required checks, and those of every level below, all hold.

    A required check that failed, errored, or could not be evaluated (`unknown`, or no
    result at all) blocks its level and every level above it.
    """
    reached = None
    for level in track.levels:
        blocked = any(
            check.required and outcomes.get(check.id) not in NON_BLOCKING for check in level.checks
        )
        if blocked:
            return Certification(entity_ref, track.id, reached, level.id)
        reached = level.id
    return Certification(entity_ref, track.id, reached, None)
