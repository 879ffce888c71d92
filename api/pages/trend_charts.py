"""The trend chart: the share of a track's entities at each level, day by day, as a
stacked area in SVG built on the server (no script). Pure functions of their arguments.

The highest level is drawn on top and "none" at the bottom; the legend lists them in that
order, highest first and none last, with each one's share on the last day, so the chart
reads without colour. Each day has a column whose tooltip and `data-` attributes carry
that day's counts: what a person hovers over, and what a test reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

from api.pages.present import level_colour
from scorecard.tracks import Track

Level = str | None

NO_HISTORY = "No history yet: nothing has been evaluated on this track."
# A period's dates on the x axis: the first, the last and a few between, at most this
# many, at least this many pixels apart.
_TICKS = 5
_TICK_SPACING = 90


def one_day_note(day: date) -> str:
    return (
        f"One day of runs so far ({day.isoformat()}): trends appear after runs on two "
        "different days."
    )


def layer_order(track: Track, counts: Sequence[Mapping[Level, int]]) -> list[Level]:
    """The levels from the bottom of the stack up: none, any level no longer on the
    track's ladder (by name), then the ladder, lowest first."""
    ladder = [level.id for level in track.levels]
    others = sorted({lvl for day in counts for lvl in day if lvl is not None} - set(ladder))
    return [None, *others, *ladder]


def trend_chart(
    track: Track,
    days: Sequence[date],
    counts: Sequence[Mapping[Level, int]],
    *,
    width: int = 640,
    height: int = 220,
) -> str:
    """The share of `track`'s entities at each level on each of `days` (`counts`: the
    entities per level at the end of each day), as SVG; a sentence instead when there
    is no day, or one only (a chart of one point would show nothing)."""
    if not days:
        return f'<p class="trend-note">{escape(NO_HISTORY)}</p>'
    if len(days) == 1:
        return f'<p class="trend-note">{escape(one_day_note(days[0]))}</p>'
    layers = layer_order(track, counts)
    totals = [sum(day.values()) for day in counts]
    left, right, top, bottom = 40, 130, 10, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    last = len(days) - 1

    def x(index: float) -> float:
        return left + plot_w * index / last

    def y(share: float) -> float:
        return top + plot_h * (1 - share)

    def share(index: int, level: Level) -> float:
        return counts[index].get(level, 0) / totals[index] if totals[index] else 0.0

    title = escape(track.title)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart trend" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Share of entities at each level of {title}, '
        f'{days[0].isoformat()} to {days[-1].isoformat()}">'
    ]
    # The stack, bottom up: each layer between the sum of those under it and that plus it.
    below = [0.0] * len(days)
    for level in layers:
        above = [below[i] + share(i, level) for i in range(len(days))]
        if any(a > b for a, b in zip(above, below, strict=True)):
            outline = [f"{x(i):.1f},{y(above[i]):.1f}" for i in range(len(days))]
            outline += [f"{x(i):.1f},{y(below[i]):.1f}" for i in reversed(range(len(days)))]
            label = escape(level or "none", quote=True)
            parts.append(
                f'<path class="layer" data-level="{label}" '
                f'fill="{level_colour(level, track)}" d="M{"L".join(outline)}Z">'
                f"<title>{label}</title></path>"
            )
        below = above
    for tick in (0.0, 0.5, 1.0):
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'class="grid"/><text x="{left - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{tick:.0%}</text>'
        )
    # The first and last dates in full, a few between as "Nov 23", far enough apart.
    ticks = max(2, min(_TICKS, int(plot_w // _TICK_SPACING) + 1, len(days)))
    for index in sorted({round(k * last / (ticks - 1)) for k in range(ticks)}):
        day = days[index]
        if index in (0, last):
            anchor, label = ("start" if index == 0 else "end"), day.isoformat()
        else:
            anchor, label = "middle", f"{day:%b} {day.day}"
        parts.append(
            f'<text x="{x(index):.1f}" y="{height - 8}" text-anchor="{anchor}">{label}</text>'
        )
    # A column per day, as wide as the gap between days, over the whole height.
    column = plot_w / last
    for index, day in enumerate(days):
        start = max(x(index) - column / 2, left)
        end = min(x(index) + column / 2, left + plot_w)
        held = {(level or "none"): counts[index].get(level, 0) for level in reversed(layers)}
        held = {level: count for level, count in held.items() if count}
        words = ", ".join(
            f"{level} {count:,} ({count / totals[index]:.0%})" for level, count in held.items()
        )
        parts.append(
            f'<rect class="day" x="{start:.1f}" y="{top}" width="{end - start:.2f}" '
            f'height="{plot_h}" data-day="{day.isoformat()}" data-total="{totals[index]}" '
            f'data-counts="{escape(json.dumps(held), quote=True)}"><title>'
            f"{day.isoformat()}: {escape(words or 'no entity')} of {totals[index]:,} "
            f"entit{'y' if totals[index] == 1 else 'ies'}</title></rect>"
        )
    # The legend, highest level first and none last, with the shares on the last day.
    legend_x = left + plot_w + 14
    for row, level in enumerate(reversed(layers)):
        ly = top + 4 + row * 18
        label = escape(level or "none")
        parts.append(
            f'<rect x="{legend_x}" y="{ly}" width="11" height="11" rx="2" '
            f'fill="{level_colour(level, track)}" class="swatch-box"/>'
            f'<text x="{legend_x + 17}" y="{ly + 10}" class="legend-text">{label} '
            f"{share(last, level):.0%}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
