"""`scorecard fix` in a repository: real git repositories, the real CLI, files on disk."""

from __future__ import annotations

import difflib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scorecard.cli import app

runner = CliRunner()
FIX = ["fix", "--track", "production-readiness", "--level", "silver"]

TRACK = """\
apiVersion: scorecard/v1
kind: Track
id: production-readiness
title: Production readiness
filter: {kind: Component}
levels:
  - id: bronze
    checks: [has_owner, has_readme]
  - id: silver
    checks:
      - has_codeowners
      - has_security_policy
      # The platform team's own fix: each team's PagerDuty service, from the workspace.
      - check: has_annotation
        id: has_pagerduty
        title: Pages someone through PagerDuty
        with: {key: pagerduty.com/service-id}
        fix:
          title: Connect the service to PagerDuty
          catalog:
            annotations:
              pagerduty.com/service-id: "{{ values.pagerduty_services[owner_name] }}"
  - id: gold
    checks: [has_ci]
"""

WORKSPACE = """\
catalog: [org.yaml]
tracks: [tracks]
fixes:
  values:
    github_org: acme
    pagerduty_services: {payments: PXYZ123}
"""

# The company's catalog, which the workspace reads for owners.
GROUP = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: payments}
spec: {type: team, children: []}
"""

# Comments, odd spacing and a quoted value: all must survive the edit untouched.
CATALOG = """\
# The payments service. Edited by hand: keep the comments.
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
  # Shown on the catalog's front page.
  description: "Takes payments for the web shop"   # keep it short
  annotations:
    backstage.io/kubernetes-id: payments  # the deployment's label

