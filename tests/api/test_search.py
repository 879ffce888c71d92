"""`GET /api/v1/search` and the `/search` page over a served app, on SQLite and PostgreSQL:
blank and very long queries, SQL wildcards as letters, NUL, gone entities, owners found
by name or title (one the catalog does not hold too), every word matching; and the index
pages' answers to bad addresses."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from scorecard.workspace import Workspace, bundled_tracks
from tests.databases import BACKENDS, database
from tests.serving import ServedApp

TOKEN = "search-test-token-0123456789abcdef"
LONG_TITLE = "reconciliation-" * 8  # one word of 120 characters: its term keeps 64

ENTITIES = [
    ("Group", "team-a", {"title": "Checkout Squad"}, {"type": "team", "children": []}),
    ("Component", "pay_ments", {"title": "Payments ledger"}, {"owner": "group:default/team-a"}),
    ("Component", "payments", {"title": "100% uptime service"}, {"owner": "group:default/team-a"}),
    ("Component", "payroll-api", {}, {"owner": "group:default/ghost-team"}),
    ("Component", "settlement", {"title": LONG_TITLE}, {"owner": "group:default/ghost-team"}),
    ("Component", "soon-gone", {"title": "Leaving soon"}, {"owner": "group:default/team-a"}),
]
DRAFT_TRACK = """apiVersion: scorecard/v1
kind: Track
id: basics-next
title: Basics, next year
description: What basics will ask for next year.
draft: true
filter: {kind: Component}
levels:
  - id: bronze
    checks: [has_owner]
