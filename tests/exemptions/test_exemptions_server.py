"""Exemptions through a real server on loopback: roles at each step, the level they
change at once (API, badge, page), history with the exemption as the reason, the audit
log, and expiry on time with no run in between."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.exemptions.conftest import ENTITY, JUSTIFICATION, load, write_workspace
from tests.serving import ServedApp
from tests.tokens import Tokens, client

PAGE = "/catalog/component/default/nightly-report"
API = "/api/v1/entities/component/default/nightly-report"
BADGE = "/badges/component/default/nightly-report/ops.svg"


class Captured(logging.Handler):
    """Every log record of the process while the module's server runs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def logs() -> Iterator[Captured]:
    handler = Captured()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, tokens: Tokens, logs: Captured
) -> Iterator[ServedApp]:
    root = tmp_path_factory.mktemp("exemptions")
    config = write_workspace(root, f"sqlite:///{root / 'scorecard.db'}")
    with ServedApp(load(config)) as app:
        yield app


def level(url: str) -> str | None:
    with client(url) as http:
        return http.get(API).json()["tracks"][0]["level"]


def test_a_requested_exemption_counts_once_approved_and_stops_when_revoked(
    served: ServedApp, tokens: Tokens, logs: Captured
) -> None:
    url = served.url
    assert level(url) == "bronze"
    body = {
        "entity": ENTITY, "track": "ops", "check": "has_oncall",
        "justification": JUSTIFICATION, "days": 30,
    }  # fmt: skip
    # Who may not ask: nobody without a token, an unknown token, a reader.
    with client(url) as anonymous:
        assert anonymous.post("/api/v1/exemptions", json=body).status_code == 401
    with client(url, "not-a-token-of-this-server") as stranger:
        assert stranger.post("/api/v1/exemptions", json=body).status_code == 403
    with client(url, tokens.reader) as reader:
        denied = reader.post("/api/v1/exemptions", json=body)
        assert denied.status_code == 403
        assert "reader" in denied.json()["detail"]
    # A runner asks; nothing changes before an admin approves.
    with client(url, tokens.runner) as runner:
        asked = runner.post("/api/v1/exemptions", json=body)
        assert asked.status_code == 201, asked.text
        exemption = asked.json()
        assert exemption["status"] == "pending" and exemption["requested_by"] == "ci"
        assert not exemption["active"]
        number = exemption["id"]
        # A runner may neither approve (its own or any) nor revoke.
        assert runner.post(f"/api/v1/exemptions/{number}/approve").status_code == 403
        assert runner.post(f"/api/v1/exemptions/{number}/revoke").status_code == 403
        assert runner.post("/api/v1/exemptions", json=body | {"approve": True}).status_code == 403
    assert level(url) == "bronze"
    with client(url) as anonymous:
        assert anonymous.post(f"/api/v1/exemptions/{number}/approve").status_code == 401
    with client(url, tokens.reader) as reader:
        assert reader.post(f"/api/v1/exemptions/{number}/approve").status_code == 403
        # Pending requests are visible to everyone who reads, the owning team included.
        pending = reader.get("/api/v1/exemptions", params={"status": "pending"}).json()
        assert [item["id"] for item in pending["items"]] == [number]
    # An admin approves: silver at once, in the API, the badge and the page.
    with client(url, tokens.admin) as admin:
        approved = admin.post(f"/api/v1/exemptions/{number}/approve", json={"note": "Agreed."})
        assert approved.status_code == 200, approved.text
        assert approved.json()["decided_by"] == "release-admin"
        assert approved.json()["level_changes"] == [
            {"entity": ENTITY, "track": "ops", "level": "silver", "previous_level": "bronze"}
        ]
    with client(url) as anonymous:
        card = anonymous.get(API).json()["tracks"][0]
        assert card["level"] == "silver" and card["blocking"] == []
        oncall = card["levels"][1]["checks"][0]
        assert oncall["outcome"] == "fail"  # still failing: exempted, not a pass
        assert oncall["exemption"]["justification"] == JUSTIFICATION
        assert oncall["exemption"]["needed"] is True
        assert "silver" in anonymous.get(BADGE).text
        page = anonymous.get(PAGE).text
        assert "exempted" in page and JUSTIFICATION in page
    # Revoked: back to bronze, and the history says why each time.
    with client(url, tokens.admin) as admin:
        revoked = admin.post(f"/api/v1/exemptions/{number}/revoke", json={"note": "On call now."})
        assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
        assert admin.post(f"/api/v1/exemptions/{number}/approve").status_code == 409
    assert level(url) == "bronze"
    with client(url) as anonymous:
        assert "bronze" in anonymous.get(BADGE).text
        history = anonymous.get(f"{API}/history").json()["certifications"]
    reasons = [(c["level"], c["previous_level"], c["reason"]) for c in history]
    assert reasons[:2] == [
        ("bronze", "silver", f"exemption {number} revoked"),
        ("silver", "bronze", f"exemption {number} approved"),
    ]
    assert all(c["exemption_id"] == number for c in history[:2])
    # One audit row per write, naming the token by its name.
    with client(url, tokens.admin) as admin:
        rows = admin.get("/api/v1/audit", params={"object_type": "exemption"}).json()["items"]
    assert [(row["actor"], row["action"]) for row in reversed(rows)] == [
        ("ci", "exemption.requested"),
        ("release-admin", "exemption.approved"),
        ("release-admin", "exemption.revoked"),
    ]
    for token in (tokens.runner, tokens.reader):
        with client(url, token) as other:
            assert other.get("/api/v1/audit").status_code == 403
    with client(url) as anonymous:
        assert anonymous.get("/api/v1/audit").status_code == 401
    # No token value anywhere: responses, audit rows, logs.
    with client(url, tokens.admin) as admin:
        every_row = admin.get("/api/v1/audit", params={"limit": 500}).text
        listed = admin.get("/api/v1/exemptions").text
    seen = "\n".join([every_row, listed, *logs.lines])
    for value in tokens.values():
        assert value not in seen


