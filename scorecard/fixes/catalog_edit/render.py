"""A plan's changes as splices: new values in place of old ones, new keys and items after
a collection's last line (block style, with the document's own indentation) or after its
last entry (flow style, inside the brackets)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scorecard.fixes.catalog_edit.layout import layout_of
from scorecard.fixes.catalog_edit.lines import (
    BREAK,
    chomping,
    last_leaf,
    last_pos,
    line_start,
    value_end,
)
from scorecard.fixes.catalog_edit.nodes import Node
from scorecard.fixes.catalog_edit.plan import NewMap, NewSeq, Plan
from scorecard.fixes.catalog_edit.refusals import error_at
from scorecard.fixes.catalog_edit.splicing import Splice
from scorecard.fixes.catalog_edit.value_text import key_text


def render(text: str, plan: Plan) -> list[Splice]:
    """The splices that make `plan`'s changes to `text`, in order."""
    return _Writer(text, plan).splices()


class _Writer:
    def __init__(self, text: str, plan: Plan) -> None:
        self.text = text
        self.plan = plan
        self.source = plan.source
        self.layout = layout_of(text, plan.root)

    def splices(self) -> list[Splice]:
        plan, splices = self.plan, []
        for node, text in plan.replace.items():
            end = value_end(self.text, node)
            text = self._after_indicator(node, end) + text
            splices.append(Splice(node.start, end, -node.depth, text))
        for node, entries in plan.grow.items():
            pairs = [
                f"{key_text(k, self.source)}: {_flow(v, self.source)}" for k, v in entries.items()
            ]
            if node.flow:
                splices.append(_flow_insert(node, pairs))
            else:
                lines = self._block_entries(entries, node.children[0].column)
                splices.append(self._block_insert(last_pos(self.text, node), node, lines))
        for node, items in plan.extend.items():
            if node.flow:
                splices.append(_flow_insert(node, list(items)))
            else:
                splices.append(
                    self._block_insert(last_pos(self.text, node), node, self._items(node, items))
                )
        for node, new in plan.fill.items():
            splices.extend(self._fill(node, new))
        return sorted(splices, key=lambda s: (s.start, s.order))

    def _after_indicator(self, node: Node, end: int) -> str:
        """The blank a value written in place of an empty one needs after `key:`."""
        empty = node.start == end
        return " " if empty and node.start > 0 and self.text[node.start - 1] not in " \t" else ""

    def _fill(self, node: Node, new: NewMap | NewSeq) -> list[Splice]:
        """Splices that make an empty value (`annotations:`) the new mapping or list."""
        parent = node.parent
        assert parent is not None and parent.kind == "mapping"
        if parent.flow:
            text = self._after_indicator(node, node.end) + _flow(new, self.source)
            return [Splice(node.start, node.end, -node.depth, text)]
        key = parent.key_of(node)
        assert key is not None  # only a mapping's value is filled
        if isinstance(new, NewMap):
            lines = self._block_entries(new, key.column + self.layout.step)
        else:
            lines = _item_lines(new, key.column + self.layout.sequence_offset, 2)
        splices = [self._block_insert(node.start, node, lines)]
        if node.end > node.start:  # `~` or `null`: removed with the blanks before it
            start = node.start
            while start > 0 and self.text[start - 1] in " \t":
                start -= 1
            splices.append(Splice(start, node.end, -node.depth, ""))
        return splices

    def _block_entries(self, entries: NewMap, indent: int) -> list[str]:
        lines = []
        for key, value in entries.items():
            head = " " * indent + key_text(key, self.source) + ":"
            if isinstance(value, NewMap):
                lines.append(head)
                lines.extend(self._block_entries(value, indent + self.layout.step))
            elif isinstance(value, NewSeq):
                lines.append(head)
                lines.extend(_item_lines(value, indent + self.layout.sequence_offset, 2))
            else:
                lines.append(f"{head} {value}")
        return lines

    def _items(self, sequence: Node, items: NewSeq) -> list[str]:
        """New items of a block list, written as its first item is: `- x` or `-   x`."""
        first = sequence.children[0]
        start = line_start(self.text, first.start)
        dash = self.text.rfind("-", start, first.start)
        if dash < 0:  # the item is on the line after its dash
            return _item_lines(items, sequence.column, 2)
        return _item_lines(items, dash - start, first.start - dash)

    def _block_insert(self, pos: int, node: Node, lines: list[str]) -> Splice:
        """New lines after the line holding `pos`, with the file's line ends."""
        newline = self.layout.newline
        found = BREAK.search(self.text, pos)
        if found is None:  # the last line, without a line end: it stays without one
            leaf = last_leaf(node)
            if leaf.style in ("|", ">") and chomping(self.text, leaf) != "-":
                raise error_at(
                    self.source,
                    "a block scalar ends the file, with no line break after it; a line after "
                    "it would give it one and so change its value. End the file with a line "
                    "break first",
                    leaf,
                )
            text = "".join(newline + line for line in lines)
            return Splice(len(self.text), len(self.text), -node.depth, text)
        text = "".join(line + newline for line in lines)
        return Splice(found.end(), found.end(), -node.depth, text)


def _flow_insert(node: Node, parts: list[str]) -> Splice:
    """New entries of a flow collection, right after its last one (so that a trailing
    comma or a comment before the bracket stays where it is)."""
    if node.children:
        pos, text = node.children[-1].end, ", " + ", ".join(parts)
    else:
        pos, text = node.end - 1, ", ".join(parts)  # before the closing bracket
    return Splice(pos, pos, -node.depth, text)


def _flow(value: Any, source: str) -> str:
    """A value's text in flow style: a created mapping or list is written out here."""
    if isinstance(value, NewMap):
        pairs = [f"{key_text(k, source)}: {_flow(v, source)}" for k, v in value.items()]
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, NewSeq):
        return "[" + ", ".join(value) + "]"
    return value


def _item_lines(items: Iterable[str], dash: int, gap: int) -> list[str]:
    """List items with the dash at column `dash` and the text `gap` columns after it."""
    return [" " * dash + "-" + " " * max(gap - 1, 1) + item for item in items]
