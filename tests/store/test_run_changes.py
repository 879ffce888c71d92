"""What a run changed, read by its id: results per outcome, those that gave no answer,
and the levels it moved, told apart from first observations; on both backends."""

from __future__ import annotations

import pytest

from scorecard.results import Outcome
from scorecard.store.run_changes import LevelMove

PAYMENTS = "component:default/payments"
LEDGER = "component:default/ledger"

FIRST = {
    ("payments", "prod", "owner"): Outcome.PASS,
    ("payments", "prod", "runbook"): Outcome.FAIL,
    ("ledger", "prod", "owner"): Outcome.PASS,
    ("ledger", "prod", "runbook"): Outcome.ERROR,
}
SECOND = {
    **FIRST,
    ("payments", "prod", "runbook"): Outcome.ERROR,
    ("ledger", "prod", "runbook"): Outcome.UNKNOWN,
}


@pytest.fixture
def two_runs(store, make_report):
    """Run 1 stores every pair for the first time (no history row); run 2 changes both
    runbooks and both levels, so the first observations are written under run 1."""
    first = store.start_run("cli")
    store.save_run(
        first, make_report(FIRST, {("payments", "prod"): "bronze", ("ledger", "prod"): None})
    )
    second = store.start_run("cli")
    store.save_run(
        second, make_report(SECOND, {("payments", "prod"): None, ("ledger", "prod"): "bronze"})
    )
    return store, first, second


def test_a_run_counts_and_lists_what_it_changed(two_runs):
    store, _, second = two_runs
    counts = store.run_counts(second)
    by_outcome = {outcome: n for outcome, n in counts.results.counts.items() if n}
    assert by_outcome == {Outcome.ERROR: 1, Outcome.UNKNOWN: 1}
    assert (counts.results.total, counts.results.first, counts.results.unanswered) == (2, 0, 2)
    unanswered = store.run_unanswered_changes(second)
    # In the order they were written.
    assert [c.id for c in unanswered] == sorted(c.id for c in unanswered)
    assert {(c.entity_ref, c.check_id, c.previous_outcome, c.outcome) for c in unanswered} == {
        (LEDGER, "runbook", Outcome.ERROR, Outcome.UNKNOWN),
        (PAYMENTS, "runbook", Outcome.FAIL, Outcome.ERROR),
    }
    assert sorted(counts.moves, key=lambda m: m.level or "") == [
        LevelMove("prod", "bronze", None, first=False, count=1),
        LevelMove("prod", None, "bronze", first=False, count=1),
    ]
    assert counts.levels == 2
    rows = store.run_level_changes(second)
    assert {(row.entity_ref, row.previous_level, row.level, row.first) for row in rows} == {
        (PAYMENTS, "bronze", None, False),
        (LEDGER, None, "bronze", False),
    }


def test_first_observations_count_under_the_run_that_made_them(two_runs):
    store, first, _ = two_runs
    counts = store.run_counts(first)
    by_outcome = {outcome: n for outcome, n in counts.results.counts.items() if n}
    # Only the results a later run changed have a row; the passes never changed.
    assert by_outcome == {Outcome.FAIL: 1, Outcome.ERROR: 1}
    assert counts.results.first == 2
    [errored] = store.run_unanswered_changes(first)
    assert (errored.entity_ref, errored.previous_outcome, errored.outcome) == (
        LEDGER,
        None,
        Outcome.ERROR,
    )
    assert sorted(counts.moves, key=lambda m: m.level or "") == [
        LevelMove("prod", None, None, first=True, count=1),
        LevelMove("prod", None, "bronze", first=True, count=1),
    ]
    assert {(row.entity_ref, row.first) for row in store.run_level_changes(first)} == {
        (PAYMENTS, True),
        (LEDGER, True),
    }


def test_pages_of_a_run_changes_follow_each_other(two_runs):
    store, _, second = two_runs
    every = [c.id for c in store.run_unanswered_changes(second)]
    pages = [store.run_unanswered_changes(second, limit=1, offset=n) for n in (0, 1, 2)]
    assert [[c.id for c in page] for page in pages] == [every[:1], every[1:], []]
    levels = [store.run_level_changes(second, limit=1, offset=n) for n in (0, 1, 2)]
    assert [len(page) for page in levels] == [1, 1, 0]
    assert {levels[0][0].entity_ref, levels[1][0].entity_ref} == {PAYMENTS, LEDGER}
    with pytest.raises(ValueError, match="negative"):
        store.run_unanswered_changes(second, limit=-1)
    with pytest.raises(ValueError, match="negative"):
        store.run_level_changes(second, offset=-1)


def test_a_run_that_changed_nothing_has_empty_changes(two_runs, make_report):
    store, _, _ = two_runs
    third = store.start_run("cli")
    store.save_run(
        third, make_report(SECOND, {("payments", "prod"): None, ("ledger", "prod"): "bronze"})
    )
    counts = store.run_counts(third)
    assert counts.results.total == 0 and counts.moves == [] and counts.levels == 0
    assert store.run_unanswered_changes(third) == []
    assert store.run_level_changes(third) == []


def test_the_latest_finished_run_ignores_runs_still_going_and_failed(two_runs):
    store, _, second = two_runs
    assert store.latest_finished_run_id() == second
    store.start_run("cli")  # still running
    failed = store.start_run("cli")
    store.fail_run(failed, "the catalog could not be read")
    assert store.latest_finished_run_id() == second


def test_results_that_give_no_answer_now_are_listed_by_pair(two_runs):
    store, _, _ = two_runs
    found = store.unanswered_results(["prod"], limit=10)
    assert [(r.entity_ref, r.check_id, r.outcome) for r in found] == [
        (LEDGER, "runbook", Outcome.UNKNOWN),
        (PAYMENTS, "runbook", Outcome.ERROR),
    ]
    assert [r.entity_ref for r in store.unanswered_results(["prod"], limit=1)] == [LEDGER]
    assert store.unanswered_results(["docs"], limit=10) == []
    assert store.unanswered_results([], limit=10) == []
