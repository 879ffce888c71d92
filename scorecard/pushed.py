"""External checks: results that tools outside scorecard know (coverage, a SAST scan, a
load test) and push to `POST /api/v1/results` or with `scorecard push`.

A track declares such a check as `check: external`. Its result on an entity is the latest
one pushed for it, judged by the check's threshold when it reports a number, and
`unknown` when none was pushed or the latest is older than the check's `max_age`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scorecard.results import Outcome, Result
from scorecard.sdk import check

if TYPE_CHECKING:
    from scorecard.tracks import ConfiguredCheck

# What a pushed result may say of itself: a level-neutral `warn` comes from thresholds
# and optional checks only, as it does for evaluated checks.
PUSHABLE_OUTCOMES = (
    Outcome.PASS, Outcome.FAIL, Outcome.NOT_APPLICABLE, Outcome.UNKNOWN, Outcome.ERROR,
)  # fmt: skip


@check(
    id="external",
    title="Result reported by an external tool",
    description=(
        "A fact known outside the repository and the catalog (test coverage, a security "
        "scan, a load test), pushed to scorecard by the tool or pipeline that knows it."
    ),
    remediation=(
        "Report this check's result from the pipeline that knows it: "
        "`scorecard push --entity REF --check CHECK --outcome pass|fail` (or `--value N`)."
    ),
)
def EXTERNAL_CHECK(entity: Any) -> Result:
    """Never called: the executor reads the pushed result instead (`external_result`)."""
    return Result.unknown(f"{entity.ref} has no result reported.")


@dataclass(frozen=True, slots=True)
class PushedResult:
    """The latest result pushed for one check of one track on one entity."""

    entity_ref: str
    track_id: str
    check_id: str
    outcome: Outcome | None  # None: `value` decides, by the check's threshold
    value: float | None
    message: str
    received_at: datetime
    evidence: dict[str, Any] = field(default_factory=dict)
    observed_at: datetime | None = None  # when the tool observed it (else: received)
    pushed_by: str | None = None

    @property
    def at(self) -> datetime:
        """What the check's `max_age` counts from."""
        return self.observed_at or self.received_at


# (entity ref, track id, check id) → the latest pushed result.
PushedResults = Mapping[tuple[str, str, str], PushedResult]


def external_result(
    configured: ConfiguredCheck, pushed: PushedResult | None, entity_ref: str, now: datetime
) -> Result:
    """The result an external check has on an entity at `now`."""
    if pushed is None:
        return Result.unknown(
            f"{entity_ref} has no result reported for {configured.id}: push one with "
            "`scorecard push` or POST /api/v1/results.",
            reported=False,
        )
    at = pushed.at
    evidence = {**pushed.evidence, "observed_at": at.isoformat()}
    if pushed.pushed_by:
        evidence["reported_by"] = pushed.pushed_by
    if configured.max_age is not None and now - at > configured.max_age:
        from scorecard.tracks import format_duration

        return Result.unknown(
            f"{entity_ref}: no result reported for {configured.id} since "
            f"{at:%Y-%m-%d %H:%M:%S} UTC (results count for "
            f"{format_duration(configured.max_age)}).",
            **evidence,
            stale_after=(at + configured.max_age).isoformat(),
        )
    message = pushed.message or f"{entity_ref}: {configured.id} reported"
    if pushed.value is not None:
        if configured.threshold is not None:
            return configured.threshold.judge(pushed.value, message, evidence)
        outcome = pushed.outcome or Outcome.PASS
        return Result(outcome, message, {**evidence, "value": pushed.value})
    assert pushed.outcome is not None
    return Result(pushed.outcome, message, evidence)
