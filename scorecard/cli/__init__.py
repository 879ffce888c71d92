"""The `scorecard` command line."""

from scorecard.cli import browse, run, validate
from scorecard.cli.app import app

__all__ = ["app", "browse", "main", "run", "validate"]


def main() -> None:
    app()
