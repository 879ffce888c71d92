"""A running run's liveness mark, and schema version 3.

`run.heartbeat_at` is written every few seconds while a run goes on; a `running` run
whose mark has grown stale belongs to a process that died. Schema version 3 makes a
scorecard of the previous release refuse this database rather than write to tables it
no longer describes (it refuses any version above its own 2).

Revision ID: 0002_run_heartbeat
Revises: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_run_heartbeat"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("run", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE schema_version SET version = 3")


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN: PostgreSQL, and SQLite since 3.35.
    op.execute("ALTER TABLE run DROP COLUMN heartbeat_at")
    op.execute("UPDATE schema_version SET version = 2")
