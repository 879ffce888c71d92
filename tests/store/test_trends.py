"""Trends counted in the database, on SQLite and PostgreSQL: the entities at each level
of a track day by day, walked back from the roll-ups through the level history (a level
first held, gained, lost, changed by an exemption, an entity gone), over the catalog and
over one owner; and the owners that gained the most level steps."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from scorecard.entity import Entity
from scorecard.registry import build_registry
from scorecard.report import Certification, RunReport
from scorecard.runner import evaluate
from scorecard.store import CertificationChange, Store
from scorecard.store import exemptions as stored
from scorecard.store.trends import midnight
from scorecard.tracks import Track, load_track
from tests.builders import ON_CALL, component, track_yaml

TODAY = datetime.now(UTC).date()
TEAM_A, TEAM_B = "group:default/team-a", "group:default/team-b"
JUSTIFICATION = "A nightly batch job has nobody to page; a failed night is retried the next."


def _day(days_ago: int) -> date:
    return TODAY - timedelta(days=days_ago)


def _noon(days_ago: int) -> datetime:
    return datetime.combine(_day(days_ago), time(12), tzinfo=UTC)


def _entity(
    name: str, owner: str | None, *, oncall: bool = False, description: bool = False
) -> Entity:
    document = component(
        name,
        owner=owner or "nobody",
        annotations=ON_CALL if oncall else None,
        description="What it does." if description else None,
    )
    if owner is None:
        del document["spec"]["owner"]  # no owner: has_owner fails, so no level at all
    return Entity(document)


@pytest.fixture
def track(tmp_path: Path) -> Track:
    """bronze: an owner; silver: an on-call annotation; gold: a description."""
    path = tmp_path / "ops.yaml"
    levels = {"bronze": ["has_owner"], "silver": ["has_oncall"], "gold": ["has_description"]}
    path.write_text(track_yaml("ops", "Operations", levels))
    return load_track(path, build_registry(plugins=False))


def _run(store: Store, entities: list[Entity], track: Track, days_ago: int, **save: Any) -> None:
    """A run of the track over `entities`, finished at noon `days_ago` days back, with the
    exemptions in effect then."""
    report = evaluate(entities, [track], waivers=store.waivers(_noon(days_ago)))
    report.finished_at = _noon(days_ago)
    store.save_run(store.start_run("test"), report, **save)


def _exempt_oncall(store: Store, track: Track, ref: str, days_ago: int) -> None:
    """An admin's exemption of the on-call check, approved and acted on `days_ago` back."""
    when = _noon(days_ago)
    with store.transaction() as session:
        record = stored.request(
            session, entity_ref=ref, track_id="ops", check_id="has_oncall",
            justification=JUSTIFICATION, expires_at=datetime.now(UTC) + timedelta(days=30),
            by="admin", approve=True, now=when,
        )  # fmt: skip
        stored.recertify(
            session, [ref], {"ops": track}, when,
            reason=f"exemption {record.id} approved", exemption_id=record.id,
        )  # fmt: skip


@pytest.fixture
def history(store_url: str, track: Track) -> Store:
    """Five entities over four runs and an exemption, 12 to 3 days back:

    - 12 days back: a (team-a) gold, b (team-a) silver, c (no owner) at no level;
    - 8: b loses its on-call (bronze); d (team-b) arrives silver and never changes;
      e (team-b) arrives bronze;
    - 5: an exemption of b's on-call takes it back to silver (no run);
    - 3: a is gone from the complete catalog; c gains team-b as owner (none to bronze);
      e gains an on-call (silver).
    """
    store = Store(store_url)
    a = _entity("a", TEAM_A, oncall=True, description=True)
    b = _entity("b", TEAM_A, oncall=True)
    c = _entity("c", None)
    d = _entity("d", TEAM_B, oncall=True)
    e = _entity("e", TEAM_B)
    _run(store, [a, b, c], track, 12, catalog_complete=True)
    b = _entity("b", TEAM_A)
    _run(store, [a, b, c, d, e], track, 8, catalog_complete=True)
    _exempt_oncall(store, track, "component:default/b", 5)
    c = _entity("c", TEAM_B)
    e = _entity("e", TEAM_B, oncall=True)
    _run(store, [b, c, d, e], track, 3, catalog_complete=True)
    return store


def _by_day(store: Store, days: int, owner: str | None = None) -> dict[int, dict[Any, int]]:
    """Counts by days ago, from `days` days back to today."""
    trend = store.level_trends(["ops"], _day(days), TODAY, owner)["ops"]
    return {
        (TODAY - day).days: counts for day, counts in zip(trend.days, trend.counts, strict=True)
    }


def _expected(spans: list[tuple[int, int, dict[Any, int]]]) -> dict[int, dict[Any, int]]:
    """(from days ago, to days ago, counts) spans as counts by days ago."""
    return {ago: counts for start, end, counts in spans for ago in range(start, end - 1, -1)}


