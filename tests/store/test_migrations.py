"""Schema migrations: a database of the last release before them is upgraded with every
row kept, a newer one is refused, and `scorecard db` upgrades on demand.

The previous release's database is rebuilt from what that release itself wrote: its table
definitions (tests/data/store/release_2_tables.py, its scorecard/store/tables.py verbatim)
create the tables as its `create_all` did, and tests/data/store/release-2-rows.json holds
every row it stored after running the demo catalog twice (an owner changed, one entity
gone), one failed run and one run whose process died.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import warnings
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SAWarning
from typer.testing import CliRunner

from scorecard.cli import app
from scorecard.report import Certification, CheckResult, RunReport
from scorecard.results import Result
from scorecard.store import RunStatus, SchemaOutOfDateError, SchemaVersionError, Store, migrations
from scorecard.store.database import (
    SchemaState,
    create_store_engine,
    database_url,
    upgrade_schema,
)
from scorecard.store.tables import SCHEMA_VERSION, StoreModel

DATA = Path(__file__).parents[1] / "data" / "store"
HEAD = migrations.head()
# Tables in the order their foreign keys need them filled.
ORDER = ["schema_version", "run", "entity", "result", "result_change", "certification"]
ORDER += ["certification_change"]


@cache
def release() -> ModuleType:
    """The previous release's tables module, loaded under a name of its own."""
    name = "scorecard_release_2_tables"
    spec = importlib.util.spec_from_file_location(name, DATA / "release_2_tables.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its annotations are resolved through sys.modules
    spec.loader.exec_module(module)
    return module


def release_rows() -> dict[str, list[dict[str, Any]]]:
    """The stored rows, times parsed as the release's UTCDateTime columns return them."""
    tables = release().StoreModel.metadata.tables
    rows = json.loads((DATA / "release-2-rows.json").read_text())
    for name, table_rows in rows.items():
        times = [c.name for c in tables[name].columns if isinstance(c.type, release().UTCDateTime)]
        for row in table_rows:
            for column in times:
                if row[column] is not None:
                    row[column] = datetime.fromisoformat(row[column])
    return rows


def engine_for(url: str) -> Engine:
    return create_store_engine(database_url(url))


def write_release_database(url: str) -> dict[str, list[dict[str, Any]]]:
    """A database exactly as the previous release left it; returns its rows."""
    rows = release_rows()
    tables = release().StoreModel.metadata.tables
    engine = engine_for(url)
    with engine.begin() as connection:
        release().StoreModel.metadata.create_all(connection)
        for name in ORDER:
            connection.execute(tables[name].insert(), rows[name])
        if connection.dialect.name == "postgresql":
            # Rows came with their ids: move the sequences past them, as inserts had.
            for name in ("run", "result_change", "certification_change"):
                sequence = f"pg_get_serial_sequence('{name}', 'id')"
                connection.execute(text(f"SELECT setval({sequence}, max(id)) FROM {name}"))
    engine.dispose()
    return rows


def read_release_tables(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of the previous release's tables, read through its own definitions."""
    tables = release().StoreModel.metadata.tables
    engine = engine_for(url)
    with engine.connect() as connection:
        found = {
            name: [
                dict(row)
                for row in connection.execute(
                    select(tables[name]).order_by(*tables[name].primary_key.columns)
                ).mappings()
            ]
            for name in ORDER
        }
    engine.dispose()
    return found


def scalars(url: str, sql: str) -> list[Any]:
    engine = engine_for(url)
    with engine.connect() as connection:
        found = list(connection.execute(text(sql)).scalars())
    engine.dispose()
    return found


def test_a_release_database_is_upgraded_and_keeps_every_row(store_url: str) -> None:
    expected = write_release_database(store_url)

    with Store(store_url) as store:
        assert store.schema.before == SchemaState(None, 2)
        assert store.schema.after == HEAD
        assert store.results() and store.runs()

    found = read_release_tables(store_url)
    # The one change: the run its dead process left `running` is abandoned on opening.
    dead = next(r for r in expected["run"] if r["status"] == "running")
    dead["status"] = RunStatus.ABANDONED
    expected["schema_version"] = [{"version": SCHEMA_VERSION}]
    for name in ORDER:
        assert found[name] == expected[name], name
    assert scalars(store_url, "SELECT version_num FROM alembic_version") == [HEAD]
    # A scorecard of the previous release refuses any schema version above its own 2.
    assert SCHEMA_VERSION > 2


def test_a_version_1_database_gains_gone_run(store_url: str) -> None:
    expected = write_release_database(store_url)
    engine = engine_for(store_url)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE entity DROP COLUMN gone_run"))
        connection.execute(text("UPDATE schema_version SET version = 1"))
    engine.dispose()

    with Store(store_url) as store:
        assert store.schema.before == SchemaState(None, 1)
        assert all(e.gone_run is None for e in store.entities(include_gone=True))

    found = read_release_tables(store_url)
    assert [dict(e, gone_run=None) for e in expected["entity"]] == found["entity"]
    assert found["result"] == expected["result"]


def test_reopening_a_current_database_changes_nothing(store_url: str) -> None:
    Store(store_url).close()
    with Store(store_url) as store:
        assert store.schema.before == SchemaState(HEAD)
        assert not store.schema.changed


def _with_password(url: str) -> str:
    # The test server trusts every connection, so a password is accepted and ignored.
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(password="s3cret-pw")
    return parsed.render_as_string(hide_password=False)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "UPDATE alembic_version SET version_num = '0099_from_the_future'",
            "is at schema revision 0099_from_the_future, which this scorecard does not know",
        ),
        (
            "DROP TABLE alembic_version",
            f"has schema version {SCHEMA_VERSION} but no schema revision",
        ),
    ],
    ids=["unknown-revision", "newer-schema-version"],
)
def test_a_database_from_a_newer_scorecard_is_refused(
    store_url: str, sql: str, message: str
) -> None:
    url = _with_password(store_url)
    Store(url).close()
    engine = engine_for(url)
    with engine.begin() as connection:
        connection.execute(text(sql))
    engine.dispose()

    for opening in (lambda: Store(url), lambda: Store(url, upgrade=False)):
        with pytest.raises(SchemaVersionError, match=message) as refused:
            opening()
        shown = database_url(url).render_as_string(hide_password=True)
        assert f"database {shown} " in str(refused.value)
        assert "upgrade scorecard to open it" in str(refused.value)
        assert "s3cret-pw" not in str(refused.value)
    runner = CliRunner()
    upgraded = runner.invoke(app, ["db", "upgrade", "--db", url])
    assert upgraded.exit_code == 2 and message in upgraded.stderr
    assert "s3cret-pw" not in upgraded.output


