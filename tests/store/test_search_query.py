"""A search reads ranges of the search terms' index and entities by key: what it finds,
in which order, where it stops, and (on SQLite) the plan of every query it makes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from scorecard.entity import Entity
from scorecard.report import RunReport
from scorecard.results import Outcome
from scorecard.store import Store, WriteStats
from scorecard.store import search as search_module
from scorecard.store.search import matches, query_words, terms_of

Save = Callable[[RunReport], WriteStats]


@pytest.fixture
def catalog(
    store: Store,
    save: Save,
    make_entity: Callable[..., Entity],
    make_report: Callable[..., RunReport],
) -> Store:
    entities = [
        make_entity("payments", title="100% uptime service"),
        make_entity("payments-api", title="Payments API"),
        make_entity("pay_ments", title="Payments ledger"),
        make_entity("payroll"),
        make_entity("checkout-web", title="Checkout web"),
        make_entity("leaving", title="Leaving soon"),
    ]
    results = {(e.name, "t", "c"): Outcome.PASS for e in entities}
    save(make_report(results, entities=entities))
    # A second, complete listing without "leaving": it is gone, its terms stay stored.
    rest = entities[:-1]
    report = make_report({(e.name, "t", "c"): Outcome.PASS for e in rest}, entities=rest)
    store.save_run(store.start_run("cli"), report, catalog_complete=True)
    return store


def _found(store: Store, query: str) -> list[str]:
    return [ref.removeprefix("component:default/") for ref in store.search(query_words(query)).refs]


def test_query_words_are_split_at_blanks_lower_case_cut_and_unquoted() -> None:
    assert query_words('  Payments  "API"  payments ') == ["payments", "api"]
    assert query_words("x" * 100) == ["x" * 64]
    assert query_words(" \t ") == []
    assert matches(terms_of("component:default/a-b", "a-b", "Quick fox"), ["qu", "b", "a-"])
    assert not matches(terms_of("component:default/a-b", "a-b", "Quick fox"), ["fox", "z"])


def test_each_word_starts_a_term_and_the_exact_term_comes_first(catalog: Store) -> None:
    # "payments" is the whole name of one, first; a word of the others' titles.
    assert _found(catalog, "payments") == ["payments", "pay_ments", "payments-api"]
    assert _found(catalog, "payments ledger") == ["pay_ments"]
    assert _found(catalog, "PAY") == ["pay_ments", "payments", "payments-api", "payroll"]
    assert _found(catalog, "payments ledger") == ["pay_ments"]
    assert _found(catalog, "uptime payments") == ["payments"]
    assert _found(catalog, "api") == ["payments-api"]
    assert _found(catalog, "component:default/check") == ["checkout-web"]
    assert _found(catalog, "nothing") == []
    assert _found(catalog, "payments nothing") == []
    assert catalog.search([]).refs == [] and catalog.search([]).complete


def test_wildcards_of_sql_are_letters(catalog: Store) -> None:
    assert _found(catalog, "%") == []
    assert _found(catalog, "_") == []
    assert _found(catalog, "10%") == []  # LIKE '10%%' would find "100% uptime service"
    assert _found(catalog, "100%") == ["payments"]
    assert _found(catalog, "pay_") == ["pay_ments"]  # LIKE 'pay_%' would find them all
    assert _found(catalog, "pay_ments") == ["pay_ments"]


def test_gone_entities_are_not_found(catalog: Store) -> None:
    assert _found(catalog, "leaving") == []
    assert _found(catalog, "soon") == []


def test_a_search_reads_at_most_its_candidates_in_the_index_order(
    catalog: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "MAX_CANDIDATES", 2)
    # The terms that start with "pay", in order: pay (of pay_ments), pay_ments, payments
    # (of pay_ments, payments, payments-api), payments api, ...
    monkeypatch.setattr(search_module, "_MAX_TERM_ROWS", 5)
    broad = catalog.search(["pay"])
    assert not broad.complete
    assert [ref.rpartition("/")[2] for ref in broad.refs] == ["pay_ments", "payments"]
    narrow = catalog.search(["payroll"])
    assert narrow.complete and len(narrow.refs) == 1


@contextmanager
def _statements(store: Store) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


def test_on_sqlite_no_query_of_a_search_scans_a_table(catalog: Store) -> None:
    if catalog.engine.dialect.name != "sqlite":
        pytest.skip("the plan is SQLite's EXPLAIN QUERY PLAN")
    with _statements(catalog) as seen:
        found = catalog.search(query_words("pay ledger"))
        catalog.search(query_words("payroll"))
        catalog.entities_by_ref(found.refs)
        catalog.kinds()
        catalog.titles(["component:default/payments", "group:default/team-a"])
    assert len(seen) >= 7
    plans = []
    with catalog.engine.connect() as connection:
        for statement, parameters in seen:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans.append([row[-1] for row in rows])
    every = [step for plan in plans for step in plan]
    # A SCAN of a subquery's few rows is fine; a SCAN of a table is what must not be.
    assert not [step for step in every if re.match(r"SCAN (entity|search_term)\b", step)], plans
    assert any("search_term USING PRIMARY KEY (term>? AND term<?)" in step for step in every)
    assert any("entity USING INDEX sqlite_autoindex_entity_1 (ref=?)" in step for step in every)
