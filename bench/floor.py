"""The floor: what no framework can beat, for reference beside the targets.

The ten predicates of bench/track.yaml as one plain loop over the parsed documents, with
the same semantics as the built-in checks (a blank string is missing, lifecycles compare
without case), and a raw `sqlite3.executemany` of as many result rows as a run stores.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

CHECK_IDS = (
    "has_owner",
    "has_description",
    "owner_is_group",
    "has_title",
    "has_tags",
    "lifecycle_allowed",
    "has_system",
    "has_techdocs",
    "has_pagerduty",
    "two_tags",
)
_ALLOWED = frozenset({"production", "experimental"})
_KINDS_IN_A_SYSTEM = frozenset({"component", "api", "resource"})


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def count_passes(documents: Sequence[dict[str, Any]]) -> tuple[dict[str, int], float]:
    """Passes per check id over `documents`, and the seconds the loop took."""
    (
        owner_n,
        description_n,
        group_n,
        title_n,
        tags_n,
        lifecycle_n,
        system_n,
        techdocs_n,
        pagerduty_n,
        two_tags_n,
    ) = [0] * 10
    text = _text
    start = time.perf_counter()
    for document in documents:
        metadata = document["metadata"]
        spec = document.get("spec")
        if not isinstance(spec, dict):
            spec = {}
        annotations = metadata.get("annotations")
        if not isinstance(annotations, dict):
            annotations = {}
        owner = text(spec.get("owner"))
        if owner is not None:
            owner_n += 1
            kind, colon, _ = owner.partition(":")
            if not colon or kind.lower() == "group":
                group_n += 1
        if text(metadata.get("description")) is not None:
            description_n += 1
        if text(metadata.get("title")) is not None:
            title_n += 1
        tags = metadata.get("tags")
        count = sum(1 for t in tags if isinstance(t, str)) if isinstance(tags, list) else 0
        if count >= 1:
            tags_n += 1
            if count >= 2:
                two_tags_n += 1
        lifecycle = text(spec.get("lifecycle"))
        if lifecycle is not None and lifecycle.casefold() in _ALLOWED:
            lifecycle_n += 1
        if document["kind"].lower() in _KINDS_IN_A_SYSTEM and text(spec.get("system")):
            system_n += 1
        if text(annotations.get("backstage.io/techdocs-ref")) is not None:
            techdocs_n += 1
        if text(annotations.get("pagerduty.com/service-id")) is not None:
            pagerduty_n += 1
    seconds = time.perf_counter() - start
    counts = (
        owner_n,
        description_n,
        group_n,
        title_n,
        tags_n,
        lifecycle_n,
        system_n,
        techdocs_n,
        pagerduty_n,
        two_tags_n,
    )
    return dict(zip(CHECK_IDS, counts, strict=True)), seconds


def sqlite_executemany(path: Path, refs: Sequence[str], track_id: str) -> tuple[int, float]:
    """Insert one result row per entity and check into a fresh SQLite file, in one
    transaction with the store's settings (WAL, synchronous=NORMAL); returns (rows,
    seconds). Rows are built before the clock starts: only the database is timed."""
    rows = [
        (ref, track_id, check_id, "pass", f"{ref} passes {check_id}: observed and recorded.")
        for ref in refs
        for check_id in CHECK_IDS
    ]
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(
            "CREATE TABLE result (entity_ref TEXT, track_id TEXT, check_id TEXT, outcome TEXT,"
            " message TEXT, PRIMARY KEY (entity_ref, track_id, check_id))"
        )
        start = time.perf_counter()
        with connection:
            connection.executemany("INSERT INTO result VALUES (?, ?, ?, ?, ?)", rows)
        seconds = time.perf_counter() - start
    finally:
        connection.close()
    return len(rows), seconds
