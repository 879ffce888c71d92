"""Slimmer packed results: each item keeps only what the pair's other columns do not.

A packed item was `[check_id, level_id, required, outcome, message, evidence]`; the
check, level and requirement are the pair's layout's (`track_layout.checks`, now
`[[check_id, level_id, required], ...]`) and the outcome is the pair's letter in
`certification.outcomes`. An item is now the message alone, or `[message, evidence]`
when there is evidence; a message that begins with the entity's ref and a space is kept
without them, marked `@` (any other is marked `=`). At 100,000 entities × 10 checks the
packed text went from 1,500 to about 880 bytes a pair, and the database by a quarter.
The `result` view reads the three back from the layout and the letters and puts the ref
back, so every row reads as it did. The digests stay: they hash the other encoding, so
the next run of each pair compares its results one by one (finding no change) and
writes the new digest.

Revision ID: 0006_slim_packed_results
Revises: 0005_packed_results
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006_slim_packed_results"
down_revision = "0005_packed_results"
branch_labels = None
depends_on = None

_PACKED = sa.Text().with_variant(JSONB(), "postgresql")

# The view as this revision creates it; the store's `RESULT_VIEW` is held equal to it.
_VIEW = {
    "sqlite": """
CREATE VIEW result AS
SELECT p.entity_ref AS entity_ref, p.track_id AS track_id, p.check_id AS check_id,
       p.level_id AS level_id, p.required AS required, p.outcome AS outcome,
       CASE WHEN substr(p.kept, 1, 1) = '@' THEN p.entity_ref || ' ' || substr(p.kept, 2)
            ELSE substr(p.kept, 2) END AS message,
       p.evidence AS evidence, p.run_id AS run_id, r.finished_at AS changed_at
FROM (
    SELECT c.entity_ref AS entity_ref, c.track_id AS track_id,
           json_extract(l.checks, '$[' || j.key || '][0]') AS check_id,
           json_extract(l.checks, '$[' || j.key || '][1]') AS level_id,
           json_extract(l.checks, '$[' || j.key || '][2]') AS required,
           CASE substr(k.outcomes, j.key + 1, 1)
               WHEN 'p' THEN 'pass' WHEN 'f' THEN 'fail' WHEN 'w' THEN 'warn'
               WHEN 'n' THEN 'not_applicable' WHEN 'u' THEN 'unknown' ELSE 'error'
           END AS outcome,
           CASE j.type WHEN 'array' THEN json_extract(j.value, '$[0]') ELSE j.value END AS kept,
           CASE j.type WHEN 'array' THEN json_extract(j.value, '$[1]') ELSE '{}' END AS evidence,
           coalesce(json_extract(c.results_since, '$[' || j.key || ']'), c.first_run)
               AS run_id
    FROM pair_result c
    JOIN certification k ON k.entity_ref = c.entity_ref AND k.track_id = c.track_id
    JOIN track_layout l ON l.id = k.layout_id,
    json_each(c.results) j
) p
LEFT JOIN run r ON r.id = p.run_id
""",
    "postgresql": """
CREATE VIEW result AS
SELECT p.entity_ref, p.track_id, p.check_id, p.level_id, p.required, p.outcome,
       CASE WHEN left(p.kept, 1) = '@' THEN p.entity_ref || ' ' || substr(p.kept, 2)
            ELSE substr(p.kept, 2) END AS message,
       p.evidence, p.run_id, r.finished_at AS changed_at
