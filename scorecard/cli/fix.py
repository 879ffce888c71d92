"""`scorecard fix`: apply the golden-path change failing checks ask for.

In a repository (the default) it evaluates the catalog file's entities, shows the change
as a diff and writes it only with --apply; with --open-prs it opens one pull request per
GitHub repository for the workspace's entities instead. Exit codes as `gate`: 0 when
every entity reaches the level (or passes the named checks) after the change, 1 when one
does not, 2 on a configuration or usage error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from scorecard.cli.app import State, app, config_errors, stdout
from scorecard.problems import ConfigError, Problem

if TYPE_CHECKING:
    from scorecard.fixes.local import LocalFixes


@app.command()
def fix(
    ctx: typer.Context,
    track: Annotated[str, typer.Option("--track", "-t", help="The track to fix.")],
    level: Annotated[
        str | None,
        typer.Option("--level", "-l", help="Fix what keeps the entities below this level."),
    ] = None,
    check: Annotated[
        list[str] | None,
        typer.Option("--check", help="Fix these checks of the track instead (repeatable)."),
    ] = None,
    repo: Annotated[Path, typer.Option(help="The repository to fix.")] = Path(),
    catalog: Annotated[
        Path | None, typer.Option(help="Its catalog file [default: catalog-info.yaml].")
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Write the change (without it, only show it).")
    ] = False,
    open_prs: Annotated[
        bool,
        typer.Option(
            "--open-prs", help="Open a pull request per GitHub repository of the workspace."
        ),
    ] = False,
    entity: Annotated[
        list[str] | None,
        typer.Option(help="With --open-prs: only these entity refs (repeatable)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --open-prs: list what would be opened.")
    ] = False,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """Apply the fixes of the checks that keep entities below a level.

    A fix creates files from the platform team's templates (CODEOWNERS, SECURITY.md, a CI
    workflow, ...) and edits catalog-info.yaml in place, keeping its comments. An existing
    file is never overwritten.
    """
    state: State = ctx.obj
    check_ids = tuple(check or ())
    with config_errors():
        if output_format not in ("text", "json"):
            raise ConfigError([Problem("--format", "use text or json")])
        workspace = state.workspace()
        if open_prs:
            if apply:
                raise ConfigError(
                    [Problem("--apply", "pull requests are written by --open-prs; drop --apply")]
                )
            from scorecard.cli.fix_prs import open_prs as open_pull_requests

            code = open_pull_requests(
                workspace,
                track_id=track,
                level=level,
                check_ids=check_ids,
                entity_refs=tuple(entity or ()),
                dry_run=dry_run,
                output_format=output_format,
            )
            raise typer.Exit(code)
        if entity or dry_run:
            raise ConfigError(
                [Problem("--entity/--dry-run", "are for --open-prs; locally, leave out --apply")]
            )
        from scorecard.fixes.local import apply_local_fixes, plan_local_fixes

        fixes = plan_local_fixes(workspace, repo, catalog, track, level=level, check_ids=check_ids)
        if apply:
            apply_local_fixes(fixes, workspace, catalog)
    if output_format == "json":
        sys.stdout.write(json.dumps(_as_json(fixes), indent=2) + "\n")
    else:
        _print(fixes)
    raise typer.Exit(fixes.exit_code)


def _print(fixes: LocalFixes) -> None:
    from rich.markup import escape
    from rich.syntax import Syntax

    goal = f"level {fixes.target_level}" if fixes.target_level else ", ".join(fixes.check_ids)
    stdout.print(f"[bold]{escape(fixes.track.title)}[/bold]: fixing towards {escape(goal)}")
    after = fixes.levels_after()
    verb = "reaches" if fixes.after is not None else "would reach"
    for plan in fixes.plans:
        before = plan.level_before or "no level"
        stdout.print(
            f"\n[bold]{escape(plan.entity_ref)}[/bold]: {escape(before)} → "
            f"{verb} {escape(after.get(plan.entity_ref) or 'no level')}"
        )
        for rendered in plan.fixes:
            stdout.print(f"  [green]fix[/green]   {escape(rendered.title)} ({rendered.check_id})")
        for unfixed in plan.unfixed:
            stdout.print(
                f"  [yellow]left[/yellow]  {escape(unfixed.title)} ({unfixed.check_id}): "
                f"{escape(unfixed.reason)}"
            )
            stdout.print(f"        {escape(unfixed.remediation.splitlines()[0])}")
    for alone in fixes.left_alone:
        stdout.print(
            f"[yellow]left alone[/yellow] {escape(alone.shown)} "
            f"({alone.check_id}, {escape(alone.entity_ref)}): {escape(alone.reason)}"
        )
    diff = fixes.diff()
    if diff:
        stdout.print()
        if stdout.is_terminal:
            stdout.print(Syntax(diff, "diff", theme="ansi_dark", background_color="default"))
        else:
            stdout.print(diff, markup=False, highlight=False, end="")
    if not fixes.has_changes:
        stdout.print("\nNothing to change.")
    elif fixes.applied:
        files = len(fixes.new_files)
        edited = len(fixes.catalog_edits)
        stdout.print(
            f"\nWrote {files} new {'file' if files == 1 else 'files'} and edited "
            f"{edited} catalog {'file' if edited == 1 else 'files'}."
        )
    else:
        stdout.print("\nNothing written: run again with --apply to make this change.")


def _as_json(fixes: LocalFixes) -> dict[str, object]:
    after = fixes.levels_after()
    return {
        "track": fixes.track.id,
        "level": fixes.target_level,
        "checks": list(fixes.check_ids),
        "applied": fixes.applied,
        "met": fixes.met,
        "entities": [
            {
                "entity_ref": plan.entity_ref,
                "level_before": plan.level_before,
                "level_after": after.get(plan.entity_ref),
                "fixes": [
                    {"check": f.check_id, "title": f.title, "files": [c.path for c in f.files]}
                    for f in plan.fixes
                ],
                "unfixed": [
                    {"check": u.check_id, "reason": u.reason, "remediation": u.remediation}
                    for u in plan.unfixed
                ],
            }
            for plan in fixes.plans
        ],
        "new_files": [f.shown for f in fixes.new_files],
        "edited": [e.shown for e in fixes.catalog_edits],
        "left_alone": [
            {"path": a.shown, "check": a.check_id, "entity_ref": a.entity_ref, "reason": a.reason}
            for a in fixes.left_alone
        ],
        "diff": fixes.diff(),
    }
