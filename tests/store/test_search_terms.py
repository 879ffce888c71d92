"""The search terms an entity is found by are written with it, and follow its changes."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from scorecard.entity import Entity
from scorecard.report import RunReport
from scorecard.results import Outcome
from scorecard.store import Store, WriteStats
from scorecard.store.search import MAX_TERM, MAX_WORDS, prefix_range, terms_of
from scorecard.store.tables import SearchTermRecord

Save = Callable[[RunReport], WriteStats]


def stored_terms(store: Store) -> set[tuple[str, str]]:
    with store.transaction() as session:
        rows = session.execute(select(SearchTermRecord.term, SearchTermRecord.entity_ref))
        return {(term, ref) for term, ref in rows}


def test_terms_are_the_words_of_the_name_and_title() -> None:
    terms = terms_of("component:default/payments-api", "payments-api", "Payments API (EU)")
    assert terms == {
        "component:default/payments-api",
        "payments-api",
        "payments api (eu)",
        "payments",
        "api",
        "eu",
    }


def test_a_hostile_title_gives_a_bounded_number_of_short_terms() -> None:
    title = " ".join(f"word{n}" for n in range(10_000)) + "x" * 100_000
    terms = terms_of("component:default/a", "a", title)
    assert len(terms) <= MAX_WORDS + 3
    assert max(len(term) for term in terms) <= MAX_TERM


def test_a_prefix_is_a_range_and_blank_is_nothing() -> None:
    assert prefix_range("  ") is None
    low, high = prefix_range(" PAY ") or ("", "")
    assert low == "pay" and low <= "payments" < high and not low <= "paz" < high


def test_terms_follow_new_changed_and_returning_entities(
    store: Store,
    save: Save,
    make_entity: Callable[..., Entity],
    make_report: Callable[..., RunReport],
) -> None:
    first = make_entity("payments-api", title="Payments API")
    other = make_entity("billing")
    save(make_report({("payments-api", "t", "c"): Outcome.PASS}, entities=[first, other]))
    terms = stored_terms(store)
    ref = first.ref
    assert {("payments", ref), ("api", ref), ("billing", other.ref)} <= terms

    renamed = make_entity("payments-api", title="Checkout gateway")
    save(make_report({("payments-api", "t", "c"): Outcome.PASS}, entities=[renamed, other]))
    mine = {term for term, owner in stored_terms(store) if owner == ref}
    assert mine == terms_of(ref, "payments-api", "Checkout gateway")
    assert ("billing", other.ref) in stored_terms(store)


def test_nul_in_a_title_is_stored_as_the_entity_is(
    store: Store,
    save: Save,
    make_entity: Callable[..., Entity],
    make_report: Callable[..., RunReport],
) -> None:
    odd = make_entity("odd", title="bad\x00title")
    save(make_report({("odd", "t", "c"): Outcome.PASS}, entities=[odd]))
    assert ("bad\ufffdtitle", odd.ref) in stored_terms(store)
