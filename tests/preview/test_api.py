"""`POST /api/v1/tracks/preview` through a real server on loopback, over a copy of the demo
workspace whose first run has filled the store."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from scorecard.auth import Role
from scorecard.results import NON_BLOCKING
from scorecard.workspace import TokenConfig
from tests.api.conftest import TOKEN, RunningServer, Server, make_workspace
from tests.preview.conftest import PRODUCTION_READINESS, row_counts, runbook_at_bronze

RUNNER_ENV = "SC_PREVIEW_RUNNER_TOKEN"
RUNNER_TOKEN = "runner-token-0123456789abcdef"
PREVIEW = "/api/v1/tracks/preview"
TRACK = "production-readiness"


@dataclass
class Site:
    server: Server
    url: str  # the database

    def post(self, body: Any, token: str | None = TOKEN) -> httpx.Response:
        with self.server.client(token) as client:
            return client.post(PREVIEW, json=body)

    def settled_counts(self) -> dict[str, int]:
        """Row counts once what follows the first run (campaign progress) has been written."""
        counts = row_counts(self.url)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.05)
            again = row_counts(self.url)
            if again == counts:
                return counts
            counts = again
        raise AssertionError("the store kept changing")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("preview-server")
    url = f"sqlite:///{root / 'scorecard.db'}"
    workspace = replace(
        make_workspace(root, url),
        token_configs=(TokenConfig(name="ci", role=Role.RUNNER, env=RUNNER_ENV),),
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv(RUNNER_ENV, RUNNER_TOKEN)
        with RunningServer(workspace, root) as server:
            yield Site(server, url)


def _documents(content: str, name: str = "tracks/production-readiness.yaml") -> dict[str, Any]:
    return {"tracks": [{"name": name, "content": content}]}


def _problems(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["detail"] and body["errors"]
    return body["errors"]


@pytest.mark.parametrize(
    ("token", "status"),
    [(None, 401), ("not-a-token-at-all-0123456789", 403), (RUNNER_TOKEN, 403)],
)
def test_only_an_admin_may_preview(site: Site, token: str | None, status: int) -> None:
    # The token is checked before the body is read: an invalid body changes nothing.
    for body in (_documents("kind: [\n"), {"nonsense": True}):
        response = site.post(body, token)
        assert response.status_code == status, response.text
        assert "detail" in response.json()
    if token == RUNNER_TOKEN:
        assert "admin" in site.post(_documents("x: 1"), token).json()["detail"]


def test_the_change_compared_with_the_stored_levels(site: Site) -> None:
    before = site.settled_counts()
    store = site.server.service.store
    levels = {c.entity_ref: c.level for c in store.certifications(track_id=TRACK)}
    runbook = {r.entity_ref: r for r in store.results(track_id=TRACK, check_id="has_runbook")}
    expected = {
        ref: level
        for ref, level in levels.items()
        if level is not None and runbook[ref].outcome not in NON_BLOCKING
    }
    assert expected

    response = site.post(_documents(runbook_at_bronze(PRODUCTION_READINESS.read_text())))

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["baseline"] == "stored"
    assert report["entities"] == len(store.entities())
    [track] = report["tracks"]
    assert track["track"] == TRACK and not track["new"] and not track["draft"]
    assert {m["entity"]: m["now"] for m in track["lost"]} == expected
    for move in track["lost"]:
        [cause] = move["checks"]
        assert cause["id"] == "has_runbook" and cause["level"] == "bronze"
        assert cause["message"] == runbook[move["entity"]].message
        assert cause["reason"] == "moved from silver to bronze"
    assert track["counts"]["now"]["bronze"] - track["counts"]["after"]["bronze"] == len(expected)

    # Nothing stored but the audit log's row, which says who previewed what.
    after = row_counts(site.url)
    assert after.pop("audit_log") == before.pop("audit_log") + 1
    assert after == before
    with site.server.client(TOKEN) as client:
        [row] = client.get("/api/v1/audit", params={"action": "tracks.previewed"}).json()["items"]
    assert row["actor"] == "default" and row["object_id"] == TRACK
    assert row["change"]["lost"] == {TRACK: len(expected)}


def test_invalid_yaml_names_the_document_line_and_column(site: Site) -> None:
    before = site.settled_counts()

    [problem] = _problems(
        site.post(_documents("apiVersion: scorecard/v1\nkind: [Track\n", "sec.yaml"))
    )
    assert problem.startswith("sec.yaml:3:1: invalid YAML")

    unknown_key = PRODUCTION_READINESS.read_text().replace(
        "  - id: gold\n", "  - id: gold\n    colour: gold\n"
    )
    line = unknown_key.splitlines().index("    colour: gold") + 1
    assert _problems(site.post(_documents(unknown_key, "sec.yaml"))) == [
        f"sec.yaml:{line}:5: levels[2].colour: unknown key 'colour'; "
        "allowed: id, title, description, checks"
    ]
    body = site.post(_documents(unknown_key, "sec.yaml")).json()
    [structured] = body["problems"]
    assert (structured["file"], structured["line"], structured["column"]) == ("sec.yaml", line, 5)
    assert structured["key"] == "levels[2].colour"

    # Rejected previews are audited too, and store nothing else.
    after = row_counts(site.url)
    assert after.pop("audit_log") == before.pop("audit_log") + 3
    assert after == before


def test_hostile_documents_are_refused(site: Site) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [{', '.join([f'*{previous}'] * 10)}]")
    [bomb] = _problems(site.post(_documents("\n".join(lines), "bomb.yaml")))
    assert bomb.startswith("bomb.yaml:") and "with its aliases expanded" in bomb

    for depth in (100, 20_000):
        [deep] = _problems(site.post(_documents("a: " + "[" * depth + "]" * depth, "deep.yaml")))
        assert deep.startswith("deep.yaml") and "nested" in deep

    [control] = _problems(site.post(_documents("id: x\ntitle: a\x96b\n", "ctl.yaml")))
    assert control == "ctl.yaml:2:9: invalid YAML: character #x0096 is not allowed"

    [huge] = _problems(site.post(_documents("# " + "x" * 300_000)))
    assert huge.startswith("tracks.0.content:")
    many = {"tracks": [{"name": f"t{n}.yaml", "content": "x: 1"} for n in range(21)]}
    assert _problems(site.post(many))[0].startswith("tracks:")
    [name] = _problems(site.post(_documents("x: 1", "bad\nname.yaml")))
    assert name.startswith("tracks.0.name:")
    assert _problems(site.post({"tracks": []}))[0].startswith("tracks:")


def test_two_documents_of_one_track_are_refused(site: Site) -> None:
    text = PRODUCTION_READINESS.read_text()
    body = {"tracks": [{"name": "a.yaml", "content": text}, {"name": "b.yaml", "content": text}]}

    assert _problems(site.post(body)) == [
        "b.yaml: track id 'production-readiness' is also given by a.yaml"
    ]


def test_a_new_track(site: Site) -> None:
    new = (
        "apiVersion: scorecard/v1\nkind: Track\nid: docs-first\ntitle: Docs first\n"
        "filter: {kind: Component}\nlevels:\n  - id: bronze\n    checks: [has_techdocs]\n"
    )
    response = site.post(_documents(new, "docs.yaml"))

    assert response.status_code == 200, response.text
    [track] = response.json()["tracks"]
    assert track["new"] is True and track["lost"] == [] and track["entered"]
    assert track["not_scored"]["now"] == len(track["entered"])


def test_the_route_is_in_the_openapi_document(site: Site) -> None:
    with site.server.client() as client:
        document = client.get("/api/v1/openapi.json").json()
    operation = document["paths"][PREVIEW]["post"]
    assert {"200", "401", "403", "422"} <= set(operation["responses"])


def test_other_methods_on_the_path(site: Site) -> None:
    with site.server.client(TOKEN) as client:
        for method in ("PUT", "DELETE", "OPTIONS"):
            response = client.request(method, PREVIEW)
            assert response.status_code == 405
            assert response.headers["allow"] == "POST"
        # A GET is the track of that id, as for any other: there is none.
        response = client.get(PREVIEW)
    assert response.status_code == 404 and response.json() == {"detail": "no track 'preview'"}
