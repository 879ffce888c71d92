"""Alembic's environment: run the store's migrations on a connection.

`scorecard db upgrade` and the store pass their own connection (in
`config.attributes["connection"]`). From the `alembic` command line (for developers
writing a revision) the database is `-x db=URL`, else SCORECARD_DATABASE_URL.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from scorecard.store.database import create_store_engine, database_url
from scorecard.store.tables import StoreModel

config = context.config


def _include(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # The scheduler keeps its jobs in the same database, in a table of its own making.
    return not (type_ == "table" and reflected and compare_to is None)


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=StoreModel.metadata,
        include_object=_include,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _migrate(given)
        return
    url = context.get_x_argument(as_dictionary=True).get("db") or os.environ.get(
        "SCORECARD_DATABASE_URL"
    )
    if not url:
        raise SystemExit("name the database: alembic -x db=sqlite:///scorecard.db ...")
    engine = create_store_engine(database_url(url))
    try:
        with engine.begin() as connection:
            _migrate(connection)
    finally:
        engine.dispose()


_main()
