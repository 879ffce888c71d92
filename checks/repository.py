"""Files in the entity's source repository: README, license, owners, CI, security, updates."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, computed_field

from checks.fields import Regex
from checks.fix_templates import read as read_template
from scorecard.fixes.model import Fix, NewFile
from scorecard.inputs import Repo
from scorecard.results import Outcome, Result
from scorecard.sdk import check

_README = re.compile(r"readme(\.(md|markdown|rst|txt|adoc))?", re.IGNORECASE)
# LICENSE, LICENSE.md, LICENSE-MIT, LICENCE.txt, COPYING, COPYING.LESSER, ...
_LICENSE = re.compile(r"(licen[cs]e|copying)([.-].*)?", re.IGNORECASE)
_CODEOWNERS = re.compile(r"codeowners", re.IGNORECASE)
_SECURITY = re.compile(r"security\.md", re.IGNORECASE)

CI_SYSTEMS = {
    "GitHub Actions": (".github/workflows/*.yml", ".github/workflows/*.yaml"),
    "GitLab CI": (".gitlab-ci.yml",),
    "Jenkins": ("Jenkinsfile",),
    "CircleCI": (".circleci/config.yml",),
    "Azure Pipelines": ("azure-pipelines.yml", "azure-pipelines.yaml"),
    "Buildkite": (".buildkite/pipeline.yml", ".buildkite/pipeline.yaml"),
}
DEPENDABOT_FILES = (".github/dependabot.yml", ".github/dependabot.yaml")
RENOVATE_FILES = (
    "renovate.json",
    "renovate.json5",
    ".renovaterc",
    ".renovaterc.json",
    ".renovaterc.json5",
    ".github/renovate.json",
    ".github/renovate.json5",
    ".gitlab/renovate.json",
    ".gitlab/renovate.json5",
)


def _relative(path: str) -> str:
    # Repo refuses paths that leave the repository; saying so at load time beats a
    # check that can never pass.
    parts = PurePosixPath(path).parts
    if not path.strip() or path.startswith("/") or ".." in parts:
        raise ValueError(f"{path!r} must be a path inside the repository, such as docs/index.md")
    return path


RepoPath = Annotated[str, AfterValidator(_relative)]


class FileParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A path or a glob (`docs/*.md`, `**/Dockerfile`).
    path: RepoPath


class FileMatchParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: RepoPath
    # Searched line by line (^ and $ match at each line), case-sensitively unless (?i).
    pattern: Regex
    must_match: bool = True

    # A computed field, so that the remediation template can say which way the rule goes.
    @computed_field
    @property
    def requirement(self) -> str:
        return "contains a match of" if self.must_match else "contains no match of"


def _matching(repo: Repo, path: str) -> list[str]:
    if any(ch in path for ch in "*?["):
        return repo.glob(path)
    return [path] if repo.exists(path) else []


def _files(repo: Repo, path: str) -> list[str]:
    return [match for match in _matching(repo, path) if repo.is_file(match)]


def _named(repo: Repo, name: re.Pattern[str], folders: Sequence[str] = ("",)) -> list[str]:
    # Listing each folder and comparing names ignores case even where the file system does
    # not, so README.md and readme.MD are both found on Linux.
    return [
        path
        for folder in folders
        for path in repo.glob(f"{folder}*")
        if name.fullmatch(PurePosixPath(path).name) and repo.is_file(path)
    ]


def _found(repo: Repo, what: str, paths: list[str], where: str = "") -> Result:
    if paths:
        return Result.passed(f"{repo.label} has {what}: {', '.join(paths)}.", paths=paths)
    return Result.failed(f"{repo.label} does not have {what}{where}.", paths=paths)


@check(
    id="has_file",
    title="Has a required file",
    remediation="Add `{path}` to the repository.",
    params=FileParams,
)
def has_file(repo: Repo, params: FileParams) -> Result:
    """The repository has a file or folder at `path`, which may be a glob (`docs/*.md`,
    `**/Dockerfile`)."""
    found = _matching(repo, params.path)
    if not found:
        return Result.failed(f"{params.path} is missing from {repo.label}.", path=params.path)
    return Result.passed(f"{repo.label} has {', '.join(found)}.", path=params.path, matches=found)


class FileCountParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A path or a glob (`tests/**/test_*.py`).
    path: RepoPath
    # Fewer matching files fail, unless the track gives the check a threshold instead.
    min: int = Field(1, ge=0)


@check(
    id="file_count",
    title="Number of matching files",
    remediation="Add files matching `{path}` until there are at least {min} (or as many as "
    "the track's threshold asks).",
    params=FileCountParams,
)
def file_count(repo: Repo, params: FileCountParams) -> Result:
    """How many files match `path` (a glob such as `tests/**/test_*.py` or `**/*.tf`); it
    passes with at least `min` (1 by default). The count is reported as a number, so a
    track may judge it by a threshold instead (`pass_when: ">= 10"`)."""
    found = _files(repo, params.path)
    shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
    noun = "file matches" if len(found) == 1 else "files match"
    detail = f" ({shown})" if found else ""
    return Result(
        Outcome.PASS if len(found) >= params.min else Outcome.FAIL,
        f"{len(found)} {noun} {params.path} in {repo.label}{detail}.",
        {"value": len(found), "path": params.path, "min": params.min, "matches": found[:50]},
    )


@check(
    id="file_matches",
    title="File content matches",
    remediation="Edit `{path}` so that it {requirement} the regular expression `{pattern}`.",
    params=FileMatchParams,
)
def file_matches(repo: Repo, params: FileMatchParams) -> Result:
    """The file at `path` contains a match of the regular expression `pattern`, searched
    line by line; with `must_match: false` it must not. With a glob, the pattern must appear in
    at least one matching file (or, with `must_match: false`, in none)."""
    files = _files(repo, params.path)
    if not files:
        return Result.failed(f"{params.path} is missing from {repo.label}.", path=params.path)
    regex = re.compile(params.pattern, re.MULTILINE)
    hits = [path for path in files if regex.search(repo.read_text(path) or "")]
    shown = ", ".join(hits or files)
    if params.must_match:
        return Result.from_bool(
            bool(hits),
            f"{shown} in {repo.label} matches /{params.pattern}/.",
            f"{shown} in {repo.label} does not match /{params.pattern}/.",
            files=files,
            matching=hits,
        )
    return Result.from_bool(
        not hits,
        f"{shown} in {repo.label} does not match /{params.pattern}/, as required.",
        f"{shown} in {repo.label} matches /{params.pattern}/, which is not allowed.",
        files=files,
        matching=hits,
    )


# Fix templates read workspace values with `values.get(...)`: a value the workspace does not
# give takes the default written next to it. Templates that run the tests start with this.
_TEST_COMMAND = """\
{% set command = values.get("test_command") or "make test" %}
{% if command is not string or not command.strip() %}
{{ fail("fixes.values.test_command must be a shell command, such as `make test`") }}
{% endif %}
{% set command = command.strip() %}
"""

README_FIX = Fix(
    title="Add a README",
    files=[NewFile(path="README.md", template=_TEST_COMMAND + read_template("README.md.j2"))],
)


@check(
    id="has_readme",
    title="Has a README",
    remediation="Add a README.md to the root of the repository saying what the project does, "
    "how to run it and how to get help.",
    fix=README_FIX,
)
def has_readme(repo: Repo) -> Result:
    """The repository has a README (README, README.md, .rst, .txt, ... in any case) at its
    root."""
    return _found(repo, "a README", _named(repo, _README), " at its root")


# The license texts a fix can write, by SPDX id (compared case-insensitively, as SPDX does).
LICENSE_TEMPLATES = {
    "MIT": "licenses/MIT.txt.j2",
    "Apache-2.0": "licenses/Apache-2.0.txt.j2",
    "BSD-3-Clause": "licenses/BSD-3-Clause.txt.j2",
}
_LICENSE_ID = '((values.get("license") or "MIT") | string | lower)'
_KNOWN_LICENSES = [spdx.lower() for spdx in LICENSE_TEMPLATES]

LICENSE_FIX = Fix(
    title="Add a LICENSE",
    files=[
        *(
            NewFile(
                path="LICENSE",
                template=read_template(template),
                when=f"{_LICENSE_ID} == {spdx.lower()!r}",
            )
            for spdx, template in LICENSE_TEMPLATES.items()
        ),
        # Any other id: no text is better than a wrong one, so the render stops and says
        # where the platform team puts the text of its own license.
        NewFile(
            path="LICENSE",
            template='{{ fail("there is no built-in text for the license " '
            '~ (values.get("license") | string | tojson) ~ " (there are '
            + ", ".join(LICENSE_TEMPLATES)
            + '): give the track entry of " ~ check.id ~ " its own `fix:` whose template is '
            "that license's full text, or set fixes.values.license to one of these\") }}",
            when=f"{_LICENSE_ID} not in {_KNOWN_LICENSES!r}",
        ),
    ],
)


@check(
    id="has_license",
    title="Has a license",
    remediation="Add a LICENSE file with the full license text to the root of the repository.",
    fix=LICENSE_FIX,
)
def has_license(repo: Repo) -> Result:
    """The repository has a license file (LICENSE, LICENCE, COPYING, with any extension) at
    its root."""
    return _found(repo, "a license file", _named(repo, _LICENSE), " at its root")


CODEOWNERS_FIX = Fix(
    title="Add a CODEOWNERS file naming the owning team",
    files=[NewFile(path=".github/CODEOWNERS", template=read_template("CODEOWNERS.j2"))],
)


@check(
    id="has_codeowners",
    title="Has a CODEOWNERS file",
    remediation="Add a CODEOWNERS file (at the root, or in .github/, docs/ or .gitlab/) that "
    "names the owning team for every path:\n\n"
    "    * @my-org/my-team",
    fix=CODEOWNERS_FIX,
)
def has_codeowners(repo: Repo) -> Result:
    """The repository has a CODEOWNERS file at its root or in `.github/`, `docs/` or
    `.gitlab/`, so changes are reviewed by their owners."""
    paths = _named(repo, _CODEOWNERS, ("", ".github/", "docs/", ".gitlab/"))
    return _found(repo, "a CODEOWNERS file", paths, " at its root, .github/, docs/ or .gitlab/")


# `values.ci_system` → where its pipeline lives (a path `has_ci` finds) and its template.
CI_FIX_FILES = {
    "github-actions": (".github/workflows/ci.yml", "ci/github-actions.yml.j2"),
    "gitlab": (".gitlab-ci.yml", "ci/gitlab-ci.yml.j2"),
    "jenkins": ("Jenkinsfile", "ci/Jenkinsfile.j2"),
    "circleci": (".circleci/config.yml", "ci/circleci.yml.j2"),
    "azure": ("azure-pipelines.yml", "ci/azure-pipelines.yml.j2"),
    "buildkite": (".buildkite/pipeline.yml", "ci/buildkite.yml.j2"),
}
_CI_SYSTEM = '((values.get("ci_system") or "github-actions") | string | lower)'

CI_FIX = Fix(
    title="Add a CI pipeline that runs the tests",
    files=[
        *(
            NewFile(
                path=path,
                template=_TEST_COMMAND + read_template(template),
                when=f"{_CI_SYSTEM} == {system!r}",
            )
            for system, (path, template) in CI_FIX_FILES.items()
        ),
        NewFile(
            path="CI pipeline",
            template='{{ fail("there is no built-in pipeline for the CI system " '
            '~ (values.get("ci_system") | string | tojson) ~ ": set fixes.values.ci_system to '
            "one of " + ", ".join(CI_FIX_FILES) + ', or give the track entry of " ~ check.id '
            '~ " its own `fix:`") }}',
            when=f"{_CI_SYSTEM} not in {list(CI_FIX_FILES)!r}",
        ),
    ],
)


@check(
    id="has_ci",
    title="Has continuous integration",
    remediation="Add a CI pipeline that builds and tests every change, for example a GitHub "
    "Actions workflow in .github/workflows/ci.yml:\n\n"
    "    on: [push, pull_request]\n"
    "    jobs:\n"
    "      test:\n"
    "        runs-on: ubuntu-latest\n"
    "        steps:\n"
    "          - uses: actions/checkout@v4\n"
    "          - run: make test",
    fix=CI_FIX,
)
def has_ci(repo: Repo) -> Result:
    """The repository configures continuous integration: GitHub Actions, GitLab CI, Jenkins,
    CircleCI, Azure Pipelines or Buildkite."""
    systems: list[str] = []
    files: list[str] = []
    for system, patterns in CI_SYSTEMS.items():
        found = [path for pattern in patterns for path in _files(repo, pattern)]
        if found:
            systems.append(system)
            files.extend(found)
    if not systems:
        return Result.failed(
            f"{repo.label} has no CI configuration (looked for {', '.join(CI_SYSTEMS)}).",
            systems=systems,
            files=files,
        )
    return Result.passed(
        f"{repo.label} runs CI on {', '.join(systems)}.", systems=systems, files=files
    )


SECURITY_POLICY_FIX = Fix(
    title="Add a security policy (SECURITY.md)",
    files=[NewFile(path="SECURITY.md", template=read_template("SECURITY.md.j2"))],
)


@check(
    id="has_security_policy",
    title="Has a security policy",
    remediation="Add a SECURITY.md (at the root, or in .github/ or docs/) that tells people how "
    "to report a vulnerability privately and which versions get fixes.",
    fix=SECURITY_POLICY_FIX,
)
def has_security_policy(repo: Repo) -> Result:
    """The repository has a SECURITY.md at its root or in `.github/` or `docs/`, saying how to
    report a vulnerability."""
    paths = _named(repo, _SECURITY, ("", ".github/", "docs/"))
    return _found(repo, "a security policy", paths, " (SECURITY.md at its root, .github/ or docs/)")


_DEPENDENCY_TOOL = '((values.get("dependency_updates") or "dependabot") | string | lower)'
# A template cannot see which package managers a repository uses; GitHub Actions is the
# one Dependabot ecosystem that is harmless where it finds nothing to update.
_ECOSYSTEMS = """\
{% set given = values.get("dependency_ecosystems") %}
{% set defaulted = not given %}
{% set ecosystems = [given] if given is string else (given or ["github-actions"]) %}
{% if ecosystems is mapping or ecosystems is not sequence or ecosystems | reject("string") | list %}
{{ fail("fixes.values.dependency_ecosystems must be a list of Dependabot package "
        ~ "ecosystems, such as [pip, github-actions]") }}
{% endif %}
"""
RENOVATE_CONFIG = """\
{
  "$schema": "https://docs.renovatebot.com/renovate-schema.json",
  "extends": ["config:recommended"]
}
"""

DEPENDENCY_UPDATES_FIX = Fix(
    title="Turn on automated dependency updates",
    files=[
        NewFile(
            path=".github/dependabot.yml",
            template=_ECOSYSTEMS + read_template("dependabot.yml.j2"),
            when=f"{_DEPENDENCY_TOOL} == 'dependabot'",
        ),
        NewFile(
            path="renovate.json",
            template=RENOVATE_CONFIG,
            when=f"{_DEPENDENCY_TOOL} == 'renovate'",
        ),
        NewFile(
            path="dependency updates",
            template='{{ fail("fixes.values.dependency_updates is dependabot or renovate, not " '
            '~ (values.get("dependency_updates") | string | tojson)) }}',
            when=f"{_DEPENDENCY_TOOL} not in ['dependabot', 'renovate']",
        ),
    ],
)


@check(
    id="has_dependency_updates",
    title="Has automated dependency updates",
    remediation="Turn on automated dependency updates, for example with Dependabot in "
    ".github/dependabot.yml:\n\n"
    "    version: 2\n"
    "    updates:\n"
    "      - package-ecosystem: pip\n"
    "        directory: /\n"
    "        schedule:\n"
    "          interval: weekly\n\n"
    "or with Renovate: a renovate.json at the root that extends `config:recommended`.",
    fix=DEPENDENCY_UPDATES_FIX,
)
def has_dependency_updates(repo: Repo) -> Result:
    """The repository keeps its dependencies up to date with Dependabot or Renovate
    (a config file, or a `renovate` key in package.json)."""
    tools: list[str] = []
    files = [path for path in DEPENDABOT_FILES if repo.is_file(path)]
    if files:
        tools.append("Dependabot")
    renovate = [path for path in RENOVATE_FILES if repo.is_file(path)]
    if _package_json_has_renovate(repo):
        renovate.append("package.json")
    if renovate:
        tools.append("Renovate")
        files.extend(renovate)
    if not tools:
        return Result.failed(
            f"{repo.label} has no Dependabot or Renovate configuration.", tools=tools, files=files
        )
    return Result.passed(
        f"{repo.label} updates dependencies with {' and '.join(tools)} ({', '.join(files)}).",
        tools=tools,
        files=files,
    )


def _package_json_has_renovate(repo: Repo) -> bool:
    text = repo.read_text("package.json")
    if text is None:
        return False
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError:
        # A broken package.json configures nothing; other checks may report it.
        return False
    return isinstance(manifest, dict) and "renovate" in manifest
