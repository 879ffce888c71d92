from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from scorecard.problems import ConfigError
from scorecard.registry import CheckRegistry
from scorecard.testing import make_entity
from scorecard.tracks import load_track, load_tracks, parse_duration, track_json_schema

HEADER = "apiVersion: scorecard/v1\nkind: Track\nid: t\ntitle: T\n"


def test_valid_track_resolves_checks_and_params(registry: CheckRegistry, data_dir: Path) -> None:
    track = load_track(data_dir / "tracks" / "valid.yaml", registry)
    assert [level.id for level in track.levels] == ["bronze", "silver"]
    assert [c.id for c in track.checks] == ["has_owner", "has_tags", "has_runbook", "has_adr"]
    runbook = track.checks[2]
    assert runbook.check.id == "has_file"
    assert runbook.params.path == "docs/runbook.md"
    assert runbook.title == "Has a runbook"
    assert runbook.level_id == "silver" and runbook.track_id == "example"
    assert "docs/runbook.md" in runbook.remediation
    assert track.checks[1].required is False
    assert track.schedule == timedelta(hours=6)
    assert track.levels[1].title == "Silver standard"


@pytest.mark.parametrize(
    ("body", "line", "column", "key", "message"),
    [
        pytest.param(
            "colour: blue\nlevels: [{id: a, checks: [has_owner]}]\n",
            5,
            1,
            "colour",
            "unknown key 'colour'",
            id="unknown-top-level-key",
        ),
        pytest.param(
            "levels:\n  - id: a\n    checkz: [has_owner]\n",
            7,
            5,
            "levels[0].checkz",
            "did you mean 'checks'",
            id="misspelt-key-hint",
        ),
        pytest.param(
            "levels:\n  - id: a\n    checks:\n      - has_owner\n      - has_ownr\n",
            9,
            9,
            "levels[0].checks[1].check",
            "unknown check 'has_ownr'",
            id="unknown-check",
        ),
        pytest.param(
            "levels:\n  - id: a\n    checks:\n"
            "      - check: has_tags\n        with: {min_count: many}\n",
            9,
            16,
            "levels[0].checks[0].with.min_count",
            "valid integer",
            id="bad-param-type",
        ),
        pytest.param(
            "levels:\n  - id: a\n    checks:\n      - check: has_file\n",
            8,
            9,
            "levels[0].checks[0].with.path",
            "required key is missing",
            id="missing-param",
        ),
        pytest.param(
            "levels:\n  - id: a\n    checks:\n"
            "      - check: has_file\n        with: {path: x, mode: y}\n",
            9,
            25,
            "levels[0].checks[0].with.mode",
            "unknown key 'mode'",
            id="unknown-param",
        ),
        pytest.param(
            "levels:\n  - id: a\n    checks: [has_owner]\n  - id: b\n    checks: [has_owner]\n",
            9,
            14,
            "levels[1].checks[0]",
            "duplicate check id 'has_owner'",
            id="duplicate-check-id",
        ),
        pytest.param(
            "levels:\n  - id: a\n    checks: [has_owner]\n  - id: a\n    checks: [has_title]\n",
            8,
            5,
            "levels[1].id",
            "duplicate level id 'a'",
            id="duplicate-level-id",
        ),
        pytest.param("levels: []\n", 5, 1, "levels", "at least 1 item", id="no-levels"),
        pytest.param(
            "levels:\n  - id: a\n    checks: []\n",
            7,
            5,
            "levels[0].checks",
            "at least 1 item",
            id="empty-level",
        ),
        pytest.param(
            "schedule: '61 * * * *'\nlevels: [{id: a, checks: [has_owner]}]\n",
            5,
            1,
            "schedule",
            "invalid cron expression",
            id="bad-cron",
        ),
        pytest.param(
            "schedule: {every: soon}\nlevels: [{id: a, checks: [has_owner]}]\n",
            5,
            1,
            "schedule",
            "not a duration",
            id="bad-interval",
        ),
        pytest.param(
            "filter: {kind: [Component, {x: 1}]}\nlevels: [{id: a, checks: [has_owner]}]\n",
            5,
            28,
            "filter[0].kind[1]",
            "valid string",
            id="bad-filter-value",
        ),
        pytest.param(
            "levels: [{id: a, checks: [has_owner]}]\nlevels: [{id: b, checks: [has_owner]}]\n",
            6,
            1,
            "levels",
            "duplicate key",
            id="duplicate-yaml-key",
        ),
    ],
)
def test_errors_name_file_line_column_and_key(
    tmp_path: Path,
    registry: CheckRegistry,
    body: str,
    line: int,
    column: int,
    key: str,
    message: str,
) -> None:
    path = tmp_path / "track.yaml"
    path.write_text(HEADER + body)
    with pytest.raises(ConfigError) as caught:
        load_track(path, registry)
    problems = caught.value.problems
    problem = next((p for p in problems if p.key == key), None)
    assert problem is not None, [str(p) for p in problems]
    assert (problem.file, problem.line, problem.column) == (str(path), line, column), str(problem)
    assert message in problem.message
    assert str(problem).startswith(f"{path}:{line}:{column}: {key}: ")


