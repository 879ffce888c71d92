"""Grace for flaky sources: a check that could not be answered keeps its last known
outcome for the level for a while.

A track (`grace: 24h`) or a check entry (`grace:`) may give its checks a grace. A check
whose new outcome is `unknown` or `error` while its last real outcome (anything but those
two) is younger than the grace keeps that outcome for the level: a GitHub outage does not
drop half the catalog a level. Past the grace, the real outcome counts. A check never
observed otherwise gets no grace: grace never turns an error into a pass nobody saw.

Like an exemption (`scorecard.waivers`), grace changes only the certification. The result
keeps its real outcome, and carries the grace in its evidence
(`{"grace": {"outcome": "pass", "observed_at": ..., "until": ...}}`), which is part of the
pair's packed text: whoever recomputes a level from stored letters reads it back
(`counted_codes`), and a run that finds the source still down carries it forward as it
was, so that the pair's digest stays the same and nothing is written again.

This module needs no database: a run is handed what the store remembers (`Recall`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, MutableSequence, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from scorecard.report import (
    OUTCOME_BY_CODE,
    OUTCOME_CODES,
    Layout,
    PairPacker,
    PairResults,
    digest,
    pack,
)
from scorecard.results import Outcome, Result

if TYPE_CHECKING:
    from scorecard.tracks import Track
    from scorecard.waivers import Waivers

GRACE = "grace"  # the evidence key of a graced result

# A check that gave no answer: what grace covers.
_UNANSWERED = frozenset(OUTCOME_CODES[o] for o in (Outcome.UNKNOWN, Outcome.ERROR))

Pair = tuple[str, str]  # (entity ref, track id)


@dataclass(frozen=True, slots=True)
class Grace:
    """The last known outcome a result that could not be answered keeps for the level,
    when it was observed, and until when it counts."""

    outcome: Outcome
    observed_at: datetime
    until: datetime

    def evidence(self) -> dict[str, str]:
        return {
            "outcome": self.outcome.value,
            "observed_at": self.observed_at.isoformat(),
            "until": self.until.isoformat(),
        }

    @classmethod
    def of(cls, evidence: Any) -> Grace | None:
        """The grace a result's evidence carries, or None (none, or not one grace wrote)."""
        held = evidence.get(GRACE) if isinstance(evidence, Mapping) else None
        if not isinstance(held, Mapping):
            return None
        try:
            outcome = Outcome(held["outcome"])
            observed_at = datetime.fromisoformat(held["observed_at"])
            until = datetime.fromisoformat(held["until"])
        except (KeyError, TypeError, ValueError):
            return None
        if OUTCOME_CODES[outcome] in _UNANSWERED or None in (observed_at.tzinfo, until.tzinfo):
            return None
        return cls(outcome, observed_at, until)

    def sentence(self, outcome: str, message: str, now: datetime | None = None) -> str:
        """ "last known pass, 3 h ago; now unknown: GitHub answered 502", how long ago
        counted at `now` (when it is shown)."""
        age = _elapsed(((now or datetime.now(UTC)) - self.observed_at).total_seconds())
        return f"last known {self.outcome.value}, {age}; now {outcome}: {message}"


def _elapsed(seconds: float) -> str:
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {'day' if unit == 'days' and count == 1 else unit} ago"
    return "under a minute ago"


def unanswered(codes: str) -> bool:
    """Whether outcome letters hold an `unknown` or an `error`."""
    return "u" in codes or "e" in codes


def counted_codes(codes: str, packed: str | Sequence[Any]) -> str:
    """A pair's outcome letters as they count for the level: each graced result's
    letter replaced by its grace's outcome. `packed` is the pair's packed text (or the
    document PostgreSQL hands back); read only when some letter is `u` or `e`."""
    if not unanswered(codes):
        return codes
    items = json.loads(packed) if isinstance(packed, str) else packed
    if len(items) != len(codes):
        raise ValueError(f"{len(items)} packed results for {len(codes)} outcomes")
    letters = list(codes)
    for position, code in enumerate(codes):
        if code in _UNANSWERED and (grace := Grace.of(_evidence(items[position]))):
            letters[position] = OUTCOME_CODES[grace.outcome]
    return "".join(letters)


def certify(pair: PairResults, packer: PairPacker, waivers: Waivers | None = None) -> None:
    """Give a pair made again from stored results (a push, a recomputation) the level
    they reach as they count: graced results as their last known outcome, and the
    checks `waivers` exempt as passing. `packer` is the pair's track's."""
    counted = counted_codes(pair.codes, pair.packed)
    if counted != pair.codes:
        pair.level, pair.next_level = packer.levels(counted)
    if waivers:
        waivers.certify(pair, packer, counted)


def _evidence(item: Any) -> Any:
    """The evidence of a packed item: `[message, evidence]`, or a bare message."""
    return item[1] if isinstance(item, list | tuple) and len(item) > 1 else None


@dataclass(frozen=True, slots=True)
class Previous:
    """A pair's stored results before a run, as grace reads them: their layout, outcome
    letters and packed text (or document), and when the last run that evaluated the pair
    started (None: no such run in the window asked for) — when its results that are not
    graced were last observed."""

    layout: Layout
    codes: str
    packed: str | Sequence[Any]
    observed_at: datetime | None


# The stored results of these pairs, and when they were last observed by a run started
# since the given time (`Store.recall_pairs`).
Recall = Callable[[Sequence[Pair], datetime], Mapping[Pair, Previous]]


