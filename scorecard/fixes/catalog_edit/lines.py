"""Lines of the text, and where a node's text ends, counted as libyaml counts them."""

from __future__ import annotations

import re

from scorecard.fixes.catalog_edit.nodes import Node

# What libyaml takes for a line break (YAML 1.1): positions and lines are counted by it.
BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
BREAK_CHARS = "\r\n\x85\u2028\u2029"
_BLANK = " \t" + BREAK_CHARS


def line_start(text: str, pos: int) -> int:
    return max(text.rfind(c, 0, pos) for c in BREAK_CHARS) + 1


def line_end(text: str, pos: int) -> int:
    """The offset after the line break ending the line at `pos` (or the end of the text)."""
    found = BREAK.search(text, pos)
    return found.end() if found is not None else len(text)


def last_leaf(node: Node) -> Node:
    """The node whose text ends a block collection: its last value, at any depth."""
    while node.kind in ("mapping", "sequence") and not node.flow and node.children:
        node = node.children[-1]
    return node


def chomping(text: str, node: Node) -> str:
    """A block scalar's chomping indicator: "-" (strip), "+" (keep) or "" (clip)."""
    header = text[node.start : line_end(text, node.start)].split("#")[0]
    header = header[header.find(node.style) :]  # not an anchor or a tag before it
    return "+" if "+" in header else "-" if "-" in header else ""


def last_pos(text: str, node: Node) -> int:
    """An offset on the last line that holds the node's text (not its trailing comments)."""
    node = last_leaf(node)
    if node.style in ("|", ">") and chomping(text, node) != "+":
        return value_end(text, node) - 1
    # A kept block scalar's trailing blank lines belong to it.
    return max(node.start, node.end - 1)


def value_end(text: str, node: Node) -> int:
    """Where a scalar's text ends: a block scalar's at its last non-blank character (the
    blank lines after it stay), any other's at its end."""
    if node.style not in ("|", ">"):
        return node.end
    end = node.end
    while end > node.start and text[end - 1] in _BLANK:
        end -= 1
    return end
