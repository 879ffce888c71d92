"""Grace through real runs and a real store, on SQLite and PostgreSQL: GitHub answers 502
during a run; within the grace the level holds, nothing is written again and nobody is
told; past it the level drops; no real outcome, no grace; exemptions count on top."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scorecard import parallel, runner
from scorecard.entity import Entity
from scorecard.planner import plan
from scorecard.registry import CheckRegistry, build_registry
from scorecard.report import RunReport
from scorecard.results import Outcome, Result
from scorecard.runner import StoredRun, run_and_store
from scorecard.sdk import check
from scorecard.store import Store
from scorecard.store import exemptions as stored
from scorecard.tracks import Track, load_track
from tests.builders import track_yaml
from tests.grace.conftest import FakeGitHub, component

PAYMENTS = "component:default/payments"
CHECK = "delete_branch_on_merge"
JUSTIFICATION = "Payments is paged through the platform team's shared rotation, not its own."


def _track(
    root: Path,
    track_id: str,
    grace: str,
    silver: str = CHECK,
    registry: CheckRegistry | None = None,
) -> Track:
    path = root / f"{track_id}.yaml"
    levels = {"bronze": ["has_owner"], "silver": [silver]}
    path.write_text(track_yaml(track_id, "GitHub hygiene", levels, filter=None, grace=grace))
    return load_track(path, registry or build_registry(plugins=False))


def _run(store: Store, tracks: list[Track], entities: list[Entity] | None = None) -> StoredRun:
    return run_and_store(store, entities or [component("payments")], tracks, trigger="test")


def _level(store: Store, track_id: str) -> str | None:
    certification = store.certification(PAYMENTS, track_id)
    assert certification is not None
    return certification.level


def _evidence(store: Store, track_id: str, check_id: str = CHECK) -> dict:
    [result] = store.results(entity_ref=PAYMENTS, track_id=track_id, check_id=check_id)
    return result.evidence


def test_an_outage_within_the_grace_keeps_the_level_writes_nothing_again_and_tells_nobody(
    store_url: str, tmp_path: Path, github: FakeGitHub
) -> None:
    track = _track(tmp_path, "github", "24h")
    with Store(store_url) as store:
        store.notify = True  # events would go to the outbox
        first = _run(store, [track])
        assert _level(store, "github") == "silver"
        observed = store.run(first.run_id).started_at  # type: ignore[union-attr]
        github.down = True
        _run(store, [track])
        [result] = store.results(entity_ref=PAYMENTS, check_id=CHECK)
        # The result is what GitHub's outage made of it; only the level keeps the pass.
        assert result.outcome is Outcome.UNKNOWN
        assert "HTTP 502: Bad Gateway" in result.message
        assert result.evidence["grace"] == {
            "outcome": "pass",
            "observed_at": observed.isoformat(),
            "until": (observed + timedelta(hours=24)).isoformat(),
        }
        certification = store.certification(PAYMENTS, "github")
        assert certification is not None and certification.level == "silver"
        assert certification.run_id == first.run_id  # the level never changed
        assert store.outbox() == []
        # Still down: the grace is carried forward as it was, and the pair is unchanged.
        third = _run(store, [track])
        assert (third.stats.results_written, third.stats.history_rows) == (0, 0)
        assert _evidence(store, "github")["grace"]["observed_at"] == observed.isoformat()
        # GitHub is back: the real pass, no grace, and still nothing to tell.
        github.down = False
        _run(store, [track])
        [result] = store.results(entity_ref=PAYMENTS, check_id=CHECK)
        assert result.outcome is Outcome.PASS and "grace" not in result.evidence
        assert _level(store, "github") == "silver"
        assert store.outbox() == []


def test_past_the_grace_the_level_drops(store_url: str, tmp_path: Path, github: FakeGitHub) -> None:
    day, fast = _track(tmp_path, "github-day", "24h"), _track(tmp_path, "github-fast", "3s")
    with Store(store_url) as store:
        store.notify = True
        first = _run(store, [day, fast])
        observed = store.run(first.run_id).started_at  # type: ignore[union-attr]
        github.down = True
        _run(store, [day, fast])
        assert (_level(store, "github-day"), _level(store, "github-fast")) == ("silver", "silver")
        assert store.outbox() == []
        # A real wait past the 3 s grace (counted from when the pass was observed).
        past = observed + timedelta(seconds=3.2) - datetime.now(UTC)
        time.sleep(max(0.0, past.total_seconds()))
        third = _run(store, [day, fast])
        assert (_level(store, "github-day"), _level(store, "github-fast")) == ("silver", "bronze")
        assert "grace" not in _evidence(store, "github-fast")
        assert _evidence(store, "github-day")["grace"]["observed_at"] == observed.isoformat()
        [event] = store.outbox()
        assert (event.kind, event.track_id, event.run_id) == (
            "certification.lost",
            "github-fast",
            third.run_id,
        )
        assert event.data["from"] == "silver" and event.data["to"] == "bronze"
        assert [b["check"] for b in event.data["blocking"]] == [CHECK]


def test_an_error_never_observed_otherwise_gets_no_grace(
    store_url: str, tmp_path: Path, github: FakeGitHub
) -> None:
    track = _track(tmp_path, "github", "24h")
    github.down = True
    with Store(store_url) as store:
        _run(store, [track])
        _run(store, [track])
        assert _level(store, "github") == "bronze"
        assert "grace" not in _evidence(store, "github")


def test_the_last_observation_is_the_last_run_that_evaluated_the_pair(
    store_url: str, tmp_path: Path, github: FakeGitHub
) -> None:
    track = _track(tmp_path, "github", "24h")
    ledger = "component:default/ledger"
    pairs = [(PAYMENTS, "github"), (ledger, "github")]
    with Store(store_url) as store:
        full = _run(store, [track], [component("payments"), component("ledger")])

        def finished(trigger: str, tracks: list[str] | None, entity: str | None) -> datetime:
            run_id = store.start_run(trigger, {"tracks": tracks, "entity": entity})
            now = datetime.now(UTC)
            store.save_run(run_id, RunReport(now, now))
            return store.run(run_id).started_at  # type: ignore[union-attr]

        started = store.run(full.run_id).started_at  # type: ignore[union-attr]
        of_ledger = finished("api", ["github"], ledger)
        # None of these evaluated payments on this track.
        finished("api", ["other"], None)
        finished("api", ["github"], "component:default/elsewhere")
        finished("push", ["github"], None)
        finished("max-age", None, None)
        failed = store.start_run("api", {"tracks": ["github"], "entity": None})
        store.fail_run(failed, "the catalog could not be read")
        recalled = store.recall_pairs(pairs, started - timedelta(hours=1))
        assert recalled[PAYMENTS, "github"].observed_at == started
        assert recalled[ledger, "github"].observed_at == of_ledger
        assert recalled[PAYMENTS, "github"].codes == "pp"
        # Only runs started since the time asked for count.
        later = store.recall_pairs(pairs, of_ledger)
        assert later[PAYMENTS, "github"].observed_at is None
        assert later[ledger, "github"].observed_at == of_ledger
        # A pair never stored is not recalled.
        assert store.recall_pairs([("component:default/new", "github")], started) == {}


def test_exemptions_count_on_top_of_a_grace_in_runs_and_decisions(
    store_url: str, tmp_path: Path, github: FakeGitHub
) -> None:
    # silver: the GitHub setting and an on-call annotation, which payments lacks.
    track = _track(tmp_path, "github", "1h", silver=f"{CHECK}, has_oncall")
    tracks = {"github": track}
    with Store(store_url) as store:
        _run(store, [track])
        assert _level(store, "github") == "bronze"
        now = datetime.now(UTC)

        def decide(exemption_id: int, decision: str) -> None:
            with store.transaction() as session:
                stored.decide(session, exemption_id, decision, by="admin", note=None, now=now)
                stored.recertify(session, [PAYMENTS], tracks, now, reason=decision)

        def exempt() -> int:
            with store.transaction() as session:
                record = stored.request(
                    session, entity_ref=PAYMENTS, track_id="github", check_id="has_oncall",
                    justification=JUSTIFICATION, expires_at=now + timedelta(days=30),
                    by="admin", approve=False, now=now,
                )  # fmt: skip
            assert record.id is not None
            decide(record.id, "approve")
            return record.id

        first = exempt()
        assert _level(store, "github") == "silver"
        github.down = True
        _run(store, [track])  # graced setting, exempted on-call: still silver
        assert _level(store, "github") == "silver"
        assert "grace" in _evidence(store, "github")
        decide(first, "revoke")
        assert _level(store, "github") == "bronze"
        # Certified again from the stored letters, the graced result still counts.
        exempt()
        assert _level(store, "github") == "silver"


def test_a_graced_pass_that_turns_into_a_failure_is_told(
    store_url: str, tmp_path: Path, github: FakeGitHub
) -> None:
    track = _track(tmp_path, "github", "24h")
    with Store(store_url) as store:
        store.notify = True
        _run(store, [track])
        github.down = True
        _run(store, [track])
        assert store.outbox() == []
        github.down, github.delete_branch_on_merge = False, False
        last = _run(store, [track])
        kinds = sorted(event.kind for event in store.outbox())
        assert kinds == ["certification.lost", "check.failing"]
        assert all(event.run_id == last.run_id for event in store.outbox())


@check(
    id="field_status",
    title="The status field says up",
    remediation="Set `example.com/status: up`.",
    pure=True,
)
def field_status(entity: Entity) -> Result:
    """The entity's `example.com/status` annotation says it is up."""
    status = entity.annotations.get("example.com/status")
    if status == "unreadable":
        return Result.unknown(f"{entity.ref}'s status could not be read.")
    return Result.from_bool(status == "up", f"{entity.ref} is up.", f"{entity.ref} is down.")


