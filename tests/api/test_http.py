"""The API and badges over real HTTP, against a real uvicorn server on loopback."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from scorecard.catalog import read_catalog
from scorecard.registry import build_registry
from scorecard.runner import evaluate
from scorecard.tracks import load_tracks

TOKEN = "test-token-0123456789abcdef"
SVG = "{http://www.w3.org/2000/svg}svg"


def run_everything(server: Any) -> dict:
    with server.client(TOKEN) as client:
        response = client.post("/api/v1/runs", json={})
    assert response.status_code == 202, response.text
    run = server.wait_for_run(response.json()["id"])
    assert run["status"] == "finished", run
    return run


def test_trigger_poll_and_read(server: Any) -> None:
    run = run_everything(server)
    assert run["trigger"] == "api" and run["results"] > 0

    with server.client() as client:
        card = client.get("/api/v1/entities/component/default/checkout-web").json()
        listing = client.get("/api/v1/entities", params={"kind": "component", "limit": 3}).json()
        results = client.get(
            "/api/v1/results", params={"entity": "checkout-web", "outcome": "fail"}
        ).json()
        tracks = client.get("/api/v1/tracks").json()
        checks = client.get("/api/v1/checks").json()
        rollup = client.get("/api/v1/tracks/production-readiness/rollup").json()

    by_track = {t["track"]: t for t in card["tracks"]}
    readiness = by_track["production-readiness"]
    assert (readiness["level"], readiness["next_level"]) == ("bronze", "silver")
    blocking = {c["id"]: c for c in readiness["blocking"]}
    assert blocking["has_runbook"]["outcome"] == "fail"
    assert blocking["has_runbook"]["remediation"] == "Add `docs/runbook.md` to the repository."
    assert listing["total"] >= 7 and len(listing["items"]) == 3
    assert {r["check"] for r in results["items"]} >= {"has_runbook", "slo_defined"}
    assert {t["id"] for t in tracks} >= {"basics", "production-readiness", "security-hygiene"}
    assert any(c["id"] == "entity_field" and c["params_schema"] for c in checks)
    assert sum(rollup["levels"].values()) >= 4


def test_levels_match_an_evaluation_of_the_same_workspace(server: Any) -> None:
    run_everything(server)
    workspace = server.service.workspace
    tracks = load_tracks(workspace.tracks, build_registry(workspace.checks))
    listing = read_catalog(workspace.catalog)
    expected = {
        (c.entity_ref, c.track_id): c.level
        for c in evaluate(listing.entities, tracks).certifications
    }
    served = {}
    with server.client() as client:
        page = client.get("/api/v1/entities", params={"limit": 500}).json()
        for entity in page["items"]:
            for track, level in entity["levels"].items():
                served[entity["ref"], track] = level
    assert served == expected


def test_badges(server: Any) -> None:
    run_everything(server)
    with server.client() as client:
        svg = client.get("/badges/component/default/fraud-scoring/production-readiness.svg")
        endpoint = client.get("/badges/component/default/fraud-scoring/production-readiness.json")
        again = client.get(
            "/badges/component/default/fraud-scoring/production-readiness.svg",
            headers={"If-None-Match": svg.headers["etag"]},
        )
        unknown = client.get("/badges/component/default/nobody/production-readiness.svg")
        unknown_track = client.get("/badges/component/default/fraud-scoring/nope.svg")

    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    root = ET.fromstring(svg.text)
    assert root.tag == SVG
    texts = "".join(root.itertext())
    assert "production-readiness" in texts and "silver" in texts
    assert "max-age" in svg.headers["cache-control"]

    document = endpoint.json()
    assert set(document) == {"schemaVersion", "label", "message", "color"}
    assert document["schemaVersion"] == 1
    assert (document["label"], document["message"]) == ("production-readiness", "silver")

    assert again.status_code == 304 and again.content == b""
    for response, text in ((unknown, "not evaluated"), (unknown_track, "unknown track")):
        assert response.status_code == 404
        assert text in "".join(ET.fromstring(response.text).itertext())


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("post", "/api/v1/runs", {}), ("post", "/api/v1/reload", None)],
)
def test_writes_need_the_token_and_reads_do_not(
    server: Any, method: str, path: str, body: dict | None
) -> None:
    with server.client() as anonymous, server.client("wrong-token") as wrong:
        assert getattr(anonymous, method)(path, json=body).status_code == 401
        assert getattr(wrong, method)(path, json=body).status_code == 403
        assert anonymous.get("/api/v1/tracks").status_code == 200
        response = getattr(wrong, method)(path, json=body)
    assert TOKEN not in response.text and "wrong-token" not in response.text


def test_overlapping_triggers_are_refused(server: Any) -> None:
    with server.client(TOKEN) as client:
        first = client.post("/api/v1/runs", json={"tracks": ["patience"]})
        second = client.post("/api/v1/runs", json={"tracks": ["patience", "basics"]})
    assert first.status_code == 202
    assert second.status_code == 409
    assert second.json()["run_id"] == first.json()["id"]
    assert "already evaluating patience" in second.json()["detail"]
    assert server.wait_for_run(first.json()["id"])["status"] == "finished"


def test_a_run_for_one_entity(server: Any) -> None:
    run_everything(server)
    with server.client(TOKEN) as client:
        response = client.post(
            "/api/v1/runs", json={"entity": "component:default/ledger", "tracks": ["basics"]}
        )
    run = server.wait_for_run(response.json()["id"])
    assert run["entity"] == "component:default/ledger" and run["tracks"] == ["basics"]
    assert run["results"] == 12


def test_reload_keeps_the_last_good_configuration(server: Any) -> None:
    track_file = server.workspace_dir / "tracks" / "patience.yaml"
    with server.client(TOKEN) as client:
        track_file.write_text(track_file.read_text().replace("checks: [slow]", "chekcs: [slow]"))
        rejected = client.post("/api/v1/reload")
        assert rejected.status_code == 422
        problems = rejected.json()["problems"]
        assert any("patience.yaml" in p["file"] and "chekcs" in p["key"] for p in problems)
        assert client.get("/api/v1/tracks/patience").status_code == 200  # still served
        health = client.get("/api/v1/health").json()
        assert health["config_problems"]

        track_file.write_text(track_file.read_text().replace("title: Patience", "title: Calm"))
        track_file.write_text(track_file.read_text().replace("chekcs", "checks"))
        accepted = client.post("/api/v1/reload")
        assert accepted.status_code == 200 and accepted.json()["problems"] == []
        assert client.get("/api/v1/tracks/patience").json()["title"] == "Calm"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/entities/component/default/no-such-thing", 404),
        ("/api/v1/entities/component/default/bad%20name", 404),
        ("/api/v1/entities/component/default/x/history", 404),
        ("/api/v1/tracks/nope", 404),
        ("/api/v1/tracks/nope/rollup", 404),
        ("/api/v1/checks/nope", 404),
        ("/api/v1/runs/999999", 404),
        ("/api/v1/runs/abc", 422),
        ("/api/v1/runs/0", 422),
        ("/api/v1/entities?limit=0", 422),
        ("/api/v1/entities?limit=100000", 422),
        ("/api/v1/entities?offset=-1", 422),
        ("/api/v1/entities?outcome=great", 422),
        ("/api/v1/results?entity=component:", 422),
    ],
)
def test_bad_input_is_a_4xx_with_a_message(server: Any, path: str, status: int) -> None:
    with server.client() as client:
        response = client.get(path)
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in response.text


def test_bad_run_requests(server: Any) -> None:
    with server.client(TOKEN) as client:
        unknown_track = client.post("/api/v1/runs", json={"tracks": ["nope"]})
        unknown_entity = client.post("/api/v1/runs", json={"entity": "component:default/nope"})
        not_json = client.post(
            "/api/v1/runs", content=b"{", headers={"content-type": "application/json"}
        )
        wrong_shape = client.post("/api/v1/runs", json={"tracks": "basics"})
    assert unknown_track.status_code == 404 and "nope" in unknown_track.json()["detail"]
    assert unknown_entity.status_code == 404
    assert not_json.status_code == 422
    assert wrong_shape.status_code == 422 and "tracks" in wrong_shape.json()["detail"]


def test_openapi_is_served(server: Any) -> None:
    with server.client() as client:
        spec = client.get("/api/v1/openapi.json").json()
        docs = client.get("/docs")
    assert "/api/v1/entities/{kind}/{namespace}/{name}" in spec["paths"]
    assert docs.status_code == 200
    json.dumps(spec)


def test_private_reads_need_the_token(
    tmp_path: Any, workspace_factory: Any, start_server: Any
) -> None:
    from dataclasses import replace

    workspace = replace(
        workspace_factory(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}"), public_reads=False
    )
    with start_server(workspace, tmp_path) as server:
        with server.client() as anonymous:
            assert anonymous.get("/api/v1/tracks").status_code == 401
            assert anonymous.get("/badges/component/default/ledger/basics.svg").status_code == 401
        with server.client(TOKEN) as reader:
            assert reader.get("/api/v1/tracks").status_code == 200


def test_an_entity_gone_from_the_catalog_is_marked_and_left_out(server: Any) -> None:
    first = run_everything(server)
    # Renamed in its catalog file: the old name leaves a catalog that is read in full.
    file = server.workspace_dir / "catalog" / "repos" / "fraud-scoring" / "catalog-info.yaml"
    file.write_text(file.read_text().replace("name: fraud-scoring", "name: fraud-scorer"))
    second = run_everything(server)
    assert second["id"] > first["id"]

    with server.client() as client:
        card = client.get("/api/v1/entities/component/default/fraud-scoring").json()
        listed = client.get("/api/v1/entities", params={"limit": 500}).json()
        present = client.get("/api/v1/entities/component/default/checkout-web").json()

    # Still there to look at, marked with the run that found it gone; listed nowhere.
    assert card["entity"]["gone_since_run"] == second["id"]
    assert "component:default/fraud-scoring" not in {e["ref"] for e in listed["items"]}
    assert present["entity"]["gone_since_run"] is None