def test_a_request_is_refused_with_reasons(served: ServedApp, tokens: Tokens) -> None:
    good = {"entity": ENTITY, "track": "ops", "check": "has_oncall", "justification": JUSTIFICATION}
    cases = [
        (good | {"days": 91}, 422, "90"),  # beyond exemptions.max_days
        (good | {"days": 30, "justification": "because"}, 422, "justification"),
        (good | {"days": 30, "check": "no_such_check"}, 422, "no_such_check"),
        (good | {"days": 30, "track": "nope"}, 422, "nope"),
        (good | {"days": 30, "entity": "component:default/unknown"}, 404, "unknown"),
        (good, 422, "expires_at"),  # neither expires_at nor days
        (good | {"days": 30, "color": "red"}, 422, "color"),
        (good | {"expires_at": "2027-01-01T00:00:00"}, 422, "timezone"),
        (good | {"expires_at": 1893456000}, 422, "date-time"),
    ]
    with client(served.url, tokens.runner) as runner:
        for body, code, words in cases:
            answer = runner.post("/api/v1/exemptions", json=body)
            assert answer.status_code == code, (body, answer.text)
            assert words in answer.text, (body, answer.text)
    with client(served.url, tokens.admin) as admin:
        assert admin.post("/api/v1/exemptions/999999/approve").status_code == 404
        assert admin.get("/api/v1/whoami").json() == {"name": "release-admin", "role": "admin"}


def test_an_exemption_expires_on_time_without_a_run(tmp_path: Path, tokens: Tokens) -> None:
    config = write_workspace(tmp_path, f"sqlite:///{tmp_path / 'scorecard.db'}")
    with ServedApp(load(config), schedule=True) as app:
        runs_before = app.service.store.find_runs().total
        soon = datetime.now(UTC) + timedelta(seconds=3)
        with client(app.url, tokens.admin) as admin:
            made = admin.post(
                "/api/v1/exemptions",
                json={
                    "entity": ENTITY, "check": "has_oncall", "justification": JUSTIFICATION,
                    "expires_at": soon.isoformat(), "approve": True,
                },
            )  # fmt: skip
            assert made.status_code == 201, made.text
            number = made.json()["id"]
        assert level(app.url) == "silver"
        deadline = time.monotonic() + 15
        while level(app.url) == "silver":
            assert time.monotonic() < deadline, "the exemption did not expire on time"
            time.sleep(0.2)
        dropped_at = datetime.now(UTC)
        assert level(app.url) == "bronze"
        assert dropped_at >= soon
        assert app.service.store.find_runs().total == runs_before  # no run in between
        with client(app.url) as anonymous:
            history = anonymous.get(f"{API}/history").json()["certifications"]
            assert history[0]["reason"] == f"exemption {number} expired"
            assert history[0]["run_id"] is None
            assert anonymous.get(f"/api/v1/exemptions/{number}").json()["status"] == "expired"
        with client(app.url, tokens.admin) as admin:
            rows = admin.get("/api/v1/audit", params={"action": "exemption."}).json()["items"]
            assert (rows[0]["actor"], rows[0]["action"]) == ("system", "exemption.expired")


def test_a_server_started_after_the_expiry_recomputes_at_start(
    tmp_path: Path, tokens: Tokens
) -> None:
    config = write_workspace(tmp_path, f"sqlite:///{tmp_path / 'scorecard.db'}")
    with ServedApp(load(config)) as app:  # no scheduler: nothing acts on the expiry
        # From now, not from before the server started: a slow start must not make the
        # expiry a past one.
        soon = datetime.now(UTC) + timedelta(seconds=2)
        with client(app.url, tokens.admin) as admin:
            made = admin.post(
                "/api/v1/exemptions",
                json={
                    "entity": ENTITY, "track": "ops", "check": "has_oncall",
                    "justification": JUSTIFICATION, "expires_at": soon.isoformat(),
                    "approve": True,
                },
            )  # fmt: skip
            assert made.status_code == 201, made.text
        assert level(app.url) == "silver"
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.2)
    with ServedApp(load(config)) as again:
        assert level(again.url) == "bronze"
        with client(again.url) as anonymous:
            history = anonymous.get(f"{API}/history").json()["certifications"]
        assert history[0]["reason"].endswith("expired")
