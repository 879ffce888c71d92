"""GitHubClient and GitHubRepoFacts over httpx.MockTransport, with GitHub's response shapes."""

import asyncio
import base64
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from scorecard.inputs import InputUnavailable
from scorecard.problems import ConfigError
from scorecard.sources.github import (
    FactUnavailable,
    GitHubClient,
    GitHubRepoFacts,
    repository_slug,
)
from scorecard.testing import make_entity
from scorecard.workspace import Workspace

DOCS = "https://docs.github.com/rest"
REPO = {
    "id": 1296269,
    "name": "payments",
    "full_name": "acme/payments",
    "private": True,
    "default_branch": "main",
    "delete_branch_on_merge": True,
}
NOW = 1_700_000_000.0


class Clock:
    """A clock that the injected sleep moves forward."""

    def __init__(self) -> None:
        self.now = NOW
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def client_for(
    handler: Callable[[httpx.Request], httpx.Response], clock: Clock | None = None, **kw: Any
) -> GitHubClient:
    clock = clock or Clock()
    return GitHubClient(
        token="ghp_test",
        transport=httpx.MockTransport(handler),
        clock=clock,
        sleep=clock.sleep,
        **kw,
    )


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_sends_token_and_api_version() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=REPO)

    facts = GitHubRepoFacts(client_for(handler), "acme", "payments")
    assert run(facts.repository())["default_branch"] == "main"
    request = seen[0]
    assert str(request.url) == "https://api.github.com/repos/acme/payments"
    assert request.headers["authorization"] == "Bearer ghp_test"
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"


def test_each_fact_is_fetched_once_per_entity() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(403, json={"message": "Resource not accessible by integration"})

    facts = GitHubRepoFacts(client_for(handler), "acme", "payments")
    for _ in range(3):
        with pytest.raises(FactUnavailable):
            run(facts.repository())
    assert calls == ["/repos/acme/payments"]


def test_304_reuses_the_cached_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("if-none-match") == '"abc123"':
            return httpx.Response(304, headers={"etag": '"abc123"'})
        return httpx.Response(200, json=REPO, headers={"etag": '"abc123"'})

    client = client_for(handler)
    first = run(GitHubRepoFacts(client, "acme", "payments").repository())
    second = run(GitHubRepoFacts(client, "acme", "payments").repository())  # the next run
    assert first == second == REPO
    assert "if-none-match" not in seen[0].headers
    assert seen[1].headers["if-none-match"] == '"abc123"'
    assert client.not_modified == 1
    assert client.requests == 2


def test_spent_rate_limit_waits_until_reset() -> None:
    clock = Clock()
    responses = [
        httpx.Response(
            200,
            json=REPO,
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 5)},
        ),
        httpx.Response(204),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return responses.pop(0)

    facts = GitHubRepoFacts(client_for(handler, clock), "acme", "payments")
    run(facts.repository())
    assert clock.slept == []
    assert run(facts.vulnerability_alerts_enabled()) is True
    assert clock.slept == [5.0]


def test_primary_limit_403_waits_and_retries() -> None:
    clock = Clock()
    responses = [
        httpx.Response(
            403,
            json={"message": "API rate limit exceeded for user ID 1.", "documentation_url": DOCS},
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 3)},
        ),
        httpx.Response(200, json=REPO),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return responses.pop(0)

    facts = GitHubRepoFacts(client_for(handler, clock), "acme", "payments")
    assert run(facts.repository()) == REPO
    assert clock.slept == [3.0]


