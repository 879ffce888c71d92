"""The GitHub checks against a fake GitHub API (httpx.MockTransport, documented shapes)."""

from typing import Any

import httpx
import pytest

from checks.github import (
    default_branch_protected,
    delete_branch_on_merge,
    no_critical_dependabot_alerts,
    required_reviews,
    vulnerability_alerts_enabled,
)
from scorecard.results import Outcome
from scorecard.sdk import Check
from scorecard.sources.github import GitHubClient, GitHubRepoFacts
from scorecard.testing import run_check

PASS, FAIL, UNKNOWN = Outcome.PASS, Outcome.FAIL, Outcome.UNKNOWN
DOCS = "https://docs.github.com/rest"
BASE = "/repos/acme/payments"
REPO = {"full_name": "acme/payments", "default_branch": "main", "delete_branch_on_merge": True}
PROTECTION = {
    "url": "https://api.github.com/repos/acme/payments/branches/main/protection",
    "required_status_checks": {"strict": True, "contexts": ["ci"], "checks": []},
    "required_pull_request_reviews": {
        "dismiss_stale_reviews": True,
        "require_code_owner_reviews": False,
        "required_approving_review_count": 2,
    },
    "enforce_admins": {"enabled": True},
}
NOT_PROTECTED = (404, {"message": "Branch not protected", "documentation_url": DOCS})
FORBIDDEN = (403, {"message": "Resource not accessible by integration", "documentation_url": DOCS})
NOT_FOUND = (404, {"message": "Not Found", "documentation_url": DOCS})
PR_RULE = {
    "type": "pull_request",
    "ruleset_source_type": "Repository",
    "ruleset_source": "acme/payments",
    "ruleset_id": 42,
    "parameters": {
        "required_approving_review_count": 1,
        "dismiss_stale_reviews_on_push": True,
        "require_code_owner_review": False,
        "require_last_push_approval": False,
        "required_review_thread_resolution": False,
    },
}
ALERT = {
    "number": 7,
    "state": "open",
    "dependency": {
        "package": {"ecosystem": "npm", "name": "lodash"},
        "manifest_path": "package-lock.json",
        "scope": "runtime",
    },
    "security_advisory": {
        "ghsa_id": "GHSA-jf85-cpcp-j695",
        "cve_id": "CVE-2019-10744",
        "summary": "Prototype Pollution in lodash",
        "severity": "critical",
    },
    "security_vulnerability": {
        "package": {"ecosystem": "npm", "name": "lodash"},
        "severity": "critical",
        "vulnerable_version_range": "< 4.17.12",
        "first_patched_version": {"identifier": "4.17.12"},
    },
    "html_url": "https://github.com/acme/payments/security/dependabot/7",
}

HIGH_ALERT = {
    **ALERT,
    "number": 8,
    "security_advisory": {**ALERT["security_advisory"], "severity": "high"},
    "security_vulnerability": {**ALERT["security_vulnerability"], "severity": "high"},
}


def github(routes: dict[str, tuple[int, Any]]) -> GitHubRepoFacts:
    """Facts over a fake API: path → (status, JSON body); an unlisted path is a 404."""

    def handler(request: httpx.Request) -> httpx.Response:
        status, body = routes.get(request.url.path.removeprefix(BASE) or "/", NOT_FOUND)
        return httpx.Response(status) if body is None else httpx.Response(status, json=body)

    client = GitHubClient(token="ghp_test", transport=httpx.MockTransport(handler))
    return GitHubRepoFacts(client, "acme", "payments")


def case(
    check: Check, routes: dict[str, tuple[int, Any]], expected: Outcome, name: str, **params: Any
) -> Any:
    return pytest.param(check, routes, params, expected, id=f"{check.id}-{name}")


REPO_OK = {"/": (200, REPO)}
PROTECTION_PATH = "/branches/main/protection"
RULES_PATH = "/rules/branches/main"

