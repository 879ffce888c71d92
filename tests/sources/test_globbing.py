"""Repository globs: pathlib's matching, never out of the root, bounded in entries and time."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorecard.inputs import GlobTooLarge, InputUnavailable, Repo
from scorecard.sources.globbing import GlobLimitReached, confined_glob

FILES = [
    "Dockerfile",
    "README.md",
    ".github/workflows/ci.yml",
    ".github/CODEOWNERS",
    "docs/index.md",
    "docs/guide/start.md",
    "services/api/Dockerfile",
    "services/api/src/main.py",
    "services/web/[x].txt",
    ".git/config",
    ".git/Dockerfile",
]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for name in FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    return root.resolve()


@pytest.mark.parametrize(
    "pattern",
    [
        "*",
        "**",
        "**/",
        "**/Dockerfile",
        "**/*.md",
        "docs/**/*.md",
        "docs/*",
        ".github/*",
        ".github/**",
        "services/*/Dockerfile",
        "services/**",
        "*/api/*",
        "?ocs/*.md",
        "[Dd]ocs",
        "services/web/[[]x].txt",
        "docs/",
        "README.md",
        "missing/*",
    ],
)
def test_matches_as_pathlib_does_without_git(repo: Path, pattern: str) -> None:
    expected = sorted(
        p.relative_to(repo).as_posix()
        for p in repo.glob(pattern)
        if ".git" not in p.relative_to(repo).parts
    )
    assert confined_glob(repo, pattern) == expected


@pytest.mark.parametrize("pattern", ["../*", "docs/../../*", "/etc/*", "/", "", "./", ".."])
def test_patterns_that_leave_the_root_match_nothing(repo: Path, pattern: str) -> None:
    assert confined_glob(repo, pattern) == []


def test_symlinks_never_lead_out(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "Dockerfile").write_text("FROM secret\n")
    (outside / "deep" / "Dockerfile").write_text("FROM secret\n")
    (repo / "out").symlink_to(outside)
    (repo / "services" / "out").symlink_to(outside)
    (repo / "secret.md").symlink_to(outside / "Dockerfile")
    (repo / "docs" / "alias").symlink_to(repo / "docs" / "guide")  # inside: kept

    found = confined_glob(repo, "**/Dockerfile") + confined_glob(repo, "*/*")
    found += confined_glob(repo, "**/*.md") + confined_glob(repo, "out/**")

    assert not [p for p in found if p.startswith(("out", "services/out", "secret"))]
    assert "docs/alias/start.md" in confined_glob(repo, "docs/*/start.md")
    view = Repo(repo)
    assert view.read_text("out/Dockerfile") is None and not view.exists("secret.md")
    assert not view.exists("out/deep/*") and view.glob("out/*") == []


def test_a_symlink_loop_ends(repo: Path) -> None:
    (repo / "docs" / "loop").symlink_to(repo / "docs")
    (repo / "self").symlink_to(".")

    assert confined_glob(repo, "**/start.md") == ["docs/guide/start.md"]
    assert confined_glob(repo, "self/self/self/README.md") == ["self/self/self/README.md"]


def test_a_walk_past_its_entry_limit_raises_instead_of_answering(repo: Path) -> None:
    for i in range(60):
        (repo / "docs" / f"page-{i}.md").write_text("")

    with pytest.raises(GlobLimitReached, match="more than 50 entries"):
        confined_glob(repo, "**/Dockerfile", max_entries=50)
    # A narrow pattern stays under the limit: it does not list what it need not.
    assert confined_glob(repo, "services/api/Dockerfile", max_entries=50) == [
        "services/api/Dockerfile"
    ]


def test_a_walk_past_its_time_limit_raises(repo: Path) -> None:
    for i in range(600):
        (repo / "docs" / f"page-{i}.md").write_text("")
    ticks = iter(range(10**6))

    with pytest.raises(GlobLimitReached, match="more than 2 seconds"):
        confined_glob(repo, "**/*.md", max_seconds=2, clock=lambda: next(ticks))


def test_the_repo_view_makes_the_limit_an_unavailable_input_every_time(repo: Path) -> None:
    view = Repo(repo, max_glob_entries=5)

    for _ in range(2):  # the second call is answered from the memo, with the same refusal
        with pytest.raises(GlobTooLarge) as caught:
            view.glob("**/Dockerfile")
        assert isinstance(caught.value, InputUnavailable)
        assert str(caught.value) == (
            f"the glob **/Dockerfile in {repo.name} stopped before the end: it looked at more "
            "than 5 entries (the limit of one glob), so it is not judged on part of the "
            "repository"
        )
    assert view.exists("README.md")  # a plain path is looked up, not walked
