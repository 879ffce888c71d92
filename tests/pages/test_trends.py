"""Trends and the leaderboard in Chromium: a served workspace whose store holds two runs
ten days apart (saved through the store, which takes a run's time from its report), the
overview's trend chart drawn from them with the stored counts, the leaderboard in order,
an owner's own trend and standing; a site whose runs were all today says so in words."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from scorecard.entity import Entity
from scorecard.report import Certification, RunReport
from scorecard.store import Store
from tests.builders import component
from tests.pages.conftest import Site, make_workspace
from tests.serving import ServedApp

TRACK = "basics"  # a bundled track: bronze, silver, gold
TODAY = datetime.now(UTC).date()
FIRST = TODAY - timedelta(days=10)

# Each owner's entities: the level 10 days back, then today.
LEVELS: dict[str, list[tuple[str | None, str | None]]] = {
    # 3 of 4 at gold today; none → bronze and silver → gold: two steps up.
    "team-a": [("gold", "gold"), ("gold", "gold"), ("silver", "gold"), (None, "bronze")],
    "team-b": [("gold", "gold"), ("bronze", "gold")],  # 2 of 2; two steps up
    "team-c": [(None, "gold")],  # 1 of 1; three steps up
    "team-d": [("bronze", "bronze"), ("bronze", "bronze"), ("bronze", None)],  # one down
}


def _owner(team: str) -> str:
    return f"group:default/{team}"


def _entities() -> list[tuple[Entity, str | None, str | None]]:
    return [
        (Entity(component(f"{team}-svc-{n}", owner=_owner(team))), before, after)
        for team, levels in LEVELS.items()
        for n, (before, after) in enumerate(levels)
    ]


def _save(store: Store, when: datetime, levels: list[tuple[Entity, str | None]]) -> None:
    """A run of the whole catalog, finished at `when`, that certified these levels."""
    report = RunReport.of(
        when,
        results=[],
        certifications=[Certification(e.ref, TRACK, level, None) for e, level in levels],
        finished_at=when,
        entities=[e for e, _ in levels],
    )
    store.save_run(store.start_run("test"), report, catalog_complete=True)


@dataclass
class TrendSite:
    url: str
    store: Store


@pytest.fixture(scope="module")
def trend_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrendSite]:
    workspace = make_workspace(tmp_path_factory.mktemp("trends"))
    entities = _entities()
    with Store(workspace.database) as store:
        _save(store, datetime.combine(FIRST, time(9), tzinfo=UTC), [(e, b) for e, b, _ in entities])
        _save(store, datetime.now(UTC), [(e, a) for e, _, a in entities])
    # A store with runs gets no run at start: the server shows these two.
    with ServedApp(workspace) as server:
        yield TrendSite(server.url, server.service.store)


def _columns(page: Page, chart: str) -> list[dict[str, Any]]:
    """Each day's column of a trend chart: its day, total and counts."""
    return page.locator(f"{chart} svg.trend rect.day").evaluate_all(
        """rects => rects.map(r => ({day: r.dataset.day, total: Number(r.dataset.total),
                                      counts: JSON.parse(r.dataset.counts),
                                      title: r.querySelector('title').textContent}))"""
    )


def _drawn_shares(page: Page, chart: str, level: str) -> list[float]:
    """The share of `level` on each day as drawn: the height of its layer over the
    height from the 0% line to the 100% line."""
    drawn = page.locator(f"{chart} svg.trend").evaluate(
        """(svg, level) => ({
            grid: [...svg.querySelectorAll('line.grid')].map(
                line => [line.nextElementSibling.textContent, Number(line.getAttribute('y1'))]),
            outline: svg.querySelector(`path.layer[data-level="${level}"]`).getAttribute('d'),
        })""",
        level,
    )
    grid = dict(drawn["grid"])
    ys = [float(point.split(",")[1]) for point in drawn["outline"].strip("MZ").split("L")]
    days = len(ys) // 2
    upper, lower = ys[:days], list(reversed(ys[days:]))
    height = grid["0%"] - grid["100%"]
    return [(low - up) / height for up, low in zip(upper, lower, strict=True)]


def _expected(which: int, owner: str | None = None) -> dict[str, int]:
    """The counts per level 10 days back (`which` 0) or today (1), as the chart names them."""
    counts: dict[str, int] = {}
    for team, levels in LEVELS.items():
        if owner is None or owner == team:
            for pair in levels:
                key = pair[which] or "none"
                counts[key] = counts.get(key, 0) + 1
    return counts