def graced_positions(track: Track) -> tuple[int, ...]:
    """The positions of the track's checks that have a grace."""
    return tuple(i for i, configured in enumerate(track.checks) if configured.grace is not None)


def grant(
    pair: PairResults, track: Track, previous: Previous | None, now: datetime
) -> tuple[PairResults, str] | None:
    """The pair with a grace in the evidence of each graced result (one of a check with a
    grace that could not be answered, whose last real outcome is younger than the grace),
    certified with it, and its outcome letters as they count; None when none is graced.
    `previous`: the pair's stored results before this evaluation."""
    if previous is None:
        return None
    codes = pair.codes
    positions = [p for p in graced_positions(track) if codes[p] in _UNANSWERED]
    if not positions:
        return None
    items = json.loads(previous.packed) if isinstance(previous.packed, str) else previous.packed
    if not len(items) == len(previous.layout) == len(previous.codes):
        return None  # not as they were written: nothing known to fall back on
    # By check id: the track may have gained or lost checks since.
    before = {
        check_id: (code, item)
        for (check_id, _, _), code, item in zip(previous.layout, previous.codes, items, strict=True)
    }
    graces: dict[int, Grace] = {}
    for position in positions:
        configured = track.checks[position]
        found = before.get(configured.id)
        if found is None or configured.grace is None:
            continue
        grace = _last_known(*found, configured.grace, previous.observed_at)
        if grace is not None and now < grace.until:
            graces[position] = grace
    if not graces:
        return None
    results = pair.results()
    letters = list(codes)
    for position, grace in graces.items():
        kept = results[position].result
        evidence = {**kept.evidence, GRACE: grace.evidence()}
        results[position].result = Result(kept.outcome, kept.message, evidence)
        letters[position] = OUTCOME_CODES[grace.outcome]
    counted = "".join(letters)
    packed = pack(results)
    level, next_level = track.packer.levels(counted)
    graced = PairResults(
        pair.entity_ref, pair.track_id, level, next_level, packed, pair.layout, None,
        digest(packed, codes, pair.layout), pair.inputs_digest, codes=codes,
    )  # fmt: skip
    return graced, counted


def _last_known(
    code: str, item: Any, period: timedelta, observed_at: datetime | None
) -> Grace | None:
    """The grace a stored result gives: its own outcome, observed when the pair was last
    evaluated; or, graced itself, the outcome and time it carries (so that a grace never
    outlives the observation it started from)."""
    if code in _UNANSWERED:
        held = Grace.of(_evidence(item))
        if held is None:
            return None  # never observed otherwise
        return Grace(held.outcome, held.observed_at, held.observed_at + period)
    if observed_at is None:
        return None
    return Grace(OUTCOME_BY_CODE[code], observed_at, observed_at + period)


class LastKnown:
    """A run's grace: certifies the pairs of its graced tracks with the last known
    outcome of each check that could not be answered, through what the store recalls.
    Made only when a run has a graced track: any other run reads nothing more."""

    def __init__(self, tracks: Iterable[Track], recall: Recall) -> None:
        self.tracks = {track.id: track for track in tracks if track.graced}
        self._positions = {track_id: graced_positions(t) for track_id, t in self.tracks.items()}
        self._recall = recall
        longest = max(
            (c.grace for t in self.tracks.values() for c in t.checks if c.grace is not None),
            default=timedelta(0),
        )
        self._longest = longest

    def __bool__(self) -> bool:
        return bool(self.tracks)

    def _waiting(self, pair: PairResults) -> bool:
        """Whether a check with a grace could not be answered in the pair."""
        positions = self._positions.get(pair.track_id)
        if not positions:
            return False
        codes = pair.codes
        return unanswered(codes) and any(codes[p] in _UNANSWERED for p in positions)

    def settle(
        self, results: Sequence[MutableSequence[PairResults]], now: datetime
    ) -> dict[Pair, str]:
        """Replace each pair with a graced result in `results` (lists of pairs, changed in
        place) by the pair certified with its grace; the counted outcome letters of each
        pair replaced, by (entity ref, track id), for the exemptions to count with."""
        waiting = [
            (plan_pairs, index)
            for plan_pairs in results
            for index, pair in enumerate(plan_pairs)
            if self._waiting(pair)
        ]
        if not waiting:
            return {}
        keys = [(p[i].entity_ref, p[i].track_id) for p, i in waiting]
        # A real outcome observed before this could not be within any grace.
        previous = self._recall(keys, now - self._longest)
        counted: dict[Pair, str] = {}
        for (plan_pairs, index), key in zip(waiting, keys, strict=True):
            pair = plan_pairs[index]
            made = grant(pair, self.tracks[pair.track_id], previous.get(key), now)
            if made is not None:
                plan_pairs[index], counted[key] = made
        return counted

    def unsettled(
        self, kept: Mapping[str, Mapping[str, PairResults]]
    ) -> Mapping[str, Mapping[str, PairResults]]:
        """`kept` (`Store.kept_pairs`) without the pairs of graced tracks that hold a
        check that could not be answered: whether its grace still holds is decided anew,
        so those are evaluated again."""
        if not any(track_id in self.tracks for track_id in kept):
            return kept
        return {
            track_id: {ref: p for ref, p in pairs.items() if not self._waiting(p)}
            if track_id in self.tracks
            else pairs
            for track_id, pairs in kept.items()
        }


def stale(outcome: str, evidence: Any) -> Grace | None:
    """The grace a stored result that could not be answered carries, or None."""
    if outcome not in (Outcome.UNKNOWN, Outcome.ERROR):
        return None
    return Grace.of(evidence)
