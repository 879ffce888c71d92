"""What `scorecard preview` does with files it cannot use: exit 2 with one clear line per
problem, as `scorecard validate` words them, and no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorecard.workspace import DEMO_DIR
from tests.preview.conftest import invoke


def _refused(*args: str | Path) -> list[str]:
    result = invoke("preview", *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    return result.stderr.splitlines()


def test_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert _refused(missing) == [f"{missing}: no such file or folder"]


def test_a_file_that_is_not_a_track(tmp_path: Path) -> None:
    entity = tmp_path / "catalog-info.yaml"
    entity.write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x}\n"
        "spec: {type: service, owner: team}\n"
    )
    lines = _refused(entity)
    assert f"{entity}:2:1: kind: Input should be 'Track'" in lines
    assert f"{entity}:1:1: levels: required key is missing" in lines
    assert all(line.startswith(f"{entity}:") for line in lines)

    # A catalog file of several documents is not one track either.
    systems = DEMO_DIR / "catalog" / "systems.yaml"
    [line] = _refused(systems)
    assert line.startswith(f"{systems}:") and "expected a single document" in line


def test_an_invalid_track_names_file_line_column_and_key(tmp_path: Path) -> None:
    track = tmp_path / "t.yaml"
    track.write_text(
        "apiVersion: scorecard/v1\nkind: Track\nid: t\ntitle: T\nlevels:\n"
        "  - id: bronze\n    checks:\n      - check: has_file\n        with: {paht: x}\n"
    )
    assert _refused(track) == [
        f"{track}:9:9: levels[0].checks[0].with.path: required key is missing",
        f"{track}:9:16: levels[0].checks[0].with.paht: unknown key 'paht' (did you mean 'path'?)",
    ]


def test_an_alias_bomb(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [{', '.join([f'*{previous}'] * 10)}]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")

    [line] = _refused(bomb)
    assert line.startswith(f"{bomb}:") and "with its aliases expanded it would be" in line


@pytest.mark.parametrize("depth", [100, 20_000])
def test_deep_nesting(tmp_path: Path, depth: int) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("levels: " + "[" * depth + "]" * depth + "\n")

    [line] = _refused(deep)
    assert line.startswith(f"{deep}") and "nested" in line and "deep" in line


def test_a_file_that_is_not_yaml(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: scorecard/v1\nkind: [Track\n")
    [line] = _refused(broken)
    assert line.startswith(f"{broken}:3:1: invalid YAML")


def test_a_control_character(tmp_path: Path) -> None:
    odd = tmp_path / "odd.yaml"
    odd.write_text("apiVersion: scorecard/v1\ntitle: a\x07b\n")
    assert _refused(odd) == [f"{odd}:2:9: invalid YAML: character #x0007 is not allowed"]


def test_an_unknown_format(tmp_path: Path) -> None:
    result = invoke("preview", "--format", "xml")
    assert result.exit_code == 2
    assert "use text, json or markdown" in result.output


def test_a_baseline_ref_outside_a_repository(runbook_change: Path) -> None:
    [line] = _refused(runbook_change, "--baseline-ref", "main")
    assert line.startswith(f"{runbook_change}: cannot read it at 'main' for the baseline")
    assert "not a git repository" in line


def test_a_baseline_ref_that_looks_like_an_option(runbook_change: Path) -> None:
    assert _refused(runbook_change, "--baseline-ref=--output=x") == [
        "--baseline-ref: '--output=x' is not a git ref"
    ]
