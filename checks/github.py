"""Repository settings read from GitHub's API: branch protection, reviews, alerts.

These checks take the `github` input (`scorecard.sources.github.GitHubRepoFacts`) and are
async, since they make requests. A fact the token may not read raises `FactUnavailable`,
which the engine reports as `unknown` with the reason, never as `fail`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from scorecard.results import Result
from scorecard.sdk import check
from scorecard.sources.github import FactUnavailable, GitHubRepoFacts

# Ruleset rules that restrict changes to a branch (a `creation` rule alone protects nothing).
PROTECTING_RULES = frozenset(
    {
        "pull_request",
        "required_status_checks",
        "non_fast_forward",
        "deletion",
        "update",
        "required_linear_history",
        "required_signatures",
        "required_deployments",
        "merge_queue",
    }
)


class ReviewParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_reviews: int = Field(default=1, ge=1, le=6)


class AlertParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: Literal["critical", "high", "medium", "low"] = "critical"


async def _rules(github: GitHubRepoFacts, branch: str) -> list[dict[str, Any]]:
    # Rulesets are readable with read access, classic protection only with admin access;
    # when the rules cannot be read, classic protection alone decides.
    try:
        return await github.branch_rules(branch)
    except FactUnavailable:
        return []


def _rule_types(rules: list[dict[str, Any]]) -> list[str]:
    return sorted({str(r.get("type")) for r in rules if r.get("type") in PROTECTING_RULES})


def _review_count(value: Any) -> int:
    if isinstance(value, dict):
        count = value.get("required_approving_review_count")
        if isinstance(count, int) and not isinstance(count, bool):
            return count
    return 0


@check(
    id="default_branch_protected",
    title="Default branch is protected",
    remediation="On GitHub, open the repository's Settings → Branches (`/settings/branches`) "
    "and add a branch protection rule for the default branch, or add a ruleset that targets "
    "it under Settings → Rules → Rulesets (`/settings/rules`).",
)
async def default_branch_protected(github: GitHubRepoFacts) -> Result:
    """The repository's default branch on GitHub has a branch protection rule or an active
    ruleset that restricts changes to it."""
    branch = await github.default_branch()
    evidence: dict[str, Any] = {"repository": github.slug, "branch": branch}
    types = _rule_types(await _rules(github, branch))
    if types:
        return Result.passed(
            f"The default branch {branch} of {github.slug} is protected by rulesets "
            f"({', '.join(types)}).",
            **evidence,
            rules=types,
            protection=False,
        )
    protection = await github.branch_protection(branch)
    return Result.from_bool(
        protection is not None,
        f"The default branch {branch} of {github.slug} has branch protection.",
        f"The default branch {branch} of {github.slug} is not protected.",
        **evidence,
        rules=types,
        protection=protection is not None,
    )


@check(
    id="required_reviews",
    title="Pull requests need approving reviews",
    remediation="On GitHub, in the repository's Settings → Branches (`/settings/branches`), edit "
    "the default branch's protection rule (or its ruleset under `/settings/rules`): tick "
    '"Require a pull request before merging" and set "Required approvals" to at least '
    "{min_reviews}.",
    params=ReviewParams,
)
async def required_reviews(github: GitHubRepoFacts, params: ReviewParams) -> Result:
    """Pull requests to the default branch need at least `min_reviews` approving reviews
    (default 1), by branch protection or a ruleset."""
    branch = await github.default_branch()
    rules = await _rules(github, branch)
    ruled = max(
        (_review_count(r.get("parameters")) for r in rules if r.get("type") == "pull_request"),
        default=0,
    )
    classic = 0
    # Classic protection is read only when rulesets do not settle it; a token that cannot
    # read it then makes the result unknown.
    if ruled < params.min_reviews:
        protection = await github.branch_protection(branch)
        if protection is not None:
            classic = _review_count(protection.get("required_pull_request_reviews"))
    required = max(ruled, classic)
    noun = "review" if required == 1 else "reviews"
    return Result.from_bool(
        required >= params.min_reviews,
        f"Pull requests to {branch} in {github.slug} need {required} approving {noun} "
        f"(at least {params.min_reviews} required).",
        f"Pull requests to {branch} in {github.slug} need {required} approving {noun}; "
        f"at least {params.min_reviews} required.",
        repository=github.slug,
        branch=branch,
        required_reviews=required,
        min_reviews=params.min_reviews,
    )


@check(
    id="delete_branch_on_merge",
    title="Merged branches are deleted",
    remediation="On GitHub, open the repository's Settings → General (`/settings`) and, under "
    '"Pull Requests", tick "Automatically delete head branches".',
)
async def delete_branch_on_merge(github: GitHubRepoFacts) -> Result:
    """GitHub deletes a pull request's head branch when it is merged, so stale branches do
    not pile up."""
    value = (await github.repository()).get("delete_branch_on_merge")
    if not isinstance(value, bool):
        # GitHub includes the setting only for tokens with write access to the repository.
        return Result.unknown(
            f"GitHub did not say whether {github.slug} deletes merged branches; the token "
            "needs write access to the repository to see the setting.",
            repository=github.slug,
        )
    return Result.from_bool(
        value,
        f"{github.slug} deletes head branches when pull requests are merged.",
        f"{github.slug} keeps head branches after pull requests are merged.",
        repository=github.slug,
        delete_branch_on_merge=value,
    )


@check(
    id="vulnerability_alerts_enabled",
    title="Dependabot alerts are on",
    remediation="On GitHub, open the repository's Settings → Code security "
    '(`/settings/security_analysis`) and enable "Dependabot alerts".',
)
async def vulnerability_alerts_enabled(github: GitHubRepoFacts) -> Result:
    """GitHub alerts on vulnerable dependencies of the repository (Dependabot alerts are
    enabled)."""
    enabled = await github.vulnerability_alerts_enabled()
    return Result.from_bool(
        enabled,
        f"Dependabot alerts are enabled for {github.slug}.",
        f"Dependabot alerts are disabled for {github.slug}.",
        repository=github.slug,
        enabled=enabled,
    )


@check(
    id="no_critical_dependabot_alerts",
    title="No open Dependabot alerts of a severity",
    remediation="Fix the open {severity} alerts listed under the repository's Security → "
    "Dependabot (`/security/dependabot`) on GitHub, by upgrading each package to its patched "
    "version or merging Dependabot's pull request, or dismiss an alert with a reason.",
    params=AlertParams,
)
async def no_critical_dependabot_alerts(github: GitHubRepoFacts, params: AlertParams) -> Result:
    """The repository has no open Dependabot alerts of the given `severity` (default
    critical)."""
    alerts = await github.dependabot_alerts(state="open", severity=params.severity)
    complete = getattr(alerts, "complete", True)
    found = [_alert(alert) for alert in alerts]
    evidence = {"repository": github.slug, "severity": params.severity, "alerts": found}
    if not found and not complete:
        return Result.unknown(
            f"GitHub lists more Dependabot alerts for {github.slug} than scorecard reads; "
            f"none of the first pages is {params.severity}.",
            repository=github.slug,
            severity=params.severity,
        )
    if not found:
        return Result.passed(
            f"{github.slug} has no open {params.severity} Dependabot alerts.", **evidence
        )
    count = f"{len(found)}{'' if complete else ' or more'}"
    names = ", ".join(f"{a['package']} ({a['advisory']})" for a in found[:5])
    more = ", ..." if len(found) > 5 else ""
    noun = "alert" if len(found) == 1 and complete else "alerts"
    return Result.failed(
        f"{github.slug} has {count} open {params.severity} Dependabot {noun}: {names}{more}.",
        **evidence,
    )


def _alert(alert: dict[str, Any]) -> dict[str, Any]:
    dependency = alert.get("dependency") or {}
    package = dependency.get("package") or {}
    advisory = alert.get("security_advisory") or {}
    return {
        "number": alert.get("number"),
        "package": package.get("name") or "unknown package",
        "ecosystem": package.get("ecosystem"),
        "manifest": dependency.get("manifest_path"),
        "advisory": advisory.get("ghsa_id") or advisory.get("cve_id") or "no advisory id",
        "summary": advisory.get("summary"),
        "url": alert.get("html_url"),
    }
