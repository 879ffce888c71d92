"""A small workspace with named tokens, for the exemption tests: two components on a
track whose silver level needs an on-call annotation, which `nightly-report` lacks."""

from __future__ import annotations

from pathlib import Path

from scorecard.workspace import Workspace
from tests.builders import ON_CALL, catalog_yaml, component, ops_track_yaml, write_workspace_files
from tests.tokens import tokens_config, tokens_fixture, variables

CATALOG = catalog_yaml(
    component("nightly-report", description="Builds the nightly sales report."),
    component(
        "payments",
        owner="group:default/payments",
        description="Takes payments.",
        annotations=ON_CALL,
    ),
)

ENTITY = "component:default/nightly-report"
JUSTIFICATION = "A nightly batch job has nobody to page; a failed night is retried the next."

VARIABLES = variables("SC_TEST")
tokens = tokens_fixture(VARIABLES)


def write_workspace(root: Path, database: str, *, exemption_files: tuple[str, ...] = ()) -> Path:
    """A workspace folder with its scorecard.yaml; returns the file."""
    return write_workspace_files(
        root,
        database,
        tokens_config(VARIABLES),
        f"exemptions:\n  max_days: 90\n  files: [{', '.join(exemption_files)}]\n",
        tracks={"ops": ops_track_yaml()},
        catalog=CATALOG,
    )


def load(config: Path) -> Workspace:
    return Workspace.load(config)
