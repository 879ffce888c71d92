"""Opening a database: URLs and SQLite settings (schema revisions: test_migrations.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from scorecard.results import Outcome
from scorecard.store import SCHEMA_VERSION, Store
from scorecard.store.database import database_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@db:5432/scorecard", "postgresql+psycopg://u@db:5432/scorecard"),
        ("postgres://u@db/scorecard", "postgresql+psycopg://u@db/scorecard"),
        ("postgresql+psycopg://u@db/scorecard", "postgresql+psycopg://u@db/scorecard"),
        ("sqlite:///data/scorecard.db", "sqlite:///data/scorecard.db"),
    ],
)
def test_database_url(url, expected):
    assert database_url(url).render_as_string() == expected


def test_an_unsupported_database_is_refused_without_showing_its_password():
    with pytest.raises(ValueError, match="unsupported database") as raised:
        database_url("mysql://u:secret@db/scorecard")
    assert "secret" not in str(raised.value)


def test_sqlite_gets_its_folder_wal_and_foreign_keys(tmp_path):
    path = tmp_path / "new" / "folder" / "scorecard.db"

    with Store(f"sqlite:///{path}") as store, store.engine.connect() as connection:
        assert path.exists()
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() > 0


def test_reopening_keeps_what_was_stored(store_url, save, make_report):
    save(make_report({("payments", "prod", "owner"): Outcome.PASS}))

    with Store(store_url) as reopened, reopened.engine.connect() as connection:
        assert len(reopened.results()) == 1
        versions = connection.execute(text("SELECT version FROM schema_version")).scalars()
        assert list(versions) == [SCHEMA_VERSION]
