"""The words an entity is found by in the pages' search, and how a query matches them.

Search reads the `search_term` table's primary key, never the entity table: a query is a
range of that index (every term that starts with the query's text), so it costs the same
at 100 entities as at 100,000. Terms are written with the entity, in the same
transaction, by the run that stores its document.
"""

from __future__ import annotations

import re

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
