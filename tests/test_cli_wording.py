"""How the command line words what it prints: `scorecard entity` by level, and tables that
a CI log or a pipe gets whole."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scorecard.cli import app
from scorecard.registry import build_registry
from scorecard.tracks import load_tracks
from scorecard.workspace import DEMO_DIR, bundled_tracks

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_workspace_file(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    # Commands look for ./scorecard.yaml; run them from an empty folder.
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    monkeypatch.delenv("SCORECARD_DATABASE_URL", raising=False)
    monkeypatch.delenv("SCORECARD_CONFIG", raising=False)


def test_entity_lists_what_fails_under_each_level(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'scorecard.db'}"
    assert runner.invoke(app, ["run", "--db", db], catch_exceptions=False).exit_code == 0
    result = runner.invoke(app, ["entity", "checkout-web", "--db", db], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()

    track = next(
        t
        for t in load_tracks([bundled_tracks()], build_registry([DEMO_DIR / "checks"]))
        if t.id == "production-readiness"
    )
    start = lines.index("Production readiness: bronze  (next: silver)")
    # The track's block ends at the next track's header (a fix's blank lines are in it).
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i] and not lines[i].startswith(" ")),
        None,
    )
    block = [line for line in lines[start + 1 : end] if line]
    headings = [line.strip().removesuffix(":") for line in block if not line.startswith("    ")]
    # The levels in the ladder's order, only those with something to say.
    ladder = [level.id for level in track.levels]
    assert headings == [level for level in ladder if level in headings] == ["silver", "gold"]
    # Each failure sits under the level that has its check, its fix under it.
    level_of = {c.id: level.id for level in track.levels for c in level.checks}
    current = None
    failures = 0
    for line in block:
        if not line.startswith("    "):
            current = line.strip().removesuffix(":")
        elif line.startswith("    ✘ fail  "):
            check_id = line.removeprefix("    ✘ fail  ").split(":")[0]
            assert level_of[check_id] == current, line
            failures += 1
    assert failures >= 2
    assert "        fix: Add `docs/runbook.md` to the repository." in block


LONG_TITLE = "A track whose title is long " + "and goes on " * 10 + "until it ends here"
TRACK = f"""\
apiVersion: scorecard/v1
kind: Track
id: long
title: {LONG_TITLE}
levels:
  - id: bronze
    checks: [has_owner]
"""


def _tracks_list(tmp_path: Path, **env: str) -> str:
    (tmp_path / "long.yaml").write_text(TRACK)
    (tmp_path / "scorecard.yaml").write_text("catalog: [catalog-info.yaml]\ntracks: [long.yaml]\n")
    environment = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | env
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scorecard",
            "-c",
            str(tmp_path / "scorecard.yaml"),
            "tracks",
            "list",
        ],
        cwd=tmp_path,
        env=environment,
        capture_output=True,  # a pipe, as in CI: no terminal says how wide a line may be
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_table_in_a_pipe_is_as_wide_as_its_rows(tmp_path: Path) -> None:
    assert len(LONG_TITLE) > 150
    rows = [line for line in _tracks_list(tmp_path).splitlines() if "long" in line]
    row = next(line for line in rows if LONG_TITLE in line)  # one line, not cut or wrapped
    assert len(row) > 150 and "…" not in row


def test_columns_still_says_how_wide_a_line_may_be(tmp_path: Path) -> None:
    shown = _tracks_list(tmp_path, COLUMNS="100")
    assert LONG_TITLE not in shown
    assert max(len(line) for line in shown.splitlines()) <= 100
