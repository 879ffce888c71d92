"""What the pages find things by: search terms, and the changes of a run or a track.

`search_term`: the words each entity is found by (`scorecard.store.search`), filled here
from the stored entities. Indexes on `result_change` and `certification_change` by run
(a run's page counts from them alone); `certification_change (track_id, at)` and
`certification (track_id, changed_at, level)` (the trends of a track: its level changes
and the pairs first evaluated in a period).

Revision ID: 0012_pages_indexes
Revises: 0011_rate_limits
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from scorecard.store.search import terms_of

revision = "0012_pages_indexes"
down_revision = "0011_rate_limits"
branch_labels = None
depends_on = None

_TERM = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
_BATCH = 5_000


def upgrade() -> None:
    op.create_table(
        "search_term",
        sa.Column("term", _TERM, nullable=False),
        sa.Column("entity_ref", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["entity_ref"], ["entity.ref"]),
        sa.PrimaryKeyConstraint("term", "entity_ref"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_result_change_run", "result_change", ["run_id", "outcome", "previous_outcome"]
    )
    op.create_index(
        "ix_certification_change_run",
        "certification_change",
        ["run_id", "track_id", "previous_level", "level"],
    )
    op.create_index("ix_certification_change_track_at", "certification_change", ["track_id", "at"])
    op.create_index(
        "ix_certification_track_changed", "certification", ["track_id", "changed_at", "level"]
    )
    _fill_search_terms()


def _fill_search_terms() -> None:
    connection = op.get_bind()
    terms = sa.table("search_term", sa.column("term"), sa.column("entity_ref"))
    rows = connection.execute(sa.text("SELECT ref, name, title FROM entity"))
    batch: list[dict[str, str]] = []
    for ref, name, title in rows:
        batch.extend({"term": t, "entity_ref": ref} for t in terms_of(ref, name, title))
        if len(batch) >= _BATCH:
            connection.execute(terms.insert(), batch)
            batch = []
    if batch:
        connection.execute(terms.insert(), batch)


def downgrade() -> None:
    op.drop_index("ix_certification_track_changed", table_name="certification")
    op.drop_index("ix_certification_change_track_at", table_name="certification_change")
    op.drop_index("ix_certification_change_run", table_name="certification_change")
    op.drop_index("ix_result_change_run", table_name="result_change")
    op.drop_table("search_term")
