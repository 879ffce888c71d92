"""`scorecard fix --open-prs`: one pull request per GitHub repository, from the stored
results of the workspace's last runs (`scorecard.fixes.remote`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from scorecard.cli.app import stdout
from scorecard.problems import ConfigError, Problem

if TYPE_CHECKING:
    from scorecard.fixes.remote import FixPullRequestsReport
    from scorecard.workspace import Workspace

_TABLE_FORMATS = ("text", "table")


def open_prs(
    workspace: Workspace,
    *,
    track_id: str,
    level: str | None,
    check_ids: Sequence[str],
    entity_refs: Sequence[str],
    dry_run: bool,
    output_format: str,
) -> int:
    """Open (or, with `dry_run`, list) the pull requests that fix the track's entities
    and print them as a table (`text`) or JSON; the exit code: 0 when every repository's
    pull request was made, 1 when one failed. Raises ConfigError (exit 2) for an unknown
    track, level, check or entity, a database that cannot be used, or no GitHub token."""
    from scorecard.fixes.remote import open_fix_prs_sync
    from scorecard.gate.local import load_all_tracks
    from scorecard.store import Store
    from scorecard.store.database import SchemaVersionError

    if output_format not in (*_TABLE_FORMATS, "json"):
        raise ConfigError([Problem("--format", "use text or json")])
    tracks = load_all_tracks(workspace)
    try:
        store = Store(workspace.database, upgrade=workspace.auto_upgrade)
    except SchemaVersionError as error:
        raise ConfigError([Problem("database", str(error))]) from None
    with store:
        report = open_fix_prs_sync(
            store,
            tracks,
            workspace,
            track_id=track_id,
            level=level,
            check_ids=tuple(check_ids),
            entity_refs=tuple(entity_refs) or None,
            dry_run=dry_run,
            actor="cli",
        )
    if output_format == "json":
        sys.stdout.write(json.dumps(report.as_json(), indent=2) + "\n")
    else:
        print_report(report)
    return report.exit_code


def print_report(report: FixPullRequestsReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    goal = f"level {report.level}" if report.level else ", ".join(report.check_ids)
    mode = " (dry run: nothing written)" if report.dry_run else ""
    stdout.print(
        f"[bold]{escape(report.track_title)}[/bold]: pull requests towards {escape(goal)} "
        f"from the branch {escape(report.branch)}{mode}"
    )
    if report.repositories:
        table = Table(show_lines=False)
        for column in ("Repository", "Action", "Pull request", "Files", "Error"):
            table.add_column(column, overflow="fold")
        for row in report.repositories:
            action = f"[red]{row.action}[/red]" if row.failed else escape(row.action)
            pull = row.url or (f"#{row.number}" if row.number is not None else "")
            kept = [f"[dim]{escape(path)} (exists, kept)[/dim]" for path in row.skipped]
            files = "\n".join([*map(escape, row.files), *kept])
            table.add_row(
                escape(row.repository), action, escape(pull), files, escape(row.error or "")
            )
        stdout.print(table)
        for row in report.repositories:
            for note in row.notes:
                stdout.print(f"[yellow]note[/yellow] {escape(row.repository)}: {escape(note)}")
    else:
        stdout.print("No repository has anything to fix.")
    for entity in report.entities:
        if entity.repository is None:
            continue
        stdout.print(
            f"{escape(entity.entity_ref)} ({escape(entity.repository)}): "
            f"{escape(entity.level_before or 'no level')} → "
            f"{escape(entity.level_after or 'no level')}, fixing "
            f"{escape(', '.join(check for check, _ in entity.fixes))}"
            + (f"; {len(entity.unfixed)} left by hand" if entity.unfixed else "")
        )
    for skipped in report.skipped:
        stdout.print(
            f"[yellow]skipped[/yellow] {escape(skipped.entity_ref)}: {escape(skipped.reason)}"
        )
