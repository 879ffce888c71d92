"""`scorecard gate` honours exemptions: in local mode from the workspace's exemption files
(on real git repositories), in remote mode from the server's `exemption` fields."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from scorecard.cli import app
from scorecard.gate.model import Requirement
from scorecard.gate.remote import RemoteGate, gate_remotely
from scorecard.results import Outcome
from scorecard.waivers import Waiver

runner = CliRunner()
GATE = ["gate", "--track", "production-readiness", "--require", "silver"]
JUSTIFICATION = "The ledger is retired next quarter; its runbook lives in the old wiki."
IN_A_MONTH = date.today() + timedelta(days=30)
DESCRIBED = f"exempted until {IN_A_MONTH.isoformat()} 00:00 UTC: {JUSTIFICATION}"


def exemption(
    entity: str = "component:default/ledger",
    check: str = "has_runbook",
    expires: date = IN_A_MONTH,
    track: str | None = "production-readiness",
) -> str:
    return (
        "apiVersion: scorecard/v1\n"
        "kind: Exemption\n"
        f"entity: {entity}\n" + (f"track: {track}\n" if track else "") + f"check: {check}\n"
        f"justification: {JUSTIFICATION}\n"
        f"expires: {expires.isoformat()}\n"
    )


@pytest.fixture(autouse=True)
def _no_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`workspace(repo, exemptions)`: a scorecard.yaml over the bundled tracks and the
    repository's catalog, with `exemptions` (YAML text) as its exemption file, or none;
    the working directory. Returns the exemption file's path."""
    from scorecard.workspace import DEMO_DIR, bundled_tracks

    def make(repo: Path, exemptions: str | None) -> Path:
        ws = tmp_path / "ws"
        ws.mkdir(exist_ok=True)
        file = ws / "exemptions.yaml"
        config = (
            f"catalog: [{repo / 'catalog-info.yaml'}]\n"
            f"tracks: [{bundled_tracks()}]\n"
            f"checks: [{DEMO_DIR / 'checks'}]\n"
        )
        if exemptions is not None:
            file.write_text(exemptions)
            config += "exemptions: {files: [exemptions.yaml], max_days: 180}\n"
        (ws / "scorecard.yaml").write_text(config)
        monkeypatch.chdir(ws)
        return file

    return make


def invoke(*args: Any) -> Any:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def junit_case(root: ET.Element, check_id: str) -> ET.Element:
    return next(c for c in root.iter("testcase") if c.get("name", "").startswith(f"{check_id}:"))


# -- local mode --------------------------------------------------------------------------


def test_an_exemption_lifts_the_entity_to_the_required_level(
    bronze_repo: Path, workspace: Any, tmp_path: Path
) -> None:
    workspace(bronze_repo, exemption())
    junit = tmp_path / "gate.xml"
    result = invoke(*GATE, "--repo", bronze_repo, "--format", "junit", "--output", junit)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "✔ component:default/ledger meets production-readiness silver"
    assert (
        "    ⊘ exempted (fail)  has_runbook (silver): docs/runbook.md is missing from ledger."
        in lines
    )
    assert f"        {DESCRIBED}" in lines

    root = ET.parse(junit).getroot()
    runbook = junit_case(root, "has_runbook")
    assert [e.tag for e in runbook] == ["skipped"]
    assert runbook[0].get("message") == DESCRIBED
    assert root.find("testsuite/failure") is None and int(root.get("failures", "-1")) == 0
    assert int(root.get("errors", "-1")) == 0


def test_without_the_exemption_file_the_gate_fails(bronze_repo: Path, workspace: Any) -> None:
    workspace(bronze_repo, None)
    result = invoke(*GATE, "--repo", bronze_repo)
    assert result.exit_code == 1, result.output
    assert "is at bronze on production-readiness; silver is required" in result.stdout
    assert "exempted" not in result.stdout


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(exemption(expires=date.today() - timedelta(days=3)), id="expired"),
        pytest.param(exemption(entity="component:default/payments"), id="another-entity"),
        pytest.param(exemption(check="has_oncall"), id="another-check"),
    ],
)
def test_an_exemption_not_in_effect_for_the_check_does_not_count(
    bronze_repo: Path, workspace: Any, text: str
) -> None:
    workspace(bronze_repo, text)
    result = invoke(*GATE, "--repo", bronze_repo, "--format", "json")
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    (verdict,) = document["results"]
    assert verdict["reached"] == "bronze" and verdict["blocking"] == ["has_runbook"]
    runbook = next(c for c in verdict["checks"] if c["id"] == "has_runbook")
    assert runbook["exemption"] is None


