"""Sign-in sessions of the pages.

One row per session: the SHA-256 of its random id (the id itself is only in the
browser's cookie), a fingerprint of the API token it was made with, and when it was made
and expires. A new table only: a scorecard of an earlier release already refuses this
database (schema version 3), so the version stays.

Revision ID: 0003_sessions
Revises: 0002_run_heartbeat
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_sessions"
down_revision = "0002_run_heartbeat"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session",
        sa.Column("id_hash", sa.String(), nullable=False),
        sa.Column("token_fingerprint", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash"),
    )


def downgrade() -> None:
    op.drop_table("session")
