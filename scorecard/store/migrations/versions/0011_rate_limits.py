"""API rate limits shared by every process of one store.

`rate_limit`: per API and token, until when requests must wait because a response said
the limit was spent. A new table only.

Revision ID: 0011_rate_limits
Revises: 0010_run_shards
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_rate_limits"
down_revision = "0010_run_shards"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("resume_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.Column("reset_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("rate_limit")
