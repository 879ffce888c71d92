"""The `scorecard` command line."""

from scorecard.cli import browse, run, serve, validate
from scorecard.cli.app import app

__all__ = ["app", "browse", "main", "run", "serve", "validate"]


def main() -> None:
    app()
