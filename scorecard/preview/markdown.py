"""A rollout preview as a pull-request comment (`render_markdown`): bounded for large
catalogs, and safe from what tracks and checks say (no HTML, no broken table)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scorecard.preview.report import Cause, CheckFailures, Move, PreviewReport, TrackPreview

# What a Markdown comment lists at most: entities per list, checks in the failing table.
MARKDOWN_ENTITIES = 50
MARKDOWN_CHECKS = 10
_MESSAGE_CHARS = 300  # of a check's message in Markdown


def render_markdown(report: PreviewReport, limit: int = MARKDOWN_ENTITIES) -> str:
    """A pull-request comment: a heading per track, its levels now and after, the
    entities that lose (then gain) a level with the checks that cause it, and the checks
    failing most. At most `limit` entities per list, then "… and N more"."""
    seconds = f"{report.seconds:.2f}s"
    parts = [
        "## scorecard preview",
        f"Compared with {report.baseline_label} · {_count(report.entities, 'entity')} · "
        f"evaluated in {seconds}",
    ]
    for track in report.tracks:
        parts.append(_markdown_track(track, limit))
    return "\n\n".join(parts) + "\n"


def _markdown_track(track: TrackPreview, limit: int) -> str:
    draft = ", a draft" if track.draft else ""
    parts = [f"### {_inline(track.title)} (`{track.track_id}`{draft})", _summary(track)]
    parts.append(_markdown_counts(track))
    if track.lost:
        parts.append(_markdown_moves(track.lost, "loses a level", "lose a level", limit))
    if track.gained:
        parts.append(_markdown_moves(track.gained, "gains a level", "gain a level", limit))
    if track.failing:
        parts.append(_markdown_failing(track.failing[:MARKDOWN_CHECKS]))
    return "\n\n".join(parts)


def _summary(track: TrackPreview) -> str:
    if track.new:
        return f"New track: {_count(sum(track.counts_after.values()), 'entity')} would be scored."
    lost, gained = len(track.lost), len(track.gained)
    if not lost and not gained:
        sentence = "No entity changes level."
    else:
        sentence = (
            f"{_count(lost, 'entity')} {'loses' if lost == 1 else 'lose'} a level, "
            f"{_count(gained, 'entity')} {'gains' if gained == 1 else 'gain'} one."
        )
    if track.entered or track.left:
        sentence += f" {len(track.entered)} newly scored, {len(track.left)} no longer scored."
    return sentence


def _markdown_counts(track: TrackPreview) -> str:
    rows = ["| level | now | after | change |", "| --- | ---: | ---: | ---: |"]
    names = list(track.counts_after)
    with_unscored = track.not_scored_now or track.not_scored_after
    for name in names:
        rows.append(_count_row(name, track.counts_now[name], track.counts_after[name]))
    if with_unscored:
        rows.append(_count_row("not scored", track.not_scored_now, track.not_scored_after))
    return "\n".join(rows)


def _count_row(name: str, now: int, after: int) -> str:
    change = after - now
    shown = f"{change:+d}" if change else "0"
    return f"| {name} | {now} | {after} | {shown} |"


def _markdown_moves(moves: list[Move], one: str, many: str, limit: int) -> str:
    verb = one if len(moves) == 1 else many
    lines = [f"<details><summary>{_count(len(moves), 'entity')} {verb}</summary>", ""]
    for move in moves[:limit]:
        lines.append(f"- `{move.entity}`: {move.now or 'no level'} → {move.after or 'no level'}")
        for cause in move.checks:
            lines.append(f"  - {_cause(cause)}")
    if len(moves) > limit:
        lines.append(f"- … and {len(moves) - limit} more")
    lines += ["", "</details>"]
    return "\n".join(lines)


def _cause(cause: Cause) -> str:
    where = f" ({cause.level})" if cause.level else ""
    outcome = f" {cause.outcome.value}" if cause.outcome else ""
    message = f": {_inline(cause.message, _MESSAGE_CHARS)}" if cause.message else ""
    return f"`{cause.id}`{where}{outcome}{message} — {cause.reason}"


def _markdown_failing(checks: list[CheckFailures]) -> str:
    rows = [
        "**Checks failing most**",
        "",
        "| check | level | failing now | failing after |",
        "| --- | --- | ---: | ---: |",
    ]
    for c in checks:
        now = "new" if c.now is None else str(c.now)
        optional = " (optional)" if not c.required else ""
        rows.append(f"| `{c.id}`{optional} | {c.level} | {now} | {c.after} |")
    return "\n".join(rows)


def _inline(text: str, limit: int | None = None) -> str:
    """Text from a track or a check as one line of Markdown that cannot break the comment
    (no HTML, no table cell end), cut at `limit` characters."""
    flat = " ".join(text.split())
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return escape(flat, quote=False).replace("|", "\\|")


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {noun if n == 1 else plural}"