def test_secondary_limit_honours_retry_after() -> None:
    clock = Clock()
    secondary = {
        "message": "You have exceeded a secondary rate limit. Please wait a few minutes before "
        "you try again.",
        "documentation_url": DOCS,
    }
    responses = [
        httpx.Response(403, json=secondary, headers={"retry-after": "2"}),
        httpx.Response(429, json=secondary, headers={"retry-after": "4"}),
        httpx.Response(200, json=REPO),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return responses.pop(0)

    facts = GitHubRepoFacts(client_for(handler, clock), "acme", "payments")
    assert run(facts.repository()) == REPO
    assert clock.slept == [2.0, 4.0]


def test_retries_are_bounded() -> None:
    clock = Clock()
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(
            403,
            json={"message": "You have exceeded a secondary rate limit."},
            headers={"retry-after": "1"},
        )

    facts = GitHubRepoFacts(client_for(handler, clock, max_retries=2), "acme", "payments")
    with pytest.raises(FactUnavailable, match="rate limit"):
        run(facts.repository())
    assert len(calls) == 3
    assert clock.slept == [1.0, 1.0]


def test_a_long_wait_is_not_made() -> None:
    clock = Clock()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            403,
            json={"message": "API rate limit exceeded for user ID 1."},
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 3600)},
        )

    facts = GitHubRepoFacts(client_for(handler, clock), "acme", "payments")
    with pytest.raises(FactUnavailable, match="3600 seconds"):
        run(facts.repository())
    assert clock.slept == []


def test_permission_denied_names_the_fact() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            403,
            json={"message": "Resource not accessible by integration", "documentation_url": DOCS},
        )

    facts = GitHubRepoFacts(client_for(handler), "acme", "payments")
    with pytest.raises(FactUnavailable) as caught:
        run(facts.branch_protection("main"))
    assert str(caught.value) == (
        "The token cannot read the branch protection of main in acme/payments "
        "(HTTP 403: Resource not accessible by integration)."
    )
    assert isinstance(caught.value, InputUnavailable)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, {"required_pull_request_reviews": {"required_approving_review_count": 1}}, dict),
        (404, {"message": "Branch not protected", "documentation_url": DOCS}, None),
        (404, {"message": "Not Found", "documentation_url": DOCS}, FactUnavailable),
    ],
)
def test_branch_protection(status: int, body: dict[str, Any], expected: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/repos/acme/payments/branches/main/protection"
        return httpx.Response(status, json=body)

    facts = GitHubRepoFacts(client_for(handler), "acme", "payments")
    if expected is FactUnavailable:
        with pytest.raises(FactUnavailable, match="cannot read"):
            run(facts.branch_protection("main"))
    elif expected is None:
        assert run(facts.branch_protection("main")) is None
    else:
        assert isinstance(run(facts.branch_protection("main")), dict)


def test_dependabot_alerts_query() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    facts = GitHubRepoFacts(client_for(handler), "acme", "payments")
    assert run(facts.dependabot_alerts(severity="high")) == []
    assert seen[0].url.path == "/repos/acme/payments/dependabot/alerts"
    assert dict(seen[0].url.params) == {"state": "open", "severity": "high", "per_page": "100"}


def test_unreachable_host_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    facts = GitHubRepoFacts(client_for(handler), "acme", "payments")
    with pytest.raises(FactUnavailable, match="could not be reached"):
        run(facts.repository())


def test_enterprise_base_url() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=REPO)

    client = GitHubClient("https://ghe.example.com/api/v3/", transport=httpx.MockTransport(handler))
    facts = GitHubRepoFacts(client, "acme", "payments")
    run(facts.repository())
    assert str(seen[0].url) == "https://ghe.example.com/api/v3/repos/acme/payments"
    assert "authorization" not in seen[0].headers
    assert client.web_host == "ghe.example.com"
    assert facts.url == "https://ghe.example.com/acme/payments"


def test_from_env() -> None:
    client = GitHubClient.from_env(
        {"GITHUB_TOKEN": "t0k", "SCORECARD_GITHUB_API_URL": "https://ghe.example.com/api/v3"}
    )
    assert client.base_url == "https://ghe.example.com/api/v3"
    assert client._http.headers["authorization"] == "Bearer t0k"
    assert GitHubClient.from_env({}).base_url == "https://api.github.com"


