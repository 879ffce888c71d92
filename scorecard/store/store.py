"""`Store`: the scorecard database, written once per run and read by the API, CLI and pages."""

from __future__ import annotations

from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.orm import sessionmaker
from sqlmodel import col

from scorecard.report import RunReport
from scorecard.results import Outcome
from scorecard.store.database import create_store_engine, database_url, ensure_schema
from scorecard.store.tables import (
    CertificationChange,
    CertificationRecord,
    EntityRecord,
    ResultChange,
    ResultRecord,
    RunRecord,
    RunStatus,
)
from scorecard.store.writes import WriteStats, write_run

T = TypeVar("T")


class Store:
    """Runs, entities, the latest result per entity, track and check, certifications,
    and the history of their changes, in SQLite or PostgreSQL.

    Records returned by the reads are detached copies: they stay usable after the call,
    and changing them changes nothing stored.
    """

    def __init__(self, url: str) -> None:
        """Open the database at `url` (`sqlite:///path.db` or `postgresql://...`), creating
        the file's folder and the tables when missing.

        Raises `SchemaVersionError` for a database written by a newer scorecard.
        """
        self.engine = create_store_engine(database_url(url))
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        try:
            ensure_schema(self.engine)
        except BaseException:
            self.engine.dispose()
            raise

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # Writes

    def start_run(self, trigger: str, scope: dict[str, Any] | None = None) -> int:
        """Record a run that starts now and return its id.

        `trigger` says what started it (`cli`, `schedule`, `api`, ...); `scope` what it
        covers, e.g. `{"tracks": [...] or None, "entity": ref or None}`.
        """
        with self._sessions.begin() as session:
            return session.execute(
                insert(RunRecord)
                .values(started_at=datetime.now(UTC), trigger=trigger, scope=scope, problems=[])
                .returning(col(RunRecord.id))
            ).scalar_one()

    def save_run(self, run_id: int, report: RunReport) -> WriteStats:
        """Store what run `run_id` found and mark it finished, in one transaction.

        Only what changed is written: entities whose document changed, results whose
        outcome, message or evidence changed (each with a history row), certifications
        whose level changed (each with a history row). Latest results of checks no longer
        in a track the report evaluated for an entity are deleted. Every entity that
        `report` has results or certifications for must be in `report.entities` or
        already stored.

        On error nothing is written; the caller can then `fail_run`. Raises `LookupError`
        for an unknown run.
        """
        at = report.finished_at or datetime.now(UTC)
        with self._sessions.begin() as session:
            return write_run(session, run_id, report, at)

    def fail_run(self, run_id: int, message: str) -> None:
        """Mark run `run_id` failed because of `message`; stored results stay as they were."""
        with self._sessions.begin() as session:
            failed = session.execute(
                update(RunRecord)
                .where(col(RunRecord.id) == run_id)
                .values(status=RunStatus.FAILED, finished_at=datetime.now(UTC), failure=message)
            )
            if failed.rowcount != 1:
                raise LookupError(f"there is no run {run_id}")

    def abandon_running(self) -> int:
        """Mark runs still `running` as abandoned and return how many there were.

        Call it when a process starts: such runs belong to a process that died. Their
        `finished_at` stays empty, since when that process stopped is not known.
        """
        with self._sessions.begin() as session:
            return session.execute(
                update(RunRecord)
                .where(col(RunRecord.status) == RunStatus.RUNNING)
                .values(status=RunStatus.ABANDONED)
            ).rowcount

    # Reads

    def run(self, run_id: int) -> RunRecord | None:
        """The run with id `run_id`, or None."""
        with self._sessions() as session:
            return session.get(RunRecord, run_id)

    def runs(self, limit: int = 50, offset: int = 0) -> list[RunRecord]:
        """Runs, newest first."""
        query = select(RunRecord).order_by(col(RunRecord.id).desc()).limit(limit).offset(offset)
        return self._all(query)

    def latest_run(self) -> RunRecord | None:
        """The most recently started run, whatever its status, or None."""
        runs = self.runs(limit=1)
        return runs[0] if runs else None

    def entity(self, ref: str) -> EntityRecord | None:
        """The entity with ref `ref`, compared without regard to case, or None."""
        with self._sessions() as session:
            exact = session.get(EntityRecord, ref)
            if exact is not None:
                return exact
            query = select(EntityRecord).where(func.lower(EntityRecord.ref) == ref.lower())
            return session.scalars(query.limit(1)).first()

    def entities(
        self,
        kind: str | None = None,
        owner: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[EntityRecord]:
        """Entities by ref, of `kind` and owned by `owner` (a full entity ref) when given;
        both compared without regard to case."""
        query = select(EntityRecord)
        if kind is not None:
            query = query.where(func.lower(EntityRecord.kind) == kind.lower())
        if owner is not None:
            query = query.where(func.lower(EntityRecord.owner) == owner.lower())
        return self._all(query.order_by(col(EntityRecord.ref)).limit(limit).offset(offset))

    def results(
        self,
        entity_ref: str | None = None,
        track_id: str | None = None,
        outcome: Outcome | None = None,
        check_id: str | None = None,
        limit: int | None = None,
    ) -> list[ResultRecord]:
        """Latest results by entity, track and check, filtered by what is given."""
        query = select(ResultRecord).filter_by(
            **_given(entity_ref=entity_ref, track_id=track_id, outcome=outcome, check_id=check_id)
        )
        order = (ResultRecord.entity_ref, ResultRecord.track_id, ResultRecord.check_id)
        return self._all(query.order_by(*order).limit(limit))

    def certifications(
        self, entity_ref: str | None = None, track_id: str | None = None
    ) -> list[CertificationRecord]:
        """Latest certifications by entity and track, filtered by what is given."""
        query = select(CertificationRecord).filter_by(
            **_given(entity_ref=entity_ref, track_id=track_id)
        )
        order = (CertificationRecord.entity_ref, CertificationRecord.track_id)
        return self._all(query.order_by(*order))

    def result_history(self, entity_ref: str, track_id: str | None = None) -> list[ResultChange]:
        """Every result change of an entity (on one track when given), oldest first."""
        query = select(ResultChange).filter_by(**_given(entity_ref=entity_ref, track_id=track_id))
        return self._all(query.order_by(col(ResultChange.id)))

    def certification_history(
        self, entity_ref: str, track_id: str | None = None
    ) -> list[CertificationChange]:
        """Every level change of an entity (on one track when given), oldest first."""
        query = select(CertificationChange).filter_by(
            **_given(entity_ref=entity_ref, track_id=track_id)
        )
        return self._all(query.order_by(col(CertificationChange.id)))

    def count_history_rows(self) -> int:
        """Result changes plus certification changes stored."""
        with self._sessions() as session:
            results = session.scalar(select(func.count()).select_from(ResultChange)) or 0
            levels = session.scalar(select(func.count()).select_from(CertificationChange)) or 0
            return results + levels

    def is_empty(self) -> bool:
        """True when no run was ever recorded."""
        with self._sessions() as session:
            return session.scalar(select(RunRecord.id).limit(1)) is None

    def _all(self, query: Select[tuple[T]]) -> list[T]:
        with self._sessions() as session:
            return list(session.scalars(query))


def _given(**filters: Any) -> dict[str, Any]:
    return {name: value for name, value in filters.items() if value is not None}
