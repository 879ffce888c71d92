"""save_run writes what changed, and only that, in one transaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from scorecard.problems import Problem
from scorecard.results import Outcome, Result
from scorecard.store import RunStatus, Store, WriteStats

PAYMENTS = "component:default/payments"
LEDGER = "component:default/ledger"

FIRST = {
    ("payments", "prod", "owner"): Outcome.PASS,
    ("payments", "prod", "runbook"): Outcome.FAIL,
    ("payments", "docs", "readme"): Outcome.PASS,
    ("ledger", "prod", "owner"): Outcome.PASS,
    ("ledger", "prod", "runbook"): Outcome.PASS,
}
LEVELS = {
    ("payments", "prod"): "bronze",
    ("payments", "docs"): "bronze",
    ("ledger", "prod"): "silver",
}


def test_first_save_writes_every_result_and_no_history_row(store, save, make_report):
    stats = save(make_report(FIRST, LEVELS))

    assert stats == WriteStats(
        results_written=5,
        history_rows=0,
        certifications_changed=3,
        entities_written=2,
        results_removed=0,
    )
    assert len(store.results()) == 5
    # The history still starts with each result's first observation: its latest state.
    history = store.result_history(PAYMENTS)
    assert [(h.track_id, h.check_id, h.previous_outcome) for h in history] == [
        ("docs", "readme", None),
        ("prod", "owner", None),
        ("prod", "runbook", None),
    ]
    assert [(h.level, h.previous_level) for h in store.certification_history(PAYMENTS)] == [
        ("bronze", None),
        ("bronze", None),
    ]
    assert store.count_history_rows() == 0
    assert store.latest_run().changed == 5


def test_saving_the_same_report_again_writes_nothing(store, save, make_report):
    save(make_report(FIRST, LEVELS))

    stats = save(make_report(FIRST, LEVELS))

    assert stats == WriteStats(0, 0, 0, 0, 0)
    assert store.count_history_rows() == 0
    assert store.latest_run().changed == 0
    assert {r.run_id for r in store.results()} == {store.runs()[-1].id}


@pytest.mark.parametrize(
    ("new", "previous_outcome"),
    [
        (Result(Outcome.PASS, "runbook is pass."), Outcome.FAIL),
        (Result(Outcome.FAIL, "docs/runbook.md is missing from payments."), Outcome.FAIL),
        (Result(Outcome.FAIL, "runbook is fail.", {"path": "docs/runbook.md"}), Outcome.FAIL),
    ],
    ids=["outcome", "message", "evidence"],
)
def test_a_changed_result_writes_one_row_and_its_history(
    store, save, make_report, new, previous_outcome
):
    first_run = save(make_report(FIRST, LEVELS)) and store.latest_run()

    stats = save(make_report({**FIRST, ("payments", "prod", "runbook"): new}, LEVELS))

    # Its first observation, which had no row of its own, then the change.
    assert (stats.results_written, stats.history_rows) == (1, 2)
    *_, first, change = store.result_history(PAYMENTS, "prod")
    assert (first.check_id, first.outcome, first.previous_outcome, first.message) == (
        "runbook",
        Outcome.FAIL,
        None,
        "runbook is fail.",
    )
    assert (first.run_id, first.at) == (first_run.id, first_run.finished_at)
    assert (change.check_id, change.outcome, change.message, change.evidence) == (
        "runbook",
        new.outcome,
        new.message,
        new.evidence,
    )
    assert change.previous_outcome == previous_outcome
    latest_run = store.latest_run().id
    changed = {(r.entity_ref, r.check_id) for r in store.results() if r.run_id == latest_run}
    assert changed == {(PAYMENTS, "runbook")}
    assert store.latest_run().changed == 1


def test_evidence_that_reads_back_the_same_is_no_change(store, save, make_report):
    odd = Result(Outcome.FAIL, "runbook is fail.", {"paths": ("a", "b"), "file": Path("x.md")})
    report = make_report({("payments", "prod", "runbook"): odd})
    save(report)

    assert save(report) == WriteStats(0, 0, 0, 0, 0)
    assert store.results()[0].evidence == {"paths": ["a", "b"], "file": "x.md"}


def test_a_level_change_writes_certification_history(store, save, make_report):
    save(make_report(FIRST, LEVELS))

    stats = save(make_report(FIRST, {**LEVELS, ("payments", "prod"): "silver"}))

    # The first level, which had no row of its own, then the change.
    assert (stats.certifications_changed, stats.history_rows) == (1, 2)
    history = store.certification_history(PAYMENTS, "prod")
    assert [(h.previous_level, h.level) for h in history] == [
        (None, "bronze"),
        ("bronze", "silver"),
    ]
    [latest] = store.certifications(PAYMENTS, "prod")
    assert (latest.level, latest.run_id) == ("silver", store.latest_run().id)


def test_a_new_next_level_updates_the_certification_without_history(store, save, make_report):
    save(make_report(FIRST, LEVELS))
    [before] = store.certifications(PAYMENTS, "prod")

    stats = save(make_report(FIRST, {**LEVELS, ("payments", "prod"): ("bronze", "gold")}))

    assert (stats.certifications_changed, stats.history_rows) == (1, 0)
    [after] = store.certifications(PAYMENTS, "prod")
    assert after.next_level == "gold"
    assert (after.run_id, after.changed_at) == (before.run_id, before.changed_at)


def test_a_check_moved_to_another_level_keeps_when_its_result_changed(store, save, make_report):
    save(make_report(FIRST, LEVELS))
    [before] = store.results(PAYMENTS, "prod", check_id="runbook")

    stats = save(make_report(FIRST, LEVELS, check_levels={"runbook": "silver"}))

    assert (stats.results_written, stats.history_rows) == (2, 0)  # on payments and ledger
    [after] = store.results(PAYMENTS, "prod", check_id="runbook")
    assert after.level_id == "silver"
    assert (after.run_id, after.changed_at) == (before.run_id, before.changed_at)


def test_a_check_removed_from_a_track_loses_its_latest_result(store, save, make_report):
    save(make_report(FIRST, LEVELS))
    # The track lost `runbook`; ledger and the docs track were not evaluated this time.
    stats = save(
        make_report({("payments", "prod", "owner"): Outcome.PASS}, {("payments", "prod"): "bronze"})
    )

    # The pair's row is rewritten; the removed result's only observation becomes history.
    assert stats == WriteStats(0, 1, 1, 0, results_removed=1)
    assert {(r.entity_ref, r.track_id, r.check_id) for r in store.results()} == {
        (PAYMENTS, "prod", "owner"),
        (PAYMENTS, "docs", "readme"),
        (LEDGER, "prod", "owner"),
        (LEDGER, "prod", "runbook"),
    }
    assert "runbook" in {h.check_id for h in store.result_history(PAYMENTS)}


def test_entities_are_written_only_when_their_document_changes(
    store, save, make_report, make_entity
):
    save(make_report(FIRST))
    assert save(make_report(FIRST)).entities_written == 0

    retitled = [make_entity("payments", title="Payments"), make_entity("ledger")]
    stats = save(make_report(FIRST, entities=retitled))

    assert stats.entities_written == 1
    record = store.entity(PAYMENTS)
    assert record.title == "Payments"
    assert record.raw["metadata"]["title"] == "Payments"
    assert (record.first_seen_run, record.updated_run) == (1, 3)
    assert store.entity(LEDGER).updated_run == 1


def test_the_run_records_its_counts_and_problems(store, make_report):
    run_id = store.start_run("schedule", {"tracks": ["prod"], "entity": None})
    results = {**FIRST, ("ledger", "prod", "runbook"): Outcome.ERROR}
    problem = Problem("catalog/bad.yaml", "metadata.name is missing", line=3)

    store.save_run(run_id, make_report(results, LEVELS, problems=[problem]))

    run = store.run(run_id)
    assert run.status is RunStatus.FINISHED
    assert (run.trigger, run.scope) == ("schedule", {"tracks": ["prod"], "entity": None})
    assert (run.entities, run.results, run.errors, run.changed) == (2, 5, 2, 5)
    assert run.problems == ["catalog/bad.yaml:3:1: metadata.name is missing"]
    assert run.finished_at >= run.started_at


def test_a_failing_save_writes_nothing(store, save, make_report, make_entity):
    save(make_report(FIRST, LEVELS))
    run_id = store.start_run("cli")
    # A result for an entity that is neither in the report nor stored breaks a foreign
    # key after the entities and run were already written in the transaction.
    report = make_report(
        {**FIRST, ("ghost", "prod", "owner"): Outcome.FAIL},
        {**LEVELS, ("payments", "prod"): "silver"},
        entities=[make_entity("payments", title="Payments"), make_entity("ledger")],
    )

    with pytest.raises(IntegrityError):
        store.save_run(run_id, report)

    assert store.run(run_id).status is RunStatus.RUNNING
    assert store.entity(PAYMENTS).title is None
    assert store.count_history_rows() == 0
    assert store.certifications(PAYMENTS, "prod")[0].level == "bronze"


def test_saving_an_unknown_run_is_an_error(store: Store, make_report):
    with pytest.raises(LookupError, match="no run 42"):
        store.save_run(42, make_report(FIRST))
    assert store.results() == []
