"""Splicing new text into the file, and the check that every line outside the changed
ones is byte-for-byte the same.

The file is never written out again by a YAML library: a round trip promises none of what
the team wrote (ruamel re-indents lists, re-wraps long lines, drops spaces), so only the
splices change it, and difflib confirms that nothing else did.
"""

from __future__ import annotations

import difflib
from bisect import bisect_right
from dataclasses import dataclass

from scorecard.fixes.catalog_edit.errors import CatalogEditError
from scorecard.fixes.catalog_edit.lines import BREAK, line_end, line_start


@dataclass(frozen=True, slots=True)
class Splice:
    start: int
    end: int
    order: int  # at the same offset, lower first: deeper nodes' lines come before
    text: str


def spliced(text: str, splices: list[Splice]) -> str:
    """`text` with each splice's span replaced by its text; `splices` are in order."""
    parts, done = [], 0
    for splice in splices:
        if splice.start < done:
            raise AssertionError("overlapping splices")  # a bug, not a file problem
        parts.append(text[done : splice.start])
        parts.append(splice.text)
        done = max(done, splice.end)
    parts.append(text[done:])
    return "".join(parts)


def check_kept_lines(old: str, edited: str, splices: list[Splice], source: str) -> None:
    """Refuse an edit that changed a line it was not meant to.

    The lines around each splice are compared with difflib, the text between them as
    it is: one diff of a whole document can take quadratic time (a list of the same
    line a hundred thousand times), these take time in proportion to the file.
    """
    old_at = new_at = 0
    for start, end, group in _hunks(old, splices):
        if edited[new_at : new_at + start - old_at] != old[old_at:start]:
            raise _unkept(source, old, old_at, edited[new_at:])
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
            offset = start + sum(len(line) for line in old_lines[: lost[0]])
            raise _unkept(source, old, offset)
        old_at, new_at = end, new_end
    if edited[new_at:] != old[old_at:]:
        raise _unkept(source, old, old_at, edited[new_at:])


def _unkept(source: str, old: str, offset: int, edited: str = "") -> CatalogEditError:
    """The error for a line changed at `offset`, or from there on, where the rest of
    the edited text is `edited`."""
    if edited:
        offset += _common_prefix(old[offset:], edited)
    line = len(BREAK.findall(old, 0, offset)) + 1
    return CatalogEditError(
        source, "the edit would also change this line; the file is left as it is", line
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


def _hunks(text: str, splices: list[Splice]) -> list[tuple[int, int, list[Splice]]]:
    """The whole lines each splice touches, (start, end, splices), those that share a line
    merged; `splices` are in order."""
    hunks: list[tuple[int, int, list[Splice]]] = []
    for splice in splices:
        start = line_start(text, splice.start)
        end = line_end(text, max(splice.start, splice.end - 1))
        if hunks and start < hunks[-1][1]:
            first, last, group = hunks[-1]
            hunks[-1] = (first, max(last, end), [*group, splice])
        else:
            hunks.append((start, end, [splice]))
    return hunks


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