def test_an_exemption_of_every_track_counts(bronze_repo: Path, workspace: Any) -> None:
    workspace(bronze_repo, exemption(track=None))
    result = invoke(*GATE, "--repo", bronze_repo)
    assert result.exit_code == 0, result.output
    assert DESCRIBED in result.stdout


def test_an_exemption_file_naming_an_unknown_check_is_a_usage_error(
    bronze_repo: Path, workspace: Any
) -> None:
    workspace(bronze_repo, exemption(check="has_runbok"))
    result = invoke(*GATE, "--repo", bronze_repo)
    assert result.exit_code == 2, result.output
    # FILE:LINE:COL of the `check:` key, as the workspace names the file.
    assert re.search(
        r"(^|/)exemptions\.yaml:5:1: check: track 'production-readiness' has no check "
        "'has_runbok'",
        result.stderr,
    ), result.stderr
    assert "did you mean 'has_runbook'?" in result.stderr


def test_json_and_markdown_show_the_exemption(
    bronze_repo: Path, workspace: Any, tmp_path: Path
) -> None:
    workspace(bronze_repo, exemption())
    as_json = invoke(*GATE, "--repo", bronze_repo, "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    (verdict,) = json.loads(as_json.stdout)["results"]
    assert verdict["met"] is True and verdict["reached"] == "silver"
    assert verdict["blocking"] == []
    runbook = next(c for c in verdict["checks"] if c["id"] == "has_runbook")
    assert runbook["outcome"] == "fail"  # it keeps its own outcome
    source = runbook["exemption"]["source"]  # the file, as the workspace names it
    assert Path(source).resolve() == (tmp_path / "ws" / "exemptions.yaml").resolve()
    assert runbook["exemption"] == {
        "id": None,
        "track": "production-readiness",
        "justification": JUSTIFICATION,
        "expires_at": f"{IN_A_MONTH.isoformat()}T00:00:00+00:00",
        "approved_by": f"file:{source}",
        "source": source,
        "needed": True,
    }
    others = [c["exemption"] for c in verdict["checks"] if c["id"] != "has_runbook"]
    assert others and all(e is None for e in others)

    markdown = invoke(*GATE, "--repo", bronze_repo, "--format", "markdown")
    assert markdown.exit_code == 0
    text = markdown.stdout
    assert (
        "| component:default/ledger | production-readiness | silver | silver "
        "| ✅ met (⊘ 1 exempted) |" in text
    )
    assert (
        "- ⊘ **exempted** (fail) `has_runbook` (silver): docs/runbook.md is missing from ledger.\n"
        f"  {DESCRIBED}"
    ) in text


def test_an_exemption_of_a_passing_check_is_unneeded(
    silver_repo: Path, workspace: Any, tmp_path: Path
) -> None:
    workspace(silver_repo, exemption(entity="component:default/payments"))
    text = invoke(*GATE, "--repo", silver_repo)
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    i = next(n for n, line in enumerate(lines) if "⊘ exempted (pass)  has_runbook" in line)
    assert lines[i + 1 : i + 3] == [
        f"        {DESCRIBED}",
        "        the exemption is unneeded: has_runbook passes anyway",
    ]

    (verdict,) = json.loads(invoke(*GATE, "--repo", silver_repo, "--format", "json").stdout)[
        "results"
    ]
    runbook = next(c for c in verdict["checks"] if c["id"] == "has_runbook")
    assert (runbook["outcome"], runbook["exemption"]["needed"]) == ("pass", False)

    junit = tmp_path / "gate.xml"
    invoke(*GATE, "--repo", silver_repo, "--format", "junit", "--output", junit)
    case = junit_case(ET.parse(junit).getroot(), "has_runbook")
    assert [e.tag for e in case] == ["system-out"]  # passed, not skipped
    assert DESCRIBED in (case[0].text or "")
    assert "the exemption is unneeded" in (case[0].text or "")


def test_the_baseline_is_evaluated_with_the_same_exemptions(
    silver_repo: Path, workspace: Any, run_git: Any
) -> None:
    run_git(silver_repo, "rm", "--quiet", "docs/runbook.md")
    run_git(silver_repo, "commit", "--quiet", "-m", "drop the runbook")
    workspace(silver_repo, exemption(entity="component:default/payments"))
    result = invoke(*GATE, "--repo", silver_repo, "--baseline-ref", "HEAD~1")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "    this change keeps production-readiness at silver" in lines
    assert "        has_runbook: pass → fail (exempted)" in lines


# -- remote mode -------------------------------------------------------------------------


def served_check(check_id: str, outcome: str | None, **fields: Any) -> dict[str, Any]:
    return {
        "id": check_id,
        "check": check_id,
        "title": check_id.replace("_", " ").capitalize(),
        "required": True,
        "outcome": outcome,
        "message": f"{check_id} says {outcome}.",
        "evidence": {},
        "remediation": None,
        "docs_url": None,
        "changed_at": None,
        **fields,
    }


WAIVER_OUT = {
    "id": 4,
    "track": None,
    "justification": JUSTIFICATION,
    "expires_at": "2027-03-01T00:00:00Z",
    "approved_by": "group:default/platform",
    "source": "api",
    "needed": True,
}


def serve(runbook: dict[str, Any], level: str) -> httpx.MockTransport:
    """A server that knows one track and one entity (as `GET /api/v1/...` answer)."""
    track = {
        "id": "production-readiness",
        "title": "Production readiness",
        "levels": [{"id": "bronze"}, {"id": "silver"}],
    }
    card = {
        "tracks": [
            {
                "track": "production-readiness",
                "level": level,
                "levels": [
                    {
                        "id": "bronze",
                        "title": "Bronze",
                        "reached": True,
                        "checks": [served_check("has_readme", "pass")],
                    },
                    {"id": "silver", "title": "Silver", "reached": True, "checks": [runbook]},
                ],
            }
        ]
    }

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/tracks":
            return httpx.Response(200, json=[track])
        if request.url.path == "/api/v1/entities/component/default/ledger":
            return httpx.Response(200, json=card)
        return httpx.Response(404, json={"detail": "not found"})

    return httpx.MockTransport(answer)


def remote_report(runbook: dict[str, Any], level: str) -> Any:
    with RemoteGate("http://scorecard.test", transport=serve(runbook, level)) as remote:
        return gate_remotely(
            remote, ["component:default/ledger"], [Requirement("production-readiness", "silver")]
        )


def test_remote_verdicts_carry_the_servers_exemption() -> None:
    report = remote_report(served_check("has_runbook", "fail", exemption=WAIVER_OUT), "silver")
    assert report.met and report.exit_code == 0
    (verdict,) = report.verdicts
    runbook = verdict.checks[1]
    assert runbook.outcome is Outcome.FAIL and runbook.exemption_needed
    assert runbook.exemption == Waiver(
        exemption_id=4,
        entity_ref="component:default/ledger",
        track_id=None,
        check_id="has_runbook",
        justification=JUSTIFICATION,
        expires_at=datetime(2027, 3, 1, tzinfo=UTC),
        approved_by="group:default/platform",
        source=None,
    )
    assert runbook.exemption.describe() == f"exempted until 2027-03-01 00:00 UTC: {JUSTIFICATION}"
    assert verdict.checks[0].exemption is None


@pytest.mark.parametrize(
    "runbook",
    [
        pytest.param(served_check("has_runbook", "fail", exemption=None), id="null"),
        pytest.param(served_check("has_runbook", "fail"), id="older-server"),
    ],
)
def test_remote_verdicts_without_an_exemption(runbook: dict[str, Any]) -> None:
    report = remote_report(runbook, "bronze")
    assert report.exit_code == 1
    (verdict,) = report.verdicts
    assert [c.id for c in verdict.blocking] == ["has_runbook"]
    assert all(c.exemption is None for c in verdict.checks)


def test_remote_exemption_from_a_file_keeps_its_source() -> None:
    from_file = {**WAIVER_OUT, "id": None, "source": "exemptions/ledger.yaml", "needed": False}
    report = remote_report(served_check("has_runbook", "pass", exemption=from_file), "silver")
    runbook = report.verdicts[0].checks[1]
    assert runbook.exemption is not None and runbook.exemption.source == "exemptions/ledger.yaml"
    assert not runbook.exemption_needed
