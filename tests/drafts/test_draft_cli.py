"""Draft tracks on the command line: `gate` in local mode refuses one (or leaves it out of
the workspace's `gate:` section), `tracks list|show`, `validate` and `entity` show it as
a draft, and a campaign on it is refused until it is published."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from scorecard.cli import app as cli
from tests.drafts.conftest import COMPONENTS, DRAFT, PUBLISHED, DraftWorkspace

_, LEDGER, _ = COMPONENTS
REFUSAL = (
    f"track {DRAFT} is a draft: it is previewed, not enforced; remove `draft: true` to gate on it"
)
CAMPAIGN = f"""\
apiVersion: scorecard/v1
kind: Campaign
id: on-call-by-summer
title: Every service on call
goal: {{track: {DRAFT}, level: silver}}
start: 2027-01-01
deadline: 2027-06-30
"""


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No scorecard.yaml of the current folder, no step summary of a CI around the tests.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose catalog file describes ledger: bronze on both tracks."""
    folder = tmp_path / "ledger"
    folder.mkdir()
    (folder / "catalog-info.yaml").write_text(LEDGER.document())
    return folder


def invoke(workspace: DraftWorkspace, *args: Any) -> Result:
    return CliRunner().invoke(
        cli, ["--config", str(workspace.config), *map(str, args)], catch_exceptions=False
    )


def test_a_local_gate_refuses_a_draft_track(workspace: DraftWorkspace, repo: Path) -> None:
    workspace.write()
    result = invoke(workspace, "gate", "--repo", repo, "--track", DRAFT, "--require", "bronze")
    assert result.exit_code == 2, result.output
    assert f"--track: {REFUSAL}" in result.stderr and result.stdout == ""
    # Named beside a published track, it is refused all the same: nothing is gated.
    both = ["--track", PUBLISHED, "--require", "bronze", "--track", DRAFT, "--require", "bronze"]
    result = invoke(workspace, "gate", "--repo", repo, *both)
    assert result.exit_code == 2 and REFUSAL in result.stderr


def test_a_local_gate_leaves_the_drafts_of_the_gate_section_out(
    workspace: DraftWorkspace, repo: Path
) -> None:
    # ledger is at bronze on the draft: gated at silver there, it would fail.
    workspace.write(gate=f"  - {{track: {PUBLISHED}, require: bronze}}\n"
                    f"  - {{track: {DRAFT}, require: silver}}\n")  # fmt: skip
    result = invoke(workspace, "gate", "--repo", repo)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"✔ component:default/ledger meets {PUBLISHED} bronze",
        "",
        "Gate passed: 1 of 1 requirements met.",
        "",
        f"Not gated: {DRAFT} is a draft, previewed and not enforced "
        "(remove `draft: true` to gate on it).",
    ]
    report = json.loads(invoke(workspace, "gate", "--repo", repo, "--format", "json").stdout)
    assert report["drafts_left_out"] == [DRAFT]
    assert [r["track"] for r in report["results"]] == [PUBLISHED]
    markdown = invoke(workspace, "gate", "--repo", repo, "--format", "markdown").stdout
    assert f"Not gated: {DRAFT} is a draft" in markdown and f"| {DRAFT} |" not in markdown


def test_a_gate_section_of_drafts_alone_is_nothing_to_gate(
    workspace: DraftWorkspace, repo: Path
) -> None:
    workspace.write(gate=f"  - {{track: {DRAFT}, require: bronze}}\n")
    result = invoke(workspace, "gate", "--repo", repo)
    assert result.exit_code == 2, result.output
    assert f"nothing to gate: every track of the gate: section is a draft ({DRAFT})" in (
        result.stderr
    )


def test_a_published_track_is_gated_once_the_flag_is_removed(
    workspace: DraftWorkspace, repo: Path
) -> None:
    workspace.write()
    workspace.publish()
    met = invoke(workspace, "gate", "--repo", repo, "--track", DRAFT, "--require", "bronze")
    assert met.exit_code == 0, met.output
    assert f"component:default/ledger meets {DRAFT} bronze" in met.stdout
    unmet = invoke(workspace, "gate", "--repo", repo, "--track", DRAFT, "--require", "silver")
    assert unmet.exit_code == 1 and "has_oncall" in unmet.stdout


def test_tracks_list_and_show_say_which_is_a_draft(workspace: DraftWorkspace) -> None:
    workspace.write()
    listed = invoke(workspace, "tracks", "list")
    assert listed.exit_code == 0, listed.output
    rows = {line.split()[1]: line for line in listed.stdout.splitlines() if "│" in line[:2]}
    assert rows[DRAFT].rstrip(" │").endswith("draft")
    assert rows[PUBLISHED].rstrip(" │").endswith("published")
    shown = invoke(workspace, "tracks", "show", DRAFT)
    assert shown.exit_code == 0 and "draft: evaluated and previewed, not enforced" in shown.stdout
    assert "draft:" not in invoke(workspace, "tracks", "show", PUBLISHED).stdout


def test_validate_names_the_drafts(workspace: DraftWorkspace) -> None:
    workspace.write()
    result = invoke(workspace, "validate")
    assert result.exit_code == 0, result.output
    assert "2 track files are valid." in result.stderr
    assert (
        "Drafts, previewed and not enforced (remove `draft: true` to publish): "
        f"{DRAFT} ({workspace.draft_track})."
    ) in result.stderr
    workspace.publish()
    assert "Drafts" not in invoke(workspace, "validate").stderr


def test_a_campaign_on_a_draft_is_refused_until_it_is_published(
    workspace: DraftWorkspace,
) -> None:
    workspace.write(campaigns=True)
    (workspace.root / "campaigns").mkdir()
    campaign = workspace.root / "campaigns" / "on-call.yaml"
    campaign.write_text(CAMPAIGN)
    result = invoke(workspace, "validate")
    assert result.exit_code == 2, result.output
    assert (
        f"{campaign}:5:8: goal.track: track '{DRAFT}' is a draft: it is previewed, not "
        "enforced; publish it (remove `draft: true`) before a campaign sets a deadline on it"
    ) in result.stdout
    workspace.publish()
    result = invoke(workspace, "validate")
    assert result.exit_code == 0, result.output


def test_entity_shows_a_drafts_level_as_a_preview(workspace: DraftWorkspace) -> None:
    workspace.write()
    assert invoke(workspace, "run").exit_code == 0
    result = invoke(workspace, "entity", "ledger")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "On-call readiness: bronze  (next: silver)  (draft: a preview, not enforced)" in lines
    assert "Operations: bronze  (next: silver)" in lines
