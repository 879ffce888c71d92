"""Reads filter as asked, return usable records, and keep times aware UTC."""

from __future__ import annotations

from datetime import UTC

import pytest

from scorecard.results import Outcome
from scorecard.store import RunStatus

PAYMENTS = "component:default/payments"
LEDGER = "component:default/ledger"

RESULTS = {
    ("payments", "prod", "owner"): Outcome.PASS,
    ("payments", "prod", "runbook"): Outcome.FAIL,
    ("payments", "docs", "readme"): Outcome.FAIL,
    ("ledger", "prod", "owner"): Outcome.PASS,
    ("ledger", "prod", "runbook"): Outcome.ERROR,
}
LEVELS = {("payments", "prod"): "bronze", ("payments", "docs"): None, ("ledger", "prod"): None}


@pytest.fixture
def filled(store, save, make_report):
    save(make_report(RESULTS, LEVELS))
    return store


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [(LEDGER, "owner"), (LEDGER, "runbook"), (PAYMENTS, "readme"), (PAYMENTS, "owner"),
              (PAYMENTS, "runbook")]),
        ({"entity_ref": LEDGER}, [(LEDGER, "owner"), (LEDGER, "runbook")]),
        ({"track_id": "docs"}, [(PAYMENTS, "readme")]),
        ({"outcome": Outcome.FAIL}, [(PAYMENTS, "readme"), (PAYMENTS, "runbook")]),
        ({"track_id": "prod", "outcome": "pass"}, [(LEDGER, "owner"), (PAYMENTS, "owner")]),
        ({"check_id": "runbook"}, [(LEDGER, "runbook"), (PAYMENTS, "runbook")]),
        ({"limit": 1}, [(LEDGER, "owner")]),
        ({"entity_ref": "component:default/nothing"}, []),
    ],
)  # fmt: skip
def test_results_filter(filled, filters, expected):
    assert [(r.entity_ref, r.check_id) for r in filled.results(**filters)] == expected


def test_results_read_back_what_was_saved(filled):
    [result] = filled.results(PAYMENTS, "prod", check_id="runbook")
    assert result.outcome is Outcome.FAIL
    assert (result.level_id, result.required, result.message) == (
        "bronze",
        True,
        "runbook is fail.",
    )


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [(LEDGER, "prod", None), (PAYMENTS, "docs", None), (PAYMENTS, "prod", "bronze")]),
        ({"entity_ref": PAYMENTS}, [(PAYMENTS, "docs", None), (PAYMENTS, "prod", "bronze")]),
        ({"track_id": "prod"}, [(LEDGER, "prod", None), (PAYMENTS, "prod", "bronze")]),
    ],
)
def test_certifications_filter(filled, filters, expected):
    assert [(c.entity_ref, c.track_id, c.level) for c in filled.certifications(**filters)] == (
        expected
    )


def test_history_filters_by_track(filled):
    assert [h.check_id for h in filled.result_history(PAYMENTS, "docs")] == ["readme"]
    assert [h.track_id for h in filled.certification_history(PAYMENTS, "docs")] == ["docs"]
    assert filled.result_history("component:default/nothing") == []


def test_an_entity_is_found_whatever_the_case_of_its_ref(store, save, make_report):
    save(make_report({("Payments", "prod", "owner"): Outcome.PASS}))

    record = store.entity("Component:Default/PAYMENTS")

    assert record.ref == "component:default/Payments"
    assert (record.kind, record.namespace, record.name) == ("Component", "default", "Payments")
    assert (record.owner, record.type, record.lifecycle) == (
        "group:default/team-a",
        "service",
        "production",
    )
    assert record.source == "catalog/Payments.yaml"
    assert store.entity("component:default/nothing") is None


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["component:default/a", "component:default/b", "component:default/c"]),
        ({"kind": "COMPONENT"}, ["component:default/a", "component:default/b",
                                 "component:default/c"]),
        ({"kind": "api"}, []),
        ({"owner": "group:default/Team-B"}, ["component:default/b"]),
        ({"owner": "group:default/team-a", "limit": 1, "offset": 1}, ["component:default/c"]),
    ],
)  # fmt: skip
def test_entities_filter(store, save, make_report, make_entity, filters, expected):
    b = make_entity("b")
    b.raw["spec"]["owner"] = "team-b"
    entities = [make_entity("a"), b, make_entity("c")]
    save(
        make_report({(e.name, "prod", "owner"): Outcome.PASS for e in entities}, entities=entities)
    )

    assert [e.ref for e in store.entities(**filters)] == expected


def test_runs_newest_first(store):
    assert store.is_empty()
    assert store.latest_run() is None
    ids = [store.start_run("cli") for _ in range(3)]

    assert not store.is_empty()
    assert [r.id for r in store.runs()] == ids[::-1]
    assert [r.id for r in store.runs(limit=1, offset=1)] == [ids[1]]
    assert store.latest_run().id == ids[-1]
    assert store.run(ids[0]).status is RunStatus.RUNNING
    assert store.run(9999) is None


def test_fail_run_keeps_earlier_results(filled):
    before = filled.results()
    run_id = filled.start_run("api")

    filled.fail_run(run_id, "the catalog at https://backstage.example.com did not answer")

    run = filled.run(run_id)
    assert run.status is RunStatus.FAILED
    assert run.failure == "the catalog at https://backstage.example.com did not answer"
    assert run.finished_at is not None
    assert filled.results() == before
    with pytest.raises(LookupError):
        filled.fail_run(9999, "no such run")


def test_a_failure_quoting_catalog_text_with_nul_is_stored(filled):
    run_id = filled.start_run("api")

    filled.fail_run(run_id, "ValueError: bad name 'a\x00b'")

    assert filled.run(run_id).failure == "ValueError: bad name 'a\ufffdb'"


def test_times_are_aware_utc(filled):
    run = filled.latest_run()
    times = [
        run.started_at,
        run.finished_at,
        *(r.changed_at for r in filled.results()),
        *(c.changed_at for c in filled.certifications()),
        *(h.at for h in filled.result_history(PAYMENTS)),
        *(h.at for h in filled.certification_history(PAYMENTS)),
    ]
    assert all(t.tzinfo is UTC for t in times)