def test_without_auto_upgrade_an_older_database_is_refused_untouched(store_url: str) -> None:
    with pytest.raises(SchemaOutOfDateError, match="has no scorecard tables yet"):
        Store(store_url, upgrade=False)
    write_release_database(store_url)

    with pytest.raises(SchemaOutOfDateError) as refused:
        Store(store_url, upgrade=False)

    assert "is at schema version 2 (before revisions)" in str(refused.value)
    assert f"this scorecard needs revision {HEAD}" in str(refused.value)
    assert "run `scorecard db upgrade`" in str(refused.value)
    assert scalars(store_url, "SELECT version FROM schema_version") == [2]
    assert scalars(store_url, "SELECT status FROM run WHERE id = 4") == ["running"]
    Store(store_url).close()
    Store(store_url, upgrade=False).close()


def test_db_upgrade_and_current_on_the_command_line(tmp_path: Path, store_url: str) -> None:
    runner = CliRunner()
    shown = database_url(store_url).render_as_string(hide_password=True)

    def invoke(*args: str) -> Any:
        return runner.invoke(app, [*args, "--db", store_url], catch_exceptions=False)

    assert invoke("db", "current").exit_code == 1
    created = invoke("db", "upgrade")
    assert created.exit_code == 0, created.output
    assert created.stdout == f"created the schema of {shown} at {HEAD}\n"
    again = invoke("db", "upgrade")
    assert again.stdout == f"{shown} is already up to date at {HEAD}\n"
    current = invoke("db", "current")
    assert current.exit_code == 0 and current.stdout == f"{shown}: {HEAD} (up to date)\n"


def test_db_upgrade_of_a_release_database_through_the_workspace(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With auto_upgrade off, `run` refuses the old database until `db upgrade` ran."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCORECARD_DATABASE_URL", raising=False)
    write_release_database(store_url)
    workspace = tmp_path / "scorecard.yaml"
    workspace.write_text(
        f"catalog: {DATA / 'one-component.yaml'}\n"
        f"tracks: {Path(__file__).parents[2] / 'tracks' / 'basics.yaml'}\n"
        f"database:\n  url: {json.dumps(store_url)}\n  auto_upgrade: false\n"
    )
    runner = CliRunner()
    shown = database_url(store_url).render_as_string(hide_password=True)

    refused = runner.invoke(app, ["run"])
    assert refused.exit_code == 2
    assert "run `scorecard db upgrade`" in refused.stderr
    assert "Traceback" not in refused.output
    current = runner.invoke(app, ["db", "current"])
    assert current.exit_code == 1
    assert "schema version 2 (before revisions)" in current.stdout

    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.stdout == (
        f"upgraded {shown} from schema version 2 (before revisions) to {HEAD}\n"
    )
    ran = runner.invoke(app, ["run", "--format", "json"])
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["run"]["id"] == 5


