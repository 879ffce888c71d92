"""scorecard: tech-standards scorecards for software catalogs.

The check SDK is importable from here: `from scorecard import check, Result`.
"""

from scorecard.entity import Entity
from scorecard.inputs import CatalogView, InputUnavailable, Repo
from scorecard.results import Outcome, Result
from scorecard.sdk import Check, check

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
