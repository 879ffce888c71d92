"""Rollout preview: what a new or changed track would do to the catalog, before it ships.

A track tightened in a pull request must not surprise hundreds of teams the morning after
it merges. `preview_tracks` evaluates the changed tracks on the catalog's entities and
compares each entity's level with what it is now, storing nothing:

    report = preview_tracks(
        changed,                 # Sequence[Track]: the new or changed tracks
        entities=entities,       # Sequence[Entity]: what to evaluate them on
        baseline="stored",       # or Sequence[Track]: the tracks as they are now
        store=store,             # needed for "stored"; its exemptions apply to both sides
    )
    report.as_json()             # a dict in the shape below (the API answers it)
    render_markdown(report)      # a pull-request comment, bounded for large catalogs

`baseline="stored"`: "now" is each entity's stored certification on the track, as the
last run left it, exemptions included; only the changed tracks are evaluated.
A sequence of tracks: "now" is the track of the same id among them, evaluated on the same
entities with the same exemptions; a changed track with none is new (every entity "not
scored" now). `waivers` are the exemptions in effect (default: the store's, when a store
is given). With a store, both sides are evaluated as a run would be: results pushed for
external checks are the store's, and a check's grace keeps its last stored outcome.
`concurrency`, `timeout`, `git_cache` and `github` are `scorecard.runner.evaluate`'s.

The helpers the CLI, the API and other callers share: `load_track_documents` reads track
documents sent as text (the same safe YAML loading and limits as track files), and
`stored_entities` lists a store's entities.

`as_json()`:

    {"baseline": "stored",                  # or "tracks"
     "baseline_label": "the stored certifications",
     "entities": 9, "seconds": 0.04,
     "tracks": [{
       "track": "production-readiness", "title": "Production readiness",
       "new": false,                        # no such track now
       "draft": false,                      # the changed track is a draft
       "levels": ["bronze", "silver", "gold"],            # after the change, lowest first
       "counts": {"now": {"none": 2, "bronze": 1, ...},   # every level, and "none"
                  "after": {"none": 3, "bronze": 0, ...}},
       "not_scored": {"now": 0, "after": 0},   # entities the track does not apply to
       "lost": [{"entity": "component:default/checkout-web", "now": "bronze",
                 "after": null,                # null: no level
                 "checks": [{"id": "has_runbook", "title": "Has a runbook",
                             "level": "bronze",      # where it stands after the change
                             "outcome": "fail",      # null: the check is gone
                             "message": "docs/runbook.md is missing from checkout-web.",
                             "reason": "moved from silver to bronze"}]}],
       "gained": [...],                     # the same; checks: those no longer blocking
       "entered": ["component:default/x"],  # scored after the change, not now
       "left": [],                          # scored now, not after
       "failing": [{"id": "has_oncall", "title": "...", "level": "silver",
                    "required": true, "now": 3,          # null: a new check
                    "after": 4, "outcomes": {"fail": 4}}],   # fail, warn, error, unknown
       "seconds": 0.02}]}                   # the evaluation of this track, both sides
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any, Literal

from scorecard.entity import Entity
from scorecard.grace import stale, unanswered
from scorecard.problems import ConfigError, Problem
from scorecard.registry import CheckRegistry
from scorecard.report import OUTCOME_BY_CODE, PairResults
from scorecard.results import NON_BLOCKING, Outcome
from scorecard.runner import evaluate
from scorecard.tracks import Track, track_from_document
from scorecard.waivers import Waivers
from scorecard.yamlfile import load_yaml_text

if TYPE_CHECKING:
    from scorecard.sources.git import GitCache
    from scorecard.store import ResultRecord, Store
    from scorecard.workspace import GitHubConfig

STORED = "stored"
# Outcomes that count as failing in the "checks failing most" list: everything but a
# pass and a check that does not apply (`warn` is an optional check's failure).
FAILING = (Outcome.FAIL, Outcome.WARN, Outcome.ERROR, Outcome.UNKNOWN)
# What a Markdown comment lists at most: entities per list, checks in the failing table.
MARKDOWN_ENTITIES = 50
MARKDOWN_CHECKS = 10
_MESSAGE_CHARS = 300  # of a check's message in Markdown

_VERBS = {
    Outcome.PASS: "passes", Outcome.FAIL: "fails", Outcome.WARN: "warns",
    Outcome.NOT_APPLICABLE: "does not apply", Outcome.UNKNOWN: "cannot be determined",
    Outcome.ERROR: "errors",
}  # fmt: skip


# --- the report -------------------------------------------------------------------------


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
        """The report as documented in this module's docstring."""
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


