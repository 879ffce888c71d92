"""Edit one entity's document in a catalog-info.yaml, and nothing else of the file.

A fix sets an annotation, a label or a field, or adds a tag; the team's file must come back
as they wrote it, with only those lines changed: comments, blank lines, quoting, key order,
flow collections, the other documents and their markers, CRLF line ends, a missing last
newline. A round trip through a YAML library promises none of that (ruamel re-indents
lists, re-wraps long lines, drops spaces), so the file is never written out again: libyaml,
the parser that reads catalogs (`scorecard.catalog.safe_yaml`), gives the position of every
node of the entity's document, and new text is spliced in at those positions. ruamel.yaml
writes each new key and value, quoted wherever YAML 1.1 (scorecard) or 1.2 (Backstage)
would read it as something other than the text it is.

Before it is returned, the result is checked twice: every line outside the changed ones is
byte-for-byte the same (difflib), and the edited file, read again, holds exactly the
expected document. What cannot be edited safely (a shared node, a merge key, a value in
the way, broken YAML, a document over the catalog's limits) is a `CatalogEditError`.
"""

from __future__ import annotations

import copy
import difflib
import functools
import io
import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode

from scorecard.catalog.safe_yaml import LIMITS, Document, Loader, parse_documents
from scorecard.entity import DEFAULT_NAMESPACE, shown
from scorecard.fixes.model import CatalogChange

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
# Maps whose keys hold dots (`backstage.io/kubernetes-id`) and whose values are text, so
# the rest of a dot path below them is one key, as `scorecard.entity.lookup` reads it.
_FLAT_MAPS = (("metadata", "annotations"), ("metadata", "labels"))
# What libyaml takes for a line break (YAML 1.1): positions and lines are counted by it.
_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_BREAK_CHARS = "\r\n\x85\u2028\u2029"
_BLANK = " \t" + _BREAK_CHARS
_NO_WRAP = 2**30  # ruamel's line width: a value is always written on one line
_MISSING = object()


class CatalogEditError(ValueError):
    """A catalog file the change cannot be made to safely; the message says where and why."""

    def __init__(self, source: str, reason: str, line: int | None = None) -> None:
        self.source = source
        self.reason = reason
        self.line = line
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")


def edit_catalog_text(
    text: str, entity: tuple[str, str, str], change: CatalogChange, *, source: str
) -> str:
    """`text` (a catalog file, read with its line ends kept) with `change` made to the
    document of `entity` (kind, namespace, name); `text` itself when nothing is missing.

    Annotations, labels and fields are set (an existing value replaced), tags added unless
    present in any case; missing mappings are created in block style with the document's
    own indentation, or in flow style inside a flow collection. `source` names the file in
    messages. Raises `CatalogEditError`.
    """
    if change.is_empty():
        return text
    content = _encode(text, source)
    documents = parse_documents(content, source)
    document = _find(documents, entity, source)
    root = _compose(text, document, source)
    plan = _Plan(text, root, document.data, source)
    for key, value in change.annotations.items():
        plan.set(("metadata", "annotations", key), value)
    for key, value in change.labels.items():
        plan.set(("metadata", "labels", key), value)
    plan.add_tags(change.tags)
    for path, value in change.fields.items():
        plan.set(plan.resolve(path), value)
    splices = plan.splices()
    if not splices:
        return text
    edited = _spliced(text, splices)
    plan.verify(edited, splices, len(documents), document.index)
    return edited


def _encode(text: str, source: str) -> bytes:
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


def _find(documents: list[Document], entity: tuple[str, str, str], source: str) -> Document:
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


# --- the entity's document as positioned nodes --------------------------------------------


