"""The document as plain data, as it must read once edited: the edited file, read again,
has to hold exactly that."""

from __future__ import annotations

import copy
from typing import Any

from scorecard.catalog.safe_yaml import parse_documents
from scorecard.fixes.catalog_edit.errors import CatalogEditError

MISSING = object()  # no value at a path (None is a value: an empty one)


def plain(value: Any) -> Any:
    """The value as the document will hold it (a tuple becomes a list)."""
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def same(a: Any, b: Any) -> bool:
    """Equal and of one type: 1, 1.0 and True are three different values in a document."""
    return type(a) is type(b) and a == b


def get(data: Any, keys: tuple[str | int, ...]) -> Any:
    """The value at `keys` (a mapping key or list index each), or `MISSING`."""
    for key in keys:
        found = (isinstance(data, dict) and key in data) or (
            isinstance(data, list) and isinstance(key, int) and key < len(data)
        )
        if not found:
            return MISSING
        data = data[key]
    return data


def put(data: Any, keys: tuple[str | int, ...], value: Any) -> None:
    """Set a value in plain data as the plan sets it in the text: a missing or empty
    mapping on the way is created."""
    for key in keys[:-1]:
        if isinstance(data, dict) and data.get(key) is None:
            data[key] = {}
        data = data[key]
    data[keys[-1]] = copy.deepcopy(value)


def check_reads_back(
    edited: str, expected: dict[str, Any], *, count: int, index: int, line: int, source: str
) -> None:
    """Refuse an edited file that, read again, does not hold `count` documents, the one
    at `index` (1-based) being `expected`; `line` is where that document starts."""
    documents = parse_documents(edited.encode("utf-8"), source)
    document = documents[index - 1] if len(documents) == count else None
    if document is None or document.problem is not None or document.data != expected:
        raise CatalogEditError(
            source,
            "the edited document would not read back as intended; the file is left as it is",
            line,
        )
