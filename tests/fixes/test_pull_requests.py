"""Pull requests of fixes against the fake GitHub on loopback, and `GitHubClient.send`
over httpx.MockTransport."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest

from scorecard.fixes.model import FileChange
from scorecard.fixes.pull_requests import (
    BRANCH,
    PullRequestOutcome,
    PullRequestPlan,
    RemoteEdit,
    open_pull_requests,
)
from scorecard.sources.github import FactUnavailable
from tests.fixes.github_api import FORBIDDEN, RATE_LIMITED, FakeGitHub
from tests.sources.test_github import DOCS, NOW, Clock, client_for

CATALOG = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
  annotations:
    github.com/project-slug: acme/payments
spec:
  type: service
  owner: team-a
"""
CODEOWNERS = FileChange("CODEOWNERS", "* @acme/team-a\n")
RUNBOOK = FileChange("docs/runbook.md", "# Runbook\n\nWho to call.\n")
BODY = "Scorecard found **2** failing checks:\n\n- `has_codeowners`\n- `has_runbook`\n"


def plan(repository: str = "acme/payments", **fields: Any) -> PullRequestPlan:
    owner, _, repo = repository.partition("/")
    defaults: dict[str, Any] = {
        "title": "Scorecard: golden-path fixes",
        "body": BODY,
        "files": [CODEOWNERS, RUNBOOK],
        "edits": [],
    }
    return PullRequestPlan(owner, repo, **{**defaults, **fields})


def open_all(
    fake: FakeGitHub, plans: list[PullRequestPlan], **options: Any
) -> list[PullRequestOutcome]:
    async def run() -> list[PullRequestOutcome]:
        client = fake.client()
        try:
            return await open_pull_requests(client, plans, **options)
        finally:
            await client.aclose()

    return asyncio.run(run())


def writes(fake: FakeGitHub, repository: str) -> list[tuple[str, str]]:
    return [r for r in fake.repository(repository).requests if r[0] != "GET"]


def add_annotation(text: str) -> str:
    """An edit of catalog-info.yaml, as the catalog editor makes one."""
    marker = "    github.com/project-slug: acme/payments\n"
    if marker not in text:
        raise ValueError("the component has no annotations to add to")
    return text.replace(marker, marker + "    pagerduty.com/service-id: PX1234\n")


def test_opens_one_pull_request_per_repository(fake_github: FakeGitHub) -> None:
    payments = fake_github.add_repository("acme/payments", {"catalog-info.yaml": CATALOG})
    billing = fake_github.add_repository(
        "acme/billing", {"README.md": "# Billing\n"}, default_branch="trunk"
    )

    outcomes = open_all(fake_github, [plan(), plan("acme/billing", body="Billing's fixes.")])

    assert [(o.repository, o.action, o.number, o.error) for o in outcomes] == [
        ("acme/payments", "opened", 1, None),
        ("acme/billing", "opened", 1, None),
    ]
    assert outcomes[0].url == f"{fake_github.url}/acme/payments/pull/1"
    assert outcomes[0].files == ["CODEOWNERS", "docs/runbook.md"]
    assert outcomes[0].skipped == []
    for repository, base, body in (
        (payments, "main", BODY),
        (billing, "trunk", "Billing's fixes."),
    ):
        [pull] = repository.open_pulls()
        assert (pull.title, pull.body, pull.head, pull.base) == (
            "Scorecard: golden-path fixes",
            body,
            BRANCH,
            base,
        )
        assert repository.text("CODEOWNERS", BRANCH) == "* @acme/team-a\n"
        assert repository.text("docs/runbook.md", BRANCH) == "# Runbook\n\nWho to call.\n"
        assert "CODEOWNERS" not in repository.files()  # the default branch is untouched
        assert [c.message for c in repository.ahead(BRANCH, base)] == [
            "scorecard fix: add docs/runbook.md",
            "scorecard fix: add CODEOWNERS",
        ]


