"""A GitHub outage during a served run, on SQLite and PostgreSQL: within the grace the
level and the badge hold and the webhook hears nothing; the API, the entity page and
`scorecard entity` show the stale result; past the grace the level drops and the webhook
is told."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from scorecard.cli import app as cli
from scorecard.workspace import Workspace
from tests.builders import catalog_yaml, track_yaml, write_workspace_files
from tests.grace.conftest import SLUG, FakeGitHub, component
from tests.serving import ServedApp, run_all
from tests.tokens import client
from tests.webhooks import Webhook

ENTITY = "component:default/payments"
PATH = "component/default/payments"
CATALOG = catalog_yaml(component("payments").raw)
OUTAGE = f"now unknown: GitHub could not give the repository {SLUG} (HTTP 502: Bad Gateway)."


def write_workspace(root: Path, database: str) -> Path:
    tracks = {
        track_id: track_yaml(
            track_id,
            title,
            {"bronze": ["has_owner"], "silver": ["delete_branch_on_merge"]},
            filter=None,
            grace=grace,
        )
        for track_id, title, grace in (
            ("github-day", "GitHub hygiene", "24h"),
            ("github-fast", "GitHub hygiene, quick", "3s"),
        )
    }
    return write_workspace_files(
        root,
        database,
        """\
tokens: [{name: ops, role: admin, env: SC_GRACE_ADMIN}]
notifications:
  backoff_seconds: 0.3
  targets: [{name: hook, url_env: SC_GRACE_HOOK}]
  rules:
    - {events: ["certification.*", check.failing], targets: [hook]}
""",
        tracks=tracks,
        catalog=CATALOG,
    )


def result_of(track: dict[str, Any], check_id: str) -> dict[str, Any]:
    """A check's result on an entity's track card (`GET /api/v1/entities/...`)."""
    [found] = [c for level in track["levels"] for c in level["checks"] if c["check"] == check_id]
    return found


def levels(http: httpx.Client) -> dict[str, str | None]:
    card = http.get(f"/api/v1/entities/{PATH}").json()
    return {track["track"]: track["level"] for track in card["tracks"]}


def test_a_github_outage_during_a_served_run(
    store_url: str,
    tmp_path: Path,
    github: FakeGitHub,
    webhook: Webhook,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = secrets.token_urlsafe(24)
    monkeypatch.setenv("SC_GRACE_ADMIN", token)
    monkeypatch.setenv("SC_GRACE_HOOK", webhook.url)
    config = write_workspace(tmp_path, store_url)
    with ServedApp(Workspace.load(config)) as app, client(app.url, token) as http:
        # The first run, at start, saw the setting: silver on both tracks.
        [first] = app.service.store.runs()
        observed = first.started_at
        assert levels(http) == {"github-day": "silver", "github-fast": "silver"}
        quick = http.get("/api/v1/tracks/github-fast").json()
        assert [c["grace"] for level in quick["levels"] for c in level["checks"]] == ["3s", "3s"]
        badge = http.get(f"/badges/{PATH}/github-day.svg")
        assert badge.status_code == 200 and "silver" in badge.text

        github.down = True
        run_all(app.url, token)
        assert levels(http) == {"github-day": "silver", "github-fast": "silver"}
        assert http.get(f"/badges/{PATH}/github-day.svg").text == badge.text
        card = http.get(f"/api/v1/entities/{PATH}").json()
        day = next(track for track in card["tracks"] if track["track"] == "github-day")
        assert day["blocking"] == []
        setting = result_of(day, "delete_branch_on_merge")
        assert setting["outcome"] == "unknown"
        stale = setting["stale"]
        assert stale["outcome"] == "pass"
        assert datetime.fromisoformat(stale["observed_at"]) == observed
        assert datetime.fromisoformat(stale["until"]) == observed + timedelta(hours=24)
        assert stale["sentence"].startswith("last known pass, ")
        assert stale["sentence"].endswith(OUTAGE)
        listed = http.get(
            "/api/v1/results", params={"entity": "payments", "check": "delete_branch_on_merge"}
        ).json()["items"]
        assert {r["track"]: r["stale"]["outcome"] for r in listed} == {
            "github-day": "pass",
            "github-fast": "pass",
        }
        assert result_of(day, "has_owner")["stale"] is None
        page = http.get(f"/catalog/{PATH}")
        assert page.status_code == 200
        assert "last known pass, " in page.text and OUTAGE in page.text
        assert "Counts as pass for the level until" in page.text
        # Nothing changed that anyone is told about.
        assert app.service.store.outbox() == []
        entity = CliRunner().invoke(
            cli, ["--config", str(config), "entity", "payments", "--db", store_url]
        )
        assert entity.exit_code == 0, entity.output
        shown = " ".join(entity.stdout.split())  # as wide as the terminal: words wrap
        assert "GitHub hygiene: silver" in shown
        assert "delete_branch_on_merge: last known pass, " in shown and OUTAGE in shown
        assert "counts as pass for the level until" in shown

        # Past the 3 s grace, really waited for: the quick track drops, and says so.
        past = observed + timedelta(seconds=3.2) - datetime.now(UTC)
        time.sleep(max(0.0, past.total_seconds()))
        run_all(app.url, token)
        assert levels(http) == {"github-day": "silver", "github-fast": "bronze"}
        [told] = webhook.wait_for(1)
        time.sleep(0.5)  # nothing more comes
        assert len(webhook.received) == 1
    assert told.body["title"] == (
        f"{ENTITY} dropped from silver to bronze on GitHub hygiene, quick"
    )