@dataclass(eq=False, slots=True)
class _Node:
    """A node of the document with its place in the text (offsets into it)."""

    kind: str  # "scalar", "mapping", "sequence" or "alias"
    start: int
    end: int
    line: int  # 1-based, for messages
    column: int
    depth: int
    parent: _Node | None
    anchor: str | None = None
    flow: bool = False
    style: str = ""  # of a scalar: "", "'", '"', "|" or ">"
    tag: str = ""  # of a scalar, resolved as the catalog reader resolves it
    value: str = ""
    children: list[_Node] = field(default_factory=list)  # a mapping's keys and values

    def pairs(self) -> Iterable[tuple[_Node, _Node]]:
        return zip(self.children[::2], self.children[1::2], strict=True)

    def get(self, key: str) -> _Node | None:
        for name, value in self.pairs():
            if name.kind == "scalar" and name.tag == _STR and name.value == key:
                return value
        return None

    def key_of(self, value: _Node) -> _Node | None:
        """The key of a value of this mapping; None for one of its keys."""
        index = next(i for i, child in enumerate(self.children) if child is value)
        return self.children[index - 1] if index % 2 else None

    @property
    def is_null(self) -> bool:
        return self.kind == "scalar" and self.tag == _NULL

    @property
    def has_merge(self) -> bool:
        return any(key.kind == "scalar" and key.tag == _MERGE for key, _ in self.pairs())


def _compose(text: str, document: Document, source: str) -> _Node:
    """The nodes of `document` (its index counts every document of the file, as libyaml
    reads them). Events rather than composed nodes: an alias keeps its own position."""
    # libyaml counts positions after a byte order mark, the pure-Python parser from it.
    shift = 1 if text.startswith("\ufeff") else 0
    loader = Loader(text[shift:])
    try:
        number = 0
        while True:
            event = loader.get_event()
            if isinstance(event, StreamEndEvent):
                break
            if isinstance(event, DocumentStartEvent):
                number += 1
                if number == document.index:
                    root = _build(loader, shift)
                    if root.kind == "mapping" and root.line == document.line:
                        return root
                    break
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        reason = " ".join(filter(None, [error.context, error.problem])) or "invalid YAML"
        raise CatalogEditError(
            source,
            f"invalid YAML ({reason}), before the end of the entity's document; the file "
            "cannot be edited until that is fixed",
            mark.line + 1 if mark else None,
        ) from None
    except (yaml.YAMLError, RecursionError) as error:
        raise CatalogEditError(source, f"the YAML cannot be read: {error}") from None
    finally:
        loader.dispose()
    raise CatalogEditError(source, "the entity's document could not be located", document.line)


def _build(loader: Any, shift: int) -> _Node:
    """The document's nodes, read up to its root's end and not beyond: the parser then
    need not reach (and fail on) a broken document after it."""
    stack: list[_Node] = []
    while True:
        event = loader.get_event()
        if isinstance(event, MappingEndEvent | SequenceEndEvent):
            done = stack.pop()
            done.end = event.end_mark.index + shift
            if not stack:
                return done
            continue
        start, end = event.start_mark, event.end_mark
        parent = stack[-1] if stack else None
        node = _Node(
            "alias",
            start.index + shift,
            end.index + shift,
            start.line + 1,
            start.column,
            len(stack),
            parent,
            event.anchor,
        )
        if isinstance(event, ScalarEvent):
            node.kind, node.style, node.value = "scalar", event.style or "", event.value
            tag = event.tag
            # As PyYAML's composer does: "!" is the non-specific tag of a quoted scalar.
            if tag is None or tag == "!":
                tag = loader.resolve(ScalarNode, event.value, event.implicit)
            node.tag = tag
        elif isinstance(event, MappingStartEvent | SequenceStartEvent):
            node.kind = "mapping" if isinstance(event, MappingStartEvent) else "sequence"
            node.flow = bool(event.flow_style)
        elif not isinstance(event, AliasEvent):
            continue
        if node.kind in ("mapping", "sequence"):
            stack.append(node)
        elif parent is None:
            return node  # a document of one scalar
        if parent is not None:
            parent.children.append(node)


def _describe(node: _Node) -> str:
    if node.kind == "mapping":
        return "a mapping"
    if node.kind == "sequence":
        return "a list"
    if node.kind == "alias":
        return f"an alias (*{node.anchor})"
    if node.is_null:
        return "empty"
    if node.tag == _STR:
        return f"the text {shown(node.value)}"
    return f"the value {shown(node.value)}"


