"""A run's page: its facts, the catalog problems it met, the results that gave no answer
(linked to their entities and checks), and the levels it moved; capped however much the
run changed.

The `site` fixture's second run moves checkout-web from bronze to silver. A third run is
made here over a catalog with a broken file and a checkout-web whose SLO file no longer
parses, so that its SLO check crashes (error) where it failed before.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import Page, expect

from api.pages.run_page import split_problem
from scorecard.workspace import Workspace
from tests.pages.conftest import TOKEN, make_workspace
from tests.serving import ServedApp

TRACK = "production-readiness"
CHECKOUT = "component:default/checkout-web"
BROKEN_ENTITY = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  title: A component without a name
spec:
  type: service
"""
MAX_PAGE_BYTES = 200_000


def api(site: Any, path: str) -> Any:
    with site.client() as client:
        response = client.get(f"/api/v1{path}")
        response.raise_for_status()
        return response.json()


def entity_path(ref: str) -> str:
    kind, _, rest = ref.partition(":")
    return f"/catalog/{kind}/{rest}"


@dataclass(frozen=True)
class ThirdRun:
    id: int
    broken_file: Path


@pytest.fixture(scope="module")
def third_run(site: Any) -> ThirdRun:
    """A run over a catalog with a file that is not an entity, in which checkout-web's
    SLO check crashes on an SLO file that does not parse."""
    catalog = site.workspace_dir / "catalog"
    listing = catalog / "catalog-info.yaml"
    listing.write_text(
        listing.read_text().replace(
            "    - ./systems.yaml\n", "    - ./systems.yaml\n    - ./broken.yaml\n"
        )
    )
    (catalog / "broken.yaml").write_text(BROKEN_ENTITY)
    (catalog / "repos" / "checkout-web" / "slo.yaml").write_text("objectives: [unclosed\n")
    run_id = site.trigger_run()
    run = api(site, f"/runs/{run_id}")
    assert run["status"] == "finished", run
    assert any("broken.yaml" in problem for problem in run["problems"]), run["problems"]
    return ThirdRun(run_id, catalog / "broken.yaml")


def test_the_run_page_links_an_errored_check_to_its_entity_and_check(
    site, third_run: ThirdRun, page: Page, screenshot
):
    page.goto(f"{site.url}/runs/{third_run.id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Run {third_run.id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("finished")
    expect(page.locator(".crumbs")).to_have_text(f"Overview › Runs › Run {third_run.id}")

    section = page.locator("#unanswered")
    expect(section.get_by_role("heading", level=2)).to_contain_text("(1)")
    rows = section.locator("tbody tr")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row.locator("td").nth(3)).to_have_text("⚠ error")
    expect(row.locator("td").nth(4)).to_have_text("✗ fail")
    expect(row.locator("td").nth(5)).to_contain_text("Check slo_defined crashed")
    check = row.locator("td").nth(2).get_by_role("link")
    expect(check).to_have_attribute(
        "href", re.compile(rf"^/tracks/{TRACK}#check-[a-z]+-slo_defined$")
    )
    screenshot(page, "run-with-an-error")

    row.get_by_role("link", name=CHECKOUT).click()
    expect(page).to_have_url(f"{site.url}{entity_path(CHECKOUT)}")
    title = api(site, f"/entities/{entity_path(CHECKOUT).removeprefix('/catalog/')}")
    expect(page.get_by_role("heading", level=1)).to_have_text(title["entity"]["title"])

    page.go_back()
    page.locator("#unanswered tbody tr").first.locator("td").nth(2).get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/tracks/{TRACK}#check-[a-z]+-slo_defined$"))
    expect(page.locator("tr[id$='-slo_defined']")).to_be_visible()


def test_the_latest_run_shows_the_results_now_apart_from_its_own(
    site, third_run: ThirdRun, page: Page
):
    unanswered = [
        result
        for outcome in ("error", "unknown")
        for result in api(site, f"/results?outcome={outcome}&limit=500")["items"]
    ]
    assert any(r["entity"] == "component:default/fraud-scoring" for r in unanswered)
    page.goto(f"{site.url}/runs/{third_run.id}")
    now = page.locator("#now")
    expect(now.get_by_role("heading", level=3)).to_contain_text(f"({len(unanswered)})")
    rows = now.locator("table.now-results tbody tr")
    expect(rows).to_have_count(min(len(unanswered), 25))
    # Fraud-scoring's SLO check crashed in the first run, and still does: shown now, and
    # said to be from that run, not from this one.
    fraud = rows.filter(has=page.get_by_role("link", name="component:default/fraud-scoring"))
    expect(fraud.locator("td").nth(3)).to_have_text("⚠ error")
    expect(fraud.locator("td").nth(4)).to_have_text(f"Run {site.runs[0]}")
    # An earlier run's page shows none of it, and points at the latest run's.
    page.goto(f"{site.url}/runs/{site.runs[1]}")
    expect(page.locator("#now")).to_have_count(0)
    expect(page.locator("#unanswered")).to_contain_text("None: no result became error or unknown")
    page.get_by_role("link", name=f"Run {third_run.id}").click()
    expect(page).to_have_url(f"{site.url}/runs/{third_run.id}")


