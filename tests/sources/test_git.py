"""Remote repositories as `repo` inputs, with real git over file:// and git daemon."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scorecard.entity import Entity
from scorecard.registry import CheckRegistry
from scorecard.results import Outcome
from scorecard.runner import evaluate
from scorecard.sources.git import GitCache, GitLocation, parse_location
from scorecard.tracks import Track, load_track

TRACK = """\
apiVersion: scorecard/v1
kind: Track
id: repos
title: Repository checks
levels:
  - id: bronze
    checks:
      - check: has_file
        id: has_dockerfile
        with: {path: Dockerfile}
      - check: has_file
        id: has_readme
        with: {path: README.md}
"""


def _git(*args: str, cwd: Path | None = None) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args]
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stdout


def _commit(repo: Path, files: dict[str, str], message: str = "change") -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git("add", "-A", cwd=repo)
    _git("commit", "-q", "-m", message, cwd=repo)


def _origin(base: Path, name: str, files: dict[str, str]) -> Path:
    repo = base / name
    repo.mkdir(parents=True)
    _git("init", "-q", "-b", "main", cwd=repo)
    _commit(repo, files, "first")
    return repo


def _entity(name: str, location: str) -> Entity:
    return Entity(
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": name, "annotations": {"backstage.io/source-location": location}},
            "spec": {"owner": "team-a"},
        }
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def track(tmp_path: Path, registry: CheckRegistry) -> Track:
    path = tmp_path / "repos.yaml"
    path.write_text(TRACK)
    return load_track(path, registry)


@pytest.fixture
def origins(tmp_path: Path) -> Path:
    base = tmp_path / "origins"
    _origin(base, "alpha", {"Dockerfile": "FROM x\n", "services/a/README.md": "# a\n"})
    _origin(base, "beta", {"README.md": "# beta\n"})
    return base


@pytest.fixture
def daemon(origins: Path) -> Iterator[str]:
    """`git daemon` serving the origins on loopback; yields the base URL."""
    port = _free_port()
    process = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            f"--base-path={origins}",
            "--export-all",
            f"--port={port}",
            "--listen=127.0.0.1",
            str(origins),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.skip("git daemon did not start")
                time.sleep(0.05)
        yield f"git://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def _outcomes(report) -> dict[tuple[str, str], Outcome]:  # type: ignore[no-untyped-def]
    return {(r.entity_ref.split("/")[-1], r.check_id): r.result.outcome for r in report.results}


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (
            "url:https://github.com/org/repo/tree/main/services/x",
            GitLocation("https://github.com/org/repo", "main", "services/x"),
        ),
        (
            "url:https://github.com/org/repo/blob/main/services/x/catalog-info.yaml",
            GitLocation("https://github.com/org/repo", "main", "services/x"),
        ),
        (
            "url:https://github.com/org/repo/tree/main/",
            GitLocation("https://github.com/org/repo", "main", ""),
        ),
        (
            "https://gitlab.com/group/sub/repo/-/tree/dev/a/b",
            GitLocation("https://gitlab.com/group/sub/repo", "dev", "a/b"),
        ),
        (
            "https://gitlab.com/group/repo/-/blob/dev/catalog-info.yaml",
            GitLocation("https://gitlab.com/group/repo", "dev", ""),
        ),
        (
            "url:https://bitbucket.org/ws/repo/src/main/svc/",
            GitLocation("https://bitbucket.org/ws/repo", "main", "svc"),
        ),
        ("https://git.example.com/x.git", GitLocation("https://git.example.com/x.git")),
        ("url:https://github.com/org/repo", GitLocation("https://github.com/org/repo")),
        ("ssh://git@host/org/repo.git", GitLocation("ssh://git@host/org/repo.git")),
        ("git@github.com:org/repo.git", GitLocation("git@github.com:org/repo.git")),
        ("file:///srv/git/repo", GitLocation("file:///srv/git/repo")),
        ("file:///srv/git/repo/-/tree/v1/sub", GitLocation("file:///srv/git/repo", "v1", "sub")),
        ("dir:.", None),
        ("file:./catalog-info.yaml", None),
    ],
)
def test_locations_are_parsed(location: str, expected: GitLocation | None) -> None:
    assert parse_location(location) == expected


@pytest.mark.parametrize("location", ["url:ftp://host/x", "mailto:a@b", "url:https:///x"])
def test_locations_that_are_not_git_are_refused(location: str) -> None:
    with pytest.raises(ValueError):
        parse_location(location)


@pytest.mark.parametrize("served", ["file", "daemon"])
def test_one_fetch_per_repository_per_run_then_reuse_and_refresh(
    served: str, tmp_path: Path, origins: Path, track: Track, request: pytest.FixtureRequest
) -> None:
    base = f"file://{origins}" if served == "file" else request.getfixturevalue("daemon")
    entities = [
        _entity("a-root", f"url:{base}/alpha/-/tree/main/"),
        _entity("a-root-again", f"url:{base}/alpha/-/tree/main"),
        _entity("a-service", f"url:{base}/alpha/-/blob/main/services/a/catalog-info.yaml"),
        _entity("b", f"url:{base}/beta"),
        _entity("b-again", f"url:{base}/beta"),
    ]
    cache = GitCache(tmp_path / "cache", max_concurrent=2, timeout=30)

    report = evaluate(entities, [track], git_cache=cache)
    outcomes = _outcomes(report)
    assert (cache.clones, cache.fetches) == (2, 0)  # alpha@main and beta@default, once each
    assert outcomes["a-root", "has_dockerfile"] is Outcome.PASS
    assert outcomes["a-root-again", "has_dockerfile"] is Outcome.PASS
    assert outcomes["a-service", "has_readme"] is Outcome.PASS
    assert outcomes["a-service", "has_dockerfile"] is Outcome.FAIL
    assert outcomes["b", "has_readme"] is Outcome.PASS
    assert outcomes["b", "has_dockerfile"] is Outcome.FAIL
    missing = next(
        r
        for r in report.results
        if r.check_id == "has_dockerfile" and r.entity_ref.split("/")[-1] == "b"
    )
    assert "beta" in missing.result.message  # the repository's name, not the cache folder's

    # The next run reuses the clones: a fetch each, no clone; nothing changed upstream.
    cache = GitCache(tmp_path / "cache", max_concurrent=2, timeout=30)
    assert _outcomes(evaluate(entities, [track], git_cache=cache)) == outcomes
    assert (cache.clones, cache.fetches) == (0, 2)

    # A new commit upstream is seen by the next run's fetch.
    _commit(origins / "beta", {"Dockerfile": "FROM y\n"})
    cache = GitCache(tmp_path / "cache", timeout=30)
    refreshed = _outcomes(evaluate(entities, [track], git_cache=cache))
    assert refreshed["b", "has_dockerfile"] is Outcome.PASS
    assert refreshed["b-again", "has_dockerfile"] is Outcome.PASS
    assert (cache.clones, cache.fetches) == (0, 2)


def test_an_unreachable_remote_is_unknown_with_the_reason(tmp_path: Path, track: Track) -> None:
    port = _free_port()  # nothing listens on it
    token = "fake-token-0123456789abcdef"
    entities = [
        _entity("down", f"url:http://127.0.0.1:{port}/org/repo.git"),
        _entity("also-down", f"url:git://127.0.0.1:{port}/repo"),
    ]
    cache = GitCache(tmp_path / "cache", timeout=20, token=token)
    report = evaluate(entities, [track], git_cache=cache)
    assert cache.network_operations == 2
    assert len(report.results) == 4
    for result in report.results:
        assert result.result.outcome is Outcome.UNKNOWN
        assert f"127.0.0.1:{port}" in result.result.message
        assert "could not be fetched" in result.result.message
        assert token not in result.result.message
        assert token not in str(result.result.evidence)
    assert not list((tmp_path / "cache").iterdir()), "a failed clone leaves nothing behind"


def test_credentials_never_appear_in_messages(tmp_path: Path) -> None:
    token = "s3cret-token-value-abcdef"
    port = _free_port()
    cache = GitCache(tmp_path / "cache", timeout=20, token=token)
    spec = (f"http://user:{token}@127.0.0.1:{port}/x.git", None)
    (reason,) = cache.fetch_all([spec]).values()
    assert isinstance(reason, str) and reason
    assert token not in reason


def test_without_a_cache_remote_locations_are_unknown(track: Track) -> None:
    report = evaluate([_entity("x", "url:https://github.com/org/repo")], [track])
    for result in report.results:
        assert result.result.outcome is Outcome.UNKNOWN
        assert "remote repositories are not configured" in result.result.message


def test_the_cache_evicts_least_recently_used_clones(tmp_path: Path, origins: Path) -> None:
    cache = GitCache(tmp_path / "cache", max_bytes=1)  # every clone is too big to keep
    first = cache.fetch_all([(f"file://{origins}/alpha", None)])
    second = cache.fetch_all([(f"file://{origins}/beta", None)])
    alpha, beta = next(iter(first.values())), next(iter(second.values()))
    assert isinstance(alpha, Path) and isinstance(beta, Path)
    assert not alpha.exists(), "the least recently used clone is evicted"
    assert beta.is_dir(), "a clone the current fetch returned is kept"


def test_the_workspace_file_configures_the_cache(tmp_path: Path) -> None:
    from scorecard.sources.git import git_cache_from
    from scorecard.workspace import Workspace

    path = tmp_path / "scorecard.yaml"
    path.write_text("catalog: [catalog/]\n")
    assert git_cache_from(Workspace.from_file(path).repositories) is None
    path.write_text("catalog: [catalog/]\nrepositories: {max_concurrent: 2, token_env: MY_TOKEN}\n")
    settings = Workspace.from_file(path).repositories
    cache = git_cache_from(settings, {"MY_TOKEN": "t" * 20})
    assert cache is not None
    assert cache.folder == tmp_path / ".scorecard" / "repos"
    assert (cache.max_concurrent, cache.timeout, cache.max_bytes) == (2, 120.0, 2048 << 20)
    assert "t" * 20 not in repr(cache)
