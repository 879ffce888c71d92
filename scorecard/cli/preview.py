"""`scorecard preview`: what new or changed track files would do to the catalog, before
they ship. Exit codes: 0 the report was given, 2 a configuration or usage error."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from scorecard.cli.app import EXIT_OK, State, app, config_errors, database_errors, fail, stdout
from scorecard.problems import ConfigError, Problem

if TYPE_CHECKING:
    from rich.console import Console

    from scorecard.catalog.files import CatalogListing
    from scorecard.entity import Entity
    from scorecard.preview import Move, PreviewReport, TrackPreview
    from scorecard.registry import CheckRegistry
    from scorecard.store import Store
    from scorecard.tracks import Track
    from scorecard.waivers import Waivers
    from scorecard.workspace import Workspace

FORMATS = ("text", "json", "markdown")


@app.command("preview")
def preview_command(
    ctx: typer.Context,
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="TRACK_FILE",
            help="New or changed track files or folders \\[default: the workspace's tracks].",
        ),
    ] = None,
    checks: Annotated[
        list[Path] | None,
        typer.Option("--checks", help="Folder of check modules, besides the workspace's."),
    ] = None,
    baseline_ref: Annotated[
        str | None,
        typer.Option(help="Compare with the same files at this git ref (e.g. main)."),
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="Database URL.")] = None,
    no_store: Annotated[
        bool,
        typer.Option(
            "--no-store", help="Use the workspace's catalog and tracks even with a database."
        ),
    ] = False,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="text, json or markdown.", case_sensitive=False)
    ] = "text",
    limit: Annotated[
        int, typer.Option(min=1, help="Entities listed per list in text and markdown.")
    ] = 50,
) -> None:
    """Preview a track change: entities per level now and after, every entity that would
    lose or gain a level with the checks that cause it, and the checks failing most.

    Nothing is stored. With a database that has entities, they are evaluated and
    compared with their stored levels; otherwise the workspace's catalog is, with the
    workspace's tracks. --baseline-ref compares with the files at a git ref instead.
    """
    from scorecard.preview import tracks_at_ref
    from scorecard.registry import build_registry
    from scorecard.tracks import load_tracks, track_files

    output_format = output_format.lower()
    if output_format not in FORMATS:
        raise typer.BadParameter("use text, json or markdown", param_hint="--format")
    state: State = ctx.obj
    with config_errors():
        workspace = state.workspace()
        registry = build_registry(_check_folders(workspace.checks, checks or []))
        paths = files or workspace.tracks
        changed = load_tracks(paths, registry)
        before = None
        if baseline_ref is not None:
            before = (baseline_ref, tracks_at_ref(track_files(paths), baseline_ref, registry))
    stored = None if no_store else _store_with_entities(db or workspace.database)
    try:
        with config_errors():
            report = _preview(workspace, registry, changed, stored, before)
    finally:
        if stored is not None:
            stored[0].close()
    if output_format == "json":
        sys.stdout.write(json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n")
    elif output_format == "markdown":
        sys.stdout.write(report.markdown(limit))
    else:
        print_report(stdout, report, limit)
    raise typer.Exit(EXIT_OK)


def _check_folders(workspace_folders: list[Path], extra: list[Path]) -> list[Path]:
    """The workspace's check folders, then those of --checks it does not have already
    (loading a folder twice would define its checks twice)."""
    seen = {folder.resolve() for folder in workspace_folders}
    added = []
    for folder in extra:
        if folder.resolve() not in seen:
            seen.add(folder.resolve())
            added.append(folder)
    return [*workspace_folders, *added]


def _open_store(url: str) -> Store | None:
    """The workspace's database when it exists and has this scorecard's schema; None when
    there is none yet (no SQLite file, or no tables): nothing is created to find out."""
    import sqlite3

    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    from scorecard.store import Store
    from scorecard.store.database import (
        SchemaState,
        create_store_engine,
        database_url,
        schema_state,
    )

    with config_errors():
        try:
            parsed = database_url(url)
        except ValueError as error:
            raise ConfigError([Problem("--db", str(error))]) from None
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if not path or path == ":memory:" or not Path(path).is_file():
            return None
        # Read-only, without the store's settings: opening it as the store does would
        # turn an empty file into a database.
        uri = f"{Path(path).resolve().as_uri()}?mode=ro"
        probe = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
    else:
        probe = create_store_engine(parsed)
    try:
        with probe.connect() as connection:
            if schema_state(connection) == SchemaState(None):
                return None
    except OperationalError as error:
        shown = parsed.render_as_string(hide_password=True)
        raise fail(f"cannot open the database {shown}: {error.orig}") from None
    finally:
        probe.dispose()
    with database_errors():
        # Never upgraded here: a preview changes nothing, the schema included.
        return Store(url, upgrade=False)


def _store_with_entities(url: str) -> tuple[Store, list[Entity]] | None:
    """The workspace's store and its entities, when it has some (a run has filled it)."""
    from scorecard.preview import stored_entities

    store = _open_store(url)
    if store is None:
        return None
    entities = stored_entities(store)
    if not entities:
        store.close()
        return None
    return store, entities


