"""The Typer application and what every command shares: the workspace and error exits.

Exit codes: 0 success, 1 a gate or lookup that did not hold, 2 configuration or usage
error (one `FILE:LINE:COL: key: message` line per problem on stderr).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console, ConsoleDimensions

from scorecard.problems import ConfigError

if TYPE_CHECKING:
    from scorecard.workspace import Workspace

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

app = typer.Typer(
    name="scorecard",
    help="Tech-standards scorecards for your software catalog.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
)
checks_app = typer.Typer(help="The checks that tracks can use.", no_args_is_help=True)
tracks_app = typer.Typer(help="The tracks of the workspace.", no_args_is_help=True)
db_app = typer.Typer(help="The workspace's database and its schema.", no_args_is_help=True)
app.add_typer(checks_app, name="checks")
app.add_typer(tracks_app, name="tracks")
app.add_typer(db_app, name="db")

# Where no terminal says how wide a line may be (a CI log, a pipe, a file), nothing cuts
# one: a table there takes the columns it needs, up to this, rather than rich's 80.
UNBOUNDED_WIDTH = 1000


class CliConsole(Console):
    """rich's Console, as wide as its tables need when it writes to no terminal and
    COLUMNS does not say otherwise (decided at each print: tests swap the streams)."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self.is_terminal or os.environ.get("COLUMNS", "").isdigit():
            return size
        return ConsoleDimensions(max(size.width, UNBOUNDED_WIDTH), size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


stdout = CliConsole(soft_wrap=True)
stderr = CliConsole(stderr=True, soft_wrap=True)


@dataclass
class State:
    config: Path | None = None

    def workspace(self) -> Workspace:
        # Imported here, as every command module imports what it needs when it runs:
        # `scorecard --help` imports the command modules and nothing they run.
        from scorecard.workspace import Workspace

        return Workspace.load(self.config)


@app.callback()
def _options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="SCORECARD_CONFIG",
            help="Workspace file \\[default: ./scorecard.yaml, else the bundled demo].",
        ),
    ] = None,
) -> None:
    ctx.obj = State(config)


@contextmanager
def config_errors() -> Iterator[None]:
    """Print configuration problems one per line and exit 2."""
    try:
        yield
    except ConfigError as error:
        for problem in error.problems:
            stderr.print(str(problem), markup=False, highlight=False)
        raise typer.Exit(EXIT_USAGE) from None


@contextmanager
def database_errors() -> Iterator[None]:
    """Exit 2 with the message of a database whose schema cannot be used as it is (newer
    than this scorecard, or older with upgrades turned off)."""
    # Imported here: only commands that open the database pay for SQLAlchemy.
    from scorecard.store.database import SchemaVersionError

    try:
        yield
    except SchemaVersionError as error:
        raise fail(str(error)) from None


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    stderr.print(f"error: {message}", markup=False, highlight=False)
    return typer.Exit(code)
