"""Row 9's fixture: local git repositories, a catalog that reads them as remote
repositories, and the baseline of plain shallow clones.

The repositories are served over `file://` URLs, so git does what it does for a remote
(`--depth 1` is ignored for a plain path): both sides of the row clone the very same URLs.
What each repository holds is decided up front (`Layout`), so the passes the six checks
must count follow from it without reading a single file back.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.peer import Unavailable
from scorecard.entity import Entity
from scorecard.inputs import SOURCE_LOCATION

TRACK_FILE = Path(__file__).resolve().parent / "track-repos.yaml"
SEED = 20_241_123
ENTITIES_PER_REPO = 5
# Every repository's one commit, so the same seed makes the same commits.
_COMMITTER = "Bench <bench@example.com> 1700000000 +0000"
_SOURCE_FILES = 8  # some body beside the files the checks look for


@dataclass(frozen=True, slots=True)
class Layout:
    """What one repository holds; each check's verdict follows from it."""

    readme: str | None  # the README's name at the root
    license: str | None
    codeowners: str | None  # its path: at the root, in .github/ or docs/
    ci: str | None  # a CI configuration file
    security: str | None  # SECURITY.md's path
    updates: str | None  # a Dependabot or Renovate configuration
    package_json: bool  # a package.json without a `renovate` key: configures nothing

    @property
    def passes(self) -> dict[str, bool]:
        """Check id → whether the track's check passes on this repository."""
        return {
            "has_readme": self.readme is not None,
            "has_license": self.license is not None,
            "has_codeowners": self.codeowners is not None,
            "has_ci": self.ci is not None,
            "has_security_policy": self.security is not None,
            "has_dependency_updates": self.updates is not None,
        }


def _maybe(rng: random.Random, share: float, choices: Sequence[str]) -> str | None:
    return rng.choice(choices) if rng.random() < share else None


def layouts(count: int) -> list[Layout]:
    """`count` repositories half-way through adopting the standards, from a fixed seed."""
    rng = random.Random(SEED)
    result = []
    for _ in range(count):
        updates = _maybe(rng, 0.5, (".github/dependabot.yml", "renovate.json", "package.json"))
        result.append(
            Layout(
                readme=_maybe(rng, 0.95, ("README.md", "readme.md", "README.rst")),
                license=_maybe(rng, 0.8, ("LICENSE", "LICENSE.md", "COPYING")),
                codeowners=_maybe(
                    rng, 0.6, ("CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS")
                ),
                ci=_maybe(rng, 0.75, (".github/workflows/ci.yml", ".gitlab-ci.yml", "Jenkinsfile")),
                security=_maybe(rng, 0.4, ("SECURITY.md", ".github/SECURITY.md")),
                updates=updates,
                package_json=updates != "package.json" and rng.random() < 0.3,
            )
        )
    return result


def files_of(index: int, layout: Layout) -> dict[str, str]:
    """The repository's files: path → text."""
    name = f"repo-{index:03d}"
    files = {
        "Dockerfile": 'FROM python:3.12-slim\nCOPY src/ /app/\nCMD ["python", "/app/main.py"]\n',
        "catalog-info.yaml": f"apiVersion: backstage.io/v1alpha1\nkind: Component\n"
        f"metadata:\n  name: {name}\nspec:\n  owner: team-{index % 30:02d}\n",
    }
    for n in range(_SOURCE_FILES):
        files[f"src/module_{n}.py"] = "".join(
            f"def handler_{n}_{k}(event):\n    return {{'id': {k}, 'repo': '{name}'}}\n\n"
            for k in range(40)
        )
    if layout.readme:
        files[layout.readme] = f"# {name}\n\nWhat it does, how to run it, where to get help.\n"
    if layout.license:
        files[layout.license] = "MIT License\n\nCopyright (c) the bench\n"
    if layout.codeowners:
        files[layout.codeowners] = f"* @org/team-{index % 30:02d}\n"
    if layout.ci:
        files[layout.ci] = "on: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
    if layout.security:
        files[layout.security] = "Report vulnerabilities to security@example.com.\n"
    if layout.updates == "package.json":
        files["package.json"] = '{"name": "x", "renovate": {"extends": ["config:recommended"]}}\n'
    elif layout.updates:
        files[layout.updates] = "version: 2\nupdates: []\n"
    if layout.package_json:
        files["package.json"] = '{"name": "x", "private": true}\n'
    return files


def _fast_import_stream(files: dict[str, str]) -> bytes:
    """One commit on `main` holding these files, as `git fast-import` reads it."""
    message = b"first"
    out = [
        b"commit refs/heads/main\n",
        f"committer {_COMMITTER}\n".encode(),
        b"data %d\n%s\n" % (len(message), message),
    ]
    for path, text in sorted(files.items()):
        data = text.encode()
        out.append(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data))
    return b"".join(out)


def _git(git: str, *args: str, stdin: bytes | None = None) -> None:
    done = subprocess.run([git, *args], input=stdin, capture_output=True)
    if done.returncode != 0:
        error = done.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"git {' '.join(args[:2])} failed: {error[-500:]}")


def require_git() -> str:
    """The git executable, or Unavailable (the row is skipped, or fails with --require-tools)."""
    git = shutil.which("git")
    if git is None:
        raise Unavailable("git is not installed")
    return git


def create_origins(folder: Path, layouts_: Sequence[Layout], git: str) -> list[str]:
    """A bare repository per layout under `folder`, one commit each; their file:// URLs.

    `git fast-import` writes a commit's blobs, tree and commit in one process without a
    work tree or an index, and the empty `--template=` skips copying sample hooks: the
    200 repositories take about two seconds. Their creation is not timed.
    """
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)

    def create(index: int) -> str:
        path = folder / f"repo-{index:03d}"
        _git(git, "init", "--quiet", "--bare", "--template=", "--initial-branch=main", str(path))
        stream = _fast_import_stream(files_of(index, layouts_[index]))
        _git(git, "--git-dir", str(path), "fast-import", "--quiet", stdin=stream)
        return path.as_uri()

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(create, range(len(layouts_))))


def entities(urls: Sequence[str]) -> list[Entity]:
    """`ENTITIES_PER_REPO` components per repository, reading it through its source location.

    The location is spelt with and without the `url:` prefix and a trailing slash, as
    catalogs do: every spelling names the same (url, ref), fetched once.
    """
    spellings = ("url:{}", "url:{}/", "{}", "{}/", "url:{}")
    result = []
    for index, url in enumerate(urls):
        for n in range(ENTITIES_PER_REPO):
            document = {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": {
                    "name": f"repo-{index:03d}-part-{n}",
                    "annotations": {SOURCE_LOCATION: spellings[n % len(spellings)].format(url)},
                },
                "spec": {"type": "service", "lifecycle": "production", "owner": "team-00"},
            }
            result.append(Entity(document, source="bench"))
    return result


def plain_clones(urls: Sequence[str], folder: Path, concurrency: int, git: str) -> float:
    """Seconds for `git clone --depth 1` of every URL into `folder`, `concurrency` at once."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)

    def clone(index: int) -> None:
        _git(git, "clone", "--quiet", "--depth", "1", urls[index], str(folder / f"{index:03d}"))

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(clone, range(len(urls))))
    return time.perf_counter() - start
