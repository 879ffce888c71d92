"""A run keeps the stored results of a track of pure checks while the entity's document
and the track are as they were, and evaluates everything else."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorecard.entity import Entity
from scorecard.registry import build_registry
from scorecard.runner import run_and_store
from scorecard.sdk import check
from scorecard.store import Store, WriteStats
from scorecard.tracks import Track, load_track

PURE = """\
apiVersion: scorecard/v1
kind: Track
id: metadata
title: Metadata
levels:
  - id: bronze
    checks: [has_owner, has_description]
  - id: silver
    checks:
      - check: lifecycle_allowed
        with: {allowed: [%s]}
"""
# owner_exists reads the catalog: not pure, so its track is always evaluated.
CATALOG = """\
apiVersion: scorecard/v1
kind: Track
id: ownership
title: Ownership
levels:
  - id: bronze
    checks: [owner_exists]
"""


def _entity(name: str, description: str | None = "Does things.") -> Entity:
    metadata = {"name": name} | ({"description": description} if description else {})
    return Entity(
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": metadata,
            "spec": {"owner": "team-a", "lifecycle": "production"},
        },
        source=f"catalog/{name}.yaml",
    )


def _track(tmp_path: Path, text: str, name: str) -> Track:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return load_track(path, build_registry(plugins=False))


@pytest.fixture
def pure(tmp_path: Path) -> Track:
    return _track(tmp_path, PURE % "production", "pure")


@pytest.fixture
def catalog_track(tmp_path: Path) -> Track:
    return _track(tmp_path, CATALOG, "catalog")


def _run(store: Store, entities: list[Entity], tracks: list[Track]):  # type: ignore[no-untyped-def]
    return run_and_store(store, entities, tracks, trigger="test")


def test_an_unchanged_catalog_keeps_every_pure_pair_and_writes_nothing(
    store_url: str, pure: Track, catalog_track: Track
) -> None:
    entities = [_entity(f"svc-{i}") for i in range(5)]
    with Store(store_url) as store:
        first = _run(store, entities, [pure, catalog_track])
        assert not any(p.reused for p in first.report.pairs)

        again = _run(store, [_entity(f"svc-{i}") for i in range(5)], [pure, catalog_track])

        kept = {p.entity_ref for p in again.report.pairs if p.reused}
        assert kept == {e.ref for e in entities}
        assert {p.track_id for p in again.report.pairs if p.reused} == {"metadata"}
        assert again.stats == WriteStats(0, 0, 0, 0, 0)
        # The report is whole: kept pairs read as they were evaluated (PostgreSQL's JSONB
        # hands back the same document, if not the same text).
        assert [(p.entity_ref, p.track_id, p.level) for p in again.report.pairs] == [
            (p.entity_ref, p.track_id, p.level) for p in first.report.pairs
        ]
        assert again.report.results == first.report.results
        assert again.report.result_count == first.report.result_count
        assert again.report.outcome_count(first.report.pairs[0].outcomes[0]) > 0


def test_a_changed_document_is_evaluated_again(store_url: str, pure: Track) -> None:
    with Store(store_url) as store:
        _run(store, [_entity("a"), _entity("b")], [pure])

        again = _run(store, [_entity("a"), _entity("b", description=None)], [pure])

        assert {p.entity_ref: p.reused for p in again.report.pairs} == {
            "component:default/a": True,
            "component:default/b": False,
        }
        assert again.stats.results_written == 1
        [description] = store.results("component:default/b", check_id="has_description")
        assert description.outcome == "fail"


def test_a_changed_track_evaluates_every_entity_again(
    store_url: str, pure: Track, tmp_path: Path
) -> None:
    with Store(store_url) as store:
        _run(store, [_entity("a")], [pure])
        stricter = _track(tmp_path, PURE % "experimental", "stricter")

        again = _run(store, [_entity("a")], [stricter])

        assert not any(p.reused for p in again.report.pairs)
        assert store.certification("component:default/a", "metadata").level == "bronze"


def test_the_inputs_digest_is_written_even_when_the_results_are_the_same(
    store_url: str, pure: Track, tmp_path: Path
) -> None:
    with Store(store_url) as store:
        _run(store, [_entity("a")], [pure])
        # A new track text with the same checks: another fingerprint, the same results.
        renamed = _track(tmp_path, PURE.replace("Metadata", "Metadata, again") % "production", "r")
        assert renamed.fingerprint == pure.fingerprint  # the title is not an input

        reordered = _track(tmp_path, PURE.replace("[has_owner, has_description]",
                                                  "[has_description, has_owner]") % "production",
                           "o")  # fmt: skip
        assert reordered.fingerprint != pure.fingerprint
        changed = _run(store, [_entity("a")], [reordered])
        kept = _run(store, [_entity("a")], [reordered])

        assert not changed.report.pairs[0].reused
        assert kept.report.pairs[0].reused


def test_only_a_sync_check_of_entity_and_params_can_be_pure() -> None:
    with pytest.raises(TypeError, match="cannot be pure"):

        @check(id="reads_repo", title="Reads a repo", remediation="None.", pure=True)
        def reads_repo(repo):  # type: ignore[no-untyped-def]
            return None

    with pytest.raises(TypeError, match="cannot be pure"):

        @check(id="waits", title="Waits", remediation="None.", pure=True)
        async def waits(entity):  # type: ignore[no-untyped-def]
            return None