def test_the_run_page_lists_the_catalog_problems_with_file_and_reason(
    site, third_run: ThirdRun, page: Page, screenshot
):
    [problem] = api(site, f"/runs/{third_run.id}")["problems"]
    split = split_problem(problem)
    assert split.where.startswith(str(third_run.broken_file)), split
    assert "not a valid entity" in split.reason, split
    page.goto(f"{site.url}/runs/{third_run.id}")
    section = page.locator("#problems")
    expect(section.get_by_role("heading", level=2)).to_have_text("Catalog problems (1)")
    rows = section.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td").nth(0)).to_have_text(split.where)
    expect(rows.first.locator("td").nth(1)).to_have_text(split.reason)
    screenshot(page, "run-with-a-catalog-problem")
    # The runs before had none.
    page.goto(f"{site.url}/runs/{site.runs[1]}")
    expect(page.locator("#problems")).to_contain_text("No catalog problem")


def test_the_run_page_shows_the_levels_it_moved(site, page: Page, screenshot):
    change = site.change
    page.goto(f"{site.url}/runs/{site.runs[1]}")
    section = page.locator("#levels")
    expect(section.get_by_role("heading", level=2)).to_have_text("Levels this run changed (1)")
    [move] = section.locator("table.level-moves tbody tr").all()
    expect(move.locator("td")).to_have_text(
        ["Production readiness", change.before, change.after, "1"]
    )
    [row] = section.locator("table.level-changes tbody tr").all()
    expect(row.locator("td")).to_have_text(
        [change.entity, "Production readiness", change.before, f"→ {change.after}"]
    )
    screenshot(page, "run-with-a-level-change")
    row.get_by_role("link", name=change.entity).click()
    expect(page).to_have_url(f"{site.url}{entity_path(change.entity)}")

    # The first run gave checkout-web its first level: recorded once the second moved it,
    # and called what it is, not a move from no level.
    page.goto(f"{site.url}/runs/{site.runs[0]}")
    [move] = page.locator("#levels table.level-moves tbody tr").all()
    expect(move.locator("td")).to_have_text(
        ["Production readiness", "first recorded", change.before, "1"]
    )


def test_the_runs_list_links_each_run_to_its_page(site, page: Page):
    page.goto(f"{site.url}/runs")
    runs = api(site, "/runs")["items"]
    rows = page.locator("table.runs tbody tr")
    expect(rows).to_have_count(len(runs))
    for index, run in enumerate(runs):
        expect(rows.nth(index).get_by_role("link", name=f"#{run['id']}")).to_have_attribute(
            "href", f"/runs/{run['id']}"
        )
    oldest = runs[-1]
    rows.last.get_by_role("link", name=f"#{oldest['id']}").click()
    expect(page).to_have_url(f"{site.url}/runs/{oldest['id']}")
    facts = page.locator(".run-facts")
    expect(facts).to_contain_text(f"{oldest['results']:,} results")
    expect(facts).to_contain_text(oldest["trigger"])
    page.locator(".crumbs").get_by_role("link", name="Runs").click()
    expect(page).to_have_url(f"{site.url}/runs")


def test_an_unknown_run_is_the_friendly_404_page(site, page: Page, page_errors):
    page_errors.allow("404")
    page_errors.allow("400")
    response = page.goto(f"{site.url}/runs/999999")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.locator("main")).to_contain_text("There is no run 999999.")
    response = page.goto(f"{site.url}/runs/not-a-number")
    assert response is not None and response.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("Bad request")


def test_a_private_server_sends_a_visitor_to_sign_in_first(tmp_path: Path):
    workspace = dataclasses.replace(make_workspace(tmp_path), public_reads=False)
    with ServedApp(workspace) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        run_id = server.service.store.latest_run().id
        response = client.get(f"/runs/{run_id}")
        assert response.status_code == 303
        assert response.headers["location"] == f"/signin?next=/runs/{run_id}"
        signed_in = client.post("/signin", data={"token": TOKEN, "next": f"/runs/{run_id}"})
        assert signed_in.status_code == 303
        response = client.get(f"/runs/{run_id}")
        assert response.status_code == 200
        assert f"Run {run_id}" in response.text


# --- a run that changed thousands of results ---------------------------------------------