def _dotted(keys: Iterable[str | int]) -> str:
    return ".".join(str(key) for key in keys) or "the document"


# --- what changes where ---------------------------------------------------------------------


class _NewMap(dict[str, Any]):
    """A mapping the change creates: key → value text, `_NewMap` or `_NewSeq`."""


class _NewSeq(list[str]):
    """A list the change creates: the text of each item."""


@dataclass(frozen=True, slots=True)
class _Splice:
    start: int
    end: int
    order: int  # at the same offset, lower first: deeper nodes' lines come before
    text: str


class _Plan:
    """The changes to one document, gathered by node, then turned into splices."""

    def __init__(self, text: str, root: _Node, data: dict[str, Any], source: str) -> None:
        self.text = text
        self.root = root
        self.source = source
        self.expected = copy.deepcopy(data)  # the document as it must read once edited
        self.replace: dict[_Node, str] = {}  # a scalar → its new value's text
        self.grow: dict[_Node, _NewMap] = {}  # a mapping → its new keys
        self.extend: dict[_Node, _NewSeq] = {}  # a list → its new items
        self.fill: dict[_Node, _NewMap | _NewSeq] = {}  # an empty value → what it becomes
        self.newline = next((m.group() for m in _BREAK.finditer(text)), "\n")
        if self.newline not in ("\n", "\r\n", "\r"):
            self.newline = "\n"
        self.step, self.sequence_offset = _layout(root)

    # --- gathering ------------------------------------------------------------------------

    def resolve(self, path: str) -> tuple[str | int, ...]:
        """The keys a dot path names. At each mapping the longest run of segments that is
        a key wins, as `scorecard.entity.lookup` reads it; list items are named by index.
        Missing keys are one level each, except below annotations and labels."""
        parts = path.split(".")
        if not all(parts):
            raise CatalogEditError(self.source, f"{path!r} is not a dot path to a field")
        keys: list[str | int] = []
        holder: _Node | _NewMap = self.root
        i = 0
        while i < len(parts):
            if isinstance(holder, _NewMap) or holder.kind == "mapping":
                for j in range(len(parts), i, -1):
                    key = ".".join(parts[i:j])
                    child = self._child(holder, key)
                    if child is not _MISSING:
                        break
                else:
                    return (*keys, *_new_keys(keys, parts[i:]))
                keys.append(key)
                i = j
            elif holder.kind == "sequence" and parts[i].isdigit():
                index = int(parts[i])
                if index >= len(holder.children):
                    raise self._error(
                        f"cannot set {path}: {_dotted(keys)} has no item {index}", holder
                    )
                child = holder.children[index]
                keys.append(index)
                i += 1
            else:
                raise self._error(
                    f"cannot set {path}: {_dotted(keys)} is {_describe(holder)}, "
                    "so the path cannot go through it",
                    holder,
                )
            if isinstance(child, _Node) and child in self.fill:
                child = self.fill[child]
            elif isinstance(child, _Node) and _fillable(child) and i < len(parts):
                # An empty value (`annotations:`) on the way becomes a mapping, as missing.
                return (*keys, *_new_keys(keys, parts[i:]))
            if not isinstance(child, _Node | _NewMap):
                if i < len(parts):
                    raise self._error(
                        f"cannot set {path}: another part of the change sets {_dotted(keys)}"
                    )
                break
            holder = child
        return tuple(keys)

    def _child(self, holder: _Node | _NewMap, key: str) -> Any:
        if isinstance(holder, _NewMap):
            return holder.get(key, _MISSING)
        child = holder.get(key)
        if child is not None:
            return child
        pending = self.grow.get(holder)
        return pending.get(key, _MISSING) if pending is not None else _MISSING

    def set(self, keys: tuple[str | int, ...], value: Any) -> None:
        """Set the value at `keys` (a mapping key or list index each), creating mappings."""
        value = _plain(value)
        if _same(_get(self.expected, keys), value):
            return
        target = _dotted(keys)
        text = _value_text(value, self.source, target)
        holder: _Node | _NewMap = self.root
        i = 0
        while True:
            key, last = keys[i], i == len(keys) - 1
            if isinstance(holder, _NewMap):
                if last:
                    holder[key] = text  # type: ignore[index]
                    break
                inner = holder.setdefault(key, _NewMap())  # type: ignore[arg-type]
                if not isinstance(inner, _NewMap):
                    raise self._error(f"cannot set {target}: another part of the change sets it")
                holder, i = inner, i + 1
                continue
            self._check_editable(holder, keys[:i], target)
            if holder.kind == "mapping" and isinstance(key, str):
                child = holder.get(key)
                if child is None:
                    holder = self.grow.setdefault(holder, _NewMap())
                    continue  # the same key, in the mapping's new keys
            elif holder.kind == "sequence" and isinstance(key, int):
                child = holder.children[key]
            else:
                raise self._error(
                    f"cannot set {target}: {_dotted(keys[:i])} is {_describe(holder)}, "
                    "not a mapping",
                    holder,
                )
            # A later value for the same key wins, as in `CatalogChange.merged`.
            if (child in self.replace and not last) or (last and child in self.fill):
                raise self._error(f"cannot set {target}: another part of the change sets it")
            if last:
                self._check_editable(child, keys, target)
                if child.kind != "scalar":
                    raise self._error(
                        f"cannot set {target}: it is {_describe(child)}, and the change only "
                        "replaces a single value",
                        child,
                    )
                self.replace[child] = text
                break
            if _fillable(child):
                filled = self.fill.setdefault(child, _NewMap())
                if not isinstance(filled, _NewMap):
                    raise self._error(f"cannot set {target}: another part of the change sets it")
                holder = filled
            else:
                holder = child
            i += 1
        _put(self.expected, keys, value)

    def add_tags(self, tags: Iterable[str]) -> None:
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
        texts = _NewSeq(_value_text(tag, self.source, "metadata.tags") for tag in new)
        self._check_editable(self.root, (), "metadata.tags")
        node = self.root.get("metadata")
        assert node is not None  # the document was found by its metadata.name
        self._check_editable(node, ("metadata",), "metadata.tags")
        if node.kind != "mapping":
            raise self._error(f"metadata is {_describe(node)}, not a mapping", node)
        sequence = node.get("tags")
        if sequence is not None:
            self._check_editable(sequence, ("metadata", "tags"), "metadata.tags")
        if sequence is None:
            pending = self.grow.setdefault(node, _NewMap())
            pending["tags"] = _NewSeq([*pending.get("tags", ()), *texts])
        elif sequence.is_null and sequence not in self.fill:
            self.fill[sequence] = texts
        elif sequence.kind == "sequence":
            self.extend.setdefault(sequence, _NewSeq()).extend(texts)
        else:
            raise self._error(
                f"metadata.tags is {_describe(sequence)}, not a list, so the tag "
                f"{shown(new[0])} cannot be added",
                sequence,
            )
        metadata["tags"] = [*(listed or []), *new]

    def _check_editable(self, node: _Node, keys: tuple[str | int, ...], target: str) -> None:
        where = _dotted(keys)
        if node.kind == "alias":
            raise self._error(
                f"cannot set {target}: {where} is an alias (*{node.anchor}) of a node shared "
                "with other places; change it by hand",
                node,
            )
        if node.anchor is not None:
            raise self._error(
                f"cannot set {target}: {where} carries the anchor &{node.anchor}, so it may be "
                "shared with other places; change it by hand",
                node,
            )
        if node.kind == "mapping" and node.has_merge:
            raise self._error(
                f"cannot set {target}: {where} takes keys from elsewhere with a merge key "
                "(<<); change it by hand",
                node,
            )

    def _error(self, reason: str, node: _Node | None = None) -> CatalogEditError:
        """An error at the node's line; at its key's, for a mapping's value (a block list
        starts on the line after its key)."""
        if node is None:
            return CatalogEditError(self.source, reason)
        parent = node.parent
        key = parent.key_of(node) if parent is not None and parent.kind == "mapping" else None
        return CatalogEditError(self.source, reason, (key or node).line)

    # --- rendering --------------------------------------------------------------------------

    def splices(self) -> list[_Splice]:
        splices = []
        for node, text in self.replace.items():
            end = _value_end(self.text, node)
            text = self._after_indicator(node, end) + text
            splices.append(_Splice(node.start, end, -node.depth, text))
        for node, entries in self.grow.items():
            pairs = [
                f"{_key_text(k, self.source)}: {_flow(v, self.source)}" for k, v in entries.items()
            ]
            if node.flow:
                splices.append(self._flow_insert(node, pairs))
            else:
                lines = self._block_entries(entries, node.children[0].column)
                splices.append(self._block_insert(_last_pos(self.text, node), node, lines))
        for node, items in self.extend.items():
            if node.flow:
                splices.append(self._flow_insert(node, list(items)))
            else:
                splices.append(
                    self._block_insert(_last_pos(self.text, node), node, self._items(node, items))
                )
        for node, new in self.fill.items():
            splices.extend(self._fill(node, new))
        return sorted(splices, key=lambda s: (s.start, s.order))

    def _after_indicator(self, node: _Node, end: int) -> str:
        """The blank a value written in place of an empty one needs after `key:`."""
        empty = node.start == end
        return " " if empty and node.start > 0 and self.text[node.start - 1] not in " \t" else ""

    def _fill(self, node: _Node, new: _NewMap | _NewSeq) -> list[_Splice]:
        """Splices that make an empty value (`annotations:`) the new mapping or list."""
        parent = node.parent
        assert parent is not None and parent.kind == "mapping"
        if parent.flow:
            text = self._after_indicator(node, node.end) + _flow(new, self.source)
            return [_Splice(node.start, node.end, -node.depth, text)]
        key = parent.key_of(node)
        assert key is not None  # only a mapping's value is filled
        if isinstance(new, _NewMap):
            lines = self._block_entries(new, key.column + self.step)
        else:
            lines = _item_lines(new, key.column + self.sequence_offset, 2)
        splices = [self._block_insert(node.start, node, lines)]
        if node.end > node.start:  # `~` or `null`: removed with the blanks before it
            start = node.start
            while start > 0 and self.text[start - 1] in " \t":
                start -= 1
            splices.append(_Splice(start, node.end, -node.depth, ""))
        return splices

    def _block_entries(self, entries: _NewMap, indent: int) -> list[str]:
        lines = []
        for key, value in entries.items():
            head = " " * indent + _key_text(key, self.source) + ":"
            if isinstance(value, _NewMap):
                lines.append(head)
                lines.extend(self._block_entries(value, indent + self.step))
            elif isinstance(value, _NewSeq):
                lines.append(head)
                lines.extend(_item_lines(value, indent + self.sequence_offset, 2))
            else:
                lines.append(f"{head} {value}")
        return lines

    def _items(self, sequence: _Node, items: _NewSeq) -> list[str]:
        """New items of a block list, written as its first item is: `- x` or `-   x`."""
        first = sequence.children[0]
        line_start = _line_start(self.text, first.start)
        dash = self.text.rfind("-", line_start, first.start)
        if dash < 0:  # the item is on the line after its dash
            return _item_lines(items, sequence.column, 2)
        return _item_lines(items, dash - line_start, first.start - dash)

    def _block_insert(self, pos: int, node: _Node, lines: list[str]) -> _Splice:
        """New lines after the line holding `pos`, with the file's line ends."""
        found = _BREAK.search(self.text, pos)
        if found is None:  # the last line, without a line end: it stays without one
            leaf = _last_leaf(node)
            if leaf.style in ("|", ">") and _chomping(self.text, leaf) != "-":
                raise self._error(
                    "a block scalar ends the file, with no line break after it; a line after "
                    "it would give it one and so change its value. End the file with a line "
                    "break first",
                    leaf,
                )
            text = "".join(self.newline + line for line in lines)
            return _Splice(len(self.text), len(self.text), -node.depth, text)
        text = "".join(line + self.newline for line in lines)
        return _Splice(found.end(), found.end(), -node.depth, text)

    def _flow_insert(self, node: _Node, parts: list[str]) -> _Splice:
        """New entries of a flow collection, right after its last one (so that a trailing
        comma or a comment before the bracket stays where it is)."""
        if node.children:
            pos, text = node.children[-1].end, ", " + ", ".join(parts)
        else:
            pos, text = node.end - 1, ", ".join(parts)  # before the closing bracket
        return _Splice(pos, pos, -node.depth, text)

    # --- checking ---------------------------------------------------------------------------

    def verify(self, edited: str, splices: list[_Splice], count: int, index: int) -> None:
        """Refuse an edit that changed a line it was not meant to, or that does not read
        back as the expected document.

        The lines around each splice are compared with difflib, the text between them as
        it is: one diff of a whole document can take quadratic time (a list of the same
        line a hundred thousand times), these take time in proportion to the file.
        """
        old = self.text
        old_at = new_at = 0
        for start, end, group in _hunks(old, splices):
            if edited[new_at : new_at + start - old_at] != old[old_at:start]:
                raise self._unkept(old, old_at, edited[new_at:])
            new_at += start - old_at
            new_end = new_at + end - start + sum(len(s.text) - (s.end - s.start) for s in group)
            old_lines = old[start:end].splitlines(keepends=True)
            new_lines = edited[new_at:new_end].splitlines(keepends=True)
            touched = _touched(old_lines, [(s.start - start, s.end - start) for s in group])
            matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
            kept = set()
            for tag, i1, i2, _, _ in matcher.get_opcodes():
                if tag == "equal":
                    kept.update(range(i1, i2))
            lost = [i for i in range(len(old_lines)) if i not in kept and i not in touched]
            if lost:
                raise self._unkept(old, start + sum(len(line) for line in old_lines[: lost[0]]))
            old_at, new_at = end, new_end
        if edited[new_at:] != old[old_at:]:
            raise self._unkept(old, old_at, edited[new_at:])
        documents = parse_documents(edited.encode("utf-8"), self.source)
        document = documents[index - 1] if len(documents) == count else None
        if document is None or document.problem is not None or document.data != self.expected:
            raise CatalogEditError(
                self.source,
                "the edited document would not read back as intended; the file is left as it is",
                self.root.line,
            )

    def _unkept(self, old: str, offset: int, edited: str = "") -> CatalogEditError:
        """The error for a line changed at `offset`, or from there on, where the rest of
        the edited text is `edited`."""
        if edited:
            offset += _common_prefix(old[offset:], edited)
        line = len(_BREAK.findall(old, 0, offset)) + 1
        return CatalogEditError(
            self.source, "the edit would also change this line; the file is left as it is", line
        )


