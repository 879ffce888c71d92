"""Results pushed for external checks.

`pushed_result`: the latest result pushed for each external check of a track on an
entity. A new table only.

Revision ID: 0009_pushed_results
Revises: 0008_notifications_campaigns
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009_pushed_results"
down_revision = "0008_notifications_campaigns"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "pushed_result",
        sa.Column("entity_ref", sa.String(), nullable=False),
        sa.Column("track_id", sa.String(), nullable=False),
        sa.Column("check_id", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("evidence", _JSON, nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pushed_by", sa.String(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("aged_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("entity_ref", "track_id", "check_id"),
    )
    op.create_index("ix_pushed_result_check_at", "pushed_result", ["track_id", "check_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_pushed_result_check_at", table_name="pushed_result")
    op.drop_table("pushed_result")
