"""Which fixes an entity needs, rendered: the failing checks up to a level, or named ones.

Planning reads outcomes only, wherever they come from: a local evaluation (`scorecard fix`
in a repository) or the store's latest results (pull requests at scale, campaign pages).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scorecard.entity import Entity
from scorecard.fixes.model import RenderedFix
from scorecard.fixes.templates import FixTemplateError, fix_context, render_fix
from scorecard.levels import certify
from scorecard.problems import ConfigError, Problem
from scorecard.results import Outcome
from scorecard.tracks import ConfiguredCheck, Track

# A fix can make a failing check pass; a check that could not be evaluated (unknown,
# error) has no failure a change is known to cure, so it is reported instead.
FIXABLE = frozenset({Outcome.FAIL, Outcome.WARN})


# A check that holds, for a level or a named check (a waiver counts as holding too).
HOLDS = frozenset({Outcome.PASS, Outcome.NOT_APPLICABLE})


@dataclass(frozen=True)
class FixTarget:
    """A track and what to fix on it: the checks up to `level`, or the named checks."""

    track: Track
    level: str | None
    check_ids: tuple[str, ...]

    @property
    def levels(self) -> list[str]:
        return [level.id for level in self.track.levels]

    def keeps_below(
        self, level: str | None, outcomes: Mapping[str, Outcome | None], waived: Collection[str]
    ) -> bool:
        """Whether a pair stored at `level` with `outcomes` falls short of the target:
        below the level (the stored level counts exemptions), or a named check that
        neither holds nor is waived."""
        if self.level is not None:
            return _rank(self.levels, level) < _rank(self.levels, self.level)
        return any(
            outcomes.get(check_id) not in HOLDS and check_id not in waived
            for check_id in self.check_ids
        )


def fix_target(
    tracks: Mapping[str, Track],
    track_id: str,
    level: str | None = None,
    check_ids: Sequence[str] = (),
    *,
    keys: tuple[str, str, str] = ("track", "level", "checks"),
) -> FixTarget:
    """The target, checked: a known track, and either one of its levels or some of its
    checks. ConfigError lists what is wrong, under `keys` (the names the asker gave
    the track, the level and the checks: the API's fields, the CLI's options)."""
    track_key, level_key, checks_key = keys
    track = tracks.get(track_id)
    if track is None:
        known = ", ".join(sorted(tracks)) or "none"
        raise ConfigError([Problem(track_key, f"unknown track {track_id!r}; known: {known}")])
    problems = []
    if (level is None) == (not check_ids):
        problems.append(
            Problem(level_key, "give a level (fix up to it) or checks (fix those), not both")
        )
    levels = [lvl.id for lvl in track.levels]
    if level is not None and level not in levels:
        shown = ", ".join(levels)
        problems.append(
            Problem(level_key, f"track {track.id} has no level {level!r}; its levels: {shown}")
        )
    known_checks = {c.id for c in track.checks}
    unknown = [c for c in dict.fromkeys(check_ids) if c not in known_checks]
    if unknown:
        problems.append(
            Problem(
                checks_key,
                f"track {track.id} has no check {', '.join(map(repr, unknown))}; "
                f"its checks: {', '.join(sorted(known_checks))}",
            )
        )
    if problems:
        raise ConfigError(problems)
    return FixTarget(track, level, tuple(dict.fromkeys(check_ids)))


@dataclass(frozen=True)
class Unfixed:
    """A check the plan needs but cannot change: no fix declared, it could not be
    evaluated, or its fix did not render. `reason` says which, `remediation` what to do."""

    check_id: str
    title: str
    reason: str
    remediation: str


@dataclass
class EntityFixPlan:
    entity_ref: str
    track_id: str
    track_title: str
    levels: list[str]
    target_level: str | None  # None: named checks, not a level
    level_before: str | None
    level_after: str | None  # with every rendered fix counted as passing
    fixes: list[RenderedFix] = field(default_factory=list)
    unfixed: list[Unfixed] = field(default_factory=list)

    @property
    def reaches_target(self) -> bool:
        if self.target_level is None:
            return not self.unfixed
        return _rank(self.levels, self.level_after) >= _rank(self.levels, self.target_level)


def _rank(levels: list[str], level: str | None) -> int:
    return levels.index(level) + 1 if level in levels else 0


def checks_to_fix(
    track: Track,
    outcomes: Mapping[str, Outcome | None],
    *,
    level: str | None = None,
    check_ids: Collection[str] = (),
    waived: Collection[str] = (),
) -> list[ConfiguredCheck]:
    """The checks standing in the way: every required check of the levels up to `level`
    that does not hold (levels are cumulative), or the named checks that do not. Waived
    checks block nothing, so they are left alone."""
    chosen = []
    wanted_levels = _levels_up_to(track, level) if level is not None else set()
    for configured in track.checks:
        if configured.id in waived or configured.external:
            continue
        outcome = outcomes.get(configured.id)
        if outcome is Outcome.PASS or outcome is Outcome.NOT_APPLICABLE:
            continue
        if configured.id in check_ids or (
            configured.level_id in wanted_levels and configured.required
        ):
            chosen.append(configured)
    return chosen


def _levels_up_to(track: Track, level: str) -> set[str]:
    ids = [lvl.id for lvl in track.levels]
    return set(ids[: ids.index(level) + 1])


def plan_entity(
    entity: Entity,
    track: Track,
    outcomes: Mapping[str, Outcome | None],
    values: Mapping[str, Any],
    *,
    level: str | None = None,
    check_ids: Collection[str] = (),
    waived: Collection[str] = (),
) -> EntityFixPlan:
    """Render the fixes of the checks that keep `entity` below `level` on `track` (or of the
    named checks), and predict the level once they pass."""
    before = certify(entity.ref, track, _blocking_outcomes(outcomes, waived)).level
    plan = EntityFixPlan(
        entity.ref, track.id, track.title, [lvl.id for lvl in track.levels], level, before, before
    )
    fixed: set[str] = set()
    for configured in checks_to_fix(
        track, outcomes, level=level, check_ids=check_ids, waived=waived
    ):
        outcome = outcomes.get(configured.id)
        fix = configured.fix
        unfixed = _unfixed(configured, outcome, fix is not None)
        if unfixed is not None:
            plan.unfixed.append(unfixed)
            continue
        assert fix is not None
        where = f"the fix of {configured.id} for {entity.ref}"
        context = fix_context(entity, configured.params, values, configured.id, configured.title)
        try:
            files, catalog = render_fix(fix, context, where)
        except FixTemplateError as error:
            plan.unfixed.append(
                Unfixed(configured.id, configured.title, str(error), configured.remediation)
            )
            continue
        plan.fixes.append(
            RenderedFix(
                entity_ref=entity.ref,
                track_id=track.id,
                check_id=configured.id,
                check_title=configured.title,
                title=fix.title or f"Fix: {configured.title}",
                files=files,
                catalog=catalog if catalog is not None and not catalog.is_empty() else None,
            )
        )
        fixed.add(configured.id)
    after = {**_blocking_outcomes(outcomes, waived), **dict.fromkeys(fixed, Outcome.PASS)}
    plan.level_after = certify(entity.ref, track, after).level
    return plan


def _blocking_outcomes(
    outcomes: Mapping[str, Outcome | None], waived: Collection[str]
) -> dict[str, Outcome]:
    """Outcomes as a level counts them: a waived check holds."""
    counted = {k: v for k, v in outcomes.items() if v is not None}
    return {**counted, **dict.fromkeys(waived, Outcome.PASS)}


def _unfixed(configured: ConfiguredCheck, outcome: Outcome | None, has_fix: bool) -> Unfixed | None:
    if outcome is None or outcome not in FIXABLE:
        shown = outcome.value if outcome is not None else "not evaluated"
        reason = f"it could not be evaluated ({shown}), so no change is known to fix it"
    elif not has_fix:
        reason = "no automatic fix: do it by hand"
    else:
        return None
    return Unfixed(configured.id, configured.title, reason, configured.remediation)