def _common_prefix(a: str, b: str) -> int:
    """How many characters `a` and `b` share at their start (in blocks: the texts may be
    megabytes long, and a loop over characters slow)."""
    size, at = 4096, 0
    while size:
        while a[at : at + size] == b[at : at + size] and at < min(len(a), len(b)):
            at += size
        size //= 8
    return min(at, len(a), len(b))


def _hunks(text: str, splices: list[_Splice]) -> list[tuple[int, int, list[_Splice]]]:
    """The whole lines each splice touches, (start, end, splices), those that share a line
    merged; `splices` are in order."""
    hunks: list[tuple[int, int, list[_Splice]]] = []
    for splice in splices:
        start = _line_start(text, splice.start)
        end = _line_end(text, max(splice.start, splice.end - 1))
        if hunks and start < hunks[-1][1]:
            first, last, group = hunks[-1]
            hunks[-1] = (first, max(last, end), [*group, splice])
        else:
            hunks.append((start, end, [splice]))
    return hunks


def _layout(root: _Node) -> tuple[int, int]:
    """The document's indentation: how far a nested mapping's keys are indented from their
    parent key, and a list's dashes (0 when lists are written flush with their key)."""
    steps: Counter[int] = Counter()
    offsets: Counter[int] = Counter()
    stack = [root]
    while stack:
        node = stack.pop()
        if node.kind == "mapping" and not node.flow:
            for key, value in node.pairs():
                if value.flow or value.line <= key.line or not value.children:
                    continue
                if value.kind == "mapping" and value.children[0].column > key.column:
                    steps[value.children[0].column - key.column] += 1
                elif value.kind == "sequence" and value.column >= key.column:
                    offsets[value.column - key.column] += 1
        stack.extend(reversed([c for c in node.children if c.kind in ("mapping", "sequence")]))
    step = steps.most_common(1)[0][0] if steps else 2
    return step, (offsets.most_common(1)[0][0] if offsets else step)


