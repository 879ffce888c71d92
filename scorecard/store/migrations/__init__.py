"""The store's schema migrations, run through Alembic from inside the package.

Revision files are named after their revision id, `NNNN_what`, and each one follows the
one numbered before it, so the newest file is the head. That lets a process that opens a
current database learn so from a folder listing, without importing Alembic.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection

FOLDER = Path(__file__).resolve().parent
BASELINE = "0001_baseline"
_REVISION_FILE = re.compile(r"\d{4}_\w+")


def revisions() -> list[str]:
    """Every revision id this scorecard knows, oldest first."""
    files = (FOLDER / "versions").glob("*.py")
    return sorted(f.stem for f in files if _REVISION_FILE.fullmatch(f.stem))


def head() -> str:
    """The revision of the schema this scorecard's tables describe."""
    return revisions()[-1]


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for these migrations; no alembic.ini needed. With
    `connection`, migrations run on it, inside the transaction it is in."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(FOLDER))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection) -> None:
    """Bring the database of `connection` to the head revision, in its transaction."""
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


def stamp(connection: Connection, revision: str) -> None:
    """Record `revision` as the database's revision without running anything."""
    from alembic import command

    command.stamp(alembic_config(connection), revision)
