"""Levels are cumulative; only pass, warn and not_applicable let a required check through."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorecard.levels import certify
from scorecard.registry import CheckRegistry
from scorecard.results import Outcome
from scorecard.tracks import Track, load_track

P, F, W, N, U, E = (
    Outcome.PASS,
    Outcome.FAIL,
    Outcome.WARN,
    Outcome.NOT_APPLICABLE,
    Outcome.UNKNOWN,
    Outcome.ERROR,
)


@pytest.fixture
def track(registry: CheckRegistry, data_dir: Path) -> Track:
    # bronze: has_owner (required), has_tags (optional); silver: has_runbook, has_adr
    return load_track(data_dir / "tracks" / "valid.yaml", registry)


@pytest.mark.parametrize(
    ("owner", "tags", "runbook", "adr", "level", "next_level"),
    [
        (P, P, P, P, "silver", None),
        (P, W, P, P, "silver", None),  # an optional failure blocks nothing
        (P, P, P, F, "bronze", "silver"),
        (F, P, P, P, None, "bronze"),  # cumulative: silver checks passing do not help
        (P, P, N, P, "silver", None),  # a requirement that does not apply does not block
        (P, P, E, P, "bronze", "silver"),  # errors never count as a pass
        (U, P, P, P, None, "bronze"),  # nor does unknown
        (P, P, None, P, "bronze", "silver"),  # no result at all blocks too
    ],
)
def test_certification(
    track: Track,
    owner: Outcome,
    tags: Outcome,
    runbook: Outcome | None,
    adr: Outcome,
    level: str | None,
    next_level: str | None,
) -> None:
    outcomes = {"has_owner": owner, "has_tags": tags, "has_adr": adr}
    if runbook is not None:
        outcomes["has_runbook"] = runbook
    cert = certify("component:default/x", track, outcomes)
    assert (cert.level, cert.next_level) == (level, next_level)
