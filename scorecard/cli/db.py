"""`scorecard db`: bring the workspace's database schema up to date, or show where it is."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from scorecard.cli.app import (
    EXIT_FAILED,
    State,
    config_errors,
    database_errors,
    db_app,
    fail,
    stdout,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL.")]


@db_app.command("upgrade")
def upgrade(ctx: typer.Context, db: DbOption = None) -> None:
    """Bring the database's schema up to date, creating it in an empty database.

    Says from which revision to which. Needed before `serve` or `run` when the workspace
    sets `database.auto_upgrade: false`; they upgrade by themselves otherwise.
    """
    from scorecard.store.database import upgrade_schema

    with _engine(ctx, db) as (engine, shown), database_errors():
        done = upgrade_schema(engine)
    if not done.changed:
        stdout.print(f"{shown} is already up to date at {done.after}", highlight=False)
    elif done.before.revision is None and done.before.legacy_version is None:
        stdout.print(f"created the schema of {shown} at {done.after}", highlight=False)
    else:
        stdout.print(f"upgraded {shown} from {done.before} to {done.after}", highlight=False)


@db_app.command("current")
def current(ctx: typer.Context, db: DbOption = None) -> None:
    """Show the database's schema revision; exits 1 when it is not this scorecard's."""
    from scorecard.store import migrations
    from scorecard.store.database import schema_state

    with _engine(ctx, db) as (engine, shown), engine.connect() as connection:
        state = schema_state(connection)
    head = migrations.head()
    if state.revision == head:
        stdout.print(f"{shown}: {head} (up to date)", highlight=False)
        return
    if state.revision is not None and state.revision not in migrations.revisions():
        advice = "a newer scorecard upgraded it; upgrade scorecard to use it"
    else:
        advice = "run `scorecard db upgrade`"
    stdout.print(f"{shown}: {state}; this scorecard's is {head}: {advice}", highlight=False)
    raise typer.Exit(EXIT_FAILED)


@contextmanager
def _engine(ctx: typer.Context, db: str | None) -> Iterator[tuple[Engine, str]]:
    """An engine on `--db`, else the workspace's database, and its URL to show."""
    from sqlalchemy.exc import OperationalError

    from scorecard.store.database import create_store_engine, database_url

    state: State = ctx.obj
    with config_errors():
        url = db or state.workspace().database
    try:
        engine = create_store_engine(database_url(url))
    except ValueError as error:
        raise fail(str(error)) from None
    shown = engine.url.render_as_string(hide_password=True)
    try:
        yield engine, shown
    except OperationalError as error:
        raise fail(f"cannot use database {shown}: {error.orig}") from None
    finally:
        engine.dispose()
