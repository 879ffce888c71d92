"""Alembic's environment: run the store's migrations on a connection.

`scorecard db upgrade` and the store pass their own connection (in
`config.attributes["connection"]`). From the `alembic` command line (for developers
writing a revision) the database is `-x db=URL`, else SCORECARD_DATABASE_URL.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, Enum
from sqlmodel.sql.sqltypes import AutoString

from scorecard.store.database import create_store_engine, database_url
from scorecard.store.tables import StoreModel, UTCDateTime

config = context.config


def _include(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # The scheduler keeps its jobs in the same database, in a table of its own making.
    return not (type_ == "table" and reflected and compare_to is None)


def _render_type(type_: str, obj: object, _context: object) -> str | bool:
    # A revision spells the store's own column types as the plain types they create, so
    # that it does not depend on (or import) code that may change after it.
    if type_ != "type":
        return False
    if isinstance(obj, AutoString):
        return "sa.String()"
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, Enum) and not obj.native_enum:
        return f"sa.String({obj.length})"
    return False


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=StoreModel.metadata,
        include_object=_include,
        render_item=_render_type,
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