def _preview(
    workspace: Workspace,
    registry: CheckRegistry,
    changed: list[Track],
    stored: tuple[Store, list[Entity]] | None,
    before: tuple[str, list[Track]] | None,
) -> PreviewReport:
    """The stored entities or else the workspace's catalog, compared with the tracks at a
    git ref (`before`), else with the stored levels, else with the workspace's tracks."""
    from scorecard.cli.render import print_problems
    from scorecard.preview import preview_tracks
    from scorecard.sources.git import git_cache_from
    from scorecard.tracks import load_tracks

    store, entities = stored if stored is not None else (None, None)
    if entities is None:
        listing = _read_catalog(workspace)
        print_problems(listing.problems)
        entities = listing.entities
    baseline: Literal["stored"] | list[Track]
    if before is not None:
        baseline, label = before[1], f"the tracks at {before[0]}"
    elif store is not None:
        baseline, label = "stored", "the stored certifications"
    else:
        baseline, label = load_tracks(workspace.tracks, registry), "the workspace's tracks"
    return preview_tracks(
        changed,
        entities=entities,
        baseline=baseline,
        store=store,
        waivers=store.waivers() if store is not None else _file_waivers(workspace, registry),
        baseline_label=label,
        concurrency=workspace.concurrency,
        timeout=workspace.check_timeout,
        git_cache=git_cache_from(workspace.repositories),
        github=workspace.github,
    )


def _read_catalog(workspace: Workspace) -> CatalogListing:
    from scorecard.catalog import read_sources

    return read_sources(workspace.catalog, local_roots=workspace.local_roots)


def _file_waivers(workspace: Workspace, registry: CheckRegistry) -> Waivers:
    """The exemptions of the workspace's exemption files, checked against its tracks."""
    from scorecard.gate.local import load_waivers
    from scorecard.tracks import load_tracks
    from scorecard.waivers import Waivers

    if not workspace.exemption_files:
        return Waivers()
    return load_waivers(workspace, load_tracks(workspace.tracks, registry))


# --- text -------------------------------------------------------------------------------


def print_report(console: Console, report: PreviewReport, limit: int) -> None:
    """Per track: a table of levels now and after, the entities that lose and gain a
    level with the checks that cause it, the checks failing most."""
    for track in report.tracks:
        _print_track(console, track, limit)
    console.print(
        f"Compared with {report.baseline_label}: {report.entities} entities evaluated "
        f"in {report.seconds:.2f}s; nothing was stored.",
        highlight=False,
    )


def _print_track(console: Console, track: TrackPreview, limit: int) -> None:
    from rich.table import Table
    from rich.text import Text

    from scorecard.cli.render import level_text

    notes = [note for note, given in (("new track", track.new), ("a draft", track.draft)) if given]
    title = f"{track.track_id} — {track.title}" + (f" ({', '.join(notes)})" if notes else "")
    table = Table(title=title, title_justify="left")
    table.add_column("level")
    table.add_column("now", justify="right")
    table.add_column("after", justify="right")
    table.add_column("change", justify="right")
    rows = [(name, track.counts_now[name], track.counts_after[name]) for name in track.counts_after]
    if track.not_scored_now or track.not_scored_after:
        rows.append(("not scored", track.not_scored_now, track.not_scored_after))
    for name, now, after in rows:
        change = after - now
        style = "red" if change < 0 else "green" if change > 0 else "dim"
        table.add_row(
            level_text(None if name == "none" else name),
            str(now),
            str(after),
            Text(f"{change:+d}" if change else "0", style=style),
        )
    console.print(table)
    _print_moves(console, "Would lose a level", track.lost, limit, "red")
    _print_moves(console, "Would gain a level", track.gained, limit, "green")
    if track.entered or track.left:
        console.print(
            f"{len(track.entered)} entities newly scored, {len(track.left)} no longer scored.",
            highlight=False,
        )
    if track.failing:
        failing = Table(title="Checks failing most", title_justify="left")
        for column in ("check", "level", "now", "after", "outcomes after"):
            failing.add_column(column, justify="right" if column in ("now", "after") else "left")
        for c in track.failing[:10]:
            outcomes = ", ".join(f"{n} {o}" for o, n in c.outcomes.items())
            failing.add_row(
                c.id + ("" if c.required else " (optional)"),
                c.level,
                "new" if c.now is None else str(c.now),
                str(c.after),
                outcomes,
            )
        console.print(failing)
    console.print(f"{track.track_id} evaluated in {track.seconds:.2f}s.", style="dim")
    console.print()


def _print_moves(console: Console, heading: str, moves: list[Move], limit: int, style: str) -> None:
    from rich.text import Text

    from scorecard.cli.render import humanize

    if not moves:
        return
    console.print(Text(f"{heading} ({len(moves)}):", style="bold"))
    for move in moves[:limit]:
        console.print(
            Text.assemble(
                "  ",
                (humanize(move.entity), style),
                f"  {move.now or 'none'} → {move.after or 'none'}",
            )
        )
        for cause in move.checks:
            outcome = f" {cause.outcome.value}" if cause.outcome else ""
            where = f" ({cause.level})" if cause.level else ""
            message = f": {cause.message}" if cause.message else ""
            console.print(
                Text(f"      {cause.id}{where}{outcome}{message} — {cause.reason}"),
                highlight=False,
            )
    if len(moves) > limit:
        console.print(
            f"  … and {len(moves) - limit} more (--format json lists them all).", style="dim"
        )