def _fillable(node: _Node) -> bool:
    """An empty value of a mapping (`annotations:`, `tags: ~`), which an edit may fill."""
    parent = node.parent
    return node.is_null and node.anchor is None and parent is not None and parent.kind == "mapping"


def _new_keys(done: list[str | int], rest: list[str]) -> list[str]:
    """The keys to create for the segments `rest` of a path below `done`."""
    full = [*done, *rest]
    if tuple(full[:2]) in _FLAT_MAPS and len(done) <= 2 and len(full) > 3:
        return [*rest[: 2 - len(done)], ".".join(str(part) for part in full[2:])]
    return rest


def _item_lines(items: Iterable[str], dash: int, gap: int) -> list[str]:
    """List items with the dash at column `dash` and the text `gap` columns after it."""
    return [" " * dash + "-" + " " * max(gap - 1, 1) + item for item in items]


def _last_leaf(node: _Node) -> _Node:
    """The node whose text ends a block collection: its last value, at any depth."""
    while node.kind in ("mapping", "sequence") and not node.flow and node.children:
        node = node.children[-1]
    return node


def _chomping(text: str, node: _Node) -> str:
    """A block scalar's chomping indicator: "-" (strip), "+" (keep) or "" (clip)."""
    header = text[node.start : _line_end(text, node.start)].split("#")[0]
    header = header[header.find(node.style) :]  # not an anchor or a tag before it
    return "+" if "+" in header else "-" if "-" in header else ""


