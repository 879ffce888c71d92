"""A first save writes its rows as the driver takes them on SQLite too: what it stores
reads, and compares, exactly as what SQLAlchemy writes for a later change."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import event, text

from scorecard.results import Outcome
from scorecard.store import Store
from scorecard.store.database import SQLITE_PAGE_SIZE, dump_json
from tests.databases import BACKENDS

PAYMENTS = "component:default/payments"


def test_a_level_time_written_in_bulk_is_the_text_every_other_write_gives_it(
    store: Store, save, make_report
):
    save(
        make_report({("payments", "prod", "readme"): Outcome.PASS}, {("payments", "prod"): "gold"})
    )

    with store.engine.connect() as connection:
        changed_at = connection.scalar(text("SELECT changed_at FROM certification"))
        finished_at = connection.scalar(text("SELECT finished_at FROM run"))
    # The same instant, written by the bulk insert and by SQLAlchemy: the same value.
    assert changed_at == finished_at
    assert store.certifications()[0].changed_at == store.runs()[0].finished_at


def test_an_entity_written_in_bulk_is_the_document_an_update_writes(
    store: Store, save, make_report, make_entity
):
    payments = make_entity("payments", title="Payments", tags=["a", "b"])
    save(make_report({("payments", "prod", "readme"): Outcome.PASS}, entities=[payments]))

    with store.engine.connect() as connection:
        raw = connection.scalar(text("SELECT CAST(raw AS TEXT) FROM entity"))
    # Compact JSON text (orjson) where the JSON column spaces it out: the same document.
    assert json.loads(raw) == json.loads(dump_json(payments.raw))
    stored = store.entity(PAYMENTS)
    assert stored is not None and stored.raw == payments.raw
    assert (stored.title, stored.owner) == ("Payments", "group:default/team-a")


@pytest.mark.parametrize("store_url", [BACKENDS[0]], indirect=True)
def test_a_first_save_on_sqlite_writes_each_bulk_table_in_one_driver_statement(
    store: Store, save, make_report
):
    statements: list[tuple[str, bool]] = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        statements.append((statement, executemany))

    results = {(f"e{i}", "prod", f"c{j}"): Outcome.PASS for i in range(50) for j in range(4)}
    event.listen(store.engine, "before_cursor_execute", record)
    try:
        save(make_report(results, {(f"e{i}", "prod"): "gold" for i in range(50)}))
    finally:
        event.remove(store.engine, "before_cursor_execute", record)

    bulk = ("entity", "certification", "track_rollup")
    inserts = [
        (statement.split()[2], many, "ON CONFLICT" in statement)
        for statement, many in statements
        if statement.startswith("INSERT INTO") and statement.split()[2] in bulk
    ]
    # One executemany per table, and no upsert of entities never stored.
    assert sorted(inserts) == [(table, True, False) for table in sorted(bulk)]
    assert len(store.results()) == 200


def test_a_new_sqlite_database_has_larger_pages_and_an_old_one_keeps_its_own(tmp_path: Path):
    with Store(f"sqlite:///{tmp_path / 'new.db'}"):
        pass
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as connection:
        connection.execute("PRAGMA page_size=4096")
        connection.execute("CREATE TABLE kept (id INTEGER)")
    connection.close()
    with Store(f"sqlite:///{old}"):
        pass

    def page_size(path: Path) -> int:
        with sqlite3.connect(path) as connection:
            return connection.execute("PRAGMA page_size").fetchone()[0]

    assert page_size(tmp_path / "new.db") == SQLITE_PAGE_SIZE
    assert page_size(old) == 4096
