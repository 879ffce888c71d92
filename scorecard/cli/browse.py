"""Read-only commands: `checks list|show`, `tracks list|show`, `entity REF`."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from scorecard.cli.app import (
    EXIT_USAGE,
    State,
    app,
    checks_app,
    config_errors,
    database_errors,
    fail,
    stdout,
    tracks_app,
)

if TYPE_CHECKING:
    from rich.text import Text

    from scorecard.registry import CheckRegistry
    from scorecard.store import ResultRecord
    from scorecard.tracks import Track
    from scorecard.waivers import Waivers

# What the commands show with (rich's tables and markdown, the registry, the tracks) is
# imported inside them: importing this module is part of every command's start-up.

DRAFT_NOTE = (
    "draft: evaluated and previewed, not enforced — no badge, gate, notification or "
    "roll-up with the published tracks; remove `draft: true` to publish it"
)


def _registry(ctx: typer.Context) -> CheckRegistry:
    from scorecard.registry import build_registry

    state: State = ctx.obj
    with config_errors():
        return build_registry(state.workspace().checks)


def _tracks(ctx: typer.Context) -> list[Track]:
    from scorecard.tracks import load_tracks

    state: State = ctx.obj
    with config_errors():
        workspace = state.workspace()
        return load_tracks(workspace.tracks, _registry(ctx))


@checks_app.command("list")
def checks_list(ctx: typer.Context) -> None:
    """List every registered check."""
    from rich.table import Table

    registry = _registry(ctx)
    table = Table()
    table.add_column("id", no_wrap=True)
    table.add_column("title")
    table.add_column("params")
    table.add_column("fix")
    table.add_column("from")
    for check in registry:
        params = ", ".join(check.params_model.model_fields) if check.params_model else ""
        fix = "yes" if check.fix is not None else ""
        table.add_row(check.id, check.meta.title, params, fix, registry.origin(check.id))
    stdout.print(table)


@checks_app.command("show")
def checks_show(ctx: typer.Context, check_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Show a check: what it verifies, how to fix a failure, its parameters."""
    from rich.markdown import Markdown
    from rich.panel import Panel
    from rich.text import Text

    registry = _registry(ctx)
    check = registry.get(check_id)
    if check is None:
        raise fail(f"unknown check {check_id!r}; `scorecard checks list` shows them all")
    stdout.print(Text(f"{check.id} — {check.meta.title}", style="bold"))
    stdout.print(check.meta.description)
    # Markdown fills the width it is given: bounded, so that no log gets a panel as wide
    # as a line may be there, and wrapped inside it rather than cut at its border.
    panel = Panel(Markdown(check.meta.remediation), title="remediation", expand=False)
    stdout.print(panel, width=min(stdout.width, 100), soft_wrap=False)
    if check.meta.docs_url:
        stdout.print(f"docs: {check.meta.docs_url}")
    stdout.print(f"inputs: {', '.join(check.inputs)}; from {registry.origin(check.id)}")
    if check.fix is not None:
        made = [f.path for f in check.fix.files]
        if check.fix.catalog is not None and not check.fix.catalog.is_empty():
            made.append("catalog-info.yaml")
        title = check.fix.title or "a fix"
        stdout.print(f"fix (`scorecard fix`): {title}, writing {', '.join(dict.fromkeys(made))}")
    if check.params_model is not None:
        stdout.print("params (JSON Schema):")
        stdout.print_json(json.dumps(check.params_model.model_json_schema()))


@tracks_app.command("list")
def tracks_list(ctx: typer.Context) -> None:
    """List the workspace's tracks."""
    from rich.table import Table

    table = Table()
    table.add_column("id", no_wrap=True)
    for column in ("title", "levels", "checks", "schedule", "status"):
        table.add_column(column)
    for track in _tracks(ctx):
        table.add_row(
            track.id,
            track.title,
            " → ".join(level.id for level in track.levels),
            str(len(track.checks)),
            _schedule_text(track.schedule),
            "draft" if track.draft else "published",
        )
    stdout.print(table)


def _schedule_text(schedule: object) -> str:
    from scorecard.tracks import format_duration

    if isinstance(schedule, timedelta):
        return f"every {format_duration(schedule)}"
    return str(schedule or "")


