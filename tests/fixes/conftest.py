"""Fixtures of the fixes tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixes.github_api import FakeGitHub

# --- the fake GitHub API (tests/fixes/github_api.py) -------------------------------------


@pytest.fixture(scope="session")
def fake_github_server() -> Iterator[FakeGitHub]:
    """The fake GitHub on loopback, started once; use `fake_github`, which is reset."""
    server = FakeGitHub().start()
    yield server
    server.stop()


@pytest.fixture
def fake_github(fake_github_server: FakeGitHub) -> FakeGitHub:
    """The fake GitHub with no repositories: seed them with `add_repository`."""
    fake_github_server.reset()
    return fake_github_server
