"""`preview_tracks`: the changed tracks evaluated, each compared with its baseline, entity
by entity; and why each entity that moves does (the checks that make it, and what changed
about each)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from scorecard.entity import Entity
from scorecard.preview.report import Cause, CheckFailures, Move, PreviewReport, TrackPreview
from scorecard.preview.sides import (
    FAILING,
    NOBODY,
    CheckState,
    Side,
    evaluated_side,
    stored_side,
)
from scorecard.results import NON_BLOCKING, Outcome
from scorecard.runner import evaluate
from scorecard.tracks import Track
from scorecard.waivers import Waivers

if TYPE_CHECKING:
    from scorecard.sources.git import GitCache
    from scorecard.store import Store
    from scorecard.workspace import GitHubConfig

STORED = "stored"

_VERBS = {
    Outcome.PASS: "passes", Outcome.FAIL: "fails", Outcome.WARN: "warns",
    Outcome.NOT_APPLICABLE: "does not apply", Outcome.UNKNOWN: "cannot be determined",
    Outcome.ERROR: "errors",
}  # fmt: skip


def preview_tracks(
    changed: Sequence[Track],
    *,
    entities: Sequence[Entity],
    baseline: Literal["stored"] | Sequence[Track],
    store: Store | None = None,
    waivers: Waivers | None = None,
    baseline_label: str | None = None,
    concurrency: int = 16,
    timeout: float = 30.0,
    git_cache: GitCache | None = None,
    github: GitHubConfig | None = None,
) -> PreviewReport:
    """Evaluate `changed` on `entities` and compare each with `baseline`; store nothing.

    See `scorecard.preview`'s docstring for the arguments and the report's shape. Raises
    ValueError for `baseline="stored"` without a `store`.
    """
    if isinstance(baseline, str) and (baseline != STORED or store is None):
        raise ValueError('baseline is "stored" (with a store) or a sequence of tracks')
    if waivers is None:
        waivers = store.waivers() if store is not None else Waivers()
    needs_pushed = store is not None and any(t.external_checks for t in changed)
    pushed = store.pushed_results() if needs_pushed else None
    # A check with a grace keeps its last known outcome, as in a run.
    recall = store.recall_pairs if store is not None else None
    previous = {t.id: t for t in baseline} if not isinstance(baseline, str) else {}
    started = time.perf_counter()

    def run(track: Track) -> Side:
        report = evaluate(
            entities, [track], concurrency=concurrency, timeout=timeout, git_cache=git_cache,
            github=github, waivers=waivers, pushed=pushed, recall=recall,
        )  # fmt: skip
        return evaluated_side(track, report.pairs, waivers)

    previews = []
    for track in changed:
        track_started = time.perf_counter()
        after = run(track)
        if isinstance(baseline, str):
            assert store is not None
            refs = {e.ref for e in entities}
            now = stored_side(store, track.id, refs, waivers, track)
            new = not now.levels
        else:
            old = previous.get(track.id)
            new = old is None
            now = NOBODY if old is None else run(old)
        preview = _compare(track, now, after, new)
        preview.seconds = time.perf_counter() - track_started
        previews.append(preview)
    return PreviewReport(
        baseline=STORED if isinstance(baseline, str) else "tracks",
        baseline_label=baseline_label
        or ("the stored certifications" if isinstance(baseline, str) else "the current tracks"),
        entities=len(entities),
        tracks=previews,
        seconds=time.perf_counter() - started,
    )


def _compare(track: Track, now: Side, after: Side, new: bool) -> TrackPreview:
    lost, gained = [], []
    for ref in after.levels.keys() & now.levels.keys():
        change = after.rank(ref) - now.rank(ref)
        if change < 0:
            lost.append(_move(ref, now, after, lost=True))
        elif change > 0:
            gained.append(_move(ref, now, after, lost=False))
    levels = [level.id for level in track.levels]
    # The levels of both sides, after the change's first; "none" for no level.
    rows = ["none", *levels, *(lvl for lvl in now.ladder if lvl not in levels)]
    counts_now = dict.fromkeys(rows, 0) | Counter(lvl or "none" for lvl, _ in now.levels.values())
    counts_after = dict.fromkeys(rows, 0) | Counter(
        lvl or "none" for lvl, _ in after.levels.values()
    )
    scored = after.levels.keys() | now.levels.keys()
    return TrackPreview(
        track_id=track.id,
        title=track.title,
        new=new,
        draft=track.draft,
        levels=levels,
        counts_now=counts_now,
        counts_after=counts_after,
        not_scored_now=len(scored - now.levels.keys()),
        not_scored_after=len(scored - after.levels.keys()),
        lost=sorted(lost, key=lambda m: m.entity),
        gained=sorted(gained, key=lambda m: m.entity),
        entered=sorted(after.levels.keys() - now.levels.keys()),
        left=sorted(now.levels.keys() - after.levels.keys()),
        failing=_failing(track, now, after, new),
        seconds=0.0,
    )


def _move(ref: str, now: Side, after: Side, *, lost: bool) -> Move:
    """An entity that loses a level (`lost`), with the checks that block the first level
    it no longer reaches; or one that gains, with the checks that blocked its next level
    before. Each says what changed about it."""
    states_now, states_after = now.checks(ref), after.checks(ref)
    causes = []
    for check_id in after.blocking(ref) if lost else now.blocking(ref):
        state = states_after.get(check_id)
        if state is None:  # gone after the change: it blocked the entity before
            causes.append(Cause(check_id, states_now[check_id].title, None, None, "", "removed"))
            continue
        reason = _what_changed(states_now.get(check_id), state, lost=lost)
        causes.append(
            Cause(check_id, state.title, state.level, state.outcome, state.message, reason)
        )
    return Move(ref, now.levels[ref][0], after.levels[ref][0], tuple(causes))


def _what_changed(was: CheckState | None, state: CheckState, *, lost: bool) -> str:
    """What changed about a check that blocks the entity after the change (`lost`), or
    blocked it before: its level; else, on the side where it does not block, that it is
    optional or exempted there; else its outcome."""
    if was is None:
        return "new check"
    if was.level != state.level:
        return f"moved from {was.level} to {state.level}"
    free = was if lost else state
    if not free.required:
        return "now required" if lost else "no longer required"
    if free.waived:
        return "no longer exempted" if lost else "exempted"
    verb = _VERBS[state.outcome]
    return f"still {verb}" if lost and was.outcome not in NON_BLOCKING else f"now {verb}"


def _failing(track: Track, now: Side, after: Side, new: bool) -> list[CheckFailures]:
    """The changed track's checks that fail for some entity, most failures first."""
    found = []
    for position, configured in enumerate(track.checks):
        outcomes = after.failing.get(configured.id)
        if not outcomes:
            continue
        before = now.failing.get(configured.id)
        known_now = configured.id in now.check_ids
        found.append(
            (
                -sum(outcomes.values()),
                position,
                CheckFailures(
                    id=configured.id,
                    title=configured.title,
                    level=configured.level_id,
                    required=configured.required,
                    after=sum(outcomes.values()),
                    now=sum(before.values()) if before else (0 if known_now else None),
                    outcomes={o.value: outcomes[o.value] for o in FAILING if outcomes[o.value]},
                ),
            )
        )
    return [item for *_, item in sorted(found, key=lambda f: (f[0], f[1]))]
