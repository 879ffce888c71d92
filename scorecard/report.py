"""What an evaluation produces: each entity's results on each track, packed, with the
level they earn; and the run around them.

A large run makes a million results. Each (entity, track) pair's results are packed into
one JSON text as soon as they are certified — the very text the store keeps — so a run
holds one string per pair rather than two objects per result, the store writes one row
per pair, and the pair's digest (which tells a re-run whether anything changed) is a hash
of that text. `CheckResult` objects are made again when a reader asks for them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from scorecard.entity import Entity
from scorecard.problems import Problem
from scorecard.results import NON_BLOCKING, Outcome, Result


# Not frozen, like Result: a run builds one per check per entity. Treat it as a value.
@dataclass(slots=True)
class CheckResult:
    """One configured check of one track, evaluated on one entity."""

    entity_ref: str
    track_id: str
    check_id: str  # the configured check's id, unique within its track
    level_id: str
    required: bool
    result: Result  # outcome as it counts: a failure of an optional check is already `warn`

    @property
    def outcome(self) -> Outcome:
        return self.result.outcome


@dataclass(frozen=True, slots=True)
class Certification:
    """The highest level an entity reaches on a track (None: not even the first)."""

    entity_ref: str
    track_id: str
    level: str | None
    next_level: str | None


# Dates from YAML and paths in evidence become text, as the store's JSON does; NUL is
# escaped, and `pack` replaces it (PostgreSQL refuses it in text and JSON).
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS
REPLACEMENT_CHARACTER = "\ufffd"


# One letter per outcome: a pair's outcomes as a short text the store keeps beside its
# level (`PairResults.codes`), so that counting kept results reads nothing else.
OUTCOME_CODES = {
    Outcome.PASS: "p", Outcome.FAIL: "f", Outcome.WARN: "w", Outcome.NOT_APPLICABLE: "n",
    Outcome.UNKNOWN: "u", Outcome.ERROR: "e",
}  # fmt: skip
OUTCOME_BY_CODE = {code: outcome for outcome, code in OUTCOME_CODES.items()}


class PairResults:
    """One entity's results on one track, in the track's order, and the level they earn.

    `packed` is a JSON array with one item per result, in the order of `layout` (the
    check id, level id and requirement of each, a tuple shared by the pairs of a track):
    its message (see `stored_message`), or `[message, evidence]` when it has evidence.
    The outcomes are the letters of `codes`, so that counting decodes nothing; together
    they hold every field of a result (`results()` puts them back together). `inputs_digest` hashes
    what a pure track's results depend on (the entity's document and the track); `reused`
    marks stored results a run kept instead of evaluating them again. A kept pair reads
    its packed text from the store only when something asks for it (`load`).
    """

    __slots__ = (
        "_codes", "_load", "_outcomes", "_packed", "digest", "entity_ref", "inputs_digest",
        "layout", "level", "next_level", "reused", "track_id",
    )  # fmt: skip

    def __init__(
        self,
        entity_ref: str,
        track_id: str,
        level: str | None,
        next_level: str | None,
        packed: str | None,
        layout: Layout,
        outcomes: tuple[str, ...] | None,
        digest: str,
        inputs_digest: str | None = None,
        reused: bool = False,
        *,
        codes: str | None = None,
        load: Callable[[PairResults], str] | None = None,
    ) -> None:
        self.entity_ref = entity_ref
        self.track_id = track_id
        self.level = level
        self.next_level = next_level
        self._packed = packed
        self.layout = layout
        self._outcomes = outcomes
        self.digest = digest
        self.inputs_digest = inputs_digest
        self.reused = reused
        self._codes = codes
        self._load = load

    @classmethod
    def stored(
        cls,
        entity_ref: str,
        track_id: str,
        level: str | None,
        next_level: str | None,
        layout: Layout,
        digest: str,
        inputs_digest: str | None,
        codes: str,
        load: Callable[[PairResults], str],
    ) -> PairResults:
        """A stored pair a run keeps (`reused`), its packed text read by `load` if asked
        for. Made without `__init__`'s keywords: a re-run of a large catalog makes one
        per entity."""
        return _rebuilt_pair(
            codes, load, None, None, digest, entity_ref, inputs_digest, layout, level,
            next_level, True, track_id,
        )  # fmt: skip

    def __repr__(self) -> str:
        return f"PairResults({self.entity_ref!r}, {self.track_id!r}, level={self.level!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Pairs come back from the processes of a forked run: rebuilt from a plain tuple,
        # a third faster to load than pickle's default for slots.
        return _rebuilt_pair, tuple(getattr(self, name) for name in self.__slots__)

    def release(self, load: Callable[[PairResults], str]) -> None:
        """Let go of the packed text, which `load` reads back if something asks for it:
        a large run's pairs once the store has them."""
        self._packed = None
        self._load = load

    @property
    def packed(self) -> str:
        if self._packed is None:
            if self._load is None:
                raise ValueError(f"{self!r} has no packed results")
            self._packed = self._load(self)
        return self._packed

    @property
    def outcomes(self) -> tuple[str, ...]:
        """Each result's outcome (an `Outcome`, which is its value)."""
        if self._outcomes is None:
            self._outcomes = tuple(OUTCOME_BY_CODE[code] for code in self.codes)
        return self._outcomes

    @property
    def codes(self) -> str:
        """The outcomes as one letter each (`OUTCOME_CODES`)."""
        if self._codes is None:
            if self._outcomes is None:
                raise ValueError(f"{self!r} has no outcomes")
            self._codes = "".join(OUTCOME_CODES[outcome] for outcome in self._outcomes)
        return self._codes

    @property
    def certification(self) -> Certification:
        return Certification(self.entity_ref, self.track_id, self.level, self.next_level)

    def results(self) -> list[CheckResult]:
        return unpack(self.entity_ref, self.track_id, self.packed, self.layout, self.codes)


