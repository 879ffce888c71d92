"""`scorecard gate` in local mode, on real git repositories."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scorecard.cli import app

runner = CliRunner()
GATE = ["gate", "--track", "production-readiness", "--require", "silver"]


@pytest.fixture(autouse=True)
def _empty_cwd(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def invoke(*args: Any) -> Any:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_a_repository_at_silver_passes(silver_repo: Path) -> None:
    result = invoke(*GATE, "--repo", silver_repo)
    assert result.exit_code == 0, result.output
    assert "component:default/payments meets production-readiness silver" in result.stdout


def test_a_repository_below_silver_fails_naming_the_check(bronze_repo: Path) -> None:
    result = invoke(*GATE, "--repo", bronze_repo)
    assert result.exit_code == 1, result.output
    assert "is at bronze on production-readiness; silver is required" in result.stdout
    assert "has_runbook" in result.stdout
    assert "docs/runbook.md is missing" in result.stdout
    assert "Add `docs/runbook.md` to the repository." in result.stdout


def test_an_invalid_catalog_file_is_a_usage_error(invalid_repo: Path) -> None:
    result = invoke(*GATE, "--repo", invalid_repo)
    assert result.exit_code == 2
    assert "catalog-info.yaml" in result.stderr and "invalid YAML" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gate", "--track", "nope", "--require", "silver"], "unknown track 'nope'"),
        (["gate", "--track", "production-readiness", "--require", "diamond"], "no level"),
        (["gate", "--track", "production-readiness"], "in pairs"),
        (["gate"], "nothing to gate"),
        ([*GATE, "--format", "yaml"], "use text, json, junit or markdown"),
        ([*GATE, "--catalog", "missing.yaml"], "catalog file not found"),
    ],
)
def test_usage_errors_exit_2(silver_repo: Path, args: list[str], message: str) -> None:
    result = invoke(*args, "--repo", silver_repo)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_several_requirements_must_all_hold(silver_repo: Path) -> None:
    both = [*GATE, "--track", "basics", "--require", "gold"]
    result = invoke(*both, "--repo", silver_repo)
    assert result.exit_code == 1
    assert "meets production-readiness silver" in result.stdout
    assert "1 of 2" in result.stdout


def test_baseline_ref_reports_a_level_drop(silver_repo: Path, run_git: Any) -> None:
    run_git(silver_repo, "rm", "--quiet", "docs/runbook.md")
    run_git(silver_repo, "commit", "--quiet", "-m", "drop the runbook")
    result = invoke(*GATE, "--repo", silver_repo, "--baseline-ref", "HEAD~1")
    assert result.exit_code == 1, result.output
    assert (
        "this change drops production-readiness from silver to bronze: has_runbook now fails"
        in result.stdout
    )
    worktrees = run_git(silver_repo, "worktree", "list")
    assert len(worktrees.strip().splitlines()) == 1  # the baseline checkout is gone


def test_junit_and_json_outputs(silver_repo: Path, bronze_repo: Path, tmp_path: Path) -> None:
    from scorecard.gate.output import parse_json, render_json

    junit = tmp_path / "gate.xml"
    result = invoke(*GATE, "--repo", bronze_repo, "--format", "junit", "--output", junit)
    assert result.exit_code == 1
    suites = ET.parse(junit).getroot()
    assert int(suites.get("failures")) >= 2  # has_runbook, and the level requirement
    failures = [f.get("message") for f in suites.iter("failure")]
    assert any("docs/runbook.md is missing" in (m or "") for m in failures)

    as_json = invoke(*GATE, "--repo", silver_repo, "--format", "json")
    document = json.loads(as_json.stdout)
    assert document["passed"] is True
    assert document["results"][0]["reached"] == "silver"
    assert json.loads(render_json(parse_json(as_json.stdout))) == document


def test_markdown_goes_to_the_github_step_summary(
    silver_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = invoke(*GATE, "--repo", silver_repo)
    assert result.exit_code == 0
    assert "| component:default/payments | production-readiness | silver |" in summary.read_text()


def test_the_workspace_gate_section(silver_repo: Path, tmp_path: Path, monkeypatch: Any) -> None:
    from scorecard.workspace import DEMO_DIR, bundled_tracks

    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "scorecard.yaml").write_text(
        f"catalog: [{silver_repo / 'catalog-info.yaml'}]\n"
        f"tracks: [{bundled_tracks()}]\n"
        f"checks: [{DEMO_DIR / 'checks'}]\n"
        "gate:\n  - {track: production-readiness, require: gold}\n"
    )
    monkeypatch.chdir(tmp_path / "ws")
    result = invoke("gate", "--repo", silver_repo)
    assert result.exit_code == 1
    assert "gold is required" in result.stdout