CASES = [
    case(
        default_branch_protected, {**REPO_OK, PROTECTION_PATH: (200, PROTECTION)}, PASS, "classic"
    ),
    case(
        default_branch_protected,
        {**REPO_OK, RULES_PATH: (200, [PR_RULE]), PROTECTION_PATH: FORBIDDEN},
        PASS,
        "ruleset",
    ),
    case(
        default_branch_protected,
        {**REPO_OK, RULES_PATH: (200, []), PROTECTION_PATH: NOT_PROTECTED},
        FAIL,
        "unprotected",
    ),
    case(
        default_branch_protected,
        {**REPO_OK, RULES_PATH: (200, [{"type": "creation"}]), PROTECTION_PATH: NOT_PROTECTED},
        FAIL,
        "creation-rule-only",
    ),
    case(default_branch_protected, {**REPO_OK, PROTECTION_PATH: FORBIDDEN}, UNKNOWN, "forbidden"),
    case(default_branch_protected, {**REPO_OK, PROTECTION_PATH: NOT_FOUND}, UNKNOWN, "no-admin"),
    case(default_branch_protected, {}, UNKNOWN, "no-repository"),
    case(required_reviews, {**REPO_OK, PROTECTION_PATH: (200, PROTECTION)}, PASS, "classic"),
    case(
        required_reviews,
        {**REPO_OK, PROTECTION_PATH: (200, PROTECTION)},
        PASS,
        "classic-two",
        min_reviews=2,
    ),
    case(
        required_reviews,
        {**REPO_OK, RULES_PATH: (200, [PR_RULE]), PROTECTION_PATH: FORBIDDEN},
        PASS,
        "ruleset",
    ),
    case(
        required_reviews,
        {**REPO_OK, PROTECTION_PATH: (200, PROTECTION)},
        FAIL,
        "too-few",
        min_reviews=3,
    ),
    case(
        required_reviews,
        {**REPO_OK, PROTECTION_PATH: (200, {"enforce_admins": {"enabled": True}})},
        FAIL,
        "no-pr-rule",
    ),
    case(required_reviews, {**REPO_OK, PROTECTION_PATH: NOT_PROTECTED}, FAIL, "unprotected"),
    case(
        required_reviews,
        {**REPO_OK, RULES_PATH: (200, [PR_RULE]), PROTECTION_PATH: FORBIDDEN},
        UNKNOWN,
        "ruleset-too-few-classic-unreadable",
        min_reviews=2,
    ),
    case(required_reviews, {**REPO_OK, PROTECTION_PATH: FORBIDDEN}, UNKNOWN, "forbidden"),
    case(delete_branch_on_merge, REPO_OK, PASS, "on"),
    case(
        delete_branch_on_merge,
        {"/": (200, {**REPO, "delete_branch_on_merge": False})},
        FAIL,
        "off",
    ),
    case(
        delete_branch_on_merge,
        {"/": (200, {"full_name": "acme/payments", "default_branch": "main"})},
        UNKNOWN,
        "read-only-token",
    ),
    case(delete_branch_on_merge, {"/": FORBIDDEN}, UNKNOWN, "forbidden"),
    case(vulnerability_alerts_enabled, {"/vulnerability-alerts": (204, None)}, PASS, "on"),
    case(
        vulnerability_alerts_enabled,
        {"/vulnerability-alerts": (404, {"message": "Vulnerability alerts are disabled."})},
        FAIL,
        "off",
    ),
    case(vulnerability_alerts_enabled, {"/vulnerability-alerts": FORBIDDEN}, UNKNOWN, "forbidden"),
    case(vulnerability_alerts_enabled, {}, UNKNOWN, "not-found"),
    case(no_critical_dependabot_alerts, {"/dependabot/alerts": (200, [])}, PASS, "none"),
    case(no_critical_dependabot_alerts, {"/dependabot/alerts": (200, [ALERT])}, FAIL, "one"),
    case(
        no_critical_dependabot_alerts,
        {"/dependabot/alerts": (200, [HIGH_ALERT])},
        FAIL,
        "high",
        severity="high",
    ),
    case(
        no_critical_dependabot_alerts,
        {"/dependabot/alerts": (200, [HIGH_ALERT])},  # a server that ignores `severity`
        PASS,
        "only-high",
    ),
    case(
        no_critical_dependabot_alerts,
        {
            "/dependabot/alerts": (
                403,
                {"message": "Dependabot alerts are disabled for this repository."},
            )
        },
        UNKNOWN,
        "disabled",
    ),
    case(no_critical_dependabot_alerts, {"/dependabot/alerts": FORBIDDEN}, UNKNOWN, "forbidden"),
]