def test_the_history_is_written_as_the_counts_assume(history: Store) -> None:
    """What the walk back relies on: b's first observation was written when its level
    first changed, the exemption's change has no run, and d, never changed, has no row."""
    rows = [
        (c.entity_ref.removeprefix("component:default/"), c.level, c.previous_level, c.run_id)
        for c in _changes(history)
    ]
    b_rows = [row for row in rows if row[0] == "b"]
    assert [row[1:3] for row in b_rows] == [
        ("silver", None),
        ("bronze", "silver"),
        ("silver", "bronze"),
    ]
    assert b_rows[-1][3] is None  # the exemption's change
    assert not [row for row in rows if row[0] in ("a", "d")]
    assert ("c", "bronze", None) in [row[:3] for row in rows]  # a true change from none


def _changes(store: Store) -> list[CertificationChange]:
    return [
        change
        for ref in ("a", "b", "c", "d", "e")
        for change in store.certification_history(f"component:default/{ref}", "ops")
        if change.id is not None
    ]


def test_the_catalog_day_by_day(history: Store) -> None:
    assert _by_day(history, 10) == _expected(
        [
            (10, 9, {"gold": 1, "silver": 1, None: 1}),
            (8, 6, {"gold": 1, "silver": 1, "bronze": 2, None: 1}),
            (5, 4, {"gold": 1, "silver": 2, "bronze": 1, None: 1}),
            (3, 0, {"silver": 3, "bronze": 1}),
        ]
    )


def test_today_equals_the_roll_ups(history: Store) -> None:
    (rollup,) = history.track_rollups()
    trend = history.level_trends(["ops"], _day(30), TODAY)["ops"]
    assert trend.days[-1] == TODAY
    assert trend.counts[-1] == {level: n for level, n in rollup.levels.items() if n}


def test_days_before_anything_was_held_are_left_out(history: Store) -> None:
    trend = history.level_trends(["ops"], _day(30), TODAY)["ops"]
    assert trend.days[0] == _day(12)
    assert trend.counts[0] == {"gold": 1, "silver": 1, None: 1}
    assert len(trend.days) == 13


def test_one_owner_day_by_day(history: Store) -> None:
    assert _by_day(history, 10, TEAM_A) == _expected(
        [
            (10, 9, {"gold": 1, "silver": 1}),
            (8, 6, {"gold": 1, "bronze": 1}),
            (5, 4, {"gold": 1, "silver": 1}),
            (3, 0, {"silver": 1}),
        ]
    )
    # c counts under its owner now, team-b, from its first run on (when it had none).
    assert _by_day(history, 10, TEAM_B.upper()) == _expected(
        [
            (10, 9, {None: 1}),
            (8, 4, {"silver": 1, "bronze": 1, None: 1}),
            (3, 0, {"silver": 2, "bronze": 1}),
        ]
    )


def test_a_track_never_evaluated_has_no_days(history: Store) -> None:
    trends = history.level_trends(["ops", "other"], _day(10), TODAY)
    assert trends["other"].days == [] and trends["other"].counts == []


def test_most_improved_counts_steps_not_arrivals(history: Store) -> None:
    since = midnight(_day(10))
    # team-b: c none → bronze and e bronze → silver; e's and d's arrivals are no step.
    # team-a: b lost a step and got it back through the exemption: no net gain.
    gains = history.most_improved("ops", ["bronze", "silver", "gold"], since)
    assert [(g.owner, g.gained, g.lost, g.net) for g in gains] == [(TEAM_B, 2, 0, 2)]
    # Since the exemption only: team-a's step back up counts.
    later = history.most_improved("ops", ["bronze", "silver", "gold"], midnight(_day(6)))
    assert [(g.owner, g.net) for g in later] == [(TEAM_B, 2), (TEAM_A, 1)]
    assert history.most_improved("ops", ["bronze", "silver", "gold"], since, limit=0) == []


def test_an_entity_gone_before_the_period_counts_in_none_of_it(
    store_url: str, track: Track
) -> None:
    with Store(store_url) as store:
        a = _entity("a", TEAM_A)
        b = _entity("b", TEAM_A)
        _run(store, [a, b], track, 20, catalog_complete=True)
        _certify(store, [b], ("b", "bronze"), days_ago=20)  # on a second track
        _run(store, [b], track, 15, catalog_complete=True)  # a gone
        # After it went: an exemption changes its level, and a second track's run (of
        # a partial listing) first certifies it.
        _exempt_oncall(store, track, "component:default/a", 2)
        assert [c.level for c in store.certification_history("component:default/a")] == [
            "bronze",
            "silver",
        ]
        _certify(store, [], ("a", "bronze"), days_ago=4)
        trends = store.level_trends(["ops", "ops-b"], _day(10), TODAY)
        assert trends["ops"].counts == [{"bronze": 1}] * 11
        assert trends["ops-b"].counts == [{"bronze": 1}] * 11
        improved = store.most_improved("ops", ["bronze", "silver", "gold"], midnight(_day(10)))
        assert improved == []


def _certify(store: Store, listed: list[Entity], *levels: tuple[str, str], days_ago: int) -> None:
    """A run of a partial listing that certifies (name, level) pairs on track ops-b."""
    report = RunReport.of(
        _noon(days_ago),
        results=[],
        certifications=[
            Certification(f"component:default/{name}", "ops-b", level, None)
            for name, level in levels
        ],
        finished_at=_noon(days_ago),
        entities=listed,
    )
    store.save_run(store.start_run("test"), report)