# --- loading what is previewed ----------------------------------------------------------


def load_track_documents(
    documents: Iterable[tuple[str, str]], registry: CheckRegistry
) -> list[Track]:
    """Tracks from `(name, YAML text)` pairs, as the API receives them: read with the
    limits of track files (alias bombs, deep nesting, huge numbers are refused), each
    problem named `name:LINE:COL: key: message`. Raises ConfigError with every problem
    of every document, a track id given twice included."""
    tracks: list[Track] = []
    problems: list[Problem] = []
    first: dict[str, str] = {}
    for name, text in documents:
        try:
            track = track_from_document(load_yaml_text(text, name), registry)
        except ConfigError as error:
            problems.extend(error.problems)
            continue
        if track.id in first:
            problems.append(
                Problem(name, f"track id {track.id!r} is also given by {first[track.id]}")
            )
            continue
        first[track.id] = name
        tracks.append(track)
    if problems:
        raise ConfigError(problems)
    return tracks


def stored_entities(store: Store) -> list[Entity]:
    """The entities of the store's catalog (those gone from it left out), as runs saw
    them last."""
    return [Entity(record.raw, record.source) for record in store.entities()]


# --- the preview ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CheckState:
    title: str
    level: str
    required: bool
    outcome: Outcome
    message: str
    waived: bool
    # What the level counts: the outcome, or the last known one a grace keeps.
    counted: Outcome

    @property
    def blocks(self) -> bool:
        return self.required and self.counted not in NON_BLOCKING and not self.waived


@dataclass(frozen=True)
class _Side:
    """One side of the comparison for one track: each scored entity's level and next
    level, the track's ladder, and how to read an entity's check states when needed."""

    ladder: tuple[str, ...]
    levels: dict[str, tuple[str | None, str | None]]  # ref → (level, next level)
    checks: Callable[[str], dict[str, _CheckState]]
    failing: dict[str, Counter[str]]  # check id → failing outcome → entities
    check_ids: frozenset[str]  # every check of the track on this side

    def rank(self, ref: str) -> int:
        level = self.levels[ref][0]
        return self.ladder.index(level) if level in self.ladder else -1

    def blocking(self, ref: str) -> list[str]:
        """The required checks that hold the entity below its next level."""
        next_level = self.levels[ref][1]
        return [
            check_id
            for check_id, state in self.checks(ref).items()
            if state.level == next_level and state.blocks
        ]


_NOBODY = _Side((), {}, lambda ref: {}, {}, frozenset())


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

    See the module's docstring for the arguments and the report's shape. Raises
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

    def run(track: Track) -> _Side:
        report = evaluate(
            entities, [track], concurrency=concurrency, timeout=timeout, git_cache=git_cache,
            github=github, waivers=waivers, pushed=pushed, recall=recall,
        )  # fmt: skip
        return _evaluated_side(track, report.pairs, waivers)

    previews = []
    for track in changed:
        track_started = time.perf_counter()
        after = run(track)
        if isinstance(baseline, str):
            assert store is not None
            refs = {e.ref for e in entities}
            now = _stored_side(store, track.id, refs, waivers, track)
            new = not now.levels
        else:
            old = previous.get(track.id)
            new = old is None
            now = _NOBODY if old is None else run(old)
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


