"""Real git repositories in temporary folders, one per case."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

SERVICE = """apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: {name}
  description: Takes payments for the web shop and the mobile apps, and refunds them.
  annotations:
    pagerduty.com/service-id: P1234
    backstage.io/kubernetes-id: {name}
spec:
  type: service
  lifecycle: production
  owner: group:default/payments
"""

SILVER_FILES = {
    "README.md": "# Payments\n\nRun `make dev` to start it.\n",
    ".github/workflows/ci.yml": "on: [push]\njobs: {test: {runs-on: ubuntu-latest, steps: []}}\n",
    "docs/runbook.md": "# Runbook\n\nRestart with `kubectl rollout restart`.\n",
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def run_git() -> Callable[..., str]:
    return git


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """`make_repo(name, files)`: a git repository with one commit of `files`."""

    def make(name: str, files: dict[str, str]) -> Path:
        repo = tmp_path / name
        repo.mkdir()
        git(repo, "init", "--quiet", "--initial-branch=main")
        git(repo, "config", "user.email", "ci@example.com")
        git(repo, "config", "user.name", "CI")
        for relative, text in files.items():
            (repo / relative).parent.mkdir(parents=True, exist_ok=True)
            (repo / relative).write_text(text)
        git(repo, "add", "-A")
        git(repo, "commit", "--quiet", "-m", "first")
        return repo

    return make


@pytest.fixture
def silver_repo(make_repo: Callable[..., Path]) -> Path:
    return make_repo(
        "payments", {"catalog-info.yaml": SERVICE.format(name="payments"), **SILVER_FILES}
    )


@pytest.fixture
def bronze_repo(make_repo: Callable[..., Path]) -> Path:
    files = {k: v for k, v in SILVER_FILES.items() if k != "docs/runbook.md"}
    return make_repo("ledger", {"catalog-info.yaml": SERVICE.format(name="ledger"), **files})


@pytest.fixture
def invalid_repo(make_repo: Callable[..., Path]) -> Path:
    return make_repo(
        "broken", {"catalog-info.yaml": "apiVersion: backstage.io/v1alpha1\nkind: [\n"}
    )
