"""`GET /metrics`: scraped from a real server after a run, and the store's collector alone."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from scorecard.catalog import BackstageSource, CatalogUnavailable, read_backstage
from scorecard.entity import Entity
from scorecard.metrics import Metrics
from scorecard.problems import Problem
from scorecard.report import CheckResult, RunReport
from scorecard.results import Outcome, Result
from scorecard.service.service import Service
from scorecard.store import RunRecord, Store
from scorecard.workspace import (
    DEMO_DIR,
    GitHubConfig,
    RepositoriesConfig,
    Workspace,
    bundled_tracks,
)
from tests.api.conftest import TOKEN, RunningServer, Server, make_workspace
from tests.serving import free_port

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape by (name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name, frozenset(labels.items())]


def by_label(samples: Samples, name: str, label: str) -> dict[str, float]:
    """Samples of `name` summed by one label's value."""
    sums: dict[str, float] = {}
    for (sample, labels), found in samples.items():
        if sample == name:
            key = dict(labels)[label]
            sums[key] = sums.get(key, 0) + found
    return sums


def scrape(server: Server, token: str | None = None) -> Samples:
    with server.client(token) as client:
        response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("metrics")
    # The demo's `patience` track has a check of half a second: with a shorter timeout it
    # times out, as a hung check would.
    workspace = dataclasses.replace(
        make_workspace(root, f"sqlite:///{root / 'scorecard.db'}"), check_timeout=0.2
    )
    with RunningServer(workspace, root) as server:
        yield server


@pytest.fixture(scope="module")
def after_run(served: Server) -> tuple[Server, dict, Samples]:
    """The server after a run triggered through the API, some reads, and a scrape."""
    with served.client(TOKEN) as client:
        started = client.post("/api/v1/runs", json={})
        assert started.status_code == 202, started.text
    run = served.wait_for_run(started.json()["id"])
    assert run["status"] == "finished"
    badge = "/badges/component/default/payments-gateway/production-readiness.svg"
    with served.client() as client:
        for _ in range(3):
            assert client.get(badge).status_code == 200
        assert client.get("/no/such/page").status_code == 404
        assert client.get("/api/v1/entities/component/default/nobody").status_code == 404
    return served, run, scrape(served)


def test_the_run_shows_by_status_and_duration(after_run: tuple[Server, dict, Samples]) -> None:
    _, run, samples = after_run
    # The start-up run and the triggered one, both by this process.
    assert value(samples, "scorecard_runs_total", status="finished") >= 2
    assert value(samples, "scorecard_runs_total", status="failed") == 0
    assert value(samples, "scorecard_runs_running") == 0
    assert value(samples, "scorecard_run_duration_seconds_count", status="finished") >= 2
    assert value(samples, "scorecard_run_duration_seconds_sum", status="finished") > 0
    started = datetime.fromisoformat(run["started_at"])
    finished = datetime.fromisoformat(run["finished_at"])
    assert value(samples, "scorecard_last_run_duration_seconds") == pytest.approx(
        (finished - started).total_seconds(), abs=1e-3
    )
    assert value(samples, "scorecard_last_run_finished_timestamp_seconds") == pytest.approx(
        finished.timestamp(), abs=1e-3
    )
    assert value(samples, "scorecard_catalog_problems") == len(run["problems"])
    assert value(samples, "scorecard_store_up") == 1


def test_results_by_outcome_match_the_run_and_the_rollups(
    after_run: tuple[Server, dict, Samples],
) -> None:
    server, run, samples = after_run
    outcomes = by_label(samples, "scorecard_results", "outcome")
    assert set(outcomes) == {o.value for o in Outcome}
    # The run evaluated every track over every entity: the latest results are its results.
    assert sum(outcomes.values()) == run["results"]
    assert outcomes["error"] == run["errors"] - len(run["problems"]) > 0
    with server.client() as client:
        for track in run["tracks"]:
            rollup = client.get(f"/api/v1/tracks/{track}/rollup").json()
            for outcome in Outcome:
                expected = sum(check["counts"].get(outcome.value, 0) for check in rollup["checks"])
                assert value(samples, "scorecard_results", track=track, outcome=outcome) == expected