def test_a_second_run_updates_the_pull_request_rather_than_opening_another(
    fake_github: FakeGitHub,
) -> None:
    repository = fake_github.add_repository("acme/payments", {"catalog-info.yaml": CATALOG})
    [first] = open_all(fake_github, [plan()])
    first_commits = repository.ahead(BRANCH)

    # The runbook got written by hand; the owners changed; the body says so.
    repository.commit("main", {**repository.files(), "docs/runbook.md": b"# Ours\n"}, "Runbook")
    owners = FileChange("CODEOWNERS", "* @acme/team-b\n")
    [second] = open_all(fake_github, [plan(body="Now **1** check.", files=[owners, RUNBOOK])])

    assert (second.action, second.number, second.url) == ("updated", first.number, first.url)
    assert (second.files, second.skipped) == (["CODEOWNERS"], ["docs/runbook.md"])
    [pull] = repository.open_pulls()
    assert len(repository.pulls) == 1
    assert pull.body == "Now **1** check."
    # The branch was rebuilt on the default branch: one fix commit, not three piled up,
    # and the runbook is the default branch's, not the earlier fix's.
    ahead = repository.ahead(BRANCH)
    assert [c.message for c in ahead] == ["scorecard fix: add CODEOWNERS"]
    assert not {c.sha for c in first_commits} & {c.sha for c in repository.history(BRANCH)}
    assert repository.text("docs/runbook.md", BRANCH) == "# Ours\n"
    assert repository.text("CODEOWNERS", BRANCH) == "* @acme/team-b\n"
    assert sorted(repository.branches) == ["main", BRANCH]  # the staging branch is gone

    # The same plan once more: nothing to write.
    repository.requests.clear()
    [third] = open_all(fake_github, [plan(body="Now **1** check.", files=[owners, RUNBOOK])])
    assert (third.action, third.number, third.files) == ("unchanged", first.number, ["CODEOWNERS"])
    assert writes(fake_github, "acme/payments") == []
    assert repository.ahead(BRANCH) == ahead


def test_an_existing_file_is_skipped_not_overwritten(fake_github: FakeGitHub) -> None:
    repository = fake_github.add_repository(
        "acme/payments", {"CODEOWNERS": "* @someone-else\n", "docs/index.md": "# Docs\n"}
    )
    [outcome] = open_all(fake_github, [plan()])
    assert (outcome.action, outcome.files, outcome.skipped) == (
        "opened",
        ["docs/runbook.md"],
        ["CODEOWNERS"],
    )
    assert repository.text("CODEOWNERS", BRANCH) == "* @someone-else\n"

    # A plan whose every file exists (a directory counts) changes nothing.
    docs = FileChange("docs", "not a directory\n")
    nothing = plan("acme/payments", files=[CODEOWNERS, docs])
    repository.requests.clear()
    [outcome] = open_all(fake_github, [nothing])
    assert (outcome.action, outcome.files, outcome.skipped) == (
        "nothing to do",
        [],
        ["CODEOWNERS", "docs"],
    )
    assert writes(fake_github, "acme/payments") == []


def test_a_dry_run_only_reads(fake_github: FakeGitHub) -> None:
    repository = fake_github.add_repository("acme/payments", {"catalog-info.yaml": CATALOG})
    edit = RemoteEdit("catalog-info.yaml", add_annotation)

    [outcome] = open_all(fake_github, [plan(edits=[edit])], dry_run=True)
    assert (outcome.action, outcome.number, outcome.error) == ("would open", None, None)
    assert outcome.files == ["CODEOWNERS", "docs/runbook.md", "catalog-info.yaml"]
    assert writes(fake_github, "acme/payments") == []
    assert list(repository.branches) == ["main"] and repository.pulls == []

    [opened] = open_all(fake_github, [plan(edits=[edit])])
    repository.requests.clear()
    [outcome] = open_all(fake_github, [plan(body="Changed.", edits=[edit])], dry_run=True)
    assert (outcome.action, outcome.number) == ("would update", opened.number)
    assert writes(fake_github, "acme/payments") == []
    assert repository.open_pulls()[0].body == BODY


def test_a_forbidden_repository_fails_and_the_others_go_on(fake_github: FakeGitHub) -> None:
    for name in ("acme/payments", "acme/billing", "acme/ledger"):
        fake_github.add_repository(name, {"catalog-info.yaml": CATALOG})
    fake_github.fault("acme/billing", FORBIDDEN)
    # The ledger's token may read but not write, as a GitHub App with read-only contents.
    fake_github.fault("acme/ledger", FORBIDDEN, methods=["POST", "PUT", "PATCH", "DELETE"])

    outcomes = open_all(
        fake_github, [plan("acme/billing"), plan("acme/payments"), plan("acme/ledger")]
    )

    assert [(o.repository, o.action) for o in outcomes] == [
        ("acme/billing", "failed"),
        ("acme/payments", "opened"),
        ("acme/ledger", "failed"),
    ]
    assert outcomes[0].error == (
        "The token cannot read the repository acme/billing "
        "(HTTP 403: Resource not accessible by integration)."
    )
    assert outcomes[2].error == (
        "Creating the branch scorecard/fixes in acme/ledger failed: the token may not do it "
        "(HTTP 403: Resource not accessible by integration)."
    )
    assert len(fake_github.repository("acme/payments").open_pulls()) == 1


