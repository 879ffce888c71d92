"""The built-in checks' fixes: each one, rendered for an entity and applied for real (its files
written into a repository folder, its catalog change made to catalog-info.yaml by the
catalog editor), makes its check pass."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from checks.annotations import has_annotation, has_oncall, has_techdocs
from checks.fields import entity_field
from checks.metadata import (
    TAG_SLOTS,
    has_description,
    has_lifecycle,
    has_system,
    has_tags,
    has_title,
)
from checks.ownership import has_owner, owner_exists, owner_is_group
from checks.repository import (
    CI_FIX_FILES,
    has_ci,
    has_codeowners,
    has_dependency_updates,
    has_license,
    has_readme,
    has_security_policy,
)
from scorecard.entity import Entity
from scorecard.fixes.catalog_edit import edit_catalog_text
from scorecard.fixes.model import CatalogChange, FileChange, Fix, NewFile
from scorecard.fixes.templates import FixTemplateError, compile_fix, fix_context, render_fix
from scorecard.registry import CheckRegistry
from scorecard.results import Outcome
from scorecard.sdk import Check
from scorecard.testing import run_check
from tests.builders import TEAM, catalog_yaml, component

TODAY = date(2031, 5, 17)
NAME = "payments-api"
# TEAM is group:default/data, so the owner's name is `data`.
OWNER_NAME = "data"


def document(**changes: Any) -> dict[str, Any]:
    """The Component the tests fix, with `metadata` and `spec` keys changed (None removes)."""
    doc = component(NAME, description="Takes card payments for the web shop.")
    for section in ("metadata", "spec"):
        for key, value in changes.pop(section, {}).items():
            if value is None:
                doc[section].pop(key, None)
            else:
                doc[section][key] = value
    assert not changes, changes
    return doc


def render(
    check: Check,
    doc: dict[str, Any],
    values: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    today: date | None = TODAY,
) -> tuple[tuple[FileChange, ...], CatalogChange | None]:
    assert check.fix is not None, f"{check.id} declares no fix"
    params_model = check.parse_params(params)
    context = fix_context(
        Entity(doc), params_model, values or {}, check.id, check.meta.title, today=today
    )
    return render_fix(check.fix, context, f"the fix of {check.id}")


def fix_repository(
    root: Path,
    check: Check,
    doc: dict[str, Any],
    values: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Check that `check` fails on an empty repository, write its fix's files there, check
    that it passes now; the files written, by path."""
    root.mkdir(exist_ok=True)
    before = run_check(check, doc, repo=root)
    assert before.outcome is Outcome.FAIL, before.message
    files, catalog = render(check, doc, values)
    assert catalog is None
    for change in files:
        target = root / change.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(change.content, encoding="utf-8")
    after = run_check(check, doc, repo=root)
    assert after.outcome is Outcome.PASS, after.message
    return {change.path: change.content for change in files}


