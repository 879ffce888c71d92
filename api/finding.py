"""Finding things in the catalog: the search of the pages and of `GET /api/v1/search`, and
the directory of owners that the owners page lists.

Entities are found through the search terms' index (`scorecard.store.search`). Owners
are found in the directory: every owner with entities evaluated on some track, read from
the kept roll-ups once per finished run (`PageMemo`) with what the catalog calls them, by
the words of their ref's name part and of that title, as an entity is by its terms. An
owner the catalog does not hold is found by its name.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scorecard.store import EntityRecord, OwnerLevels
from scorecard.store.search import MAX_QUERY_WORDS, prefix_range, query_words, terms_of

if TYPE_CHECKING:
    from api.pages.memo import PageMemo
    from scorecard.service.service import Service

# What one search shows: entities, owners, and the first entities of each owner.
ENTITIES_SHOWN = 50
OWNERS_SHOWN = 5
OWNER_ENTITIES_SHOWN = 10


@dataclass(frozen=True, slots=True)
class Owner:
    """An owner, as the roll-ups know it: its ref (as first spelt), what the catalog calls
    it when the catalog has it, and by track id how many of its entities the track
    evaluated and at which levels."""

    ref: str
    title: str | None
    tracks: dict[str, OwnerLevels]

    @property
    def key(self) -> str:
        """Owner refs compare without regard to case."""
        return self.ref.lower()

    @property
    def name(self) -> str:
        """The name part of the ref: `team-a` of `group:default/team-a`."""
        return self.ref.rpartition("/")[2].rpartition(":")[2]

    @property
    def called(self) -> str:
        """What a page calls it: its title, else its name."""
        return self.title or self.name


class OwnerDirectory:
    """Every owner in the roll-ups, by what it is called, with the terms each is found by."""

    def __init__(self, owners: Iterable[Owner], unowned: dict[str, int]) -> None:
        self.owners = sorted(owners, key=lambda owner: (owner.called.lower(), owner.key))
        # By track id: entities evaluated on it that have no owner.
        self.unowned = unowned
        self._by_key = {owner.key: owner for owner in self.owners}
        self._position = {owner.key: n for n, owner in enumerate(self.owners)}
        # (term, owner key), sorted: a word's owners are a slice found by bisection, as a
        # word's entities are a range of the search terms' index.
        self._terms = sorted(
            {
                (term, owner.key)
                for owner in self.owners
                for term in terms_of(owner.key, owner.name, owner.title)
            }
        )

    def __len__(self) -> int:
        return len(self.owners)

    def get(self, ref: str) -> Owner | None:
        return self._by_key.get(ref.lower())

    def matching(self, words: Sequence[str]) -> list[Owner]:
        """The owners for whom each word starts one of their terms (`terms_of` their ref,
        name part and title), in the directory's order."""
        found: set[str] | None = None
        for word in words:
            bounds = prefix_range(word)
            if bounds is None:
                continue
            low, high = bounds
            keys = set()
            at = bisect_left(self._terms, (low,))
            while at < len(self._terms) and self._terms[at][0] < high:
                keys.add(self._terms[at][1])
                at += 1
            found = keys if found is None else found & keys
        return sorted((self._by_key[key] for key in found or ()), key=self._place)

    def _place(self, owner: Owner) -> int:
        return self._position[owner.key]


def build_directory(service: Service) -> OwnerDirectory:
    """The directory from the kept roll-ups of every configured track (a few rows per
    owner and track, whatever the size of the catalog) and the owners' catalog titles."""
    tracks: dict[str, dict[str, OwnerLevels]] = defaultdict(dict)
    spellings: dict[str, str] = {}
    unowned: dict[str, int] = {}
    for track in service.config.current.tracks:
        for row in service.store.owners_rollup(track.id):
            if row.owner is None:
                unowned[track.id] = row.entities
                continue
            key = row.owner.lower()
            # The first spelling in sort order, as each track's roll-up gives it.
            spellings[key] = min(spellings.get(key, row.owner), row.owner)
            tracks[key][track.id] = row
    titles = service.store.titles(spellings.values())
    owners = [
        Owner(spellings[key], titles.get(key), dict(by_track)) for key, by_track in tracks.items()
    ]
    return OwnerDirectory(owners, unowned)


def owner_directory(service: Service, memo: PageMemo) -> OwnerDirectory:
    """The directory, counted once per finished run (see `PageMemo`)."""
    return memo.get(service, "owner-directory", lambda: build_directory(service))


@dataclass(frozen=True, slots=True)
class OwnerMatch:
    """An owner a search found, with its first entities."""

    owner: Owner
    entities: list[EntityRecord]
    total: int  # its listed entities


@dataclass(frozen=True, slots=True)
class SearchResults:
    query: str
    words: list[str]  # the words searched, lower-case
    ignored: list[str]  # the words after the first `MAX_QUERY_WORDS`, not searched
    entities: list[EntityRecord]  # the first `ENTITIES_SHOWN` matches
    # By ref, of every entity shown (the owners' too): track id → level.
    levels: dict[str, dict[str, str | None]]
    matched: int  # entities matched among those read
    complete: bool  # `matched` is every entity that matches
    owners: list[OwnerMatch]  # the first `OWNERS_SHOWN` owners that match
    owners_matched: int

    @property
    def total(self) -> int | None:
        """Every entity that matches; None when there are more than a search reads."""
        return self.matched if self.complete else None

    @property
    def more(self) -> bool:
        """Some matching entities are not shown: a narrower query would show them."""
        return not self.complete or self.matched > len(self.entities)


def search(service: Service, memo: PageMemo, query: str) -> SearchResults:
    """Entities whose terms the query's words start (each word one of them), and owners
    whose name or title they start, each with its first entities."""
    words = query_words(query)
    searched, ignored = words[:MAX_QUERY_WORDS], words[MAX_QUERY_WORDS:]
    if not searched:
        return SearchResults(query, [], ignored, [], {}, 0, True, [], 0)
    store = service.store
    found = store.search(searched)
    entities = store.entities_by_ref(found.refs[:ENTITIES_SHOWN])
    owners = owner_directory(service, memo).matching(searched)
    # One whose name or title is the whole query first.
    whole = " ".join(searched)
    owners.sort(key=lambda owner: whole not in (owner.name.lower(), owner.called.lower()))
    matches = []
    for owner in owners[:OWNERS_SHOWN]:
        page = store.find_entities(owner=owner.ref, limit=OWNER_ENTITIES_SHOWN)
        matches.append(OwnerMatch(owner, page.items, page.total))
    # The levels of every entity shown, the owners' too, in one query.
    shown_refs = {e.ref for e in entities} | {e.ref for m in matches for e in m.entities}
    certifications = store.certifications_for(sorted(shown_refs))
    levels = {ref: {c.track_id: c.level for c in held} for ref, held in certifications.items()}
    return SearchResults(
        query=query,
        words=searched,
        ignored=ignored,
        entities=entities,
        levels=levels,
        matched=len(found.refs),
        complete=found.complete,
        owners=matches,
        owners_matched=len(owners),
    )
