"""A workspace for pull requests at scale: components in several GitHub repositories (two
in one), one on GitLab, one whose catalog file's path is not known, one at the target
already, one exempted and one with nothing a fix can change; and the repositories as the
fake GitHub (tests/fixes/github_api.py) holds them before any pull request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.builders import catalog_yaml, write_workspace_files
from tests.fixes.github_api import FakeGitHub

TRACK_ID = "readiness"
PUBLIC_URL = "https://scorecard.example.com"
SLUG = "github.com/project-slug"
MANAGED_BY = "backstage.io/managed-by-location"
PAGERDUTY = "pagerduty.com/service-id"
TECHDOCS = "backstage.io/techdocs-ref"
# The fake GitHub's web host (that of its URL), where the locations of the catalog point.
WEB_HOST = "127.0.0.1"

# Silver: an owner that exists (no fix: a group is made by hand), an on-call service and
# TechDocs, the last two with the platform team's own fixes.
TRACK = f"""\
apiVersion: scorecard/v1
kind: Track
id: {TRACK_ID}
title: Production readiness
filter: {{kind: Component}}
levels:
  - id: bronze
    title: Bronze
    checks: [has_owner]
  - id: silver
    title: Silver
    checks:
      - owner_exists
      - check: has_oncall
        fix:
          title: Page the owner through PagerDuty
          catalog:
            annotations:
              {PAGERDUTY}: "{{{{ values.pagerduty[owner_name] }}}}"
      - check: has_techdocs
        fix:
          title: Publish TechDocs
          files:
            - path: docs/index.md
              template: "# {{{{ title }}}}\\n"
            - path: mkdocs.yml
              template: "site_name: {{{{ name }}}}\\n"
          catalog:
            annotations:
              {TECHDOCS}: "dir:."
"""

FIXES_CONFIG = (
    f"public_url: {PUBLIC_URL}\n"
    "fixes:\n"
    "  values:\n"
    "    pagerduty: {payments: PPAY001, ledger-ops: PLED002, search: PSRC003}\n"
)


def managed_by(repository: str) -> str:
    return f"url:http://{WEB_HOST}/{repository}/blob/main/catalog-info.yaml"


def component(
    name: str, owner: str, *, oncall: bool = False, techdocs: bool = False, **annotations: str
) -> dict[str, Any]:
    if oncall:
        annotations[PAGERDUTY] = "PEXIST1"
    if techdocs:
        annotations[TECHDOCS] = "dir:."
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"type": "service", "lifecycle": "production", "owner": owner},
    }


def group(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Group",
        "metadata": {"name": name},
        "spec": {"type": "team", "children": []},
    }


def documents() -> dict[str, dict[str, Any]]:
    """Each component by name."""
    at = {name: {SLUG: name, MANAGED_BY: managed_by(name)} for name in (
        "acme/payments", "acme/ledger", "acme/billing", "acme/reports", "acme/legacy",
    )}  # fmt: skip
    return {
        # Below silver: no on-call service, no TechDocs.
        "payments": component("payments", "group:default/payments", **at["acme/payments"]),
        # Two components of one repository and one catalog file; the worker's owner is
        # not in the catalog, which no fix changes.
        "ledger-api": component(
            "ledger-api", "group:default/ledger", oncall=True, **at["acme/ledger"]
        ),
        "ledger-worker": component(
            "ledger-worker", "group:default/ledger-ops", **at["acme/ledger"]
        ),
        # Not on GitHub.
        "storefront": component(
            "storefront",
            "group:default/web",
            oncall=True,
            **{"gitlab.com/project-slug": "acme/web/storefront"},
        ),
        # On GitHub, but where its catalog file is in the repository is not known.
        "search": component("search", "group:default/search", oncall=True, **{SLUG: "acme/search"}),
        # At silver.
        "billing": component(
            "billing", "group:default/payments", oncall=True, techdocs=True, **at["acme/billing"]
        ),
        # Below silver only for want of TechDocs, which an exemption waives
        # (when a test approves one).
        "reports": component(
            "reports", "group:default/payments", oncall=True, **at["acme/reports"]
        ),
        # Below silver only for its owner, which no fix adds.
        "legacy": component(
            "legacy", "group:default/gone", oncall=True, techdocs=True, **at["acme/legacy"]
        ),
    }


def catalog() -> str:
    teams = [group(name) for name in ("payments", "ledger", "web", "search")]
    return catalog_yaml(*documents().values(), *teams)


def write_workspace(root: Path, database: str, *settings: str) -> Path:
    """The workspace's folder and scorecard.yaml (returned)."""
    return write_workspace_files(
        root,
        database,
        FIXES_CONFIG,
        *settings,
        tracks={TRACK_ID: TRACK},
        catalog=catalog(),
    )


# An mkdocs.yml of the team's own: the fix never overwrites it.
HAND_WRITTEN_MKDOCS = "site_name: Payments (hand-written)\n"


def catalog_file(*names: str) -> str:
    """A repository's catalog-info.yaml of these components, with a comment of the team's
    own, which an edit must keep."""
    found = documents()
    return "# Our components.\n" + yaml.safe_dump_all(
        [found[name] for name in names], sort_keys=False
    )


def seed_repositories(fake: FakeGitHub) -> None:
    """The repositories with pull requests to come, each with its catalog-info.yaml."""
    fake.add_repository(
        "acme/payments",
        {"catalog-info.yaml": catalog_file("payments"), "mkdocs.yml": HAND_WRITTEN_MKDOCS},
    )
    fake.add_repository(
        "acme/ledger", {"catalog-info.yaml": catalog_file("ledger-api", "ledger-worker")}
    )
    fake.add_repository(
        "acme/search", {"catalog-info.yaml": catalog_file("search"), "README.md": "x\n"}
    )
