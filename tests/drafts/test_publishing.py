"""Notifications of a draft track, and publishing it, through a real server on loopback
and a real webhook receiver (Apprise's JSON webhook, as in tests/notify).

A level change on the draft is recorded like any other and sent to no one; one on the
published track is sent. Removing `draft: true` and reloading publishes the track: its
badge shows the level, the gate accepts it, and nothing of its draft days is sent.
"""

from __future__ import annotations

import time

import httpx
from typer.testing import CliRunner

from scorecard.cli import app as cli
from scorecard.store.tables import OutboxEvent
from scorecard.workspace import Workspace
from tests.drafts.conftest import (
    COMPONENTS,
    DRAFT,
    HOOK_ENV,
    Component,
    DraftWorkspace,
    reload,
)
from tests.serving import ServedApp, run_all
from tests.webhooks import Webhook

NOTIFICATIONS = f"""\
  backoff_seconds: 0.3
  targets: [{{name: hook, url_env: {HOOK_ENV}}}]
  rules:
    - {{events: ["certification.*", check.failing], targets: [hook]}}
"""
_, LEDGER, SEARCH = COMPONENTS


def routed(app: ServedApp, count: int, timeout: float = 20) -> list[OutboxEvent]:
    """The `count` events written so far, once the dispatcher has routed them all."""
    deadline = time.monotonic() + timeout
    while True:
        events = app.service.store.outbox()
        if len(events) >= count and all(e.routed for e in events):
            assert len(events) == count, [(e.kind, e.track_id) for e in events]
            return events
        assert time.monotonic() < deadline, "the dispatcher did not route every event"
        time.sleep(0.05)


def gate(workspace: DraftWorkspace, url: str, ref: str, require: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        [
            "--config", str(workspace.config), "gate", "--server", url,
            "--entity", ref, "--track", DRAFT, "--require", require,
        ],
    )  # fmt: skip
    return result.exit_code, result.stdout + result.stderr


def test_a_draft_sends_nothing_and_publishing_it_sends_no_burst(
    workspace: DraftWorkspace, webhook: Webhook, admin_token: str
) -> None:
    workspace.write(notifications=NOTIFICATIONS)
    with ServedApp(Workspace.load(workspace.config)) as app:
        # payments loses its on-call rotation: silver → bronze on the draft alone.
        workspace.write_catalog((Component("payments", oncall=False), LEDGER, SEARCH))
        run_all(app.url, admin_token)
        events = routed(app, 2)
        assert {(e.kind, e.entity_ref, e.track_id) for e in events} == {
            ("certification.lost", "component:default/payments", DRAFT),
            ("check.failing", "component:default/payments", DRAFT),
        }
        time.sleep(1.0)  # a message would have been sent by now: the target answers at once
        assert webhook.received == [] and app.service.store.notifications().items == []

        # The same kind of change on the published track is sent.
        workspace.write_catalog(
            (Component("payments", oncall=False, description=False), LEDGER, SEARCH)
        )
        run_all(app.url, admin_token)
        received = webhook.wait_for(2)
        titles = sorted(r.body["title"] for r in received)
        assert titles == [
            "component:default/payments dropped from silver to bronze on Operations",
            "has_description now fails for component:default/payments on Operations",
        ]
        assert all(DRAFT not in r.body["message"] for r in received)

        # The gate refuses the draft, and its badge says draft.
        code, output = gate(workspace, app.url, "component:default/ledger", "bronze")
        assert code == 2 and f"track {DRAFT} is a draft" in output
        with httpx.Client(base_url=app.url) as http:
            badge = http.get(f"/badges/component/default/ledger/{DRAFT}.json").json()
        assert badge["message"] == "draft"

        # Publishing: the flag removed, the configuration reloaded.
        workspace.publish()
        reload(app.url, admin_token)
        with httpx.Client(base_url=app.url) as http:
            badge = http.get(f"/badges/component/default/ledger/{DRAFT}.json").json()
            track = http.get(f"/api/v1/tracks/{DRAFT}").json()
        assert badge["message"] == "bronze" and badge["color"] == "cd7f32"
        assert track["draft"] is False
        code, output = gate(workspace, app.url, "component:default/ledger", "bronze")
        assert code == 0, output
        assert f"component:default/ledger meets {DRAFT} bronze" in output
        code, output = gate(workspace, app.url, "component:default/ledger", "silver")
        assert code == 1 and "has_oncall" in output

        # The levels were stored as a draft: a run after publishing changes none of them,
        # and what the draft recorded is not sent now.
        run_all(app.url, admin_token)
        routed(app, 4)  # the two of the draft's change and the two sent
        time.sleep(1.0)
        assert len(webhook.received) == 2 and len(app.service.store.notifications().items) == 2

        # From now on the published track's changes are sent like any.
        workspace.write_catalog((Component("payments", description=False), LEDGER, SEARCH))
        run_all(app.url, admin_token)
        received = webhook.wait_for(3)
        assert received[-1].body["title"] == (
            "component:default/payments reached silver on On-call readiness (was bronze)"
        )
