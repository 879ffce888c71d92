"""`scorecard run` and `scorecard entity` with an exemption kept as code: the level counts
it, and the entity's check is shown as exempted with its justification and expiry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from scorecard.cli import app
from tests.exemptions.conftest import ENTITY, JUSTIFICATION, write_workspace


def test_a_file_exemption_shows_in_the_cli(tmp_path: Path) -> None:
    (tmp_path / "exemptions.yaml").write_text(
        f"""\
apiVersion: scorecard/v1
kind: Exemption
entity: {ENTITY}
check: has_oncall
justification: {JUSTIFICATION}
expires: {(datetime.now(UTC) + timedelta(days=20)).date().isoformat()}
"""
    )
    config = write_workspace(
        tmp_path, f"sqlite:///{tmp_path / 'scorecard.db'}", exemption_files=("exemptions.yaml",)
    )
    runner = CliRunner()
    assert runner.invoke(app, ["--config", str(config), "validate"]).exit_code == 0
    # The first run of a workspace takes its exemption files in before it certifies.
    ran = runner.invoke(app, ["--config", str(config), "run"], catch_exceptions=False)
    assert ran.exit_code == 0, ran.output
    as_json = runner.invoke(app, ["--config", str(config), "run", "--format", "json"])
    [nightly] = [e for e in json.loads(as_json.stdout)["entities"] if e["ref"] == ENTITY]
    [oncall] = [c for c in nightly["tracks"][0]["checks"] if c["id"] == "has_oncall"]
    assert nightly["tracks"][0]["level"] == "silver"
    assert oncall["outcome"] == "fail" and oncall["exemption"]["justification"] == JUSTIFICATION
    shown = runner.invoke(app, ["--config", str(config), "entity", ENTITY])
    assert shown.exit_code == 0, shown.output
    assert "Operations: silver" in shown.stdout
    assert "⊘ exempted" in shown.stdout and "has_oncall" in shown.stdout
    assert JUSTIFICATION[:40] in shown.stdout and "exempted until" in shown.stdout
