"""What changes where: the changes to one document, gathered by the node they change.

A value replaces a scalar, new keys grow a mapping, new items extend a list, and an empty
value (`annotations:`) is filled with a new mapping or list. Missing mappings on the way
are created; `scorecard.fixes.catalog_edit.render` turns all of it into text.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from scorecard.entity import shown
from scorecard.fixes.catalog_edit.errors import CatalogEditError
from scorecard.fixes.catalog_edit.expected import MISSING, get, plain, put, same
from scorecard.fixes.catalog_edit.nodes import Node, describe, dotted
from scorecard.fixes.catalog_edit.refusals import check_editable, error_at
from scorecard.fixes.catalog_edit.value_text import value_text

# Maps whose keys hold dots (`backstage.io/kubernetes-id`) and whose values are text, so
# the rest of a dot path below them is one key, as `scorecard.entity.lookup` reads it.
_FLAT_MAPS = (("metadata", "annotations"), ("metadata", "labels"))


class NewMap(dict[str, Any]):
    """A mapping the change creates: key → value text, `NewMap` or `NewSeq`."""


class NewSeq(list[str]):
    """A list the change creates: the text of each item."""


class Plan:
    """The changes to one document, gathered by node."""

    def __init__(self, root: Node, data: dict[str, Any], source: str) -> None:
        self.root = root
        self.source = source
        self.expected = copy.deepcopy(data)  # the document as it must read once edited
        self.replace: dict[Node, str] = {}  # a scalar → its new value's text
        self.grow: dict[Node, NewMap] = {}  # a mapping → its new keys
        self.extend: dict[Node, NewSeq] = {}  # a list → its new items
        self.fill: dict[Node, NewMap | NewSeq] = {}  # an empty value → what it becomes

    def resolve(self, path: str) -> tuple[str | int, ...]:
        """The keys a dot path names. At each mapping the longest run of segments that is
        a key wins, as `scorecard.entity.lookup` reads it; list items are named by index.
        Missing keys are one level each, except below annotations and labels."""
        parts = path.split(".")
        if not all(parts):
            raise CatalogEditError(self.source, f"{path!r} is not a dot path to a field")
        keys: list[str | int] = []
        holder: Node | NewMap = self.root
        i = 0
        while i < len(parts):
            if isinstance(holder, NewMap) or holder.kind == "mapping":
                for j in range(len(parts), i, -1):
                    key = ".".join(parts[i:j])
                    child = self._child(holder, key)
                    if child is not MISSING:
                        break
                else:
                    return (*keys, *_new_keys(keys, parts[i:]))
                keys.append(key)
                i = j
            elif holder.kind == "sequence" and parts[i].isdigit():
                index = int(parts[i])
                if index >= len(holder.children):
                    raise self._error(
                        f"cannot set {path}: {dotted(keys)} has no item {index}", holder
                    )
                child = holder.children[index]
                keys.append(index)
                i += 1
            else:
                raise self._error(
                    f"cannot set {path}: {dotted(keys)} is {describe(holder)}, "
                    "so the path cannot go through it",
                    holder,
                )
            if isinstance(child, Node) and child in self.fill:
                child = self.fill[child]
            elif isinstance(child, Node) and _fillable(child) and i < len(parts):
                # An empty value (`annotations:`) on the way becomes a mapping, as missing.
                return (*keys, *_new_keys(keys, parts[i:]))
            if not isinstance(child, Node | NewMap):
                if i < len(parts):
                    raise self._error(
                        f"cannot set {path}: another part of the change sets {dotted(keys)}"
                    )
                break
            holder = child
        return tuple(keys)

    def _child(self, holder: Node | NewMap, key: str) -> Any:
        """The value at `key`, in the text or among the keys the plan adds; or MISSING."""
        if isinstance(holder, NewMap):
            return holder.get(key, MISSING)
        child = holder.get(key)
        if child is not None:
            return child
        pending = self.grow.get(holder)
        return pending.get(key, MISSING) if pending is not None else MISSING

    def set(self, keys: tuple[str | int, ...], value: Any) -> None:
        """Set the value at `keys` (a mapping key or list index each), creating mappings."""
        value = plain(value)
        if same(get(self.expected, keys), value):
            return
        target = dotted(keys)
        text = value_text(value, self.source, target)
        holder: Node | NewMap = self.root
        i = 0
        while True:
            key, last = keys[i], i == len(keys) - 1
            if isinstance(holder, NewMap):
                if last:
                    holder[key] = text  # type: ignore[index]
                    break
                inner = holder.setdefault(key, NewMap())  # type: ignore[arg-type]
                if not isinstance(inner, NewMap):
                    raise self._error(f"cannot set {target}: another part of the change sets it")
                holder, i = inner, i + 1
                continue
            check_editable(holder, keys[:i], target, self.source)
            if holder.kind == "mapping" and isinstance(key, str):
                child = holder.get(key)
                if child is None:
                    holder = self.grow.setdefault(holder, NewMap())
                    continue  # the same key, in the mapping's new keys
            elif holder.kind == "sequence" and isinstance(key, int):
                child = holder.children[key]
            else:
                raise self._error(
                    f"cannot set {target}: {dotted(keys[:i])} is {describe(holder)}, not a mapping",
                    holder,
                )
            # A later value for the same key wins, as in `CatalogChange.merged`.
            if (child in self.replace and not last) or (last and child in self.fill):
                raise self._error(f"cannot set {target}: another part of the change sets it")
            if last:
                check_editable(child, keys, target, self.source)
                if child.kind != "scalar":
                    raise self._error(
                        f"cannot set {target}: it is {describe(child)}, and the change only "
                        "replaces a single value",
                        child,
                    )
                self.replace[child] = text
                break
            if _fillable(child):
                filled = self.fill.setdefault(child, NewMap())
                if not isinstance(filled, NewMap):
                    raise self._error(f"cannot set {target}: another part of the change sets it")
                holder = filled
            else:
                holder = child
            i += 1
        put(self.expected, keys, value)

    def add_tags(self, tags: Iterable[str]) -> None:
        """Add to metadata.tags the tags not there in any case, creating the list."""
        metadata = self.expected["metadata"]
        listed = metadata.get("tags")
        if not isinstance(listed, list):
            listed = None
        present = {t.casefold() for t in listed or () if isinstance(t, str)}
        new: list[str] = []
        for tag in tags:
            if tag.casefold() not in present:
                present.add(tag.casefold())
                new.append(tag)
        if not new:
            return
        texts = NewSeq(value_text(tag, self.source, "metadata.tags") for tag in new)
        check_editable(self.root, (), "metadata.tags", self.source)
        node = self.root.get("metadata")
        assert node is not None  # the document was found by its metadata.name
        check_editable(node, ("metadata",), "metadata.tags", self.source)
        if node.kind != "mapping":
            raise self._error(f"metadata is {describe(node)}, not a mapping", node)
        sequence = node.get("tags")
        if sequence is not None:
            check_editable(sequence, ("metadata", "tags"), "metadata.tags", self.source)
        if sequence is None:
            pending = self.grow.setdefault(node, NewMap())
            pending["tags"] = NewSeq([*pending.get("tags", ()), *texts])
        elif sequence.is_null and sequence not in self.fill:
            self.fill[sequence] = texts
        elif sequence.kind == "sequence":
            self.extend.setdefault(sequence, NewSeq()).extend(texts)
        else:
            raise self._error(
                f"metadata.tags is {describe(sequence)}, not a list, so the tag "
                f"{shown(new[0])} cannot be added",
                sequence,
            )
        metadata["tags"] = [*(listed or []), *new]

    def _error(self, reason: str, node: Node | None = None) -> CatalogEditError:
        return error_at(self.source, reason, node)


def _fillable(node: Node) -> bool:
    """An empty value of a mapping (`annotations:`, `tags: ~`), which an edit may fill."""
    parent = node.parent
    return node.is_null and node.anchor is None and parent is not None and parent.kind == "mapping"


def _new_keys(done: list[str | int], rest: list[str]) -> list[str]:
    """The keys to create for the segments `rest` of a path below `done`."""
    full = [*done, *rest]
    if tuple(full[:2]) in _FLAT_MAPS and len(done) <= 2 and len(full) > 3:
        return [*rest[: 2 - len(done)], ".".join(str(part) for part in full[2:])]
    return rest
