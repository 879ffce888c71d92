"""Fixtures shared across the suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scorecard.registry import CheckRegistry, build_registry
from tests.databases import BACKENDS, database
from tests.webhooks import Webhook

DATA = Path(__file__).parent / "data"
REPO_ROOT = Path(__file__).resolve().parents[1]
BACKSTAGE_EXAMPLES = REPO_ROOT.parent / "shared" / "catalogs" / "backstage-examples"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def registry() -> CheckRegistry:
    """The built-in checks only, as a workspace without plugins or check folders has."""
    return build_registry(plugins=False)


@pytest.fixture
def backstage_examples() -> Path:
    if not BACKSTAGE_EXAMPLES.is_dir():
        pytest.skip(f"the Backstage example catalog is not present at {BACKSTAGE_EXAMPLES}")
    return BACKSTAGE_EXAMPLES


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own for each test: a new SQLite file, or a new PostgreSQL schema."""
    with database(request.param, tmp_path / "data") as url:
        yield url


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A JSON webhook on loopback that Apprise posts to, for the test's notifications."""
    hook = Webhook().start()
    yield hook
    hook.stop()