def test_the_workspace_file_configures_the_client(tmp_path: Path) -> None:
    (tmp_path / "scorecard.yaml").write_text(
        "catalog: [catalog/]\ngithub:\n  api_url: https://ghe.example.com/api/v3/\n"
        "  token_env: GHE_TOKEN\n"
        "  timeout: 3\n  max_wait: 0\n"
    )
    settings = Workspace.from_file(tmp_path / "scorecard.yaml").github
    client = GitHubClient.from_env({"GHE_TOKEN": "ghe", "GITHUB_TOKEN": "other"}, settings)
    assert client.base_url == "https://ghe.example.com/api/v3"
    assert client.web_host == "ghe.example.com"
    assert client._http.headers["authorization"] == "Bearer ghe"
    assert client.max_wait == 0
    # The environment's API URL wins over the file's.
    overridden = GitHubClient.from_env(
        {"SCORECARD_GITHUB_API_URL": "https://other.example.com/api/v3"}, settings
    )
    assert overridden.base_url == "https://other.example.com/api/v3"
    assert "authorization" not in overridden._http.headers


def test_a_github_section_that_is_wrong_names_its_place(tmp_path: Path) -> None:
    (tmp_path / "scorecard.yaml").write_text(
        "catalog: [catalog/]\ngithub:\n  api_url: ghe.example.com\n"
    )
    with pytest.raises(ConfigError) as caught:
        Workspace.from_file(tmp_path / "scorecard.yaml")
    assert "github.api_url" in str(caught.value)
    assert "scorecard.yaml" in str(caught.value)


@pytest.mark.parametrize(
    ("annotations", "host", "expected"),
    [
        ({"github.com/project-slug": "acme/payments"}, "github.com", ("acme", "payments")),
        (
            {"backstage.io/source-location": "url:https://github.com/acme/payments/tree/main/"},
            "github.com",
            ("acme", "payments"),
        ),
        (
            {"backstage.io/source-location": "url:https://ghe.example.com/acme/payments.git"},
            "ghe.example.com",
            ("acme", "payments"),
        ),
        (
            {"backstage.io/source-location": "url:https://gitlab.com/acme/payments"},
            "github.com",
            None,
        ),
        ({"github.com/project-slug": "payments"}, "github.com", None),
        ({}, "github.com", None),
    ],
)
def test_repository_slug(annotations: dict[str, str], host: str, expected: Any) -> None:
    entity = make_entity({"metadata": {"annotations": annotations}})
    if expected is None:
        with pytest.raises(InputUnavailable):
            repository_slug(entity, host)
    else:
        assert repository_slug(entity, host) == expected


def test_a_run_reports_unreadable_facts_as_unknown(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scorecard.entity import Entity
    from scorecard.registry import build_registry
    from scorecard.results import Outcome
    from scorecard.runner import evaluate
    from scorecard.tracks import load_track

    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == "/repos/acme/payments":
            return httpx.Response(200, json=REPO)
        if request.url.path == "/repos/acme/payments/vulnerability-alerts":
            return httpx.Response(204)
        return httpx.Response(403, json={"message": "Resource not accessible by integration"})

    made: list[GitHubClient] = []

    def from_env(
        cls: type[GitHubClient], environ: Any = None, settings: Any = None
    ) -> GitHubClient:
        made.append(GitHubClient(token="t", transport=httpx.MockTransport(handler)))
        return made[-1]

    monkeypatch.setattr(GitHubClient, "from_env", classmethod(from_env))
    track_file = tmp_path / "github.yaml"
    track_file.write_text(
        "apiVersion: scorecard/v1\nkind: Track\nid: gh\ntitle: GitHub settings\nlevels:\n"
        "  - id: bronze\n    checks: [delete_branch_on_merge, vulnerability_alerts_enabled,"
        " default_branch_protected]\n"
    )
    track = load_track(track_file, build_registry(plugins=False))
    slug = {"github.com/project-slug": "acme/payments"}
    entities = [
        Entity(
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": {"name": name, "annotations": annotations},
                "spec": {"owner": "team-a"},
            }
        )
        for name, annotations in (("a", slug), ("b", slug), ("c", {}))
    ]
    report = evaluate(entities, [track], timeout=5)
    outcomes = {(r.entity_ref, r.check_id): r.result for r in report.results}
    for name in ("a", "b"):
        ref = f"component:default/{name}"
        assert outcomes[ref, "delete_branch_on_merge"].outcome is Outcome.PASS
        assert outcomes[ref, "vulnerability_alerts_enabled"].outcome is Outcome.PASS
        protected = outcomes[ref, "default_branch_protected"]
        assert protected.outcome is Outcome.UNKNOWN, protected.message
        assert "HTTP 403: Resource not accessible by integration" in protected.message
    missing = outcomes["component:default/c", "delete_branch_on_merge"]
    assert missing.outcome is Outcome.UNKNOWN
    assert "no GitHub repository is known for component:default/c" in missing.message
    # One client per run; entities of one repository share its facts.
    assert len(made) == 1
    assert paths.count("/repos/acme/payments") == 1
    assert made[0]._http.is_closed