def test_the_overview_draws_the_trend_of_both_runs(
    trend_site: TrendSite, page: Page, screenshot: Callable[[Page, str], Path]
) -> None:
    page.goto(f"{trend_site.url}/")
    screenshot(page, "trends-overview")
    chart = f"#trend-{TRACK}"
    expect(page.locator(f"{chart} svg.trend")).to_be_visible()
    columns = _columns(page, chart)
    # Daily points from the first run's day to today, the first run's counts until today.
    assert [c["day"] for c in columns] == [
        (FIRST + timedelta(days=n)).isoformat() for n in range(11)
    ]
    assert all(c["counts"] == _expected(0) for c in columns[:-1])
    assert columns[-1]["counts"] == _expected(1)
    assert {c["total"] for c in columns} == {10}
    # Today's counts are the stored ones.
    stored = trend_site.store.track_rollup(TRACK).levels
    assert columns[-1]["counts"] == {(level or "none"): n for level, n in stored.items() if n}
    assert columns[-1]["title"] == (
        f"{TODAY.isoformat()}: gold 6 (60%), bronze 3 (30%), none 1 (10%) of 10 entities"
    )
    # The areas drawn are those shares.
    gold = _drawn_shares(page, chart, "gold")
    assert gold[0] == pytest.approx(0.3, abs=0.01) and gold[-1] == pytest.approx(0.6, abs=0.01)
    assert _drawn_shares(page, chart, "none")[-1] == pytest.approx(0.1, abs=0.01)
    # The legend: highest level first, none last, with today's shares.
    legend = page.locator(f"{chart} svg.trend text.legend-text").all_text_contents()
    assert legend == ["gold 60%", "silver 0%", "bronze 30%", "none 10%"]
    # Tracks with no history say so instead of drawing.
    expect(page.locator("#trend-security-hygiene .trend-note")).to_have_text(
        "No history yet: nothing has been evaluated on this track."
    )


def test_the_period_follows_days_and_a_bad_value_is_the_400_page(
    trend_site: TrendSite, page: Page, page_errors: Any
) -> None:
    page.goto(f"{trend_site.url}/?days=7")
    columns = _columns(page, f"#trend-{TRACK}")
    assert columns[0]["day"] == (TODAY - timedelta(days=7)).isoformat()
    assert len(columns) == 8
    expect(page.locator(".trend-days strong")).to_have_text("7 days")
    expect(page.locator("#leaderboard caption").nth(1)).to_have_text("Most improved in 7 days")
    page_errors.allow(r"400")
    for bad in ("3", "366", "week"):
        response = page.goto(f"{trend_site.url}/?days={bad}")
        assert response is not None and response.status == 400
        expect(page.locator("main")).to_contain_text("This address cannot be shown: days")


def test_the_leaderboard_ranks_owners(trend_site: TrendSite, page: Page) -> None:
    page.goto(f"{trend_site.url}/")
    board = page.locator(f"#leaderboard-{TRACK}")
    leaders = board.locator("table.leaders tbody tr")
    # By share at gold, then by how many are there, then by name.
    assert [row.locator("td").nth(1).inner_text() for row in leaders.all()] == [
        _owner("team-b"),  # 2 of 2
        _owner("team-c"),  # 1 of 1
        _owner("team-a"),  # 3 of 4
        _owner("team-d"),  # 0 of 3
    ]
    expect(leaders.first).to_contain_text("2 of 2")
    expect(leaders.nth(2)).to_contain_text("75%")
    improved = board.locator("table.improved tbody tr")
    # Net level steps up; team-a and team-b tie at two and go by name; team-d lost one.
    assert [row.locator("td").nth(0).inner_text() for row in improved.all()] == [
        _owner("team-c"),
        _owner("team-a"),
        _owner("team-b"),
    ]
    expect(improved.first.locator("td").nth(1)).to_have_text("+3")
    # An owner's name leads to its page.
    leaders.nth(2).get_by_role("link").click()
    expect(page).to_have_url(f"{trend_site.url}/owners/{_owner('team-a')}")


def test_the_owner_page_shows_its_own_trend_and_standing(
    trend_site: TrendSite, page: Page, screenshot: Callable[[Page, str], Path]
) -> None:
    page.goto(f"{trend_site.url}/owners/{_owner('team-a')}")
    screenshot(page, "trends-owner")
    chart = f"#trends #trend-{TRACK}"
    columns = _columns(page, chart)
    assert len(columns) == 11
    assert columns[0]["counts"] == _expected(0, "team-a") == {"gold": 2, "silver": 1, "none": 1}
    assert columns[-1]["counts"] == _expected(1, "team-a") == {"gold": 3, "bronze": 1}
    assert _drawn_shares(page, chart, "gold")[-1] == pytest.approx(0.75, abs=0.01)
    expect(page.locator(f"{chart} .standing")).to_contain_text("#3 of 4 owners")
    expect(page.locator(f"{chart} .standing")).to_contain_text("3 of 4 (75%)")
    # Tracks none of its entities was ever on are left out.
    expect(page.locator("#trends #trend-security-hygiene")).to_have_count(0)


def test_runs_on_one_day_only_say_so(site: Site, page: Page) -> None:
    """The shared site: two runs, both today."""
    page.goto(f"{site.url}/")
    note = page.locator(f"#trend-{site.change.track} .trend-note")
    expect(note).to_have_text(
        f"One day of runs so far ({TODAY.isoformat()}): "
        "trends appear after runs on two different days."
    )
    expect(page.locator("svg.trend")).to_have_count(0)
    # The leaderboard still ranks today's owners.
    expect(
        page.locator(f"#leaderboard-{site.change.track} table.leaders tbody tr").first
    ).to_be_visible()
    assert _columns(page, f"#trend-{site.change.track}") == []
