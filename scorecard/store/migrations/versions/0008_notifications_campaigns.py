"""Notifications and campaign progress.

`outbox_event`: changes worth telling someone about, written with the change;
`notification`: the messages made of them, one per target, with their delivery state;
`campaign_progress`: a campaign's entities in scope and at its goal whenever they
change, overall and per owner. New tables only.

Revision ID: 0008_notifications_campaigns
Revises: 0007_exemptions_audit
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008_notifications_campaigns"
down_revision = "0007_exemptions_audit"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "outbox_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("entity_ref", sa.String(), nullable=True),
        sa.Column("track_id", sa.String(), nullable=True),
        sa.Column("campaign_id", sa.String(), nullable=True),
        sa.Column("data", _JSON, nullable=False),
        sa.Column("routed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    unrouted = sa.text("routed = 0")
    if op.get_bind().dialect.name == "postgresql":
        unrouted = sa.text("routed = false")
    op.create_index(
        "ix_outbox_event_unrouted",
        "outbox_event",
        ["id"],
        sqlite_where=unrouted,
        postgresql_where=unrouted,
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("events", _JSON, nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_notification_due", "notification", ["status", "next_attempt_at"])
    op.create_index("ix_notification_target", "notification", ["target", "id"])
    op.create_table(
        "campaign_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_owner", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("in_scope", sa.Integer(), nullable=False),
        sa.Column("at_goal", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_campaign_progress_campaign_at", "campaign_progress", ["campaign_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_campaign_progress_campaign_at", "campaign_progress")
    op.drop_table("campaign_progress")
    op.drop_index("ix_notification_target", "notification")
    op.drop_index("ix_notification_due", "notification")
    op.drop_table("notification")
    op.drop_index("ix_outbox_event_unrouted", "outbox_event")
    op.drop_table("outbox_event")