def _rebuilt_pair(*state: Any) -> PairResults:
    pair = PairResults.__new__(PairResults)
    # In the order of `PairResults.__slots__`, as `__reduce__` lists them.
    (
        pair._codes, pair._load, pair._outcomes, pair._packed, pair.digest, pair.entity_ref,
        pair.inputs_digest, pair.layout, pair.level, pair.next_level, pair.reused, pair.track_id,
    ) = state  # fmt: skip
    return pair


# The checks of a track in order, as its pairs were evaluated: (check id, level id,
# required) of each result.
Layout = tuple[tuple[str, str, bool], ...]


def stored_message(entity_ref: str, message: str) -> str:
    """A message as a packed item keeps it: one that begins with the entity's ref and a
    space without them, marked `@` (every check names the entity it looked at, and a
    pair's row already does), any other marked `=`."""
    named = entity_ref + " "
    if message.startswith(named):
        return "@" + message[len(named) :]
    return "=" + message


def shown_message(entity_ref: str, kept: str) -> str:
    """The message `stored_message` kept."""
    return f"{entity_ref} {kept[1:]}" if kept.startswith("@") else kept[1:]


def pack(results: Sequence[CheckResult]) -> str:
    """The stored JSON text of one entity's results on a track (see `PairResults`)."""
    items = [
        [stored_message(r.entity_ref, r.result.message), e]
        if (e := r.result.evidence)
        else stored_message(r.entity_ref, r.result.message)
        for r in results
    ]
    return _dumps(items)


def _dumps(items: list[Any]) -> str:
    try:
        text = orjson.dumps(items, default=str, option=_ORJSON_OPTIONS).decode()
    except orjson.JSONEncodeError:
        # What orjson refuses (an integer past 64 bits copied from a catalog, a loop of
        # references) goes the slow way, which writes the number or names the loop.
        text = _encode(items)
    if "\\u0000" in text:
        # A check may copy NUL from an entity: keep everything else, mark where it was.
        text = text.replace("\\u0000", REPLACEMENT_CHARACTER)
    return text


def unpack(
    entity_ref: str, track_id: str, packed: str, layout: Layout, codes: str
) -> list[CheckResult]:
    """The results `pack` packed, as objects (evidence as JSON reads it back)."""
    items = orjson.loads(packed)
    if not (len(items) == len(layout) == len(codes)):
        raise ValueError(
            f"{entity_ref} on {track_id}: {len(items)} packed results, "
            f"{len(layout)} checks and {len(codes)} outcomes"
        )
    found = []
    for (check_id, level_id, required), code, item in zip(layout, codes, items, strict=True):
        kept, evidence = (item[0], item[1]) if isinstance(item, list) else (item, {})
        outcome = OUTCOME_BY_CODE[code]
        result = Result(outcome, shown_message(entity_ref, kept), evidence)
        found.append(CheckResult(entity_ref, track_id, check_id, level_id, required, result))
    return found


def digest(packed: str, codes: str, layout: Layout) -> str:
    """What tells a re-run whether a pair's results changed: a hash of everything they
    are — their packed text, their outcomes' letters and the layout (a check moved to
    another level changes nothing else)."""
    return _digest(packed, codes, layout_key(layout))


def layout_key(layout: Layout) -> bytes:
    return orjson.dumps(layout)


def _digest(packed: str, codes: str, key: bytes) -> str:
    hashed = hashlib.blake2b(key, digest_size=16)
    hashed.update(codes.encode())
    hashed.update(packed.encode())
    return hashed.hexdigest()


