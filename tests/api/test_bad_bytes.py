"""Text the database would refuse never reaches it, and catalog text with NUL is stored.

A NUL in a path, a query or a JSON body used to reach PostgreSQL, which refused it; the
server answered "the database is unavailable" (503) and logged the raw NUL. Now it is a
422 naming the parameter (a 400 page for a person), on every route, on both backends.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import TOKEN, RunningServer, Server, make_workspace
from tests.databases import BACKENDS, database

NUL_ENTITY = """---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: nul-bytes
  description: "before\\0after"
  annotations:
    "scorecard.example.com/key\\0": "value\\0"
spec:
  type: service
  lifecycle: production
  owner: "team\\0payments"
"""

# (path and query, the parameter the answer names): 13 API and badge addresses.
MACHINE_ADDRESSES = [
    ("/api/v1/entities?q=%00", "query.q"),
    ("/api/v1/entities?owner=group:default/a%00b", "query.owner"),
    ("/api/v1/entities?kind=%00&limit=5", "query.kind"),
    ("/api/v1/entities/component/default/a%00b", "path"),
    ("/api/v1/entities/component/default/a%00b/history", "path"),
    ("/api/v1/results?check=%00", "query.check"),
    ("/api/v1/results?entity=a%ED%A0%80", "query.entity"),
    ("/api/v1/tracks/basics%00", "path"),
    ("/api/v1/tracks/basics/rollup?x=%FF", "query.x"),
    ("/api/v1/owners/group/default/a%00/rollup", "path"),
    ("/api/v1/runs?limit=%00", "query.limit"),
    ("/badges/component/default/a%00b/basics.svg", "path"),
    ("/badges/component/default/ledger/basics.json?v=%00", "query.v"),
]
PAGE_ADDRESSES = [
    "/?q=%00",
    "/tracks/basics?owner=%00",
    "/catalog/component/default/a%00b",
    "/owners/group:default/a%00",
    "/runs?page=%ED%A0%80",
]
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    root: Path = tmp_path_factory.mktemp(f"bad-bytes-{request.param}")
    with database(request.param, root) as url:
        workspace = make_workspace(root, url)
        catalog = root / "catalog" / "catalog-info.yaml"
        catalog.write_text(catalog.read_text() + NUL_ENTITY)
        with RunningServer(workspace, root) as running:
            yield running


def test_nul_and_bad_utf8_in_paths_and_queries_are_422(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with server.client() as client:
        for address, where in MACHINE_ADDRESSES:
            response = client.get(address)
            assert response.status_code == 422, (address, response.status_code, response.text)
            detail = response.json()["detail"]
            assert detail.startswith(f"{where}: "), (address, detail)
            assert "NUL" in detail or "not UTF-8" in detail, (address, detail)
    _no_raw_control_characters(caplog)


def test_a_person_gets_the_bad_request_page(server: Server) -> None:
    with server.client() as client:
        for address in PAGE_ADDRESSES:
            response = client.get(address, headers={"Accept": "text/html"})
            assert response.status_code == 400, (address, response.status_code)
            assert "text/html" in response.headers["content-type"]
            assert "This address cannot be shown" in response.text, address


@pytest.mark.parametrize(
    "body",
    [
        {"entity": "component:default/a\x00b"},
        {"tracks": ["basics\x00"]},
        # json.dumps writes a lone surrogate as its escape (`\ud800`), as a client may.
        {"entity": "a\ud800"},
        {"tracks": ["\udfff"]},
    ],
)
def test_json_bodies_with_nul_or_lone_surrogates_are_422(server: Server, body: Any) -> None:
    with server.client(TOKEN) as client:
        response = client.post(
            "/api/v1/runs", content=json.dumps(body), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 422, response.text
    assert response.json()["errors"]


def test_catalog_text_with_nul_is_stored_with_a_replacement_character(server: Server) -> None:
    stored = server.service.store.entity("component:default/nul-bytes")
    assert stored is not None, "the entity with NUL in its text was not stored"
    assert stored.raw["metadata"]["description"] == "before\ufffdafter"
    assert stored.raw["metadata"]["annotations"] == {
        "scorecard.example.com/key\ufffd": "value\ufffd"
    }
    assert stored.owner == "group:default/team\ufffdpayments"
    with server.client() as client:
        card = client.get("/api/v1/entities/component/default/nul-bytes").json()
        runs = client.get("/api/v1/runs").json()["items"]
    assert card["description"] == "before\ufffdafter"
    assert [run["status"] for run in runs] == ["finished"]


def test_a_query_the_database_rejects_is_500_not_503(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, backend: str
) -> None:
    """Only a database that cannot be reached is 503 with Retry-After; a statement that
    fails (here: on a table that is gone) is a bug, 500 with a log line, and that line
    quotes the request with its control characters escaped."""
    with database(backend, tmp_path) as url:
        workspace = make_workspace(tmp_path, url)
        with RunningServer(workspace, tmp_path) as running, running.client() as client:
            with running.service.store.engine.begin() as connection:
                # The owner roll-up reads the kept counts, and the results behind them.
                connection.exec_driver_sql("DROP TABLE track_rollup")
                connection.exec_driver_sql("DROP VIEW result")
            caplog.set_level(logging.ERROR, logger="scorecard.api")
            response = client.get("/api/v1/owners/group/default/team%1b[31m%07/rollup")
            assert response.status_code == 500, response.text
            assert response.json() == {"detail": "internal error; the server log has the details"}
            assert "retry-after" not in response.headers
    lines = [r.getMessage() for r in caplog.records if r.name == "scorecard.api"]
    assert any("team\\x1b[31m\\x07/rollup" in line for line in lines), lines
    _no_raw_control_characters(caplog, allow_newlines=True)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def _no_raw_control_characters(
    caplog: pytest.LogCaptureFixture, allow_newlines: bool = False
) -> None:
    for record in caplog.records:
        message = record.getMessage()
        if allow_newlines:
            # A traceback's frames are lines of source; the request's text is escaped.
            message = message.replace("\n", "")
        assert not CONTROL.search(message), (record.name, message)
