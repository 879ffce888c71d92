from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from checks.repository import (
    file_count,
    file_matches,
    has_ci,
    has_codeowners,
    has_dependency_updates,
    has_file,
    has_license,
    has_readme,
    has_security_policy,
)
from scorecard.inputs import Repo
from scorecard.results import Outcome
from scorecard.sdk import Check
from scorecard.testing import run_check

PASS, FAIL = Outcome.PASS, Outcome.FAIL
WORKFLOW = "on: push\njobs: {}\n"
DOCKERFILE = "FROM python:3.12-slim\nUSER app\n"


def case(check: Check, files: dict[str, str], expected: Outcome, name: str, **params: Any) -> Any:
    return pytest.param(check, files, params, expected, id=f"{check.id}-{name}")


CASES = [
    case(has_file, {"Dockerfile": DOCKERFILE}, PASS, "exact", path="Dockerfile"),
    case(has_file, {"docs/index.md": "# Docs"}, PASS, "glob", path="docs/*.md"),
    case(has_file, {"svc/api/Dockerfile": DOCKERFILE}, PASS, "deep-glob", path="**/Dockerfile"),
    case(has_file, {"docs/index.md": "# Docs"}, PASS, "folder", path="docs"),
    case(has_file, {".github/pull_request_template.md": ""}, PASS, "hidden", path=".github/*.md"),
    case(has_file, {"README.md": ""}, FAIL, "missing", path="Dockerfile"),
    case(has_file, {"docs/index.rst": ""}, FAIL, "glob-missing", path="docs/*.md"),
    case(
        file_count, {"tests/test_a.py": "", "tests/b.py": ""}, PASS, "one", path="tests/test_*.py"
    ),
    case(file_count, {"tests/b.py": ""}, FAIL, "none", path="tests/test_*.py"),
    case(file_count, {"t/test_a.py": ""}, FAIL, "too-few", path="t/test_*.py", min=2),
    case(file_count, {}, PASS, "none-needed", path="t/*.py", min=0),
    case(
        file_matches, {"Dockerfile": DOCKERFILE}, PASS, "match", path="Dockerfile", pattern="USER"
    ),
    # ^ and $ match at each line.
    case(
        file_matches, {"Dockerfile": DOCKERFILE}, PASS, "line", path="Dockerfile", pattern="^USER"
    ),
    case(
        file_matches,
        {"Dockerfile": DOCKERFILE},
        FAIL,
        "no-match",
        path="Dockerfile",
        pattern="^RUN",
    ),
    case(file_matches, {}, FAIL, "missing", path="Dockerfile", pattern="USER"),
    case(file_matches, {"Dockerfile/x": ""}, FAIL, "folder", path="Dockerfile", pattern="."),
    case(
        file_matches,
        {"Dockerfile": DOCKERFILE},
        PASS,
        "forbidden-absent",
        path="Dockerfile",
        pattern=":latest",
        must_match=False,
    ),
    case(
        file_matches,
        {"Dockerfile": "FROM python:latest\n"},
        FAIL,
        "forbidden-present",
        path="Dockerfile",
        pattern=":latest",
        must_match=False,
    ),
    case(
        file_matches,
        {},
        FAIL,
        "forbidden-missing-file",
        path="Dockerfile",
        pattern=":latest",
        must_match=False,
    ),
    case(
        file_matches,
        {".github/workflows/ci.yml": WORKFLOW, ".github/workflows/codeql.yml": "codeql-action"},
        PASS,
        "glob-any-file",
        path=".github/workflows/*.yml",
        pattern="codeql",
    ),
    case(
        file_matches,
        {".github/workflows/ci.yml": WORKFLOW},
        FAIL,
        "glob-no-file-matches",
        path=".github/workflows/*.yml",
        pattern="codeql",
    ),
    case(
        file_matches,
        {".github/workflows/a.yml": WORKFLOW, ".github/workflows/b.yml": "pull_request_target"},
        FAIL,
        "glob-forbidden-in-one",
        path=".github/workflows/*.yml",
        pattern="pull_request_target",
        must_match=False,
    ),
    case(has_readme, {"README.md": "# Payments"}, PASS, "md"),
    case(has_readme, {"README": "Payments"}, PASS, "bare"),
    case(has_readme, {"readme.md": "# Payments"}, PASS, "lowercase"),
    case(has_readme, {"Readme.rst": "Payments"}, PASS, "rst"),
    case(has_readme, {"README.txt": "Payments"}, PASS, "txt"),
    case(has_readme, {}, FAIL, "none"),
    case(has_readme, {"docs/README.md": "# Docs"}, FAIL, "not-at-root"),
    case(has_readme, {"README.md/x": ""}, FAIL, "folder"),
    case(has_readme, {"README.old": ""}, FAIL, "other-extension"),
    case(has_license, {"LICENSE": "Apache"}, PASS, "bare"),
    case(has_license, {"LICENSE.md": "MIT"}, PASS, "md"),
    case(has_license, {"LICENSE.txt": "MIT"}, PASS, "txt"),
    case(has_license, {"LICENCE": "MIT"}, PASS, "british"),
    case(has_license, {"LICENSE-MIT": "MIT", "LICENSE-APACHE": "Apache"}, PASS, "dual"),
    case(has_license, {"COPYING": "GPL"}, PASS, "copying"),
    case(has_license, {}, FAIL, "none"),
    case(has_license, {"docs/LICENSE": "MIT"}, FAIL, "not-at-root"),
    case(has_codeowners, {"CODEOWNERS": "* @acme/payments"}, PASS, "root"),
    case(has_codeowners, {".github/CODEOWNERS": "* @acme/payments"}, PASS, "github"),
    case(has_codeowners, {"docs/CODEOWNERS": "* @acme/payments"}, PASS, "docs"),
    case(has_codeowners, {".gitlab/CODEOWNERS": "* @acme/payments"}, PASS, "gitlab"),
    case(has_codeowners, {}, FAIL, "none"),
    case(has_codeowners, {"src/CODEOWNERS": "* @acme/payments"}, FAIL, "elsewhere"),
    case(has_ci, {".github/workflows/ci.yml": WORKFLOW}, PASS, "github-yml"),
    case(has_ci, {".github/workflows/test.yaml": WORKFLOW}, PASS, "github-yaml"),
    case(has_ci, {".gitlab-ci.yml": "test:\n  script: make\n"}, PASS, "gitlab"),
    case(has_ci, {"Jenkinsfile": "pipeline {}"}, PASS, "jenkins"),
    case(has_ci, {".circleci/config.yml": "version: 2.1"}, PASS, "circleci"),
    case(has_ci, {"azure-pipelines.yml": "steps: []"}, PASS, "azure"),
    case(has_ci, {".buildkite/pipeline.yml": "steps: []"}, PASS, "buildkite"),
    case(has_ci, {}, FAIL, "none"),
    case(has_ci, {".github/workflows/README.md": "later"}, FAIL, "no-workflow"),
    case(has_ci, {"ci/.gitlab-ci.yml": "test: {}"}, FAIL, "not-at-root"),
    case(has_security_policy, {"SECURITY.md": "Mail security@"}, PASS, "root"),
    case(has_security_policy, {".github/SECURITY.md": "Mail security@"}, PASS, "github"),
    case(has_security_policy, {"docs/security.md": "Mail security@"}, PASS, "docs-lowercase"),
    case(has_security_policy, {}, FAIL, "none"),
    case(has_security_policy, {"src/SECURITY.md": "Mail security@"}, FAIL, "elsewhere"),
    case(has_dependency_updates, {".github/dependabot.yml": "version: 2"}, PASS, "dependabot"),
    case(
        has_dependency_updates, {".github/dependabot.yaml": "version: 2"}, PASS, "dependabot-yaml"
    ),
    case(has_dependency_updates, {"renovate.json": "{}"}, PASS, "renovate"),
    case(has_dependency_updates, {".renovaterc": "{}"}, PASS, "renovaterc"),
    case(has_dependency_updates, {".github/renovate.json5": "{}"}, PASS, "renovate-github"),
    case(has_dependency_updates, {".gitlab/renovate.json": "{}"}, PASS, "renovate-gitlab"),
    case(
        has_dependency_updates,
        {"package.json": '{"name": "web", "renovate": {"extends": ["config:recommended"]}}'},
        PASS,
        "renovate-in-package-json",
    ),
    case(has_dependency_updates, {}, FAIL, "none"),
    case(has_dependency_updates, {"package.json": '{"name": "web"}'}, FAIL, "package-json-plain"),
    case(has_dependency_updates, {"package.json": '{"renovate": '}, FAIL, "package-json-broken"),
    case(has_dependency_updates, {"package.json": '["renovate"]'}, FAIL, "package-json-list"),
    case(has_dependency_updates, {"dependabot.yml": "version: 2"}, FAIL, "dependabot-at-root"),
]


