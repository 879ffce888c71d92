"""Catalog sources: where entities come from."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from scorecard.catalog.backstage import (
    BackstageSource,
    CatalogUnavailable,
    pushdown_filters,
    read_backstage,
)
from scorecard.catalog.files import CatalogListing, read_catalog
from scorecard.problems import Problem

__all__ = [
    "BackstageSource",
    "CatalogListing",
    "CatalogUnavailable",
    "pushdown_filters",
    "read_backstage",
    "read_catalog",
    "read_sources",
]


def read_sources(
    sources: Iterable[str | Path | BackstageSource],
    *,
    backstage_filters: Sequence[str] | None = None,
    on_failure: Callable[[str], None] | None = None,
    local_roots: Iterable[str | Path] = (),
) -> CatalogListing:
    """Read a workspace's `catalog:` entries: files, folders and globs, and Backstage backends.

    `backstage_filters` (from `pushdown_filters`) are sent to every Backstage backend, so
    that it lists only what the run's tracks apply to; files are read whole either way.
    `local_roots` (`repositories.local_roots`) may hold Location targets besides the
    catalog's own folders.
    The listing is complete only when every source was read to the end. An entity ref a
    later source lists again is a problem and skipped, as within the file source. Raises
    `CatalogUnavailable` when a Backstage backend cannot be read at all.
    """
    items = list(sources)
    paths = [s for s in items if not isinstance(s, BackstageSource)]
    listing = read_catalog(paths, local_roots=local_roots) if paths else CatalogListing([], [])
    entities, problems, complete = listing.entities, listing.problems, listing.complete
    seen = {e.ref.lower() for e in entities}
    for source in items:
        if not isinstance(source, BackstageSource):
            continue
        part = read_backstage(
            source.backstage,
            source.resolved_token(),
            filters=backstage_filters,
            page_size=source.page_size,
            timeout=source.timeout,
            retries=source.retries,
            on_failure=on_failure,
        )
        complete = complete and part.complete
        problems.extend(part.problems)
        for entity in part.entities:
            if entity.ref.lower() in seen:
                problems.append(
                    Problem(source.backstage, f"{entity.ref} is already defined; skipped")
                )
                continue
            seen.add(entity.ref.lower())
            entities.append(entity)
    filtered = bool(backstage_filters) and len(paths) < len(items)
    return CatalogListing(entities, problems, complete, filtered)
