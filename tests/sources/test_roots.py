"""Source locations read from catalog data reach only the allowed repository roots.

Each entity is read from a real catalog file in a temporary folder, evaluated by a real
run, and its repository checks read real folders, symlinks and git repositories.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from scorecard.catalog import read_catalog
from scorecard.entity import Entity
from scorecard.registry import CheckRegistry
from scorecard.report import CheckResult, RunReport
from scorecard.results import Outcome
from scorecard.runner import evaluate
from scorecard.sources.git import GitCache
from scorecard.tracks import Track, load_track

PASSWD = Path("/etc/passwd")
OUTSIDE = "is outside the allowed repository roots"
ALLOW = "an operator can allow it with repositories.local_roots"

TRACK = """\
apiVersion: scorecard/v1
kind: Track
id: files
title: Repository files
levels:
  - id: bronze
    checks:
      - check: file_matches
        id: root_account
        with: {path: passwd, pattern: "^root:"}
      - check: has_file
        id: dockerfile
        with: {path: "**/Dockerfile"}
      - check: has_file
        id: readme
        with: {path: README.md}
"""


@pytest.fixture
def track(tmp_path: Path, registry: CheckRegistry) -> Track:
    path = tmp_path / "track.yaml"
    path.write_text(TRACK)
    return load_track(path, registry)


@pytest.fixture
def passwd_lines() -> list[str]:
    if not PASSWD.is_file() or not PASSWD.read_text().startswith("root:"):
        pytest.skip("no /etc/passwd with a root account here")
    return [line for line in PASSWD.read_text().splitlines() if line.strip()]


def _git(*args: str, cwd: Path) -> None:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args]
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)


def _catalog_file(folder: Path, name: str, location: str | None) -> Path:
    """A catalog-info.yaml in `folder` describing one component, read as a run reads it."""
    annotations = {} if location is None else {"backstage.io/source-location": location}
    document = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"owner": "team-a"},
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "catalog-info.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _run(
    catalog_file: Path, track: Track, git_cache: GitCache | None = None
) -> dict[str, CheckResult]:
    listing = read_catalog([catalog_file])
    assert listing.problems == []
    report = evaluate(listing.entities, [track], git_cache=git_cache)
    return {r.check_id: r for r in report.results}


def _shown(result: CheckResult) -> str:
    """Everything a result publishes: its message and its evidence."""
    return result.result.message + json.dumps(result.result.evidence)


@pytest.mark.parametrize(
    "location",
    [
        "dir:/etc",
        "dir:../../../../../../../../../../etc",
        "file:/etc/passwd",
        "dir:/",
    ],
)
def test_a_source_location_outside_the_roots_is_unknown_and_quotes_nothing(
    tmp_path: Path, track: Track, passwd_lines: list[str], location: str
) -> None:
    results = _run(_catalog_file(tmp_path / "catalog", "thief", location), track)

    for result in results.values():
        assert result.outcome is Outcome.UNKNOWN, result
        assert f"the source location {location} of component:default/thief {OUTSIDE}" in (
            result.result.message
        )
        assert ALLOW in result.result.message
        shown = _shown(result)
        assert not any(line in shown for line in passwd_lines)
        assert "root:x" not in shown and "/bin/" not in shown


def test_a_refusal_does_not_say_whether_the_path_exists(tmp_path: Path, track: Track) -> None:
    there = _run(_catalog_file(tmp_path / "a", "a", "dir:/etc"), track)["readme"]
    missing = _run(_catalog_file(tmp_path / "b", "b", "dir:/no/such/folder"), track)["readme"]

    assert there.result.message.replace("/etc", "X").replace("default/a", "Y") == (
        missing.result.message.replace("/no/such/folder", "X").replace("default/b", "Y")
    )


def test_a_symlinked_folder_leading_out_is_refused(
    tmp_path: Path, track: Track, passwd_lines: list[str]
) -> None:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "svc").symlink_to("/etc")

    results = _run(_catalog_file(catalog, "linked", "dir:./svc"), track)

    assert {r.outcome for r in results.values()} == {Outcome.UNKNOWN}
    assert OUTSIDE in results["root_account"].result.message
    assert not any(line in _shown(results["root_account"]) for line in passwd_lines)


def test_a_symlinked_file_inside_the_repository_is_not_read(
    tmp_path: Path, track: Track, passwd_lines: list[str]
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "passwd").symlink_to(PASSWD)
    (repo / "etc").symlink_to("/etc")
    (repo / "README.md").write_text("# repo\n")

    results = _run(_catalog_file(repo, "inside", None), track)

    matches = results["root_account"]
    assert matches.outcome is Outcome.FAIL
    assert matches.result.message == f"passwd is missing from {repo.name}."
    assert not any(line in _shown(matches) for line in passwd_lines)
    assert results["readme"].outcome is Outcome.PASS


def test_a_monorepo_subfolder_reaches_up_to_its_repository_root_and_no_further(
    tmp_path: Path, track: Track
) -> None:
    repo = tmp_path / "monorepo"
    (repo / "services" / "a").mkdir(parents=True)
    _git("init", "-q", cwd=repo)
    (repo / "README.md").write_text("# monorepo\n")
    (repo / "deploy").mkdir()
    (repo / "deploy" / "Dockerfile").write_text("FROM x\n")
    (tmp_path / "README.md").write_text("# beside the repository\n")

    up_to_root = _run(_catalog_file(repo / "services" / "a", "a", "dir:../.."), track)
    beyond = _run(_catalog_file(repo / "services" / "b", "b", "dir:../../.."), track)

    assert up_to_root["readme"].outcome is Outcome.PASS
    assert up_to_root["dockerfile"].outcome is Outcome.PASS
    assert beyond["readme"].outcome is Outcome.UNKNOWN
    assert OUTSIDE in beyond["readme"].result.message


def test_a_catalog_outside_any_repository_reaches_only_its_own_folder(
    tmp_path: Path, track: Track
) -> None:
    (tmp_path / "sibling").mkdir()
    (tmp_path / "sibling" / "README.md").write_text("# sibling\n")

    results = _run(_catalog_file(tmp_path / "catalog", "c", "dir:../sibling"), track)

    assert results["readme"].outcome is Outcome.UNKNOWN
    assert OUTSIDE in results["readme"].result.message


def test_a_listed_root_is_reachable(tmp_path: Path, track: Track) -> None:
    shared = tmp_path / "shared" / "svc"
    shared.mkdir(parents=True)
    (shared / "README.md").write_text("# svc\n")
    cache = GitCache(tmp_path / "cache", local_roots=[tmp_path / "shared"])
    catalog_file = _catalog_file(tmp_path / "catalog", "c", f"dir:{shared}")

    assert _run(catalog_file, track)["readme"].outcome is Outcome.UNKNOWN
    assert _run(catalog_file, track, cache)["readme"].outcome is Outcome.PASS


def _served(name: str, managed_by: str, location: str | None = None) -> Entity:
    """An entity as a Backstage catalog API serves it: no catalog file was read."""
    annotations = {"backstage.io/managed-by-location": managed_by}
    if location is not None:
        annotations["backstage.io/source-location"] = location
    document = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"owner": "team-a"},
    }
    return Entity(document, source="http://127.0.0.1:7007/api/catalog")


def _outcomes(report: RunReport) -> dict[tuple[str, str], Outcome]:
    return {(r.entity_ref.split("/")[-1], r.check_id): r.outcome for r in report.results}


def test_entities_from_a_catalog_api_reach_only_listed_roots(
    tmp_path: Path, track: Track, passwd_lines: list[str]
) -> None:
    listed = tmp_path / "repos"
    (listed / "svc").mkdir(parents=True)
    (listed / "svc" / "README.md").write_text("# svc\n")
    (tmp_path / "README.md").write_text("# not listed\n")
    managed = f"file:{listed / 'svc' / 'catalog-info.yaml'}"
    entities = [
        _served("in-root", managed),
        _served("up", managed, "dir:../.."),
        _served("etc", "file:/etc/catalog-info.yaml"),
        _served("etc-source", managed, "dir:/etc"),
    ]
    cache = GitCache(tmp_path / "cache", local_roots=[listed])

    without = _outcomes(evaluate(entities, [track]))
    report = evaluate(entities, [track], git_cache=cache)
    listed_outcomes = _outcomes(report)

    assert {without[e.name, "readme"] for e in entities} == {Outcome.UNKNOWN}
    assert listed_outcomes["in-root", "readme"] is Outcome.PASS
    for name in ("up", "etc", "etc-source"):
        assert listed_outcomes[name, "readme"] is Outcome.UNKNOWN
        assert listed_outcomes[name, "root_account"] is Outcome.UNKNOWN
    etc = next(r for r in report.results if r.entity_ref.endswith("/etc"))
    assert (
        f"the managed-by location file:/etc/catalog-info.yaml of component:default/etc {OUTSIDE}"
        in etc.result.message
    )
    assert not any(line in _shown(etc) for line in passwd_lines)


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    repo = tmp_path / "origins" / "private"
    repo.mkdir(parents=True)
    _git("init", "-q", "-b", "main", cwd=repo)
    (repo / "README.md").write_text("# private\n")
    _git("add", "-A", cwd=repo)
    _git("commit", "-q", "-m", "first", cwd=repo)
    return repo


@pytest.mark.parametrize(
    "url",
    [
        "file://{origin}",
        "file://localhost{origin}",
        "{origin}",
        "file://{origin}/../private",
    ],
)
def test_a_local_remote_outside_the_listed_roots_is_not_cloned(
    tmp_path: Path, origin: Path, url: str
) -> None:
    remote = url.format(origin=origin)
    cache = GitCache(tmp_path / "cache", local_roots=[tmp_path / "elsewhere"])

    fetched = cache.fetch_all([(remote, None)])

    assert fetched[remote, None] == f"it {OUTSIDE}; {ALLOW}"
    assert cache.clones == 0
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())

    listed = GitCache(tmp_path / "cache", local_roots=[origin.parent])
    clone = listed.fetch_all([(remote, None)])[remote, None]
    assert isinstance(clone, Path) and (clone / "README.md").read_text() == "# private\n"


@pytest.mark.parametrize("remote", ["private", "./private", "ext::sh -c true"])
def test_a_relative_or_helper_remote_is_never_cloned(
    tmp_path: Path, origin: Path, remote: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(origin.parent)  # where git would look for a relative path
    cache = GitCache(tmp_path / "cache", local_roots=[origin.parent])

    assert cache.fetch_all([(remote, None)])[remote, None] == f"it {OUTSIDE}; {ALLOW}"
    assert cache.clones == 0


def test_a_file_url_source_location_clones_only_from_a_listed_root(
    tmp_path: Path, origin: Path, track: Track
) -> None:
    catalog_file = _catalog_file(tmp_path / "catalog", "c", f"url:file://{origin}")
    refused = GitCache(tmp_path / "cache", local_roots=[tmp_path / "catalog"])
    allowed = GitCache(tmp_path / "cache", local_roots=[tmp_path / "origins"])

    unknown = _run(catalog_file, track, refused)["readme"]
    passed = _run(catalog_file, track, allowed)["readme"]

    assert unknown.outcome is Outcome.UNKNOWN
    assert unknown.result.message == (
        f"The repository could not be read: file://{origin} could not be fetched: "
        f"it {OUTSIDE}; {ALLOW}"
    )
    assert refused.clones == 0
    assert passed.outcome is Outcome.PASS


def test_the_workspace_file_lists_roots_relative_to_itself(tmp_path: Path) -> None:
    from scorecard.sources.git import git_cache_from
    from scorecard.workspace import Workspace

    (tmp_path / "repos").mkdir()
    path = tmp_path / "scorecard.yaml"
    path.write_text(f"catalog: [catalog/]\nrepositories:\n  local_roots: [repos, {tmp_path}]\n")

    workspace = Workspace.from_file(path)
    cache = git_cache_from(workspace.repositories)

    assert workspace.local_roots == (str(tmp_path / "repos"), str(tmp_path))
    assert cache is not None and cache.local_roots == (tmp_path / "repos", tmp_path)


@pytest.mark.parametrize(
    ("roots", "line", "key", "message"),
    [
        ("[repos, missing]", 4, "repositories.local_roots[1]", "{base}/missing is not a folder"),
        ("[/]", 4, "repositories.local_roots[0]", "/ is the file system root"),
        ('[""]', 4, "repositories.local_roots[0]", "String should have at least 1 character"),
        ("repos", 4, "repositories.local_roots", "Input should be a valid list"),
        ("[[repos]]", 4, "repositories.local_roots[0]", "Input should be a valid string"),
    ],
)
def test_a_bad_local_root_names_file_line_and_key(
    tmp_path: Path, roots: str, line: int, key: str, message: str
) -> None:
    from scorecard.problems import ConfigError
    from scorecard.workspace import Workspace

    (tmp_path / "repos").mkdir()
    path = tmp_path / "scorecard.yaml"
    path.write_text(f"catalog: [catalog/]\nrepositories:\n  cache: cache\n  local_roots: {roots}\n")

    with pytest.raises(ConfigError) as caught:
        Workspace.from_file(path)

    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.key) == (str(path), line, key)
    assert message.format(base=tmp_path) in problem.message


def test_scorecard_run_confines_the_workspace_catalog_to_its_roots(
    tmp_path: Path, passwd_lines: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from scorecard.cli import app

    shared = tmp_path / "shared"
    (shared / "svc").mkdir(parents=True)
    (shared / "svc" / "README.md").write_text("# svc\n")
    (shared / "team.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: listed\n"
        "  annotations:\n    backstage.io/source-location: dir:./svc\nspec:\n  owner: team-a\n"
    )
    catalog = tmp_path / "catalog"
    _catalog_file(catalog, "thief", "dir:/etc")
    (catalog / "all.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: all\n"
        "spec:\n  targets: [../shared/team.yaml, /etc/passwd]\n"
    )
    (tmp_path / "track.yaml").write_text(TRACK)
    config = tmp_path / "scorecard.yaml"
    config.write_text(
        "catalog: [catalog/]\ntracks: [track.yaml]\ndatabase: sqlite:///scorecard.db\n"
        "repositories:\n  local_roots: [shared]\n"
    )
    monkeypatch.chdir(tmp_path)

    done = CliRunner().invoke(app, ["--config", str(config), "run", "--format", "json"])

    assert done.exit_code == 0, done.output
    checks = {
        (e["ref"], c["id"]): c
        for e in json.loads(done.stdout)["entities"]
        for t in e["tracks"]
        for c in t["checks"]
    }
    assert checks["component:default/listed", "readme"]["outcome"] == "pass"
    thief = checks["component:default/thief", "root_account"]
    assert thief["outcome"] == "unknown" and OUTSIDE in thief["message"]
    assert "/etc/passwd is outside the catalog's roots" in done.stderr
    assert not any(line in done.stdout + done.stderr for line in passwd_lines)