FROM (
    SELECT c.entity_ref, c.track_id,
           (l.checks::jsonb -> (j.n - 1)::int) ->> 0 AS check_id,
           (l.checks::jsonb -> (j.n - 1)::int) ->> 1 AS level_id,
           ((l.checks::jsonb -> (j.n - 1)::int) ->> 2)::boolean AS required,
           CASE substr(k.outcomes, j.n::int, 1)
               WHEN 'p' THEN 'pass' WHEN 'f' THEN 'fail' WHEN 'w' THEN 'warn'
               WHEN 'n' THEN 'not_applicable' WHEN 'u' THEN 'unknown' ELSE 'error'
           END AS outcome,
           CASE jsonb_typeof(j.value) WHEN 'array' THEN j.value ->> 0 ELSE j.value #>> '{}'
           END AS kept,
           CASE jsonb_typeof(j.value) WHEN 'array' THEN j.value -> 1 ELSE '{}'::jsonb
           END AS evidence,
           coalesce((c.results_since ->> (j.n - 1)::int)::integer, c.first_run) AS run_id
    FROM pair_result c
    JOIN certification k ON k.entity_ref = c.entity_ref AND k.track_id = c.track_id
    JOIN track_layout l ON l.id = k.layout_id
    CROSS JOIN LATERAL jsonb_array_elements(c.results) WITH ORDINALITY AS j(value, n)
) p
LEFT JOIN run r ON r.id = p.run_id
""",
}

# The view of revision 0005, which the downgrade puts back.
_PREVIOUS_VIEW = {
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

# An outcome's letter in `certification.outcomes`, and back.
_LETTERS = {
    "pass": "p", "fail": "f", "warn": "w", "not_applicable": "n", "unknown": "u", "error": "e",
}  # fmt: skip
_OUTCOMES = {letter: outcome for outcome, letter in _LETTERS.items()}


def _text(value: Any) -> str:
    # As the store packs (orjson; what it refuses, an integer past 64 bits, the slow way).
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _slim(ref: str, item: list[Any]) -> Any:
    message = item[4]
    named = ref + " "
    kept = "@" + message[len(named) :] if message.startswith(named) else "=" + message
    return [kept, item[5]] if len(item) > 5 and item[5] else kept


def _full(ref: str, head: list[Any], letter: str, item: Any) -> list[Any]:
    kept, evidence = (item[0], item[1]) if isinstance(item, list) else (item, None)
    message = f"{ref} {kept[1:]}" if kept.startswith("@") else kept[1:]
    full = [head[0], head[1], head[2], _OUTCOMES.get(letter, "error"), message]
    return [*full, evidence] if evidence else full


def _rewrite(slim: bool) -> None:
    """Every pair's items rewritten the other way, with the layouts they name."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    layouts = {
        layout_id: (track, json.loads(checks))
        for layout_id, track, checks in bind.execute(
            sa.text("SELECT id, track_id, checks FROM track_layout")
        )
    }
    rows = bind.execute(
        sa.text(
            "SELECT p.entity_ref, p.track_id, p.results, c.outcomes, c.layout_id "
            "FROM pair_result p JOIN certification c "
            "ON c.entity_ref = p.entity_ref AND c.track_id = p.track_id"
        )
    ).all()
    made: dict[tuple[str, str], int] = {}
    pairs, levels = [], []
    for ref, track, results, letters, layout_id in rows:
        items = json.loads(results) if isinstance(results, str) else list(results or [])
        if not items:
            continue
        if slim:
            heads = [[item[0], item[1], bool(item[2])] for item in items]
            codes = "".join(_LETTERS.get(item[3], "e") for item in items)
            packed = [_slim(ref, item) for item in items]
        else:
            heads = [entry[:2] for entry in layouts[layout_id][1]]
            codes = letters
            packed = [
                _full(ref, head, letter, item)
                for head, letter, item in zip(layouts[layout_id][1], letters, items, strict=True)
            ]
        checks = _text(heads)
        if (track, checks) not in made:
            made[track, checks] = bind.execute(
                sa.text(
                    "INSERT INTO track_layout (track_id, checks) VALUES (:track, :checks) "
                    "RETURNING id"
                ),
                {"track": track, "checks": checks},
            ).scalar_one()
        text = _text(packed)
        pairs.append({"ref": ref, "track": track, "results": text if sqlite else packed})
        levels.append(
            {
                "ref": ref,
                "track": track,
                "codes": codes,
                "layout": made[track, checks],
            }
        )
    if pairs:
        pair_result = sa.table(
            "pair_result", sa.column("entity_ref"), sa.column("track_id"),
            sa.column("results", _PACKED),
        )  # fmt: skip
        bind.execute(
            pair_result.update()
            .where(
                pair_result.c.entity_ref == sa.bindparam("ref"),
                pair_result.c.track_id == sa.bindparam("track"),
            )
            .values(results=sa.bindparam("results", type_=_PACKED)),
            pairs,
        )
        bind.execute(
            sa.text(
                "UPDATE certification SET outcomes = :codes, layout_id = :layout "
                "WHERE entity_ref = :ref AND track_id = :track"
            ),
            levels,
        )
    # Layouts no pair names any more: those of the other shape.
    op.execute(
        "DELETE FROM track_layout WHERE id NOT IN "
        "(SELECT layout_id FROM certification WHERE layout_id IS NOT NULL)"
    )


def upgrade() -> None:
    op.execute("DROP VIEW result")
    _rewrite(slim=True)
    op.execute(_VIEW[op.get_bind().dialect.name])


def downgrade() -> None:
    op.execute("DROP VIEW result")
    _rewrite(slim=False)
    op.execute(_PREVIOUS_VIEW[op.get_bind().dialect.name])
