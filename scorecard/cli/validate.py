"""`scorecard validate` and `scorecard schema`: check track files before they ship."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from scorecard.cli.app import EXIT_OK, EXIT_USAGE, State, app, config_errors
from scorecard.problems import ConfigError, Problem

if TYPE_CHECKING:
    from scorecard.tracks import Track
    from scorecard.workspace import Workspace


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
    """Validate track files (and the workspace's exemption and campaign files, with its
    tracks): exit 0 when valid, 2 with one FILE:LINE:COL line per problem."""
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
    tracks = None
    try:
        tracks = load_tracks(targets, registry)
    except ConfigError as error:
        problems.extend(error.problems)
    # Exemptions and campaigns name the workspace's tracks: checked only when those are what
    # is validated, and only once they load (against broken tracks every one would look wrong).
    exemption_count = campaign_count = 0
    if not paths and tracks is not None:
        exemption_count, found = _exemption_problems(workspace, tracks)
        problems.extend(found)
        campaign_count, found = _campaign_problems(workspace, tracks)
        problems.extend(found)
    for problem in problems:
        print(problem)
    sys.stdout.flush()
    counted = [f"{len(files)} track files"]
    if exemption_count:
        counted.append(f"{exemption_count} exemption files")
    if campaign_count:
        counted.append(f"{campaign_count} campaign files")
    what = counted[0] if len(counted) == 1 else f"{', '.join(counted[:-1])} and {counted[-1]}"
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        print(f"{len(problems)} {noun} in {what}.", file=sys.stderr)
        raise typer.Exit(EXIT_USAGE)
    print(f"{what} are valid.", file=sys.stderr)
    drafts = [t for t in tracks or [] if t.draft]
    if drafts:
        names = ", ".join(f"{t.id} ({t.source})" for t in drafts)
        print(
            f"Drafts, previewed and not enforced (remove `draft: true` to publish): {names}.",
            file=sys.stderr,
        )
    raise typer.Exit(EXIT_OK)


def _exemption_problems(workspace: Workspace, tracks: list[Track]) -> tuple[int, list[Problem]]:
    """How many exemption files the workspace has, and their problems."""
    from scorecard.program.exemptions import exemption_files, load_exemptions

    paths = workspace.exemption_files
    count = len(exemption_files(paths))
    try:
        load_exemptions(paths, tracks, workspace.exemption_max_days, datetime.now(UTC))
    except ConfigError as error:
        return count, error.problems
    return count, []


def _campaign_problems(workspace: Workspace, tracks: list[Track]) -> tuple[int, list[Problem]]:
    """How many campaign files the workspace has, and their problems."""
    from scorecard.program.campaigns import campaign_files, load_campaigns

    paths = workspace.campaign_files
    count = len(campaign_files(paths))
    try:
        load_campaigns(paths, tracks)
    except ConfigError as error:
        return count, error.problems
    return count, []


@app.command()
def schema() -> None:
    """Print the JSON Schema of a track file (for editors and CI linting)."""
    from scorecard.tracks import track_json_schema

    with config_errors():
        sys.stdout.write(json.dumps(track_json_schema(), indent=2) + "\n")
