"""Kept roll-ups: the counts a run keeps in `track_rollup` equal what counting the
results themselves gives, after every kind of change a run makes, and an upgraded
database has them at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from scorecard.entity import Entity
from scorecard.report import Certification, CheckResult, RunReport
from scorecard.results import Outcome, Result
from scorecard.store import Store, queries
from scorecard.store.database import create_store_engine, database_url
from scorecard.store.tables import EntityRecord, RollupRecord
from tests.store.test_migrations import write_release_database

TRACKS = ("docs", "prod", "never")


def component(name: str, owner: str | None) -> Entity:
    spec: dict[str, Any] = {"type": "service", "lifecycle": "production"}
    if owner is not None:
        spec["owner"] = owner
    return Entity(
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": name},
            "spec": spec,
        }
    )


def report(
    entities: list[Entity],
    results: dict[tuple[str, str, str], tuple[Outcome, str]],
    levels: dict[tuple[str, str], str | None],
) -> RunReport:
    """Results as (entity name, track, check) -> (outcome, the check's level)."""
    ref = "component:default/{}".format
    return RunReport.of(
        datetime.now(UTC),
        finished_at=datetime.now(UTC),
        entities=entities,
        results=[
            CheckResult(ref(name), track, check, level, True, Result(outcome, f"{check}."))
            for (name, track, check), (outcome, level) in results.items()
        ],
        certifications=[
            Certification(ref(name), track, level, None) for (name, track), level in levels.items()
        ],
        problems=[],
    )


@pytest.fixture
def session(store_url: str) -> Iterator[Session]:
    engine = create_store_engine(database_url(store_url))
    with Session(engine) as opened:
        yield opened
    engine.dispose()


def owners(session: Session) -> list[str]:
    """Every owner spelling stored, gone entities' too, and spellings in other cases."""
    spelt = {o for o in session.scalars(select(EntityRecord.owner)) if o is not None}
    return sorted(spelt | {o.upper() for o in spelt} | {"group:default/nobody"})


def assert_kept_equals_counted(session: Session) -> None:
    session.rollback()  # a fresh snapshot of what the runs committed
    assert queries.track_rollups(session) == queries.counted_rollups(session)
    for track in TRACKS:
        assert (
            queries.track_rollup(session, track)
            == (
                queries.counted_rollups(session, track_id=track)
                or [queries.TrackRollup(track, {}, [])]
            )[0]
        )
        assert queries.owners_rollup(session, track) == queries.counted_owners_rollup(
            session, track
        )
    for owner in owners(session):
        for track in (None, *TRACKS):
            assert queries.owner_rollup(session, owner, track) == [
                queries.OwnerTrackRollup(owner, r.track_id, r.levels, r.checks)
                for r in queries.counted_rollups(session, track_id=track, owner=owner)
            ], (owner, track)


P, F, NA, E = Outcome.PASS, Outcome.FAIL, Outcome.NOT_APPLICABLE, Outcome.ERROR


def test_kept_rollups_equal_the_counted_ones_after_every_kind_of_run(
    store_url: str, session: Session
) -> None:
    team_a, team_a_upper = "group:default/team-a", "Group:Default/TEAM-A"
    a, b, c = component("a", team_a), component("b", team_a_upper), component("c", None)
    d, e = component("d", "user:default/dee"), component("e", "group:default/team-b")
    results = {
        ("a", "prod", "readme"): (P, "bronze"),
        ("a", "prod", "owner"): (F, "silver"),
        ("b", "prod", "readme"): (NA, "bronze"),
        ("b", "prod", "owner"): (P, "silver"),
        ("c", "prod", "readme"): (E, "bronze"),
        ("c", "prod", "owner"): (F, "silver"),
        ("d", "prod", "readme"): (P, "bronze"),
        ("d", "prod", "owner"): (P, "silver"),
        ("a", "docs", "api"): (P, "bronze"),
        ("d", "docs", "api"): (F, "bronze"),
    }
    levels = {("a", "prod"): "bronze", ("b", "prod"): "silver", ("c", "prod"): None}
    levels |= {("d", "prod"): "silver", ("a", "docs"): "bronze", ("d", "docs"): None}
    with Store(store_url) as store:

        def run(
            entities: list[Entity], found: dict[Any, Any], held: dict[Any, Any], **how: bool
        ) -> None:
            store.save_run(store.start_run("test"), report(entities, found, held), **how)
            assert_kept_equals_counted(session)

        run([a, b, c, d], results, levels, catalog_complete=True)
        kept = queries.track_rollup(session, "prod")
        assert kept.levels == {"bronze": 1, "silver": 2, None: 1}

        # A new entity, a changed result, a check moved to another level, a removed check,
        # an owner change, and a gone entity (d, missing from a complete listing).
        b = component("b", "group:default/team-b")
        results |= {("e", "prod", "readme"): (P, "bronze"), ("e", "prod", "owner"): (P, "silver")}
        results |= {("a", "prod", "owner"): (P, "silver"), ("c", "prod", "readme"): (P, "gold")}
        del results["b", "prod", "readme"]
        levels |= {("e", "prod"): "silver", ("a", "prod"): "silver", ("c", "prod"): "bronze"}
        alive = {key: value for key, value in results.items() if key[0] != "d"}
        held = {key: value for key, value in levels.items() if key[0] != "d"}
        run([a, b, c, e], alive, held, catalog_complete=True)
        assert queries.track_rollup(session, "prod").levels == {"bronze": 1, "silver": 3}
        assert queries.owner_rollup(session, "user:default/dee", None) == []

        # Results without a level, and a partial run that changes nothing.
        run([a], {("a", "docs", "extra"): (NA, "gold")}, {})
        run([a], {("a", "docs", "extra"): (NA, "gold")}, {})

        # d is listed again: it counts again, under its owner.
        run([a, b, c, d, e], results, levels, catalog_complete=True)
        assert queries.owner_rollup(session, "USER:default/dee", "docs")[0].levels == {None: 1}


def test_a_run_that_changes_nothing_recounts_nothing(store_url: str, session: Session) -> None:
    entities = [component("a", "group:default/team-a")]
    found = {("a", "prod", "readme"): (P, "bronze")}
    with Store(store_url) as store:
        store.save_run(store.start_run("test"), report(entities, found, {("a", "prod"): "bronze"}))
        statements: list[str] = []
        engine = store.engine

        def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", seen)
        try:
            store.save_run(
                store.start_run("test"), report(entities, found, {("a", "prod"): "bronze"})
            )
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    assert not [s for s in statements if "track_rollup" in s]


def test_two_recounts_of_one_track_at_once_count_it_once(store_url: str, session: Session) -> None:
    """Runs of other tracks recount a track whose entity they changed: on PostgreSQL two
    transactions may recount one track at the same time."""
    if not store_url.startswith("postgresql"):
        pytest.skip("SQLite runs one write transaction at a time")
    entities = [component("a", "group:default/team-a"), component("b", None)]
    found = {("a", "prod", "readme"): (P, "bronze"), ("b", "prod", "readme"): (F, "bronze")}
    with Store(store_url) as store:
        store.save_run(store.start_run("test"), report(entities, found, {("a", "prod"): "bronze"}))
        with Session(store.engine) as first:
            queries.recount_rollups(first, ["prod"])

            def second() -> None:
                with Session(store.engine) as other, other.begin():
                    queries.recount_rollups(other, ["prod"])

            waiting = threading.Thread(target=second)
            waiting.start()
            waiting.join(0.5)
            assert waiting.is_alive()  # waits for the first recount's transaction
            first.commit()
            waiting.join(10)
            assert not waiting.is_alive()
    assert_kept_equals_counted(session)


def test_an_upgraded_database_has_its_rollups_at_once(store_url: str, session: Session) -> None:
    write_release_database(store_url)
    with Store(store_url) as store:
        assert store.schema.changed
    assert session.scalar(select(func.count()).select_from(RollupRecord)) > 0
    assert_kept_equals_counted(session)


def test_an_owner_change_seen_by_one_track_moves_the_roll_ups_of_every_track(
    store_url: str, session: Session
) -> None:
    found = {("a", "prod", "readme"): (P, "bronze"), ("a", "docs", "api"): (F, "bronze")}
    held: dict[tuple[str, str], str | None] = {("a", "prod"): "bronze", ("a", "docs"): None}
    with Store(store_url) as store:
        store.save_run(store.start_run("test"), report([component("a", "team-a")], found, held))
        # A run of track prod alone: the entity's new owner changes docs' roll-ups too.
        moved = report(
            [component("a", "team-b")],
            {("a", "prod", "readme"): (P, "bronze")},
            {("a", "prod"): "bronze"},
        )
        store.save_run(store.start_run("test"), moved)
    assert_kept_equals_counted(session)
    assert queries.owner_rollup(session, "group:default/team-a", "docs") == []
    assert queries.owner_rollup(session, "group:default/team-b", "docs")[0].levels == {None: 1}
