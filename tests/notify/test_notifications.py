"""Notifications through a real server to real receivers on loopback: a JSON webhook as
Apprise posts it, and an SMTP server for e-mail."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from scorecard.notify.dispatcher import failing_targets
from scorecard.store import Store
from scorecard.store.tables import DeliveryRecord, DeliveryStatus
from scorecard.workspace import Workspace
from tests.builders import ON_CALL, catalog_yaml, component, ops_track_yaml, write_workspace_files
from tests.notify.conftest import Smtp
from tests.serving import ServedApp, free_port, run_all
from tests.webhooks import Webhook

PUBLIC_URL = "https://scorecard.example.com"


def write_catalog(root: Path, oncall: dict[str, bool]) -> None:
    documents = (
        component(name, annotations=ON_CALL if value else None) for name, value in oncall.items()
    )
    (root / "catalog-info.yaml").write_text(catalog_yaml(*documents))


def write_workspace(root: Path, targets: dict[str, str], rules: str, **settings: str) -> Path:
    listed = "".join(f"\n    - {{name: {name}, url_env: {env}}}" for name, env in targets.items())
    extra = "".join(f"\n  {key}: {value}" for key, value in settings.items())
    return write_workspace_files(
        root,
        f"sqlite:///{root / 'scorecard.db'}",
        f"""\
public_url: {PUBLIC_URL}
tokens: [{{name: ops, role: admin, env: SC_NOTIFY_ADMIN}}]
notifications:
  backoff_seconds: 0.3{extra}
  targets:{listed}
  rules:{rules}