@pytest.mark.parametrize(("check", "routes", "params", "expected"), CASES)
def test_check(
    check: Check, routes: dict[str, tuple[int, Any]], params: dict[str, Any], expected: Outcome
) -> None:
    result = run_check(check, github=github(routes), params=params)
    assert result.outcome == expected, result.message
    assert result.message.endswith("."), result.message
    if expected is not UNKNOWN:
        assert result.evidence["repository"] == "acme/payments"
    assert "ghp_test" not in result.message


def test_unknown_says_why() -> None:
    result = run_check(
        default_branch_protected, github=github({**REPO_OK, PROTECTION_PATH: FORBIDDEN})
    )
    assert result.message == (
        "The token cannot read the branch protection of main in acme/payments "
        "(HTTP 403: Resource not accessible by integration)."
    )


def test_failing_alerts_are_listed() -> None:
    result = run_check(
        no_critical_dependabot_alerts, github=github({"/dependabot/alerts": (200, [ALERT])})
    )
    assert result.message == (
        "acme/payments has 1 open critical Dependabot alert: lodash (GHSA-jf85-cpcp-j695)."
    )
    assert result.evidence["alerts"][0]["url"] == ALERT["html_url"]


def test_review_counts_in_evidence() -> None:
    result = run_check(
        required_reviews,
        github=github({**REPO_OK, PROTECTION_PATH: (200, PROTECTION)}),
        params={"min_reviews": 3},
    )
    assert result.evidence["required_reviews"] == 2
    assert result.message == (
        "Pull requests to main in acme/payments need 2 approving reviews; at least 3 required."
    )


def _paged_alerts(pages: list[list[dict[str, Any]]], **client: Any) -> GitHubRepoFacts:
    """Facts over a Dependabot alerts endpoint that answers `pages`, linked as GitHub
    links them (`Link: <.../repositories/{id}/dependabot/alerts?...&after=CURSOR>;
    rel="next"`), and ignores the severity filter, as a server without it does."""

    def handler(request: httpx.Request) -> httpx.Response:
        index = int(request.url.params.get("after", "0"))
        headers = {"etag": f'"page-{index}"'}
        if index + 1 < len(pages):
            query = dict(request.url.params) | {"after": str(index + 1)}
            following = httpx.URL("https://api.github.com/repositories/1296269/dependabot/alerts")
            headers["link"] = f'<{following.copy_with(params=query)}>; rel="next"'
        return httpx.Response(200, json=pages[index], headers=headers)

    transport = httpx.MockTransport(handler)
    return GitHubRepoFacts(
        GitHubClient(token="ghp_test", transport=transport, **client), "acme", "payments"
    )


def test_a_critical_alert_on_the_second_page_fails() -> None:
    page_one = [{**HIGH_ALERT, "number": n} for n in range(100, 200)]
    result = run_check(no_critical_dependabot_alerts, github=_paged_alerts([page_one, [ALERT]]))
    assert result.outcome is FAIL, result.message
    assert result.message == (
        "acme/payments has 1 open critical Dependabot alert: lodash (GHSA-jf85-cpcp-j695)."
    )
    assert [a["number"] for a in result.evidence["alerts"]] == [7]


def test_alerts_beyond_the_pages_read() -> None:
    page = [{**HIGH_ALERT, "number": n} for n in range(100)]
    unread = _paged_alerts([page, page, [ALERT]], max_pages=2)
    result = run_check(no_critical_dependabot_alerts, github=unread)
    assert result.outcome is UNKNOWN, result.message
    assert "more Dependabot alerts" in result.message
    many = [{**ALERT, "number": n} for n in range(100)]
    result = run_check(
        no_critical_dependabot_alerts, github=_paged_alerts([many, many], max_pages=1)
    )
    assert result.outcome is FAIL
    assert result.message.startswith("acme/payments has 100 or more open critical")
