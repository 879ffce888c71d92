"""Fixtures shared across the suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorecard.registry import CheckRegistry, build_registry

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
