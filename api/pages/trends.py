"""Trends and the leaderboard, for the overview and the owner pages: what they read (each
read remembered until the next run, `PageMemo`) and how owners rank.

The leaderboard ranks the owners of a track by the share of their entities at its top
level (ties: more entities there, then by name), from the kept roll-ups; "most improved"
ranks them by the level steps their entities gained, net of those lost, in the period
the trends show (`scorecard.store.trends.most_improved`). Draft tracks are previews and
have neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Annotated, Any

from fastapi import Query

from api.pages.memo import PageMemo
from api.pages.trend_charts import trend_chart
from scorecard.service.service import Service
from scorecard.store import OwnerLevels
from scorecard.store.trends import LevelTrend, midnight
from scorecard.tracks import Track

DEFAULT_DAYS = 90
MIN_DAYS, MAX_DAYS = 7, 365
# `?days=`: a bad value is the 400 page, as any bad query of a page is.
TrendDays = Annotated[int, Query(ge=MIN_DAYS, le=MAX_DAYS)]
DAY_CHOICES = (30, 90, 365)
LEADERS = 10


@dataclass(frozen=True, slots=True)
class Standing:
    """An owner's place on a track's leaderboard: `at_top` of its `entities` are at the
    track's top level."""

    rank: int
    owner: str
    at_top: int
    entities: int

    @property
    def share(self) -> float:
        return self.at_top / self.entities


def rank_owners(owners: Iterable[OwnerLevels], top_level: str) -> list[Standing]:
    """Every owner with entities on the track, by share at `top_level` (most first), then
    by how many are there, then by name; unowned entities are nobody's and not ranked."""
    rows = [
        (owner.owner, owner.levels.get(top_level, 0), owner.entities)
        for owner in owners
        if owner.owner is not None and owner.entities
    ]
    # Fractions, so that 1 of 2 and 2 of 4 tie exactly and the count decides.
    rows.sort(key=lambda row: (-Fraction(row[1], row[2]), -row[1], row[0].lower()))
    return [
        Standing(rank, owner, at_top, entities)
        for rank, (owner, at_top, entities) in enumerate(rows, start=1)
    ]


def _period(days: int, today: date) -> tuple[date, date]:
    """The first day shown, and the first day whose changes count: the chart starts at
    the end of the first, so what changed on it is before the period."""
    first_day = today - timedelta(days=days)
    return first_day, first_day + timedelta(days=1)


def _published(tracks: Sequence[Track]) -> list[Track]:
    return [track for track in tracks if not track.draft and track.levels]


def _chart(track: Track, trend: LevelTrend | None) -> str:
    return trend_chart(track, trend.days, trend.counts) if trend else trend_chart(track, [], [])


def _standings(memo: PageMemo, service: Service, track: Track) -> list[Standing]:
    top = track.levels[-1].id
    return memo.get(
        service,
        ("standings", track.id),
        lambda: rank_owners(service.store.owners_rollup(track.id), top),
    )


def overview_trends(
    memo: PageMemo, service: Service, tracks: Sequence[Track], days: int, today: date
) -> dict[str, Any]:
    """The overview's trend chart of each published track over the last `days` days,
    and its leaderboard: the top owners by share at the top level, and the most improved."""
    published = _published(tracks)
    first_day, counted_from = _period(days, today)
    trends = memo.get(
        service,
        ("trends", days, today),
        lambda: service.store.level_trends([t.id for t in published], first_day, today),
    )
    charts, boards = [], []
    for track in published:
        ladder = [level.id for level in track.levels]
        improved = memo.get(
            service,
            ("improved", track.id, days, today),
            lambda track=track, ladder=ladder: service.store.most_improved(
                track.id, ladder, midnight(counted_from), LEADERS
            ),
        )
        charts.append({"track": track, "chart": _chart(track, trends.get(track.id))})
        boards.append(
            {
                "track": track,
                "top_level": ladder[-1],
                "standings": _standings(memo, service, track)[:LEADERS],
                "improved": improved,
            }
        )
    return {
        "trends": charts,
        "leaderboard": boards,
        "trend_days": days,
        "trend_day_choices": sorted({*DAY_CHOICES, days}),
    }


def owner_trends(
    memo: PageMemo,
    service: Service,
    owner: str,
    tracks: Sequence[Track],
    days: int,
    today: date,
) -> dict[str, Any]:
    """The owner page's trend chart of each published track its entities are or were on,
    over its entities only, and where it stands on each track's leaderboard."""
    published = _published(tracks)
    first_day, _ = _period(days, today)
    # Read from the owner's entities alone (tens of milliseconds for an owner of
    # hundreds), so not kept: one entry per owner would crowd out the overview's.
    trends = service.store.level_trends([t.id for t in published], first_day, today, owner=owner)
    rows = []
    for track in published:
        standings = _standings(memo, service, track)
        standing = next((s for s in standings if s.owner.lower() == owner.lower()), None)
        trend = trends.get(track.id)
        if standing is None and not (trend and trend.days):
            continue  # none of its entities is or was on the track
        rows.append(
            {
                "track": track,
                "chart": _chart(track, trend),
                "standing": standing,
                "owners": len(standings),
                "top_level": track.levels[-1].id,
            }
        )
    return {
        "owner_trends": rows,
        "trend_days": days,
        "trend_day_choices": sorted({*DAY_CHOICES, days}),
    }