def test_two_processes_upgrading_at_once_take_turns(store_url: str) -> None:
    write_release_database(store_url)
    engines = [engine_for(store_url) for _ in range(2)]
    done: list[Any] = []
    threads = [threading.Thread(target=lambda e=e: done.append(upgrade_schema(e))) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()

    assert sorted(u.changed for u in done) == [False, True]
    assert scalars(store_url, "SELECT version_num FROM alembic_version") == [HEAD]


def _migrate_to(url: str, revision: str, *, down: bool = False) -> None:
    engine = engine_for(url)
    with engine.begin() as connection:
        config = migrations.alembic_config(connection)
        (command.downgrade if down else command.upgrade)(config, revision)
    engine.dispose()


def _schema_differences(url: str, metadata: MetaData) -> list[Any]:
    engine = engine_for(url)
    with engine.connect() as connection, warnings.catch_warnings():
        # SQLite cannot reflect expression indexes; the SQLite test compares their DDL.
        warnings.filterwarnings("ignore", "autogenerate skipping", UserWarning)
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_object": lambda o, name, type_, reflected, compare_to: (
                    not (type_ == "table" and name == "alembic_version")
                ),
            },
        )
        differences = compare_metadata(context, metadata)
    engine.dispose()
    return differences


def test_the_baseline_is_the_release_schema(store_url: str, tmp_path: Path) -> None:
    _migrate_to(store_url, migrations.BASELINE)

    assert _schema_differences(store_url, release().StoreModel.metadata) == []
    assert scalars(store_url, "SELECT version FROM schema_version") == [2]
    if make_url(store_url).get_backend_name() == "sqlite":
        # Every statement, expression indexes included, as the release's create_all wrote it.
        release_url = f"sqlite:///{tmp_path / 'release.db'}"
        write_release_database(release_url)
        statements = "SELECT type, name, sql FROM sqlite_master WHERE tbl_name != 'alembic_version'"
        engines = [engine_for(store_url), engine_for(release_url)]
        baseline, written = (
            {
                (k, n): " ".join((s or "").split())
                for k, n, s in e.connect().execute(text(statements))
            }
            for e in engines
        )
        for engine in engines:
            engine.dispose()
        assert baseline == written


def test_the_head_revision_is_the_tables_of_this_scorecard(store_url: str) -> None:
    _migrate_to(store_url, "head")  # every revision, from an empty database

    assert _schema_differences(store_url, StoreModel.metadata) == []


def test_a_new_database_is_the_one_every_revision_builds(store_url: str) -> None:
    """An empty database is created from the tables and stamped with the head revision,
    without Alembic: it must be exactly what running every revision makes of it."""
    with Store(store_url) as store:
        assert store.schema.before == SchemaState(None)
        assert store.schema.after == HEAD
    created = _schema_dump(store_url)
    engine = engine_for(store_url)
    with engine.begin() as connection:
        connection.execute(text("DROP VIEW result"))
        StoreModel.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE alembic_version"))
    engine.dispose()

    _migrate_to(store_url, "head")

    assert _schema_dump(store_url) == created
    assert scalars(store_url, "SELECT version FROM schema_version") == [SCHEMA_VERSION]
    assert scalars(store_url, "SELECT version_num FROM alembic_version") == [HEAD]