def test_secondary_limit_without_retry_after_is_not_hammered() -> None:
    clock = Clock()
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(
            403,
            json={
                "message": "You have exceeded a secondary rate limit.",
                "documentation_url": DOCS,
            },
        )

    facts = GitHubRepoFacts(client_for(handler, clock), "acme", "payments")
    # GitHub asks for a minute; that is longer than scorecard waits, so the fact is unknown.
    with pytest.raises(FactUnavailable, match="60 seconds"):
        run(facts.repository())
    assert calls == ["/repos/acme/payments"]
    assert clock.slept == []


def test_a_spent_limit_stops_later_requests() -> None:
    clock = Clock()
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(
            200,
            json=REPO,
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 900)},
        )

    facts = GitHubRepoFacts(client_for(handler, clock), "acme", "payments")
    run(facts.repository())
    with pytest.raises(FactUnavailable, match="rate limit"):
        run(facts.vulnerability_alerts_enabled())
    assert calls == ["/repos/acme/payments"]


def test_a_body_that_is_not_json_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>proxy login</html>")

    facts = GitHubRepoFacts(client_for(handler), "acme", "payments")
    with pytest.raises(FactUnavailable, match="other than JSON"):
        run(facts.repository())


def _alert(number: int, severity: str) -> dict[str, Any]:
    """A Dependabot alert in the shape GitHub documents (trimmed)."""
    return {
        "number": number,
        "state": "open",
        "dependency": {
            "package": {"ecosystem": "pip", "name": f"package-{number}"},
            "manifest_path": "requirements.txt",
            "scope": "runtime",
        },
        "security_advisory": {"ghsa_id": f"GHSA-0000-0000-{number:04d}", "severity": severity},
        "security_vulnerability": {
            "package": {"ecosystem": "pip", "name": f"package-{number}"},
            "severity": severity,
        },
        "html_url": f"https://github.com/acme/payments/security/dependabot/{number}",
    }


