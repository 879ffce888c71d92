"""`Store`: the scorecard database, written once per run and read by the API, CLI and pages."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from sqlalchemy import Engine, Select, func, insert, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlmodel import col

from scorecard.entity import Entity
from scorecard.notify.events import RUN_FAILED, Event, emit
from scorecard.pushed import PushedResult
from scorecard.report import PairResults, RunReport
from scorecard.results import Outcome
from scorecard.store import browse, exemptions, queries, recall
from scorecard.store import campaigns as campaign_store
from scorecard.store import directory as directory_store
from scorecard.store import exports as export_store
from scorecard.store import pushed as pushed_store
from scorecard.store import run_changes as run_store
from scorecard.store import search as search_store
from scorecard.store import shards as shard_store
from scorecard.store import trends as trend_store
from scorecard.store.browse import Blocker, SortKey, TrackEntity, TrackEntityFilter
from scorecard.store.database import (
    SchemaUpgrade,
    create_store_engine,
    database_url,
    prepare_schema,
)
from scorecard.store.heartbeat import HEARTBEAT_INTERVAL, STALE_AFTER, Heartbeat
from scorecard.store.queries import OwnerLevels, OwnerTrackRollup, Page, TrackRollup
from scorecard.store.tables import (
    AuditRecord,
    CampaignProgressRecord,
    CertificationChange,
    CertificationRecord,
    DeliveryRecord,
    DeliveryStatus,
    EntityRecord,
    ExemptionRecord,
    ExemptionStatus,
    OutboxEvent,
    ResultChange,
    ResultRecord,
    RunRecord,
    RunStatus,
)
from scorecard.store.writes import RunWriter, WriteStats, storable, write_run
from scorecard.waivers import Waivers

if TYPE_CHECKING:
    from scorecard.grace import Previous
    from scorecard.program.campaigns import Campaign
    from scorecard.program.exemptions import ExemptionSpec
    from scorecard.program.progress import Progress
    from scorecard.tracks import Track

log = logging.getLogger("scorecard.store")

T = TypeVar("T")
Change = TypeVar("Change", ResultChange, CertificationChange)


class Store:
    """Runs, entities, the latest result per entity, track and check, certifications,
    and the history of their changes, in SQLite or PostgreSQL.

    Records returned by the reads are detached copies: they stay usable after the call,
    and changing them changes nothing stored.
    """

    def __init__(self, url: str, *, upgrade: bool = True) -> None:
        """Open the database at `url` (`sqlite:///path.db` or `postgresql://...`), creating
        the file's folder, and bring its schema up to date unless `upgrade` is False.
        Runs that a dead process left `running` are marked abandoned (see `abandon_stale`).

        Raises `SchemaVersionError` for a database written by a newer scorecard, and
        `SchemaOutOfDateError` for an older or empty one when not `upgrade`.
        """
        self.engine = create_store_engine(database_url(url))
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Whether changes write events to the outbox: set where notification rules exist,
        # so that a store nobody is notified from keeps no outbox.
        self.notify = False
        # Runs evaluated in shards by Celery workers (`scorecard.distributed`).
        self.shards = shard_store.Shards(self._sessions, _StoredResults(self.engine))
        try:
            self.schema: SchemaUpgrade = prepare_schema(self.engine, upgrade=upgrade)
            self._abandon_stale_on_open()
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

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose writes commit together when the block ends (roll back if it
        raises): exemption decisions, their audit rows and the levels they change."""
        with self._sessions.begin() as session:
            yield session

    def audit(
        self,
        actor: str,
        action: str,
        object_type: str,
        object_id: str | int | None = None,
        change: dict[str, Any] | None = None,
    ) -> None:
        """Append one row to the audit log, now."""
        with self._sessions.begin() as session:
            exemptions.audit(
                session, datetime.now(UTC), actor, action, object_type, object_id, change
            )

    def expire_due(
        self, tracks: Mapping[str, Track], now: datetime | None = None
    ) -> list[tuple[ExemptionRecord, list[exemptions.LevelChange]]]:
        """Act on the approved exemptions whose expiry has passed: each is marked expired
        (audited as `system`) and its entity certified again without it, each in a
        transaction of its own; what expired and the levels it changed."""
        now = now or datetime.now(UTC)
        acted = []
        with self._sessions() as session:
            ids = [record.id for record in exemptions.due(session, now)]
        for exemption_id in ids:
            with self._sessions.begin() as session:
                record = session.get(ExemptionRecord, exemption_id, with_for_update=True)
                if record is None or record.status != ExemptionStatus.APPROVED:
                    continue  # another process acted on it first
                exemptions.mark_expired(session, record, now, notify=self.notify)
                changes = exemptions.recertify(
                    session,
                    [record.entity_ref],
                    tracks,
                    now,
                    reason=f"exemption {record.id} expired",
                    exemption_id=record.id,
                    notify=self.notify,
                )
            acted.append((record, changes))
        return acted

    def sync_exemption_files(
        self, specs: Iterable[ExemptionSpec], tracks: Mapping[str, Track]
    ) -> set[str]:
        """Make the stored exemptions kept as code those of the workspace's files
        (`specs`), and certify the entities whose exemptions changed again; their refs."""
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            touched = exemptions.sync_files(session, specs, now)
            if touched:
                exemptions.recertify(
                    session,
                    touched,
                    tracks,
                    now,
                    reason="exemption files changed",
                    notify=self.notify,
                )
        return touched

    def recertify_decided_since(self, since: datetime, tracks: Mapping[str, Track]) -> None:
        """Certify again the entities of exemptions decided since `since`."""
        x = ExemptionRecord
        with self._sessions.begin() as session:
            rows = session.execute(
                select(x.id, x.entity_ref, x.status).where(x.decided_at >= since)  # type: ignore[operator]
            ).all()
            for exemption_id, ref, status in rows:
                exemptions.recertify(
                    session,
                    [ref],
                    tracks,
                    datetime.now(UTC),
                    reason=f"exemption {exemption_id} {status}",
                    exemption_id=exemption_id,
                    notify=self.notify,
                )

    # Results pushed for external checks

    def pushed_results(
        self, entity_refs: Iterable[str] | None = None
    ) -> dict[tuple[str, str, str], PushedResult]:
        """The latest pushed result of each external check, by (entity, track, check)."""
        with self._sessions() as session:
            return pushed_store.latest(session, entity_refs)

    def push(
        self, results: Sequence[PushedResult], tracks: Mapping[str, Track], *, actor: str
    ) -> tuple[int, WriteStats]:
        """Record pushed results and certify their entities again at once, as one run
        (trigger `push`) in one transaction; its id and what it wrote. On error nothing
        is written and the run is marked failed."""
        pairs = sorted({(r.entity_ref, r.track_id) for r in results})
        scope = {
            "tracks": sorted({track for _, track in pairs}),
            "entity": pairs[0][0] if len({ref for ref, _ in pairs}) == 1 else None,
            "pushed": len(results),
        }
        run_id = self.start_run("push", scope, actor=actor)
        try:
            with self._sessions.begin() as session:
                pushed_store.record(session, results, run_id)
                stats = pushed_store.recompute(
                    session, run_id, pairs, tracks, datetime.now(UTC), notify=self.notify
                )
        except BaseException as error:
            with contextlib.suppress(Exception):
                self.fail_run(run_id, f"{type(error).__name__}: {error}")
            raise
        return run_id, stats

    def age_out_pushed(
        self, tracks: Mapping[str, Track], now: datetime | None = None
    ) -> int | None:
        """Act on pushed results whose check's `max_age` has passed: their entities are
        certified again with them `unknown`, as a run (trigger `max-age`) whose id is
        returned; None when none was due."""
        now = now or datetime.now(UTC)
        with self._sessions() as session:
            soonest = pushed_store.next_aging(session, tracks)
        if soonest is None or soonest > now:
            return None
        run_id = self.start_run("max-age", {"tracks": None, "entity": None})
        try:
            with self._sessions.begin() as session:
                due = pushed_store.aged_out(session, tracks, now)
                pushed_store.recompute(session, run_id, due, tracks, now, notify=self.notify)
        except BaseException as error:
            with contextlib.suppress(Exception):
                self.fail_run(run_id, f"{type(error).__name__}: {error}")
            raise
        return run_id

    def next_pushed_aging(self, tracks: Mapping[str, Track]) -> datetime | None:
        """When the next pushed result passes its check's `max_age`."""
        with self._sessions() as session:
            return pushed_store.next_aging(session, tracks)

    def recompute_pushed_since(self, since: datetime, tracks: Mapping[str, Track]) -> None:
        """Certify again, as a run of its own, the pairs with results pushed since `since`:
        a run that read the pushed results before they came may have certified over them."""
        with self._sessions() as session:
            pairs = pushed_store.pushed_since(session, since)
        if not pairs:
            return
        run_id = self.start_run("push", {"tracks": sorted({t for _, t in pairs}), "entity": None})
        try:
            with self._sessions.begin() as session:
                pushed_store.recompute(
                    session, run_id, pairs, tracks, datetime.now(UTC), notify=self.notify
                )
        except BaseException as error:
            with contextlib.suppress(Exception):
                self.fail_run(run_id, f"{type(error).__name__}: {error}")
            raise

    def start_run(
        self, trigger: str, scope: dict[str, Any] | None = None, *, actor: str | None = None
    ) -> int:
        """Record a run that starts now, and its audit row, and return its id.

        `trigger` says what started it (`cli`, `schedule`, `api`, ...); `scope` what it
        covers, e.g. `{"tracks": [...] or None, "entity": ref or None}`; `actor` who
        (a token's name; by default `cli` for the command line, else `system`).
        """
        now = datetime.now(UTC)
        actor = actor or ("cli" if trigger == "cli" else exemptions.SYSTEM)
        with self._sessions.begin() as session:
            run_id = session.execute(
                insert(RunRecord)
                .values(started_at=now, heartbeat_at=now, trigger=trigger, scope=scope, problems=[])
                .returning(col(RunRecord.id))
            ).scalar_one()
            change = {"trigger": trigger, **(scope or {})}
            exemptions.audit(session, now, actor, "run.started", "run", run_id, change)
            return run_id

    def heartbeat(
        self, run_id: int, interval: float = HEARTBEAT_INTERVAL.total_seconds()
    ) -> Heartbeat:
        """A context manager that keeps run `run_id`'s liveness mark fresh while it is
        open (every `interval` seconds, in a daemon thread): hold it while the run goes
        on, so that no other process takes the run for dead."""

        def beat() -> None:
            with self._sessions.begin() as session:
                session.execute(
                    update(RunRecord)
                    .where(col(RunRecord.id) == run_id, col(RunRecord.status) == RunStatus.RUNNING)
                    .values(heartbeat_at=datetime.now(UTC))
                )

        return Heartbeat(beat, interval, name=f"run-{run_id}-heartbeat")

    def save_run(
        self, run_id: int, report: RunReport, *, catalog_complete: bool = False
    ) -> WriteStats:
        """Store what run `run_id` found and mark it finished, in one transaction.

        Only what changed is written: entities whose document changed, results whose
        outcome, message or evidence changed (each with a history row), certifications
        whose level changed (each with a history row). Latest results of checks no longer
        in a track the report evaluated for an entity are deleted. Every entity that
        `report` has results or certifications for must be in `report.entities` or
        already stored.

        With `catalog_complete` (the listing was read to the end), stored entities missing
        from `report.entities` are marked gone: their results stay stored but count in no
        roll-up or entity list until they are listed again.

        On error nothing is written; the caller can then `fail_run`. Raises `LookupError`
        for an unknown run.
        """
        at = report.finished_at or datetime.now(UTC)
        with self._sessions.begin() as session:
            return write_run(
                session, run_id, report, at, catalog_complete=catalog_complete, notify=self.notify
            )

    @contextlib.contextmanager
    def writing(self, run_id: int, *, catalog_complete: bool = False) -> Iterator[RunWriter]:
        """`save_run` in two steps, in one transaction opened now: the entities, then the
        results (`RunWriter`), so that a run can write its entities while it is being
        evaluated elsewhere. Committed when the block ends, rolled back if it raises."""
        with self._sessions.begin() as session:
            yield RunWriter(
                session,
                run_id,
                catalog_complete=catalog_complete,
                load=_StoredResults(self.engine),
                notify=self.notify,
            )

    def fail_run(self, run_id: int, message: str) -> None:
        """Mark run `run_id` failed because of `message`; stored results stay as they were."""
        with self._sessions.begin() as session:
            failed = session.execute(
                update(RunRecord)
                .where(col(RunRecord.id) == run_id)
                .values(
                    status=RunStatus.FAILED,
                    finished_at=datetime.now(UTC),
                    # The error may quote catalog text, NUL and all.
                    failure=storable(message),
                )
            )
            if failed.rowcount != 1:
                raise LookupError(f"there is no run {run_id}")
            if self.notify:
                now = datetime.now(UTC)
                failure = {"failure": storable(message)[:2000]}
                emit(
                    session,
                    [Event(RUN_FAILED, f"{RUN_FAILED}:{run_id}", now, run_id, data=failure)],
                )

    def abandon_stale(self, now: datetime | None = None) -> list[int]:
        """Mark `running` runs whose liveness mark is older than `STALE_AFTER` (at `now`)
        abandoned, and return their ids, oldest first.

        Their processes died: a live run's mark is kept fresh by `heartbeat`. Their
        `finished_at` stays empty, since when those processes stopped is not known. A run
        of the releases before liveness marks has none, and counts as stale.
        """
        cutoff = (now or datetime.now(UTC)) - STALE_AFTER
        stale = (col(RunRecord.status) == RunStatus.RUNNING) & or_(
            col(RunRecord.heartbeat_at).is_(None), col(RunRecord.heartbeat_at) < cutoff
        )
        # Read first: opening a store with no dead run to mark takes no write lock.
        with self._sessions() as session:
            if session.scalar(select(RunRecord.id).where(stale).limit(1)) is None:
                return []
        with self._sessions.begin() as session:
            # The condition is checked again as the rows are written: a run that beat or
            # finished meanwhile is left alone.
            marked = session.scalars(
                update(RunRecord)
                .where(stale)
                .values(status=RunStatus.ABANDONED)
                .returning(col(RunRecord.id))
            )
            return sorted(marked)

    def _abandon_stale_on_open(self) -> None:
        try:
            abandoned = self.abandon_stale()
        except OperationalError as error:
            # Housekeeping only: a database busy past the timeout must not stop the
            # command that opened it; the next process to open it tries again.
            log.warning("could not look for abandoned runs now: %s", error)
            return
        for run_id in abandoned:
            log.warning("run %d was abandoned: the process running it stopped", run_id)

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
        include_gone: bool = False,
    ) -> list[EntityRecord]:
        """Entities by ref, of `kind` and owned by `owner` (a full entity ref) when given;
        both compared without regard to case. Gone entities only with `include_gone`."""
        query = select(EntityRecord)
        if not include_gone:
            query = query.where(col(EntityRecord.gone_run).is_(None))
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

    def certification(self, entity_ref: str, track_id: str) -> CertificationRecord | None:
        """The certification of entity `entity_ref` (its stored ref) on a track, or None."""
        with self._sessions() as session:
            return session.get(CertificationRecord, (entity_ref, track_id))

    def result_history(
        self,
        entity_ref: str,
        track_id: str | None = None,
        *,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[ResultChange]:
        """The result changes of an entity (on one track when given), oldest first unless
        `newest_first`; the first `limit` of them when given."""
        return self._history(ResultChange, entity_ref, track_id, newest_first, limit)

    def certification_history(
        self,
        entity_ref: str,
        track_id: str | None = None,
        *,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[CertificationChange]:
        """The level changes of an entity (on one track when given), oldest first unless
        `newest_first`; the first `limit` of them when given."""
        return self._history(CertificationChange, entity_ref, track_id, newest_first, limit)

    def history(
        self, entity_ref: str, track_id: str | None = None, limit: int = 200
    ) -> tuple[list[ResultChange], list[CertificationChange]]:
        """The latest `limit` result changes and latest `limit` level changes of an entity
        (on one track when given), newest first."""
        return (
            self.result_history(entity_ref, track_id, newest_first=True, limit=limit),
            self.certification_history(entity_ref, track_id, newest_first=True, limit=limit),
        )

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

    # Reads for the API: pages with totals, and roll-ups aggregated in the database

    def find_entities(
        self,
        *,
        kind: str | None = None,
        owner: str | None = None,
        track: str | None = None,
        level: str | None = None,
        outcome: Outcome | None = None,
        query: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[EntityRecord]:
        """A page of entities by ref, matching every filter given.

        `kind` and `owner` (a full entity ref) compare without regard to case. `track`:
        certified on that track, at any level or none. `level`: certified at that level,
        on `track` when given, else on any track; `none` means at no level. `outcome`:
        some latest result has that outcome, on `track` when given. `query`: part of the
        ref or title, without regard to case.
        """
        with self._sessions() as session:
            return queries.find_entities(
                session,
                kind=kind,
                owner=owner,
                track=track,
                level=level,
                outcome=outcome,
                query=query,
                limit=limit,
                offset=offset,
            )

    def count_entities_with_a_track(self, track_ids: Collection[str]) -> int:
        """How many listed (not gone) entities are certified on at least one of
        `track_ids`, at a level or none: the entities those tracks apply to."""
        with self._sessions() as session:
            return queries.count_entities_with_a_track(session, track_ids)

    def kept_pairs(
        self, entities: Sequence[Entity], tracks: Sequence[Track]
    ) -> dict[str, dict[str, PairResults]]:
        """The stored results of pure tracks (`Track.reusable`) on `entities` that still
        stand, by track id and entity ref: evaluated from the very document and track they
        would be evaluated from now (`Track.inputs_digest`). A run takes them as they are."""
        pure = {track.id: track for track in tracks if track.reusable}
        if not pure or not entities:
            return {}
        c = CertificationRecord.__table__.c
        with self._sessions() as session:
            # A first run of these tracks keeps nothing: no digest is worth making.
            any_kept = select(c.entity_ref).where(
                c.track_id.in_(sorted(pure)), c.inputs_digest.is_not(None)
            )
            if session.execute(any_kept.limit(1)).first() is None:
                return {}
        query = (
            "SELECT entity_ref, track_id, level, next_level, results_digest, inputs_digest, "
            "outcomes FROM certification WHERE inputs_digest IS NOT NULL "
            "AND outcomes IS NOT NULL"
        )

        def read() -> list[Any]:
            with self.engine.connect() as connection:
                # Through the driver's cursor: a re-run of a large catalog reads every
                # pair, and rows fetched one by one through SQLAlchemy cost more than
                # reading them. Pairs of other tracks have no expected digest, and are
                # passed over. The packed results are read only if something asks for
                # them (`_StoredResults`).
                cursor = connection.connection.cursor()
                try:
                    cursor.execute(query)
                    return cursor.fetchall()
                finally:
                    cursor.close()

        from scorecard.parallel import hash_documents  # the evaluation's, used only here

        # The documents are hashed while the pairs are read (most of them in a forked
        # process, for a large catalog).
        digests, rows = hash_documents(entities, read)
        # A pair's expected inputs digest: its document's digest followed by its track's
        # part (`Track.inputs_digest`). A document that cannot be hashed has none: it is
        # evaluated every time.
        expected = {
            track_id: {
                entity.ref: digest + track.inputs_digest_suffix
                for entity, digest in zip(entities, digests, strict=True)
                if digest is not None
            }
            for track_id, track in pure.items()
        }
        layouts = {track_id: track.layout for track_id, track in pure.items()}
        kept: dict[str, dict[str, PairResults]] = {track_id: {} for track_id in pure}
        load = _StoredResults(self.engine)
        stored = PairResults.stored
        for ref, track_id, level, next_level, digest, inputs, codes in rows:
            wanted = expected.get(track_id)
            if wanted is None or wanted.get(ref) != inputs:
                continue
            layout = layouts[track_id]
            kept[track_id][ref] = stored(
                ref, track_id, level, next_level, layout, digest, inputs, codes, load
            )
        return {track_id: held for track_id, held in kept.items() if held}

    def certifications_for(self, entity_refs: list[str]) -> dict[str, list[CertificationRecord]]:
        """The certifications of each of `entity_refs` (stored refs, e.g. those of a page)
        by track, in one query; an entity without any maps to an empty list."""
        with self._sessions() as session:
            return queries.certifications_for(session, entity_refs)

    def track_rollups(self) -> list[TrackRollup]:
        """`track_rollup` of every track evaluated, by track id, in one query per count."""
        with self._sessions() as session:
            return queries.track_rollups(session)

    def track_rollup(self, track_id: str) -> TrackRollup:
        """Entities per level of a track, and the outcomes and pass rate of each of its
        checks over every entity, by check id; empty for a track never evaluated."""
        with self._sessions() as session:
            return queries.track_rollup(session, track_id)

    def owner_rollup(self, owner_ref: str, track_id: str | None = None) -> list[OwnerTrackRollup]:
        """`track_rollup` over the entities of `owner_ref` (compared without regard to
        case), for each track they were evaluated on, or for `track_id`; by track id."""
        with self._sessions() as session:
            return queries.owner_rollup(session, owner_ref, track_id)

    def owners_rollup(self, track_id: str) -> list[OwnerLevels]:
        """For each owner, its entities per level of a track, by owner (entities without
        an owner last, as owner None). Owner refs that differ only in case are one owner."""
        with self._sessions() as session:
            return queries.owners_rollup(session, track_id)

    def search(self, words: Sequence[str]) -> search_store.Found:
        """The listed entities each of whose `words` (`search.query_words`) starts one of
        their search terms, in the index's order: at most `search.MAX_CANDIDATES`, and
        whether that is all of them."""
        with self._sessions() as session:
            return search_store.find(session, words)

    def entities_by_ref(self, refs: Sequence[str]) -> list[EntityRecord]:
        """The stored entities of `refs` (stored refs, e.g. what `search` found), in that
        order; a ref with none is left out."""
        with self._sessions() as session:
            return search_store.entities(session, refs)

    def kinds(self) -> list[str]:
        """The kinds of the listed entities, lower-case, in order."""
        with self._sessions() as session:
            return directory_store.kinds(session)

    def titles(self, refs: Iterable[str]) -> dict[str, str]:
        """The catalog titles of the listed entities among `refs`, by lower-case ref."""
        with self._sessions() as session:
            return directory_store.titles(session, refs)

    def level_trends(
        self,
        track_ids: Sequence[str],
        first_day: date,
        today: date,
        owner: str | None = None,
    ) -> dict[str, trend_store.LevelTrend]:
        """Entities per level of each track at the end of each day from `first_day` to
        `today` (UTC), over every listed entity or those of `owner`; by track id
        (`scorecard.store.trends` says what a day's count is)."""
        with self._sessions() as session:
            return trend_store.level_trends(session, track_ids, first_day, today, owner)

    def most_improved(
        self, track_id: str, ladder: Sequence[str], since: datetime, limit: int = 10
    ) -> list[trend_store.OwnerGain]:
        """The owners whose entities gained the most level steps on a track since
        `since` (`ladder`: its level ids, lowest first), most first."""
        with self._sessions() as session:
            return trend_store.most_improved(session, track_id, ladder, since, limit)

    def find_results(
        self,
        *,
        entity_ref: str | None = None,
        track_id: str | None = None,
        check_id: str | None = None,
        outcome: Outcome | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Page[ResultRecord]:
        """A page of latest results by entity, track and check, filtered by what is given
        (`entity_ref` is a stored ref)."""
        with self._sessions() as session:
            return queries.find_results(
                session,
                entity_ref=entity_ref,
                track_id=track_id,
                check_id=check_id,
                outcome=outcome,
                limit=limit,
                offset=offset,
            )

    def track_entities(
        self,
        track_id: str,
        level_ids: list[str],
        where: TrackEntityFilter | None = None,
        *,
        sort: SortKey = SortKey.NAME,
        descending: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[TrackEntity]:
        """A page of the entities certified on a track, with their levels; `level_ids`
        is the track's ladder, lowest first, for sorting by level."""
        with self._sessions() as session:
            return browse.track_entities(
                session,
                track_id,
                level_ids,
                where or TrackEntityFilter(),
                sort=sort,
                descending=descending,
                limit=limit,
                offset=offset,
            )

    def track_menus(self, track_id: str) -> dict[str, list[str]]:
        """The owners, kinds and types among a track's entities (for filter menus)."""
        with self._sessions() as session:
            return browse.track_menus(session, track_id)

    def catalog_chunks(
        self, where: export_store.CatalogFilter, *, chunk: int = export_store.CHUNK
    ) -> Iterator[list[export_store.ExportedEntity]]:
        """Every listed entity matching `where` (`find_entities`' filters), by ref, with
        its level on each track, `chunk` at a time: each chunk read in a session of its
        own, found past the last ref of the one before (`scorecard.store.exports`)."""
        return export_store.catalog_chunks(self._sessions, where, chunk=chunk)

    def track_chunks(
        self,
        track_id: str,
        level_ids: list[str],
        where: TrackEntityFilter | None = None,
        *,
        sort: SortKey = SortKey.NAME,
        descending: bool = False,
        chunk: int = export_store.CHUNK,
    ) -> Iterator[list[export_store.ExportedPair]]:
        """Every entity `track_entities` would page through, in its order, with its
        levels and each check's stored outcome, `chunk` at a time, each chunk read in a
        session of its own (`scorecard.store.exports`)."""
        return export_store.track_chunks(
            self._sessions,
            track_id,
            level_ids,
            where or TrackEntityFilter(),
            sort=sort,
            descending=descending,
            chunk=chunk,
        )

    def owner_blockers(self, owner_ref: str) -> list[Blocker]:
        """The required checks failing at the next level of each of an owner's entities."""
        with self._sessions() as session:
            return browse.owner_blockers(session, owner_ref)

    def find_runs(self, limit: int = 50, offset: int = 0) -> Page[RunRecord]:
        """A page of runs, newest first."""
        with self._sessions() as session:
            return queries.find_runs(session, limit=limit, offset=offset)

    def run_counts(self, run_id: int) -> run_store.RunCounts:
        """What run `run_id` changed, counted from its history rows
        (`scorecard.store.run_changes`): results per outcome, level changes per move."""
        with self._sessions() as session:
            return run_store.run_counts(session, run_id)

    def run_unanswered_changes(
        self, run_id: int, *, limit: int = 50, offset: int = 0
    ) -> list[ResultChange]:
        """A page of the results that became error or unknown in run `run_id` (or were
        first seen so in it), in the order they were written."""
        with self._sessions() as session:
            return run_store.unanswered_changes(session, run_id, limit=limit, offset=offset)

    def run_level_changes(
        self, run_id: int, *, limit: int = 50, offset: int = 0
    ) -> list[run_store.LevelChangeRow]:
        """A page of the levels run `run_id` changed (or first recorded), in the order
        they were written."""
        with self._sessions() as session:
            return run_store.level_changes(session, run_id, limit=limit, offset=offset)

    def latest_finished_run_id(self) -> int | None:
        """The id of the newest finished run, or None."""
        with self._sessions() as session:
            return run_store.latest_finished_run(session)

    def unanswered_results(self, track_ids: Iterable[str], *, limit: int) -> list[ResultRecord]:
        """The first `limit` latest results of these tracks that gave no answer (error,
        unknown), of listed entities, by entity, track and check."""
        with self._sessions() as session:
            return run_store.unanswered_results(session, set(track_ids), limit=limit)

    def exemption(self, exemption_id: int) -> ExemptionRecord | None:
        with self._sessions() as session:
            return session.get(ExemptionRecord, exemption_id)

    def exemptions(self, **filters: Any) -> Page[ExemptionRecord]:
        """Exemptions, newest first (`scorecard.store.exemptions.find`'s filters)."""
        with self._sessions() as session:
            return exemptions.find(session, **filters)

    def waivers(
        self, now: datetime | None = None, entity_refs: Sequence[str] | None = None
    ) -> Waivers:
        """The exemptions in effect now (or at `now`), of these entities when given."""
        with self._sessions() as session:
            return exemptions.waivers(session, now or datetime.now(UTC), entity_refs)

    def audit_log(self, **filters: Any) -> Page[AuditRecord]:
        """Audit rows, newest first (`scorecard.store.exemptions.audit_page`'s filters)."""
        with self._sessions() as session:
            return exemptions.audit_page(session, **filters)

    def notifications(
        self,
        *,
        status: DeliveryStatus | None = None,
        target: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[DeliveryRecord]:
        """Messages, newest first."""
        d = DeliveryRecord
        conditions = [c for c in (
            d.status == status if status is not None else None,
            d.target == target if target is not None else None,
        ) if c is not None]  # fmt: skip
        with self._sessions() as session:
            total = session.scalar(select(func.count()).select_from(d).where(*conditions)) or 0
            query = (
                select(d).where(*conditions).order_by(col(d.id).desc()).limit(limit).offset(offset)
            )
            return Page(list(session.scalars(query)), total, limit, offset)

    def outbox(self) -> list[OutboxEvent]:
        """Every event written, oldest first."""
        return self._all(select(OutboxEvent).order_by(col(OutboxEvent.id)))

    def next_expiry(self) -> datetime | None:
        """When the soonest approved exemption expires."""
        with self._sessions() as session:
            return exemptions.next_expiry(session)

    # Campaigns

    def record_progress(
        self,
        campaigns: Sequence[Campaign],
        tracks: Mapping[str, Track],
        now: datetime | None = None,
        *,
        deadline_within_days: int = 7,
    ) -> dict[str, Progress]:
        """Measure every campaign now and keep a progress row for it and for each of its
        owners whose counts changed (`scorecard.store.campaigns.record`); with `notify`,
        write the events the progress calls for in the same transaction. What was
        measured, by campaign id."""
        if not campaigns:
            return {}
        now = now or datetime.now(UTC)
        with self._sessions.begin() as session:
            measured = campaign_store.record(session, campaigns, tracks, now)
            if self.notify:
                campaign_store.emit_events(
                    session, campaigns, tracks, now, deadline_within_days=deadline_within_days
                )
        return measured

    def campaign_events(
        self,
        campaigns: Sequence[Campaign],
        tracks: Mapping[str, Track],
        now: datetime | None = None,
        *,
        deadline_within_days: int = 7,
    ) -> int:
        """With `notify`, write the events the campaigns' recorded progress calls for at
        `now` (a milestone or deadline passed, a deadline near); each is kept once."""
        if not self.notify or not campaigns:
            return 0
        with self._sessions.begin() as session:
            return campaign_store.emit_events(
                session,
                campaigns,
                tracks,
                now or datetime.now(UTC),
                deadline_within_days=deadline_within_days,
            )

    def measure_campaigns(
        self,
        campaigns: Sequence[Campaign],
        tracks: Mapping[str, Track],
        now: datetime | None = None,
        *,
        entity_refs: Iterable[str] | None = None,
    ) -> dict[str, Progress]:
        """Each campaign's standings now (over these entities when given), without
        recording anything."""
        with self._sessions() as session:
            return campaign_store.measure(
                session, campaigns, tracks, now or datetime.now(UTC), refs=entity_refs
            )

    def campaign_summaries(self, campaign_ids: Iterable[str]) -> dict[str, campaign_store.Summary]:
        """Each campaign's latest recorded counts, and when it was last recorded done."""
        with self._sessions() as session:
            return campaign_store.summaries(session, campaign_ids)

    def campaign_series(
        self, campaign_id: str, owner: str | None = None
    ) -> list[CampaignProgressRecord]:
        """A campaign's recorded progress (or one owner's), oldest first: its burn-up."""
        with self._sessions() as session:
            return campaign_store.series(session, campaign_id, owner)

    def campaign_blockers(
        self,
        campaign: Campaign,
        track: Track,
        entity_refs: Iterable[str],
        now: datetime | None = None,
    ) -> dict[str, list[campaign_store.Blocker]]:
        """The goal checks each of these entities does not meet, with outcome and message."""
        with self._sessions() as session:
            return campaign_store.blockers(
                session, campaign, track, entity_refs, now or datetime.now(UTC)
            )

    def owner_campaigns(
        self, owner: str, campaign_ids: Iterable[str]
    ) -> dict[str, campaign_store.Recorded]:
        """The latest recorded counts of `owner` in each campaign where it has entities
        in scope."""
        with self._sessions() as session:
            return campaign_store.owner_rows(session, owner, campaign_ids)

    def fingerprint(self) -> str:
        """A short text that changes whenever a run finishes, i.e. whenever stored
        results may have changed: an ETag for what is derived from them."""
        with self._sessions() as session:
            return queries.fingerprint(session)

    def _history(
        self,
        change: type[Change],
        entity_ref: str,
        track_id: str | None,
        newest_first: bool,
        limit: int | None,
    ) -> list[Change]:
        """The stored changes, and the first observation of each result or level that
        never changed: no history row is written for it (see `write_run`), its latest
        state is that observation, as old as the run it was stored in."""
        given = _given(entity_ref=entity_ref, track_id=track_id)
        # One entity's rows, by the index by entity: `track_id || ''` keeps SQLite from
        # reading the whole track's history through the index by track and time instead.
        matching = [change.entity_ref == entity_ref]  # type: ignore[arg-type]
        if track_id is not None:
            matching.append(change.track_id + "" == track_id)  # type: ignore[arg-type, operator]
        with self._sessions() as session:
            stored = list(session.scalars(select(change).where(*matching)))
            if change is ResultChange:
                seen = {(c.track_id, c.check_id) for c in stored}  # type: ignore[union-attr]
                latest = session.scalars(select(ResultRecord).filter_by(**given))
                first = [_first_result(r) for r in latest if (r.track_id, r.check_id) not in seen]
                first.sort(key=lambda c: (c.track_id, c.check_id))
            else:
                tracks = {c.track_id for c in stored}
                latest = session.scalars(select(CertificationRecord).filter_by(**given))
                first = [_first_level(c) for c in latest if c.track_id not in tracks]
                first.sort(key=lambda c: c.track_id)
        # Oldest first: by time, then as written (a first observation before the changes
        # of the same moment, which come after it).
        every = sorted([*first, *stored], key=lambda c: (c.at, c.id or 0), reverse=newest_first)  # type: ignore[arg-type, return-value]
        return every[:limit] if limit is not None else every

    def _all(self, query: Select[tuple[T]]) -> list[T]:
        with self._sessions() as session:
            return list(session.scalars(query))

    def recall_pairs(
        self, pairs: Sequence[tuple[str, str]], since: datetime
    ) -> dict[tuple[str, str], Previous]:
        """The stored results of these (entity ref, track id) pairs, each with when the
        last run started since `since` that evaluated it started: what a run's graced
        checks fall back on (`scorecard.grace.Recall`)."""
        with self._sessions() as session:
            return recall.previous(session, pairs, since)


class _StoredResults:
    """The packed results of kept pairs, read on first demand for all of them at once:
    a re-run that only counts them reads none."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.texts: dict[tuple[str, str], Any] | None = None

    def __call__(self, pair: PairResults) -> str:
        if self.texts is None:
            with self.engine.connect() as connection:
                rows = connection.exec_driver_sql(
                    "SELECT entity_ref, track_id, results FROM pair_result"
                )
                self.texts = {(ref, track): packed for ref, track, packed in rows}
        packed = self.texts.pop((pair.entity_ref, pair.track_id))
        # PostgreSQL hands JSONB back as the document.
        return packed if isinstance(packed, str) else orjson.dumps(packed).decode()


def _first_result(latest: ResultRecord) -> ResultChange:
    return ResultChange(
        entity_ref=latest.entity_ref,
        track_id=latest.track_id,
        check_id=latest.check_id,
        outcome=latest.outcome,
        previous_outcome=None,
        message=latest.message,
        evidence=latest.evidence,
        run_id=latest.run_id,
        at=latest.changed_at,
    )


def _first_level(latest: CertificationRecord) -> CertificationChange:
    return CertificationChange(
        entity_ref=latest.entity_ref,
        track_id=latest.track_id,
        level=latest.level,
        previous_level=None,
        run_id=latest.run_id,
        at=latest.changed_at,
    )


def _given(**filters: Any) -> dict[str, Any]:
    return {name: value for name, value in filters.items() if value is not None}
