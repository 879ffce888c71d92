"""The `scorecard` command line."""

from scorecard.cli import (
    browse,
    db,
    fix,
    gate,
    mcp,
    preview,
    push,
    run,
    serve,
    validate,
    worker,
)
from scorecard.cli.app import app

__all__ = [
    "app", "browse", "db", "fix", "gate", "main", "mcp", "preview", "push", "run", "serve",
    "validate", "worker",
]  # fmt: skip


def main() -> None:
    app()