def test_a_rate_limited_repository_fails_without_waiting(fake_github: FakeGitHub) -> None:
    for name in ("acme/payments", "acme/billing", "acme/ledger"):
        fake_github.add_repository(name, {"catalog-info.yaml": CATALOG})
    fake_github.fault("acme/billing", RATE_LIMITED)

    outcomes = open_all(
        fake_github,
        [plan("acme/payments"), plan("acme/billing"), plan("acme/ledger")],
        max_concurrent=1,
    )

    assert [(o.repository, o.action) for o in outcomes] == [
        ("acme/payments", "opened"),
        ("acme/billing", "failed"),
        ("acme/ledger", "failed"),
    ]
    assert outcomes[1].error is not None
    assert outcomes[1].error.startswith("GitHub's rate limit would take 3")
    assert outcomes[1].error.endswith(
        "seconds to clear, longer than the 20 seconds scorecard waits."
    )
    # The limit is the token's: the repository after it is not asked until it resets.
    assert outcomes[2].error == outcomes[1].error
    assert len(fake_github.repository("acme/billing").requests) == 1
    assert fake_github.repository("acme/ledger").requests == []


def test_a_remote_edit_replaces_the_file_it_read(fake_github: FakeGitHub) -> None:
    repository = fake_github.add_repository("acme/payments", {"catalog-info.yaml": CATALOG})
    edit = RemoteEdit("catalog-info.yaml", add_annotation)
    lifecycle = RemoteEdit("catalog-info.yaml", lambda text: text + "  lifecycle: production\n")

    [outcome] = open_all(fake_github, [plan(files=[], edits=[edit, lifecycle])])

    assert (outcome.action, outcome.files) == ("opened", ["catalog-info.yaml"])
    edited = repository.text("catalog-info.yaml", BRANCH)
    assert edited == add_annotation(CATALOG) + "  lifecycle: production\n"
    assert [c.message for c in repository.ahead(BRANCH)] == [
        "scorecard fix: edit catalog-info.yaml"
    ]

    # The default branch's file changes: the next run edits the new text, from scratch.
    changed = CATALOG.replace("team-a", "team-c")
    repository.commit("main", {"catalog-info.yaml": changed.encode()}, "New owner")
    [outcome] = open_all(fake_github, [plan(files=[], edits=[edit, lifecycle])])
    assert outcome.action == "updated"
    assert repository.text("catalog-info.yaml", BRANCH) == (
        add_annotation(changed) + "  lifecycle: production\n"
    )
    assert len(repository.ahead(BRANCH)) == 1