def _evaluated_side(track: Track, pairs: Sequence[PairResults], waivers: Waivers) -> _Side:
    by_ref = {pair.entity_ref: pair for pair in pairs}
    titles = {c.id: c.title for c in track.checks}

    def checks(ref: str) -> dict[str, _CheckState]:
        pair = by_ref[ref]
        waived = waivers.for_pair(ref, track.id)
        return {
            r.check_id: _CheckState(
                titles.get(r.check_id, r.check_id),
                r.level_id,
                r.required,
                r.outcome,
                r.result.message,
                r.check_id in waived,
                _counted(r.outcome, r.result.evidence),
            )
            for r in pair.results()
        }

    return _Side(
        tuple(level.id for level in track.levels),
        {ref: (pair.level, pair.next_level) for ref, pair in by_ref.items()},
        checks,
        _failing_counts((pair.layout, pair.codes) for pair in pairs),
        frozenset(titles),
    )


def _counted(outcome: Outcome, evidence: Any) -> Outcome:
    """The outcome the level counts: a grace's last known one, else the result's own."""
    grace = stale(outcome, evidence)
    return grace.outcome if grace is not None else outcome


def _failing_counts(
    pairs: Iterable[tuple[Sequence[tuple[str, str, bool]], str]],
) -> dict[str, Counter[str]]:
    """Check id → failing outcome → entities, from each pair's layout and outcome letters."""
    counts: dict[str, Counter[str]] = {}
    failing = {code: outcome for code, outcome in OUTCOME_BY_CODE.items() if outcome in FAILING}
    for layout, codes in pairs:
        for (check_id, _, _), code in zip(layout, codes, strict=True):
            outcome = failing.get(code)
            if outcome is not None:
                counts.setdefault(check_id, Counter())[outcome.value] += 1
    return counts


