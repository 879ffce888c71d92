"""The longer templates of the built-in checks' fixes, one file each.

Each file is a Jinja2 template (`scorecard.fixes.templates` says what it sees). They ship
inside the package and are read as package resources when a check module is imported, so
they are found wherever the package is installed.
"""

from __future__ import annotations

from importlib.resources import files


def read(name: str) -> str:
    """The template `name` (`licenses/MIT.txt.j2`), relative to this folder."""
    return (files(__name__) / name).read_text(encoding="utf-8")
