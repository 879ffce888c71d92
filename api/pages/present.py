"""How stored things look on a page: outcome marks, level colours, times, the history
chart, campaigns' statuses and burn-up chart. Pure functions of their arguments,
registered as Jinja filters and globals."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
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


def count(number: int, noun: str, plural: str | None = None) -> str:
    """`1 entity`, `2 entities`, `1,204 results`: a number with its noun in the right form
    (`plural` for a noun that does not just take an s; `entity` and `-y` nouns know theirs)."""
    if number == 1:
        return f"1 {noun}"
    if plural is None:
        consonant_y = noun.endswith("y") and noun[-2:-1] not in "aeiou"
        plural = noun[:-1] + "ies" if consonant_y else noun + "s"
    return f"{number:,} {plural}"


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


# --- campaigns ----------------------------------------------------------------------------

# Every status has an icon and a word, as outcomes do.
CAMPAIGN_MARKS = {
    "not started": "◷",
    "on track": "✓",
    "at risk": "!",
    "done": "★",
    "missed": "✗",
}


def campaign_status_icon(value: str) -> str:
    return CAMPAIGN_MARKS.get(value, "")


def campaign_status_class(value: str) -> str:
    """`c-on-track`, `c-at-risk`, ...: the status as a CSS class."""
    return "c-" + value.replace(" ", "-")


@dataclass(frozen=True, slots=True)
class BurnupPoint:
    at: datetime
    in_scope: int
    at_goal: int


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def burnup_chart(
    title: str,
    start: date,
    deadline: date,
    milestones: Sequence[tuple[date, float]],
    points: Sequence[BurnupPoint],
    now: datetime,
    *,
    width: int = 640,
    height: int = 240,
) -> str:
    """A campaign's burn-up as SVG: the entities at the goal (a step line with a dot at
    each recorded change) under the entities in scope (a lighter step line), from the start
    to the deadline; the steady pace from none at the start to all at the deadline as a
    dashed line, each milestone as a diamond at its share, the deadline and today as
    vertical lines. Text labels say what each is, so it reads without colour. A single
    recorded point is drawn as a dot and said to be the only one; no point at all is no
    chart (an empty text)."""
    if not points:
        return ""
    left, right, top, bottom = 46, 16, 22, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    first, last = points[0].at, points[-1].at
    x_from = min(_midnight(start), first)
    x_to = max(_midnight(deadline), last, now)
    span = max((x_to - x_from).total_seconds(), 1.0)
    scope = points[-1].in_scope
    y_max = max(max(p.in_scope for p in points), 1)

    def x(moment: datetime) -> float:
        return left + plot_w * (moment - x_from).total_seconds() / span

    def y(count: float) -> float:
        return top + plot_h - plot_h * count / y_max

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart burnup" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Burn-up of {escape(title)}">'
    ]
    ticks = sorted({0, y_max, y_max // 2} if y_max >= 4 else {0, y_max})
    for tick in ticks:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'class="grid"/><text x="{left - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{tick}</text>'
        )
    # The steady pace: none at the start, every entity in scope now at the deadline.
    parts.append(
        f'<line x1="{x(_midnight(start)):.1f}" y1="{y(0):.1f}" x2="{x(_midnight(deadline)):.1f}" '
        f'y2="{y(scope):.1f}" class="plan"><title>steady pace: from none on '
        f"{start.isoformat()} to all {scope} by {deadline.isoformat()}</title></line>"
    )
    for day, share in milestones:
        mx, my = x(_midnight(day)), y(share * scope)
        parts.append(
            f'<path d="M{mx:.1f},{my - 6:.1f}L{mx + 6:.1f},{my:.1f}L{mx:.1f},{my + 6:.1f}'
            f'L{mx - 6:.1f},{my:.1f}Z" class="milestone"><title>milestone: {share:.0%} '
            f"at the goal by {day.isoformat()}</title></path>"
            f'<text x="{mx:.1f}" y="{my - 9:.1f}" text-anchor="middle">{share:.0%} by '
            f"{day.isoformat()}</text>"
        )
    dx = x(_midnight(deadline))
    parts.append(
        f'<line x1="{dx:.1f}" x2="{dx:.1f}" y1="{top - 6}" y2="{top + plot_h}" '
        f'class="deadline"/><text x="{dx - 4:.1f}" y="{top - 10 + 8}" text-anchor="end">'
        f"deadline {deadline.isoformat()}</text>"
    )
    if x_from <= now <= x_to:
        parts.append(
            f'<line x1="{x(now):.1f}" x2="{x(now):.1f}" y1="{top}" y2="{top + plot_h}" '
            f'class="today"/><text x="{x(now):.1f}" y="{top + plot_h + 12}" '
            'text-anchor="middle">today</text>'
        )
    if len(points) > 1:
        end = x(max(now, last))

        def steps(value: Callable[[BurnupPoint], int]) -> str:
            path = [f"M{x(points[0].at):.1f},{y(value(points[0])):.1f}"]
            for point in points[1:]:
                path.append(f"H{x(point.at):.1f}V{y(value(point)):.1f}")
            path.append(f"H{end:.1f}")
            return "".join(path)

        parts.append(f'<path d="{steps(lambda p: p.in_scope)}" class="scope"/>')
        parts.append(f'<path d="{steps(lambda p: p.at_goal)}" class="line"/>')
    for point in points:
        parts.append(
            f'<circle cx="{x(point.at):.1f}" cy="{y(point.at_goal):.1f}" r="4" class="point">'
            f"<title>{point.at_goal} of {point.in_scope} at the goal since {utc(point.at)}"
            "</title></circle>"
        )
    parts.append(
        f'<text x="{left}" y="{height - 8}">{x_from.date().isoformat()}</text>'
        f'<text x="{width - right}" y="{height - 8}" text-anchor="end">'
        f"{x_to.date().isoformat()}</text>"
    )
    if len(points) == 1:
        only = points[0]
        parts.append(
            f'<text x="{left + 8}" y="{top + 14}" class="note">Only one measurement so far: '
            f"{only.at_goal} of {only.in_scope} at the goal on {utc(only.at)[:10]}.</text>"
            f'<text x="{left + 8}" y="{top + 30}" class="note">The line is drawn from the '
            "next change.</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