def _stored_side(
    store: Store, track_id: str, refs: set[str], waivers: Waivers, changed: Track
) -> _Side:
    """The certifications stored for `track_id` of the entities `refs`, with the outcome
    letters and layout each pair was stored with (a pair stored before layouts were kept
    is read from the `result` view; its levels are then ranked as `changed` orders them)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session
    from sqlmodel import col

    from scorecard.store.tables import TrackLayoutRecord

    certifications = [c for c in store.certifications(track_id=track_id) if c.entity_ref in refs]
    with Session(store.engine) as session:
        rows = session.execute(
            select(TrackLayoutRecord.id, TrackLayoutRecord.checks)
            .where(TrackLayoutRecord.track_id == track_id)
            .order_by(col(TrackLayoutRecord.id).desc())
        ).all()
    layouts: dict[int, tuple[tuple[str, str, bool], ...]] = {
        layout_id: tuple(
            (check, level, bool(required)) for check, level, required in json.loads(checks)
        )
        for layout_id, checks in rows
    }
    # The levels in the order of the newest layout, then of older ones.
    ladder = tuple(
        dict.fromkeys(level for layout in layouts.values() for _, level, _ in layout)
    ) or tuple(level.id for level in changed.levels)
    packed = {
        c.entity_ref: (layouts[c.layout_id], c.outcomes)
        for c in certifications
        if c.layout_id in layouts and c.outcomes is not None
    }

    def from_rows(rows: Iterable[ResultRecord]) -> dict[str, dict[str, _CheckState]]:
        states: dict[str, dict[str, _CheckState]] = {}
        for r in rows:
            states.setdefault(r.entity_ref, {})[r.check_id] = _CheckState(
                r.check_id, r.level_id, r.required, r.outcome, r.message,
                waivers.for_result(r.entity_ref, track_id, r.check_id) is not None,
                _counted(r.outcome, r.evidence),
            )  # fmt: skip
        return states

    unpacked: dict[str, dict[str, _CheckState]] = {}
    if len(packed) < len(certifications):
        rows = store.results(track_id=track_id)
        unpacked = from_rows(r for r in rows if r.entity_ref in refs and r.entity_ref not in packed)

    def checks(ref: str) -> dict[str, _CheckState]:
        if ref not in packed:
            return unpacked.get(ref, {})
        layout, codes = packed[ref]
        if unanswered(codes):
            # An unknown or error may have counted as its grace's outcome, which the
            # pair's stored results say.
            return from_rows(store.results(entity_ref=ref, track_id=track_id)).get(ref, {})
        waived = waivers.for_pair(ref, track_id)
        return {
            check_id: _CheckState(
                check_id,
                level,
                required,
                OUTCOME_BY_CODE[code],
                "",
                check_id in waived,
                OUTCOME_BY_CODE[code],
            )
            for (check_id, level, required), code in zip(layout, codes, strict=True)
        }

    failing = _failing_counts(packed.values())
    for states in unpacked.values():
        for check_id, state in states.items():
            if state.outcome in FAILING:
                failing.setdefault(check_id, Counter())[state.outcome.value] += 1
    check_ids = {check_id for layout in layouts.values() for check_id, _, _ in layout}
    check_ids.update(check_id for states in unpacked.values() for check_id in states)
    return _Side(
        ladder,
        {c.entity_ref: (c.level, c.next_level) for c in certifications},
        checks,
        failing,
        frozenset(check_ids),
    )


def _compare(track: Track, now: _Side, after: _Side, new: bool) -> TrackPreview:
    lost, gained = [], []
    for ref in after.levels.keys() & now.levels.keys():
        change = after.rank(ref) - now.rank(ref)
        if change < 0:
            lost.append(_lost(ref, now, after))
        elif change > 0:
            gained.append(_gained(ref, now, after))
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


def _lost(ref: str, now: _Side, after: _Side) -> Move:
    """The checks that block the first level the entity no longer reaches, and what
    changed about each."""
    states_after, states_now = after.checks(ref), now.checks(ref)
    causes = []
    for check_id in after.blocking(ref):
        state, was = states_after[check_id], states_now.get(check_id)
        if was is None:
            reason = "new check"
        elif was.level != state.level:
            reason = f"moved from {was.level} to {state.level}"
        elif not was.required:
            reason = "now required"
        elif was.waived:
            reason = "no longer exempted"
        elif was.outcome in NON_BLOCKING:
            reason = f"now {_VERBS[state.outcome]}"
        else:
            reason = f"still {_VERBS[state.outcome]}"
        causes.append(
            Cause(check_id, state.title, state.level, state.outcome, state.message, reason)
        )
    return Move(ref, now.levels[ref][0], after.levels[ref][0], tuple(causes))


def _gained(ref: str, now: _Side, after: _Side) -> Move:
    """The checks that blocked the entity's next level before the change, and what
    changed about each."""
    states_after, states_now = after.checks(ref), now.checks(ref)
    causes = []
    for check_id in now.blocking(ref):
        was, state = states_now[check_id], states_after.get(check_id)
        if state is None:
            causes.append(Cause(check_id, was.title, None, None, "", "removed"))
            continue
        if state.level != was.level:
            reason = f"moved from {was.level} to {state.level}"
        elif not state.required:
            reason = "no longer required"
        elif state.waived:
            reason = "exempted"
        else:
            reason = f"now {_VERBS[state.outcome]}"
        causes.append(
            Cause(check_id, state.title, state.level, state.outcome, state.message, reason)
        )
    return Move(ref, now.levels[ref][0], after.levels[ref][0], tuple(causes))


def _failing(track: Track, now: _Side, after: _Side, new: bool) -> list[CheckFailures]:
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


# --- Markdown ---------------------------------------------------------------------------


def render_markdown(report: PreviewReport, limit: int = MARKDOWN_ENTITIES) -> str:
    """A pull-request comment: a heading per track, its levels now and after, the
    entities that lose (then gain) a level with the checks that cause it, and the checks
    failing most. At most `limit` entities per list, then "… and N more"."""
    seconds = f"{report.seconds:.2f}s"
    parts = [
        "## scorecard preview",
        f"Compared with {report.baseline_label} · {_count(report.entities, 'entity')} · "
        f"evaluated in {seconds}",
    ]
    for track in report.tracks:
        parts.append(_markdown_track(track, limit))
    return "\n\n".join(parts) + "\n"


def _markdown_track(track: TrackPreview, limit: int) -> str:
    draft = ", a draft" if track.draft else ""
    parts = [f"### {_inline(track.title)} (`{track.track_id}`{draft})", _summary(track)]
    parts.append(_markdown_counts(track))
    if track.lost:
        parts.append(_markdown_moves(track.lost, "loses a level", "lose a level", limit))
    if track.gained:
        parts.append(_markdown_moves(track.gained, "gains a level", "gain a level", limit))
    if track.failing:
        parts.append(_markdown_failing(track.failing[:MARKDOWN_CHECKS]))
    return "\n\n".join(parts)


def _summary(track: TrackPreview) -> str:
    if track.new:
        return f"New track: {_count(sum(track.counts_after.values()), 'entity')} would be scored."
    lost, gained = len(track.lost), len(track.gained)
    if not lost and not gained:
        sentence = "No entity changes level."
    else:
        sentence = (
            f"{_count(lost, 'entity')} {'loses' if lost == 1 else 'lose'} a level, "
            f"{_count(gained, 'entity')} {'gains' if gained == 1 else 'gain'} one."
        )
    if track.entered or track.left:
        sentence += f" {len(track.entered)} newly scored, {len(track.left)} no longer scored."
    return sentence


def _markdown_counts(track: TrackPreview) -> str:
    rows = ["| level | now | after | change |", "| --- | ---: | ---: | ---: |"]
    names = list(track.counts_after)
    with_unscored = track.not_scored_now or track.not_scored_after
    for name in names:
        rows.append(_count_row(name, track.counts_now[name], track.counts_after[name]))
    if with_unscored:
        rows.append(_count_row("not scored", track.not_scored_now, track.not_scored_after))
    return "\n".join(rows)


def _count_row(name: str, now: int, after: int) -> str:
    change = after - now
    shown = f"{change:+d}" if change else "0"
    return f"| {name} | {now} | {after} | {shown} |"


def _markdown_moves(moves: list[Move], one: str, many: str, limit: int) -> str:
    verb = one if len(moves) == 1 else many
    lines = [f"<details><summary>{_count(len(moves), 'entity')} {verb}</summary>", ""]
    for move in moves[:limit]:
        lines.append(f"- `{move.entity}`: {move.now or 'no level'} → {move.after or 'no level'}")
        for cause in move.checks:
            lines.append(f"  - {_cause(cause)}")
    if len(moves) > limit:
        lines.append(f"- … and {len(moves) - limit} more")
    lines += ["", "</details>"]
    return "\n".join(lines)


def _cause(cause: Cause) -> str:
    where = f" ({cause.level})" if cause.level else ""
    outcome = f" {cause.outcome.value}" if cause.outcome else ""
    message = f": {_inline(cause.message, _MESSAGE_CHARS)}" if cause.message else ""
    return f"`{cause.id}`{where}{outcome}{message} — {cause.reason}"


def _markdown_failing(checks: list[CheckFailures]) -> str:
    rows = [
        "**Checks failing most**",
        "",
        "| check | level | failing now | failing after |",
        "| --- | --- | ---: | ---: |",
    ]
    for c in checks:
        now = "new" if c.now is None else str(c.now)
        optional = " (optional)" if not c.required else ""
        rows.append(f"| `{c.id}`{optional} | {c.level} | {now} | {c.after} |")
    return "\n".join(rows)


def _inline(text: str, limit: int | None = None) -> str:
    """Text from a track or a check as one line of Markdown that cannot break the comment
    (no HTML, no table cell end), cut at `limit` characters."""
    flat = " ".join(text.split())
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return escape(flat, quote=False).replace("|", "\\|")


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {noun if n == 1 else plural}"
