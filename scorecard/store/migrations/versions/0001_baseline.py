"""The schema of the last scorecard before migrations (schema version 2), exactly.

A database that release wrote is already at this revision: opening it stamps it so, and
then upgrades it from here.

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

# The types as that release declared them: the store's enums are VARCHAR(32) holding the
# value, its documents JSONB on PostgreSQL, its times aware.
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_ENUM = sa.String(32)
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "schema_version",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_table(
        "run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("finished_at", _TIME, nullable=True),
        sa.Column("status", _ENUM, nullable=False),
        sa.Column("trigger", sa.String(), nullable=False),
        sa.Column("scope", _JSON, nullable=True),
        sa.Column("entities", sa.Integer(), nullable=False),
        sa.Column("results", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("problems", _JSON, nullable=False),
        sa.Column("failure", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_run_status_id", "run", ["status", "id"])
    op.create_table(
        "entity",
        sa.Column("ref", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("type", sa.String(), nullable=True),
        sa.Column("lifecycle", sa.String(), nullable=True),
        sa.Column("raw", _JSON, nullable=False),
        sa.Column("source", sa.String(), nullable=True),
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column("first_seen_run", sa.Integer(), nullable=False),
        sa.Column("updated_run", sa.Integer(), nullable=False),
        sa.Column("gone_run", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["first_seen_run"], ["run.id"]),
        sa.ForeignKeyConstraint(["updated_run"], ["run.id"]),
        sa.PrimaryKeyConstraint("ref"),
    )
    for column in ("ref", "kind", "owner"):
        op.create_index(f"ix_entity_{column}_lower", "entity", [sa.text(f"lower({column})")])
    op.create_table(
        "result",
        sa.Column("entity_ref", sa.String(), nullable=False),
        sa.Column("track_id", sa.String(), nullable=False),
        sa.Column("check_id", sa.String(), nullable=False),
        sa.Column("level_id", sa.String(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("outcome", _ENUM, nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("evidence", _JSON, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("changed_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["entity_ref"], ["entity.ref"]),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"]),
        sa.PrimaryKeyConstraint("entity_ref", "track_id", "check_id"),
    )
    op.create_index("ix_result_track_outcome", "result", ["track_id", "outcome"])
    op.create_index(
        "ix_result_track_check", "result", ["track_id", "check_id", "level_id", "outcome"]
    )
    op.create_table(
        "result_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_ref", sa.String(), nullable=False),
        sa.Column("track_id", sa.String(), nullable=False),
        sa.Column("check_id", sa.String(), nullable=False),
        sa.Column("outcome", _ENUM, nullable=False),
        sa.Column("previous_outcome", _ENUM, nullable=True),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("evidence", _JSON, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["entity_ref"], ["entity.ref"]),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_result_change_entity_at", "result_change", ["entity_ref", "at"])
    op.create_table(
        "certification",
        sa.Column("entity_ref", sa.String(), nullable=False),
        sa.Column("track_id", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=True),
        sa.Column("next_level", sa.String(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("changed_at", _TIME, nullable=False),
        sa.Column("results_digest", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["entity_ref"], ["entity.ref"]),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"]),
        sa.PrimaryKeyConstraint("entity_ref", "track_id"),
    )
    op.create_index("ix_certification_track_level", "certification", ["track_id", "level"])
    op.create_table(
        "certification_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_ref", sa.String(), nullable=False),
        sa.Column("track_id", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=True),
        sa.Column("previous_level", sa.String(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["entity_ref"], ["entity.ref"]),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_certification_change_entity_at", "certification_change", ["entity_ref", "at"]
    )
    # What that release wrote into a database it created.
    op.execute("INSERT INTO schema_version (version) VALUES (2)")


def downgrade() -> None:
    for table in (
        "certification_change",
        "certification",
        "result_change",
        "result",
        "entity",
        "run",
        "schema_version",
    ):
        op.drop_table(table)