def test_yaml_syntax_error_has_position(tmp_path: Path, registry: CheckRegistry) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(HEADER + "levels:\n  - id: a\n   checks: [\n")
    with pytest.raises(ConfigError) as caught:
        load_track(path, registry)
    (problem,) = caught.value.problems
    assert problem.line is not None and problem.line >= 6
    assert "invalid YAML" in problem.message


def test_wrong_api_version_is_reported(tmp_path: Path, registry: CheckRegistry) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("apiVersion: scorecard/v2\nkind: Track\nid: t\ntitle: T\nlevels: []\n")
    with pytest.raises(ConfigError) as caught:
        load_track(path, registry)
    keys = {p.key for p in caught.value.problems}
    assert {"apiVersion", "levels"} <= keys


def test_every_problem_of_every_file_is_reported(tmp_path: Path, registry: CheckRegistry) -> None:
    (tmp_path / "a.yaml").write_text(HEADER.replace("id: t", "id: a") + "levels: []\n")
    (tmp_path / "b.yaml").write_text(HEADER + "levels: [{id: x, checks: [nope, nada]}]\n")
    (tmp_path / "c.yaml").write_text(HEADER + "levels: [{id: x, checks: [has_owner]}]\n")
    (tmp_path / "d.yaml").write_text(HEADER + "levels: [{id: x, checks: [has_owner]}]\n")
    with pytest.raises(ConfigError) as caught:
        load_tracks([tmp_path], registry)
    messages = [str(p) for p in caught.value.problems]
    assert len(messages) == 4, messages
    assert any("already used by" in m and "d.yaml" in m for m in messages)


def test_filter_and_exclude_decide_applicability(registry: CheckRegistry, data_dir: Path) -> None:
    track = load_track(data_dir / "tracks" / "valid.yaml", registry)
    service = {"kind": "Component", "spec": {"type": "service", "lifecycle": "production"}}
    assert track.applies_to(make_entity(service))
    assert not track.applies_to(
        make_entity({"kind": "Component", "spec": {"type": "service", "lifecycle": "experimental"}})
    )
    assert not track.applies_to(make_entity({"kind": "Component", "spec": {"type": "library"}}))
    assert track.applies_to(make_entity({"kind": "API", "spec": {"type": "openapi"}}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("6h", timedelta(hours=6)), ("1h30m", timedelta(minutes=90)), ("2d", timedelta(days=2))],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "6", "soon", "30s", "h6"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_json_schema_describes_the_file_format() -> None:
    schema = track_json_schema()
    assert schema["required"] == ["apiVersion", "kind", "id", "title", "levels"]
    assert schema["additionalProperties"] is False
    json.dumps(schema)  # serialisable for editors
