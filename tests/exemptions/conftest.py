"""A small workspace with named tokens, for the exemption tests: two components on a
track whose silver level needs an on-call annotation, which `nightly-report` lacks."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from scorecard.workspace import Workspace

CATALOG = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: nightly-report
  description: Builds the nightly sales report.
spec: {type: service, owner: group:default/data, lifecycle: production}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
  description: Takes payments.
  annotations: {pagerduty.com/service-id: PABC123}
spec: {type: service, owner: group:default/payments, lifecycle: production}
"""

TRACK = """\
apiVersion: scorecard/v1
kind: Track
id: ops
title: Operations
filter: {kind: Component}
levels:
  - id: bronze
    checks: [has_owner]
  - id: silver
    checks: [has_oncall]
"""

ENTITY = "component:default/nightly-report"
JUSTIFICATION = "A nightly batch job has nobody to page; a failed night is retried the next."


@dataclass(frozen=True)
class Tokens:
    admin: str
    runner: str
    reader: str

    def values(self) -> list[str]:
        return [self.admin, self.runner, self.reader]


VARIABLES = {
    "admin": "SC_TEST_ADMIN_TOKEN",
    "runner": "SC_TEST_RUNNER_TOKEN",
    "reader": "SC_TEST_READER_TOKEN",
}


def write_workspace(root: Path, database: str, *, exemption_files: tuple[str, ...] = ()) -> Path:
    """A workspace folder with its scorecard.yaml; returns the file."""
    (root / "tracks").mkdir(parents=True, exist_ok=True)
    (root / "catalog-info.yaml").write_text(CATALOG)
    (root / "tracks" / "ops.yaml").write_text(TRACK)
    config = root / "scorecard.yaml"
    config.write_text(
        f"""\
catalog: catalog-info.yaml
tracks: tracks
database: {database}
reload_interval: 0
tokens:
  - {{name: release-admin, role: admin, env: {VARIABLES["admin"]}}}
  - {{name: ci, role: runner, env: {VARIABLES["runner"]}}}
  - {{name: dashboards, role: reader, env: {VARIABLES["reader"]}}}
exemptions:
  max_days: 90
  files: [{", ".join(exemption_files)}]
"""
    )
    return config


@pytest.fixture(scope="session")
def tokens() -> Iterator[Tokens]:
    """Three tokens in the environment, as a deployment sets them."""
    made = Tokens(*(secrets.token_urlsafe(24) for _ in range(3)))
    before = {name: os.environ.get(name) for name in VARIABLES.values()}
    os.environ.update(
        {
            VARIABLES["admin"]: made.admin,
            VARIABLES["runner"]: made.runner,
            VARIABLES["reader"]: made.reader,
        }
    )
    yield made
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def load(config: Path) -> Workspace:
    return Workspace.load(config)


def client(url: str, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=20)
