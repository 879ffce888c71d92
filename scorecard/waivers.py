"""Exemptions in effect, as levels and results see them: which checks of which entity
are waived, and the level an entity's results reach with them.

An exempted check that fails, errors or is unknown counts as passing for the level; its
result keeps its own outcome, and every reader shows the exemption beside it (never a
plain pass). This module needs no database: a run, a recomputation after an exemption
changed, and `scorecard gate` in a repository all certify through `Waivers.certify`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from scorecard.report import OUTCOME_CODES, Layout, PairPacker, PairResults
from scorecard.results import Outcome

_PASS = OUTCOME_CODES[Outcome.PASS]


@dataclass(frozen=True, slots=True)
class Waiver:
    """An approved, unexpired exemption of one check for one entity."""

    exemption_id: int | None  # None: read from a file, outside any store (local gating)
    entity_ref: str
    track_id: str | None  # None: every track that has the check
    check_id: str
    justification: str
    expires_at: datetime
    approved_by: str | None = None
    source: str | None = None  # the file that defines it, if one does

    def covers(self, track_id: str, check_id: str) -> bool:
        return self.check_id == check_id and self.track_id in (None, track_id)

    def describe(self) -> str:
        """ "exempted until 2027-03-01: <justification>", as results show it."""
        return f"exempted until {self.expires_at:%Y-%m-%d %H:%M} UTC: {self.justification}"


class Waivers:
    """The exemptions in effect, by entity."""

    def __init__(self, waivers: Iterable[Waiver] = ()) -> None:
        self._by_entity: dict[str, list[Waiver]] = {}
        for waiver in waivers:
            self._by_entity.setdefault(waiver.entity_ref, []).append(waiver)

    def __bool__(self) -> bool:
        return bool(self._by_entity)

    def __iter__(self) -> Iterator[Waiver]:
        for waivers in self._by_entity.values():
            yield from waivers

    @property
    def entity_refs(self) -> set[str]:
        return set(self._by_entity)

    def for_pair(self, entity_ref: str, track_id: str) -> dict[str, Waiver]:
        """The waived checks of an entity on a track, by configured check id (a waiver of
        this track wins over one of every track)."""
        found: dict[str, Waiver] = {}
        for waiver in self._by_entity.get(entity_ref, ()):
            if waiver.track_id == track_id or (
                waiver.track_id is None and waiver.check_id not in found
            ):
                found[waiver.check_id] = waiver
        return found

    def for_result(self, entity_ref: str, track_id: str, check_id: str) -> Waiver | None:
        return self.for_pair(entity_ref, track_id).get(check_id)

    def certify(self, pair: PairResults, packer: PairPacker, codes: str | None = None) -> bool:
        """Give `pair` the level its results reach with this entity's waivers (the pair's
        outcomes stay as they are); whether it has any. `packer` is its track's; `codes`
        the pair's outcome letters as they count, when a grace makes them differ from its
        own (`scorecard.grace.counted_codes`)."""
        waived = self.for_pair(pair.entity_ref, pair.track_id)
        if not waived:
            return False
        counted = pair.codes if codes is None else codes
        pair.level, pair.next_level = waived_levels(packer, pair.layout, counted, waived)
        return True

    def certify_all(
        self,
        pairs: Iterable[PairResults],
        packers: Mapping[str, PairPacker],
        counted: Mapping[tuple[str, str], str] | None = None,
    ) -> None:
        """`certify` each pair of an entity with waivers; a pair of a track not in
        `packers` is left as it is. `counted`: the outcome letters as they count of the
        pairs a grace certified, by (entity ref, track id)."""
        if not self._by_entity:
            return
        entities = self._by_entity
        for pair in pairs:
            if pair.entity_ref in entities and (packer := packers.get(pair.track_id)):
                codes = counted.get((pair.entity_ref, pair.track_id)) if counted else None
                self.certify(pair, packer, codes)


def waived_levels(
    packer: PairPacker, layout: Layout, codes: str, waived: Mapping[str, object]
) -> tuple[str | None, str | None]:
    """The level and next level that outcome letters in `layout`'s order reach when the
    checks in `waived` count as passing. Give the letters as they count: a graced
    result's its grace's (`scorecard.grace.counted_codes`)."""
    letters = list(codes)
    for position, (check_id, _, _) in enumerate(layout):
        if check_id in waived:
            letters[position] = _PASS
    return packer.levels("".join(letters))
