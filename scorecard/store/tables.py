"""The store's tables: the latest state per entity, track and check, and its history."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from scorecard.results import Outcome

# The hand-kept schema version of the releases before migrations, frozen at 3 since the
# revision in `alembic_version` took over: a scorecard of those releases refuses any
# version above its own 2, so it refuses a database that migrations have changed.
SCHEMA_VERSION = 3


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out: SQLite keeps no time zone, so reads restore it."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # A naive time is ambiguous: refuse it rather than store the wrong instant.
            raise ValueError(f"datetime {value.isoformat()} has no time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class RunStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    # Still `running` with a stale `heartbeat_at`: its process died mid-run.
    ABANDONED = "abandoned"


def _string_enum(enum: type[StrEnum]) -> Enum:
    # Stored as the plain value in a VARCHAR: no PostgreSQL enum type to migrate when a
    # value is added, and rows read the same in any SQL client.
    return Enum(
        enum,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


# JSONB on PostgreSQL so that documents can be queried and indexed there.
_JSON = JSON().with_variant(JSONB(), "postgresql")
# None is SQL NULL rather than the JSON document `null`.
_JSON_OR_NULL = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
# Packed results: written as the JSON text the run packed, read back as that text on
# SQLite (it is hashed and compared as text); JSONB on PostgreSQL, for the `result` view.
_PACKED = Text().with_variant(JSONB(), "postgresql")


class StoreModel(SQLModel, registry=registry()):
    """Base of the store's tables, on a metadata of their own: `Store` creates exactly
    these, never another module's SQLModel tables."""


class SchemaVersion(StoreModel, table=True):
    __tablename__ = "schema_version"

    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})


