"""Exemption files: strict loading, a FILE:LINE:COL and key path for every problem, the
limits track files have, and `scorecard validate` over a workspace that has some."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scorecard.catalog.safe_yaml import MAX_DEPTH, MAX_FILE_BYTES
from scorecard.cli import app
from scorecard.problems import ConfigError
from scorecard.program.exemptions import (
    ExemptionSpec,
    exemption_files,
    expiry_problem,
    justification_problem,
    load_exemptions,
    normalize_entity_ref,
    parse_expiry,
    target_problem,
)
from scorecard.registry import CheckRegistry
from scorecard.tracks import Track, load_tracks

NOW = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
MAX_DAYS = 180  # the latest allowed expiry is 2026-06-30

BASICS = """\
apiVersion: scorecard/v1
kind: Track
id: basics
title: Basics
levels:
  - id: bronze
    checks: [has_owner, has_description]
"""
DOCS = """\
apiVersion: scorecard/v1
kind: Track
id: docs
title: Docs
levels:
  - id: bronze
    checks: [has_description]
"""

# Line by line, so that the cases below can name the line of each key.
GOOD = """\
apiVersion: scorecard/v1
kind: Exemption
entity: component:default/nightly-report
track: basics
check: has_owner
justification: A nightly batch job with no team until the data platform reorg lands.
expires: 2026-03-01
"""
# A valid first document (5 lines and its `---`), so that the bad one starts on line 7.
FIRST = """\
apiVersion: scorecard/v1
kind: Exemption
entity: component:billing
check: has_description
justification: Billing is being rewritten and documented in the new repository.
expires: 2026-02-01
---
"""
OFFSET = FIRST.count("\n")


@pytest.fixture
def tracks(tmp_path: Path, registry: CheckRegistry) -> list[Track]:
    folder = tmp_path / "tracks"
    folder.mkdir()
    (folder / "basics.yaml").write_text(BASICS)
    (folder / "docs.yaml").write_text(DOCS)
    return load_tracks([folder], registry)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def problems_of(paths: list[Path], tracks: list[Track]) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_exemptions(paths, tracks, MAX_DAYS, NOW)
    return [str(p) for p in raised.value.problems]


def only_problem(paths: list[Path], tracks: list[Track]) -> str:
    problems = problems_of(paths, tracks)
    assert len(problems) == 1, problems
    return problems[0]


# --- a valid file ----------------------------------------------------------------------


def test_a_file_of_two_documents_loads_into_two_specs(tmp_path: Path, tracks: list[Track]) -> None:
    second = (
        "apiVersion: scorecard/v1\n"
        "kind: Exemption\n"
        "entity: API:Team-A/orders-api\n"
        "check: has_description\n"
        "justification: >\n"
        "  The API is described in its OpenAPI definition,\n"
        "  which the portal shows instead.\n"
        "expires: 2026-02-01T12:30:00+02:00\n"
        "requested_by: group:default/orders\n"
    )
    path = write(tmp_path, "exemptions.yaml", GOOD + "---\n" + second + "---\n")
    first, other = load_exemptions([path], tracks, MAX_DAYS, NOW)
    assert first == ExemptionSpec(
        entity_ref="component:default/nightly-report",
        track_id="basics",
        check_id="has_owner",
        justification="A nightly batch job with no team until the data platform reorg lands.",
        expires_at=datetime(2026, 3, 1, tzinfo=UTC),
        requested_by=None,
        source=str(path),
        line=1,
    )
    assert other.entity_ref == "api:team-a/orders-api"  # kind and namespace lower-cased
    assert other.track_id is None  # every track that has the check
    assert other.expires_at == datetime(2026, 2, 1, 10, 30, tzinfo=UTC)
    assert other.justification.endswith("which the portal shows instead.")
    assert other.requested_by == "group:default/orders"
    assert other.line == GOOD.count("\n") + 2


def test_a_file_of_comments_holds_no_exemption(tmp_path: Path, tracks: list[Track]) -> None:
    path = write(tmp_path, "none.yaml", "# every exemption has expired\n")
    assert load_exemptions([path], tracks, MAX_DAYS, NOW) == []


def test_folders_are_searched_recursively_in_order(tmp_path: Path) -> None:
    folder = tmp_path / "exemptions"
    b = write(folder, "b.yaml", "")
    a = write(folder, "team/a.yml", "")
    write(folder, "notes.md", "")
    write(folder, ".git/config.yaml", "")
    single = write(tmp_path, "other.txt", "")
    assert exemption_files([single, folder]) == [single, b, a]


# --- each problem, where it is ---------------------------------------------------------


def replace(line: str, new: str | None) -> str:
    """GOOD with the line starting `line` replaced by `new` (or removed)."""
    lines = GOOD.splitlines(keepends=True)
    index = next(i for i, text in enumerate(lines) if text.startswith(line))
    lines[index : index + 1] = [] if new is None else [new + "\n"]
    return "".join(lines)


@pytest.mark.parametrize(
    ("body", "line", "column", "key", "message"),
    [
        pytest.param(GOOD + "colour: red\n", 8, 1, "colour", "unknown key 'colour'", id="key"),
        pytest.param(
            GOOD.replace("requested", "") + "requestedby: me\n",
            8,
            1,
            "requestedby",
            "unknown key 'requestedby' (did you mean 'requested_by'?)",
            id="misspelt-key",
        ),
        pytest.param(
            replace("check:", "check: has_ownr"),
            5,
            1,
            "check",
            "track 'basics' has no check 'has_ownr' (did you mean 'has_owner'? its checks: "
            "has_owner, has_description)",
            id="unknown-check",
        ),
        pytest.param(
            replace("track:", None).replace("has_owner", "has_runbook"),
            4,
            1,
            "check",
            "no track has a check 'has_runbook'",
            id="check-in-no-track",
        ),
        pytest.param(
            replace("track:", "track: basic"),
            4,
            1,
            "track",
            "unknown track 'basic' (did you mean 'basics'? known tracks: basics, docs)",
            id="unknown-track",
        ),
        pytest.param(
            replace("justification:", None),
            1,
            1,
            "justification",
            "required key is missing",
            id="missing-justification",
        ),
        pytest.param(
            replace("justification:", "justification: legacy app"),
            6,
            1,
            "justification",
            "the justification must be at least a sentence: 20 characters and 4 words "
            "(this one has 10 characters and 2 words)",
            id="short-justification",
        ),
        pytest.param(
            replace("expires:", "expires: 2026-07-01"),
            7,
            1,
            "expires",
            "the expiry 2026-07-01 is more than 180 days away, the limit "
            "(exemptions.max_days); the latest allowed date is 2026-06-30",
            id="beyond-max-days",
        ),
        pytest.param(
            replace("expires:", "expires: 2025-12-31"),
            7,
            1,
            "expires",
            "the expiry 2025-12-31 is in the past",
            id="in-the-past",
        ),
        pytest.param(
            replace("expires:", "expires: 2026-03-01T10:00:00"),
            7,
            1,
            "expires",
            "has no time zone",
            id="naive-datetime",
        ),
        pytest.param(
            replace("expires:", "expires: soon"),
            7,
            1,
            "expires",
            "'soon' is not a date (2027-03-01) or a date and time with its zone",
            id="not-a-date",
        ),
        pytest.param(
            replace("expires:", "expires: 2026-02-30"),
            7,
            10,
            "expires",
            "invalid value: day is out of range for month",
            id="no-such-day",
        ),
        pytest.param(
            replace("entity:", "entity: nightly-report"),
            3,
            1,
            "entity",
            "entity ref 'nightly-report' has no kind: write kind:name or kind:namespace/name",
            id="ref-without-kind",
        ),
        pytest.param(
            replace("entity:", "entity: component:default/nightly report"),
            3,
            1,
            "entity",
            "'nightly report' is not a valid name",
            id="ref-with-bad-name",
        ),
        pytest.param(
            replace("kind:", "kind: Exception"),
            2,
            1,
            "kind",
            "Input should be 'Exemption'",
            id="wrong-kind",
        ),
        pytest.param(
            replace("apiVersion:", "apiVersion: scorecard/v2"),
            1,
            1,
            "apiVersion",
            "Input should be 'scorecard/v1'",
            id="wrong-api-version",
        ),
        pytest.param(
            GOOD + "track: docs\n",
            8,
            1,
            "track",
            "duplicate key",
            id="duplicate-key",
        ),
    ],
)
def test_each_problem_names_file_line_column_and_key(
    tmp_path: Path,
    tracks: list[Track],
    body: str,
    line: int,
    column: int,
    key: str,
    message: str,
) -> None:
    # The bad document comes second: lines count from the top of the file.
    path = write(tmp_path, "exemptions.yaml", FIRST + body)
    problem = only_problem([path], tracks)
    assert problem.startswith(f"{path}:{OFFSET + line}:{column}: {key}: "), problem
    assert message in problem


def test_every_problem_of_every_file_is_reported(tmp_path: Path, tracks: list[Track]) -> None:
    one = write(
        tmp_path,
        "one.yaml",
        replace("check:", "check: nope").replace("2026-03-01", "2030-01-01") + "extra: 1\n",
    )
    two = write(tmp_path, "two.yaml", replace("kind:", "kind: Track"))
    problems = problems_of([one, two, tmp_path / "missing"], tracks)
    assert [p.split(": ")[1] for p in problems] == [
        "check",
        "expires",
        "extra",
        "kind",
        "no such file or folder",
    ]
    assert problems[0].startswith(f"{one}:5:1: ")
    assert problems[3].startswith(f"{two}:2:1: ")
    assert problems[4] == f"{tmp_path / 'missing'}: no such file or folder"


def test_the_same_exemption_twice_is_refused(tmp_path: Path, tracks: list[Track]) -> None:
    first = write(tmp_path, "a.yaml", GOOD)
    # The same entity written another way, on the same track, for the same check.
    again = GOOD.replace("component:default/nightly-report", "Component:nightly-report")
    second = write(tmp_path, "b.yaml", FIRST + again)
    problem = only_problem([first, second], tracks)
    assert problem == (
        f"{second}:{OFFSET + 3}:1: entity: duplicate exemption: "
        "component:default/nightly-report is already exempted from 'has_owner' on track "
        f"'basics' at {first}:1"
    )


def test_the_same_check_on_another_track_is_another_exemption(
    tmp_path: Path, tracks: list[Track]
) -> None:
    on_docs = replace("track:", "track: docs").replace("has_owner", "has_description")
    on_basics = replace("check:", "check: has_description")
    path = write(tmp_path, "a.yaml", on_docs + "---\n" + on_basics)
    assert len(load_exemptions([path], tracks, MAX_DAYS, NOW)) == 2


def test_a_server_may_load_expired_exemptions(tmp_path: Path, tracks: list[Track]) -> None:
    # A file valid yesterday must not block a server's reload today: the exemption ends.
    path = write(tmp_path, "a.yaml", replace("expires:", "expires: 2025-12-31"))
    [spec] = load_exemptions([path], tracks, MAX_DAYS, NOW, allow_expired=True)
    assert spec.expires_at == datetime(2025, 12, 31, tzinfo=UTC)
    late = write(tmp_path, "b.yaml", replace("expires:", "expires: 2027-01-01"))
    with pytest.raises(ConfigError, match="more than 180 days away"):
        load_exemptions([late], tracks, MAX_DAYS, NOW, allow_expired=True)


def test_broken_yaml_is_reported_with_its_position(tmp_path: Path, tracks: list[Track]) -> None:
    path = write(tmp_path, "a.yaml", FIRST + "entity: [component:a\n")
    problem = only_problem([path], tracks)
    assert problem.startswith(f"{path}:{OFFSET + 2}:1: invalid YAML: "), problem


def test_a_document_that_is_no_mapping_is_refused(tmp_path: Path, tracks: list[Track]) -> None:
    path = write(tmp_path, "a.yaml", FIRST + "- just\n- a list\n")
    assert only_problem([path], tracks) == (
        f"{path}:{OFFSET + 1}:1: an exemption must be a YAML mapping"
    )


# --- hostile input, refused as in track files -------------------------------------------


def test_an_alias_bomb_is_refused_and_the_next_document_read(
    tmp_path: Path, tracks: list[Track]
) -> None:
    bomb = 'a: &a ["xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx"]\n'
    for level in range(1, 12):
        previous = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        bomb += f"{name}: &{name} [*{previous},*{previous},*{previous},*{previous},*{previous}]\n"
    body = GOOD + "notes:\n" + "".join("  " + line + "\n" for line in bomb.splitlines())
    path = write(tmp_path, "bomb.yaml", body + "---\n" + FIRST.removesuffix("---\n"))
    problem = only_problem([path], tracks)
    assert problem.startswith(f"{path}:"), problem
    assert "with its aliases expanded it would be about" in problem
    assert "over the limit of" in problem
    # The bomb is refused as a whole; FIRST, after it, still had to be read and checked:
    # otherwise a duplicate or a bad value there would go unnoticed.
    path.write_text(body + "---\n" + FIRST.replace("has_description", "nope").removesuffix("---\n"))
    assert len(problems_of([path], tracks)) == 2


def test_a_document_nested_too_deep_is_refused(tmp_path: Path, tracks: list[Track]) -> None:
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    path = write(tmp_path, "deep.yaml", FIRST + GOOD + f"notes: {deep}\n")
    problem = only_problem([path], tracks)
    assert problem.startswith(f"{path}:{OFFSET + 8}:"), problem
    assert problem.endswith(f"nested more than {MAX_DEPTH} levels deep")


def test_a_document_too_deep_to_parse_is_refused(tmp_path: Path, tracks: list[Track]) -> None:
    path = write(tmp_path, "deep.yaml", GOOD + "notes: " + "[" * 100_000 + "\n")
    assert only_problem([path], tracks) == f"{path}: invalid YAML: nested too deeply to parse"


def test_an_oversized_file_is_not_read(tmp_path: Path, tracks: list[Track]) -> None:
    path = write(tmp_path, "huge.yaml", GOOD)
    os.truncate(path, MAX_FILE_BYTES + 1)  # sparse: refused by its size, never read
    problem = only_problem([path], tracks)
    assert problem == (
        f"{path}: cannot read file: it is larger than the limit of {MAX_FILE_BYTES:,} bytes "
        "for a catalog file"
    )


def test_a_fifo_is_not_read(tmp_path: Path, tracks: list[Track]) -> None:
    folder = tmp_path / "exemptions"
    folder.mkdir()
    os.mkfifo(folder / "pipe.yaml")  # nobody writes to it: reading would hang
    problem = only_problem([folder], tracks)
    expected = "cannot read file: it is not a regular file but a FIFO"
    assert problem == f"{folder / 'pipe.yaml'}: {expected}"


# --- the rules the API shares ------------------------------------------------------------


def test_justification_rules() -> None:
    assert justification_problem("Replaced by the new ledger in March.") is None
    assert justification_problem("   n/a   ") is not None
    assert justification_problem("supersedingly-long-oneword-justification") is not None
    assert justification_problem("  Too short a text.  ") is not None  # 4 words, 18 chars


def test_expiry_rules() -> None:
    assert expiry_problem(NOW + timedelta(days=MAX_DAYS), NOW, MAX_DAYS) is None
    assert expiry_problem(NOW, NOW, MAX_DAYS) == (
        "the expiry 2026-01-01T09:00:00Z is in the past (now is 2026-01-01T09:00:00Z)"
    )
    late = expiry_problem(NOW + timedelta(days=MAX_DAYS, seconds=1), NOW, MAX_DAYS)
    assert late is not None and "180 days" in late and "2026-06-30" in late


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2026, 3, 1), datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01T12:00:00Z", datetime(2026, 3, 1, 12, tzinfo=UTC)),
        (
            datetime(2026, 3, 1, 1, tzinfo=timezone(timedelta(hours=2))),
            datetime(2026, 2, 28, 23, tzinfo=UTC),
        ),
    ],
)
def test_parse_expiry(value: Any, expected: datetime) -> None:
    parsed = parse_expiry(value)
    assert parsed == expected and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "value", [datetime(2026, 3, 1), "2026-03-01T12:00:00", "next week", 20260301, None, True]
)
def test_parse_expiry_refuses(value: Any) -> None:
    with pytest.raises(ValueError):
        parse_expiry(value)


def test_entity_refs() -> None:
    assert normalize_entity_ref(" Component:payments ") == "component:default/payments"
    assert normalize_entity_ref("group:Platform/SRE-team") == "group:platform/SRE-team"
    for bad in ("payments", ":payments", "component:", "component:default/a/b", "c:ns_x/a"):
        with pytest.raises(ValueError):
            normalize_entity_ref(bad)


def test_targets(tracks: list[Track]) -> None:
    assert target_problem("basics", "has_owner", tracks) is None
    assert target_problem(None, "has_description", tracks) is None
    assert target_problem("docs", "has_owner", tracks) == (
        "track 'docs' has no check 'has_owner' (its checks: has_description)"
    )
    assert target_problem("x", "has_owner", []) == "unknown track 'x' (there are no known tracks)"


# --- scorecard validate ------------------------------------------------------------------


def invoke(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Commands look for ./scorecard.yaml; run them from elsewhere, with --config.
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "workspace"
    write(root, "tracks/basics.yaml", BASICS)
    write(root, "catalog/catalog-info.yaml", "")
    write(
        root,
        "scorecard.yaml",
        "catalog: [catalog/]\ntracks: [tracks/]\nexemptions:\n  files: [exemptions/]\n",
    )
    return root


def test_validate_accepts_good_exemption_files(workspace: Path) -> None:
    far = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    write(workspace, "exemptions/team/a.yaml", GOOD.replace("2026-03-01", far))
    result = invoke("--config", workspace / "scorecard.yaml", "validate")
    assert result.exit_code == 0, result.output
    assert "1 track files and 1 exemption files are valid." in result.stderr


def test_validate_reports_bad_exemption_files(workspace: Path) -> None:
    far = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    bad = GOOD.replace("2026-03-01", far).replace("has_owner", "has_ownr")
    path = write(workspace, "exemptions/a.yaml", bad)
    result = invoke("--config", workspace / "scorecard.yaml", "validate")
    assert result.exit_code == 2, result.output
    assert f"{path}:5:1: check: track 'basics' has no check 'has_ownr'" in result.stdout
    assert "1 problem in 1 track files and 1 exemption files." in result.stderr


def test_validate_reports_a_missing_exemption_folder(workspace: Path) -> None:
    result = invoke("--config", workspace / "scorecard.yaml", "validate")
    assert result.exit_code == 2, result.output
    assert f"{workspace / 'exemptions'}: no such file or folder" in result.stdout


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda text: text.replace("track: basics", "track: basics\nteam: data"), ":5:1: team:"),
        (lambda text: text.replace("has_owner", "has_ownr"), ":5:1: check:"),
        (lambda text: text.replace(text.splitlines()[5] + "\n", ""), ": justification:"),
        (lambda text: text.replace(text.splitlines()[6], "expires: 2099-01-01"), ":7:"),
    ],
    ids=["unknown key", "unknown check", "no justification", "beyond max_days"],
)
def test_validate_names_file_line_column_and_key(workspace: Path, change: Any, where: str) -> None:
    far = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    path = write(workspace, "exemptions/a.yaml", change(GOOD.replace("2026-03-01", far)))
    result = invoke("--config", workspace / "scorecard.yaml", "validate")
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith(str(path))]
    assert lines and where in lines[0], result.stdout
    if where == ":7:":
        assert "expires:" in lines[0] and "180" in lines[0]
