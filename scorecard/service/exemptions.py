"""Exemptions in a server: requests and decisions by token role, the levels they change
at once, expiry on time, and the exemptions kept as code in the workspace's files.

Each change is one transaction: the exemption, its audit row, and the certifications
it changes (with their history rows naming it as the reason). Readers that cache
stored results are told through `on_change`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from scorecard.auth import Principal, Role
from scorecard.program.exemptions import (
    ExemptionSpec,
    expiry_problem,
    justification_problem,
    target_problem,
)
from scorecard.service.desk import LevelsDesk
from scorecard.store import ExemptionRecord
from scorecard.store import exemptions as stored
from scorecard.store.exemptions import ExemptionError, LevelChange

log = logging.getLogger("scorecard.exemptions")


class ExemptionDesk(LevelsDesk):
    """Takes requests and decisions; its timed change is the soonest expiry."""

    def next_instant(self) -> datetime | None:
        return self.store.next_expiry()

    def request(
        self,
        principal: Principal,
        *,
        entity_ref: str,
        track_id: str | None,
        check_id: str,
        justification: str,
        expires_at: datetime,
        approve: bool = False,
    ) -> tuple[ExemptionRecord, list[LevelChange]]:
        """Record a request by `principal` (a runner or admin); an admin may approve it in
        the same call. Raises `ExemptionError` (403, 404, 422) naming what is wrong."""
        if not principal.may(Role.RUNNER):
            raise ExemptionError(
                403, f"token {principal.name!r} ({principal.role}) may not request exemptions"
            )
        if approve and not principal.may(Role.ADMIN):
            raise ExemptionError(
                403, f"token {principal.name!r} ({principal.role}) may not approve exemptions"
            )
        now = datetime.now(UTC)
        justification = justification.strip()
        problems = [
            problem
            for problem in (
                target_problem(track_id, check_id, self.config.current.tracks),
                justification_problem(justification),
                expiry_problem(expires_at, now, self.config.workspace.exemption_max_days),
            )
            if problem
        ]
        if problems:
            raise ExemptionError(422, "; ".join(problems), problems)
        if self.store.entity(entity_ref) is None:
            raise ExemptionError(404, f"no entity {entity_ref} has been evaluated")
        with self._lock, self.store.transaction() as session:
            record = stored.request(
                session,
                entity_ref=entity_ref,
                track_id=track_id,
                check_id=check_id,
                justification=justification,
                expires_at=expires_at,
                by=principal.name,
                approve=approve,
                now=now,
            )
            changes = []
            if approve:
                changes = self._recertify(session, record, "approved", now)
        log.info(
            "exemption %d of %s on %s requested by %s%s",
            record.id, entity_ref, check_id, principal.name, " and approved" if approve else "",
        )  # fmt: skip
        self._changed()
        return record, changes

    def decide(
        self, principal: Principal, exemption_id: int, decision: str, note: str | None = None
    ) -> tuple[ExemptionRecord, list[LevelChange]]:
        """`approve`, `deny` or `revoke` (admins only). Raises `ExemptionError`."""
        if not principal.may(Role.ADMIN):
            raise ExemptionError(
                403, f"token {principal.name!r} ({principal.role}) may not {decision} exemptions"
            )
        now = datetime.now(UTC)
        with self._lock, self.store.transaction() as session:
            record, before = stored.decide(
                session, exemption_id, decision, by=principal.name, note=note, now=now
            )
            changes = []
            if decision == "approve" or before == "approved":
                changes = self._recertify(session, record, str(record.status), now)
        log.info("exemption %d %s by %s", exemption_id, record.status, principal.name)
        self._changed()
        return record, changes

    def expire_due(self) -> list[tuple[ExemptionRecord, list[LevelChange]]]:
        """Act on every exemption whose expiry has passed (at its instant, and at start
        for those that passed while no server ran)."""
        with self._lock:
            acted = self.store.expire_due(self._tracks())
        for record, changes in acted:
            log.info(
                "exemption %d (%s, %s) expired; %d level(s) changed",
                record.id, record.entity_ref, record.check_id, len(changes),
            )  # fmt: skip
        self._changed()
        return acted

    def sync_files(self, specs: Iterable[ExemptionSpec]) -> None:
        """Make the stored exemptions kept as code those of `specs`, and certify their
        entities again."""
        with self._lock:
            touched = self.store.sync_exemption_files(specs, self._tracks())
        if touched:
            log.info("exemption files changed the exemptions of %d entities", len(touched))
        self._changed()

    def _recertify(
        self, session: Session, record: ExemptionRecord, what: str, now: datetime
    ) -> list[LevelChange]:
        return stored.recertify(
            session,
            [record.entity_ref],
            self._tracks(),
            now,
            reason=f"exemption {record.id} {what}",
            exemption_id=record.id,
            notify=self.store.notify,
        )