@pytest.mark.parametrize(("check", "files", "params", "expected"), CASES)
def test_outcome(
    check: Check, files: dict[str, str], params: dict[str, Any], expected: Outcome
) -> None:
    result = run_check(check, repo=files, params=params or None)
    assert result.outcome == expected, result.message


EVIDENCE = [
    pytest.param(
        has_ci,
        {".github/workflows/ci.yml": WORKFLOW, "Jenkinsfile": "pipeline {}"},
        {
            "systems": ["GitHub Actions", "Jenkins"],
            "files": [".github/workflows/ci.yml", "Jenkinsfile"],
        },
        id="ci-two-systems",
    ),
    pytest.param(
        has_dependency_updates,
        {".github/dependabot.yml": "version: 2", "package.json": '{"renovate": {}}'},
        {"tools": ["Dependabot", "Renovate"], "files": [".github/dependabot.yml", "package.json"]},
        id="updates-both-tools",
    ),
    pytest.param(has_dependency_updates, {}, {"tools": [], "files": []}, id="updates-nothing"),
    pytest.param(
        has_readme,
        {"README.md": "# Hi", "readme.txt": "hi"},
        {"paths": ["README.md", "readme.txt"]},
        id="two-readmes",
    ),
]


@pytest.mark.parametrize(("check", "files", "evidence"), EVIDENCE)
def test_evidence(check: Check, files: dict[str, str], evidence: dict[str, Any]) -> None:
    assert run_check(check, repo=files).evidence == evidence


