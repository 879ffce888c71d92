"""The `scorecard` command line."""

from scorecard.cli import browse, db, gate, run, serve, validate
from scorecard.cli.app import app

__all__ = ["app", "browse", "db", "gate", "main", "run", "serve", "validate"]


def main() -> None:
    app()
