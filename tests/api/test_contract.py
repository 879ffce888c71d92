"""The OpenAPI document says what the server does (finding 9 of the hardening issue).

Each test sends a request the document used to get wrong and checks the answer against
the document the same server serves.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import TOKEN, RunningServer, Server, make_workspace


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("contract")
    with RunningServer(make_workspace(root, f"sqlite:///{root / 'db.sqlite'}"), root) as server:
        with server.client() as client:
            document = client.get("/api/v1/openapi.json").json()
        yield server, document


def _schema(document: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    """The JSON schema of an answer, with its `$ref` followed."""
    response = document["paths"][path][method]["responses"][status]
    schema = response["content"]["application/json"]["schema"]
    if "$ref" in schema:
        return document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_a_validation_error_is_documented_as_sent(served: tuple[Server, dict]) -> None:
    server, document = served
    with server.client() as client:
        body = client.get("/api/v1/entities", params={"limit": 0}).json()
    schema = _schema(document, "/api/v1/entities", "get", "422")
    assert schema["properties"]["detail"]["type"] == "string"
    errors = schema["properties"]["errors"]
    assert (errors["type"], errors["items"]) == ("array", {"type": "string"})
    assert set(body) == {"detail", "errors"} and body["errors"] == [body["detail"]]
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_a_body_that_is_not_utf8_is_a_documented_400(served: tuple[Server, dict]) -> None:
    server, document = served
    with server.client(TOKEN) as client:
        response = client.post(
            "/api/v1/runs",
            content=b'{"entity": "\xff"}',
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 400, response.text
    assert isinstance(response.json()["detail"], str)
    assert set(_schema(document, "/api/v1/runs", "post", "400")["properties"]) == {"detail"}


def test_an_empty_entity_is_refused_by_the_schema_too(served: tuple[Server, dict]) -> None:
    server, document = served
    with server.client(TOKEN) as client:
        response = client.post("/api/v1/runs", json={"entity": ""})
        typo = client.post("/api/v1/runs", json={"track": ["basics"]})
        no_tracks = client.post("/api/v1/runs", json={"tracks": []})
    assert response.status_code == 422 and "entity" in response.json()["detail"]
    assert typo.status_code == 422 and "track" in typo.json()["detail"]
    assert no_tracks.status_code == 422
    request = document["components"]["schemas"]["RunRequest"]
    entity = next(s for s in request["properties"]["entity"]["anyOf"] if s.get("type") == "string")
    assert entity["minLength"] == 1 and entity["pattern"]
    assert request["additionalProperties"] is False
    tracks = next(s for s in request["properties"]["tracks"]["anyOf"] if s.get("type") == "array")
    assert tracks["minItems"] == 1


@pytest.mark.parametrize("method", ["OPTIONS", "PUT", "DELETE", "HEAD"])
def test_allow_names_every_method_of_the_path(served: tuple[Server, dict], method: str) -> None:
    server, document = served
    with server.client() as client:
        response = client.request(method, "/api/v1/runs")
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert allowed == {m.upper() for m in document["paths"]["/api/v1/runs"]} == {"GET", "POST"}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"{", "application/json"), (b'{"entity": "\xff"}', "application/json"), (b"[]", None)],
)
def test_the_token_is_checked_before_the_body(
    served: tuple[Server, dict], body: bytes, content_type: str | None
) -> None:
    server, _ = served
    headers = {"Content-Type": content_type} if content_type else {}
    with server.client() as anonymous, server.client("wrong-token") as wrong:
        assert anonymous.post("/api/v1/runs", content=body, headers=headers).status_code == 401
        assert wrong.post("/api/v1/runs", content=body, headers=headers).status_code == 403


def test_every_status_sent_is_documented(served: tuple[Server, dict]) -> None:
    """Errors every operation may answer, 409 of a busy track, 304 of a current badge."""
    server, document = served
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert {"422", "500", "503"} <= set(operation["responses"]), (method, path)
            retry = operation["responses"]["503"]["headers"]["Retry-After"]
            assert retry["required"] is True, (method, path)
    run = document["paths"]["/api/v1/runs"]["post"]["responses"]
    assert {"202", "400", "401", "403", "404", "409"} <= set(run)
    assert set(_schema(document, "/api/v1/runs", "post", "409")["properties"]) == {
        "detail",
        "run_id",
        "tracks",
    }
    badge = document["paths"]["/badges/{kind}/{namespace}/{name}/{track}.svg"]["get"]
    assert "image/svg+xml" in badge["responses"]["200"]["content"]
    with server.client() as client:
        first = client.get("/badges/component/default/ledger/basics.svg")
        again = client.get(
            "/badges/component/default/ledger/basics.svg",
            headers={"If-None-Match": first.headers["etag"]},
        )
    assert (first.status_code, again.status_code) == (200, 304)
    assert "304" in badge["responses"]


def test_private_reads_document_401_and_403(tmp_path: Path) -> None:
    workspace = replace(
        make_workspace(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}"), public_reads=False
    )
    with RunningServer(workspace, tmp_path) as server, server.client(TOKEN) as client:
        document = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/entities", "/badges/{kind}/{namespace}/{name}/{track}.json"):
        operation = document["paths"][path]["get"]
        assert {"401", "403"} <= set(operation["responses"]), path
        assert operation["security"] == [{"HTTPBearer": []}], path
