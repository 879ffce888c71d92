"""Finding one's way in Chromium: the search box in every page's header, the catalog,
owners and tracks index pages, and breadcrumbs that lead back to them. What the pages
list is compared with what the JSON API answers for the same question."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from tests.pages.conftest import Site

# Filters of the catalog page, as `GET /api/v1/entities` takes them.
FILTERS = [
    {},
    {"kind": "component"},
    {"kind": "API"},
    {"owner": "group:default/payments"},
    {"owner": "GROUP:default/Payments"},
    {"track": "production-readiness"},
    {"level": "none"},
    {"track": "basics", "level": "gold"},
    {"kind": "component", "track": "security-hygiene", "level": "bronze"},
    {"owner": "group:default/treasury", "track": "basics"},
]


def _search_from_header(page: Page, site: Site, start: str, query: str) -> None:
    page.goto(f"{site.url}{start}")
    box = page.get_by_role("search").get_by_label("Search the catalog")
    box.fill(query)
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q="))


def _result_refs(page: Page) -> list[str]:
    return page.locator("table.search-results tbody tr td:first-child .muted").all_inner_texts()


def test_a_word_inside_a_hyphenated_name_finds_the_entity_and_opens_it(site: Site, page: Page):
    _search_from_header(page, site, "/tracks/basics", "scoring")
    assert _result_refs(page) == ["component:default/fraud-scoring"]
    expect(page.locator(".result-count")).to_contain_text("1 entity matches")
    page.locator("table.search-results").get_by_role("link", name="fraud-scoring").click()
    expect(page).to_have_url(f"{site.url}/catalog/component/default/fraud-scoring")
    expect(page.get_by_role("heading", level=1)).to_have_text("fraud-scoring")


def test_the_start_of_a_name_finds_every_entity_it_starts(site: Site, page: Page):
    _search_from_header(page, site, "/", "PAYM")
    refs = _result_refs(page)
    assert "component:default/payments-gateway" in refs
    assert "api:default/payments-api" in refs
    assert "group:default/payments" in refs
    assert "component:default/checkout-web" not in refs
    # Every word must match: the gateway, not the API.
    _search_from_header(page, site, "/runs", "paym gate")
    assert _result_refs(page) == ["component:default/payments-gateway"]
    page.locator("table.search-results").get_by_role("link", name="Payments gateway").click()
    expect(page).to_have_url(f"{site.url}/catalog/component/default/payments-gateway")


def test_an_owner_is_found_with_its_entities(site: Site, page: Page):
    _search_from_header(page, site, "/catalog", "storefront")
    owners = page.locator("#owners")
    expect(owners.get_by_role("heading", name=re.compile("Storefront"))).to_be_visible()
    owners.get_by_role("link", name="Checkout web").click()
    expect(page).to_have_url(f"{site.url}/catalog/component/default/checkout-web")

    # An owner the catalog does not hold (no Group entity) is found by its name.
    _search_from_header(page, site, "/owners", "treas")
    owners = page.locator("#owners")
    expect(owners.get_by_role("link", name="fx-quotes")).to_be_visible()
    expect(page.locator("#entities")).to_contain_text("No entity's name or title")
    owners.get_by_role("link", name="group:default/treasury").click()
    expect(page).to_have_url(f"{site.url}/owners/group:default/treasury")
    expect(page.locator("main")).to_contain_text("fx-quotes")


def test_the_search_box_shows_what_was_searched_and_nothing_found_says_so(site: Site, page: Page):
    _search_from_header(page, site, "/", "zzz-nothing-here")
    expect(page.get_by_role("search").get_by_label("Search the catalog")).to_have_value(
        "zzz-nothing-here"
    )
    expect(page.locator("#entities")).to_contain_text("Nothing found for “zzz-nothing-here”")
    expect(page.locator("table.search-results")).to_have_count(0)


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: urlencode(f) or "none")
def test_the_catalog_lists_what_the_api_lists_for_the_same_filters(
    site: Site, page: Page, filters: dict[str, str]
):
    with site.client() as client:
        answer = client.get("/api/v1/entities", params={**filters, "limit": 500}).json()
    expected = [item["ref"] for item in answer["items"]]
    page.goto(f"{site.url}/catalog?{urlencode(filters)}")
    refs = page.locator("table.catalog tbody tr td:first-child .muted").all_inner_texts()
    assert refs == expected
    expect(page.locator(".pager")).to_contain_text(f"of {answer['total']}")
    csv = page.get_by_role("link", name="Download CSV")
    expected_csv = "/exports/catalog.csv" + (f"?{urlencode(filters)}" if filters else "")
    expect(csv).to_have_attribute("href", expected_csv)


def test_the_catalog_filter_menus_filter_and_show_levels(site: Site, page: Page):
    page.goto(f"{site.url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()
    expect(page).to_have_url(f"{site.url}/catalog")
    page.get_by_label("Kind").select_option("component")
    page.get_by_label("Track").select_option("production-readiness")
    page.get_by_label("Level").select_option(site.change.after or "none")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"kind=component.*track=production-readiness"))
    row = page.locator("table.catalog tbody tr", has_text="checkout-web")
    expect(row).to_have_count(1)
    # The level on each track, in the track's column.
    headers = page.locator("table.catalog thead th").all_inner_texts()
    column = headers.index("Production readiness")
    expect(row.locator("td").nth(column)).to_have_text(site.change.after or "none")
    page.get_by_role("link", name="Clear").click()
    expect(page).to_have_url(f"{site.url}/catalog")


def test_owners_lists_what_the_owners_roll_up_gives(site: Site, page: Page):
    with site.client() as client:
        tracks = [t["id"] for t in client.get("/api/v1/tracks").json()]
        expected: dict[str, dict[str, int]] = {}
        for track in tracks:
            for row in client.get(f"/api/v1/tracks/{track}/owners").json():
                if row["owner"] is not None:
                    expected.setdefault(row["owner"], {})[track] = row["entities"]
    page.goto(f"{site.url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Owners").click()
    rows = page.locator("table.owners tbody tr")
    shown: dict[str, dict[str, int]] = {}
    for n in range(rows.count()):
        row = rows.nth(n)
        ref = row.locator("th .muted").inner_text()
        counts = {}
        for cell in row.locator("td[data-track]").all():
            text = cell.inner_text().strip()
            if text != "—":
                counts[cell.get_attribute("data-track")] = int(text.split()[0].replace(",", ""))
        shown[ref] = counts
    assert shown == expected
    # Sorted by name (what the catalog calls each owner), and the other way round.
    names = rows.locator("th a").all_inner_texts()
    assert names == sorted(names, key=str.lower)
    page.locator("table.owners thead").get_by_role("link", name=re.compile("^Owner")).click()
    expect(rows.first.locator("th a")).to_have_text(sorted(names, key=str.lower)[-1])
    # The catalog's title, and the owner's page.
    rows.get_by_role("link", name="Payments", exact=True).click()
    expect(page).to_have_url(f"{site.url}/owners/group:default/payments")


def test_tracks_lists_every_track_with_its_entities(site: Site, page: Page):
    with site.client() as client:
        tracks = client.get("/api/v1/tracks").json()
        evaluated = {
            t["id"]: sum(client.get(f"/api/v1/tracks/{t['id']}/rollup").json()["levels"].values())
            for t in tracks
        }
    page.goto(f"{site.url}/catalog")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tracks").click()
    expect(page).to_have_url(f"{site.url}/tracks")
    sections = page.locator("section.track-index")
    expect(sections).to_have_count(len(tracks))
    for track in tracks:
        section = page.locator(f"#track-{track['id']}")
        expect(section.get_by_role("heading", level=2)).to_contain_text(track["title"])
        expect(section.locator(".evaluated")).to_have_text(
            f"{evaluated[track['id']]} entities evaluated"
        )
        expect(section.locator(".bar")).to_have_count(1)
    page.locator(f"#track-{tracks[0]['id']}").get_by_role("link", name=tracks[0]["title"]).click()
    expect(page).to_have_url(f"{site.url}/tracks/{tracks[0]['id']}")


def test_breadcrumbs_lead_back_to_the_index_pages(site: Site, page: Page):
    page.goto(f"{site.url}/catalog/component/default/checkout-web")
    crumbs = page.locator(".crumbs")
    expect(crumbs).to_have_text("Catalog › component › checkout-web")
    crumbs.get_by_role("link", name="component").click()
    expect(page).to_have_url(f"{site.url}/catalog?kind=component")
    expect(page.locator("table.catalog tbody")).to_contain_text("checkout-web")
    expect(page.locator("table.catalog tbody")).not_to_contain_text("api:default/payments-api")

    page.goto(f"{site.url}/catalog/component/default/checkout-web")
    page.locator(".crumbs").get_by_role("link", name="Catalog").click()
    expect(page).to_have_url(f"{site.url}/catalog")

    page.goto(f"{site.url}/tracks/production-readiness")
    expect(page.locator(".crumbs")).to_have_text("Tracks › Production readiness")
    page.locator(".crumbs").get_by_role("link", name="Tracks").click()
    expect(page).to_have_url(f"{site.url}/tracks")

    page.goto(f"{site.url}/owners/group:default/storefront")
    expect(page.locator(".crumbs")).to_have_text("Owners › Storefront")
    page.locator(".crumbs").get_by_role("link", name="Owners").click()
    expect(page).to_have_url(f"{site.url}/owners")


@pytest.mark.parametrize("path", ["/", "/catalog", "/owners", "/tracks", "/search?q=pay", "/runs"])
def test_every_page_has_the_search_box_and_the_index_links(site: Site, page: Page, path: str):
    page.goto(f"{site.url}{path}")
    nav = page.get_by_role("navigation", name="Main")
    for name, href in [("Catalog", "/catalog"), ("Owners", "/owners"), ("Tracks", "/tracks")]:
        expect(nav.get_by_role("link", name=name, exact=True)).to_have_attribute("href", href)
    form = page.get_by_role("search").first
    expect(form).to_have_attribute("action", "/search")
    expect(form.get_by_label("Search the catalog")).to_be_visible()
