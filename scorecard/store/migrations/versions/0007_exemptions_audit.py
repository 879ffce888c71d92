"""Exemptions and the audit log.

Two new tables: `exemption` (one row per exemption, whatever its status) and `audit_log`
(one row per write, appended only). A level can now change without a run, when an
exemption is approved, revoked or expires: `certification_change` gains `reason` and
`exemption_id`, and its `run_id` may be NULL. SQLite changes a column's nullability
only by copying the table, which holds changes only, never a row per entity.

Revision ID: 0007_exemptions_audit
Revises: 0006_slim_packed_results
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007_exemptions_audit"
down_revision = "0006_slim_packed_results"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "exemption",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_ref", sa.String(), nullable=False),
        sa.Column("track_id", sa.String(), nullable=True),
        sa.Column("check_id", sa.String(), nullable=False),
        sa.Column("justification", sa.String(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(), nullable=True),
        sa.Column("source", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_exemption_entity", "exemption", ["entity_ref"])
    op.create_index("ix_exemption_status_expires", "exemption", ["status", "expires_at"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("object_type", sa.String(), nullable=False),
        sa.Column("object_id", sa.String(), nullable=True),
        sa.Column("change", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_object", "audit_log", ["object_type", "object_id"])
    with op.batch_alter_table("certification_change") as batch:
        batch.add_column(sa.Column("reason", sa.String(), nullable=True))
        batch.add_column(sa.Column("exemption_id", sa.Integer(), nullable=True))
        batch.alter_column("run_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # Changes no run made have no run to name in the older schema: they go.
    op.execute("DELETE FROM certification_change WHERE run_id IS NULL")
    with op.batch_alter_table("certification_change") as batch:
        batch.alter_column("run_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("exemption_id")
        batch.drop_column("reason")
    op.drop_index("ix_audit_log_object", "audit_log")
    op.drop_index("ix_audit_log_at", "audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_exemption_status_expires", "exemption")
    op.drop_index("ix_exemption_entity", "exemption")
    op.drop_table("exemption")
