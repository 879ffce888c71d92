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
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.notify.conftest import Webhook
from tests.serving import free_port

PUBLISHED = "ops"
DRAFT = "on-call"
TEAM = "group:default/data"
ADMIN_ENV = "SC_DRAFTS_ADMIN"
HOOK_ENV = "SC_DRAFTS_HOOK"

OPS_TRACK = """\
apiVersion: scorecard/v1
kind: Track
id: ops
title: Operations
filter: {kind: Component}
levels:
  - id: bronze
    checks: [has_owner]
  - id: silver
    checks: [has_description]
"""

ON_CALL_TRACK = """\
apiVersion: scorecard/v1
kind: Track
id: on-call
title: On-call readiness
filter: {kind: Component}
draft: true
levels:
  - id: bronze
    checks: [has_owner]
  - id: silver
    checks: [has_oncall]
"""

DESCRIPTION = "Takes payments from the shop and the apps, and refunds them when asked."


@dataclass(frozen=True)
class Component:
    name: str
    owner: str = TEAM
    description: bool = True
    oncall: bool = True

    def document(self) -> str:
        lines = [
            "apiVersion: backstage.io/v1alpha1",
            "kind: Component",
            "metadata:",
            f"  name: {self.name}",
        ]
        if self.description:
            lines.append(f"  description: {DESCRIPTION}")
        if self.oncall:
            lines.append("  annotations: {pagerduty.com/service-id: PABC123}")
        lines.append(f"spec: {{type: service, lifecycle: production, owner: {self.owner}}}")
        return "\n".join(lines) + "\n"


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
        (self.root / "tracks").mkdir(parents=True, exist_ok=True)
        (self.root / "tracks" / f"{PUBLISHED}.yaml").write_text(OPS_TRACK)
        self.draft_track.write_text(ON_CALL_TRACK)
        self.write_catalog(COMPONENTS)
        extra = f"gate:\n{gate}" if gate else ""
        extra += f"notifications:\n{notifications}" if notifications else ""
        extra += "campaigns: [campaigns]\n" if campaigns else ""
        self.config.write_text(
            f"""\
catalog: [catalog-info.yaml]
tracks: [tracks]
database: sqlite:///{self.root / "scorecard.db"}
reload_interval: 0
tokens: [{{name: platform, role: admin, env: {ADMIN_ENV}}}]
{extra}"""
        )
        return self.config

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
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Webhook]:
    """A JSON webhook on loopback that Apprise posts to (see tests/notify)."""
    hook = Webhook(free_port()).start()
    monkeypatch.setenv(HOOK_ENV, hook.url)
    yield hook
    hook.stop()


def run_all(url: str, token: str) -> dict:
    """Start a run of every track and wait for it to finish."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        started = http.post("/api/v1/runs", json={})
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]
        deadline = time.monotonic() + 30
        while (found := http.get(f"/api/v1/runs/{run_id}").json())["status"] == "running":
            assert time.monotonic() < deadline, found
            time.sleep(0.05)
    assert found["status"] == "finished", found
    return found


def reload(url: str, token: str) -> dict:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
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