"""


def _catalog(without: str | None = None) -> str:
    documents = []
    for kind, name, metadata, spec in ENTITIES:
        if name == without:
            continue
        if kind == "Component":
            spec = {"type": "service", "lifecycle": "production", **spec}
        documents.append(
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": kind,
                "metadata": {"name": name, "description": f"{name}.", **metadata},
                "spec": spec,
            }
        )
    return yaml.safe_dump_all(documents, sort_keys=False)


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, list[str]]]:
    """A server whose second run no longer lists soon-gone; the refs a search for
    "leaving" found before that run."""
    root: Path = tmp_path_factory.mktemp(f"search-{request.param}")
    catalog = root / "catalog.yaml"
    catalog.write_text(_catalog(), encoding="utf-8")
    (root / "tracks").mkdir()
    shutil.copy(bundled_tracks() / "basics.yaml", root / "tracks" / "basics.yaml")
    (root / "tracks" / "basics-next.yaml").write_text(DRAFT_TRACK)
    with database(request.param, root) as url:
        workspace = Workspace(
            catalog=[str(catalog)],
            tracks=[root / "tracks"],
            checks=[],
            database=url,
            api_token=TOKEN,
            reload_interval=0,
        )
        server = ServedApp(workspace)
        server.start()
        try:
            with httpx.Client(base_url=server.url, timeout=10) as client:
                before = [
                    e["ref"] for e in client.get("/api/v1/search?q=leaving").json()["entities"]
                ]
            catalog.write_text(_catalog(without="soon-gone"), encoding="utf-8")
            server.service.runs.trigger(trigger="api", wait=True)
            yield server.url, before
        finally:
            server.stop()


@pytest.fixture
def client(served: tuple[str, list[str]]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served[0], timeout=10) as opened:
        yield opened


def _search(client: httpx.Client, query: str) -> dict[str, Any]:
    response = client.get("/api/v1/search", params={"q": query})
    assert response.status_code == 200, response.text
    return response.json()


def _refs(answer: dict[str, Any]) -> list[str]:
    return [entity["ref"].rpartition("/")[2] for entity in answer["entities"]]


def _page(client: httpx.Client, path: str, **params: str) -> httpx.Response:
    return client.get(path, params=params, headers={"Accept": "text/html"})


@pytest.mark.parametrize("query", ["", "   ", '""', "\t\n"])
def test_a_blank_query_finds_nothing_and_the_page_says_what_to_type(
    client: httpx.Client, query: str
) -> None:
    answer = _search(client, query)
    assert (answer["words"], answer["entities"], answer["owners"]) == ([], [], [])
    assert (answer["total"], answer["more"], answer["owners_total"]) == (0, False, 0)
    page = _page(client, "/search", q=query)
    assert page.status_code == 200
    assert "Type the start of a word" in page.text
    assert "search-results" not in page.text


def test_a_query_of_10000_characters_is_refused_and_a_long_one_is_read_by_its_start(
    client: httpx.Client,
) -> None:
    huge = "payments " * 1_111 + "x"
    assert len(huge) == 10_000
    refused = client.get("/api/v1/search", params={"q": huge})
    assert refused.status_code == 422 and "query.q" in refused.json()["detail"]
    page = _page(client, "/search", q=huge)
    assert page.status_code == 400 and "Bad request" in page.text

    # The whole of a 120-character title: its first 64 characters, as its term keeps.
    assert _refs(_search(client, LONG_TITLE)) == ["settlement"]
    assert _refs(_search(client, "x" * 2_000)) == []
    # Words after the eighth are not searched, and the answer says which.
    words = " ".join(f"w{n}" for n in range(20))
    answer = _search(client, f"payments {words}")
    assert answer["words"] == ["payments", *(f"w{n}" for n in range(7))]
    assert answer["ignored"] == [f"w{n}" for n in range(7, 20)]
    page = _page(client, "/search", q=f"payments {words}")
    assert page.status_code == 200 and "Only the first 8 words were searched" in page.text


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("%", []),
        ("_", []),
        ("10%", []),  # LIKE '10%%' would find the "100% uptime service"
        ("100%", ["payments"]),
        ("pay_", ["pay_ments"]),  # LIKE 'pay_%' would find every "pay…"
        ("PAY_MENTS", ["pay_ments"]),
        ("pay%", []),
    ],
)
def test_sql_wildcards_are_letters_like_any_other(
    client: httpx.Client, query: str, found: list[str]
) -> None:
    answer = _search(client, query)
    assert _refs(answer) == found
    assert answer["total"] == len(found) and answer["owners"] == []


def test_nul_is_refused(client: httpx.Client) -> None:
    assert client.get("/api/v1/search?q=pay%00").status_code == 422
    page = client.get("/search?q=pay%00", headers={"Accept": "text/html"})
    assert page.status_code == 400 and "NUL" in page.text


def test_gone_entities_are_not_found(client: httpx.Client, served: tuple[str, list[str]]) -> None:
    assert served[1] == ["component:default/soon-gone"]  # found while listed
    assert _search(client, "leaving")["entities"] == []
    assert _search(client, "soon-gone")["total"] == 0
    team = _search(client, "squad")["owners"][0]
    assert "component:default/soon-gone" not in [e["ref"] for e in team["first_entities"]]
    assert team["entities"] == 2


def test_every_word_must_match_whatever_its_case(client: httpx.Client) -> None:
    assert _refs(_search(client, "PAYMENTS")) == ["payments", "pay_ments"]  # its name first
    assert _refs(_search(client, "payments ledger")) == ["pay_ments"]
    assert _refs(_search(client, "Uptime PAY")) == ["payments"]
    assert _refs(_search(client, "payroll ledger")) == []
    answer = _search(client, "pay")
    assert _refs(answer) == ["pay_ments", "payments", "payroll-api"]
    # Each with its levels, as the entity list gives them.
    listed = client.get("/api/v1/entities", params={"kind": "component"}).json()["items"]
    levels = {e["ref"]: e["levels"] for e in listed}
    assert all(e["levels"] == levels[e["ref"]] for e in answer["entities"])
    assert "basics" in answer["entities"][0]["levels"]


def test_owners_are_found_by_name_and_title_even_outside_the_catalog(
    client: httpx.Client,
) -> None:
    ghost = _search(client, "ghost")
    assert ghost["entities"] == []
    assert [(o["owner"], o["title"], o["entities"]) for o in ghost["owners"]] == [
        ("group:default/ghost-team", None, 2)
    ]
    assert [e["ref"] for e in ghost["owners"][0]["first_entities"]] == [
        "component:default/payroll-api",
        "component:default/settlement",
    ]
    squad = _search(client, "checkout squad")
    assert [(o["owner"], o["title"]) for o in squad["owners"]] == [
        ("group:default/team-a", "Checkout Squad")
    ]
    assert _refs(squad) == ["team-a"]  # the group itself, by its title
    page = _page(client, "/search", q="ghost")
    assert page.status_code == 200
    assert 'href="/owners/group:default/ghost-team"' in page.text
    assert 'href="/catalog/component/default/payroll-api"' in page.text


def test_catalog_text_cannot_put_markup_on_the_search_page(client: httpx.Client) -> None:
    page = _page(client, "/search", q='<script>alert(1)</script> "x')
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_the_tracks_page_marks_a_draft_and_owners_a_bad_sort_is_400(
    client: httpx.Client,
) -> None:
    tracks = _page(client, "/tracks")
    assert tracks.status_code == 200
    draft = re.search(r'id="track-basics-next".*?</section>', tracks.text, re.S)
    published = re.search(r'id="track-basics".*?</section>', tracks.text, re.S)
    assert draft is not None and "tag draft" in draft.group(0)
    assert published is not None and "tag draft" not in published.group(0)
    assert tracks.text.index('id="track-basics"') < tracks.text.index('id="track-basics-next"')
    owners = _page(client, "/owners", sort="basics-next")
    assert owners.status_code == 200 and "ghost-team" in owners.text
    bad = _page(client, "/owners", sort="nope")
    assert bad.status_code == 400 and "sort: must be one of name, basics" in bad.text
    assert _page(client, "/catalog", page="0").status_code == 400
    assert _page(client, "/search", q="x" * 2_001).status_code == 400


def test_an_unknown_filter_lists_nothing_as_the_api_does(client: httpx.Client) -> None:
    api = client.get("/api/v1/entities", params={"track": "nope"}).json()
    page = _page(client, "/catalog", track="nope")
    assert api["total"] == 0
    assert page.status_code == 200 and "No entity matches these filters." in page.text


def test_search_needs_a_reader_when_reads_are_private(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(_catalog(), encoding="utf-8")
    (tmp_path / "tracks").mkdir()
    shutil.copy(bundled_tracks() / "basics.yaml", tmp_path / "tracks" / "basics.yaml")
    workspace = Workspace(
        catalog=[str(catalog)],
        tracks=[tmp_path / "tracks"],
        checks=[],
        database=f"sqlite:///{tmp_path / 'scorecard.db'}",
        api_token=TOKEN,
        reload_interval=0,
        public_reads=False,
    )
    server = ServedApp(workspace)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as anonymous:
            assert anonymous.get("/api/v1/search?q=pay").status_code == 401
            for path in ("/search?q=pay", "/catalog", "/owners", "/tracks"):
                response = anonymous.get(path, headers={"Accept": "text/html"})
                assert response.status_code == 303, path
                assert response.headers["location"].startswith("/signin?next="), path
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=server.url, timeout=10, headers=headers) as reader:
            answer = reader.get("/api/v1/search?q=pay").json()
            assert _refs(answer) == ["pay_ments", "payments", "payroll-api"]
    finally:
        server.stop()