def _last_pos(text: str, node: _Node) -> int:
    """An offset on the last line that holds the node's text (not its trailing comments)."""
    node = _last_leaf(node)
    if node.style in ("|", ">") and _chomping(text, node) != "+":
        return _value_end(text, node) - 1
    # A kept block scalar's trailing blank lines belong to it.
    return max(node.start, node.end - 1)


def _value_end(text: str, node: _Node) -> int:
    """Where a scalar's text ends: a block scalar's at its last non-blank character (the
    blank lines after it stay), any other's at its end."""
    if node.style not in ("|", ">"):
        return node.end
    end = node.end
    while end > node.start and text[end - 1] in _BLANK:
        end -= 1
    return end


def _line_start(text: str, pos: int) -> int:
    return max(text.rfind(c, 0, pos) for c in _BREAK_CHARS) + 1


def _line_end(text: str, pos: int) -> int:
    """The offset after the line break ending the line at `pos` (or the end of the text)."""
    found = _BREAK.search(text, pos)
    return found.end() if found is not None else len(text)


def _touched(lines: list[str], spans: list[tuple[int, int]]) -> set[int]:
    """The lines (indexes into `lines`) a splice replaces or writes into."""
    starts = []
    offset = 0
    for line in lines:
        starts.append(offset)
        offset += len(line)
    boundaries = set(starts)
    if lines and lines[-1].splitlines() != [lines[-1]]:  # the last line has its line end
        boundaries.add(offset)
    touched: set[int] = set()
    for start, end in spans:
        if start == end and start in boundaries:
            continue  # new lines between old ones
        first = bisect_right(starts, start) - 1
        last = bisect_right(starts, max(start, end - 1)) - 1
        touched.update(range(max(first, 0), last + 1))
    return touched


