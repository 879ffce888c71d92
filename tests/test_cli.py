"""The command line end to end, on the demo workspace and the Backstage example catalog."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scorecard.cli import app
from scorecard.results import Outcome
from scorecard.store import Store
from scorecard.workspace import DEMO_DIR

runner = CliRunner()


def invoke(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'scorecard.db'}"


@pytest.fixture(autouse=True)
def _no_workspace_file(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    # Commands look for ./scorecard.yaml; run them from an empty folder.
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    monkeypatch.delenv("SCORECARD_DATABASE_URL", raising=False)


def run_json(*args: str | Path) -> dict[str, Any]:
    result = invoke("run", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_validate_the_bundled_tracks() -> None:
    result = invoke("validate", Path(__file__).parents[1] / "tracks")
    assert result.exit_code == 0, result.output
    assert "3 track files are valid" in result.stderr


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "levels:\n  - id: a\n    checks: [has_owner]\n    colour: red\n",
            ":8:5: levels[0].colour: unknown key",
        ),
        (
            "levels:\n  - id: a\n    checks: [has_ownr]\n",
            ":7:14: levels[0].checks[0].check: unknown check",
        ),
        (
            "levels:\n  - id: a\n    checks:\n      - {check: has_tags, with: {min_count: 0}}\n",
            ":8:34: levels[0].checks[0].with.min_count: Input should be greater than or equal to 1",
        ),
    ],
    ids=["unknown-key", "unknown-check", "bad-param"],
)
def test_validate_reports_file_line_and_key(tmp_path: Path, body: str, expected: str) -> None:
    track = tmp_path / "bad.yaml"
    track.write_text("apiVersion: scorecard/v1\nkind: Track\nid: bad\ntitle: Bad\n" + body)
    result = invoke("validate", track)
    assert result.exit_code == 2
    assert f"{track}{expected}" in result.stdout


def test_run_on_the_demo_shows_every_outcome(db: str) -> None:
    document = run_json("--db", db)
    run = document["run"]
    assert run["entities"] == len(document["entities"]) > 5
    assert run["errors"] >= 1
    outcomes = {
        check["outcome"]
        for entity in document["entities"]
        for track in entity["tracks"]
        for check in track["checks"]
    }
    assert outcomes == {o.value for o in Outcome}
    levels = {
        (entity["ref"], track["track"]): track["level"]
        for entity in document["entities"]
        for track in entity["tracks"]
    }
    assert levels["component:default/payments-gateway", "production-readiness"] == "gold"
    assert levels["component:default/notifications", "production-readiness"] is None
    assert ("component:default/money-lib", "production-readiness") not in levels


def test_rerun_writes_no_history_and_one_change_writes_only_its_own(
    tmp_path: Path, store_url: str
) -> None:
    db = store_url
    catalog = tmp_path / "catalog"
    shutil.copytree(DEMO_DIR / "catalog", catalog)
    run_json("--db", db, "--catalog", catalog / "catalog-info.yaml")
    with Store(db) as store:
        first = store.count_history_rows()
    run_json("--db", db, "--catalog", catalog / "catalog-info.yaml")
    with Store(db) as store:
        assert store.count_history_rows() == first

    # Change one entity: hand it to a team. Only its ownership results may change.
    descriptor = catalog / "repos" / "notifications" / "catalog-info.yaml"
    descriptor.write_text(
        descriptor.read_text().replace("owner: user:default/dan.ortiz", "owner: storefront")
    )
    run_json("--db", db, "--catalog", catalog / "catalog-info.yaml")
    with Store(db) as store:
        history = store.result_history("component:default/notifications")
        assert store.count_history_rows() > first
        changed = {c.check_id for c in history if c.previous_outcome is not None}
        flipped = {c.check_id for c in history if c.previous_outcome not in (None, c.outcome)}
        others = [
            c
            for entity in store.entities()
            if entity.ref != "component:default/notifications"
            for c in store.result_history(entity.ref)
            if c.previous_outcome is not None
        ]
    # The ownership messages name the new owner; only owner_is_group changes its outcome.
    assert changed == {"has_owner", "owner_is_group", "owner_exists"}
    assert flipped == {"owner_is_group"}
    assert others == []


def test_run_over_the_backstage_example_catalog(backstage_examples: Path, db: str) -> None:
    result = invoke("run", "--format", "json", "--db", db, "--catalog", backstage_examples)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert "invalid-component.yaml" in result.stderr
    assert "invalid component" in result.stderr
    refs = {entity["ref"] for entity in document["entities"]}
    assert {"component:default/artist-lookup", "api:default/petstore"} <= refs
    for entity in document["entities"]:
        assert entity["tracks"], entity["ref"]
        for track in entity["tracks"]:
            assert track["checks"]
            assert track["level"] in (None, "bronze", "silver", "gold")


def test_a_crashing_check_folder_is_isolated(data_dir: Path, db: str) -> None:
    document = run_json(
        "--db",
        db,
        "--timeout",
        "0.3",
        "--checks",
        data_dir / "faulty_checks",
        "--tracks",
        data_dir / "tracks" / "faulty.yaml",
        "--catalog",
        DEMO_DIR / "catalog" / "catalog-info.yaml",
    )
    checks = [c for e in document["entities"] for t in e["tracks"] for c in t["checks"]]
    by_outcome = {c["id"]: c["outcome"] for c in checks}
    assert by_outcome["crashes"] == by_outcome["hangs"] == by_outcome["wrong_type"] == "error"
    assert by_outcome["has_owner"] == "pass"
    with Store(db) as store:
        stored = store.results()
        assert store.latest_run().status == "finished"
    # Every result of the run is stored, the errors and everything else alike.
    assert len(stored) == len(checks) == document["run"]["entities"] * 8
    assert {r.check_id for r in stored if r.outcome is Outcome.ERROR} == {
        "crashes",
        "hangs",
        "blocks",
        "wrong_type",
    }


def test_entity_shows_levels_and_remediation(db: str) -> None:
    assert invoke("run", "--db", db).exit_code == 0
    result = invoke("entity", "checkout-web", "--db", db)
    assert result.exit_code == 0, result.output
    assert "Production readiness: bronze" in result.stdout
    assert "has_runbook: docs/runbook.md is missing" in result.stdout
    assert "fix: Add `docs/runbook.md` to the repository." in result.stdout
    unknown = invoke("entity", "component:default/nope", "--db", db)
    assert unknown.exit_code == 2
    assert "no results for component:default/nope" in unknown.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["checks", "list"], "has_readme"),
        (["checks", "show", "entity_field"], "params (JSON Schema)"),
        (["tracks", "list"], "production-readiness"),
        (["tracks", "show", "basics"], "has_owner"),
        (["schema"], '"apiVersion"'),
    ],
)
def test_browsing_commands(args: list[str], expected: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert expected in result.stdout


@pytest.mark.parametrize(
    "args",
    [["checks", "show", "nope"], ["tracks", "show", "nope"], ["run", "--track", "nope"]],
)
def test_unknown_names_exit_2(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert "nope" in result.stderr


def test_workspace_file_sets_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
        "metadata: {name: solo}\nspec: {type: service, owner: team-a}\n"
    )
    (tmp_path / "tracks").mkdir()
    shutil.copy(data_dir / "tracks" / "valid.yaml", tmp_path / "tracks")
    (tmp_path / "scorecard.yaml").write_text(
        "catalog: catalog\ntracks: tracks\ndatabase: sqlite:///state/scores.db\n"
    )
    monkeypatch.chdir(tmp_path)
    document = run_json()
    assert [e["ref"] for e in document["entities"]] == ["component:default/solo"]
    assert (tmp_path / "state" / "scores.db").is_file()


def test_invalid_workspace_file_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "scorecard.yaml").write_text("catalog: [x]\ncatalogue: [y]\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("run")
    assert result.exit_code == 2
    assert "scorecard.yaml:2:1: catalogue: unknown key 'catalogue' (did you mean 'catalog'?)" in (
        result.stderr
    )


def test_run_over_hostile_catalog_files_evaluates_the_rest(
    data_dir: Path, tmp_path: Path, db: str
) -> None:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    for name in ("alias-bomb.yaml", "long-name.yaml"):
        shutil.copy(data_dir / "catalog" / "hostile" / name, catalog)
    (catalog / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: valid\n"
        "spec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
    )

    result = invoke("run", "--format", "json", "--db", db, "--catalog", catalog)

    assert result.exit_code == 0, result.output
    evaluated = {
        entity["ref"]: entity["tracks"] for entity in json.loads(result.stdout)["entities"]
    }
    assert set(evaluated) == {
        "component:default/valid",
        "component:default/after-the-bomb",
        "component:default/after-the-number",
    }
    assert all(evaluated.values())
    assert f"{catalog / 'alias-bomb.yaml'}:15:7: spec.a5: document 1 is not read" in result.stderr
    assert (
        f"{catalog / 'long-name.yaml'}:5:9: metadata.name: document 1 is not read" in result.stderr
    )
    with Store(db) as store:
        run = store.latest_run()
        assert run is not None and run.status == "finished"
