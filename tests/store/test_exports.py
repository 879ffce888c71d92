"""The exports' keyset reads, on each backend: chunk after chunk, exactly the rows the
pages' offset reads give page after page, in their order, whatever the sort, the filters
and the place of rows without an owner or type (SQLite sorts NULL first, PostgreSQL
last)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from scorecard.entity import Entity
from scorecard.registry import CheckRegistry
from scorecard.runner import run_and_store
from scorecard.store import CertificationRecord, Store
from scorecard.store.browse import SortKey, TrackEntityFilter
from scorecard.store.exports import KEYED_CHUNKS, CatalogFilter
from scorecard.tracks import Track, load_tracks

TRACK = """\
apiVersion: scorecard/v1
kind: Track
id: ops
title: Operations
levels:
  - id: bronze
    checks: [has_owner]
  - id: silver
    checks: [has_description]
  - id: gold
    checks: [has_tags]
"""
LADDER = ["bronze", "silver", "gold"]
OWNERS = ["group:default/team-a", "group:default/Team-A", "group:default/team-b", None]
TYPES = ["service", None, "library", "website", "service"]
GONE = {"c-05", "c-20"}
# Left at a level the ladder no longer has: ranked with no level.
RETIRED = "c-11"


def _entity(number: int) -> Entity:
    metadata: dict[str, Any] = {"name": f"c-{number:02d}"}
    if number % 3:
        metadata["description"] = "Described."
    if number % 4:
        metadata["tags"] = ["python"]
    spec: dict[str, Any] = {"lifecycle": "production"}
    if (owner := OWNERS[number % len(OWNERS)]) is not None:
        spec["owner"] = owner
    if (kind_of := TYPES[number % len(TYPES)]) is not None:
        spec["type"] = kind_of
    kind = "Resource" if number % 7 == 0 else "Component"
    return Entity(
        {"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec}
    )


@pytest.fixture
def track(tmp_path: Path, registry: CheckRegistry) -> Track:
    (tmp_path / "ops.yaml").write_text(TRACK)
    return load_tracks([tmp_path / "ops.yaml"], registry)[0]


@pytest.fixture
def filled(store: Store, track: Track) -> Store:
    """34 entities evaluated on `ops`, two of them gone since, one at a retired level."""
    entities = [_entity(n) for n in range(36)]
    run_and_store(store, entities, [track], trigger="test", catalog_complete=True)
    listed = [e for e in entities if e.name not in GONE]
    run_and_store(store, listed, [track], trigger="test", catalog_complete=True)
    with store.transaction() as session:
        c = CertificationRecord.__table__.c
        session.execute(
            update(CertificationRecord.__table__)
            .where(c.entity_ref == f"component:default/{RETIRED}")
            .values(level="platinum")
        )
    return store


def _paged(store: Store, where: TrackEntityFilter, sort: SortKey, descending: bool) -> list[str]:
    """The refs of the track page's rows, page after page (pages of 4)."""
    refs: list[str] = []
    for offset in itertools.count(0, 4):
        page = store.track_entities(
            "ops", LADDER, where, sort=sort, descending=descending, limit=4, offset=offset
        )
        refs += [item.entity.ref for item in page.items]
        if not page.items:
            return refs
    raise AssertionError("unreachable")


def _flat(chunks: Iterator[list[Any]], chunk: int) -> list[Any]:
    rows: list[Any] = []
    for found in chunks:
        assert 0 < len(found) <= chunk
        rows += found
    return rows


WHERE = [
    TrackEntityFilter(),
    TrackEntityFilter(owner="GROUP:default/team-a"),
    TrackEntityFilter(kind="component", type="service"),
    TrackEntityFilter(level="none"),
    TrackEntityFilter(level="silver"),
]


def test_track_chunks_are_the_pages_rows_in_their_order(filled: Store) -> None:
    # Every combination in one test: the store is filled once per backend.
    for where, sort, descending in itertools.product(WHERE, SortKey, [False, True]):
        expected = _paged(filled, where, sort, descending)
        assert expected, where  # every filter above selects some rows
        for chunk in (1, 3):
            case = (where, sort, descending, chunk)
            chunks = filled.track_chunks(
                "ops", LADDER, where, sort=sort, descending=descending, chunk=chunk
            )
            # Sorted by owner a chunk holds `KEYED_CHUNKS` times as many.
            exported = _flat(chunks, chunk * KEYED_CHUNKS)
            assert [row.ref for row in exported] == expected, case


def test_the_fixture_has_rows_without_owner_or_type_and_a_retired_level(filled: Store) -> None:
    rows = _flat(filled.track_chunks("ops", LADDER), 1_000)
    assert {row.owner for row in rows} >= {None, "group:default/team-a", "group:default/Team-A"}
    assert None in {row.type for row in rows}
    assert {row.level for row in rows} == {None, "bronze", "silver", "gold", "platinum"}
    assert not {f"component:default/{name}" for name in GONE} & {row.ref for row in rows}


def test_track_chunks_give_levels_and_stored_outcomes(filled: Store) -> None:
    rows = _flat(filled.track_chunks("ops", LADDER, chunk=4), 4)
    results = {(r.entity_ref, r.check_id): r.outcome for r in filled.results(track_id="ops")}
    for row in rows:
        held = filled.certification(row.ref, "ops")
        assert held is not None
        assert (row.level, row.next_level) == (held.level, held.next_level)
        assert row.outcomes == {
            check: results[row.ref, check] for check in ("has_owner", "has_description", "has_tags")
        }


@pytest.mark.parametrize(
    "where",
    [
        CatalogFilter(),
        CatalogFilter(kind="RESOURCE"),
        CatalogFilter(owner="group:default/TEAM-A"),
        CatalogFilter(track="ops", level="none"),
        CatalogFilter(level="gold"),
        CatalogFilter(track="other"),
    ],
    ids=repr,
)
def test_catalog_chunks_are_find_entities_pages(filled: Store, where: CatalogFilter) -> None:
    expected = []
    for offset in itertools.count(0, 4):
        page = filled.find_entities(
            kind=where.kind, owner=where.owner, track=where.track, level=where.level,
            limit=4, offset=offset,
        )  # fmt: skip
        expected += page.items
        if not page.items:
            break
    exported = _flat(filled.catalog_chunks(where, chunk=3), 3)
    assert [row.ref for row in exported] == [e.ref for e in expected]
    held = filled.certifications_for([e.ref for e in expected])
    assert [row.levels for row in exported] == [
        {c.track_id: c.level for c in held[e.ref]} for e in expected
    ]
