"""A GitHub that can go down: the `github` checks of every run in the test read a fake
GitHub API (httpx.MockTransport, GitHub's shapes) that answers 502 while `down`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from scorecard.entity import Entity
from scorecard.sources.github import GitHubClient
from tests import builders

SLUG = "acme/payments"


@dataclass
class FakeGitHub:
    """The repository `acme/payments`, its setting, and whether GitHub is down."""

    down: bool = False
    delete_branch_on_merge: bool = True
    requests: int = 0

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.down:
            # What GitHub's front end sends in an outage: an HTML page.
            return httpx.Response(502, text="<html><body>502 Bad Gateway</body></html>")
        if request.url.path == f"/repos/{SLUG}":
            return httpx.Response(
                200,
                json={
                    "full_name": SLUG,
                    "default_branch": "main",
                    "delete_branch_on_merge": self.delete_branch_on_merge,
                },
            )
        return httpx.Response(404, json={"message": "Not Found"})


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    """The GitHub every run of the test reads (its client made as the executor makes it)."""
    fake = FakeGitHub()

    def from_env(
        cls: type[GitHubClient], environ: Any = None, settings: Any = None
    ) -> GitHubClient:
        return GitHubClient(token="t", transport=httpx.MockTransport(fake.answer))

    monkeypatch.setattr(GitHubClient, "from_env", classmethod(from_env))
    return fake


def component(name: str, **annotations: str) -> Entity:
    """A service of the payments team in the repository `acme/payments`."""
    document = builders.component(
        name,
        owner="group:default/payments",
        annotations={"github.com/project-slug": SLUG, **annotations},
    )
    return Entity(document, source=f"catalog/{name}.yaml")
