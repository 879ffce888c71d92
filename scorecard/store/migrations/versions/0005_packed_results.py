"""Packed results: each (entity, track) pair's results kept in one row.

The `result` table held one row per check per entity, with two indexes and two foreign
keys: at 100,000 entities a cold run wrote 1,000,000 of them. A `pair_result` row now
keeps a pair's results as one JSON array (`results`), with the run that first stored
the pair (`first_run`) and, where a result changed since, the run it last changed in
(`results_since`); `result` becomes a view that unpacks them into the columns the table
had, so every row reads back as it was. Each result's `changed_at` was the time its run
finished, which the view reads from the run. A certification gains the digest of the
inputs a track of pure checks was evaluated from (`inputs_digest`), which lets a run
keep the pair, its results' outcomes, a letter each (`outcomes`), and which check each
letter is (`layout_id`, a `track_layout` row per arrangement of a track's checks).

History rows stay as they are. From now on a first observation writes none: the latest
state is it, until the result or level first changes, when it is written then.

Revision ID: 0005_packed_results
Revises: 0004_rollups
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005_packed_results"
down_revision = "0004_rollups"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")
_PACKED = sa.Text().with_variant(JSONB(), "postgresql")
_ENUM = sa.Enum(native_enum=False, length=32)

# The view as this revision creates it; the store's `RESULT_VIEW` is held equal to it.
_VIEW = {
    "sqlite": """
CREATE VIEW result AS
SELECT p.entity_ref AS entity_ref, p.track_id AS track_id, p.check_id AS check_id,
       p.level_id AS level_id, p.required AS required, p.outcome AS outcome,
       p.message AS message, p.evidence AS evidence, p.run_id AS run_id,
       r.finished_at AS changed_at
FROM (
    SELECT c.entity_ref AS entity_ref, c.track_id AS track_id,
           json_extract(j.value, '$[0]') AS check_id,
           json_extract(j.value, '$[1]') AS level_id,
           json_extract(j.value, '$[2]') AS required,
           json_extract(j.value, '$[3]') AS outcome,
           json_extract(j.value, '$[4]') AS message,
           coalesce(json_extract(j.value, '$[5]'), '{}') AS evidence,
           coalesce(json_extract(c.results_since, '$[' || j.key || ']'), c.first_run)
               AS run_id
    FROM pair_result c, json_each(c.results) j
) p
LEFT JOIN run r ON r.id = p.run_id
""",
    "postgresql": """
CREATE VIEW result AS
SELECT p.entity_ref, p.track_id, p.check_id, p.level_id, p.required, p.outcome,
       p.message, p.evidence, p.run_id, r.finished_at AS changed_at
