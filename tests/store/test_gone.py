"""Entities missing from a complete catalog listing are gone: kept, but counted nowhere."""

from __future__ import annotations

from pathlib import Path

from scorecard.catalog import CatalogListing
from scorecard.entity import Entity
from scorecard.problems import Problem
from scorecard.registry import CheckRegistry
from scorecard.runner import run_and_store
from scorecard.store import Store
from scorecard.tracks import load_tracks
from scorecard.workspace import bundled_tracks


def component(name: str) -> Entity:
    return Entity(
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": name, "description": "things"},
            "spec": {"type": "service", "lifecycle": "production", "owner": "group:default/a"},
        }
    )


def refs(store: Store) -> set[str]:
    return {e.ref for e in store.entities()}


def test_complete_listings_mark_gone_and_back(tmp_path: Path, registry: CheckRegistry) -> None:
    tracks = load_tracks([bundled_tracks() / "basics.yaml"], registry)
    a, b, c = component("a"), component("b"), component("c")
    with Store(f"sqlite:///{tmp_path / 'scorecard.db'}") as store:
        run_and_store(store, [a, b, c], tracks, trigger="test", catalog_complete=True)
        assert sum(store.track_rollup("basics").levels.values()) == 3
        results = len(store.results())

        # A partial listing removes nothing.
        run_and_store(store, [a], tracks, trigger="test", catalog_complete=False)
        assert refs(store) == {a.ref, b.ref, c.ref}

        second = run_and_store(store, [a, b], tracks, trigger="test", catalog_complete=True)
        assert refs(store) == {a.ref, b.ref}
        gone = store.entity(c.ref)
        assert gone is not None and gone.gone_run == second.run_id
        assert {e.ref for e in store.entities(include_gone=True)} == {a.ref, b.ref, c.ref}
        assert len(store.results()) == results  # kept, not deleted
        assert sum(store.track_rollup("basics").levels.values()) == 2
        assert sum(o.entities for o in store.owners_rollup("basics")) == 2
        assert sum(store.owner_rollup("group:default/a", "basics")[0].levels.values()) == 2
        page = store.find_entities(limit=10)
        assert {e.ref for e in page.items} == {a.ref, b.ref} and page.total == 2

        run_and_store(store, [a, b, c], tracks, trigger="test", catalog_complete=True)
        back = store.entity(c.ref)
        assert back is not None and back.gone_run is None
        assert sum(store.track_rollup("basics").levels.values()) == 3


def test_a_listing_with_problems_shows_no_removals() -> None:
    assert CatalogListing([], []).shows_removals
    assert not CatalogListing([], [], complete=False).shows_removals
    assert not CatalogListing([], [Problem("x.yaml", "invalid YAML")]).shows_removals
