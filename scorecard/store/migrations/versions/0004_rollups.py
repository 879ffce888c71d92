"""Roll-ups kept: per track, entities at each level and results of each check per
outcome, over the whole catalog and per owner.

Runs recount a track's rows when they change it; this revision counts them once for a
database that already holds runs, so that an upgraded database answers right at once.
Gone entities count in none of them. An index of the gone entities counts them, and so
the listed ones, without reading documents. A new table and index only: the schema
version stays.

Revision ID: 0004_rollups
Revises: 0003_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_rollups"
down_revision = "0003_sessions"
branch_labels = None
depends_on = None

_COLUMNS = "track_id, by_owner, owner, check_id, level, outcome, count"

# The counts as the store's counting queries make them, written in plain SQL that
# SQLite and PostgreSQL both read, so that this revision never changes with the code.
_FILL = [
    f"INSERT INTO track_rollup ({_COLUMNS}) "
    "SELECT c.track_id, {by_owner}, {owner}, NULL, c.level, NULL, COUNT(*) "
    "FROM certification c JOIN entity e ON e.ref = c.entity_ref "
    "WHERE e.gone_run IS NULL GROUP BY c.track_id, {group}c.level",
    f"INSERT INTO track_rollup ({_COLUMNS}) "
    "SELECT r.track_id, {by_owner}, {owner}, r.check_id, r.level_id, r.outcome, COUNT(*) "
    "FROM result r JOIN entity e ON e.ref = r.entity_ref "
    "WHERE e.gone_run IS NULL GROUP BY r.track_id, {group}r.check_id, r.level_id, r.outcome",
]


def upgrade() -> None:
    op.create_table(
        "track_rollup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.String(), nullable=False),
        sa.Column("by_owner", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("check_id", sa.String(), nullable=True),
        sa.Column("level", sa.String(), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_track_rollup_track", "track_rollup", ["by_owner", "track_id"])
    op.create_index("ix_track_rollup_owner_lower", "track_rollup", [sa.text("lower(owner)")])
    gone = sa.text("gone_run IS NOT NULL")
    op.create_index(
        "ix_entity_gone_run", "entity", ["gone_run"], sqlite_where=gone, postgresql_where=gone
    )
    for statement in _FILL:
        op.execute(statement.format(by_owner="FALSE", owner="NULL", group=""))
        op.execute(statement.format(by_owner="TRUE", owner="e.owner", group="e.owner, "))


def downgrade() -> None:
    op.drop_index("ix_entity_gone_run", table_name="entity")
    op.drop_table("track_rollup")
