"""`scorecard run`: evaluate the workspace's tracks over its catalog and store the results."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from scorecard.cli.app import (
    EXIT_FAILED,
    EXIT_OK,
    State,
    app,
    config_errors,
    database_errors,
    stderr,
    stdout,
)
from scorecard.problems import ConfigError, Problem

if TYPE_CHECKING:
    from rich.progress import Progress

    from scorecard.catalog import CatalogListing as Listing
    from scorecard.runner import StoredRun
    from scorecard.store import Store
    from scorecard.store.shards import ShardProgress
    from scorecard.tracks import Track
    from scorecard.workspace import Workspace

# Runs shorter than this finish before a progress bar would be worth drawing.
_PROGRESS_MIN_ENTITIES = 200


@app.command("run")
def run_command(
    ctx: typer.Context,
    catalog: Annotated[
        list[str] | None,
        typer.Option("--catalog", help="Catalog file, folder or glob (repeatable)."),
    ] = None,
    tracks: Annotated[
        list[Path] | None, typer.Option("--tracks", help="Track file or folder (repeatable).")
    ] = None,
    checks: Annotated[
        list[Path] | None,
        typer.Option("--checks", help="Folder of check modules (repeatable)."),
    ] = None,
    track: Annotated[
        list[str] | None, typer.Option("--track", "-t", help="Only these track ids.")
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="Database URL.")] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0.001, help="Seconds before a check is an error."),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="table or json.", case_sensitive=False)
    ] = "table",
) -> None:
    """Evaluate every track on every entity it applies to, and store the results.

    Exits 0 when the run completed, even if checks failed; 2 on configuration errors.
    """
    from scorecard.catalog import pushdown_filters, read_sources
    from scorecard.cli.render import print_problems, report_json, report_table
    from scorecard.program.campaigns import load_campaigns
    from scorecard.program.exemptions import load_exemptions
    from scorecard.registry import build_registry
    from scorecard.store import Store
    from scorecard.tracks import load_tracks

    output_format = output_format.lower()
    if output_format not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")
    state: State = ctx.obj
    with config_errors():
        workspace = _override(state.workspace(), catalog, tracks, checks, db, timeout)
        registry = build_registry(workspace.checks)
        loaded = load_tracks(workspace.tracks, registry)
        # Exemptions kept as code, checked against every track, as a server takes them.
        exemptions = load_exemptions(
            workspace.exemption_files,
            loaded,
            workspace.exemption_max_days,
            datetime.now(UTC),
            allow_expired=True,
        )
        # Campaigns kept as code: their progress is recorded once the results are stored.
        # They name the workspace's tracks: with other tracks (--tracks), none is recorded.
        campaigns = load_campaigns(workspace.campaign_files, loaded) if not tracks else []
        every_track = {t.id: t for t in loaded}
        if track:
            loaded = _select(loaded, track)
        listing = read_sources(
            workspace.catalog,
            backstage_filters=pushdown_filters(loaded),
            local_roots=workspace.local_roots,
        )
    print_problems(listing.problems)
    with database_errors():
        store = Store(workspace.database, upgrade=workspace.auto_upgrade)
    with store:
        store.notify = bool(workspace.notifications.rules)
        store.sync_exemption_files(exemptions, every_track)
        if workspace.executor.distributed:
            stored = _run_on_workers(
                store,
                workspace,
                listing,
                loaded,
                catalog_complete=(listing.shows_removals and not catalog),
            )
        else:
            stored = _run_here(store, workspace, listing, loaded, catalog)
        # The burn-up of every campaign, as a server would record it after a run (and the
        # events it calls for, sent below).
        store.record_progress(
            campaigns,
            every_track,
            datetime.now(UTC),
            deadline_within_days=workspace.notifications.deadline_within_days,
        )
        if store.notify:
            # Sent now, with no server to send them later; what fails waits for the next
            # `scorecard run` or a server over the same database.
            from scorecard.notify.dispatcher import Dispatcher

            Dispatcher(
                store,
                config=lambda: workspace.notifications,
                tracks=lambda: every_track,
                public_url=workspace.public_url,
                campaign_titles=lambda: {c.id: c.title for c in campaigns},
            ).tick()
        # As the runs page counts them: results that appeared or changed.
        record = store.run(stored.run_id)
        changed = record.changed if record is not None else stored.stats.results_written
    if output_format == "json":
        sys.stdout.write(report_json(stored.run_id, stored.report, stored.waivers) + "\n")
    else:
        report_table(stdout, stored.run_id, stored.report, loaded, changed)
    raise typer.Exit(EXIT_OK)


def _run_here(
    store: Store,
    workspace: Workspace,
    listing: Listing,
    loaded: list[Track],
    catalog: list[str] | None,
) -> StoredRun:
    """The run evaluated in this process (and the processes it forks)."""
    from scorecard.runner import run_and_store
    from scorecard.sources.git import git_cache_from

    progress = _progress_bar(len(listing.entities))
    with progress as bar:
        task = bar.add_task("Evaluating", total=len(listing.entities)) if bar else None
        stored = run_and_store(
            store,
            listing.entities,
            loaded,
            trigger="cli",
            concurrency=workspace.concurrency,
            timeout=workspace.check_timeout,
            problems=listing.problems,
            progress=(lambda n: bar.advance(task, n)) if bar else None,
            git_cache=git_cache_from(workspace.repositories),
            github=workspace.github,
            # A --catalog subset says nothing about what left the workspace's catalog.
            catalog_complete=listing.shows_removals and not catalog,
        )
    return stored


def _run_on_workers(
    store: Store,
    workspace: Workspace,
    listing: Listing,
    loaded: list[Track],
    *,
    catalog_complete: bool,
) -> StoredRun:
    """The run evaluated in shards by the celery executor's workers; exits 1, naming the
    shards, when it cannot complete."""
    from scorecard.distributed.coordinator import ShardsFailed, complete_sharded_run
    from scorecard.distributed.fingerprint import configuration_fingerprint

    run_id = store.start_run("cli", {"tracks": [t.id for t in loaded], "entity": None})
    with _progress_bar(len(listing.entities)) as bar:
        task = bar.add_task("Shards", total=None) if bar else None

        def shown(progress: ShardProgress) -> None:
            if bar is not None and task is not None:
                bar.update(task, total=progress.total, completed=progress.done + progress.failed)

        try:
            return complete_sharded_run(
                store,
                run_id,
                listing.entities,
                loaded,
                executor=workspace.executor,
                fingerprint=configuration_fingerprint(workspace),
                problems=listing.problems,
                catalog_complete=catalog_complete,
                progress=shown,
            )
        except (ShardsFailed, RuntimeError) as error:
            stderr.print(f"run {run_id} failed: {error}", highlight=False, markup=False)
            raise typer.Exit(EXIT_FAILED) from None


def _override(
    workspace: Workspace,
    catalog: list[str] | None,
    tracks: list[Path] | None,
    checks: list[Path] | None,
    db: str | None,
    timeout: float | None,
) -> Workspace:
    return replace(
        workspace,
        catalog=catalog or workspace.catalog,
        tracks=tracks or workspace.tracks,
        checks=checks if checks is not None else workspace.checks,
        database=db or workspace.database,
        check_timeout=timeout or workspace.check_timeout,
    )


def _select(tracks: list[Track], wanted: list[str]) -> list[Track]:
    known = {t.id for t in tracks}
    missing = [t for t in wanted if t not in known]
    if missing:
        raise ConfigError(
            [
                Problem("--track", f"unknown track {m!r}; known: {', '.join(sorted(known))}")
                for m in missing
            ]
        )
    return [t for t in tracks if t.id in wanted]


def _progress_bar(total: int) -> AbstractContextManager[Progress | None]:
    if total < _PROGRESS_MIN_ENTITIES or not stderr.is_terminal:
        return nullcontext()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
    )
