"""A workspace with external checks, for the pushed-results tests: `payments` and
`ledger` on a track whose silver level needs test coverage of at least 80, pushed from
CI, and a release track whose load test counts for three seconds."""

from __future__ import annotations

from pathlib import Path

from tests.builders import catalog_yaml, component, write_workspace_files
from tests.tokens import tokens_config, tokens_fixture, variables

CATALOG = catalog_yaml(
    component("payments", owner="group:default/payments", description="Takes payments."),
    component("ledger", owner="group:default/finance", description="Keeps the books."),
    component(
        "shared-lib", owner="group:default/platform", description="A library.", type="library"
    ),
)

QUALITY = """\
apiVersion: scorecard/v1
kind: Track
id: quality
title: Quality
filter: {kind: Component, spec.type: service}
levels:
  - id: bronze
    checks: [has_owner]
  - id: silver
    checks:
      - check: external
        id: coverage
        title: Test coverage of at least 80%
        description: Line coverage of the unit tests, reported by the CI pipeline.
        remediation: Add tests until coverage reaches 80%.
        pass_when: ">= 80"
  - id: gold
    checks:
      - check: external
        id: sast
        title: Static analysis scan is clean
"""

RELEASE = """\
apiVersion: scorecard/v1
kind: Track
id: release
title: Release
filter: {kind: Component, spec.type: service}
levels:
  - id: bronze
    checks:
      - check: external
        id: load-test
        max_age: 3s
"""

PAYMENTS = "component:default/payments"


VARIABLES = variables("SC_PUSH")
tokens = tokens_fixture(VARIABLES)


def write_workspace(root: Path, database: str) -> Path:
    return write_workspace_files(
        root,
        database,
        "public_reads: false\n",
        tokens_config(VARIABLES),
        tracks={"quality": QUALITY, "release": RELEASE},
        catalog=CATALOG,
    )
