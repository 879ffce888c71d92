"""Levels are cumulative: level N needs every required check of levels 1..N to pass."""

from __future__ import annotations

from collections.abc import Mapping

from scorecard.report import OUTCOME_CODES, Certification
from scorecard.results import Outcome
from scorecard.tracks import Track


def certify(entity_ref: str, track: Track, outcomes: Mapping[str, Outcome]) -> Certification:
    """The highest level whose required checks, and those of every level below, all hold.

    A required check that failed, errored, or could not be evaluated (`unknown`, or no
    result at all) blocks its level and every level above it. The rule is the one a run
    certifies with (`Track.packer`).
    """
    unknown = OUTCOME_CODES[Outcome.UNKNOWN]
    codes = "".join(
        OUTCOME_CODES[outcome] if (outcome := outcomes.get(c.id)) is not None else unknown
        for c in track.checks
    )
    reached, next_level = track.packer.levels(codes)
    return Certification(entity_ref, track.id, reached, next_level)