def test_a_kept_pair_waiting_for_a_grace_is_evaluated_again(
    store_url: str, tmp_path: Path, github: FakeGitHub
) -> None:
    registry = build_registry(plugins=False)
    registry.add(field_status, "tests")
    track = _track(tmp_path, "pure", "3s", silver="field_status", registry=registry)
    assert track.reusable
    with Store(store_url) as store:
        _run(store, [track], [component("payments", **{"example.com/status": "up"})])
        unreadable = [component("payments", **{"example.com/status": "unreadable"})]
        _run(store, [track], unreadable)
        assert _level(store, "pure") == "silver"
        # The same document again: a pure pair would be kept, but whether its grace still
        # holds is decided anew.
        third = _run(store, [track], unreadable)
        assert not third.report.pairs[0].reused
        assert third.stats.history_rows == 0 and _level(store, "pure") == "silver"
        # Kept as stored, it would hold its graced level for good; evaluated, it drops.
        time.sleep(3.2)
        _run(store, [track], unreadable)
        assert _level(store, "pure") == "bronze"


def test_a_run_evaluated_in_forked_processes_is_graced_as_it_comes_in(
    store_url: str, tmp_path: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = build_registry(plugins=False)
    registry.add(field_status, "tests")
    track = _track(tmp_path, "pure", "1h", silver="field_status", registry=registry)
    names = [f"svc-{i}" for i in range(40)]
    up = [component(name, **{"example.com/status": "up"}) for name in names]
    unreadable = [component(name, **{"example.com/status": "unreadable"}) for name in names]
    # Forked from a few evaluations on, as a large catalog's run is.
    monkeypatch.setattr(parallel, "MIN_EVALUATIONS", 10)
    if parallel.processes_for(plan(unreadable, [track], [])) < 2:
        pytest.skip("forking needs two cores and Linux")
    forked: list[int] = []

    def evaluate_forked(*args: Any) -> Any:
        forked.append(len(args[1]))
        return parallel.evaluate_forked(*args)

    monkeypatch.setattr(runner, "evaluate_forked", evaluate_forked)
    with Store(store_url) as store:
        _run(store, [track], up)
        second = _run(store, [track], unreadable)
        assert forked == [40, 40]
        assert {pair.level for pair in second.report.pairs} == {"silver"}
        stored = store.certifications(track_id="pure")
        assert len(stored) == 40 and {c.level for c in stored} == {"silver"}
        graced = store.results(track_id="pure", check_id="field_status")
        assert all(r.evidence["grace"]["outcome"] == "pass" for r in graced)