class FakeAlerts:
    """GitHub's repository Dependabot alerts endpoint: cursor pages linked by `Link`.

    The first page is asked at /repos/{owner}/{repo}/dependabot/alerts; GitHub's `next`
    link names the repository by id (/repositories/{id}/...) and carries an `after`
    cursor. Each page has an ETag; a matching If-None-Match gets 304 (without Link, which
    GitHub does not promise on a 304). `ignore_severity` plays a server that ignores the
    filter.
    """

    def __init__(
        self, alerts: list[dict[str, Any]], *, per_page: int = 100, ignore_severity: bool = False
    ) -> None:
        self.alerts = alerts
        self.per_page = per_page
        self.ignore_severity = ignore_severity
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        assert path in (
            "/repos/acme/payments/dependabot/alerts",
            "/repositories/1/dependabot/alerts",
        )
        params = request.url.params
        assert int(params["per_page"]) <= 100
        wanted = params.get("severity")
        alerts = [
            a
            for a in self.alerts
            if self.ignore_severity or not wanted or a["security_advisory"]["severity"] == wanted
        ]
        start = int(base64.b64decode(params["after"])) if "after" in params else 0
        page = alerts[start : start + self.per_page]
        etag = f'W/"{hashlib.sha256(repr(page).encode()).hexdigest()[:16]}"'
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"etag": etag})
        headers = {"etag": etag}
        end = start + self.per_page
        if end < len(alerts):
            cursor = base64.b64encode(str(end).encode()).decode()
            query = {k: v for k, v in params.items() if k != "after"} | {"after": cursor}
            following = httpx.URL("https://api.github.com/repositories/1/dependabot/alerts")
            headers["link"] = f'<{following.copy_with(params=query)}>; rel="next"'
        return httpx.Response(200, json=page, headers=headers)


def test_dependabot_alerts_follow_the_link_header_page_by_page() -> None:
    fake = FakeAlerts([_alert(n, "critical") for n in range(1, 251)])
    client = client_for(fake)
    alerts = run(GitHubRepoFacts(client, "acme", "payments").dependabot_alerts())
    assert [a["number"] for a in alerts] == list(range(1, 251))
    assert alerts.complete
    assert [r.url.path for r in fake.requests] == [
        "/repos/acme/payments/dependabot/alerts",
        "/repositories/1/dependabot/alerts",
        "/repositories/1/dependabot/alerts",
    ]
    for request in fake.requests:
        assert request.url.params["state"] == "open"
        assert request.url.params["severity"] == "critical"
        assert request.url.params["per_page"] == "100"
        assert request.headers["authorization"] == "Bearer ghp_test"
    assert [r.url.params.get("after") for r in fake.requests][1:] == ["MTAw", "MjAw"]

    # The next run: every page is asked with its own ETag; 304s reuse body and next link.
    fake.requests.clear()
    again = run(GitHubRepoFacts(client, "acme", "payments").dependabot_alerts())
    assert again == alerts and again.complete
    assert len(fake.requests) == 3
    assert all(r.headers.get("if-none-match") for r in fake.requests)
    assert client.not_modified == 3

    # A page that changed is read again; the pages after it follow its new link.
    fake.alerts.insert(150, _alert(999, "critical"))
    fake.requests.clear()
    changed = run(GitHubRepoFacts(client, "acme", "payments").dependabot_alerts())
    assert len(changed) == 251 and changed[150]["number"] == 999
    assert client.not_modified == 4  # page 1 was unchanged


def test_dependabot_pages_are_bounded() -> None:
    fake = FakeAlerts([_alert(n, "critical") for n in range(1, 51)], per_page=10)
    alerts = run(
        GitHubRepoFacts(client_for(fake, max_pages=3), "acme", "payments").dependabot_alerts()
    )
    assert len(fake.requests) == 3
    assert [a["number"] for a in alerts] == list(range(1, 31))
    assert not alerts.complete


def test_a_next_link_off_the_api_is_not_followed() -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        link = '<https://evil.example/repositories/1/dependabot/alerts?after=MTAw>; rel="next"'
        return httpx.Response(200, json=[_alert(1, "high")], headers={"link": link})

    facts = GitHubRepoFacts(client_for(handler), "acme", "payments")
    with pytest.raises(FactUnavailable, match=r"not under https://api\.github\.com"):
        run(facts.dependabot_alerts(severity="high"))
    assert hosts == ["api.github.com"]


def test_alerts_of_another_severity_are_dropped() -> None:
    fake = FakeAlerts([_alert(1, "high"), _alert(2, "critical")], ignore_severity=True)
    alerts = run(GitHubRepoFacts(client_for(fake), "acme", "payments").dependabot_alerts())
    assert [a["number"] for a in alerts] == [2]
