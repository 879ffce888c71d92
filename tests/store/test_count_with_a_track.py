"""The overview's first figure: how many listed entities a set of tracks applies to, each
counted once however many of those tracks it is on, and none that left the catalog."""

from __future__ import annotations

from collections.abc import Callable

from scorecard.entity import Entity
from scorecard.report import RunReport
from scorecard.results import Outcome
from scorecard.store import Store

PASS, FAIL = Outcome.PASS, Outcome.FAIL


def test_entities_are_counted_once_on_the_tracks_asked_about(
    store: Store, make_report: Callable[..., RunReport], make_entity: Callable[..., Entity]
) -> None:
    catalog = [make_entity(name) for name in ("a", "b", "c", "d")]
    results = {
        ("a", "t1", "x"): PASS,
        ("b", "t1", "x"): FAIL,
        ("b", "t2", "y"): PASS,
        ("c", "t2", "y"): FAIL,
    }
    levels = {("a", "t1"): "bronze", ("b", "t1"): None, ("b", "t2"): "bronze", ("c", "t2"): None}
    run = store.start_run("cli")
    store.save_run(run, make_report(results, levels, entities=catalog), catalog_complete=True)

    assert store.find_entities(limit=1).total == 4  # d is in the catalog, on no track
    assert store.count_entities_with_a_track(["t1", "t2"]) == 3
    assert store.count_entities_with_a_track(["t1"]) == 2
    assert store.count_entities_with_a_track(["t2"]) == 2
    assert store.count_entities_with_a_track(["t3"]) == 0
    assert store.count_entities_with_a_track([]) == 0

    # b leaves the catalog: its certifications stay stored, and count no more.
    rest = [entity for entity in catalog if entity.ref != "component:default/b"]
    kept = {key: value for key, value in results.items() if key[0] != "b"}
    kept_levels = {key: value for key, value in levels.items() if key[0] != "b"}
    again = store.start_run("cli")
    store.save_run(again, make_report(kept, kept_levels, entities=rest), catalog_complete=True)
    assert store.count_entities_with_a_track(["t1", "t2"]) == 2
    assert store.count_entities_with_a_track(["t1"]) == 1