def fix_catalog(
    tmp_path: Path,
    check: Check,
    doc: dict[str, Any],
    values: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Check that `check` fails on `doc`, make its fix's catalog change to a catalog-info.yaml
    holding `doc`, check that the edited entity passes; the edited document."""
    before = run_check(check, doc, params=params)
    assert before.outcome is Outcome.FAIL, before.message
    _, change = render(check, doc, values, params)
    assert change is not None and not change.is_empty()
    catalog = tmp_path / "catalog-info.yaml"
    catalog.write_text(catalog_yaml(doc), encoding="utf-8")
    entity = Entity(doc)
    edited = edit_catalog_text(
        catalog.read_text(encoding="utf-8"),
        (entity.kind, entity.namespace, entity.name),
        change,
        source=str(catalog),
    )
    fixed = yaml.safe_load(edited)
    after = run_check(check, fixed, params=params)
    assert after.outcome is Outcome.PASS, after.message
    return fixed


def fails(
    check: Check,
    doc: dict[str, Any],
    values: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> str:
    with pytest.raises(FixTemplateError) as caught:
        render(check, doc, values, params)
    return str(caught.value)


# --- the library as a whole -----------------------------------------------------------------


FIXED = {
    "entity_field", "has_annotation", "has_ci", "has_codeowners", "has_dependency_updates",
    "has_license", "has_lifecycle", "has_oncall", "has_readme", "has_security_policy",
    "has_system", "has_tags", "has_techdocs", "has_title",
}  # fmt: skip


def test_every_builtin_fix_compiles(registry: CheckRegistry) -> None:
    with_fix = [check for check in registry if check.fix is not None]
    assert {check.id for check in with_fix} == FIXED
    for check in with_fix:
        compile_fix(check.fix, f"the fix of {check.id}")


@pytest.mark.parametrize("check", [has_owner, owner_is_group, owner_exists, has_description])
def test_no_fix_where_none_would_be_honest(check: Check) -> None:
    # Who owns an entity, and what it does, only people know.
    assert check.fix is None


# --- repository files -----------------------------------------------------------------------


def test_readme_names_the_entity_and_its_owner(tmp_path: Path) -> None:
    doc = document(metadata={"title": "Payments API"})
    written = fix_repository(tmp_path / "repo", has_readme, doc)
    readme = written["README.md"]
    assert readme.startswith("# Payments API\n\nTakes card payments for the web shop.\n")
    assert "## Running it" in readme and "## Getting help" in readme
    assert "```sh\nmake test\n```" in readme
    assert f"**{OWNER_NAME}** (`{TEAM}` in the software catalog)" in readme
    assert readme.endswith("does not answer.\n")


def test_readme_with_values_links_and_no_owner(tmp_path: Path) -> None:
    links = [
        {"url": "https://grafana.example.com/d/payments", "title": "Dashboard"},
        {"url": "https://runbooks.example.com/payments"},
        # A URL that would close the Markdown link and add text of its own is left out.
        {"url": "https://x.example.com) [Click here](https://evil.example.com", "title": "X"},
        {"url": "javascript:alert(1)", "title": "Script"},
    ]
    doc = document(metadata={"description": None, "links": links}, spec={"owner": None})
    values = {
        "run_command": "make run",
        "test_command": "pytest -q",
        "backstage_url": "https://backstage.example.com/",
    }
    readme = fix_repository(tmp_path / "repo", has_readme, doc, values)["README.md"]
    assert readme.startswith(f"# {NAME}\n\n## Running it\n\nStart it locally:\n\n```sh\nmake run")
    assert "```sh\npytest -q\n```" in readme
    assert "has no owner in the software catalog yet: set `spec.owner`" in readme
    assert (
        "Its catalog page: <https://backstage.example.com/catalog/default/component/payments-api>"
    ) in readme
    assert readme.endswith(
        "\n\n- [Dashboard](https://grafana.example.com/d/payments)\n"
        "- [https://runbooks.example.com/payments](https://runbooks.example.com/payments)\n"
    )
    assert "evil" not in readme and "javascript" not in readme


LICENSE_LINES = {
    "MIT": (
        f"MIT License\n\nCopyright (c) 2031 {OWNER_NAME}\n\nPermission is hereby granted, free "
        "of charge, to any person obtaining a copy\n",
        'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR\n',
    ),
    "BSD-3-Clause": (
        f"BSD 3-Clause License\n\nCopyright (c) 2031, {OWNER_NAME}\nAll rights reserved.\n",
        "3. Neither the name of the copyright holder nor the names of its\n",
    ),
    "Apache-2.0": (
        "                                 Apache License\n"
        "                           Version 2.0, January 2004\n",
        "   END OF TERMS AND CONDITIONS\n",
    ),
}


@pytest.mark.parametrize("spdx", ["MIT", "BSD-3-Clause", "Apache-2.0"])
def test_license_writes_the_full_text(tmp_path: Path, spdx: str) -> None:
    text = fix_repository(tmp_path / "repo", has_license, document(), {"license": spdx})["LICENSE"]
    first, known = LICENSE_LINES[spdx]
    assert text.startswith(first)
    assert known in text
    assert "{{" not in text and "[year]" not in text


def test_apache_text_is_the_one_apache_publishes(tmp_path: Path) -> None:
    text = fix_repository(tmp_path / "repo", has_license, document(), {"license": "apache-2.0"})
    # apache.org's LICENSE-2.0.txt begins with a blank line; the file is the rest of it.
    published = ("\n" + text["LICENSE"]).encode()
    digest = hashlib.md5(published, usedforsecurity=False).hexdigest()
    assert digest == "3b83ef96387f14655fc854ddc3c6bd57"


def test_license_defaults_to_mit_this_year_and_a_given_holder(tmp_path: Path) -> None:
    files, _ = render(has_license, document(), {"copyright_holder": "Acme Ltd"}, today=None)
    [license_file] = files
    assert license_file.path == "LICENSE"
    assert license_file.content.startswith(
        f"MIT License\n\nCopyright (c) {date.today().year} Acme Ltd\n"
    )


def test_unknown_license_asks_for_a_track_fix() -> None:
    message = fails(has_license, document(), {"license": "GPL-3.0-only"})
    assert '"GPL-3.0-only"' in message
    assert "MIT, Apache-2.0, BSD-3-Clause" in message
    assert "give the track entry of has_license its own `fix:`" in message


def test_license_without_a_holder_says_what_to_set() -> None:
    message = fails(has_license, document(spec={"owner": None}), {"license": "BSD-3-Clause"})
    assert "set fixes.values.copyright_holder" in message


CODEOWNERS_CASES = [
    pytest.param({}, {"github_org": "acme"}, "* @acme/data", id="org"),
    pytest.param(
        {"metadata": {"annotations": {"github.com/project-slug": "acme-corp/payments-api"}}},
        {},
        "* @acme-corp/data",
        id="org-from-project-slug",
    ),
    pytest.param(
        {},
        {"codeowners": "@acme/payments @acme/security", "github_org": "acme"},
        "* @acme/payments @acme/security",
        id="given-owners",
    ),
    pytest.param({"spec": {"owner": "user:default/jdoe"}}, {}, "* @jdoe", id="user"),
]


@pytest.mark.parametrize(("changes", "values", "line"), CODEOWNERS_CASES)
def test_codeowners_names_the_owning_team(
    tmp_path: Path, changes: dict[str, Any], values: dict[str, Any], line: str
) -> None:
    written = fix_repository(tmp_path / "repo", has_codeowners, document(**changes), values)
    lines = written[".github/CODEOWNERS"].splitlines()
    assert (
        lines[0]
        == f"# A change to any file needs a review from the owners of component:default/{NAME}"
    )
    assert lines[-1] == line


@pytest.mark.parametrize(
    ("changes", "values", "expected"),
    [
        pytest.param({}, {}, "set fixes.values.github_org", id="no-org"),
        pytest.param(
            {"spec": {"owner": None}}, {"github_org": "acme"}, "has no owner", id="no-owner"
        ),
        pytest.param(
            # A name that would add a line of its own to the file.
            {"spec": {"owner": "group:default/data\n* @mallory"}},
            {"github_org": "acme"},
            "is not a GitHub team or user name",
            id="owner-name-with-a-line",
        ),
        pytest.param({}, {"github_org": "ac me"}, "not a valid organisation name", id="bad-org"),
        pytest.param({}, {"codeowners": "@a\n@b"}, "must be one line", id="two-lines"),
    ],
)
def test_codeowners_refuses_what_it_cannot_name(
    changes: dict[str, Any], values: dict[str, Any], expected: str
) -> None:
    assert expected in fails(has_codeowners, document(**changes), values)


def test_security_policy_points_at_private_reporting(tmp_path: Path) -> None:
    slug = {"github.com/project-slug": "acme/payments-api"}
    doc = document(metadata={"annotations": slug})
    policy = fix_repository(tmp_path / "repo", has_security_policy, doc)["SECURITY.md"]
    assert "https://github.com/acme/payments-api/security/advisories/new" in policy
    assert "## Supported versions" in policy
    assert "only the version running in production gets security fixes" in policy
    assert f"is owned by group:default/{OWNER_NAME}: its people read every report" in policy


def test_security_policy_with_a_contact_and_versions(tmp_path: Path) -> None:
    # A slug that is not owner/name never goes into a link.
    doc = document(metadata={"annotations": {"github.com/project-slug": "a/b) [x](y"}})
    values = {"security_contact": "security@acme.example", "supported_versions": "2.x and 3.x."}
    policy = fix_repository(tmp_path / "repo", has_security_policy, doc, values)["SECURITY.md"]
    assert "[security@acme.example](mailto:security@acme.example)" in policy
    assert policy.endswith("## Supported versions\n\n2.x and 3.x.\n")
    assert "[x](y" not in policy


def test_security_policy_of_a_library_without_a_slug(tmp_path: Path) -> None:
    doc = document(spec={"type": "library"})
    policy = fix_repository(tmp_path / "repo", has_security_policy, doc)["SECURITY.md"]
    assert "**Report a\nvulnerability** button on the repository's **Security** tab" in policy
    assert f"Only the latest release of {NAME} gets security fixes." in policy


def test_dependabot_by_default(tmp_path: Path) -> None:
    written = fix_repository(tmp_path / "repo", has_dependency_updates, document())
    config = yaml.safe_load(written[".github/dependabot.yml"])
    assert config == {
        "version": 2,
        "updates": [
            {"package-ecosystem": "github-actions", "directory": "/",
             "schedule": {"interval": "weekly"}},
        ],
    }  # fmt: skip
    assert "add an entry for each of the others" in written[".github/dependabot.yml"]


def test_dependabot_for_the_given_ecosystems(tmp_path: Path) -> None:
    values = {"dependency_ecosystems": ["pip", "docker"]}
    written = fix_repository(tmp_path / "repo", has_dependency_updates, document(), values)
    config = yaml.safe_load(written[".github/dependabot.yml"])
    assert [update["package-ecosystem"] for update in config["updates"]] == ["pip", "docker"]
    assert "add an entry" not in written[".github/dependabot.yml"]


def test_renovate_when_asked(tmp_path: Path) -> None:
    values = {"dependency_updates": "renovate"}
    written = fix_repository(tmp_path / "repo", has_dependency_updates, document(), values)
    assert list(written) == ["renovate.json"]
    assert json.loads(written["renovate.json"])["extends"] == ["config:recommended"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"dependency_updates": "snyk"}, 'is dependabot or renovate, not "snyk"'),
        ({"dependency_ecosystems": {"pip": "/"}}, "must be a list of Dependabot package"),
        ({"dependency_ecosystems": ["pip", 3]}, "must be a list of Dependabot package"),
    ],
)
def test_dependency_updates_refuses_unknown_values(values: dict[str, Any], expected: str) -> None:
    assert expected in fails(has_dependency_updates, document(), values)


COMMAND = 'make lint\nmake test ARGS="it\'s" \\\\x'


def _pipeline_command(system: str, text: str) -> str:
    """The test command as the CI system reads it from its file."""
    if system == "jenkins":
        match = re.search(r"sh '''\n(.*)\n'''", text, re.DOTALL)
        assert match is not None, text
        # Groovy's single-quoted strings: \\ is a backslash, \' a quote, nothing else special.
        return re.sub(r"\\(.)", r"\1", match.group(1))
    config = yaml.safe_load(text)
    steps = {
        "github-actions": lambda: config["jobs"]["test"]["steps"][-1]["run"],
        "gitlab": lambda: config["test"]["script"][0],
        "circleci": lambda: config["jobs"]["test"]["steps"][-1]["run"]["command"],
        "azure": lambda: config["steps"][-1]["script"],
        "buildkite": lambda: config["steps"][0]["command"],
    }
    return steps[system]().rstrip("\n")


@pytest.mark.parametrize("system", list(CI_FIX_FILES))
def test_ci_pipeline_runs_the_test_command(tmp_path: Path, system: str) -> None:
    values = {"ci_system": system, "test_command": COMMAND}
    written = fix_repository(tmp_path / "repo", has_ci, document(), values)
    [(path, text)] = written.items()
    assert path == CI_FIX_FILES[system][0]
    assert _pipeline_command(system, text) == COMMAND


def test_ci_defaults_to_github_actions_and_make_test(tmp_path: Path) -> None:
    written = fix_repository(tmp_path / "repo", has_ci, document())
    assert _pipeline_command("github-actions", written[".github/workflows/ci.yml"]) == "make test"


def test_jenkins_single_line_command() -> None:
    files, _ = render(has_ci, document(), {"ci_system": "Jenkins", "test_command": "echo 'hi'"})
    assert "                sh 'echo \\'hi\\''\n" in files[0].content


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"ci_system": "travis"}, 'no built-in pipeline for the CI system "travis"'),
        ({"test_command": ["make", "test"]}, "test_command must be a shell command"),
    ],
)
def test_ci_refuses_unknown_values(values: dict[str, Any], expected: str) -> None:
    message = fails(has_ci, document(), values)
    assert expected in message
    assert message.startswith("the fix of has_ci")


# --- catalog-info.yaml ----------------------------------------------------------------------


def test_annotation_from_the_workspace(tmp_path: Path) -> None:
    params = {"key": "sonarqube.org/project-key", "pattern": "^acme_"}
    values = {"annotations": {"sonarqube.org/project-key": "acme_payments"}}
    fixed = fix_catalog(tmp_path, has_annotation, document(), values, params)
    assert fixed["metadata"]["annotations"] == {"sonarqube.org/project-key": "acme_payments"}


def test_annotation_without_a_value_says_where_to_give_it() -> None:
    params = {"key": "sonarqube.org/project-key"}
    message = fails(has_annotation, document(), {"annotations": {"other": "x"}}, params)
    assert "no value for the sonarqube.org/project-key annotation" in message
    assert "fixes.values.annotations" in message


def test_techdocs_annotation_and_site(tmp_path: Path) -> None:
    doc = document(metadata={"title": "Payments API"})
    fixed = fix_catalog(tmp_path, has_techdocs, doc)
    assert fixed["metadata"]["annotations"] == {"backstage.io/techdocs-ref": "dir:."}
    files, _ = render(has_techdocs, doc)
    written = {change.path: change.content for change in files}
    assert yaml.safe_load(written["mkdocs.yml"]) == {
        "site_name": "Payments API",
        "site_description": "Takes card payments for the web shop.",
        "nav": [{"Home": "index.md"}],
        "plugins": ["techdocs-core"],
    }
    assert written["docs/index.md"].startswith(
        "# Payments API\n\nTakes card payments for the web shop.\n"
    )


@pytest.mark.parametrize("key", [OWNER_NAME, TEAM])
def test_oncall_from_the_owners_pagerduty_service(tmp_path: Path, key: str) -> None:
    values = {"pagerduty_services": {key: "PABC123", "other": "PZZZ999"}}
    fixed = fix_catalog(tmp_path, has_oncall, document(), values)
    assert fixed["metadata"]["annotations"] == {"pagerduty.com/service-id": "PABC123"}


def test_oncall_without_the_owners_service() -> None:
    message = fails(has_oncall, document(), {"pagerduty_services": {"other": "PZZZ999"}})
    assert f"no PagerDuty service for the owner of component:default/{NAME} ({TEAM})" in message
    assert f"map {OWNER_NAME} to its service id in fixes.values.pagerduty_services" in message


@pytest.mark.parametrize(
    ("name", "values", "title"),
    [
        ("payments-api", {}, "Payments API"),
        ("web_shop.v2", {}, "Web Shop V2"),
        ("grpc-gateway", {"title_acronyms": ["GW"]}, "Grpc Gateway"),
        ("k8s-operator-gw", {"title_acronyms": ["GW"]}, "K8s Operator GW"),
    ],
)
def test_title_from_the_name(tmp_path: Path, name: str, values: dict[str, Any], title: str) -> None:
    doc = document()
    doc["metadata"]["name"] = name
    fixed = fix_catalog(tmp_path, has_title, doc, values)
    assert fixed["metadata"]["title"] == title


@pytest.mark.parametrize(
    ("values", "lifecycle"), [({}, "experimental"), ({"lifecycle": "production"}, "production")]
)
def test_lifecycle(tmp_path: Path, values: dict[str, Any], lifecycle: str) -> None:
    fixed = fix_catalog(tmp_path, has_lifecycle, document(spec={"lifecycle": None}), values)
    assert fixed["spec"]["lifecycle"] == lifecycle


@pytest.mark.parametrize(
    "system", ["payments", {OWNER_NAME: "payments", "other": "x"}, {TEAM: "payments"}]
)
def test_system_from_the_workspace(tmp_path: Path, system: Any) -> None:
    fixed = fix_catalog(tmp_path, has_system, document(), {"system": system})
    assert fixed["spec"]["system"] == "payments"


@pytest.mark.parametrize("values", [{}, {"system": {"other": "x"}}, {"system": ""}])
def test_system_only_when_the_workspace_names_one(values: dict[str, Any]) -> None:
    message = fails(has_system, document(), values)
    assert f"no system for component:default/{NAME}: give it in fixes.values.system" in message


@pytest.mark.parametrize(
    "tags",
    [["python", "payments"], {OWNER_NAME: ["python", "payments"]}, {TEAM: ["python", "payments"]}],
)
def test_tags_from_the_workspace(tmp_path: Path, tags: Any) -> None:
    doc = document(metadata={"tags": ["python"]})
    fixed = fix_catalog(tmp_path, has_tags, doc, {"tags": tags}, {"min_count": 2})
    assert fixed["metadata"]["tags"] == ["python", "payments"]


def test_tags_fill_every_slot(tmp_path: Path) -> None:
    tags = [f"tag-{n}" for n in range(TAG_SLOTS)]
    fixed = fix_catalog(tmp_path, has_tags, document(), {"tags": tags}, {"min_count": TAG_SLOTS})
    assert fixed["metadata"]["tags"] == tags


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (None, "no tags for component:default/payments-api: give them in fixes.values.tags"),
        ({"other": ["x"]}, "no tags for"),
        (["python", 3], "no tags for"),
        (["python"], "would have 1 tag, and the check asks for at least 2"),
        ([f"t{n}" for n in range(TAG_SLOTS + 1)], f"a fix adds at most {TAG_SLOTS}"),
    ],
)
def test_tags_refused(tags: Any, expected: str) -> None:
    message = fails(has_tags, document(), {"tags": tags}, {"min_count": 2})
    assert expected in message
    assert message.startswith("the fix of has_tags, tags[0]: ")


@pytest.mark.parametrize(
    ("params", "value"),
    [
        ({"path": "spec.lifecycle", "op": "equals", "value": "production"}, "production"),
        ({"path": "spec.tier", "op": "in", "value": ["gold", "silver"]}, "gold"),
        (
            {"path": "metadata.annotations.acme.com/cost-center", "op": "equals", "value": "cc-1"},
            "cc-1",
        ),
    ],
)
def test_entity_field_set_to_the_value_the_rule_names(
    tmp_path: Path, params: dict[str, Any], value: str
) -> None:
    fixed = fix_catalog(
        tmp_path, entity_field, document(spec={"lifecycle": "experimental"}), params=params
    )
    assert Entity(fixed).get(params["path"]) == value


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"path": "spec.tier", "op": "exists"}, "a rule with op exists names no value to set"),
        ({"path": "spec.tier", "op": "matches", "value": "^g"}, "op matches names no value"),
        (
            {"path": "spec.replicas", "op": "equals", "value": 3},
            "a fix sets text, and the rule expects 3",
        ),
        ({"path": "metadata.name", "op": "equals", "value": "x"}, "names the entity"),
        ({"path": "Kind", "op": "in", "value": ["API"]}, "names the entity"),
    ],
)
def test_entity_field_refuses_to_guess(params: dict[str, Any], expected: str) -> None:
    assert expected in fails(entity_field, document(), params=params)


def test_fix_does_not_change_the_entity_it_reads() -> None:
    doc = document(spec={"lifecycle": None})
    kept = copy.deepcopy(doc)
    render(has_lifecycle, doc)
    render(has_readme, doc)
    assert doc == kept


def test_fail_stops_a_render_with_its_own_sentence() -> None:
    context = fix_context(Entity(document()), None, {}, "x", "X", today=TODAY)
    assert context["year"] == 2031
    in_template = Fix(files=[NewFile(path="a", template='{{ fail("say " ~ year) }}')])
    with pytest.raises(FixTemplateError, match=r"^here, file a: say 2031$"):
        render_fix(in_template, context, "here")
    in_when = Fix(files=[NewFile(path="a", template="", when='fail("not " ~ name)')])
    with pytest.raises(FixTemplateError, match=rf"^here, file a: `when`: not {NAME}$"):
        render_fix(in_when, context, "here")
