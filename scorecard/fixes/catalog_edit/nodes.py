"""The entity's document as positioned nodes: libyaml, the parser that reads catalogs
(`scorecard.catalog.safe_yaml`), gives the position of every node, and new text is spliced
in at those positions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
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

from scorecard.catalog.safe_yaml import Document, Loader
from scorecard.entity import shown
from scorecard.fixes.catalog_edit.errors import CatalogEditError

STR = "tag:yaml.org,2002:str"
NULL = "tag:yaml.org,2002:null"
MERGE = "tag:yaml.org,2002:merge"


@dataclass(eq=False, slots=True)
class Node:
    """A node of the document with its place in the text (offsets into it)."""

    kind: str  # "scalar", "mapping", "sequence" or "alias"
    start: int
    end: int
    line: int  # 1-based, for messages
    column: int
    depth: int
    parent: Node | None
    anchor: str | None = None
    flow: bool = False
    style: str = ""  # of a scalar: "", "'", '"', "|" or ">"
    tag: str = ""  # of a scalar, resolved as the catalog reader resolves it
    value: str = ""
    children: list[Node] = field(default_factory=list)  # a mapping's keys and values

    def pairs(self) -> Iterable[tuple[Node, Node]]:
        return zip(self.children[::2], self.children[1::2], strict=True)

    def get(self, key: str) -> Node | None:
        for name, value in self.pairs():
            if name.kind == "scalar" and name.tag == STR and name.value == key:
                return value
        return None

    def key_of(self, value: Node) -> Node | None:
        """The key of a value of this mapping; None for one of its keys."""
        index = next(i for i, child in enumerate(self.children) if child is value)
        return self.children[index - 1] if index % 2 else None

    @property
    def is_null(self) -> bool:
        return self.kind == "scalar" and self.tag == NULL

    @property
    def has_merge(self) -> bool:
        return any(key.kind == "scalar" and key.tag == MERGE for key, _ in self.pairs())


def compose(text: str, document: Document, source: str) -> Node:
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


def _build(loader: Any, shift: int) -> Node:
    """The document's nodes, read up to its root's end and not beyond: the parser then
    need not reach (and fail on) a broken document after it."""
    stack: list[Node] = []
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
        node = Node(
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


def describe(node: Node) -> str:
    """What a node is, for a message: "a list", "the text 'x'"."""
    if node.kind == "mapping":
        return "a mapping"
    if node.kind == "sequence":
        return "a list"
    if node.kind == "alias":
        return f"an alias (*{node.anchor})"
    if node.is_null:
        return "empty"
    if node.tag == STR:
        return f"the text {shown(node.value)}"
    return f"the value {shown(node.value)}"


def dotted(keys: Iterable[str | int]) -> str:
    """A path of keys as a message names it: `metadata.tags.0`."""
    return ".".join(str(key) for key in keys) or "the document"
