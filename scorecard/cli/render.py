"""How the CLI shows runs and results: a rich table for people, JSON for programs."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from scorecard.cli.app import stderr
from scorecard.problems import Problem
from scorecard.report import RunReport
from scorecard.results import Outcome
from scorecard.tracks import Track
from scorecard.waivers import Waivers

# A terminal table of a whole large catalog helps nobody; JSON has every row.
TABLE_ROWS = 50

OUTCOME_STYLE = {
    Outcome.PASS: ("✔", "green"),
    Outcome.FAIL: ("✘", "red"),
    Outcome.WARN: ("!", "yellow"),
    Outcome.NOT_APPLICABLE: ("–", "dim"),
    Outcome.UNKNOWN: ("?", "magenta"),
    Outcome.ERROR: ("‼", "bold red"),
}


def outcome_text(outcome: Outcome) -> Text:
    icon, style = OUTCOME_STYLE[outcome]
    return Text(f"{icon} {outcome.value}", style=style)


def level_text(level: str | None) -> Text:
    return Text(level, style="bold") if level else Text("none", style="dim")


def print_problems(problems: Iterable[Problem]) -> None:
    for problem in problems:
        stderr.print(f"warning: {problem}", markup=False, highlight=False)


def report_json(run_id: int, report: RunReport, waivers: Waivers | None = None) -> str:
    """The documented `scorecard run --format json` shape; an exempted check carries its
    `exemption` (`waivers`: those the run certified with)."""
    tracks_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for pair in report.pairs:
        waived = waivers.for_pair(pair.entity_ref, pair.track_id) if waivers else {}
        checks = [
            {"id": r.check_id, "outcome": r.outcome.value, "message": r.result.message}
            | (
                {
                    "exemption": {
                        "justification": w.justification,
                        "expires_at": w.expires_at.isoformat(),
                    }
                }
                if (w := waived.get(r.check_id))
                else {}
            )
            for r in pair.results()
        ]
        tracks_of[pair.entity_ref].append(
            {"track": pair.track_id, "level": pair.level, "checks": checks}
        )
    document = {
        "run": {
            "id": run_id,
            "started_at": report.started_at.isoformat(),
            "finished_at": report.finished_at.isoformat() if report.finished_at else None,
            "entities": len(tracks_of),
            "results": report.result_count,
            "errors": report.error_count,
        },
        "entities": [{"ref": ref, "tracks": tracks} for ref, tracks in tracks_of.items()],
    }
    return json.dumps(document, indent=2)


def report_table(
    console: Console, run_id: int, report: RunReport, tracks: Sequence[Track], changed: int
) -> None:
    """A run for people: each entity's level per track (the first rows), then the counts
    in the words of the overview page and the runs page, then what gave no answer."""
    levels: dict[str, dict[str, str | None]] = defaultdict(dict)
    for cert in report.certifications:
        levels[cert.entity_ref][cert.track_id] = cert.level
    table = Table(title=f"Run {run_id}", title_justify="left")
    table.add_column("entity", no_wrap=True)
    for track in tracks:
        table.add_column(track.id)
    for ref, per_track in list(levels.items())[:TABLE_ROWS]:
        cells: list[Text | str] = [humanize(ref)]
        for track in tracks:
            cells.append(level_text(per_track[track.id]) if track.id in per_track else "")
        table.add_row(*cells)
    console.print(table)
    if len(levels) > TABLE_ROWS:
        console.print(
            f"… and {plural(len(levels) - TABLE_ROWS, 'more entity', 'more entities')} "
            "(--format json lists them all).",
            style="dim",
        )

    counts = Counter(outcome for pair in report.pairs for outcome in pair.outcomes)
    summary = ", ".join(f"{counts[o.value]} {o.value}" for o in Outcome if counts[o.value])
    seconds = (report.finished_at - report.started_at).total_seconds() if report.finished_at else 0
    console.print(
        f"{entity_count(report, tracks)}, {plural(report.result_count, 'result')} "
        f"({summary or 'none'}) in {seconds:.2f}s; "
        f"{plural(changed, 'result')} new or changed.",
        highlight=False,
    )
    # Group by entity and message: one unreadable repository is one line, not ten.
    broken: dict[tuple[str, Outcome, str], list[str]] = defaultdict(list)
    unanswered = (Outcome.ERROR.value, Outcome.UNKNOWN.value)
    with_unanswered = [p for p in report.pairs if any(o in unanswered for o in p.outcomes)]
    for result in (r for pair in with_unanswered for r in pair.results()):
        if result.outcome in (Outcome.ERROR, Outcome.UNKNOWN):
            key = (result.entity_ref, result.outcome, result.result.message)
            broken[key].append(f"{result.track_id}/{result.check_id}")
    if broken:
        console.print(Text("Checks that could not give an answer:", style="bold"))
        for (ref, outcome, message), checks in broken.items():
            which = ", ".join(checks) if len(checks) <= 3 else f"{len(checks)} checks"
            where = f"  {humanize(ref)} ({which}): "
            console.print(Text.assemble("  ", outcome_text(outcome), where, message))
    blocked = [cert.entity_ref for cert in report.certifications if cert.next_level]
    if blocked:
        example = blocked[0]
        console.print(
            f"See what fails and how to fix it: scorecard entity {humanize(example)}",
            style="dim",
            highlight=False,
        )


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 result`, `2 results`, `0 entities` (`many` for a noun that is not just + s)."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"


def entity_count(report: RunReport, tracks: Sequence[Track]) -> str:
    """The run's entities as the overview page counts them: those a published track
    applies to, then those a draft track alone applies to, out of the catalog entities
    read (groups, users and the others no track applies to among them)."""
    drafts = {track.id for track in tracks if track.draft}
    published = {c.entity_ref for c in report.certifications if c.track_id not in drafts}
    every = {c.entity_ref for c in report.certifications}
    words = f"{plural(len(published), 'entity', 'entities')} with a "
    words += "published track" if drafts else "track"
    if len(every) > len(published):
        words += f", {len(every) - len(published):,} more with a draft track only"
    if report.entities:
        words += f" (of {plural(len(report.entities), 'catalog entity', 'catalog entities')} read)"
    return words


def humanize(ref: str) -> str:
    """Backstage's humanizeEntityRef: the default namespace goes without saying."""
    return ref.replace(":default/", ":", 1)