def test_check_errors_and_timeouts_are_counted_by_check(
    after_run: tuple[Server, dict, Samples],
) -> None:
    _, _, samples = after_run
    # fraud-scoring's SLO file makes the demo's slo_defined check crash, once per run.
    crashed = {"track": "production-readiness", "check": "slo_defined"}
    assert value(samples, "scorecard_check_errors_total", **crashed) >= 2
    assert value(samples, "scorecard_check_timeouts_total", track="patience", check="slow") >= 2
    assert ("scorecard_check_timeouts_total", frozenset(crashed.items())) not in samples
    for source in ("git", "github", "backstage"):
        assert value(samples, "scorecard_source_fetch_failures_total", source=source) == 0


def test_requests_are_counted_by_route_template(after_run: tuple[Server, dict, Samples]) -> None:
    _, run, samples = after_run
    polled = {"route": "/api/v1/runs/{run_id}", "method": "GET", "status": "200"}
    assert value(samples, "scorecard_http_requests_total", **polled) >= 1
    triggered = {"route": "/api/v1/runs", "method": "POST", "status": "202"}
    assert value(samples, "scorecard_http_requests_total", **triggered) == 1
    badge = {"route": "/badges/{kind}/{namespace}/{name}/{track}.svg", "method": "GET"}
    assert value(samples, "scorecard_http_requests_total", **badge, status="200") == 3
    assert value(samples, "scorecard_http_request_duration_seconds_count", **badge) == 3
    assert value(samples, "scorecard_http_request_duration_seconds_sum", **badge) > 0
    # Unknown paths are one series, never one per path.
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(samples, "scorecard_http_requests_total", **unmatched) == 1
    # A path's values never become labels: the template does.
    missing = {"route": "/api/v1/entities/{kind}/{namespace}/{name}", "method": "GET"}
    assert value(samples, "scorecard_http_requests_total", **missing, status="404") == 1
    routes = by_label(samples, "scorecard_http_requests_total", "route")
    assert not [route for route in routes if "nobody" in route or f"/{run['id']}" in route]


def test_badge_cache_hits_and_misses(after_run: tuple[Server, dict, Samples]) -> None:
    _, _, samples = after_run
    # Three requests for one badge: the first waits for the store, the others are hits.
    assert value(samples, "scorecard_badge_cache_misses_total") == 1
    assert value(samples, "scorecard_badge_cache_hits_total") == 2


def test_a_scrape_counts_in_the_next_one(served: Server) -> None:
    first = scrape(served)
    second = scrape(served)
    route = {"route": "/metrics", "method": "GET", "status": "200"}
    before = first.get(("scorecard_http_requests_total", frozenset(route.items())), 0)
    assert value(second, "scorecard_http_requests_total", **route) == before + 1


def test_private_reads_need_the_reader_token_for_metrics(tmp_path: Path) -> None:
    workspace = dataclasses.replace(
        make_workspace(tmp_path, f"sqlite:///{tmp_path / 'scorecard.db'}"), public_reads=False
    )
    with RunningServer(workspace, tmp_path) as server:
        with server.client() as client:
            refused = client.get("/metrics")
        assert refused.status_code == 401
        assert "bearer token" in refused.json()["detail"]
        with server.client("not-the-token") as client:
            assert client.get("/metrics").status_code == 403
        samples = scrape(server, TOKEN)
    assert value(samples, "scorecard_runs_total", status="finished") == 1
    refusals = {"route": "/metrics", "method": "GET", "status": "401"}
    assert value(samples, "scorecard_http_requests_total", **refusals) == 1


# The collector alone, over a store filled by hand (`store_url`: SQLite, and PostgreSQL
# when SCORECARD_TEST_POSTGRES_URL is set).


def _entity(name: str) -> Entity:
    return Entity(
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": name},
            "spec": {"owner": "team-a"},
        }
    )


def _report(names: list[str], outcomes: dict[str, Outcome], problems: int = 0) -> RunReport:
    now = datetime.now(UTC)
    return RunReport.of(
        now,
        finished_at=now,
        entities=[_entity(n) for n in names],
        results=[
            CheckResult(
                f"component:default/{name}", "t", check, "bronze", True, Result(outcome, "x")
            )
            for name in names
            for check, outcome in outcomes.items()
        ],
        problems=[Problem(f"bad-{i}.yaml", "not an entity") for i in range(problems)],
    )


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store(store_url) as opened:
        yield opened