@pytest.mark.parametrize(
    ("edit", "files", "error"),
    [
        (
            RemoteEdit("catalog-info.yaml", lambda text: add_annotation("kind: API\n")),
            {"catalog-info.yaml": CATALOG},
            "The edit of catalog-info.yaml in acme/payments failed: the component has no "
            "annotations to add to",
        ),
        (
            RemoteEdit("catalog-info.yaml", add_annotation),
            {"README.md": "# Payments\n"},
            "catalog-info.yaml is not on main of acme/payments, so it cannot be edited.",
        ),
        (
            RemoteEdit("catalog", add_annotation),
            {"catalog/catalog-info.yaml": CATALOG},
            "catalog on main of acme/payments cannot be edited: it is a directory.",
        ),
        (
            RemoteEdit("catalog-info.yaml", add_annotation),
            {"catalog-info.yaml": b"\xff\xfe" + CATALOG.encode("utf-16-le")},
            "catalog-info.yaml on main of acme/payments is not UTF-8 text, so it cannot be edited.",
        ),
    ],
    ids=["edit-raises", "no-file", "a-directory", "not-utf-8"],
)
def test_an_edit_that_cannot_be_made_fails_its_repository(
    fake_github: FakeGitHub, edit: RemoteEdit, files: dict[str, Any], error: str
) -> None:
    repository = fake_github.add_repository("acme/payments", files)
    [outcome] = open_all(fake_github, [plan(edits=[edit])])
    assert (outcome.action, outcome.error) == ("failed", error)
    assert writes(fake_github, "acme/payments") == []
    assert repository.pulls == []


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("../outside", "it leaves the repository (`..`)"),
        ("docs/../../outside", "it leaves the repository (`..`)"),
        ("/etc/passwd", "it is absolute"),
        ("C:/Windows/win.ini", "it is absolute"),
        (".git/config", "it is inside `.git/`"),
        ("vendor/.GIT/hooks/pre-commit", "it is inside `.git/`"),
        ("docs//runbook.md", "it has an empty or `.` segment"),
        ("docs\\runbook.md", "it has a backslash or a control character"),
        ("", "it is empty"),
    ],
)
def test_bad_paths_are_refused_before_asking_github(
    fake_github: FakeGitHub, path: str, why: str
) -> None:
    fake_github.add_repository("acme/payments", {"catalog-info.yaml": CATALOG})
    [as_file, as_edit] = open_all(
        fake_github,
        [
            plan(files=[FileChange(path, "x\n")]),
            plan("acme/billing", edits=[RemoteEdit(path, str)]),
        ],
    )
    assert as_file.action == "failed"
    assert as_file.error == f"The path {path!r} of the fix for acme/payments is refused: {why}."
    assert as_edit.error == f"The path {path!r} of the fix for acme/billing is refused: {why}."
    assert fake_github.repository("acme/payments").requests == []


@pytest.mark.parametrize("repository", ["acme/..", "acme/pay ments", "../acme/payments"])
def test_a_repository_name_that_is_not_githubs_is_refused(
    fake_github: FakeGitHub, repository: str
) -> None:
    owner, _, repo = repository.partition("/")
    [outcome] = open_all(fake_github, [PullRequestPlan(owner, repo, "t", "b", [CODEOWNERS], [])])
    assert outcome.action == "failed"
    assert outcome.error == (
        f"{repository!r} is not a GitHub repository name, so no pull request is opened for it."
    )


def test_one_pull_request_per_repository_even_with_two_plans(fake_github: FakeGitHub) -> None:
    repository = fake_github.add_repository("acme/payments", {"catalog-info.yaml": CATALOG})
    outcomes = open_all(fake_github, [plan(), plan("Acme/Payments", files=[RUNBOOK])])
    assert [o.action for o in outcomes] == ["opened", "failed"]
    assert outcomes[1].error == (
        "Acme/Payments has more than one plan; scorecard opens one pull request per "
        "repository, so this one was left out."
    )
    assert len(repository.pulls) == 1


def test_the_fake_closes_a_pull_request_whose_head_goes_back_to_its_base(
    fake_github: FakeGitHub,
) -> None:
    """Why an update is staged: GitHub closes a pull request as merged when its branch is
    reset to the default branch's commit, so the branch may never be moved there."""
    repository = fake_github.add_repository("acme/payments", {"catalog-info.yaml": CATALOG})
    open_all(fake_github, [plan()])
    with httpx.Client(base_url=fake_github.url) as http:
        reset = http.patch(
            f"/repos/acme/payments/git/refs/heads/{BRANCH}",
            json={"sha": repository.branches["main"], "force": True},
        )
        assert reset.status_code == 200
        assert reset.json()["object"]["sha"] == repository.branches["main"]
    assert repository.open_pulls() == []
    assert repository.pulls[0].merged


def test_the_fake_requires_the_sha_to_replace_a_file(fake_github: FakeGitHub) -> None:
    fake_github.add_repository("acme/payments", {"catalog-info.yaml": CATALOG})
    path = "/repos/acme/payments/contents/catalog-info.yaml"
    content = base64.b64encode(b"kind: API\n").decode()
    with httpx.Client(base_url=fake_github.url) as http:
        current = http.get(path, params={"ref": "main"}).json()
        assert base64.b64decode(current["content"]).decode() == CATALOG
        put = {"message": "m", "content": content, "branch": "main"}
        missing = http.put(path, json=put)
        assert (missing.status_code, missing.json()["message"]) == (
            422,
            'Invalid request.\n\n"sha" wasn\'t supplied.',
        )
        stale = http.put(path, json={**put, "sha": "0" * 40})
        assert (stale.status_code, stale.json()["message"]) == (
            409,
            f"catalog-info.yaml does not match {'0' * 40}",
        )
        assert http.put(path, json={**put, "sha": current["sha"]}).status_code == 200
        taken = http.post(
            "/repos/acme/payments/git/refs",
            json={"ref": "refs/heads/main", "sha": current["sha"]},
        )
        assert (taken.status_code, taken.json()["message"]) == (422, "Reference already exists")


