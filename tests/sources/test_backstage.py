"""The Backstage catalog source against `httpx.MockTransport` speaking Backstage's shapes,
for the faults a real backend does not produce on demand."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from scorecard.catalog import BackstageSource, CatalogUnavailable, read_backstage, read_sources
from scorecard.catalog.backstage import filter_params
from scorecard.cli import app
from scorecard.filters import EntityFilter
from scorecard.registry import CheckRegistry
from scorecard.runner import run_and_store
from scorecard.store import Store
from scorecard.tracks import load_tracks
from scorecard.workspace import Workspace, bundled_tracks

BASE = "http://backstage.test:7007"
TOKEN = "s3cret-token-value"


def component(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, "namespace": "default", "description": f"{name} things"},
        "spec": {"type": "service", "lifecycle": "production", "owner": "team-a", **spec},
    }


class FakeBackstage:
    """`GET /api/catalog/entities/by-query` with cursor pages; `faults` maps a request
    number (1-based) to the response to give instead."""

    def __init__(
        self, items: list[dict[str, Any]], faults: dict[int, httpx.Response] | None = None
    ):
        self.items = items
        self.faults = faults or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        fault = self.faults.get(len(self.requests))
        if fault is not None:
            return fault
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, json={"error": {"name": "AuthenticationError"}})
        assert request.url.path == "/api/catalog/entities/by-query"
        limit = int(request.url.params["limit"])
        start = int(request.url.params.get("cursor", "0"))
        page = self.items[start : start + limit]
        more = start + limit < len(self.items)
        body: dict[str, Any] = {
            "items": page,
            "totalItems": len(self.items),
            "pageInfo": {"nextCursor": str(start + limit)} if more else {},
        }
        return httpx.Response(200, json=body)

    def read(self, **options: Any) -> Any:
        sleeps: list[float] = []
        listing = read_backstage(
            BASE, TOKEN, transport=httpx.MockTransport(self), sleep=sleeps.append, **options
        )
        return listing, sleeps


ITEMS = [component(f"svc-{i:02}") for i in range(7)]


def test_reads_every_page_with_the_cursor() -> None:
    fake = FakeBackstage(ITEMS)
    listing, sleeps = fake.read(page_size=3)
    assert [e.name for e in listing.entities] == [f"svc-{i:02}" for i in range(7)]
    assert listing.complete and listing.problems == [] and sleeps == []
    assert [r.url.params.get("cursor") for r in fake.requests] == [None, "3", "6"]
    assert all(r.url.params["limit"] == "3" for r in fake.requests)
    assert listing.entities[0].source == BASE


def test_sends_filter_and_fields_params() -> None:
    fake = FakeBackstage(ITEMS)
    fake.read(filters=["kind=component,spec.type=service", "kind=api"], fields=["kind", "metadata"])
    params = fake.requests[0].url.params
    assert params.get_list("filter") == ["kind=component,spec.type=service", "kind=api"]
    assert params["fields"] == "kind,metadata"


def test_429_is_retried_after_retry_after() -> None:
    fake = FakeBackstage(ITEMS, {1: httpx.Response(429, headers={"Retry-After": "7"})})
    listing, sleeps = fake.read()
    assert sleeps == [7.0]
    assert listing.complete and len(listing.entities) == 7


def test_connection_errors_and_5xx_back_off_exponentially() -> None:
    calls = {"n": 0}
    fake = FakeBackstage(ITEMS, {1: httpx.Response(503), 2: httpx.Response(502)})

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ConnectError("refused", request=request)
        return fake(request)

    sleeps: list[float] = []
    listing = read_backstage(BASE, TOKEN, transport=httpx.MockTransport(flaky), sleep=sleeps.append)
    assert sleeps == [0.5, 1.0, 2.0]
    assert listing.complete and len(listing.entities) == 7


def test_a_huge_retry_after_is_capped() -> None:
    fake = FakeBackstage(ITEMS, {1: httpx.Response(429, headers={"Retry-After": "86400"})})
    _, sleeps = fake.read()
    assert sleeps == [60.0]


def test_500_mid_listing_returns_a_partial_listing() -> None:
    fake = FakeBackstage(ITEMS, {n: httpx.Response(500) for n in range(2, 20)})
    listing, sleeps = fake.read(page_size=3, retries=2)
    assert not listing.complete
    assert [e.name for e in listing.entities] == ["svc-00", "svc-01", "svc-02"]
    assert len(sleeps) == 2
    [problem] = listing.problems
    assert problem.file == f"{BASE}/api/catalog/entities/by-query"
    assert "HTTP 500" in problem.message and "after 3 attempts" in problem.message
    assert "after 3 entities" in problem.message
    assert TOKEN not in str(problem)


def test_401_is_a_clear_error_without_the_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401)

    with pytest.raises(CatalogUnavailable) as caught:
        read_backstage(BASE, "wrong", transport=httpx.MockTransport(handler))
    [problem] = caught.value.problems
    assert str(problem) == (
        f"{BASE}/api/catalog/entities/by-query: "
        "cannot be read: HTTP 401 (the token is missing or not accepted)"
    )


def test_invalid_items_are_problems_and_duplicates_are_dropped() -> None:
    fake = FakeBackstage([component("a"), {"kind": "Component"}, component("a"), component("b")])
    listing, _ = fake.read(page_size=2)
    assert [e.name for e in listing.entities] == ["a", "b"]
    [problem] = listing.problems
    assert "page 1 item 2 is not a valid entity" in problem.message


def test_filter_pushdown() -> None:
    service = EntityFilter.from_config([{"kind": "Component", "spec.type": ["service", "website"]}])
    apis = EntityFilter.from_config([{"kind": "API"}])
    assert filter_params([service, apis]) == [
        "kind=api",
        "kind=component,spec.type=service,spec.type=website",
    ]
    assert filter_params([service, None]) is None  # a track for every entity
    assert filter_params([EntityFilter.from_config([{"metadata.name": "a,b"}])]) is None
    assert filter_params([]) is None


def test_workspace_catalog_entries_may_name_a_backstage_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "scorecard.yaml").write_text(
        f"catalog:\n  - catalog-info.yaml\n  - backstage: {BASE}\n    token_env: MY_TOKEN\n"
        "    token: from-the-config\n"
    )
    workspace = Workspace.from_file(tmp_path / "scorecard.yaml")
    path, source = workspace.catalog
    assert path == str(tmp_path / "catalog-info.yaml")
    assert isinstance(source, BackstageSource) and source.backstage == BASE
    assert "from-the-config" not in repr(workspace)
    assert source.resolved_token() == "from-the-config"
    monkeypatch.setenv("MY_TOKEN", "from-the-env")
    assert source.resolved_token() == "from-the-env"


@pytest.fixture
def stub_transport(monkeypatch: pytest.MonkeyPatch) -> Callable[[FakeBackstage], None]:
    """Route the source's requests to a fake, as if `read_sources` were given it."""

    real = httpx.Client

    def install(fake: FakeBackstage) -> None:
        def client(**options: Any) -> httpx.Client:
            return real(**{**options, "transport": httpx.MockTransport(fake)})

        monkeypatch.setattr(httpx, "Client", client)

    return install


