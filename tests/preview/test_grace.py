"""A preview against the store counts a check's grace as a run does: a source that is down
while its last answer is recent costs no level, after the change as before it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.preview.conftest import invoke, preview_json

DOWN = "SC_PREVIEW_SOURCE_DOWN"

FLAKY_CHECK = f'''
import os

from scorecard import Result, check


@check(id="dashboard_up", title="Dashboard answers", remediation="Fix the dashboard.")
def dashboard_up(entity):
    """Passes, unless the dashboard service cannot be reached."""
    if os.environ.get("{DOWN}"):
        return Result.unknown("The dashboard service could not be reached.")
    return Result.passed(f"{{entity.ref}} has a dashboard.")
'''

TRACK = """\
apiVersion: scorecard/v1
kind: Track
id: ops
title: Operations
filter: {{kind: Component}}
{grace}levels:
  - id: bronze
    checks: [has_owner]
  - id: silver
    checks: [dashboard_up]
"""

CATALOG = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: payments}
spec: {type: service, lifecycle: production, owner: group:default/team}
"""


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace whose graced track put payments at silver in a run; the dashboard
    service has gone down since."""
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "dashboard.py").write_text(FLAKY_CHECK)
    (tmp_path / "tracks").mkdir()
    (tmp_path / "tracks" / "ops.yaml").write_text(TRACK.format(grace="grace: 24h\n"))
    (tmp_path / "catalog-info.yaml").write_text(CATALOG)
    config = tmp_path / "scorecard.yaml"
    config.write_text(
        "catalog: [catalog-info.yaml]\ntracks: [tracks/]\nchecks: [checks/]\n"
        "database: sqlite:///scorecard.db\n"
    )
    monkeypatch.delenv(DOWN, raising=False)
    assert invoke("--config", config, "run").exit_code == 0
    monkeypatch.setenv(DOWN, "1")
    return config


def test_a_graced_check_keeps_the_level_it_had(workspace: Path) -> None:
    report = preview_json(config=workspace)

    [track] = report["tracks"]
    assert report["baseline"] == "stored"
    assert track["counts"]["now"]["silver"] == track["counts"]["after"]["silver"] == 1
    assert track["lost"] == []
    # The check's own outcome is what it is: the dashboard could not be reached.
    [failing] = track["failing"]
    assert failing["id"] == "dashboard_up" and failing["outcomes"] == {"unknown": 1}


def test_without_the_grace_the_level_is_lost(workspace: Path, tmp_path: Path) -> None:
    ungraced = tmp_path / "ops-ungraced.yaml"
    ungraced.write_text(TRACK.format(grace=""))

    report = preview_json(ungraced, config=workspace)

    [track] = report["tracks"]
    [move] = track["lost"]
    assert (move["entity"], move["now"], move["after"]) == (
        "component:default/payments",
        "silver",
        "bronze",
    )
    [cause] = move["checks"]
    assert cause["id"] == "dashboard_up" and cause["outcome"] == "unknown"
    assert cause["message"] == "The dashboard service could not be reached."
    assert cause["reason"] == "now cannot be determined"
