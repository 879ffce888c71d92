"""The file's own style, which new lines follow: its line ends and its indentation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from scorecard.fixes.catalog_edit.lines import BREAK
from scorecard.fixes.catalog_edit.nodes import Node


@dataclass(frozen=True, slots=True)
class Layout:
    newline: str  # the file's first line end: "\n", "\r\n" or "\r"
    step: int  # how far a nested mapping's keys are indented from their parent key
    sequence_offset: int  # how far a list's dashes are (0 when flush with their key)


def layout_of(text: str, root: Node) -> Layout:
    """The layout of `text`, whose entity's document is `root`. The indentation most
    used in the document wins; 2 when it has none to go by."""
    newline = next((m.group() for m in BREAK.finditer(text)), "\n")
    if newline not in ("\n", "\r\n", "\r"):
        newline = "\n"  # a line end YAML 1.2 readers would not take for one
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
    return Layout(newline, step, offsets.most_common(1)[0][0] if offsets else step)