def test_a_partial_listing_leaves_stored_results_untouched(
    tmp_path: Path,
    registry: CheckRegistry,
    stub_transport: Callable[[FakeBackstage], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BACKSTAGE_TOKEN", TOKEN)
    source = BackstageSource(backstage=BASE, page_size=3, retries=0)
    tracks = load_tracks([bundled_tracks() / "basics.yaml"], registry)
    with Store(f"sqlite:///{tmp_path / 'scorecard.db'}") as store:
        stub_transport(FakeBackstage(ITEMS))
        full = read_sources([source])
        assert full.complete and len(full.entities) == 7
        run_and_store(store, full.entities, tracks, trigger="test", problems=full.problems)
        before = {e.ref for e in store.entities()}
        results_before = len(store.results())
        assert len(before) == 7 and results_before > 0

        stub_transport(FakeBackstage(ITEMS, {2: httpx.Response(500)}))
        partial = read_sources([source])
        assert not partial.complete and len(partial.entities) == 3
        run_and_store(store, partial.entities, tracks, trigger="test", problems=partial.problems)
        assert {e.ref for e in store.entities()} == before
        assert len(store.results()) == results_before
        assert {c.entity_ref for c in store.certifications()} == before


class _Unauthorized(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error":{"name":"AuthenticationError","message":"Illegal token"}}')

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def unauthorized_backstage() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unauthorized)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_scorecard_run_exits_2_when_the_catalog_refuses_the_token(
    tmp_path: Path, unauthorized_backstage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCORECARD_DATABASE_URL", raising=False)
    monkeypatch.setenv("BACKSTAGE_TOKEN", TOKEN)
    basics = bundled_tracks() / "basics.yaml"
    (tmp_path / "scorecard.yaml").write_text(
        f"catalog:\n  backstage: {unauthorized_backstage}\ntracks: [{basics}]\n"
    )
    result = CliRunner().invoke(app, ["run"], catch_exceptions=False)
    assert result.exit_code == 2
    assert f"{unauthorized_backstage}/api/catalog/entities/by-query" in result.output
    assert "HTTP 401" in result.output
    assert TOKEN not in result.output
