"""How stored things look on a page: outcome marks, level colours, times, the history
chart. Pure functions of their arguments, registered as Jinja filters and globals."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from scorecard.results import Outcome
from scorecard.tracks import Track

# Every outcome has an icon and a word, so a page reads the same without colour.
OUTCOME_MARKS: dict[str | None, tuple[str, str]] = {
    Outcome.PASS: ("✓", "pass"),
    Outcome.FAIL: ("✗", "fail"),
    Outcome.WARN: ("!", "warn"),
    Outcome.NOT_APPLICABLE: ("–", "n/a"),
    Outcome.UNKNOWN: ("?", "unknown"),
    Outcome.ERROR: ("⚠", "error"),
    None: ("…", "not evaluated"),
}

# A check that gave no answer: it crashed or timed out (error), or what it reads could not
# be read (unknown). It holds a level back as a failure does but says nothing about the
# entity, so the pages count it apart, call it "could not be checked" with the reason from
# its result, and never suggest a fix: what the fix would add may well be there already.
COULD_NOT_CHECK = frozenset({Outcome.ERROR, Outcome.UNKNOWN})


@dataclass(frozen=True, slots=True)
class HeldBack:
    """How many checks hold something back in one way: failing, could not be checked, or
    not evaluated yet. `mark` is the outcome whose icon and colour show it."""

    mark: str | None
    words: str
    count: int


def holding_back(outcomes: Iterable[str | None]) -> list[HeldBack]:
    """The outcomes of blocking checks, counted as failing, could not be checked and not
    evaluated yet (in that order, the empty ones left out)."""
    found = list(outcomes)
    unchecked = [o for o in found if o in COULD_NOT_CHECK]
    groups = [
        HeldBack(Outcome.FAIL, "fail", found.count(Outcome.FAIL)),
        HeldBack(
            Outcome.ERROR if Outcome.ERROR in unchecked else Outcome.UNKNOWN,
            "could not be checked",
            len(unchecked),
        ),
        HeldBack(None, "not evaluated yet", found.count(None)),
    ]
    return [group for group in groups if group.count]


# Colours for the usual level names; any other level gets one by its rank on the ladder.
_NAMED_LEVELS = {"bronze": "#b0703c", "silver": "#8a949e", "gold": "#c9a227", "platinum": "#5b8fa8"}
_RANKED = ["#7c9cbf", "#4f7cac", "#2f5d8a", "#1d3f63", "#10243a"]
NO_LEVEL_COLOUR = "#d5d9de"


def outcome_icon(outcome: str | None) -> str:
    return OUTCOME_MARKS.get(outcome, OUTCOME_MARKS[None])[0]


def outcome_label(outcome: str | None) -> str:
    return OUTCOME_MARKS.get(outcome, OUTCOME_MARKS[None])[1]


def level_colour(level: str | None, track: Track | None = None) -> str:
    if level is None:
        return NO_LEVEL_COLOUR
    if level.lower() in _NAMED_LEVELS:
        return _NAMED_LEVELS[level.lower()]
    ids = [lvl.id for lvl in track.levels] if track else []
    rank = ids.index(level) if level in ids else 0
    return _RANKED[min(rank, len(_RANKED) - 1)]


def evidence_value(value: object) -> str:
    """Evidence as a person reads it: lists as comma-separated items, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value) or "(none)"
    return json.dumps(value, default=str, ensure_ascii=False)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """`3 min ago`, `2 h ago`, `5 days ago`: how long before `now` (UTC)."""
    if moment is None:
        return "never"
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 60:
        return "just now"
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {'day' if unit == 'days' and count == 1 else unit} ago"
    return "just now"  # pragma: no cover


def until(moment: datetime | None, now: datetime | None = None) -> str:
    """`in 29 days`, `in 5 h`, `in 12 min`: how long after `now` (UTC); `passed` once it has."""
    if moment is None:
        return ""
    seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    if seconds <= 0:
        return "passed"
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"in {count} {'day' if unit == 'days' and count == 1 else unit}"
    return "in under a minute"


def day(moment: datetime | None) -> str:
    """The UTC date of `moment`: 2027-03-01."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d") if moment else ""


def utc(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return "—"
    seconds = (end - start).total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


@dataclass(frozen=True, slots=True)
class LevelPoint:
    at: datetime
    level: str | None


def history_chart(
    track: Track,
    points: Sequence[LevelPoint],
    now: datetime,
    *,
    width: int = 560,
    height: int = 150,
) -> str:
    """The level an entity held on a track over time, as a step chart in SVG.

    One row per level of the ladder (no level at the bottom); the line steps at each
    change and runs on to `now`. Text labels name the levels, so it reads without colour.
    """
    ladder: list[str | None] = [None, *(lvl.id for lvl in track.levels)]
    left, right, top, bottom = 70, 12, 10, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    row = plot_h / max(len(ladder) - 1, 1)

    def y(level: str | None) -> float:
        rank = ladder.index(level) if level in ladder else 0
        return top + plot_h - rank * row

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Level history on {escape(track.title)}">'
    ]
    for level in ladder:
        label = escape(level or "none")
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(level):.1f}" y2="{y(level):.1f}" '
            'class="grid"/>'
            f'<text x="{left - 8}" y="{y(level) + 4:.1f}" text-anchor="end">{label}</text>'
        )
    if points:
        start = points[0].at
        span = max((now - start).total_seconds(), 1.0)

        def x(moment: datetime) -> float:
            return left + plot_w * (moment - start).total_seconds() / span

        path = [f"M{x(points[0].at):.1f},{y(points[0].level):.1f}"]
        for point in points[1:]:
            path.append(f"H{x(point.at):.1f}V{y(point.level):.1f}")
        path.append(f"H{x(now):.1f}")
        parts.append(f'<path d="{"".join(path)}" class="line"/>')
        for point in points:
            colour = level_colour(point.level, track)
            parts.append(
                f'<circle cx="{x(point.at):.1f}" cy="{y(point.level):.1f}" r="4" '
                f'fill="{colour}"><title>{escape(point.level or "no level")} since '
                f"{utc(point.at)}</title></circle>"
            )
        parts.append(
            f'<text x="{left}" y="{height - 6}">{utc(start)[:10]}</text>'
            f'<text x="{width - right}" y="{height - 6}" text-anchor="end">now</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