def _counts(samples: Samples) -> dict[str, float]:
    return {
        status: value(samples, "scorecard_runs_total", status=status)
        for status in ("finished", "failed", "abandoned")
    }


def test_collector_reads_runs_and_results_from_the_store(store: Store) -> None:
    metrics = Metrics(store)
    empty = parse(metrics.exposition().decode())
    assert _counts(empty) == {"finished": 0, "failed": 0, "abandoned": 0}
    assert by_label(empty, "scorecard_results", "outcome") == {}
    assert ("scorecard_last_run_duration_seconds", frozenset()) not in empty

    abandoned = store.start_run("cli")
    with store.engine.begin() as connection:  # as the next process finds a dead one's run
        connection.execute(
            update(RunRecord).where(RunRecord.id == abandoned).values(status="abandoned")
        )
    store.fail_run(store.start_run("cli"), "the catalog could not be read")
    outcomes = {"a": Outcome.PASS, "b": Outcome.FAIL, "c": Outcome.ERROR}
    first = store.start_run("cli")
    store.save_run(first, _report(["one", "two", "three"], outcomes, problems=2))
    store.start_run("cli")  # still running, as another process's run would be
    samples = parse(metrics.exposition().decode())
    assert _counts(samples) == {"finished": 1, "failed": 1, "abandoned": 1}
    assert value(samples, "scorecard_runs_running") == 1
    for outcome, expected in {"pass": 3, "fail": 3, "error": 3, "warn": 0, "unknown": 0}.items():
        assert value(samples, "scorecard_results", track="t", outcome=outcome) == expected
    assert value(samples, "scorecard_catalog_problems") == 2
    assert value(samples, "scorecard_last_run_duration_seconds") >= 0
    assert abandoned < first

    # A later run whose complete listing lacks `three`: its results no longer count.
    second = store.start_run("cli")
    report = _report(["one", "two"], outcomes)
    report.started_at -= timedelta(seconds=5)
    store.save_run(second, report, catalog_complete=True)
    samples = parse(metrics.exposition().decode())
    assert _counts(samples)["finished"] == 2
    for outcome, expected in {"pass": 2, "fail": 2, "error": 2}.items():
        assert value(samples, "scorecard_results", track="t", outcome=outcome) == expected
    assert value(samples, "scorecard_catalog_problems") == 0
    record = store.run(second)
    assert record is not None and record.finished_at is not None
    assert value(samples, "scorecard_last_run_duration_seconds") == pytest.approx(
        (record.finished_at - record.started_at).total_seconds()
    )


def test_a_store_that_cannot_be_read_is_down_and_the_rest_is_served(tmp_path: Path) -> None:
    path = tmp_path / "scorecard.db"
    store = Store(f"sqlite:///{path}")
    metrics = Metrics(store)
    metrics.source_failed("git")
    store.close()
    path.unlink()  # the next connection opens an empty database without the run table
    samples = parse(metrics.exposition().decode())
    assert value(samples, "scorecard_store_up") == 0
    assert value(samples, "scorecard_source_fetch_failures_total", source="git") == 1
    assert ("scorecard_runs_running", frozenset()) not in samples
    store.close()


def test_registries_are_per_server() -> None:
    first, second = Metrics(), Metrics()
    first.source_failed("github")
    assert b'source="github"} 1.0' in first.exposition()
    assert b'source="github"} 0.0' in second.exposition()


# Source fetch failures: each source reports its own, and a server's runs wire them in.