ENTITIES = 3_000
BROKEN_DOCUMENTS = 200
FLAKY_CHECKS = '''
from pathlib import Path

from scorecard import Result, check

# While this file exists, both checks crash: a second run turns every result into an error.
BROKEN = Path(__file__).with_name("broken-now")


def _answer(entity):
    if BROKEN.exists():
        raise RuntimeError("the service this check asks is down; " + "it said so at length " * 100)
    return Result.passed(f"{entity.ref} answered.")


@check(id="answers", title="Answers", remediation="Make it answer.")
def answers(entity):
    """Passes unless the service is down."""
    return _answer(entity)


@check(id="answers_again", title="Answers again", remediation="Make it answer again.")
def answers_again(entity):
    """Passes unless the service is down."""
    return _answer(entity)
'''
FLAKY_TRACK = """\
apiVersion: scorecard/v1
kind: Track
id: flaky
title: Flaky
filter:
  kind: component
levels:
  - id: bronze
    checks: [answers]
  - id: silver
    checks: [answers_again]
"""


def _busy_catalog() -> Iterator[dict]:
    for number in range(ENTITIES):
        yield {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": f"service-{number:05d}"},
            "spec": {"type": "service", "owner": "group:default/team", "lifecycle": "production"},
        }
    for number in range(BROKEN_DOCUMENTS):
        # Not entities: each one a catalog problem with a long reason.
        yield {"kind": "Component", "metadata": {"title": f"broken {number} " + "long " * 200}}


@pytest.fixture(scope="module")
def busy_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, int]]:
    """A server whose second run turned all 6,000 results into errors and moved all 3,000
    entities from silver to no level; the URL and the two runs' ids."""
    root = tmp_path_factory.mktemp("busy")
    (root / "catalog.yaml").write_text(
        yaml.safe_dump_all(_busy_catalog(), sort_keys=False), encoding="utf-8"
    )
    (root / "tracks").mkdir()
    (root / "tracks" / "flaky.yaml").write_text(FLAKY_TRACK)
    (root / "checks").mkdir()
    (root / "checks" / "flaky.py").write_text(FLAKY_CHECKS)
    workspace = Workspace(
        catalog=[str(root / "catalog.yaml")],
        tracks=[root / "tracks"],
        checks=[root / "checks"],
        database=f"sqlite:///{root / 'scorecard.db'}",
        api_token=TOKEN,
        reload_interval=0,
    )
    with ServedApp(workspace) as server:
        first = server.service.store.latest_run().id
        (root / "checks" / "broken-now").write_text("")
        second = server.service.runs.trigger(trigger="api", wait=True).run_id
        yield server.url, first, second


def _get(url: str) -> httpx.Response:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text[:500]
    return response


def test_a_run_that_changed_thousands_of_results_shows_50_of_each_and_the_totals(busy_site):
    url, _, second = busy_site
    results = ENTITIES * 2
    response = _get(f"{url}/runs/{second}")
    assert len(response.content) < MAX_PAGE_BYTES, f"{len(response.content):,} bytes"
    html = response.text
    assert f'Errors and unknown results of this run <span class="muted">({results:,})' in html
    assert f"Results 1–50 of {results:,}" in html
    assert f'Levels this run changed <span class="muted">({ENTITIES:,})' in html
    assert f"Level changes 1–50 of {ENTITIES:,}" in html
    assert f'Catalog problems <span class="muted">({BROKEN_DOCUMENTS:,})' in html
    assert f"The first 50 of {BROKEN_DOCUMENTS:,} are shown" in html
    section = html[html.index('id="unanswered"') : html.index('id="now"')]
    assert section.count('<tr class="row-error">') == 50
    levels = html[html.index('id="levels"') :]
    assert levels.count("<tr>") - levels.count("<thead><tr>") == 1 + 50  # one move, 50 rows
    # Long messages are cut: no row carries the whole of one.
    assert "it said so at length " * 20 not in html

    # The last page of each list holds the rest.
    pages = results // 50
    last = _get(f"{url}/runs/{second}?errors_page={pages}&levels_page={ENTITIES // 50}").text
    assert f"Results {results - 49}–{results} of {results:,}" in last
    assert f"Level changes {ENTITIES - 49}–{ENTITIES} of {ENTITIES:,}" in last
    assert len(last.encode()) < MAX_PAGE_BYTES


def test_the_first_run_counts_what_it_saw_first_once_a_later_run_changed_it(busy_site):
    url, first, _ = busy_site
    response = _get(f"{url}/runs/{first}")
    assert len(response.content) < MAX_PAGE_BYTES
    html = response.text
    # Every pass it stored was changed by the second run: its first observations count
    # here, each marked first recorded; none of them gave no answer.
    assert f"of which {ENTITIES * 2:,} first seen in this run" in html
    assert "None: no result became error or unknown in this run." in html
    assert f"Level changes 1–50 of {ENTITIES:,}" in html
