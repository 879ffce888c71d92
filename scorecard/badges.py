"""Badges: "track | level" as a flat shields-style SVG, or as shields.io endpoint JSON.

Text widths come from badgepy's precalculated font metrics, as shields.io measures them,
so the SVG renders the same in a README as a shields badge would.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from scorecard.tracks import Track

# Levels named after metals get their colour; other ladders are coloured by rank.
METAL_COLOURS = {
    "bronze": "#cd7f32",
    "silver": "#8f8f8f",
    "gold": "#dfb317",
    "platinum": "#4c1",
}
RANK_COLOURS = ("#fe7d37", "#dfb317", "#a4a61d", "#97ca00", "#4c1")  # lowest → highest
NO_LEVEL = "#e05d44"
NOT_FOUND = "#9f9f9f"
DRAFT = "#9f9f9f"


@dataclass(frozen=True, slots=True)
class Badge:
    label: str
    message: str
    colour: str  # "#rrggbb" or "#rgb"

    @property
    def etag(self) -> str:
        digest = hashlib.sha1(f"{self.label}\0{self.message}\0{self.colour}".encode()).hexdigest()
        return f'"{digest[:20]}"'

    def svg(self) -> str:
        return _render(self.label, self.message, self.colour)

    def endpoint(self) -> dict[str, Any]:
        """The shields.io endpoint schema: https://shields.io/badges/endpoint-badge"""
        return {
            "schemaVersion": 1,
            "label": self.label,
            "message": self.message,
            "color": self.colour.lstrip("#"),
        }


def level_badge(track: Track, level: str | None) -> Badge:
    """The badge of an entity certified at `level` (None: no level yet) on `track`."""
    if level is None:
        return Badge(track.id, "none", NO_LEVEL)
    return Badge(track.id, level, level_colour(track, level))


def draft_badge(track: Track) -> Badge:
    """The badge of every entity on a draft track: it says the track is a draft, never a
    level, so that no README shows a standard that is not published yet."""
    return Badge(track.id, "draft", DRAFT)


def not_found_badge(label: str, what: str) -> Badge:
    return Badge(label, what, NOT_FOUND)


def level_colour(track: Track, level: str) -> str:
    if level.lower() in METAL_COLOURS:
        return METAL_COLOURS[level.lower()]
    ids = [lvl.id for lvl in track.levels]
    if level not in ids:
        return NOT_FOUND
    if len(ids) == 1:
        return RANK_COLOURS[-1]
    # Spread the ladder over the palette: the top level is always the greenest.
    position = ids.index(level) / (len(ids) - 1)
    return RANK_COLOURS[round(position * (len(RANK_COLOURS) - 1))]


# XML 1.0 forbids most control characters even when escaped; a label can come from a URL.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MAX_TEXT = 64


def _clean(text: str) -> str:
    text = _NOT_XML.sub("", text)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


@lru_cache(maxsize=4096)
def _render(label: str, message: str, colour: str) -> str:
    import badgepy  # loads font metrics; only a server drawing badges needs it

    label, message = _clean(label), _clean(message)
    svg = badgepy.badge(
        left_text=label,
        right_text=message,
        right_color=colour,
        whole_title=f"{label}: {message}",
    )
    return _GEOMETRY.sub(_rounded, svg)


# badgepy writes its sums as Python prints floats (width="166.39999999999998"): each
# length and position is rounded to a tenth, and a whole number written without ".0".
_GEOMETRY = re.compile(r'\b(width|height|x|y|textLength)="(-?\d+(?:\.\d+)?(?:e-?\d+)?)"')


def _rounded(match: re.Match[str]) -> str:
    value = round(float(match.group(2)), 1)
    text = f"{value:.1f}".removesuffix(".0")
    return f'{match.group(1)}="{text}"'
