"""A first save writes its rows in bulk — COPY on PostgreSQL — and every character a team
can write reads back as written: COPY's own escapes and end marker are plain text here."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event

from scorecard.results import Outcome, Result
from scorecard.store import Store, WriteStats
from scorecard.store.writes import storable
from tests.databases import BACKENDS

PAYMENTS = "component:default/payments"

# Text that COPY's text format would misread unless escaped: its delimiter (tab), row end
# (newline, carriage return), escape character, NULL marker `\N` and end marker `\.`.
ODD_TEXTS = [
    "tab\there",
    "new\nline",
    "carriage\rreturn",
    "back\\slash, \\t and \\n written out",
    "\\N",
    "\\.",
    "line\n\\.\nafter the end marker",
    "\"double\" and 'single' quotes, a comma, a semicolon;",
    "unicode: café, Łódź, 日本語, עברית, 🚀, e\u0301, \u2028",
    "",
    "NUL\x00inside",
]
# Evidence that is JSON text in COPY: nesting, odd keys, and a large document.
LARGE = {"paths": [f'docs/{i:05d}\t"x"\\y.md' for i in range(20_000)]}


def _results() -> dict[tuple[str, str, str], Result]:
    results = {
        ("payments", "prod", f"c{i:02d}"): Result(Outcome.FAIL, text, {text: [text, {"k": text}]})
        for i, text in enumerate(ODD_TEXTS)
    }
    results["payments", "prod", "large"] = Result(Outcome.PASS, "large", LARGE)
    results["payments", "prod", "empty"] = Result(Outcome.UNKNOWN, "no evidence", {})
    return results


def test_every_character_of_results_reads_back_as_written(store, save, make_report):
    results = _results()

    stats = save(make_report(results, {("payments", "prod"): "bronze"}))

    assert stats.results_written == len(results)
    stored = {r.check_id: (r.outcome, r.message, r.evidence) for r in store.results()}
    history = {
        h.check_id: (h.outcome, h.message, h.evidence) for h in store.result_history(PAYMENTS)
    }
    # NUL is stored as U+FFFD (see `storable`), and evidence as the JSON it reads back as.
    expected = {
        check: (r.outcome, storable(r.message), json.loads(json.dumps(storable(r.evidence))))
        for (_, _, check), r in results.items()
    }
    assert stored == expected
    assert history == expected


def test_results_written_in_bulk_compare_equal_when_the_level_changes(store, save, make_report):
    results = _results()
    save(make_report(results, {("payments", "prod"): "bronze"}))

    # A new level makes the pair's results be compared one by one with what is stored:
    # any character stored otherwise than written would be written again.
    stats = save(make_report(results, {("payments", "prod"): "silver"}))

    assert stats == WriteStats(0, 2, 1, 0, 0)  # the first level, then the new one


def test_every_character_of_an_entity_reads_back_as_written(store, save, make_report, make_entity):
    annotations = {f"example.com/odd-{i}": text for i, text in enumerate(ODD_TEXTS)}
    entity = make_entity(
        "payments",
        title="Pay\tments\n\\N \\. 🚀 \x00",
        description="\n".join(ODD_TEXTS),
        annotations=annotations,
    )
    report = make_report({("payments", "prod", "owner"): Outcome.PASS}, entities=[entity])

    assert save(report).entities_written == 1

    stored = store.entity(PAYMENTS)
    assert stored is not None
    assert stored.title == "Pay\tments\n\\N \\. 🚀 \ufffd"
    assert stored.raw == storable(entity.raw)
    assert stored.source == entity.source
    # The document stored is the one the next run compares with: nothing to write.
    assert save(report).entities_written == 0


BULK_TABLES = ("entity", "result", "result_change", "certification", "certification_change")


@pytest.mark.parametrize("store_url", [BACKENDS[1]], indirect=True)
def test_a_first_save_on_postgresql_copies_its_rows_in(store: Store, save, make_report):
    statements: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    results = {(f"e{i}", "prod", f"c{j}"): Outcome.PASS for i in range(50) for j in range(4)}
    event.listen(store.engine, "before_cursor_execute", record)
    try:
        stats = save(make_report(results, {(f"e{i}", "prod"): "gold" for i in range(50)}))
    finally:
        event.remove(store.engine, "before_cursor_execute", record)

    assert stats == WriteStats(200, 0, 50, 50, 0)
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO")]
    assert not [s for s in inserts if s.split()[2].strip('"') in BULK_TABLES]
    assert len(store.results()) == 200
