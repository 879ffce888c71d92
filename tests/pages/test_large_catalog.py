"""Pages over a catalog of 10,000 entities: every page is paginated and none ships the
catalog. Sizes are asserted (rows, bytes), not times; speed is the bench's business."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import yaml
from playwright.sync_api import Page, expect

from scorecard.workspace import Workspace
from tests.pages.conftest import TOKEN
from tests.serving import ServedApp

ENTITIES = 10_000
OWNERS = 40
PER_PAGE = 50
# A page of 50 rows is some tens of kilobytes; the catalog's 10,000 rows would be megabytes.
MAX_PAGE_BYTES = 200_000

TRACK = """\
apiVersion: scorecard/v1
kind: Track
id: basics-at-scale
title: Basics at scale
filter:
  kind: component
levels:
  - id: bronze
    checks: [has_description]
  - id: silver
    checks: [has_tags]
  - id: gold
    checks: [has_owner]
"""


def _catalog(count: int) -> Iterator[dict]:
    for number in range(OWNERS):
        yield {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Group",
            "metadata": {"name": f"team-{number:02d}"},
            "spec": {"type": "team", "children": []},
        }
    for number in range(count):
        metadata: dict = {"name": f"service-{number:05d}"}
        if number % 3:  # a third of them has no description: no level at all
            metadata["description"] = f"Service number {number}."
        if number % 5:  # a fifth has no tags: bronze at most
            metadata["tags"] = ["python"]
        spec = {
            "type": "service",
            "owner": f"group:default/team-{number % OWNERS:02d}",
            "lifecycle": "production",
        }
        yield {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": metadata,
            "spec": spec,
        }


@pytest.fixture(scope="module")
def large_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("large")
    (root / "catalog.yaml").write_text(
        yaml.safe_dump_all(_catalog(ENTITIES), sort_keys=False), encoding="utf-8"
    )
    (root / "tracks").mkdir()
    (root / "tracks" / "basics.yaml").write_text(TRACK)
    workspace = Workspace(
        catalog=[str(root / "catalog.yaml")],
        tracks=[root / "tracks"],
        checks=[],
        database=f"sqlite:///{root / 'scorecard.db'}",
        api_token=TOKEN,
        reload_interval=0,
    )
    server = ServedApp(workspace)
    server.start(timeout=180)
    try:
        yield server.url
    finally:
        server.stop()


def _body_size(page: Page, url: str) -> int:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    return len(response.body())


def test_a_track_of_10000_entities_is_shown_50_at_a_time(large_site: str, page: Page):
    url = f"{large_site}/tracks/basics-at-scale"
    assert _body_size(page, url) < MAX_PAGE_BYTES
    rows = page.locator("table.entities tbody tr")
    expect(rows).to_have_count(PER_PAGE)
    expect(page.locator(".pager")).to_contain_text(f"Entities 1–50 of {ENTITIES:,}")
    expect(page.locator(".pager")).to_contain_text(f"page 1 of {ENTITIES // PER_PAGE}")
    expect(rows.first).to_contain_text("service-00000")

    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(rows).to_have_count(PER_PAGE)
    expect(page.locator(".pager")).to_contain_text("Entities 51–100")
    expect(rows.first).to_contain_text("service-00050")

    # The level filter narrows the count the database reports, still 50 rows a page.
    page.get_by_label("Level").select_option("none")
    page.get_by_role("button", name="Filter").click()
    without_description = sum(1 for n in range(ENTITIES) if n % 3 == 0)
    expect(page.locator(".pager")).to_contain_text(f"of {without_description:,}")
    expect(rows).to_have_count(PER_PAGE)


def test_every_page_stays_small_with_10000_entities(large_site: str, page: Page):
    for path in ["/", "/tracks/basics-at-scale", "/owners/group:default/team-07", "/runs"]:
        size = _body_size(page, f"{large_site}{path}")
        assert size < MAX_PAGE_BYTES, f"{path}: {size:,} bytes"
    expect(page.locator("table.runs tbody tr")).to_have_count(1)

    page.goto(f"{large_site}/owners/group:default/team-07")
    expect(page.locator("table.entities tbody tr")).to_have_count(PER_PAGE)
    expect(page.locator("main .pager")).to_contain_text(f"of {ENTITIES // OWNERS:,}")

    page.goto(f"{large_site}/")
    without_description = sum(1 for n in range(ENTITIES) if n % 3 == 0)
    expect(page.locator(".bar").first).to_have_attribute(
        "aria-label", re.compile(rf"\bnone: {without_description}\b")
    )
    expect(page.locator("table.tracks td.num")).to_have_text(f"{ENTITIES:,}")


def test_the_last_page_is_reachable_and_one_past_it_is_empty(large_site: str, page: Page):
    pages = ENTITIES // PER_PAGE
    page.goto(f"{large_site}/tracks/basics-at-scale?page={pages}")
    expect(page.locator("table.entities tbody tr")).to_have_count(PER_PAGE)
    expect(page.get_by_role("link", name="Next →")).to_have_count(0)
    page.goto(f"{large_site}/tracks/basics-at-scale?page={pages + 1}")
    expect(page.locator("table.entities tbody tr")).to_have_count(1)
    expect(page.locator("table.entities tbody")).to_contain_text("No entity matches")