def _spliced(text: str, splices: list[_Splice]) -> str:
    parts, done = [], 0
    for splice in splices:
        if splice.start < done:
            raise AssertionError("overlapping splices")  # a bug, not a file problem
        parts.append(text[done : splice.start])
        parts.append(splice.text)
        done = max(done, splice.end)
    parts.append(text[done:])
    return "".join(parts)


# --- values -----------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """The value as the document will hold it (a tuple becomes a list)."""
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _get(data: Any, keys: tuple[str | int, ...]) -> Any:
    for key in keys:
        found = (isinstance(data, dict) and key in data) or (
            isinstance(data, list) and isinstance(key, int) and key < len(data)
        )
        if not found:
            return _MISSING
        data = data[key]
    return data


def _put(data: Any, keys: tuple[str | int, ...], value: Any) -> None:
    """Set a value in plain data as the plan sets it in the text: a missing or empty
    mapping on the way is created."""
    for key in keys[:-1]:
        if isinstance(data, dict) and data.get(key) is None:
            data[key] = {}
        data = data[key]
    data[keys[-1]] = copy.deepcopy(value)


def _flow(value: Any, source: str) -> str:
    """A value's text in flow style: a created mapping or list is written out here."""
    if isinstance(value, _NewMap):
        pairs = [f"{_key_text(k, source)}: {_flow(v, source)}" for k, v in value.items()]
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, _NewSeq):
        return "[" + ", ".join(value) + "]"
    return value


