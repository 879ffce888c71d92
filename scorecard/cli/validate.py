"""`scorecard validate` and `scorecard schema`: check track files before they ship."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from scorecard.cli.app import EXIT_OK, EXIT_USAGE, State, app, config_errors
from scorecard.problems import ConfigError, Problem


@app.command()
def validate(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Track files or folders \\[default: the workspace's tracks]."),
    ] = None,
    checks: Annotated[
        list[Path] | None,
        typer.Option("--checks", help="Folder of check modules (repeatable)."),
    ] = None,
) -> None:
    """Validate track files: exit 0 when valid, 2 with one FILE:LINE:COL line per problem."""
    from scorecard.registry import build_registry
    from scorecard.tracks import load_tracks, track_files

    state: State = ctx.obj
    with config_errors():
        workspace = state.workspace()
    problems: list[Problem] = []
    try:
        registry = build_registry(checks if checks is not None else workspace.checks)
    except ConfigError as error:
        problems.extend(error.problems)
        registry = build_registry()
    targets = paths or workspace.tracks
    files = track_files(targets)
    try:
        load_tracks(targets, registry)
    except ConfigError as error:
        problems.extend(error.problems)
    for problem in problems:
        print(problem)
    sys.stdout.flush()
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        print(f"{len(problems)} {noun} in {len(files)} track files.", file=sys.stderr)
        raise typer.Exit(EXIT_USAGE)
    print(f"{len(files)} track files are valid.", file=sys.stderr)
    raise typer.Exit(EXIT_OK)


@app.command()
def schema() -> None:
    """Print the JSON Schema of a track file (for editors and CI linting)."""
    from scorecard.tracks import track_json_schema

    with config_errors():
        sys.stdout.write(json.dumps(track_json_schema(), indent=2) + "\n")
