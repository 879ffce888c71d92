"""Pushed results in the store, on SQLite and PostgreSQL: recorded and certified at once
as a run of their own, read by the next run as they stand, the later of two kept, and
turned `unknown` once their check's `max_age` has passed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scorecard.entity import Entity
from scorecard.inputs import InputUnavailable
from scorecard.pushed import PushedResult
from scorecard.registry import CheckRegistry
from scorecard.results import Outcome, Result
from scorecard.runner import run_and_store
from scorecard.sdk import check
from scorecard.store import Store
from scorecard.testing import make_entity
from scorecard.tracks import Track, load_track

TRACK = """\
apiVersion: scorecard/v1
kind: Track
id: quality
title: Quality
levels:
  - id: bronze
    checks: [has_description]
  - id: silver
    checks:
      - check: external
        id: coverage
        pass_when: ">= 80"
        max_age: 1h
"""


@pytest.fixture
def track(tmp_path: Path, registry: CheckRegistry) -> Track:
    path = tmp_path / "quality.yaml"
    path.write_text(TRACK)
    return load_track(path, registry)


def pushed(value: float, at: datetime, ref: str = "component:default/api") -> PushedResult:
    return PushedResult(
        entity_ref=ref, track_id="quality", check_id="coverage", outcome=None, value=value,
        message=f"Coverage is {value}%.", observed_at=at, received_at=at, pushed_by="ci",
    )  # fmt: skip


def level(store: Store, ref: str = "component:default/api") -> str | None:
    record = store.certification(ref, "quality")
    return record.level if record else None


def test_a_push_certifies_at_once_and_the_next_run_reads_it(store_url: str, track: Track) -> None:
    entities = [make_entity(name="api", description="Serves the API.")]
    tracks = {track.id: track}
    with Store(store_url) as store:
        run_and_store(store, entities, [track], trigger="cli")
        assert level(store) == "bronze"
        now = datetime.now(UTC)
        # Two results of one check in a batch: the one observed last is kept.
        run_id, stats = store.push(
            [pushed(95, now - timedelta(minutes=5)), pushed(85, now)], tracks, actor="ci"
        )
        assert level(store) == "silver"
        assert stats.certifications_changed == 1
        (kept,) = store.pushed_results().values()
        assert kept.value == 85
        (result,) = store.results(check_id="coverage")
        assert result.outcome is Outcome.PASS and result.evidence["value"] == 85
        assert result.run_id == run_id
        assert store.run(run_id).trigger == "push"
        history = store.certification_history("component:default/api")
        assert [(c.level, c.run_id) for c in history][-1] == ("silver", run_id)

        # A run evaluates the other checks and reads the pushed result as it stands:
        # nothing changed, nothing is written.
        again = run_and_store(store, entities, [track], trigger="cli")
        assert again.stats.history_rows == 0
        assert level(store) == "silver"

        # An hour after it was observed, it counts no longer.
        assert store.age_out_pushed(tracks, now + timedelta(minutes=59)) is None
        assert store.next_pushed_aging(tracks) == now + timedelta(hours=1)
        aged = store.age_out_pushed(tracks, now + timedelta(hours=1, seconds=1))
        assert aged is not None and store.run(aged).trigger == "max-age"
        assert level(store) == "bronze"
        (result,) = store.results(check_id="coverage")
        assert result.outcome is Outcome.UNKNOWN
        assert "no result reported for coverage since" in result.message
        # Acted on once: the next look finds nothing due.
        assert store.next_pushed_aging(tracks) is None
        assert store.age_out_pushed(tracks, now + timedelta(hours=2)) is None


def test_a_push_for_a_pair_no_run_has_stored_waits_for_the_run_for_its_other_checks(
    store_url: str, track: Track, registry: CheckRegistry, tmp_path: Path
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(TRACK.replace("id: quality", "id: other"))
    entities = [make_entity(name="api", description="Serves the API.")]
    with Store(store_url) as store:
        # The entity is stored by a run of another track only.
        run_and_store(store, entities, [load_track(other, registry)], trigger="cli")
        store.push([pushed(90, datetime.now(UTC))], {track.id: track}, actor="ci")
        results = {r.check_id: r for r in store.results(track_id="quality")}
        assert results["coverage"].outcome is Outcome.PASS
        assert results["has_description"].outcome is Outcome.UNKNOWN
        assert "evaluated by the next run" in results["has_description"].message
        assert level(store) is None
        # The run evaluates it, keeping the pushed result: silver.
        run_and_store(store, entities, [track], trigger="cli")
        assert level(store) == "silver"


def test_a_failed_push_writes_nothing_and_marks_its_run_failed(
    store_url: str, track: Track
) -> None:
    entities = [make_entity(name="api", description="Serves the API.")]
    with Store(store_url) as store:
        run_and_store(store, entities, [track], trigger="cli")
        # A time without a zone cannot be stored: the transaction rolls back whole.
        bad = replace(pushed(90, datetime.now(UTC)), observed_at=datetime(2026, 1, 1))
        with pytest.raises(Exception, match="time zone"):
            store.push([bad], {track.id: track}, actor="ci")
        assert store.pushed_results() == {}
        assert level(store) == "bronze"
        assert store.latest_run().status == "failed"


SOURCE_UP = {"up": True}


@check(id="flaky_source", title="Reads a source that may be down", remediation="Wait.")
def flaky_source(entity: Entity) -> Result:
    """Passes while its source answers."""
    if not SOURCE_UP["up"]:
        raise InputUnavailable("the source answered 502")
    return Result.passed(f"{entity.ref} is fine.")


def test_a_push_keeps_the_level_a_grace_holds(
    store_url: str, registry: CheckRegistry, tmp_path: Path
) -> None:
    path = tmp_path / "graced.yaml"
    path.write_text(
        TRACK.replace("checks: [has_description]", "checks: [has_description, flaky_source]")
        + "grace: 1h\n"
    )
    graced = load_track(path, CheckRegistry([*registry, flaky_source]))
    entities = [make_entity(name="api", description="Serves the API.")]
    with Store(store_url) as store:
        SOURCE_UP["up"] = True
        run_and_store(store, entities, [graced], trigger="cli")
        store.push([pushed(90, datetime.now(UTC))], {graced.id: graced}, actor="ci")
        assert level(store) == "silver"
        try:
            SOURCE_UP["up"] = False
            run_and_store(store, entities, [graced], trigger="cli")
            assert level(store) == "silver"  # the grace holds the pass of flaky_source
            # A push certifies the pair again from its stored results: the grace counts.
            store.push([pushed(91, datetime.now(UTC))], {graced.id: graced}, actor="ci")
            assert level(store) == "silver"
            (result,) = store.results(check_id="flaky_source")
            assert (
                result.outcome is Outcome.UNKNOWN and result.evidence["grace"]["outcome"] == "pass"
            )
        finally:
            SOURCE_UP["up"] = True
