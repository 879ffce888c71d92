"""Campaign progress in the store, on SQLite and PostgreSQL: who is in scope and at the
goal, overall and per owner (any case); a row only when counts change, so the burn-up is
read back, not recomputed; exemptions count; the status rules; the campaign events,
each written once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from scorecard.entity import Entity
from scorecard.filters import EntityFilter
from scorecard.program.campaigns import Campaign
from scorecard.program.progress import OwnerProgress, Status, furthest_behind, status
from scorecard.registry import build_registry
from scorecard.runner import run_and_store
from scorecard.store import Store
from scorecard.store import exemptions as stored
from scorecard.tracks import Track, load_track
from tests.builders import ON_CALL, component, ops_track_yaml

JUSTIFICATION = "A nightly batch job has nobody to page; a failed night is retried the next."
NOW = datetime.now(UTC)
TODAY = NOW.date()


def _entity(
    name: str, owner: str, *, oncall: bool = False, lifecycle: str = "production"
) -> Entity:
    annotations = ON_CALL if oncall else None
    return Entity(component(name, owner=owner, annotations=annotations, lifecycle=lifecycle))


def _catalog(**oncall: bool) -> list[Entity]:
    """a1 and a2 of team-a (spelt two ways), b1 of team-b, b2 experimental (excluded by
    the campaigns), and an API (not on the track)."""
    api = Entity(
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "API",
            "metadata": {"name": "events"},
            "spec": {"owner": "group:default/team-b"},
        }
    )
    return [
        _entity("a1", "group:default/team-a", oncall=oncall.get("a1", True)),
        _entity("a2", "group:default/Team-A", oncall=oncall.get("a2", False)),
        _entity("b1", "group:default/team-b", oncall=oncall.get("b1", True)),
        _entity("b2", "group:default/team-b", lifecycle="experimental"),
        api,
    ]


def _campaign(campaign_id: str = "silver", **changes: object) -> Campaign:
    fields: dict[str, object] = {
        "id": campaign_id,
        "title": "Every production component at silver",
        "description": None,
        "owner": "group:default/platform",
        "docs": None,
        "track_id": "ops",
        "level": "silver",
        "checks": (),
        "start": TODAY - timedelta(days=30),
        "deadline": TODAY + timedelta(days=60),
        "milestones": (),
        "source": "campaigns.yaml",
        "line": 1,
        "exclude": EntityFilter.from_config([{"spec.lifecycle": "experimental"}]),
    }
    return Campaign(**(fields | changes))  # type: ignore[arg-type]


ONCALL = _campaign("oncall", level=None, checks=("has_oncall",))


@pytest.fixture
def tracks(tmp_path: Path) -> dict[str, Track]:
    path = tmp_path / "ops.yaml"
    path.write_text(ops_track_yaml())
    return {"ops": load_track(path, build_registry(plugins=False))}


def _rows(store: Store, campaign_id: str, owner: str | None = None) -> list[tuple[int, int]]:
    return [(r.in_scope, r.at_goal) for r in store.campaign_series(campaign_id, owner)]


def test_progress_counts_the_campaign_and_each_owner(
    store_url: str, tracks: dict[str, Track]
) -> None:
    with Store(store_url) as store:
        run_and_store(store, _catalog(), list(tracks.values()), trigger="test")
        measured = store.record_progress([_campaign(), ONCALL], tracks, NOW)
        for campaign_id in ("silver", "oncall"):
            progress = measured[campaign_id]
            # b2 is excluded by the campaign, the API is not on the track.
            assert [s.entity_ref for s in progress.standings] == [
                "component:default/a1",
                "component:default/a2",
                "component:default/b1",
            ]
            assert (progress.in_scope, progress.at_goal) == (3, 2)
            # team-a is one owner however its ref is spelt; furthest behind first.
            assert [(o.owner, o.in_scope, o.at_goal) for o in progress.owners] == [
                ("group:default/Team-A", 2, 1),
                ("group:default/team-b", 1, 1),
            ]
            assert _rows(store, campaign_id) == [(3, 2)]
            assert _rows(store, campaign_id, "GROUP:default/team-a") == [(2, 1)]
            assert _rows(store, campaign_id, "group:default/team-b") == [(1, 1)]
        summary = store.campaign_summaries(["silver", "unknown"])
        assert (summary["silver"].in_scope, summary["silver"].at_goal) == (3, 2)
        assert (summary["unknown"].in_scope, summary["unknown"].at_goal) == (0, 0)
        assert summary["silver"].done_at is None
        # What blocks the entity not at the goal: the required checks up to silver.
        blockers = store.campaign_blockers(
            _campaign(), tracks["ops"], ["component:default/a2"], NOW
        )
        assert [(b.check_id, b.outcome) for b in blockers["component:default/a2"]] == [
            ("has_oncall", "fail")
        ]
        assert blockers["component:default/a2"][0].message
        # The owner's campaigns, as last recorded.
        mine = store.owner_campaigns("group:default/TEAM-A", ["silver", "oncall"])
        assert {k: (v.in_scope, v.at_goal) for k, v in mine.items()} == {
            "silver": (2, 1),
            "oncall": (2, 1),
        }


def test_a_row_is_written_only_when_counts_change(store_url: str, tracks: dict[str, Track]) -> None:
    campaign = _campaign()
    with Store(store_url) as store:
        # Nothing in scope yet: no row (a first row says something is).
        store.record_progress([campaign], tracks, NOW)
        assert _rows(store, "silver") == []
        run_and_store(store, _catalog(), list(tracks.values()), trigger="test")
        store.record_progress([campaign], tracks, NOW)
        store.record_progress([campaign], tracks, NOW + timedelta(minutes=1))
        run_and_store(store, _catalog(), list(tracks.values()), trigger="test")
        store.record_progress([campaign], tracks, NOW + timedelta(minutes=2))
        assert _rows(store, "silver") == [(3, 2)]  # the same counts: one row
        # a2 gets someone on call: the campaign and team-a move, team-b does not.
        run_and_store(store, _catalog(a2=True), list(tracks.values()), trigger="test")
        store.record_progress([campaign], tracks, NOW + timedelta(minutes=3))
        assert _rows(store, "silver") == [(3, 2), (3, 3)]
        assert _rows(store, "silver", "group:default/team-a") == [(2, 1), (2, 2)]
        assert _rows(store, "silver", "group:default/team-b") == [(1, 1)]
        series = store.campaign_series("silver")
        assert [r.at for r in series] == sorted(r.at for r in series)  # oldest first
        # b1 leaves the catalog: gone entities count nowhere, and team-b has none left.
        remaining = [e for e in _catalog(a2=True) if e.name != "b1"]
        run_and_store(
            store, remaining, list(tracks.values()), trigger="test", catalog_complete=True
        )
        store.record_progress([campaign], tracks, NOW + timedelta(minutes=4))
        assert _rows(store, "silver") == [(3, 2), (3, 3), (2, 2)]
        assert _rows(store, "silver", "group:default/team-b") == [(1, 1), (0, 0)]
        store.record_progress([campaign], tracks, NOW + timedelta(minutes=5))
        assert _rows(store, "silver", "group:default/team-b") == [(1, 1), (0, 0)]
        # Done once every entity in scope is at the goal.
        assert store.campaign_summaries(["silver"])["silver"].done_at is not None


def test_exemptions_count(store_url: str, tracks: dict[str, Track]) -> None:
    """An approved exemption of has_oncall brings a2 to the goal: a level goal through its
    level (exemptions counted), a checks goal through the waiver itself."""
    with Store(store_url) as store:
        run_and_store(store, _catalog(), list(tracks.values()), trigger="test")
        store.record_progress([_campaign(), ONCALL], tracks, NOW)
        with store.transaction() as session:
            record = stored.request(
                session, entity_ref="component:default/a2", track_id="ops",
                check_id="has_oncall", justification=JUSTIFICATION,
                expires_at=NOW + timedelta(days=30), by="admin", approve=True, now=NOW,
            )  # fmt: skip
            stored.recertify(
                session, ["component:default/a2"], tracks, NOW,
                reason=f"exemption {record.id} approved", exemption_id=record.id,
            )  # fmt: skip
        measured = store.record_progress([_campaign(), ONCALL], tracks, NOW)
        assert (measured["silver"].in_scope, measured["silver"].at_goal) == (3, 3)
        assert (measured["oncall"].in_scope, measured["oncall"].at_goal) == (3, 3)
        assert _rows(store, "silver") == [(3, 2), (3, 3)]
        assert _rows(store, "oncall") == [(3, 2), (3, 3)]
        # The exempted check blocks nothing any more.
        blockers = store.campaign_blockers(ONCALL, tracks["ops"], ["component:default/a2"], NOW)
        assert blockers == {"component:default/a2": []}
        # Once it has expired, it counts no more (a checks goal reads the waivers at `now`).
        later = NOW + timedelta(days=31)
        assert store.measure_campaigns([ONCALL], tracks, later)["oncall"].at_goal == 2


def test_status_rules() -> None:
    start, deadline = date(2027, 1, 1), date(2027, 3, 31)
    campaign = _campaign(start=start, deadline=deadline, milestones=((date(2027, 2, 1), 0.5),))
    assert status(campaign, date(2026, 12, 31), 10, 10) is Status.NOT_STARTED
    assert status(campaign, date(2027, 1, 2), 10, 1) is Status.ON_TRACK
    # Below the steady pace (a third of the way by mid-February: 50% of the time gone).
    assert status(campaign, date(2027, 2, 15), 10, 4) is Status.AT_RISK
    # Above the pace but below the milestone due by today.
    early = _campaign(start=start, deadline=date(2028, 1, 1), milestones=campaign.milestones)
    assert status(early, date(2027, 2, 2), 10, 4) is Status.AT_RISK
    assert status(early, date(2027, 2, 2), 10, 5) is Status.ON_TRACK
    assert status(early, date(2027, 1, 31), 10, 1) is Status.ON_TRACK  # not due yet
    assert status(campaign, date(2027, 2, 15), 10, 10) is Status.DONE
    assert status(campaign, date(2027, 4, 1), 10, 9) is Status.MISSED
    assert status(campaign, date(2027, 3, 31), 10, 9) is Status.AT_RISK  # the last day
    # Done stays done, even past the deadline; nothing in scope is never done.
    assert status(campaign, date(2027, 4, 1), 10, 9, ever_done=True) is Status.DONE
    assert status(campaign, date(2027, 4, 1), 0, 0) is Status.MISSED
    # Owners furthest behind first: by share, then by how many are left.
    owners = [
        OwnerProgress("group:default/b", 4, 2),
        OwnerProgress(None, 1, 0),
        OwnerProgress("group:default/a", 2, 1),
        OwnerProgress("group:default/c", 3, 0),
    ]
    assert [o.owner for o in furthest_behind(owners)] == [
        "group:default/c",
        None,
        "group:default/b",
        "group:default/a",
    ]


def _events(store: Store) -> list[tuple[str, str]]:
    return [(e.kind, e.key) for e in store.outbox() if e.campaign_id]


def test_events_are_written_once_per_key(store_url: str, tracks: dict[str, Track]) -> None:
    passed = _campaign(
        "passed",
        start=TODAY - timedelta(days=90),
        deadline=TODAY - timedelta(days=1),
        milestones=((TODAY - timedelta(days=30), 0.9),),
    )
    near = _campaign("near", deadline=TODAY + timedelta(days=3))
    far = _campaign("far")
    with Store(store_url) as store:
        store.notify = True
        run_and_store(store, _catalog(), list(tracks.values()), trigger="test")
        campaigns = [passed, near, far]
        for _ in range(2):  # recorded twice, told once
            store.record_progress(campaigns, tracks, NOW, deadline_within_days=7)
            store.campaign_events(campaigns, tracks, NOW, deadline_within_days=7)
        milestone = (TODAY - timedelta(days=30)).isoformat()
        assert sorted(_events(store)) == sorted(
            [
                ("campaign.deadline_missed", "campaign.deadline_missed:passed"),
                (
                    "campaign.milestone_missed",
                    f"campaign.milestone_missed:passed:{milestone}",
                ),
                (
                    "campaign.deadline_near",
                    f"campaign.deadline_near:near:{near.deadline.isoformat()}",
                ),
            ]
        )
        missed = next(e for e in store.outbox() if e.kind == "campaign.deadline_missed")
        assert missed.data["summary"] == (
            f"deadline {passed.deadline.isoformat()} missed: 2 of 3 entities at silver on "
            "Operations"
        )
        assert missed.data["track"] == "ops"
        assert missed.data["owner"] == "group:default/platform"
        assert any(
            "Furthest behind: group:default/Team-A (1 of 2" in line for line in missed.data["lines"]
        )
        # Everyone at the goal: done, once, and done it stays.
        run_and_store(store, _catalog(a2=True), list(tracks.values()), trigger="test")
        for _ in range(2):
            store.record_progress(campaigns, tracks, NOW, deadline_within_days=7)
        done = [key for kind, key in _events(store) if kind == "campaign.done"]
        assert sorted(done) == ["campaign.done:far", "campaign.done:near", "campaign.done:passed"]
        run_and_store(store, _catalog(), list(tracks.values()), trigger="test")
        store.record_progress(campaigns, tracks, NOW, deadline_within_days=7)
        assert store.campaign_summaries(["far"])["far"].done_at is not None
        assert len(_events(store)) == 6
    # Without notification rules, no outbox at all.
    with Store(store_url) as store:
        store.record_progress([_campaign("quiet")], tracks, NOW)
        assert store.campaign_events([_campaign("quiet")], tracks, NOW) == 0
        assert not [e for e in store.outbox() if e.campaign_id == "quiet"]