def _key_text(key: str, source: str) -> str:
    return _value_text(key, source, key)


def _value_text(value: Any, source: str, target: str) -> str:
    """The text of a value on one line, readable in block and in flow context."""
    if isinstance(value, dict):
        pairs = [
            f"{_value_text(k, source, target)}: {_value_text(v, source, target)}"
            for k, v in value.items()
        ]
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_value_text(item, source, target) for item in value) + "]"
    if (
        value is None
        or isinstance(value, str | int)
        or (isinstance(value, float) and math.isfinite(value))
    ):
        text = _scalar_text(value)
        if text is not None:
            return text
    raise CatalogEditError(
        source, f"cannot set {target}: the value {shown(value)} cannot be written as YAML"
    )


# A fix sets the same few values on entity after entity; `typed`, as 1, 1.0 and True differ.
@functools.lru_cache(maxsize=1024, typed=True)
def _scalar_text(value: str | int | float | None) -> str | None:
    """ruamel's text for a scalar, or None. ruamel picks the style; a text it would leave
    plain although YAML 1.1 reads it as something else (`yes`, `on`), or would spread over
    lines, is written double-quoted instead."""
    for quoted in (False, True) if isinstance(value, str) else (False,):
        text = _ruamel_text(value, quoted)
        if text is not None and _reads_back(text, value):
            return text
    return None


def _ruamel_text(value: Any, quoted: bool) -> str | None:
    writer = YAML(typ="rt")
    writer.default_flow_style = True
    writer.width = _NO_WRAP
    writer.allow_unicode = True
    out = io.StringIO()
    # Inside a flow list: the text is then valid in flow context (`{a: b}`) as well.
    writer.dump([DoubleQuotedScalarString(value) if quoted else value], out)
    written = out.getvalue()
    if not (written.startswith("[") and written.endswith("]\n")):
        return None
    return written[1:-2]


def _reads_back(text: str, value: Any) -> bool:
    """Whether both YAML 1.1 (scorecard's reader) and 1.2 (ruamel, like Backstage) read
    `text` as `value`, and it is one line."""
    if any(c in text for c in _BREAK_CHARS):
        return False
    listed = f"[{text}]"
    try:
        read = [yaml.load(listed, Loader=Loader), YAML(typ="safe", pure=True).load(listed)]
    except Exception:  # any failure to read means the text is not the one to write
        return False
    return all(isinstance(r, list) and len(r) == 1 and _same(r[0], value) for r in read)
