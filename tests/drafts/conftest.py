"""A small workspace with a published track and a draft one, written to a temporary folder.

- `ops` (published): bronze `has_owner`, silver `has_description`.
- `on-call` (`draft: true`): bronze `has_owner`, silver `has_oncall`.

Three components: payments (description and on-call: silver on both), ledger (neither:
bronze on both, owned by the same team as payments) and search (a description, no
on-call, another team). So the draft track's preview is 1 silver and 2 bronze, and its
`has_oncall` fails for two of them where no published check does.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.builders import (
    ON_CALL,
    ON_CALL_LEVELS,
    catalog_yaml,
    component,
    track_yaml,
    write_workspace_files,
)
from tests.tokens import client
from tests.webhooks import Webhook

PUBLISHED = "ops"
DRAFT = "on-call"
TEAM = "group:default/data"
ADMIN_ENV = "SC_DRAFTS_ADMIN"
HOOK_ENV = "SC_DRAFTS_HOOK"

OPS_TRACK = track_yaml(
    PUBLISHED, "Operations", {"bronze": ["has_owner"], "silver": ["has_description"]}
)
ON_CALL_TRACK = track_yaml(DRAFT, "On-call readiness", ON_CALL_LEVELS, draft="true")

DESCRIPTION = "Takes payments from the shop and the apps, and refunds them when asked."


@dataclass(frozen=True)
class Component:
    name: str
    owner: str = TEAM
    description: bool = True
    oncall: bool = True

    def document(self) -> str:
        return catalog_yaml(
            component(
                self.name,
                owner=self.owner,
                description=DESCRIPTION if self.description else None,
                annotations=ON_CALL if self.oncall else None,
            )
        )


COMPONENTS = (
    Component("payments"),
    Component("ledger", description=False, oncall=False),
    Component("search", owner="group:default/search", oncall=False),
)


@dataclass
class DraftWorkspace:
    """The workspace's folder and the files a test changes."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "scorecard.yaml"

    @property
    def draft_track(self) -> Path:
        return self.root / "tracks" / f"{DRAFT}.yaml"

    def write(self, *, gate: str = "", notifications: str = "", campaigns: bool = False) -> Path:
        extra = f"gate:\n{gate}" if gate else ""
        extra += f"notifications:\n{notifications}" if notifications else ""
        extra += "campaigns: [campaigns]\n" if campaigns else ""
        config = write_workspace_files(
            self.root,
            f"sqlite:///{self.root / 'scorecard.db'}",
            f"tokens: [{{name: platform, role: admin, env: {ADMIN_ENV}}}]\n",
            extra,
            tracks={PUBLISHED: OPS_TRACK, DRAFT: ON_CALL_TRACK},
        )
        self.write_catalog(COMPONENTS)
        return config

    def write_catalog(self, components: tuple[Component, ...]) -> None:
        (self.root / "catalog-info.yaml").write_text(
            "---\n".join(component.document() for component in components)
        )

    def publish(self) -> None:
        """Remove `draft: true` from the draft track's file: that is all publishing is."""
        text = self.draft_track.read_text()
        assert "draft: true\n" in text
        self.draft_track.write_text(text.replace("draft: true\n", ""))


@pytest.fixture
def workspace(tmp_path: Path) -> DraftWorkspace:
    return DraftWorkspace(tmp_path / "workspace")


@pytest.fixture
def admin_token(monkeypatch: pytest.MonkeyPatch) -> str:
    token = secrets.token_urlsafe(24)
    monkeypatch.setenv(ADMIN_ENV, token)
    return token


@pytest.fixture
def webhook(webhook: Webhook, monkeypatch: pytest.MonkeyPatch) -> Webhook:
    """tests/conftest.py's webhook receiver, named in the environment for the workspace."""
    monkeypatch.setenv(HOOK_ENV, webhook.url)
    return webhook


def reload(url: str, token: str) -> dict:
    with client(url, token) as http:
        response = http.post("/api/v1/reload")
    assert response.status_code == 200, response.text
    assert response.json()["reloaded"] is True
    return response.json()


def section(html: str, marker: str) -> str:
    """The `<section …>` of a page whose opening tag or heading contains `marker`, up to
    its end (the pages do not nest sections)."""
    for found in re.finditer(r"<section\b.*?</section>", html, re.DOTALL):
        head = found.group(0).split("</h2>", 1)[0] + "</h2>"
        if marker in head:
            return found.group(0)
    raise AssertionError(f"no section with {marker!r} on the page")