def _schema_dump(url: str) -> dict[str, Any]:
    """Every table's columns, keys and indexes as the database itself describes them
    (expression indexes included, which SQLAlchemy cannot reflect on SQLite)."""
    engine = engine_for(url)
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            tables = [
                name
                for (name,) in connection.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    " AND name NOT LIKE 'sqlite_%'"
                )
            ]
            dump: dict[str, Any] = {
                table: {
                    "columns": sorted(
                        tuple(row[1:])
                        for row in connection.exec_driver_sql(f"PRAGMA table_info('{table}')")
                    ),
                    "foreign_keys": sorted(
                        tuple(row[2:5])
                        for row in connection.exec_driver_sql(f"PRAGMA foreign_key_list('{table}')")
                    ),
                }
                for table in tables
            }
            dump["indexes"] = sorted(
                (name, " ".join(sql.split()) if sql else None)
                for name, sql in connection.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                )
            )
            dump["views"] = sorted(
                (name, " ".join(sql.split()))
                for name, sql in connection.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'view'"
                )
            )
        else:
            queries = {
                "columns": "SELECT table_name, column_name, data_type, is_nullable,"
                " column_default FROM information_schema.columns"
                " WHERE table_schema = current_schema()",
                "constraints": "SELECT conrelid::regclass::text, pg_get_constraintdef(oid)"
                " FROM pg_constraint WHERE connamespace = current_schema()::regnamespace",
                "indexes": "SELECT indexname, indexdef FROM pg_indexes"
                " WHERE schemaname = current_schema()",
                "views": "SELECT viewname, definition FROM pg_views"
                " WHERE schemaname = current_schema()",
            }
            dump = {
                what: sorted(tuple(row) for row in connection.exec_driver_sql(sql))
                for what, sql in queries.items()
            }
    engine.dispose()
    return dump


def test_the_latest_revision_downgrades_and_upgrades_again(store_url: str) -> None:
    write_release_database(store_url)
    Store(store_url).close()
    previous = migrations.revisions()[-2]

    _migrate_to(store_url, previous, down=True)
    _migrate_to(store_url, "head")

    with Store(store_url) as store:
        assert not store.schema.changed
        assert len(store.results()) == len(release_rows()["result"])


def test_revision_files_form_one_line_named_by_their_ids() -> None:
    scripts = ScriptDirectory.from_config(migrations.alembic_config())
    chain = [s.revision for s in scripts.walk_revisions()]  # newest first

    assert scripts.get_heads() == [HEAD]
    assert list(reversed(chain)) == migrations.revisions()
    for older, newer in zip(chain[1:], chain, strict=False):
        assert scripts.get_revision(newer).down_revision == older


def test_an_upgrade_that_fails_changes_nothing(store_url: str) -> None:
    _migrate_to(store_url, migrations.BASELINE)
    engine = engine_for(store_url)
    with engine.begin() as connection:
        # 0002 adds its column, then fails on the version it cannot set.
        connection.execute(text("DROP TABLE schema_version"))
    engine.dispose()

    with pytest.raises(Exception, match="schema_version"):
        Store(store_url)

    assert scalars(store_url, "SELECT version_num FROM alembic_version") == [migrations.BASELINE]
    engine = engine_for(store_url)
    with engine.connect() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("run")}
    engine.dispose()
    assert "heartbeat_at" not in columns


def test_an_upgraded_database_keeps_each_pairs_outcomes_beside_its_level(store_url: str) -> None:
    """Revision 0005 writes each certification's outcomes, a letter per result, which the
    entity list's outcome filter reads instead of unpacking every pair."""
    write_release_database(store_url)
    Store(store_url).close()
    letters = {"pass": "p", "fail": "f", "warn": "w", "not_applicable": "n", "unknown": "u"}
    letters["error"] = "e"
    engine = engine_for(store_url)
    with engine.connect() as connection:
        kept = {
            (ref, track): outcomes
            for ref, track, outcomes in connection.execute(
                text("SELECT entity_ref, track_id, outcomes FROM certification")
            )
        }
        unpacked: dict[tuple[str, str], list[str]] = {}
        for ref, track, outcome in connection.execute(
            text("SELECT entity_ref, track_id, outcome FROM result")
        ):
            unpacked.setdefault((ref, track), []).append(letters[outcome])
    engine.dispose()
    assert unpacked and set(unpacked) <= set(kept)
    for pair, found in unpacked.items():
        assert sorted(kept[pair]) == sorted(found), pair


def test_after_the_upgrade_the_same_results_again_record_no_change(store_url: str) -> None:
    """Revision 0006 repacks every pair without the fields its layout and outcome letters
    hold; the digests stay those of the old encoding, so the next run compares each
    result with the stored one: the same results again are no change, no history row."""
    write_release_database(store_url)
    with Store(store_url) as store:
        before = store.results()
        report = RunReport.of(
            datetime.now(UTC),
            results=[
                CheckResult(
                    r.entity_ref,
                    r.track_id,
                    r.check_id,
                    r.level_id,
                    r.required,
                    Result(r.outcome, r.message, r.evidence),
                )
                for r in before
            ],
            certifications=[
                Certification(c.entity_ref, c.track_id, c.level, c.next_level)
                for c in store.certifications()
            ],
        )
        history = store.count_history_rows()
        stats = store.save_run(store.start_run("test"), report)

        assert before and stats.history_rows == 0
        assert store.count_history_rows() == history
        assert store.results() == before
