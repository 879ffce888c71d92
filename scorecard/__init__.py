"""scorecard: tech-standards scorecards for software catalogs.

The check SDK is importable from here: `from scorecard import check, Result`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scorecard.entity import Entity
    from scorecard.inputs import CatalogView, InputUnavailable, Repo
    from scorecard.results import Outcome, Result
    from scorecard.sdk import Check, check

# Imported on first use rather than here: every `scorecard` command imports this package
# first, and the SDK brings pydantic, which `scorecard --help` has no use for.
_EXPORTS = {
    "CatalogView": "scorecard.inputs",
    "Check": "scorecard.sdk",
    "Entity": "scorecard.entity",
    "InputUnavailable": "scorecard.inputs",
    "Outcome": "scorecard.results",
    "Repo": "scorecard.inputs",
    "Result": "scorecard.results",
    "check": "scorecard.sdk",
}

__all__ = [
    "CatalogView",
    "Check",
    "Entity",
    "InputUnavailable",
    "Outcome",
    "Repo",
    "Result",
    "check",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'scorecard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
