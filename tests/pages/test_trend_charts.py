"""The trend chart's SVG and the leaderboard's ranking, as pure functions: what each day
carries, the order of the layers and the legend, the words instead of a chart of one day
or none, escaping, and how owners rank and tie."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from api.pages.trend_charts import NO_HISTORY, layer_order, one_day_note, trend_chart
from api.pages.trends import rank_owners
from scorecard.registry import build_registry
from scorecard.store import OwnerLevels
from scorecard.tracks import Track, load_track
from tests.builders import track_yaml

DAY = date(2027, 3, 1)


@pytest.fixture(scope="module")
def track(tmp_path_factory: pytest.TempPathFactory) -> Track:
    path: Path = tmp_path_factory.mktemp("tracks") / "ops.yaml"
    levels = {"bronze": ["has_owner"], "silver": ["has_oncall"], "gold": ["has_description"]}
    path.write_text(track_yaml("ops", "Ops <script>alert(1)</script>", levels))
    return load_track(path, build_registry(plugins=False))


def _days(count: int) -> list[date]:
    return [DAY + timedelta(days=n) for n in range(count)]


def test_each_day_carries_its_counts(track: Track) -> None:
    counts = [{"gold": 1, None: 3}, {"gold": 2, "bronze": 1, None: 1}, {"silver": 4}]
    svg = trend_chart(track, _days(3), counts)
    columns = re.findall(r'data-day="([^"]+)" data-total="(\d+)" data-counts="([^"]+)"', svg)
    assert [(day, int(total)) for day, total, _ in columns] == [
        ("2027-03-01", 4),
        ("2027-03-02", 4),
        ("2027-03-03", 4),
    ]
    held = [json.loads(text.replace("&quot;", '"')) for _, _, text in columns]
    assert held == [{"gold": 1, "none": 3}, {"gold": 2, "bronze": 1, "none": 1}, {"silver": 4}]
    assert "<title>2027-03-02: gold 2 (50%), bronze 1 (25%), none 1 (25%) of 4 entities" in svg


def test_the_highest_level_is_on_top_and_none_last_in_the_legend(track: Track) -> None:
    svg = trend_chart(track, _days(2), [{"gold": 1, "bronze": 1}, {"silver": 1, None: 1}])
    # Layers are drawn bottom up: none first, gold last (on top).
    assert re.findall(r'class="layer" data-level="([^"]+)"', svg) == [
        "none",
        "bronze",
        "silver",
        "gold",
    ]
    legend = re.findall(r'class="legend-text">([a-z]+) (\d+%)</text>', svg)
    assert legend == [("gold", "0%"), ("silver", "50%"), ("bronze", "0%"), ("none", "50%")]


def test_a_level_held_on_no_day_draws_no_layer(track: Track) -> None:
    svg = trend_chart(track, _days(2), [{"gold": 2}, {"gold": 1, None: 1}])
    assert re.findall(r'class="layer" data-level="([^"]+)"', svg) == ["none", "gold"]


def test_the_stack_fills_the_plot_each_day(track: Track) -> None:
    """The top layer's upper edge is at 100% on every day: shares add up to one."""
    svg = trend_chart(track, _days(3), [{"gold": 1, None: 1}, {"bronze": 3}, {None: 2}])
    top = re.findall(r'y1="([\d.]+)" y2="[\d.]+" class="grid"/><text[^>]*>100%', svg)
    (gold,) = re.findall(r'data-level="gold" fill="[^"]+" d="M([^Z]+)Z"', svg)
    points = [point.split(",") for point in gold.split("L")]
    # The first half of the outline is the upper edge, left to right.
    assert {y for _, y in points[:3]} == {top[0]}


def test_one_day_is_said_in_words_and_no_day_too(track: Track) -> None:
    assert trend_chart(track, [DAY], [{"gold": 1}]) == (
        '<p class="trend-note">One day of runs so far (2027-03-01): trends appear after runs '
        "on two different days.</p>"
    )
    assert one_day_note(DAY) in trend_chart(track, [DAY], [{"gold": 1}])
    assert trend_chart(track, [], []) == f'<p class="trend-note">{NO_HISTORY}</p>'


def test_catalog_text_is_escaped(track: Track) -> None:
    svg = trend_chart(track, _days(2), [{"gold": 1}, {"gold": 1}])
    assert "<script>" not in svg
    assert "Ops &lt;script&gt;alert(1)&lt;/script&gt;" in svg


def test_levels_no_longer_on_the_ladder_sit_above_none(track: Track) -> None:
    assert layer_order(track, [{"platinum": 1, "gold": 1}]) == [
        None,
        "platinum",
        "bronze",
        "silver",
        "gold",
    ]


def test_owners_rank_by_share_at_the_top_then_count_then_name() -> None:
    owners = [
        OwnerLevels("group:default/zeta", {"gold": 1, None: 1}, 2),  # 50%, 1
        OwnerLevels("group:default/alpha", {"gold": 2, "bronze": 2}, 4),  # 50%, 2
        OwnerLevels("group:default/Beta", {"gold": 1, "bronze": 1}, 2),  # 50%, 1
        OwnerLevels("group:default/top", {"gold": 1}, 1),  # 100%
        OwnerLevels("group:default/none", {"bronze": 5}, 5),  # 0%
        OwnerLevels(None, {"gold": 9}, 9),  # unowned: nobody's
    ]
    ranked = rank_owners(owners, "gold")
    assert [(s.rank, s.owner, s.at_top, s.entities) for s in ranked] == [
        (1, "group:default/top", 1, 1),
        (2, "group:default/alpha", 2, 4),
        (3, "group:default/Beta", 1, 2),
        (4, "group:default/zeta", 1, 2),
        (5, "group:default/none", 0, 5),
    ]
    assert ranked[1].share == 0.5