def pair_results(
    entity_ref: str,
    track_id: str,
    level: str | None,
    next_level: str | None,
    results: Sequence[CheckResult],
    layout: Layout | None = None,
    inputs_digest: str | None = None,
) -> PairResults:
    packed = pack(results)
    if layout is None:
        layout = tuple((r.check_id, r.level_id, r.required) for r in results)
    outcomes = tuple(r.result.outcome for r in results)
    # The letters too, where the pair is made: a forked run makes them in its children.
    codes = "".join([OUTCOME_CODES[outcome] for outcome in outcomes])
    return PairResults(
        entity_ref, track_id, level, next_level, packed, layout, outcomes,
        digest(packed, codes, layout), inputs_digest, codes=codes,
    )  # fmt: skip


# What blocks a level when a required check has it (`NON_BLOCKING` does not).
_BLOCKING_CODES = frozenset(OUTCOME_CODES[o] for o in Outcome if o not in NON_BLOCKING)


class PairPacker:
    """Certifies and packs one track's results as the executor hands them over: `Result`s
    in the order of the track's checks, outcomes as they count (an optional check's
    failure already `warn`). One per loaded track (`Track.packer`); it makes a large
    run's hot path build no object per result besides the check's own `Result`.

    `levels` is, per level, its id and the positions of its required checks.
    """

    __slots__ = ("_key", "_levels", "layout", "track_id")

    def __init__(
        self,
        track_id: str,
        heads: Sequence[tuple[str, str, bool]],
        levels: Sequence[tuple[str, tuple[int, ...]]],
    ) -> None:
        self.track_id = track_id
        self._levels = tuple(levels)
        self.layout: Layout = tuple(heads)  # (check id, level id, required) of each result
        self._key = layout_key(self.layout)  # what each pair's digest hashes with its text

    def levels(self, codes: str) -> tuple[str | None, str | None]:
        """The level that outcome letters in the track's order reach, and the next one
        (None: every level reached): each level needs every required check of it and of
        the levels below to pass, warn or not apply."""
        reached = None
        for level_id, required in self._levels:
            if any(codes[position] in _BLOCKING_CODES for position in required):
                return reached, level_id
            reached = level_id
        return reached, None

    def __call__(self, entity_ref: str, results: Sequence[Result]) -> PairResults:
        if len(results) != len(self.layout):
            raise ValueError(f"{len(results)} results for the {len(self.layout)} checks")
        codes = "".join([OUTCOME_CODES[result.outcome] for result in results])
        reached, blocked_at = self.levels(codes)
        # `stored_message` written out in place: the hot path of a large run.
        named = entity_ref + " "
        cut = len(named)
        items: list[Any] = []
        append = items.append
        for r in results:
            message = r.message
            kept = "@" + message[cut:] if message.startswith(named) else "=" + message
            # A tuple rather than a list: orjson writes both as arrays, a tuple is cheaper.
            append((kept, evidence) if (evidence := r.evidence) else kept)
        packed = _dumps(items)
        return PairResults(
            entity_ref, self.track_id, reached, blocked_at, packed, self.layout, None,
            _digest(packed, codes, self._key), codes=codes,
        )  # fmt: skip


@dataclass(slots=True)
class RunReport:
    started_at: datetime
    finished_at: datetime | None = None
    entities: list[Entity] = field(default_factory=list)
    pairs: list[PairResults] = field(default_factory=list)
    # Catalog documents that were skipped, sources that failed: reported, never fatal.
    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        started_at: datetime,
        *,
        results: Iterable[CheckResult],
        certifications: Iterable[Certification] = (),
        finished_at: datetime | None = None,
        entities: list[Entity] | None = None,
        problems: list[Problem] | None = None,
    ) -> RunReport:
        """A report of results made elsewhere (pushed, or built by hand): grouped into
        pairs in the order given; a pair without a certification holds no level."""
        grouped: dict[tuple[str, str], list[CheckResult]] = {}
        for result in results:
            grouped.setdefault((result.entity_ref, result.track_id), []).append(result)
        levels = {(c.entity_ref, c.track_id): c for c in certifications}
        pairs = []
        for key in [*grouped, *(k for k in levels if k not in grouped)]:
            certification = levels.get(key)
            level = certification.level if certification else None
            next_level = certification.next_level if certification else None
            pairs.append(pair_results(*key, level, next_level, grouped.get(key, [])))
        return cls(started_at, finished_at, entities or [], pairs, problems or [])

    @property
    def results(self) -> list[CheckResult]:
        """Every result, decoded anew on each access: iterate `pairs` in a large run."""
        return [result for pair in self.pairs for result in pair.results()]

    @property
    def certifications(self) -> list[Certification]:
        return [pair.certification for pair in self.pairs]

    @property
    def result_count(self) -> int:
        return sum(len(pair.layout) for pair in self.pairs)

    def outcome_count(self, outcome: Outcome) -> int:
        # Every pair's letters at once: a re-run of a large catalog counts 100,000 pairs.
        return "".join([pair.codes for pair in self.pairs]).count(OUTCOME_CODES[outcome])

    @property
    def error_count(self) -> int:
        return self.outcome_count(Outcome.ERROR) + len(self.problems)
