"""`scorecard preview --baseline-ref REF` in a real git repository: the track files as they
are at REF are the baseline, both sides evaluated on the same entities."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scorecard.workspace import DEMO_DIR
from tests.preview.conftest import (
    PRODUCTION_READINESS,
    invoke,
    preview_json,
    runbook_at_bronze,
)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    )
    return done.stdout


@pytest.fixture
def tracks_repo(tmp_path: Path) -> Path:
    """A platform team's tracks repository over the demo catalog, with one commit: the
    production-readiness track as it is today."""
    repo = tmp_path / "tracks-repo"
    (repo / "tracks").mkdir(parents=True)
    (repo / "tracks" / "production-readiness.yaml").write_text(PRODUCTION_READINESS.read_text())
    (repo / "scorecard.yaml").write_text(
        f"catalog: [{DEMO_DIR / 'catalog' / 'catalog-info.yaml'}]\n"
        f"tracks: [tracks/]\nchecks: [{DEMO_DIR / 'checks'}]\n"
    )
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "config", "user.email", "platform@example.com")
    git(repo, "config", "user.name", "Platform")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "production readiness")
    return repo


def test_a_change_in_the_working_tree_against_head(
    tracks_repo: Path, bronze_losses: dict[str, tuple[str, str]]
) -> None:
    track_file = tracks_repo / "tracks" / "production-readiness.yaml"
    track_file.write_text(runbook_at_bronze(track_file.read_text()))

    report = preview_json(
        track_file, "--baseline-ref", "HEAD", config=tracks_repo / "scorecard.yaml"
    )

    assert report["baseline"] == "tracks"
    assert report["baseline_label"] == "the tracks at HEAD"
    [track] = report["tracks"]
    assert not track["new"]
    assert {m["entity"]: m["now"] for m in track["lost"]} == {
        ref: level for ref, (level, _) in bronze_losses.items()
    }
    assert {c["id"] for m in track["lost"] for c in m["checks"]} == {"has_runbook"}


def test_without_files_the_workspace_tracks_against_a_branch(
    tracks_repo: Path, bronze_losses: dict[str, tuple[str, str]]
) -> None:
    # The change is committed on a branch; main is the baseline. A second, new track file
    # does not exist on main: it is a new track.
    git(tracks_repo, "checkout", "--quiet", "-b", "stricter-runbooks")
    track_file = tracks_repo / "tracks" / "production-readiness.yaml"
    track_file.write_text(runbook_at_bronze(track_file.read_text()))
    (tracks_repo / "tracks" / "docs.yaml").write_text(
        "apiVersion: scorecard/v1\nkind: Track\nid: docs\ntitle: Docs\n"
        "filter: {kind: Component}\nlevels:\n  - id: bronze\n    checks: [has_techdocs]\n"
    )
    git(tracks_repo, "commit", "--quiet", "-am", "runbooks for bronze")

    report = preview_json("--baseline-ref", "main", config=tracks_repo / "scorecard.yaml")

    tracks = {t["track"]: t for t in report["tracks"]}
    assert tracks["docs"]["new"] is True
    assert tracks["production-readiness"]["new"] is False
    assert {m["entity"] for m in tracks["production-readiness"]["lost"]} == set(bronze_losses)


def test_a_track_broken_at_the_ref_is_named_with_the_ref(tracks_repo: Path) -> None:
    track_file = tracks_repo / "tracks" / "production-readiness.yaml"
    good = track_file.read_text()
    track_file.write_text(good.replace("      - has_readme\n", "      - has_readmee\n"))
    git(tracks_repo, "commit", "--quiet", "-am", "a typo")
    track_file.write_text(good)

    result = invoke(
        "--config", tracks_repo / "scorecard.yaml", "preview", track_file, "--baseline-ref", "HEAD"
    )

    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(f"HEAD:{track_file}:")
    assert "unknown check 'has_readmee' (did you mean 'has_readme'?)" in line


def test_an_unknown_ref(tracks_repo: Path) -> None:
    track_file = tracks_repo / "tracks" / "production-readiness.yaml"
    result = invoke(
        "--config", tracks_repo / "scorecard.yaml", "preview", track_file, "--baseline-ref", "nope"
    )

    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(f"{track_file}: cannot read it at 'nope' for the baseline")
