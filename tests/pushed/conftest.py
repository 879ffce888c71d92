"""A workspace with external checks, for the pushed-results tests: `payments` and
`ledger` on a track whose silver level needs test coverage of at least 80, pushed from
CI, and a release track whose load test counts for three seconds."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

CATALOG = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
  description: Takes payments.
spec: {type: service, owner: group:default/payments, lifecycle: production}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ledger
  description: Keeps the books.
spec: {type: service, owner: group:default/finance, lifecycle: production}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shared-lib
  description: A library.
spec: {type: library, owner: group:default/platform, lifecycle: production}
"""

QUALITY = """\
apiVersion: scorecard/v1
kind: Track
id: quality
title: Quality
filter: {kind: Component, spec.type: service}
levels:
  - id: bronze
    checks: [has_owner]
  - id: silver
    checks:
      - check: external
        id: coverage
        title: Test coverage of at least 80%
        description: Line coverage of the unit tests, reported by the CI pipeline.
        remediation: Add tests until coverage reaches 80%.
        pass_when: ">= 80"
  - id: gold
    checks:
      - check: external
        id: sast
        title: Static analysis scan is clean
"""

RELEASE = """\
apiVersion: scorecard/v1
kind: Track
id: release
title: Release
filter: {kind: Component, spec.type: service}
levels:
  - id: bronze
    checks:
      - check: external
        id: load-test
        max_age: 3s
"""

PAYMENTS = "component:default/payments"


@dataclass(frozen=True)
class Tokens:
    admin: str
    runner: str
    reader: str


VARIABLES = {
    "admin": "SC_PUSH_ADMIN_TOKEN",
    "runner": "SC_PUSH_RUNNER_TOKEN",
    "reader": "SC_PUSH_READER_TOKEN",
}


def write_workspace(root: Path, database: str) -> Path:
    (root / "tracks").mkdir(parents=True, exist_ok=True)
    (root / "catalog-info.yaml").write_text(CATALOG)
    (root / "tracks" / "quality.yaml").write_text(QUALITY)
    (root / "tracks" / "release.yaml").write_text(RELEASE)
    config = root / "scorecard.yaml"
    config.write_text(
        f"""\
catalog: catalog-info.yaml
tracks: tracks
database: {database}
reload_interval: 0
public_reads: false
tokens:
  - {{name: release-admin, role: admin, env: {VARIABLES["admin"]}}}
  - {{name: ci, role: runner, env: {VARIABLES["runner"]}}}
  - {{name: dashboards, role: reader, env: {VARIABLES["reader"]}}}
"""
    )
    return config


@pytest.fixture(scope="session")
def tokens() -> Iterator[Tokens]:
    made = Tokens(*(secrets.token_urlsafe(24) for _ in range(3)))
    before = {name: os.environ.get(name) for name in VARIABLES.values()}
    os.environ.update(
        {VARIABLES["admin"]: made.admin, VARIABLES["runner"]: made.runner,
         VARIABLES["reader"]: made.reader}
    )  # fmt: skip
    yield made
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def client(url: str, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=20)
