"""Exemptions in the store, on SQLite and PostgreSQL: decisions recertify from stored
outcomes without running a check, write history with the exemption as the reason and
recount the roll-ups; runs certify with the exemptions in effect; expiry; exemptions
kept as code; the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scorecard.entity import Entity
from scorecard.program.exemptions import ExemptionSpec
from scorecard.registry import build_registry
from scorecard.runner import run_and_store
from scorecard.store import ExemptionStatus, Store
from scorecard.store import exemptions as stored
from scorecard.store.exemptions import ExemptionError
from scorecard.tracks import Track, load_track
from tests.builders import ON_CALL, component, ops_track_yaml

JUSTIFICATION = "A nightly batch job has nobody to page; a failed night is retried the next."


def _entity(name: str, oncall: bool = False) -> Entity:
    return Entity(component(name, annotations=ON_CALL if oncall else None))


@pytest.fixture
def tracks(tmp_path: Path) -> dict[str, Track]:
    found = {}
    for track_id in ("ops", "ops-two"):
        path = tmp_path / f"{track_id}.yaml"
        path.write_text(ops_track_yaml(track_id))
        found[track_id] = load_track(path, build_registry(plugins=False))
    return found


ENTITIES = [_entity("nightly"), _entity("payments", oncall=True)]
NIGHTLY = "component:default/nightly"


def _levels(store: Store) -> dict[str, str | None]:
    return {c.track_id: c.level for c in store.certifications(entity_ref=NIGHTLY)}


def _request(store: Store, now: datetime, track: str | None = "ops", **changes: object):  # type: ignore[no-untyped-def]
    with store.transaction() as session:
        return stored.request(
            session,
            **{
                "entity_ref": NIGHTLY, "track_id": track, "check_id": "has_oncall",
                "justification": JUSTIFICATION, "expires_at": now + timedelta(days=30),
                "by": "ci", "approve": False, "now": now,
            }
            | changes,  # type: ignore[arg-type]
        )  # fmt: skip


def test_approving_and_revoking_recertify_from_stored_outcomes(
    store_url: str, tracks: dict[str, Track]
) -> None:
    with Store(store_url) as store:
        run_and_store(store, ENTITIES, list(tracks.values()), trigger="test")
        assert _levels(store) == {"ops": "bronze", "ops-two": "bronze"}
        runs = store.find_runs().total
        now = datetime.now(UTC)
        pending = _request(store, now)
        assert _levels(store)["ops"] == "bronze"  # pending counts for nothing
        with store.transaction() as session:
            record, before = stored.decide(
                session, pending.id, "approve", by="admin", note=None, now=now
            )
            changes = stored.recertify(
                session, [NIGHTLY], tracks, now, reason=f"exemption {record.id} approved",
                exemption_id=record.id,
            )  # fmt: skip
        assert before == "pending"
        assert [(c.track_id, c.level, c.previous_level) for c in changes] == [
            ("ops", "silver", "bronze")
        ]
        assert _levels(store) == {"ops": "silver", "ops-two": "bronze"}  # one track only
        assert store.find_runs().total == runs  # no run
        # The roll-ups count it at once.
        levels = {
            level: count for level, count in store.track_rollup("ops").levels.items() if count
        }
        assert levels == {"silver": 2}
        # A run of the same results keeps it, and writes no level change.
        history_rows = store.count_history_rows()
        run_and_store(store, ENTITIES, list(tracks.values()), trigger="test")
        assert _levels(store)["ops"] == "silver"
        assert store.count_history_rows() == history_rows
        # A run that evaluates the entity again (its document changed) keeps it too.
        changed = [_entity("nightly"), ENTITIES[1]]
        changed[0].raw["metadata"]["description"] = "Now described."
        run_and_store(store, changed, list(tracks.values()), trigger="test")
        assert _levels(store)["ops"] == "silver"
        with store.transaction() as session:
            stored.decide(session, pending.id, "revoke", by="admin", note="On call now.", now=now)
            stored.recertify(
                session, [NIGHTLY], tracks, now, reason=f"exemption {pending.id} revoked",
                exemption_id=pending.id,
            )  # fmt: skip
        assert _levels(store)["ops"] == "bronze"
        history = store.certification_history(NIGHTLY, "ops")
        assert [(c.level, c.previous_level, c.reason, c.run_id is None) for c in history] == [
            ("bronze", None, None, False),  # the first observation, by the first run
            ("silver", "bronze", f"exemption {pending.id} approved", True),
            ("bronze", "silver", f"exemption {pending.id} revoked", True),
        ]
        with store.transaction() as session, pytest.raises(ExemptionError) as refused:
            stored.decide(session, pending.id, "approve", by="admin", note=None, now=now)
        assert refused.value.code == 409


def test_an_exemption_of_every_track_and_its_expiry(
    store_url: str, tracks: dict[str, Track]
) -> None:
    with Store(store_url) as store:
        run_and_store(store, ENTITIES, list(tracks.values()), trigger="test")
        now = datetime.now(UTC)
        record = _request(
            store, now, track=None, approve=True, expires_at=now + timedelta(seconds=5)
        )
        with store.transaction() as session:
            stored.recertify(session, [NIGHTLY], tracks, now, reason="approved")
        assert _levels(store) == {"ops": "silver", "ops-two": "silver"}
        assert store.next_expiry() == record.expires_at
        assert store.expire_due(tracks, now) == []  # not yet
        acted = store.expire_due(tracks, now + timedelta(seconds=6))
        assert [(r.id, len(changes)) for r, changes in acted] == [(record.id, 2)]
        assert _levels(store) == {"ops": "bronze", "ops-two": "bronze"}
        assert store.exemption(record.id).status == ExemptionStatus.EXPIRED  # type: ignore[union-attr]
        assert store.expire_due(tracks, now + timedelta(seconds=7)) == []  # once only
        assert (
            store.certification_history(NIGHTLY, "ops")[-1].reason
            == f"exemption {record.id} expired"
        )
        audit = store.audit_log(action="exemption.").items
        assert [(row.actor, row.action) for row in audit] == [
            ("system", "exemption.expired"),
            ("ci", "exemption.approved"),
            ("ci", "exemption.requested"),
        ]


def test_a_run_after_an_expiry_acts_on_it_first(store_url: str, tracks: dict[str, Track]) -> None:
    """`scorecard run` with no server: the expired exemption is acted on before the run,
    so that a kept pair does not hold the level it gave."""
    with Store(store_url) as store:
        run_and_store(store, ENTITIES, list(tracks.values()), trigger="test")
        now = datetime.now(UTC)
        _request(store, now, approve=True, expires_at=now + timedelta(milliseconds=200))
        with store.transaction() as session:
            stored.recertify(session, [NIGHTLY], tracks, now, reason="approved")
        assert _levels(store)["ops"] == "silver"
        while datetime.now(UTC) <= now + timedelta(milliseconds=200):
            pass
        run_and_store(store, ENTITIES, list(tracks.values()), trigger="test")
        assert _levels(store)["ops"] == "bronze"


def test_exemptions_kept_as_code_follow_their_files(
    store_url: str, tracks: dict[str, Track]
) -> None:
    with Store(store_url) as store:
        run_and_store(store, ENTITIES, list(tracks.values()), trigger="test")
        now = datetime.now(UTC)
        spec = ExemptionSpec(
            entity_ref=NIGHTLY, track_id="ops", check_id="has_oncall",
            justification=JUSTIFICATION, expires_at=now + timedelta(days=10),
            requested_by=None, source="exemptions/nightly.yaml", line=1,
        )  # fmt: skip
        with store.transaction() as session:
            assert stored.sync_files(session, [spec], now) == {NIGHTLY}
            stored.recertify(session, [NIGHTLY], tracks, now, reason="files")
        assert _levels(store)["ops"] == "silver"
        [record] = store.exemptions().items
        assert (record.status, record.source, record.decided_by) == (
            ExemptionStatus.APPROVED,
            "exemptions/nightly.yaml",
            "file:exemptions/nightly.yaml",
        )
        # Unchanged files change nothing; the API may not decide on it.
        with store.transaction() as session:
            assert stored.sync_files(session, [spec], now) == set()
        with store.transaction() as session, pytest.raises(ExemptionError) as refused:
            stored.decide(session, record.id, "revoke", by="admin", note=None, now=now)
        assert refused.value.code == 409 and "nightly.yaml" in str(refused.value)
        # Gone from its file: revoked, and the level drops.
        with store.transaction() as session:
            assert stored.sync_files(session, [], now) == {NIGHTLY}
            stored.recertify(session, [NIGHTLY], tracks, now, reason="files")
        assert _levels(store)["ops"] == "bronze"
        assert store.exemption(record.id).status == ExemptionStatus.REVOKED  # type: ignore[union-attr]
        actions = [row.action for row in store.audit_log(object_type="exemption").items]
        assert actions == ["exemption.removed", "exemption.defined"]


def test_filters_of_the_exemption_list(store_url: str, tracks: dict[str, Track]) -> None:
    with Store(store_url) as store:
        run_and_store(store, ENTITIES, list(tracks.values()), trigger="test")
        now = datetime.now(UTC)
        first = _request(store, now)
        second = _request(store, now, track=None, approve=True)
        assert [r.id for r in store.exemptions().items] == [second.id, first.id]
        pending = store.exemptions(status=[ExemptionStatus.PENDING]).items
        assert [r.id for r in pending] == [first.id]
        # An exemption of every track concerns each.
        assert store.exemptions(track_id="ops-two").total == 1
        assert store.exemptions(owner="GROUP:default/data").total == 2
        assert store.exemptions(owner="group:default/other").total == 0
        assert store.exemptions(entity_ref="COMPONENT:default/NIGHTLY").total == 2
        assert store.exemptions(check_id="has_owner").total == 0
        assert store.exemptions(limit=1, offset=1).items[0].id == first.id
        runs = store.audit_log(action="run.started")
        assert runs.total == 1 and runs.items[0].actor == "system"
