"""The one error an edit raises, so that callers can tell a file scorecard will not edit
from a bug."""

from __future__ import annotations


class CatalogEditError(ValueError):
    """A catalog file the change cannot be made to safely; the message says where and why."""

    def __init__(self, source: str, reason: str, line: int | None = None) -> None:
        self.source = source
        self.reason = reason
        self.line = line
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")
