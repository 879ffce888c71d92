"""The words an entity is found by in the pages' search, and how a query matches them.

Search reads the `search_term` table's primary key, and the entity table only by its key:
a query's word is a range of that index (every term that starts with the word), so it
costs the same at 100 entities as at 100,000. Terms are written with the entity, in the same
transaction, by the run that stores its document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from scorecard.store.tables import EntityRecord, SearchTermRecord

# Letters and digits: "payments-api" is found by "payments" and by "api".
_WORD = re.compile(r"[^\W_]+")
# A term longer than this is cut: a query longer than any term matches by its start.
MAX_TERM = 64
# A title of a thousand words is found by its first ones; the rest would only bloat the
# index (catalog files are written by anyone).
MAX_WORDS = 24
# The highest code point: every text that starts with `q` sorts between `q` and
# `q + _AFTER` under a binary collation ("C" on PostgreSQL, SQLite's default).
_AFTER = "\U0010ffff"


def terms_of(ref: str, name: str, title: str | None) -> set[str]:
    """The lower-case terms of an entity: its whole ref, name and title, and each word of
    its name and title."""
    whole = [ref, name] + ([title] if title else [])
    terms = {text.lower()[:MAX_TERM] for text in whole}
    for text in (name, title or ""):
        terms.update(word[:MAX_TERM] for word in _WORD.findall(text.lower())[:MAX_WORDS])
    terms.discard("")
    return terms


def prefix_range(query: str) -> tuple[str, str] | None:
    """The bounds of the terms a query matches (`low <= term < high`), or None for a
    query with nothing to look for."""
    text = query.strip().lower()[:MAX_TERM]
    if not text:
        return None
    return text, text + _AFTER


# --- finding entities ---------------------------------------------------------------------

# A query's words after these are not searched: a few words narrow any catalog enough, and
# each word searched is a read of the index.
MAX_QUERY_WORDS = 8
# How many entities a search reads at most. The narrowest word's range is read in the
# index's order; a word that starts terms of most of the catalog ("c") is answered from
# the first of them, and the answer says there are more.
MAX_CANDIDATES = 500
# Term rows read for those candidates: an entity has several terms that start alike
# ("payments-api" and "payments" both start with "pay").
_MAX_TERM_ROWS = 4 * MAX_CANDIDATES
# Quotes around a word ("payments api") are the habit of other search boxes, never the
# start or end of what is meant.
_QUOTES = "\"'“”‘’«»"
_CHUNK = 500

_search_term = SearchTermRecord.__table__
_entity = EntityRecord.__table__


def query_words(query: str) -> list[str]:
    """The words of a query as it is matched: split at blanks, lower-case, each cut as
    terms are and given once, in the order written."""
    words: list[str] = []
    for piece in query.lower().split():
        word = piece.strip(_QUOTES)[:MAX_TERM]
        if word and word not in words:
            words.append(word)
    return words


def matches(terms: Iterable[str], words: Iterable[str]) -> bool:
    """Every word starts one of the terms: what a search finds, said in Python."""
    held = list(terms)
    return all(any(term.startswith(word) for term in held) for word in words)


@dataclass(frozen=True, slots=True)
class Found:
    """What a search found: `refs`, every listed entity matched among those read, those
    named or titled the query itself first, then in the order of the index (a word's exact
    term before the longer ones it starts); `complete` when that is every match, so
    `len(refs)` is the total."""

    refs: list[str]
    complete: bool


def find(session: Session, words: Sequence[str]) -> Found:
    """The listed entities each of whose `words` starts one of its terms.

    The narrowest word is read from the `search_term` primary key as a range (at most
    `MAX_CANDIDATES` entities); its entities are then read by primary key, the gone ones
    left out and the other words matched against their terms, made again from the name
    and title they were made from. No query reads the entity table other than by key.
    """
    if not words:
        return Found([], True)
    t = _search_term.c
    sizes = {}
    if len(words) > 1:
        # Each word's terms counted from the index, up to what a search reads at most.
        for word in words:
            low, high = prefix_range(word) or (word, word)
            some = select(literal(1)).where(t.term >= low, t.term < high).limit(_MAX_TERM_ROWS)
            sizes[word] = session.scalar(select(func.count()).select_from(some.subquery())) or 0
            if sizes[word] == 0:
                return Found([], True)  # a word that starts no term: nothing has them all
    narrowest = min(words, key=lambda word: sizes.get(word, 0))
    low, high = prefix_range(narrowest) or (narrowest, narrowest)
    rows = session.scalars(
        select(t.entity_ref)
        .where(t.term >= low, t.term < high)
        .order_by(t.term, t.entity_ref)
        .limit(_MAX_TERM_ROWS + 1)
    ).all()
    candidates = list(dict.fromkeys(rows[:_MAX_TERM_ROWS]))
    complete = len(rows) <= _MAX_TERM_ROWS and len(candidates) <= MAX_CANDIDATES
    candidates = candidates[:MAX_CANDIDATES]
    others = [word for word in words if word != narrowest]
    whole = " ".join(words)
    e = _entity.c
    exact: list[str] = []  # named or titled the query itself: first
    found: list[str] = []
    for start in range(0, len(candidates), _CHUNK):
        chunk = candidates[start : start + _CHUNK]
        listed = session.execute(
            select(e.ref, e.name, e.title).where(e.ref.in_(chunk), e.gone_run.is_(None))
        )
        kept = {}
        for ref, name, title in listed:
            if matches(terms_of(ref, name, title), others):
                kept[ref] = whole in (name.lower(), (title or "").lower())
        exact.extend(ref for ref in chunk if kept.get(ref))
        found.extend(ref for ref in chunk if kept.get(ref) is False)
    return Found(exact + found, complete)


def entities(session: Session, refs: Sequence[str]) -> list[EntityRecord]:
    """The stored entities of `refs` (stored refs), in that order."""
    if not refs:
        return []
    by_ref = {
        record.ref: record
        for record in session.scalars(select(EntityRecord).where(_entity.c.ref.in_(list(refs))))
    }
    return [by_ref[ref] for ref in refs if ref in by_ref]