FROM (
    SELECT c.entity_ref, c.track_id,
           j.value ->> 0 AS check_id,
           j.value ->> 1 AS level_id,
           (j.value ->> 2)::boolean AS required,
           j.value ->> 3 AS outcome,
           j.value ->> 4 AS message,
           coalesce(j.value -> 5, '{}'::jsonb) AS evidence,
           coalesce((c.results_since ->> (j.n - 1)::int)::integer, c.first_run) AS run_id
    FROM pair_result c
    CROSS JOIN LATERAL jsonb_array_elements(c.results) WITH ORDINALITY AS j(value, n)
) p
LEFT JOIN run r ON r.id = p.run_id
""",
}

# An outcome's letter in `certification.outcomes`, as this revision writes it.
_LETTERS = {
    "pass": "p", "fail": "f", "warn": "w", "not_applicable": "n", "unknown": "u", "error": "e",
}  # fmt: skip

_RESULT_COLUMNS = (
    "entity_ref, track_id, check_id, level_id, required, outcome, message, evidence, "
    "run_id, changed_at"
)


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.create_table(
        "track_layout",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.String(), nullable=False),
        sa.Column("checks", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("track_id", "checks"),
    )
    op.add_column("certification", sa.Column("inputs_digest", sa.String(), nullable=True))
    op.add_column("certification", sa.Column("outcomes", sa.String(), nullable=True))
    if sqlite:
        # SQLite adds a column with its reference in place; a batch would copy the table.
        op.execute(
            "ALTER TABLE certification ADD COLUMN layout_id INTEGER REFERENCES track_layout (id)"
        )
    else:
        op.add_column("certification", sa.Column("layout_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_certification_layout_id_track_layout",
            "certification",
            "track_layout",
            ["layout_id"],
            ["id"],
        )
    op.create_table(
        "pair_result",
        sa.Column("entity_ref", sa.String(), nullable=False),
        sa.Column("track_id", sa.String(), nullable=False),
        sa.Column("results", _PACKED, nullable=False),
        sa.Column("first_run", sa.Integer(), nullable=False),
        sa.Column("results_since", _JSON, nullable=True),
        sa.ForeignKeyConstraint(["entity_ref"], ["entity.ref"]),
        sa.ForeignKeyConstraint(["first_run"], ["run.id"]),
        sa.PrimaryKeyConstraint("entity_ref", "track_id"),
    )
    # Results of a pair without a certification row (a report without levels): the row
    # is made, at no level, as old as its oldest result.
    op.execute(
        "INSERT INTO certification (entity_ref, track_id, level, next_level, run_id, "
        "changed_at, results_digest) "
        "SELECT r.entity_ref, r.track_id, NULL, NULL, MIN(r.run_id), MIN(r.changed_at), NULL "
        "FROM result r WHERE NOT EXISTS (SELECT 1 FROM certification c "
        "WHERE c.entity_ref = r.entity_ref AND c.track_id = r.track_id) "
        "GROUP BY r.entity_ref, r.track_id"
    )
    pairs: dict[tuple[str, str], list[Any]] = defaultdict(list)
    rows = bind.execute(
        sa.text(
            "SELECT entity_ref, track_id, check_id, level_id, required, outcome, message, "
            "evidence, run_id FROM result ORDER BY entity_ref, track_id, check_id"
        )
    )
    for ref, track, check, level, required, outcome, message, evidence, run_id in rows:
        if isinstance(evidence, str):
            evidence = json.loads(evidence)
        pairs[ref, track].append((check, level, bool(required), outcome, message, evidence, run_id))
    packed_rows = []
    letters = []
    layouts: dict[tuple[str, str], int] = {}
    for (ref, track), results in pairs.items():
        codes = "".join(_LETTERS.get(r[3], "?") for r in results)
        checks = json.dumps([[r[0], r[1]] for r in results], separators=(",", ":"))
        if (track, checks) not in layouts:
            layouts[track, checks] = bind.execute(
                sa.text(
                    "INSERT INTO track_layout (track_id, checks) VALUES (:track, :checks) "
                    "RETURNING id"
                ),
                {"track": track, "checks": checks},
            ).scalar_one()
        letters.append(
            {"ref": ref, "track": track, "codes": codes, "layout": layouts[track, checks]}
        )
        first_run = min(result[6] for result in results)
        items = [[*r[:5], r[5]] if r[5] else list(r[:5]) for r in results]
        since = [r[6] if r[6] != first_run else None for r in results]
        packed_rows.append(
            {
                "entity_ref": ref,
                "track_id": track,
                # JSONB on PostgreSQL takes the document, SQLite's text column its text.
                "results": json.dumps(items, ensure_ascii=False, separators=(",", ":"))
                if sqlite
                else items,
                "first_run": first_run,
                "results_since": since if any(s is not None for s in since) else None,
            }
        )
    pair_result = sa.table(
        "pair_result",
        sa.column("entity_ref"),
        sa.column("track_id"),
        sa.column("results", _PACKED),
        sa.column("first_run"),
        sa.column(
            "results_since",
            sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql"),
        ),
    )
    if packed_rows:
        bind.execute(pair_result.insert(), packed_rows)
        bind.execute(
            sa.text(
                "UPDATE certification SET outcomes = :codes, layout_id = :layout "
                "WHERE entity_ref = :ref AND track_id = :track"
            ),
            letters,
        )
    # A certification without results (a track without checks) gets an empty row: every
    # pair has both. The digests stay: they hash another encoding, so the next run of each
    # pair compares its results one by one (finding no change) and writes the new digest.
    empty = "'[]'" if sqlite else "'[]'::jsonb"
    op.execute(
        "INSERT INTO pair_result (entity_ref, track_id, results, first_run) "
        f"SELECT c.entity_ref, c.track_id, {empty}, c.run_id FROM certification c "
        "WHERE NOT EXISTS (SELECT 1 FROM pair_result p "
        "WHERE p.entity_ref = c.entity_ref AND p.track_id = c.track_id)"
    )
    op.drop_index("ix_result_track_check", table_name="result")
    op.drop_index("ix_result_track_outcome", table_name="result")
    op.drop_table("result")
    op.execute(_VIEW[bind.dialect.name])


def downgrade() -> None:
    op.create_table(
        "result_table",
        sa.Column("entity_ref", sa.String(), nullable=False),
        sa.Column("track_id", sa.String(), nullable=False),
        sa.Column("check_id", sa.String(), nullable=False),
        sa.Column("level_id", sa.String(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("outcome", _ENUM, nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("evidence", _JSON, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entity_ref"], ["entity.ref"]),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"]),
        sa.PrimaryKeyConstraint("entity_ref", "track_id", "check_id"),
    )
    op.execute(f"INSERT INTO result_table ({_RESULT_COLUMNS}) SELECT {_RESULT_COLUMNS} FROM result")
    op.execute("DROP VIEW result")
    op.rename_table("result_table", "result")
    op.create_index("ix_result_track_outcome", "result", ["track_id", "outcome"])
    op.create_index(
        "ix_result_track_check", "result", ["track_id", "check_id", "level_id", "outcome"]
    )
    op.drop_table("pair_result")
    sqlite = op.get_bind().dialect.name == "sqlite"
    # SQLite drops no column that a reference names: the table is copied without it.
    with op.batch_alter_table("certification", recreate="always" if sqlite else "auto") as batch:
        batch.drop_column("layout_id")
        batch.drop_column("outcomes")
        batch.drop_column("inputs_digest")
    op.drop_table("track_layout")
