"""What the index pages offer besides their lists: the kinds in the catalog, for a filter
menu, and what owners are called in it (their catalog titles or display names).

Both are read through the entity table's indexes, a few rows at a time: the kinds by
skipping from one kind to the next in `ix_entity_kind_lower`, titles by `lower(ref)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scorecard.store.tables import EntityRecord

_entity = EntityRecord.__table__
_CHUNK = 500
# As many kinds as a menu lists; Backstage knows a dozen.
MAX_KINDS = 100


def kinds(session: Session) -> list[str]:
    """The kinds of the listed entities, lower-case, in order. One look into the kind
    index per kind rather than a read of every entity: the next kind after the last one
    found, then whether any entity of it is listed."""
    e = _entity.c
    kind_of = func.lower(e.kind)
    found: list[str] = []
    last: str | None = None
    for _ in range(MAX_KINDS):
        after = [kind_of > last] if last is not None else []
        kind = session.scalar(select(func.min(kind_of)).where(*after))
        if kind is None:
            break
        listed = select(e.ref).where(kind_of == kind, e.gone_run.is_(None)).limit(1)
        if session.scalar(listed) is not None:
            found.append(kind)
        last = kind
    return found


def titles(session: Session, refs: Iterable[str]) -> dict[str, str]:
    """What the catalog calls the listed entities among `refs`, by lower-case ref: the
    title, else (a group's or user's) profile's display name. How a page names an owner
    that is in the catalog: "Team A" for `group:default/team-a`."""
    e = _entity.c
    keys = sorted({ref.lower() for ref in refs})
    found: dict[str, str] = {}
    for start in range(0, len(keys), _CHUNK):
        rows = session.execute(
            select(e.ref, e.title, e.raw).where(
                func.lower(e.ref).in_(keys[start : start + _CHUNK]), e.gone_run.is_(None)
            )
        )
        for ref, title, raw in rows:
            called = catalog_name(title, raw)
            if called:
                found[ref.lower()] = called
    return found


def catalog_name(title: str | None, document: Any) -> str | None:
    """What the catalog calls an entity: its title, else (a group's or user's) profile's
    display name; None when it gives neither."""
    if title and title.strip():
        return title.strip()
    spec = document.get("spec") if isinstance(document, dict) else None
    profile = spec.get("profile") if isinstance(spec, dict) else None
    name = profile.get("displayName") if isinstance(profile, dict) else None
    return name.strip() if isinstance(name, str) and name.strip() else None