# --- GitHubClient.send over httpx.MockTransport -------------------------------------------

SECONDARY = {
    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you "
    "try again.",
    "documentation_url": DOCS,
}
PULL = {"number": 7, "html_url": "https://github.com/acme/payments/pull/7"}


def test_send_waits_out_a_secondary_limit_and_sends_again() -> None:
    clock = Clock()
    seen: list[httpx.Request] = []
    responses = [
        httpx.Response(403, json=SECONDARY, headers={"retry-after": "2"}),
        httpx.Response(429, json=SECONDARY, headers={"retry-after": "3"}),
        httpx.Response(201, json=PULL),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses.pop(0)

    client = client_for(handler, clock)
    client.etags["https://api.github.com/repos/acme/payments/pulls"] = ('"e"', [], None)
    payload = {"title": "Fixes", "head": BRANCH, "base": "main", "body": BODY}
    reply = asyncio.run(
        client.send(
            "post",
            "/repos/acme/payments/pulls",
            "opening the pull request for acme/payments",
            json=payload,
        )
    )
    assert (reply.status, reply.body) == (201, PULL)
    assert clock.slept == [2.0, 3.0]
    assert [r.method for r in seen] == ["POST"] * 3
    assert all(r.headers["content-type"] == "application/json" for r in seen)
    assert all(httpx.Response(200, content=r.content).json() == payload for r in seen)
    assert all("if-none-match" not in r.headers for r in seen)  # writes are not conditional
    assert client.etags["https://api.github.com/repos/acme/payments/pulls"][0] == '"e"'


def test_send_does_not_wait_longer_than_max_wait() -> None:
    clock = Clock()
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(
            403,
            json={"message": "API rate limit exceeded for user ID 1.", "documentation_url": DOCS},
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 900)},
        )

    client = client_for(handler, clock)
    with pytest.raises(FactUnavailable, match="would take 900 seconds"):
        asyncio.run(client.send("PUT", "/repos/acme/payments/contents/CODEOWNERS", "writing"))
    assert len(calls) == 1 and clock.slept == []


@pytest.mark.parametrize(
    ("status", "body", "sentence"),
    [
        (
            403,
            {"message": "Resource not accessible by integration", "documentation_url": DOCS},
            "Opening the pull request for acme/payments failed: the token may not do it "
            "(HTTP 403: Resource not accessible by integration).",
        ),
        (
            422,
            {
                "message": "Validation Failed",
                "errors": [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": "A pull request already exists for acme:scorecard/fixes.",
                    }
                ],
                "documentation_url": DOCS,
            },
            "Opening the pull request for acme/payments failed (HTTP 422: Validation Failed: "
            "A pull request already exists for acme:scorecard/fixes.).",
        ),
        (
            404,
            {"message": "Not Found", "documentation_url": DOCS},
            "Opening the pull request for acme/payments failed: the repository or branch "
            "does not exist, or the token cannot see it (HTTP 404: Not Found).",
        ),
        (
            401,
            {"message": "Bad credentials", "documentation_url": DOCS},
            "GitHub rejected the token opening the pull request for acme/payments "
            "(HTTP 401: Bad credentials).",
        ),
    ],
    ids=["forbidden", "validation", "not-found", "bad-token"],
)
def test_a_refused_write_says_what_it_was_doing(
    status: int, body: dict[str, Any], sentence: str
) -> None:
    client = client_for(lambda request: httpx.Response(status, json=body))
    with pytest.raises(FactUnavailable) as caught:
        asyncio.run(
            client.send(
                "POST",
                "/repos/acme/payments/pulls",
                "opening the pull request for acme/payments",
                json={},
            )
        )
    assert str(caught.value) == sentence


def test_send_is_for_writes_only() -> None:
    client = client_for(lambda request: httpx.Response(200, json={}))
    with pytest.raises(ValueError, match="not 'GET'"):
        asyncio.run(client.send("GET", "/repos/acme/payments", "reading"))
