"""What a gate decides: per entity and track, the level required, the level reached, and
the checks that stand in the way — plain data that every output format renders."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from scorecard.problems import ConfigError, Problem
from scorecard.results import NON_BLOCKING, Outcome
from scorecard.waivers import Waiver

# Exit codes, as CI systems read them.
EXIT_MET, EXIT_NOT_MET, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


@dataclass(frozen=True)
class Requirement:
    track_id: str
    level: str


@dataclass(frozen=True)
class CheckVerdict:
    id: str
    title: str
    level_id: str
    required: bool
    outcome: Outcome | None  # None: no result (a server that has not evaluated it yet)
    message: str
    remediation: str
    # The exemption in effect: the check counts as passing for the level whatever its
    # outcome, which stays as evaluated.
    exemption: Waiver | None = None

    @property
    def exemption_needed(self) -> bool:
        """An exemption that changes something: the check does not pass (or not apply)
        anyway. False without an exemption."""
        return self.exemption is not None and self.outcome not in _PASSES_ANYWAY


# With these outcomes an exemption changes nothing (as the server's API words it).
_PASSES_ANYWAY = frozenset({Outcome.PASS, Outcome.NOT_APPLICABLE})


@dataclass(frozen=True)
class CheckChange:
    id: str
    title: str
    before: Outcome | None  # None: the check did not exist in the baseline
    after: Outcome | None  # None: the check is gone


@dataclass
class TrackVerdict:
    entity_ref: str
    track_id: str
    track_title: str
    levels: list[str]  # the track's levels, lowest first
    required_level: str
    reached_level: str | None
    checks: list[CheckVerdict]
    allow_errors: bool = False
    # Filled in with a baseline (`--baseline`, `--baseline-ref`).
    baseline_level: str | None = None
    has_baseline: bool = False
    changes: list[CheckChange] = field(default_factory=list)

    @property
    def met(self) -> bool:
        """Every required check up to the required level holds (errors too, if allowed)."""
        return self.required_level in self.levels and not self.blocking

    @property
    def blocking(self) -> list[CheckVerdict]:
        """Required checks of the levels up to the required one that do not hold (an
        exempted check holds, whatever its outcome)."""
        wanted = set(self.levels[: _rank(self.levels, self.required_level) + 1])
        allowed = NON_BLOCKING | ({Outcome.ERROR} if self.allow_errors else set())
        return [
            c
            for c in self.checks
            if c.required
            and c.level_id in wanted
            and c.outcome not in allowed
            and c.exemption is None
        ]

    @property
    def level_change(self) -> int:
        """Levels gained (> 0) or lost (< 0) against the baseline; 0 without one."""
        if not self.has_baseline:
            return 0
        return _rank(self.levels, self.reached_level) - _rank(self.levels, self.baseline_level)


@dataclass
class GateReport:
    verdicts: list[TrackVerdict]
    mode: str  # "local" or "remote"
    baseline: str | None = None  # what the change was compared with, e.g. "main" or a URL
    # Tracks of the workspace's `gate:` section left out because they are drafts.
    drafts_left_out: list[str] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return all(v.met for v in self.verdicts)

    @property
    def exit_code(self) -> int:
        return EXIT_MET if self.met else EXIT_NOT_MET


def draft_refusal(track_id: str) -> str:
    return (
        f"track {track_id} is a draft: it is previewed, not enforced; "
        "remove `draft: true` to gate on it"
    )


def leave_out_drafts(
    requirements: Sequence[Requirement],
    drafts: Collection[str],
    *,
    skip: bool,
    where: str,
) -> tuple[list[Requirement], list[str]]:
    """The requirements on published tracks, and the draft tracks left out.

    A draft is previewed, never enforced: a requirement named on the command line on a
    draft track is a usage error (exit 2), while those of the workspace's `gate:` section
    (`skip`) are left out, so that making a track a draft again breaks no pipeline. When
    nothing is left to gate, that is a usage error too.
    """
    named = [r for r in requirements if r.track_id in drafts]
    if named and not skip:
        raise ConfigError([Problem(where, draft_refusal(r.track_id)) for r in named])
    kept = [r for r in requirements if r.track_id not in drafts]
    left_out = list(dict.fromkeys(r.track_id for r in named))
    if not kept and left_out:
        raise ConfigError(
            [
                Problem(
                    "gate",
                    f"nothing to gate: every track of the gate: section is a draft "
                    f"({', '.join(left_out)}); drafts are previewed, not enforced",
                )
            ]
        )
    return kept, left_out


def _rank(levels: list[str], level: str | None) -> int:
    """-1 for no level; otherwise the level's position (an unknown level ranks lowest)."""
    return levels.index(level) if level in levels else -1