class RunRecord(StoreModel, table=True):
    """One evaluation: when, why, over what, and how it went."""

    __tablename__ = "run"
    # The fingerprint counts finished runs from this index alone.
    __table_args__ = (Index("ix_run_status_id", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: RunStatus = Field(default=RunStatus.RUNNING, sa_type=_string_enum(RunStatus))
    trigger: str  # cli, schedule, api, ...
    scope: dict[str, Any] | None = Field(default=None, sa_type=_JSON)
    entities: int = 0
    results: int = 0
    errors: int = 0
    changed: int = 0  # results that changed, i.e. result history rows written
    problems: list[str] = Field(default_factory=list, sa_type=_JSON)
    failure: str | None = None  # why the run failed
    # Written every few seconds while the run goes on (`store.heartbeat`); a `running`
    # run whose mark is stale is abandoned by the next process that opens the store.
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EntityRecord(StoreModel, table=True):
    """The latest stored document of a catalog entity."""

    __tablename__ = "entity"
    __table_args__ = (
        # Lookups by ref, kind and owner ignore case, as Backstage's do.
        Index("ix_entity_ref_lower", func.lower(literal_column("ref"))),
        Index("ix_entity_kind_lower", func.lower(literal_column("kind"))),
        Index("ix_entity_owner_lower", func.lower(literal_column("owner"))),
        # Gone entities only, so that they are counted from it (the listed ones are all
        # the others) and no query of listed entities is planned through it.
        Index(
            "ix_entity_gone_run",
            "gone_run",
            sqlite_where=literal_column("gone_run").is_not(None),
            postgresql_where=literal_column("gone_run").is_not(None),
        ),
    )

    ref: str = Field(primary_key=True)  # component:default/payments
    kind: str
    namespace: str
    name: str
    title: str | None = None
    owner: str | None = None  # a full entity ref
    type: str | None = None
    lifecycle: str | None = None
    raw: dict[str, Any] = Field(sa_type=_JSON)
    source: str | None = None
    # Hash of the document and its source: an unchanged entity costs no write per run.
    digest: str
    first_seen_run: int = Field(foreign_key="run.id")
    updated_run: int = Field(foreign_key="run.id")
    # The run whose complete catalog listing no longer had the entity; None while listed.
    # A gone entity's results stay stored but count in no roll-up or entity list.
    gone_run: int | None = None


# Search terms compare byte for byte on either backend, so that a prefix is a range of
# the index (`scorecard.store.search.prefix_range`) whatever the database's locale.
_TERM = Text().with_variant(Text(collation="C"), "postgresql")


class SearchTermRecord(StoreModel, table=True):
    """A lower-case word an entity is found by in the pages' search
    (`scorecard.store.search.terms_of`); rewritten with the entity's document."""

    __tablename__ = "search_term"
    # The primary key is the only index, and on SQLite the table itself (no rowid): each
    # term written costs one B-tree insert. Terms are deleted by their key too.
    __table_args__ = ({"sqlite_with_rowid": False},)

    term: str = Field(primary_key=True, sa_type=_TERM)
    entity_ref: str = Field(primary_key=True, foreign_key="entity.ref")


class ViewModel(SQLModel, registry=registry()):
    """Base of the store's views: on a metadata of its own, so that `create_all` makes no
    table of them (`RESULT_VIEW` makes the view)."""


class ResultRecord(ViewModel, table=True):
    """The latest result of one check of one track on one entity: a row of the `result`
    view, which unpacks the results each pair row keeps (`RESULT_VIEW`)."""

    __tablename__ = "result"

    entity_ref: str = Field(primary_key=True)
    track_id: str = Field(primary_key=True)
    check_id: str = Field(primary_key=True)
    level_id: str
    required: bool
    outcome: Outcome = Field(sa_type=_string_enum(Outcome))
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=_JSON)
    run_id: int  # the run in which it last changed
    changed_at: datetime = Field(sa_type=UTCDateTime)  # when that run finished


class ResultChange(StoreModel, table=True):
    """A result that changed (or appeared) in a run; never updated or deleted."""

    __tablename__ = "result_change"
    __table_args__ = (
        Index("ix_result_change_entity_at", "entity_ref", "at"),
        # A run's page counts what it changed from this index alone.
        Index("ix_result_change_run", "run_id", "outcome", "previous_outcome"),
    )

    id: int | None = Field(default=None, primary_key=True)
    entity_ref: str = Field(foreign_key="entity.ref")
    track_id: str
    check_id: str
    outcome: Outcome = Field(sa_type=_string_enum(Outcome))
    previous_outcome: Outcome | None = Field(default=None, sa_type=_string_enum(Outcome))
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=_JSON)
    run_id: int = Field(foreign_key="run.id")
    at: datetime = Field(sa_type=UTCDateTime)


class CertificationRecord(StoreModel, table=True):
    """The level an entity holds on a track (None: not even the first)."""

    __tablename__ = "certification"
    # Roll-ups count a track's levels from this index alone, and filter by level.
    __table_args__ = (
        Index("ix_certification_track_level", "track_id", "level"),
        # Trends count the pairs first evaluated in their period from this index alone
        # (`scorecard.store.trends`).
        Index("ix_certification_track_changed", "track_id", "changed_at", "level"),
    )

    entity_ref: str = Field(primary_key=True, foreign_key="entity.ref")
    track_id: str = Field(primary_key=True)
    level: str | None = None
    next_level: str | None = None
    run_id: int = Field(foreign_key="run.id")  # the run in which the level last changed
    changed_at: datetime = Field(sa_type=UTCDateTime)
    # A hash of the pair's packed results: a re-run whose results hash the same needs
    # nothing of the pair read back or compared.
    results_digest: str | None = None
    # For a track of pure checks only: a hash of the entity's document and the track the
    # results were evaluated from (`Track.inputs_digest`). While it matches, a run keeps
    # the pair as it is instead of evaluating it again.
    inputs_digest: str | None = None
    # The outcomes of the pair's results, one letter each in the track's order
    # (`scorecard.report.OUTCOME_CODES`): a run that keeps the pair counts them from here.
    outcomes: str | None = None
    # Which check each letter is (`TrackLayoutRecord`): results of one check with one
    # outcome are found from the letters, without unpacking a pair.
    layout_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey("track_layout.id", name="fk_certification_layout_id_track_layout"),
            nullable=True,
        ),
    )


