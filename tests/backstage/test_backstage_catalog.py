"""The Backstage catalog source against a real Backstage catalog backend (conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from scorecard.catalog import (
    BackstageSource,
    CatalogUnavailable,
    pushdown_filters,
    read_backstage,
    read_catalog,
    read_sources,
)
from scorecard.registry import CheckRegistry, build_registry
from scorecard.runner import RunReport, evaluate
from scorecard.sources.git import GitCache
from scorecard.tracks import Track, load_tracks
from scorecard.workspace import DEMO_DIR, bundled_tracks

from .conftest import APIS, COMPONENTS, CONFIG_LOCATIONS, GROUPS, Backstage


def _shipped_tracks() -> list[Track]:
    """The tracks scorecard ships, with the demo's check folder they use."""
    return load_tracks([bundled_tracks()], build_registry([DEMO_DIR / "checks"], plugins=False))


# The first test may install the backend (npm ci and a native build) before it starts.
pytestmark = pytest.mark.timeout(900)


def test_a_catalog_of_hundreds_of_entities_is_read_over_several_pages(
    backstage: Backstage,
) -> None:
    listing = read_backstage(backstage.url, backstage.token, page_size=50)

    assert listing.complete and not listing.problems
    assert len(listing.entities) == backstage.generated + CONFIG_LOCATIONS
    assert len({e.ref for e in listing.entities}) == len(listing.entities), "no duplicates"
    kinds = Counter(e.kind for e in listing.entities)
    assert kinds["Component"] == COMPONENTS and kinds["Group"] == GROUPS
    assert kinds["API"] == APIS and kinds["Location"] == CONFIG_LOCATIONS
    # The same entities as one page: the cursor neither skipped nor repeated any.
    whole = read_backstage(backstage.url, backstage.token, page_size=1000)
    assert {e.ref for e in whole.entities} == {e.ref for e in listing.entities}


def test_track_filters_are_pushed_down_to_the_catalog(
    backstage: Backstage, registry: CheckRegistry, tmp_path: Path
) -> None:
    track = tmp_path / "services.yaml"
    track.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "scorecard/v1",
                "kind": "Track",
                "id": "services",
                "title": "Services",
                "filter": {"kind": "component", "spec.type": ["service", "website"]},
                "levels": [{"id": "bronze", "checks": ["has_description", "has_lifecycle"]}],
            }
        )
    )
    tracks = load_tracks([track], registry)
    filters = pushdown_filters(tracks)
    assert filters == ["kind=component,spec.type=service,spec.type=website"]

    listing = read_backstage(backstage.url, backstage.token, filters=filters, page_size=40)

    served = {e.ref for e in listing.entities}
    everything = read_backstage(backstage.url, backstage.token).entities
    expected = {e.ref for e in everything if tracks[0].applies_to(e)}
    assert served == expected
    assert len(served) == COMPONENTS * 2 // 3  # the server sent only the services and websites

    # Through a workspace's sources: the listing knows it is not the whole catalog, so
    # the entities it leaves out are not taken for gone.
    source = BackstageSource(backstage=backstage.url, token=backstage.token, page_size=40)
    pushed = read_sources([source], backstage_filters=filters)
    assert {e.ref for e in pushed.entities} == served
    assert pushed.complete and pushed.filtered and not pushed.shows_removals


def test_tracks_with_checks_that_read_the_catalog_read_all_of_it() -> None:
    tracks = _shipped_tracks()
    # Ownership checks look the owner up, and the owners are outside every track's filter.
    assert pushdown_filters(tracks) is None


def test_results_match_the_same_catalog_read_from_files(
    backstage: Backstage, tmp_path: Path
) -> None:
    tracks = _shipped_tracks()
    served = [
        e
        for e in read_backstage(backstage.url, backstage.token, page_size=100).entities
        if e.kind != "Location"  # Backstage's record of its configured locations
    ]
    files = read_catalog([backstage.catalog_dir]).entities
    assert {e.ref for e in served} == {e.ref for e in files}

    # The API's entities name their folder only by a managed-by location, which is catalog
    # data: they reach it because the operator lists the catalog's folder as a root.
    roots = GitCache(tmp_path / "cache", local_roots=[backstage.catalog_dir])
    from_api = evaluate(served, tracks, git_cache=roots)
    from_files = evaluate(files, tracks)

    def outcomes(report: RunReport) -> dict[tuple[str, str, str], tuple[str, str]]:
        return {
            (r.entity_ref, r.track_id, r.check_id): (r.outcome, r.result.message)
            for r in report.results
        }

    def levels(report: RunReport) -> dict[tuple[str, str], str | None]:
        return {(c.entity_ref, c.track_id): c.level for c in report.certifications}

    assert outcomes(from_api) == outcomes(from_files)
    assert levels(from_api) == levels(from_files)
    # A comparison of something: results of every kind, levels of more than one kind.
    assert len(from_api.results) > 1000
    assert {o for o, _ in outcomes(from_api).values()} >= {"pass", "fail"}
    assert len(set(levels(from_api).values())) >= 3


def _workspace(folder: Path, backstage: Backstage, token_env: str) -> Path:
    config = {
        "catalog": [{"backstage": backstage.url, "token_env": token_env, "page_size": 100}],
        "tracks": [str(bundled_tracks())],
        "checks": [str(DEMO_DIR / "checks")],
        "database": f"sqlite:///{folder / 'scorecard.db'}",
    }
    path = folder / "scorecard.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _scorecard(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scorecard", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200", **env},
    )


def test_scorecard_run_reads_and_stores_the_backstage_catalog(
    backstage: Backstage, tmp_path: Path
) -> None:
    config = _workspace(tmp_path, backstage, "TEST_BACKSTAGE_TOKEN")

    done = _scorecard(
        "--config", str(config), "run", "--format", "json",
        env={"TEST_BACKSTAGE_TOKEN": backstage.token},
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    refs = {entity["ref"] for entity in report["entities"]}
    assert sum(ref.startswith("component:") for ref in refs) == COMPONENTS
    assert sum(ref.startswith("api:") for ref in refs) == APIS
    assert backstage.token not in done.stdout + done.stderr


@pytest.mark.parametrize("token", ["not-the-token", None], ids=["wrong", "missing"])
def test_a_bad_token_is_a_clear_error_and_a_failed_run(
    backstage: Backstage, tmp_path: Path, token: str | None
) -> None:
    config = _workspace(tmp_path, backstage, "TEST_BACKSTAGE_TOKEN")
    env = {"TEST_BACKSTAGE_TOKEN": token} if token else {}
    if token is None:
        os.environ.pop("TEST_BACKSTAGE_TOKEN", None)

    done = _scorecard("--config", str(config), "run", env=env)

    assert done.returncode == 2
    assert f"{backstage.url}/api/catalog/entities/by-query" in done.stderr
    assert "HTTP 401" in done.stderr and "token" in done.stderr
    assert "Traceback" not in done.stderr
    if token:
        assert token not in done.stderr

    with pytest.raises(CatalogUnavailable, match="401"):
        read_backstage(backstage.url, token)
