"""Storage: runs, entities, latest results and certifications, and their history."""

from scorecard.store.database import SchemaOutOfDateError, SchemaUpgrade, SchemaVersionError
from scorecard.store.queries import (
    CheckRollup,
    OwnerLevels,
    OwnerTrackRollup,
    Page,
    TrackRollup,
)
from scorecard.store.store import Store
from scorecard.store.tables import (
    SCHEMA_VERSION,
    AuditRecord,
    CertificationChange,
    CertificationRecord,
    EntityRecord,
    ExemptionRecord,
    ExemptionStatus,
    ResultChange,
    ResultRecord,
    RunRecord,
    RunShardRecord,
    RunStatus,
    ShardStatus,
)
from scorecard.store.writes import WriteStats

__all__ = [
    "SCHEMA_VERSION",
    "AuditRecord",
    "CertificationChange",
    "CertificationRecord",
    "CheckRollup",
    "EntityRecord",
    "ExemptionRecord",
    "ExemptionStatus",
    "OwnerLevels",
    "OwnerTrackRollup",
    "Page",
    "ResultChange",
    "ResultRecord",
    "RunRecord",
    "RunShardRecord",
    "RunStatus",
    "SchemaOutOfDateError",
    "SchemaUpgrade",
    "SchemaVersionError",
    "ShardStatus",
    "Store",
    "TrackRollup",
    "WriteStats",
]