class TrackLayoutRecord(StoreModel, table=True):
    """The checks of a track in order, as pairs were evaluated with them: a few rows per
    track, one for each arrangement of its checks that some pair was evaluated with."""

    __tablename__ = "track_layout"
    __table_args__ = (UniqueConstraint("track_id", "checks"),)

    id: int | None = Field(default=None, primary_key=True)
    track_id: str
    # JSON: [[check_id, level_id, required], ...] in the track's order.
    checks: str


class PairResultsRecord(StoreModel, table=True):
    """An entity's results on a track: one row per (entity, track) pair, however many
    checks the track has, beside its certification.

    `results` is the JSON array `scorecard.report.pack` makes, one item per check in the
    order of the certification's layout: the message (`scorecard.report.stored_message`),
    or `[message, evidence]` when there is evidence; each result's check, level and
    requirement are the layout's and its outcome the certification's letter (`outcomes`).
    A run writes one row per pair rather than one per result: at
    100,000 entities, 100,000 rows instead of 1,000,000. The `result` view unpacks them.
    A table of its own, so that the certification rows the pages look up stay small.
    """

    __tablename__ = "pair_result"

    entity_ref: str = Field(primary_key=True, foreign_key="entity.ref")
    track_id: str = Field(primary_key=True)
    results: Any = Field(sa_type=_PACKED, nullable=False)
    # The run that first stored the pair; each result is as old as it unless
    # `results_since` says otherwise.
    first_run: int = Field(foreign_key="run.id")
    # None: every result last changed in `first_run`. Otherwise a JSON array beside
    # `results`: the run in which each result last changed (None: in `first_run`).
    results_since: list[int | None] | None = Field(default=None, sa_type=_JSON_OR_NULL)


class CertificationChange(StoreModel, table=True):
    """A level gained or lost (or first held), in a run or because an exemption was
    approved, revoked or expired; never updated or deleted."""

    __tablename__ = "certification_change"
    __table_args__ = (
        Index("ix_certification_change_entity_at", "entity_ref", "at"),
        # A run's page counts the levels it moved from this index alone.
        Index("ix_certification_change_run", "run_id", "track_id", "previous_level", "level"),
        Index("ix_certification_change_track_at", "track_id", "at"),  # trends per track
    )

    id: int | None = Field(default=None, primary_key=True)
    entity_ref: str = Field(foreign_key="entity.ref")
    track_id: str
    level: str | None = None
    previous_level: str | None = None
    # The run that changed it; None for a change no run made (`reason` says what did).
    run_id: int | None = Field(default=None, foreign_key="run.id")
    at: datetime = Field(sa_type=UTCDateTime)
    # Why, when it was not a run: "exemption 4 approved", "exemption 4 expired", ...
    reason: str | None = None
    exemption_id: int | None = None


class ExemptionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    REVOKED = "revoked"
    # Approved, and its expiry has passed (set when the expiry is acted on).
    EXPIRED = "expired"