@tracks_app.command("show")
def tracks_show(ctx: typer.Context, track_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Show a track's levels and the checks each one requires."""
    from rich.table import Table
    from rich.text import Text

    track = next((t for t in _tracks(ctx) if t.id == track_id), None)
    if track is None:
        raise fail(f"unknown track {track_id!r}; `scorecard tracks list` shows them all")
    stdout.print(Text(f"{track.id} — {track.title}", style="bold"))
    if track.draft:
        stdout.print(DRAFT_NOTE, markup=False)
    if track.description:
        stdout.print(track.description)
    for level in track.levels:
        table = Table(
            "check", "title", "required", "params", title=level.title, title_justify="left"
        )
        for configured in level.checks:
            params = configured.params.model_dump_json() if configured.params else ""
            table.add_row(
                configured.id, configured.title, "yes" if configured.required else "no", params
            )
        stdout.print(table)


@app.command()
def entity(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Entity ref: kind:namespace/name, or kind:name.")],
    db: Annotated[str | None, typer.Option("--db", help="Database URL.")] = None,
) -> None:
    """Show an entity's certification per track and what fails, level by level, with how
    to fix it."""
    from rich.text import Text

    from scorecard.cli.render import level_text
    from scorecard.entity import parse_ref
    from scorecard.store import Store

    state: State = ctx.obj
    try:
        wanted = str(parse_ref(ref, default_kind="component"))
    except ValueError as error:
        raise fail(str(error)) from None
    with config_errors():
        workspace = state.workspace()
    tracks = {t.id: t for t in _tracks(ctx)}
    with database_errors():
        store = Store(db or workspace.database, upgrade=workspace.auto_upgrade)
    with store:
        stored = store.entity(wanted)
        wanted = stored.ref if stored else wanted
        certifications = store.certifications(entity_ref=wanted)
        results = store.results(entity_ref=wanted)
        waivers = store.waivers(entity_refs=[wanted])
    if not certifications:
        raise fail(f"no results for {wanted}; run `scorecard run` first", EXIT_USAGE)
    for cert in certifications:
        track = tracks.get(cert.track_id)
        title = track.title if track else cert.track_id
        header = Text.assemble((f"{title}: ", "bold"), level_text(cert.level))
        if cert.next_level:
            header.append(f"  (next: {cert.next_level})", style="dim")
        if track is not None and track.draft:
            header.append("  (draft: a preview, not enforced)", style="yellow")
        stdout.print(header)
        own = {r.check_id: r for r in results if r.track_id == cert.track_id}
        # What needs a look, level by level ("bronze:", "silver:"), in the track's order;
        # results of checks the track no longer has come last.
        for label, check_ids in _levels_of(track, own):
            lines = [
                line
                for check_id in check_ids
                for line in _result_lines(own[check_id], track, waivers, wanted)
            ]
            if lines:
                stdout.print(Text(f"  {label}:", style="bold"))
                for line in lines:
                    stdout.print(line)


def _levels_of(track: Track | None, own: dict[str, ResultRecord]) -> list[tuple[str, list[str]]]:
    """The checks of `own` (results by check id) grouped by the level of `track` that has
    them, lowest first, and those of no level of it (or of a track gone from the
    configuration) last."""
    groups: list[tuple[str, list[str]]] = []
    placed: set[str] = set()
    for level in track.levels if track is not None else ():
        ids = [c.id for c in level.checks if c.id in own]
        placed.update(ids)
        groups.append((level.id, ids))
    rest = [check_id for check_id in own if check_id not in placed]
    if rest:
        groups.append(("other checks" if track is not None else "checks", rest))
    return groups


def _result_lines(
    result: ResultRecord, track: Track | None, waivers: Waivers, entity_ref: str
) -> list[Text]:
    """What `scorecard entity` says of one result: nothing for a pass or n/a; the outcome
    and message, then an exemption, a grace or a fix when there is one."""
    from rich.text import Text

    from scorecard.cli.render import outcome_text
    from scorecard.grace import stale
    from scorecard.results import NON_BLOCKING, Outcome

    outcome = result.outcome
    # Graced: could not be checked, its last known outcome counts meanwhile.
    grace = stale(outcome, result.evidence)
    message = grace.sentence(outcome, result.message) if grace else result.message
    waiver = waivers.for_result(entity_ref, result.track_id, result.check_id)
    if waiver is not None:
        # Exempted: shown whatever its outcome, never as a plain pass.
        needed = outcome not in (Outcome.PASS, Outcome.NOT_APPLICABLE)
        return [
            Text.assemble(
                "    ",
                ("⊘ exempted" if needed else "⊘ exemption not needed", "blue"),
                " (",
                outcome_text(outcome),
                f")  {result.check_id}: ",
                message,
            ),
            Text(f"        {waiver.describe()}", style="blue"),
        ]
    if grace is not None:
        return [
            Text.assemble("    ", outcome_text(outcome), f"  {result.check_id}: ", message),
            Text(
                f"        counts as {grace.outcome} for the level until "
                f"{grace.until:%Y-%m-%d %H:%M:%S} UTC (the check's grace)",
                style="dim",
            ),
        ]
    if outcome in NON_BLOCKING - {Outcome.WARN}:
        return []
    lines = [Text.assemble("    ", outcome_text(outcome), f"  {result.check_id}: ", message)]
    configured = next((c for c in track.checks if c.id == result.check_id), None) if track else None
    if configured is not None and outcome in (Outcome.FAIL, Outcome.WARN):
        # Under "fix: ", its snippets indented as written; a blank line stays blank.
        first, *rest = configured.remediation.split("\n")
        fix = "\n".join([first, *(" " * 13 + line if line.strip() else "" for line in rest)])
        lines.append(Text(f"        fix: {fix}", style="cyan"))
    return lines
