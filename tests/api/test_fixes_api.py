"""`POST /api/v1/fixes`: a real server over the workspace of tests/fixes/remote_scene.py
(its start-up run fills the store) opening pull requests on the fake GitHub of
tests/fixes/github_api.py; admin only, audited, bad requests refused with a message."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from scorecard.workspace import Workspace
from tests.fixes.github_api import FakeGitHub
from tests.fixes.remote_scene import TRACK_ID, catalog_file, seed_repositories, write_workspace
from tests.serving import ServedApp
from tests.tokens import HOLDERS, Tokens, client, tokens_config, tokens_fixture, variables

VARIABLES = variables("SC_FIXES_API")
tokens = tokens_fixture(VARIABLES)
# reports, exempted in tests/fixes, is not here: it gets a pull request too.
REPOSITORIES = ["acme/ledger", "acme/payments", "acme/reports", "acme/search"]
AUDIT = {"action": "fixes.pull_requests"}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGitHub]:
    server = FakeGitHub().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def url(
    tokens: Tokens, fake: FakeGitHub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The server, reading GitHub from the fake with a token, as a deployment sets it."""
    root = tmp_path_factory.mktemp("fixes-api")
    config = write_workspace(root, f"sqlite:///{root / 'db.sqlite'}", tokens_config(VARIABLES))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SCORECARD_GITHUB_API_URL", fake.url)
        patch.setenv("GITHUB_TOKEN", "ghp_fixes_api_test")
        served = ServedApp(Workspace.load(config))
        served.start()  # its start-up run stores the results the fixes are planned from
        try:
            yield served.url
        finally:
            served.stop()


@pytest.fixture
def github(fake: FakeGitHub) -> FakeGitHub:
    fake.reset()
    seed_repositories(fake)
    fake.add_repository("acme/reports", {"catalog-info.yaml": catalog_file("reports")})
    return fake


def post(url: str, token: str | None, body: dict[str, Any]) -> Any:
    with client(url, token) as http:
        return http.post("/api/v1/fixes", json=body)


def audit_rows(url: str, tokens: Tokens) -> list[dict[str, Any]]:
    with client(url, tokens.admin) as http:
        page = http.get("/api/v1/audit", params=AUDIT)
    assert page.status_code == 200, page.text
    return page.json()["items"]


BODY = {"track": TRACK_ID, "level": "silver", "dry_run": False}


def test_only_an_admin_may_open_them(url: str, tokens: Tokens, github: FakeGitHub) -> None:
    assert post(url, None, BODY).status_code == 401
    for token in (tokens.reader, tokens.runner):
        refused = post(url, token, BODY)
        assert refused.status_code == 403, refused.text
        assert "this needs a admin token" in refused.json()["detail"]
    assert all(not r.requests for r in github.repositories.values())


def test_a_dry_run_says_what_would_be_opened_and_is_not_audited(
    url: str, tokens: Tokens, github: FakeGitHub
) -> None:
    audited = len(audit_rows(url, tokens))
    answer = post(url, tokens.admin, {**BODY, "dry_run": True})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["dry_run"] is True and report["branch"] == "scorecard/fixes"
    assert {r["repository"]: r["action"] for r in report["repositories"]} == dict.fromkeys(
        REPOSITORIES, "would open"
    )
    assert {s["entity"] for s in report["skipped"]} == {
        "component:default/storefront",
        "component:default/legacy",
    }
    assert all(not r.pulls for r in github.repositories.values())
    assert len(audit_rows(url, tokens)) == audited


def test_pull_requests_are_opened_and_audited(url: str, tokens: Tokens, github: FakeGitHub) -> None:
    answer = post(url, tokens.admin, {**BODY, "entities": ["payments", "ledger-api"]})
    assert answer.status_code == 200, answer.text
    rows = {r["repository"]: r for r in answer.json()["repositories"]}
    assert {name: row["action"] for name, row in rows.items()} == {
        "acme/ledger": "opened",
        "acme/payments": "opened",
    }
    numbers = {name: github.repository(name).open_pulls()[0].number for name in rows}
    assert {name: row["number"] for name, row in rows.items()} == numbers
    assert not github.repository("acme/search").pulls

    row = audit_rows(url, tokens)[0]
    assert (row["actor"], row["object_type"], row["object_id"]) == (
        HOLDERS["admin"],
        "track",
        TRACK_ID,
    )
    change = row["change"]
    assert change["level"] == "silver"
    assert change["entities"] == ["component:default/payments", "component:default/ledger-api"]
    assert {r["repository"]: r["number"] for r in change["repositories"]} == numbers


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"track": "nope", "level": "silver", "dry_run": True}, "unknown track 'nope'"),
        ({"track": TRACK_ID, "level": "gold", "dry_run": True}, "has no level 'gold'"),
        ({"track": TRACK_ID, "checks": ["has_tests"], "dry_run": True}, "no check 'has_tests'"),
        ({"track": TRACK_ID, "dry_run": True}, "give a level (fix up to it) or checks"),
        (
            {"track": TRACK_ID, "level": "silver", "checks": ["has_oncall"], "dry_run": True},
            "not both",
        ),
        (
            {"track": TRACK_ID, "level": "silver", "entities": ["ghost"], "dry_run": True},
            "no entity component:default/ghost has been evaluated",
        ),
        ({"track": TRACK_ID, "level": "silver"}, "dry_run"),
        ({"track": TRACK_ID, "level": "silver", "dry_run": True, "force": 1}, "force"),
    ],
)
def test_a_bad_request_is_refused_with_a_message(
    url: str, tokens: Tokens, body: dict[str, Any], message: str
) -> None:
    answer = post(url, tokens.admin, body)
    assert answer.status_code == 422, answer.text
    assert message in answer.json()["detail"]