MESSAGES = [
    pytest.param(
        has_file, {}, {"path": "Dockerfile"}, "Dockerfile is missing from example.", id="has-file"
    ),
    pytest.param(
        file_matches,
        {"Dockerfile": "FROM python:latest\n"},
        {"path": "Dockerfile", "pattern": ":latest", "must_match": False},
        "Dockerfile in example matches /:latest/, which is not allowed.",
        id="forbidden",
    ),
    pytest.param(
        has_ci,
        {".gitlab-ci.yml": "test: {}"},
        {},
        "example runs CI on GitLab CI.",
        id="ci",
    ),
]


@pytest.mark.parametrize(("check", "files", "params", "message"), MESSAGES)
def test_message(check: Check, files: dict[str, str], params: dict[str, Any], message: str) -> None:
    assert run_check(check, repo=files, params=params or None).message == message


BAD_PARAMS = [
    pytest.param(has_file, {}, id="has-file-no-path"),
    pytest.param(has_file, {"path": ""}, id="has-file-empty-path"),
    pytest.param(has_file, {"path": "/etc/passwd"}, id="has-file-absolute"),
    pytest.param(has_file, {"path": "../other/README.md"}, id="has-file-outside"),
    pytest.param(file_matches, {"path": "Dockerfile"}, id="file-matches-no-pattern"),
    pytest.param(file_matches, {"path": "Dockerfile", "pattern": "("}, id="bad-regex"),
    pytest.param(file_matches, {"path": "a/../../b", "pattern": "x"}, id="file-matches-outside"),
    pytest.param(
        file_matches, {"path": "Dockerfile", "pattern": "x", "must": True}, id="unknown-key"
    ),
]


@pytest.mark.parametrize(("check", "params"), BAD_PARAMS)
def test_bad_params(check: Check, params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        check.parse_params(params)


@pytest.mark.parametrize(
    ("must_match", "text"), [(True, "contains a match of"), (False, "contains no match of")]
)
def test_file_matches_remediation_follows_must_match(must_match: bool, text: str) -> None:
    params = file_matches.parse_params(
        {"path": "Dockerfile", "pattern": "USER", "must_match": must_match}
    )
    assert file_matches.remediation_for(params) == (
        f"Edit `Dockerfile` so that it {text} the regular expression `USER`."
    )


SECRET = "s3cr3t-line-of-a-file"
# Every repository check, with params where it needs them, and a glob in the first two.
EVERY_CHECK = [
    pytest.param(has_file, {"path": "**/Dockerfile"}, id="has-file"),
    pytest.param(file_matches, {"path": "**/*.md", "pattern": "^s3cr3t"}, id="file-matches"),
    pytest.param(has_readme, {}, id="readme"),
    pytest.param(has_license, {}, id="license"),
    pytest.param(has_codeowners, {}, id="codeowners"),
    pytest.param(has_ci, {}, id="ci"),
    pytest.param(has_security_policy, {}, id="security"),
]


# has_ci's globs name their folders (.github/workflows/*.yml): absent, nothing is walked.
@pytest.mark.parametrize(("check", "params"), [p for p in EVERY_CHECK if p.id != "ci"])
def test_a_glob_past_its_limit_is_unknown_never_a_verdict_on_part_of_the_tree(
    check: Check, params: dict[str, Any], tmp_path: Path
) -> None:
    for i in range(40):
        (tmp_path / f"file-{i}.md").write_text(SECRET)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "Dockerfile").write_text(SECRET)

    result = run_check(check, repo=Repo(tmp_path, max_glob_entries=20), params=params or None)

    assert result.outcome is Outcome.UNKNOWN
    assert "stopped before the end: it looked at more than 20 entries" in result.message
    assert SECRET not in result.message + repr(result.evidence)


@pytest.mark.parametrize(("check", "params"), EVERY_CHECK)
def test_no_repository_check_quotes_what_a_file_holds(check: Check, params: dict[str, Any]) -> None:
    names = ["README.md", "LICENSE", "CODEOWNERS", "SECURITY.md", "Jenkinsfile", "Dockerfile"]
    files = {name: f"{SECRET}\n" for name in names}
    files["package.json"] = f'{{"renovate": "{SECRET}"}}'

    result = run_check(check, repo=files, params=params or None)

    assert result.outcome is Outcome.PASS
    assert SECRET not in result.message + repr(result.evidence)