class ExemptionRecord(StoreModel, table=True):
    """A waiver of one check for one entity, on one track or (`track_id` None) on every
    track that has the check, for a reason and until a time. Only an approved one whose
    `expires_at` is ahead counts. Rows are never deleted: a decision changes `status`."""

    __tablename__ = "exemption"
    __table_args__ = (
        Index("ix_exemption_entity", "entity_ref"),
        Index("ix_exemption_status_expires", "status", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    entity_ref: str
    track_id: str | None = None
    check_id: str
    justification: str
    expires_at: datetime = Field(sa_type=UTCDateTime)
    status: ExemptionStatus = Field(sa_type=_string_enum(ExemptionStatus))
    # A token's name, or `file:PATH` for an exemption kept as code.
    requested_by: str
    requested_at: datetime = Field(sa_type=UTCDateTime)
    decided_by: str | None = None
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Why it was denied or revoked, when the decider said.
    decision_note: str | None = None
    # The file that defines it (None: made through the API, which alone may change it).
    source: str | None = None


class AuditRecord(StoreModel, table=True):
    """One write, as it happened: who (a token's name, `file:PATH` or `system`), what,
    on what, and the change. Appended only: nothing updates or deletes a row."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_object", "object_type", "object_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str
    action: str  # run.started, config.reloaded, exemption.requested, ...
    object_type: str  # run, config, exemption
    object_id: str | None = None
    change: dict[str, Any] = Field(default_factory=dict, sa_type=_JSON)


class SessionRecord(StoreModel, table=True):
    """A person signed in to the pages. The cookie holds a random id and this row only its
    SHA-256, so a copy of the database signs nobody in. No last-seen time: a page view
    reads its session by primary key and writes nothing."""

    __tablename__ = "session"

    id_hash: str = Field(primary_key=True)
    # A fingerprint of the API token the session was made with, never the token: once the
    # server's token changes, sessions made with the old one are refused.
    token_fingerprint: str
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class OutboxEvent(StoreModel, table=True):
    """A change worth telling someone about, written in the transaction of the change
    itself (a run's results, an exemption's decision), so that none is lost and none
    is told of a change that was rolled back. The dispatcher routes it to deliveries."""

    __tablename__ = "outbox_event"
    __table_args__ = (
        Index(
            "ix_outbox_event_unrouted",
            "id",
            sqlite_where=literal_column("routed") == 0,
            postgresql_where=literal_column("routed") == literal_column("false"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Unique: an event written twice (a shard delivered twice, a job run again) is kept once.
    key: str = Field(unique=True)
    kind: str  # certification.lost, check.failing, exemption.expired, run.failed, ...
    at: datetime = Field(sa_type=UTCDateTime)
    run_id: int | None = None
    entity_ref: str | None = None
    track_id: str | None = None
    campaign_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict, sa_type=_JSON)
    routed: bool = False


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # every attempt failed: kept, never sent again


class DeliveryRecord(StoreModel, table=True):
    """One message to one target: one event, or a digest of a run's events."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_due", "status", "next_attempt_at"),
        Index("ix_notification_target", "target", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # The message's idempotency key, sent with it: a receiver that gets it twice (a
    # process killed between sending and recording) can tell.
    key: str = Field(unique=True)
    target: str
    events: list[int] = Field(default_factory=list, sa_type=_JSON)
    title: str
    body: str
    status: DeliveryStatus = Field(
        default=DeliveryStatus.PENDING, sa_type=_string_enum(DeliveryStatus)
    )
    attempts: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    first_failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = None


class CampaignProgressRecord(StoreModel, table=True):
    """A campaign's progress when it changed: entities in scope and at the goal, over the
    whole campaign (`by_owner` false) or one owner's entities. The burn-up is these rows."""

    __tablename__ = "campaign_progress"
    __table_args__ = (Index("ix_campaign_progress_campaign_at", "campaign_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str
    at: datetime = Field(sa_type=UTCDateTime)
    by_owner: bool
    owner: str | None = None
    in_scope: int
    at_goal: int


class PushedResultRecord(StoreModel, table=True):
    """The latest result pushed for an external check (`check: external`) of a track on an
    entity: what a run, or the recomputation a push makes at once, reads as its result."""

    __tablename__ = "pushed_result"
    __table_args__ = (Index("ix_pushed_result_check_at", "track_id", "check_id", "at"),)

    entity_ref: str = Field(primary_key=True)
    track_id: str = Field(primary_key=True)
    check_id: str = Field(primary_key=True)
    # None: `value` decides, by the check's threshold.
    outcome: Outcome | None = Field(default=None, sa_type=_string_enum(Outcome))
    value: float | None = None
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=_JSON)
    observed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # the tool's
    received_at: datetime = Field(sa_type=UTCDateTime)
    # What the check's `max_age` counts from: `observed_at`, else `received_at`.
    at: datetime = Field(sa_type=UTCDateTime)
    pushed_by: str  # the token's name
    run_id: int | None = None  # the push that recorded it
    # When its passing `max_age` was acted on (its entity certified again without it);
    # None until then, and again after each push.
    aged_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ShardStatus(StrEnum):
    PENDING = "pending"  # enqueued, or being evaluated
    DONE = "done"  # its results are stored
    FAILED = "failed"  # given up on after its attempts


class RunShardRecord(StoreModel, table=True):
    """One shard of a run evaluated by Celery workers (`scorecard.distributed`): a slice
    of the run's entities, written by one worker in one transaction."""

    __tablename__ = "run_shard"

    run_id: int = Field(foreign_key="run.id", primary_key=True)
    shard: int = Field(primary_key=True)  # 0, 1, … in the order the run planned them
    status: ShardStatus = Field(default=ShardStatus.PENDING, sa_type=_string_enum(ShardStatus))
    entities: int  # entities evaluated in it
    # Deliveries a worker started: one more than the last means a worker stopped in it.
    attempts: int = 0
    worker: str | None = None  # the Celery worker that last started it
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failure: str | None = None  # why it failed, or why its last attempt did
    # What it wrote, summed into the run's counts when the run finishes.
    results: int = 0
    errors: int = 0
    changed: int = 0
    results_written: int = 0
    history_rows: int = 0
    certifications_changed: int = 0
    # The entities whose pairs it wrote: the owners whose roll-ups the run recounts.
    touched: list[str] | None = Field(default=None, sa_type=_JSON_OR_NULL)


class RollupRecord(StoreModel, table=True):
    """A count kept for the roll-ups: entities at a level of a track, or results of a check
    with an outcome, over the whole catalog or over the entities of one owner.

    Counting a track's results on every read costs a second at 100,000 entities; these
    rows are recounted in SQL at the end of each run that changed the track (and when
    entities change owner or go), so a read costs the same for any catalog size. Gone
    entities count in none of them.
    """

    __tablename__ = "track_rollup"
    __table_args__ = (
        Index("ix_track_rollup_track", "by_owner", "track_id"),
        Index("ix_track_rollup_owner_lower", func.lower(literal_column("owner"))),
    )

    # A surrogate key: the counted values below may be NULL (no level, no owner).
    id: int | None = Field(default=None, primary_key=True)
    track_id: str
    # False: over the whole catalog (`owner` None). True: over the entities whose owner is
    # spelt `owner` exactly (None: unowned); readers merge spellings that differ in case.
    by_owner: bool
    owner: str | None = None
    # None: a level row. Otherwise the check whose results are counted.
    check_id: str | None = None
    # A level row: the level held (None: at no level). A check row: the check's level.
    level: str | None = None
    outcome: Outcome | None = Field(default=None, sa_type=_string_enum(Outcome))
    count: int


class RateLimitRecord(StoreModel, table=True):
    """An API's rate limit as the processes sharing this store last saw it spent, so that
    every worker waits for it, not only the one that was told (`store.ratelimits`)."""

    __tablename__ = "rate_limit"

    key: str = Field(primary_key=True)  # github:<API URL>:<token fingerprint>
    resume_at: datetime = Field(sa_type=UTCDateTime)  # no request before then
    # As the last response that spent it said; what a person reads when runs stall.
    remaining: int | None = None
    reset_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


# The `result` view: one row per packed result, with the columns the result table of the
# releases before packing had, so every query of results reads as it did. A result's
# `changed_at` is when the run it last changed in finished, which is when that run
# stored it; the check, level and requirement are the pair's layout's, the outcome its
# letter. The text is the one revision 0006 creates; tests hold them equal.
RESULT_VIEW = {
    "sqlite": """
CREATE VIEW result AS
SELECT p.entity_ref AS entity_ref, p.track_id AS track_id, p.check_id AS check_id,
       p.level_id AS level_id, p.required AS required, p.outcome AS outcome,
       CASE WHEN substr(p.kept, 1, 1) = '@' THEN p.entity_ref || ' ' || substr(p.kept, 2)
            ELSE substr(p.kept, 2) END AS message,
       p.evidence AS evidence, p.run_id AS run_id, r.finished_at AS changed_at
FROM (
    SELECT c.entity_ref AS entity_ref, c.track_id AS track_id,
           json_extract(l.checks, '$[' || j.key || '][0]') AS check_id,
           json_extract(l.checks, '$[' || j.key || '][1]') AS level_id,
           json_extract(l.checks, '$[' || j.key || '][2]') AS required,
           CASE substr(k.outcomes, j.key + 1, 1)
               WHEN 'p' THEN 'pass' WHEN 'f' THEN 'fail' WHEN 'w' THEN 'warn'
               WHEN 'n' THEN 'not_applicable' WHEN 'u' THEN 'unknown' ELSE 'error'
           END AS outcome,
           CASE j.type WHEN 'array' THEN json_extract(j.value, '$[0]') ELSE j.value END AS kept,
           CASE j.type WHEN 'array' THEN json_extract(j.value, '$[1]') ELSE '{}' END AS evidence,
           coalesce(json_extract(c.results_since, '$[' || j.key || ']'), c.first_run)
               AS run_id
    FROM pair_result c
    JOIN certification k ON k.entity_ref = c.entity_ref AND k.track_id = c.track_id
    JOIN track_layout l ON l.id = k.layout_id,
    json_each(c.results) j
) p
LEFT JOIN run r ON r.id = p.run_id
""",
    "postgresql": """
CREATE VIEW result AS
SELECT p.entity_ref, p.track_id, p.check_id, p.level_id, p.required, p.outcome,
       CASE WHEN left(p.kept, 1) = '@' THEN p.entity_ref || ' ' || substr(p.kept, 2)
            ELSE substr(p.kept, 2) END AS message,
       p.evidence, p.run_id, r.finished_at AS changed_at
FROM (
    SELECT c.entity_ref, c.track_id,
           (l.checks::jsonb -> (j.n - 1)::int) ->> 0 AS check_id,
           (l.checks::jsonb -> (j.n - 1)::int) ->> 1 AS level_id,
           ((l.checks::jsonb -> (j.n - 1)::int) ->> 2)::boolean AS required,
           CASE substr(k.outcomes, j.n::int, 1)
               WHEN 'p' THEN 'pass' WHEN 'f' THEN 'fail' WHEN 'w' THEN 'warn'
               WHEN 'n' THEN 'not_applicable' WHEN 'u' THEN 'unknown' ELSE 'error'
           END AS outcome,
           CASE jsonb_typeof(j.value) WHEN 'array' THEN j.value ->> 0 ELSE j.value #>> '{}'
           END AS kept,
           CASE jsonb_typeof(j.value) WHEN 'array' THEN j.value -> 1 ELSE '{}'::jsonb
           END AS evidence,
           coalesce((c.results_since ->> (j.n - 1)::int)::integer, c.first_run) AS run_id
    FROM pair_result c
    JOIN certification k ON k.entity_ref = c.entity_ref AND k.track_id = c.track_id
    JOIN track_layout l ON l.id = k.layout_id
    CROSS JOIN LATERAL jsonb_array_elements(c.results) WITH ORDINALITY AS j(value, n)
) p
LEFT JOIN run r ON r.id = p.run_id
""",
}
