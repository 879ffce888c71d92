"""Finding the entity's document in a catalog file, read as the catalog reader reads it."""

from __future__ import annotations

from typing import Any

from scorecard.catalog.safe_yaml import LIMITS, Document
from scorecard.entity import DEFAULT_NAMESPACE
from scorecard.fixes.catalog_edit.errors import CatalogEditError


def encode(text: str, source: str) -> bytes:
    """The file's bytes, refused when over the catalog reader's size limit."""
    limit = LIMITS.file_bytes
    too_large = CatalogEditError(
        source, f"the file is larger than the limit of {limit:,} bytes for a catalog file"
    )
    if len(text) > limit:  # refused before encoding a text that long
        raise too_large
    try:
        content = text.encode("utf-8")
    except UnicodeEncodeError as error:
        line = text.count("\n", 0, error.start) + 1
        raise CatalogEditError(source, "the text is not valid Unicode", line) from None
    if len(content) > limit:
        raise too_large
    return content


def find_document(documents: list[Document], entity: tuple[str, str, str], source: str) -> Document:
    """The one document that describes `entity` (kind, namespace, name)."""
    kind, namespace, name = entity
    ref = f"{kind.lower()}:{namespace.lower()}/{name}"
    found = [d for d in documents if _describes(d.data, kind, namespace, name)]
    if len(found) > 1:
        where = " and ".join(f"line {d.line}" for d in found[:2])
        raise CatalogEditError(
            source, f"{ref} is described twice ({where}); it is not clear which to edit"
        )
    if found:
        return found[0]
    reason = f"no document describes {ref}"
    unread = next((d.problem for d in documents if d.problem is not None), None)
    if unread is None:
        raise CatalogEditError(source, reason)
    raise CatalogEditError(source, f"{reason}, and {unread.message}", unread.line)


def _describes(data: Any, kind: str, namespace: str, name: str) -> bool:
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        return False
    metadata = data.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("name") != name:
        return False
    own = metadata.get("namespace", DEFAULT_NAMESPACE)
    return (
        isinstance(own, str)
        and own.casefold() == namespace.casefold()
        and data["kind"].casefold() == kind.casefold()
    )
