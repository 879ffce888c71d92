"""One check's results are found from the certifications' outcome letters and each
pair's layout, and they are exactly the results the `result` view holds."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from scorecard.results import Outcome
from scorecard.store import Store

OUTCOMES = [Outcome.PASS, Outcome.FAIL, Outcome.ERROR, Outcome.NOT_APPLICABLE]


def _expected(store: Store, track, check, outcome, limit, offset):  # type: ignore[no-untyped-def]
    every = [
        r
        for r in store.results()
        if (track is None or r.track_id == track)
        and r.check_id == check
        and (outcome is None or r.outcome == outcome)
    ]
    return [(r.entity_ref, r.track_id, r.outcome, r.message) for r in every], every[
        offset : offset + limit
    ]


@pytest.fixture
def stored(store: Store, save, make_report) -> Store:  # type: ignore[no-untyped-def]
    first = {
        (f"e{i:02}", track, check): OUTCOMES[(i + j) % len(OUTCOMES)]
        for i in range(30)
        for track in ("prod", "docs")
        for j, check in enumerate(("owner", "readme", "runbook"))
    }
    save(
        make_report(first, {(f"e{i:02}", t): "bronze" for i in range(30) for t in ("prod", "docs")})
    )
    # The prod track changes for a few entities only: `runbook` moves to the front, so
    # pairs of one track are stored with two layouts.
    moved = {
        (f"e{i:02}", "prod", check): OUTCOMES[(i + j + 1) % len(OUTCOMES)]
        for i in range(5)
        for j, check in enumerate(("runbook", "owner", "readme"))
    }
    save(make_report(moved, {(f"e{i:02}", "prod"): "silver" for i in range(5)}))
    return store


@pytest.mark.parametrize("track", ["prod", "docs", None])
@pytest.mark.parametrize("check", ["owner", "runbook", "missing"])
@pytest.mark.parametrize("outcome", [None, Outcome.FAIL, Outcome.ERROR, Outcome.WARN])
def test_one_checks_results_are_those_the_view_holds(stored: Store, track, check, outcome):  # type: ignore[no-untyped-def]
    every, page = _expected(stored, track, check, outcome, 7, 3)

    found = stored.find_results(track_id=track, check_id=check, outcome=outcome, limit=7, offset=3)

    assert found.total == len(every)
    assert [(r.entity_ref, r.track_id, r.outcome, r.message) for r in found.items] == [
        (r.entity_ref, r.track_id, r.outcome, r.message) for r in page
    ]


def test_pairs_stored_before_layouts_are_found_through_the_view(stored: Store) -> None:
    with stored.engine.begin() as connection:
        connection.execute(
            text("UPDATE certification SET layout_id = NULL WHERE entity_ref = :ref"),
            {"ref": "component:default/e07"},
        )
    every, page = _expected(stored, "prod", "owner", Outcome.FAIL, 50, 0)

    found = stored.find_results(track_id="prod", check_id="owner", outcome=Outcome.FAIL)

    assert found.total == len(every)
    assert [r.entity_ref for r in found.items] == [r.entity_ref for r in page]