spec:
  type: service
  lifecycle: production
  owner: group:default/payments   # the team, not a person
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def make_repo(root: Path, files: dict[str, str]) -> Path:
    repo = root / "payments"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "config", "user.email", "ci@example.com")
    git(repo, "config", "user.name", "CI")
    for relative, text in files.items():
        (repo / relative).parent.mkdir(parents=True, exist_ok=True)
        (repo / relative).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "first")
    return repo


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "workspace"
    (folder / "tracks").mkdir(parents=True)
    (folder / "tracks" / "production-readiness.yaml").write_text(TRACK)
    (folder / "scorecard.yaml").write_text(WORKSPACE)
    (folder / "org.yaml").write_text(GROUP)
    return folder / "scorecard.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """At bronze: it has a README and an owner, but no CODEOWNERS, no SECURITY.md and no
    PagerDuty annotation."""
    return make_repo(tmp_path, {"catalog-info.yaml": CATALOG, "README.md": "# Payments\n"})


def invoke(workspace: Path, *args: Any) -> Any:
    return runner.invoke(
        app, ["--config", str(workspace), *[str(a) for a in args]], catch_exceptions=False
    )


def test_without_apply_nothing_is_written(workspace: Path, repo: Path) -> None:
    result = invoke(workspace, *FIX, "--repo", repo)
    assert result.exit_code == 0, result.output
    assert git(repo, "status", "--porcelain") == ""
    out = result.stdout
    assert "component:default/payments: bronze → would reach silver" in out
    assert "+++ b/.github/CODEOWNERS" in out and "+++ b/SECURITY.md" in out
    assert "+    pagerduty.com/service-id: PXYZ123" in out
    assert "Nothing written: run again with --apply" in out


def test_apply_creates_the_files_edits_the_catalog_and_reaches_silver(
    workspace: Path, repo: Path
) -> None:
    result = invoke(workspace, *FIX, "--repo", repo, "--apply")
    assert result.exit_code == 0, result.output
    assert "component:default/payments: bronze → reaches silver" in result.stdout
    assert "@acme/payments" in (repo / ".github" / "CODEOWNERS").read_text()
    assert (repo / "SECURITY.md").read_text().strip()
    # Byte for byte outside the changed lines: the edit only inserts lines.
    after = (repo / "catalog-info.yaml").read_text()
    matcher = difflib.SequenceMatcher(
        None, CATALOG.splitlines(keepends=True), after.splitlines(keepends=True)
    )
    changes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    assert [op[0] for op in changes] == ["insert"]
    inserted = after.splitlines(keepends=True)[changes[0][3] : changes[0][4]]
    assert inserted == ["    pagerduty.com/service-id: PXYZ123\n"]
    # The gate agrees with what fix said.
    gate = invoke(
        workspace, "gate", "--track", "production-readiness", "--require", "silver", "--repo", repo
    )
    assert gate.exit_code == 0, gate.output
    # A second run has nothing left to do at silver.
    again = invoke(workspace, *FIX, "--repo", repo, "--apply")
    assert again.exit_code == 0 and "Nothing to change." in again.stdout


def test_json_output_lists_the_change(workspace: Path, repo: Path) -> None:
    result = invoke(workspace, *FIX, "--repo", repo, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["applied"] is False and report["met"] is True
    assert sorted(report["new_files"]) == [".github/CODEOWNERS", "SECURITY.md"]
    assert report["edited"] == ["catalog-info.yaml"]
    (entity,) = report["entities"]
    assert entity["level_before"] == "bronze" and entity["level_after"] == "silver"
    assert {f["check"] for f in entity["fixes"]} == {
        "has_codeowners",
        "has_security_policy",
        "has_pagerduty",
    }


def test_an_existing_file_is_never_overwritten(workspace: Path, tmp_path: Path) -> None:
    # SECURITY.md is a folder here, so the check fails and the fix's path is taken.
    repo = make_repo(
        tmp_path,
        {"catalog-info.yaml": CATALOG, "README.md": "# Payments\n", "SECURITY.md/x": "x\n"},
    )
    result = invoke(workspace, *FIX, "--repo", repo, "--apply")
    assert result.exit_code == 1, result.output
    assert "left alone SECURITY.md" in result.stdout
    assert "never overwrites" in result.stdout
    assert (repo / "SECURITY.md" / "x").read_text() == "x\n"
    # The other fixes were made; the entity stays at bronze without its security policy.
    assert (repo / ".github" / "CODEOWNERS").is_file()
    assert "bronze → reaches bronze" in result.stdout


def test_a_file_the_check_finds_wanting_is_left_alone(workspace: Path, tmp_path: Path) -> None:
    track = workspace.parent / "tracks" / "production-readiness.yaml"
    track.write_text(
        TRACK.replace(
            "      - has_codeowners\n",
            "      - check: file_matches\n"
            "        id: codeowners_names_a_team\n"
            "        with: {path: CODEOWNERS, pattern: '@acme/'}\n"
            "        fix:\n"
            "          files:\n"
            "            - path: CODEOWNERS\n"
            "              template: '* @acme/{{ owner_name }}'\n",
        )
    )
    repo = make_repo(
        tmp_path,
        {"catalog-info.yaml": CATALOG, "README.md": "# P\n", "CODEOWNERS": "* @someone\n"},
    )
    result = invoke(workspace, "fix", "--track", "production-readiness", "--check",
                    "codeowners_names_a_team", "--repo", repo, "--apply")  # fmt: skip
    assert result.exit_code == 1, result.output
    assert (repo / "CODEOWNERS").read_text() == "* @someone\n"
    assert "left alone CODEOWNERS" in result.stdout


def test_a_symlinked_folder_out_of_the_repository_is_not_written_through(
    workspace: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = make_repo(tmp_path, {"catalog-info.yaml": CATALOG, "README.md": "# P\n"})
    os.symlink(outside, repo / ".github")
    result = invoke(workspace, *FIX, "--repo", repo, "--apply")
    assert result.exit_code == 1, result.output
    assert "links out of the repository" in result.stdout
    assert list(outside.iterdir()) == []


def test_a_template_reaching_outside_its_inputs_fails_clearly(workspace: Path, repo: Path) -> None:
    track = workspace.parent / "tracks" / "production-readiness.yaml"
    walking = "{{ values.__class__.__mro__[1].__subclasses__() }}"
    track.write_text(TRACK.replace("{{ values.pagerduty_services[owner_name] }}", walking))
    result = invoke(workspace, *FIX, "--repo", repo, "--apply")
    assert result.exit_code == 1, result.output
    assert "reaches outside its inputs, which is not allowed" in result.stdout
    assert "pagerduty.com/service-id" not in (repo / "catalog-info.yaml").read_text()


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{% include '/etc/passwd' %}", "cannot include, import or extend"),
        ("{% import 'x' as y %}", "cannot include, import or extend"),
        ("{{ values.x", "line 1"),
    ],
)
def test_a_template_reading_files_is_refused_when_the_track_loads(
    workspace: Path, repo: Path, template: str, message: str
) -> None:
    track = workspace.parent / "tracks" / "production-readiness.yaml"
    text = TRACK.replace("{{ values.pagerduty_services[owner_name] }}", template)
    track.write_text(text)
    result = invoke(workspace, *FIX, "--repo", repo)
    assert result.exit_code == 2, result.output
    assert "production-readiness.yaml:" in result.stderr and message in result.stderr


def test_a_missing_value_names_it(workspace: Path, repo: Path) -> None:
    workspace.write_text(WORKSPACE.replace("{payments: PXYZ123}", "{ledger: P1}"))
    result = invoke(workspace, *FIX, "--repo", repo)
    assert result.exit_code == 1, result.output
    assert "has no attribute 'payments'" in result.stdout
    assert "fixes.values" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fix", "--track", "production-readiness"], "give --level L"),
        ([*FIX, "--check", "has_ci"], "give --level L"),
        (["fix", "--track", "nope", "--level", "silver"], "unknown track 'nope'"),
        (["fix", "--track", "production-readiness", "--level", "diamond"], "no level"),
        (["fix", "--track", "production-readiness", "--check", "nope"], "has no check 'nope'"),
        ([*FIX, "--entity", "component:default/x"], "are for --open-prs"),
        ([*FIX, "--format", "yaml"], "use text or json"),
        ([*FIX, "--open-prs", "--apply"], "drop --apply"),
    ],
)
def test_usage_errors_exit_2(workspace: Path, repo: Path, args: list[str], message: str) -> None:
    result = invoke(workspace, *args, "--repo", repo)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert git(repo, "status", "--porcelain") == ""


def test_named_checks_judge_the_evaluation_after_apply(workspace: Path, repo: Path) -> None:
    workspace.write_text(WORKSPACE.replace("{payments: PXYZ123}", "{ledger: P1}"))
    named = ["fix", "--track", "production-readiness", "--check", "has_codeowners"]
    # has_pagerduty has no value to set: CODEOWNERS is written, the annotation is not.
    both = invoke(workspace, *named, "--check", "has_pagerduty", "--repo", repo, "--apply")
    assert both.exit_code == 1, both.output
    assert (repo / ".github" / "CODEOWNERS").is_file()
    # The check that was fixed passes now.
    again = invoke(workspace, *named, "--repo", repo, "--apply")
    assert again.exit_code == 0, again.output