""",
        tracks={"ops": ops_track_yaml()},
    )


@pytest.fixture(autouse=True)
def admin_token(monkeypatch: pytest.MonkeyPatch) -> str:
    token = secrets.token_urlsafe(24)
    monkeypatch.setenv("SC_NOTIFY_ADMIN", token)
    return token


def test_a_level_drop_reaches_each_target_once_and_a_digest_once(
    tmp_path: Path,
    webhook: Webhook,
    smtp: Smtp,
    admin_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    digest_hook = Webhook(free_port()).start()
    monkeypatch.setenv("SC_HOOK_URL", webhook.url)
    monkeypatch.setenv("SC_MAIL_URL", smtp.url)
    monkeypatch.setenv("SC_DIGEST_URL", digest_hook.url)
    write_catalog(tmp_path, {"nightly-report": True, "payments": True, "ledger": True})
    config = write_workspace(
        tmp_path,
        {"hook": "SC_HOOK_URL", "mail": "SC_MAIL_URL", "digest": "SC_DIGEST_URL"},
        """
    - {events: [certification.lost], targets: [hook, mail], filter: {metadata.name: nightly-report}}
    - {events: ["certification.*", check.failing], targets: [digest], digest: true}""",
    )
    try:
        with ServedApp(Workspace.load(config)) as app:
            # The first run stores every entity at silver: no change, nothing to say.
            write_catalog(tmp_path, {"nightly-report": False, "payments": False, "ledger": False})
            run_id = run_all(app.url, admin_token)["id"]
            [hooked] = webhook.wait_for(1)
            [mail] = smtp.wait_for(1)
            [digest] = digest_hook.wait_for(1)
            time.sleep(1.5)  # nothing more comes
            assert len(webhook.received) == 1 and len(smtp.mailbox.messages) == 1
            assert len(digest_hook.received) == 1
            sent = app.service.store.notifications().items
    finally:
        digest_hook.stop()
    title, body = hooked.body["title"], hooked.body["message"]
    assert title == "component:default/nightly-report dropped from silver to bronze on Operations"
    assert f"Why: run {run_id}." in body
    assert "Now failing: has_oncall (fail)" in body
    assert "pagerduty.com/service-id" in body  # the remediation
    assert f"Page: {PUBLIC_URL}/catalog/component/default/nightly-report" in body
    assert hooked.headers["Idempotency-Key"]
    assert mail["Subject"] == title
    mail_text = "".join(
        part.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for part in mail.walk()
        if part.get_content_type() == "text/plain"
    )
    assert "has_oncall" in mail_text and "nightly-report" in mail_text
    # The digest: one message for the run, every entity's change in it.
    assert digest.body["title"].startswith(f"Run {run_id}: 3 levels lost")
    for name in ("nightly-report", "payments", "ledger"):
        assert f"component:default/{name} dropped from silver to bronze" in digest.body["message"]
        assert f"has_oncall now fails for component:default/{name}" in digest.body["message"]
    assert {n.status for n in sent} == {DeliveryStatus.SENT}
    assert len(sent) == 3


def test_a_receiver_answering_500_is_retried_without_slowing_the_run(
    tmp_path: Path, webhook: Webhook, admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    webhook.failures, webhook.delay = 2, 2.0
    monkeypatch.setenv("SC_HOOK_URL", webhook.url)
    write_catalog(tmp_path, {"nightly-report": True})
    config = write_workspace(
        tmp_path, {"hook": "SC_HOOK_URL"}, "\n    - {events: [certification.lost], targets: [hook]}"
    )
    with ServedApp(Workspace.load(config)) as app:
        write_catalog(tmp_path, {"nightly-report": False})
        started = time.monotonic()
        found = run_all(app.url, admin_token)
        run_seen_finished = time.monotonic() - started
        [received] = webhook.wait_for(1, timeout=30)
        with httpx.Client(base_url=app.url) as http:
            health = http.get("/api/v1/health").json()
            listed = http.get(
                "/api/v1/notifications", headers={"Authorization": f"Bearer {admin_token}"}
            ).json()["items"]
    # Each attempt takes the receiver 2 s; the run was over long before the first answer.
    took = datetime.fromisoformat(found["finished_at"]) - datetime.fromisoformat(
        found["started_at"]
    )
    assert took < timedelta(seconds=1.5) and run_seen_finished < 2.0
    assert len(webhook.refused) == 2 and received.at > webhook.refused[-1]
    assert listed[0]["status"] == "sent" and listed[0]["attempts"] == 3
    assert health["notification_targets_failing"] == []


def test_events_of_a_killed_server_are_sent_after_restart_once_each(
    tmp_path: Path, admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    hook = Webhook(port)  # not listening yet: nothing can be sent before the kill
    monkeypatch.setenv("SC_HOOK_URL", hook.url)
    write_catalog(tmp_path, {"nightly-report": True, "payments": True})
    config = write_workspace(
        tmp_path,
        {"hook": "SC_HOOK_URL"},
        "\n    - {events: [certification.lost, check.failing], targets: [hook]}",
    )
    server_port = free_port()
    command = [
        sys.executable, "-m", "scorecard", "--config", str(config), "serve",
        "--host", "127.0.0.1", "--port", str(server_port),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{server_port}"
    env = os.environ | {"PYTHONUNBUFFERED": "1"}

    def serve() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health").status_code == 200:
                    return process
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "no server"
            time.sleep(0.1)

    first = serve()
    try:
        while httpx.get(f"{url}/api/v1/runs").json()["items"][0]["status"] == "running":
            time.sleep(0.05)
        write_catalog(tmp_path, {"nightly-report": False, "payments": False})
        run_all(url, admin_token)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    with Store(f"sqlite:///{tmp_path / 'scorecard.db'}") as store:
        events = store.outbox()
        assert len(events) == 4  # two levels lost, two checks failing
        assert not store.notifications(status=DeliveryStatus.SENT).items
    hook.start()
    second = serve()
    try:
        received = hook.wait_for(4, timeout=30)
        time.sleep(1.0)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
        hook.stop()
    keys = [r.headers["Idempotency-Key"] for r in hook.received]
    assert len(keys) == 4 and len(set(keys)) == 4
    titles = sorted(r.body["title"] for r in received)
    assert titles == [
        "component:default/nightly-report dropped from silver to bronze on Operations",
        "component:default/payments dropped from silver to bronze on Operations",
        "has_oncall now fails for component:default/nightly-report on Operations",
        "has_oncall now fails for component:default/payments on Operations",
    ]


def test_a_target_failing_for_an_hour_is_reported(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'x.db'}") as store:
        now = datetime.now(UTC)
        with store.transaction() as session:
            for index, (target, status, failed, sent) in enumerate([
                ("slack", DeliveryStatus.PENDING, now - timedelta(hours=2), None),
                ("mail", DeliveryStatus.PENDING, now - timedelta(hours=2), None),
                ("mail", DeliveryStatus.SENT, now - timedelta(hours=3), now - timedelta(minutes=5)),
                ("hook", DeliveryStatus.FAILED, now - timedelta(minutes=10), None),
            ]):  # fmt: skip
                session.add(
                    DeliveryRecord(
                        key=f"k{index}",
                        target=target,
                        events=[],
                        title="t",
                        body="b",
                        status=status,
                        attempts=3,
                        created_at=failed,
                        next_attempt_at=now,
                        first_failed_at=failed,
                        sent_at=sent,
                    )
                )
        # mail got a message through since; hook has failed for ten minutes only.
        assert failing_targets(store, now) == ["slack"]
