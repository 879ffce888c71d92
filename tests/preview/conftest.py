"""What the preview tests share: the demo's production-readiness track with its runbook
check moved to bronze, a small workspace whose every outcome is known, the command line,
and the row counts of a store's tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, inspect, select, table
from typer.testing import CliRunner, Result

from scorecard.catalog import read_sources
from scorecard.cli import app
from scorecard.registry import build_registry
from scorecard.results import NON_BLOCKING
from scorecard.runner import evaluate
from scorecard.store.database import create_store_engine, database_url
from scorecard.tracks import load_track
from scorecard.workspace import Workspace

REPO_ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_READINESS = REPO_ROOT / "tracks" / "production-readiness.yaml"

# The silver entry of the runbook check in tracks/production-readiness.yaml, and the last
# bronze check it goes after when it moves to bronze.
RUNBOOK_ENTRY = """\
      - check: has_file
        id: has_runbook
        title: Has a runbook
        with: {path: docs/runbook.md}
"""
LAST_BRONZE_CHECK = "      - has_ci\n"


def runbook_at_bronze(text: str) -> str:
    """The production-readiness track with `has_runbook` moved from silver to bronze."""
    assert text.count(RUNBOOK_ENTRY) == 1 and text.count(LAST_BRONZE_CHECK) == 1
    moved = text.replace(RUNBOOK_ENTRY, "")
    return moved.replace(LAST_BRONZE_CHECK, LAST_BRONZE_CHECK + RUNBOOK_ENTRY)


@pytest.fixture
def runbook_change(tmp_path: Path) -> Path:
    """A copy of production-readiness.yaml with the runbook required for bronze."""
    changed = tmp_path / "change" / "production-readiness.yaml"
    changed.parent.mkdir()
    changed.write_text(runbook_at_bronze(PRODUCTION_READINESS.read_text()))
    return changed


@pytest.fixture(scope="session")
def bronze_losses() -> dict[str, tuple[str, str]]:
    """Computed here from an evaluation of the demo catalog on the track as it is: every
    entity at a level whose runbook check does not hold loses bronze with the change.
    Entity ref → (its level now, the runbook check's message)."""
    demo = Workspace.demo()
    track = load_track(PRODUCTION_READINESS, build_registry(demo.checks))
    report = evaluate(read_sources(demo.catalog).entities, [track])
    losses = {}
    for pair in report.pairs:
        runbook = next(r for r in pair.results() if r.check_id == "has_runbook")
        if pair.level is not None and runbook.outcome not in NON_BLOCKING:
            losses[pair.entity_ref] = (pair.level, runbook.result.message)
    assert losses, "the demo has an entity at a level without a runbook"
    return losses


@pytest.fixture(autouse=True)
def _empty_working_folder(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Commands look for ./scorecard.yaml and ./scorecard.db: run them from an empty folder.
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    monkeypatch.delenv("SCORECARD_DATABASE_URL", raising=False)
    monkeypatch.delenv("SCORECARD_CONFIG", raising=False)


runner = CliRunner()


def invoke(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def preview_json(*args: str | Path, config: Path | None = None) -> dict[str, Any]:
    workspace = ["--config", config] if config is not None else []
    result = invoke(*workspace, "preview", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def row_counts(url: str) -> dict[str, int]:
    """Rows in each table of the database at `url`."""
    engine = create_store_engine(database_url(url))
    try:
        with engine.connect() as connection:
            names = inspect(connection).get_table_names()
            return {
                name: connection.execute(select(func.count()).select_from(table(name))).scalar_one()
                for name in names
            }
    finally:
        engine.dispose()


# --- a small workspace ------------------------------------------------------------------

DOCS_TRACK = """\
apiVersion: scorecard/v1
kind: Track
id: docs
title: Documentation
filter: {kind: Component}
levels:
  - id: bronze
    checks: [has_owner]
  - id: silver
    checks: [has_description]
  - id: gold
    checks: [has_tags, has_links]
"""

# The description is required for bronze, tags for silver; links become optional.
DOCS_TRACK_CHANGED = """\
apiVersion: scorecard/v1
kind: Track
id: docs
title: Documentation
filter: {kind: Component}
levels:
  - id: bronze
    checks: [has_owner, has_description]
  - id: silver
    checks: [has_tags]
  - id: gold
    checks:
      - check: has_links
        required: false
"""

DESCRIPTION = "Takes payments from the shop and the apps, and refunds them."


def _component(name: str, *, owner: bool, description: bool, tags: bool, links: bool) -> str:
    lines = [
        "apiVersion: backstage.io/v1alpha1",
        "kind: Component",
        "metadata:",
        f"  name: {name}",
    ]
    if description:
        lines.append(f"  description: {DESCRIPTION}")
    if tags:
        lines.append("  tags: [payments]")
    if links:
        lines.append("  links: [{url: 'https://wiki.example.com/x', title: Wiki}]")
    lines += ["spec:", "  type: service", "  lifecycle: production"]
    if owner:
        lines.append("  owner: group:default/team")
    return "\n".join(lines) + "\n"


# alpha: silver now (no links for gold); gold after (links optional).
# beta: silver now; bronze after (no tags, now needed for silver).
# gamma: bronze now; no level after (no description, now needed for bronze).
# delta: no level on either side (no owner). The system is not scored at all.
SMALL_CATALOG = "---\n".join(
    [
        _component("alpha", owner=True, description=True, tags=True, links=False),
        _component("beta", owner=True, description=True, tags=False, links=False),
        _component("gamma", owner=True, description=False, tags=False, links=False),
        _component("delta", owner=False, description=True, tags=True, links=True),
        "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: shop}\n"
        "spec: {owner: group:default/team}\n",
    ]
)


@pytest.fixture
def small_workspace(tmp_path: Path) -> Path:
    """A workspace file over the small catalog and the `docs` track; no database yet."""
    root = tmp_path / "small"
    (root / "tracks").mkdir(parents=True)
    (root / "tracks" / "docs.yaml").write_text(DOCS_TRACK)
    (root / "catalog-info.yaml").write_text(SMALL_CATALOG)
    (root / "scorecard.yaml").write_text(
        "catalog: [catalog-info.yaml]\ntracks: [tracks/]\ndatabase: sqlite:///scorecard.db\n"
    )
    return root / "scorecard.yaml"