def test_backstage_pages_that_cannot_be_read_are_counted() -> None:
    metrics = Metrics()
    pages = {None: {"items": [], "pageInfo": {"nextCursor": "2"}}}

    def answer(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        if cursor in pages:
            return httpx.Response(200, json=pages[cursor])
        return httpx.Response(503, json={"error": "down"})

    transport = httpx.MockTransport(answer)
    listing = read_backstage(
        "http://backstage.test",
        None,
        retries=1,
        transport=transport,
        sleep=lambda _: None,
        on_failure=metrics.source_failed,
    )
    assert not listing.complete
    pages.clear()
    with pytest.raises(CatalogUnavailable):
        read_backstage(
            "http://backstage.test",
            None,
            retries=0,
            transport=transport,
            on_failure=metrics.source_failed,
        )
    samples = parse(metrics.exposition().decode())
    # One failure per page given up on, not per attempt.
    assert value(samples, "scorecard_source_fetch_failures_total", source="backstage") == 2


ENTITY_WITH_A_DEAD_REMOTE = """apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: remote-service
  annotations:
    backstage.io/source-location: url:http://127.0.0.1:{port}/remote-service.git
spec: {{type: service, lifecycle: production, owner: team-a}}
"""


def test_a_servers_runs_count_git_and_backstage_failures(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog-info.yaml"
    catalog.write_text(ENTITY_WITH_A_DEAD_REMOTE.format(port=free_port()))
    workspace = Workspace(
        catalog=[str(catalog)],
        tracks=[bundled_tracks()],
        checks=[DEMO_DIR / "checks"],
        database=f"sqlite:///{tmp_path / 'scorecard.db'}",
        repositories=RepositoriesConfig(cache=str(tmp_path / "clones"), timeout=20),
        reload_interval=0,
    )
    dead = BackstageSource(backstage=f"http://127.0.0.1:{free_port()}", retries=0)
    # Two servers on one database: the second sees the first one's run in the store, and
    # counts only what it saw itself.
    first = Service.create(workspace, schedule=False)
    second = Service.create(dataclasses.replace(workspace, catalog=[dead]), schedule=False)
    try:
        run = first.runs.trigger(None, wait=True)
        failed = second.runs.trigger(None, wait=True)
        assert [first.store.run(r.run_id).status for r in (run, failed)] == ["finished", "failed"]
        firsts = parse(first.metrics.exposition().decode())
        seconds = parse(second.metrics.exposition().decode())
    finally:
        first.store.close()
        second.store.close()
    failures = "scorecard_source_fetch_failures_total"
    assert value(firsts, failures, source="git") == 1
    assert value(firsts, failures, source="backstage") == 0
    assert value(seconds, failures, source="git") == 0
    assert value(seconds, failures, source="backstage") == 1
    for samples in (firsts, seconds):
        assert _counts(samples) == {"finished": 1, "failed": 1, "abandoned": 0}
    durations = "scorecard_run_duration_seconds_count"
    assert value(firsts, durations, status="finished") == 1
    assert value(firsts, durations, status="failed") == 0
    assert value(seconds, durations, status="finished") == 0
    assert value(seconds, durations, status="failed") == 1


GITHUB_TRACK = """apiVersion: scorecard/v1
kind: Track
id: github-settings
title: GitHub settings
filter: {kind: Component}
levels:
  - id: bronze
    checks: [delete_branch_on_merge, vulnerability_alerts_enabled]
"""

TWO_ENTITIES_OF_ONE_REPOSITORY = """apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: api
  annotations: {github.com/project-slug: acme/monorepo}
spec: {type: service, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: worker
  annotations: {github.com/project-slug: acme/monorepo}
spec: {type: service, lifecycle: production, owner: team-a}
"""


def test_github_facts_that_cannot_be_read_are_counted_once_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCORECARD_GITHUB_API_URL", raising=False)
    (tmp_path / "catalog-info.yaml").write_text(TWO_ENTITIES_OF_ONE_REPOSITORY)
    (tmp_path / "tracks").mkdir()
    (tmp_path / "tracks" / "github.yaml").write_text(GITHUB_TRACK)
    workspace = Workspace(
        catalog=[str(tmp_path / "catalog-info.yaml")],
        tracks=[tmp_path / "tracks"],
        checks=[],
        database=f"sqlite:///{tmp_path / 'scorecard.db'}",
        github=GitHubConfig(api_url=f"http://127.0.0.1:{free_port()}", timeout=5),
        reload_interval=0,
    )
    service = Service.create(workspace, schedule=False)
    try:
        run = service.runs.trigger(None, wait=True)
        outcomes = {r.outcome for r in service.store.results()}
        samples = parse(service.metrics.exposition().decode())
    finally:
        service.store.close()
    assert service.store.run(run.run_id) is not None
    assert outcomes == {Outcome.UNKNOWN}
    # Four results could not be read, from two facts of one repository, each read once.
    assert value(samples, "scorecard_source_fetch_failures_total", source="github") == 2
    assert value(samples, "scorecard_results", track="github-settings", outcome="unknown") == 4
