"""One side of a preview's comparison, for one track: each scored entity's level and
next level, and its check states when they are asked for. "After" is always the changed
track evaluated; "now" is the baseline track evaluated the same way, or the store's
certifications (`stored_side`)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scorecard.grace import stale, unanswered
from scorecard.report import OUTCOME_BY_CODE, PairResults
from scorecard.results import NON_BLOCKING, Outcome
from scorecard.tracks import Track
from scorecard.waivers import Waivers

if TYPE_CHECKING:
    from scorecard.store import ResultRecord, Store

# Outcomes that count as failing in the "checks failing most" list: everything but a
# pass and a check that does not apply (`warn` is an optional check's failure).
FAILING = (Outcome.FAIL, Outcome.WARN, Outcome.ERROR, Outcome.UNKNOWN)


@dataclass(frozen=True, slots=True)
class CheckState:
    """A check's result for one entity, as far as levels go."""

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
        """It holds the entity below its level: required, failing, not exempted."""
        return self.required and self.counted not in NON_BLOCKING and not self.waived


@dataclass(frozen=True)
class Side:
    """One side of the comparison for one track: each scored entity's level and next
    level, the track's ladder, and how to read an entity's check states when needed."""

    ladder: tuple[str, ...]
    levels: dict[str, tuple[str | None, str | None]]  # ref → (level, next level)
    checks: Callable[[str], dict[str, CheckState]]
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


# "Now" for a track that does not exist yet: no entity is scored.
NOBODY = Side((), {}, lambda ref: {}, {}, frozenset())


def evaluated_side(track: Track, pairs: Sequence[PairResults], waivers: Waivers) -> Side:
    """`track` as evaluated: `pairs`, the evaluation's results, with `waivers` applied."""
    by_ref = {pair.entity_ref: pair for pair in pairs}
    titles = {c.id: c.title for c in track.checks}

    def checks(ref: str) -> dict[str, CheckState]:
        pair = by_ref[ref]
        waived = waivers.for_pair(ref, track.id)
        return {
            r.check_id: CheckState(
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

    return Side(
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


def stored_side(
    store: Store, track_id: str, refs: set[str], waivers: Waivers, changed: Track
) -> Side:
    """The certifications stored for `track_id` of the entities `refs`, with the outcome
    letters and layout each pair was stored with (a pair stored before layouts were kept
    is read from the `result` view; its levels are then ranked as `changed` orders them)."""
    certifications = [c for c in store.certifications(track_id=track_id) if c.entity_ref in refs]
    layouts = _stored_layouts(store, track_id)
    # The levels in the order of the newest layout, then of older ones.
    ladder = tuple(
        dict.fromkeys(level for layout in layouts.values() for _, level, _ in layout)
    ) or tuple(level.id for level in changed.levels)
    packed = {
        c.entity_ref: (layouts[c.layout_id], c.outcomes)
        for c in certifications
        if c.layout_id in layouts and c.outcomes is not None
    }

    def from_rows(rows: Iterable[ResultRecord]) -> dict[str, dict[str, CheckState]]:
        states: dict[str, dict[str, CheckState]] = {}
        for r in rows:
            states.setdefault(r.entity_ref, {})[r.check_id] = CheckState(
                r.check_id, r.level_id, r.required, r.outcome, r.message,
                waivers.for_result(r.entity_ref, track_id, r.check_id) is not None,
                _counted(r.outcome, r.evidence),
            )  # fmt: skip
        return states

    unpacked: dict[str, dict[str, CheckState]] = {}
    if len(packed) < len(certifications):
        rows = store.results(track_id=track_id)
        unpacked = from_rows(r for r in rows if r.entity_ref in refs and r.entity_ref not in packed)

    def checks(ref: str) -> dict[str, CheckState]:
        if ref not in packed:
            return unpacked.get(ref, {})
        layout, codes = packed[ref]
        if unanswered(codes):
            # An unknown or error may have counted as its grace's outcome, which the
            # pair's stored results say.
            return from_rows(store.results(entity_ref=ref, track_id=track_id)).get(ref, {})
        waived = waivers.for_pair(ref, track_id)
        return {
            check_id: CheckState(
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
    return Side(
        ladder,
        {c.entity_ref: (c.level, c.next_level) for c in certifications},
        checks,
        failing,
        frozenset(check_ids),
    )


def _stored_layouts(store: Store, track_id: str) -> dict[int, tuple[tuple[str, str, bool], ...]]:
    """Layout id → the checks (id, level, required) of each layout stored for the track,
    newest first."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session
    from sqlmodel import col

    from scorecard.store.tables import TrackLayoutRecord

    with Session(store.engine) as session:
        rows = session.execute(
            select(TrackLayoutRecord.id, TrackLayoutRecord.checks)
            .where(TrackLayoutRecord.track_id == track_id)
            .order_by(col(TrackLayoutRecord.id).desc())
        ).all()
    return {
        layout_id: tuple(
            (check, level, bool(required)) for check, level, required in json.loads(checks)
        )
        for layout_id, checks in rows
    }
