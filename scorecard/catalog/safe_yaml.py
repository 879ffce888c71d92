"""Catalog YAML read as untrusted input: every document within limits, each on its own.

Every team writes catalog files, so a file may be hostile or merely careless: an alias
bomb (a few hundred bytes that expand to gigabytes once stored), an integer longer than
Python will print, nesting deep enough to break a later encoder, a device that never
ends. `read_documents` returns each document of a file either read or refused with the
line and the reason, so that one bad document costs nothing but itself.

How: each document is composed into nodes by libyaml; one walk over the nodes
(`_Walk`), remembering shared (aliased) nodes, finds the size the document would have
with its aliases expanded, its depth, its duplicate keys and its numbers, and builds the
data as it goes (no alias is ever expanded: an aliased node is built once and shared, as
PyYAML does). A file with broken YAML or an oversized document is read again part by
part, cut at its document markers (`---`, or after `...`, at the start of a line), so
that the damage stays confined to its own document.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, pairwise
from sys import intern as _intern
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode

from scorecard.problems import Problem
from scorecard.yamlfile import format_loc

try:
    from yaml import CSafeLoader as Loader

    LIBYAML = True
except ImportError:  # PyYAML built without libyaml: same results, several times slower
    from yaml import SafeLoader as Loader  # type: ignore[assignment]

    LIBYAML = False

# A catalog file is read whole. 32 MiB is some 80,000 entities of the usual size, more
# than anyone writes by hand or a generator puts in one file; a larger `.yaml` (a data
# dump, a device) is refused without being read.
MAX_FILE_BYTES = 32 * 2**20
# One document. A megabyte is a hundred times the largest entity of a real catalog (an
# API with its definition inline), and it bounds what composing one document may cost:
# about 150 MB in the worst case, a flow list of one-letter items at some 300 bytes a node.
MAX_DOCUMENT_BYTES = 2**20
# What a document would weigh written out without aliases: the characters of its scalars
# plus one per node, about its size as JSON, which is how it is stored. Aliases may share
# settings within a document, not make it more than twice the largest document.
MAX_EXPANDED = 2 * MAX_DOCUMENT_BYTES
# Entities nest a handful of levels; 64 keeps every later reader of the stored document
# (JSON encoders, pydantic's serializer, templates) far from its recursion limit.
MAX_DEPTH = 64
# Python refuses to print an integer of more than 4,300 digits, and storing an entity
# prints it. 1,000 characters of the densest notation (hexadecimal) are some 1,200 digits.
MAX_INT_CHARS = 1000

# The resolver hands out these very objects, so `is` tells the usual case apart cheaply.
_STR = Loader.DEFAULT_SCALAR_TAG
_SEQ = Loader.DEFAULT_SEQUENCE_TAG
_MAP = Loader.DEFAULT_MAPPING_TAG
_MERGE = "tag:yaml.org,2002:merge"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_NULL = "tag:yaml.org,2002:null"
_NUMBERS = frozenset((_INT, _FLOAT))
# Keys JSON cannot hold: a stored document's keys must be text, numbers, booleans or null.
_BAD_KEYS = {"tag:yaml.org,2002:timestamp": "a date", "tag:yaml.org,2002:binary": "binary data"}
# A document marker: `---` or `...` at the start of a line, followed by a blank or the end.
_MARKER = re.compile(rb"^(?:---|\.\.\.)(?=[ \t\r\n]|\Z)", re.MULTILINE)
# What may come before a document's `---`: directives (`%YAML`), comments, blank lines.
_PREAMBLE = re.compile(rb"(?:\xef\xbb\xbf)?(?:%[^\n]*\n|[ \t]*(?:#[^\n]*)?\r?\n)*")
# A top-level apiVersion or kind key, for a part too large to be parsed.
_ENTITY_LINE = re.compile(rb"^\{?[ \t]*[\"']?(?:apiVersion|kind)[\"']?[ \t]*:", re.MULTILINE)
_HEAD_BYTES = 64 * 1024  # of a refused file, looked at for an entity
_KEY_SHOWN = 100  # characters of a key a problem's key path may quote
_FLOATS = SafeConstructor()


@dataclass(frozen=True, slots=True)
class Limits:
    """What one catalog file and each of its documents may cost (see the constants)."""

    file_bytes: int = MAX_FILE_BYTES
    document_bytes: int = MAX_DOCUMENT_BYTES
    expanded: int = MAX_EXPANDED
    depth: int = MAX_DEPTH
    int_chars: int = MAX_INT_CHARS


LIMITS = Limits()


@dataclass(slots=True)  # not frozen: a catalog makes one per entity, and that costs
class Document:
    """One document of a file: its data, or the problem that kept it from being read."""

    index: int  # 1-based, in file order
    line: int  # where its content starts
    data: Any = None
    problem: Problem | None = None
    # For a document refused: whether it is a mapping with an apiVersion or kind key.
    refused_entity: bool = False
    # Not YAML at all: it may be a catalog file gone wrong, so it is always reported.
    malformed: bool = False
    # Nothing but a marker (a trailing `---`): there is nothing to read.
    empty: bool = False

    @property
    def entity_like(self) -> bool:
        data = self.data
        if isinstance(data, dict):
            return "apiVersion" in data or "kind" in data
        return self.refused_entity


@dataclass(frozen=True, slots=True)
class FileRead:
    documents: list[Document]
    # Why the file was not read at all (too large, not a regular file, an OS error).
    problem: Problem | None = None
    # For a file not read: whether it may hold entities. Only a file too large to read
    # whose first bytes show no apiVersion or kind line can be said not to.
    unread_may_hold_entities: bool = True

    @property
    def may_hold_entities(self) -> bool:
        """Whether a document looks like an entity (read or not), the YAML is broken, or
        the file could not be read and may well be a catalog file."""
        if self.problem is not None:
            return self.unread_may_hold_entities
        return any(d.entity_like or d.malformed for d in self.documents)


class FileRefused(Exception):
    """A file that is not read: its message says why, as the end of a sentence."""

    def __init__(self, reason: str, head: bytes = b"") -> None:
        super().__init__(reason)
        self.head = head


def read_documents(file: str, limits: Limits = LIMITS) -> FileRead:
    """Every document of `file`, each read or refused; never raises for bad content."""
    try:
        content = read_bounded(file, limits.file_bytes)
    except FileRefused as refused:
        may_hold = not refused.head or _ENTITY_LINE.search(refused.head) is not None
        return FileRead([], Problem(file, f"{refused}; it is not read"), may_hold)
    except OSError as error:
        return FileRead([], Problem(file, f"cannot be read: {error.strerror or error}"))
    return FileRead(parse_documents(content, file, limits))


def read_bounded(file: str, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes.

    A FIFO, a device or a socket is refused without reading a byte (opening without
    blocking, so that a FIFO nobody writes to cannot hang the reader). Raises
    `FileRefused` or `OSError`.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(file, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"is not a regular file but {_file_kind(info.st_mode)}")
        if info.st_size > limit:
            head = os.read(fd, _HEAD_BYTES)
            raise FileRefused(_too_large(limit), head)
        chunks, size = [], 0
        while size <= limit:  # the file may have grown since fstat
            chunk = os.read(fd, min(limit + 1 - size, 1 << 20) or 1)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        content = b"".join(chunks)
        if len(content) > limit:
            raise FileRefused(_too_large(limit), content[:_HEAD_BYTES])
        return content
    finally:
        os.close(fd)


def parse_documents(content: bytes, file: str, limits: Limits = LIMITS) -> list[Document]:
    """The documents of a catalog file's bytes, each read or refused."""
    parts = None
    if len(content) > limits.document_bytes:
        parts = list(_parts(content))
    if parts is None or all(end - start <= limits.document_bytes for start, end, _ in parts):
        # The usual file: one parser for all its documents, unless its YAML is broken.
        documents: list[Document] = []
        if _parse_part(content, file, 0, documents, limits, alone=True):
            return documents
    documents = []
    parts = parts or list(_parts(content))
    for start, end, line in parts:
        part = content[start:end]
        if len(part) > limits.document_bytes:
            index = len(documents) + 1
            message = (
                f"document {index} is {len(part):,} bytes, over the limit of "
                f"{limits.document_bytes:,} bytes for one document; it is not read"
            )
            problem = Problem(file, message, line)
            entity_like = _ENTITY_LINE.search(part) is not None
            documents.append(Document(index, line, problem=problem, refused_entity=entity_like))
        else:
            _parse_part(part, file, line - 1, documents, limits, alone=len(parts) == 1)
    return documents


def _parts(content: bytes) -> Iterator[tuple[int, int, int]]:
    """(start, end, first line) of each part of the file holding at most one document.

    YAML does not allow a document marker at the start of a line inside a scalar or a
    collection, so these cuts are where libyaml sees documents begin and end. Directives
    (`%YAML`) stay with the document they precede. A file in UTF-16 is not cut.
    """
    cuts = [0]
    for marker in _MARKER.finditer(content):
        if marker.group() == b"---":
            cut = marker.start()
            start = cuts[-1]
            if not content.startswith(b"---", start) and _PREAMBLE.fullmatch(content, start, cut):
                continue  # nothing but directives and comments yet: they belong to this one
        else:  # `...` ends the document: cut after its line
            newline = content.find(b"\n", marker.end())
            cut = len(content) if newline < 0 else newline + 1
        if cut > cuts[-1]:
            cuts.append(cut)
    cuts.append(len(content))
    line = 1
    for start, end in pairwise(cuts):
        if end > start:
            yield start, end, line
            line += content.count(b"\n", start, end)


def _parse_part(
    part: bytes, file: str, offset: int, documents: list[Document], limits: Limits, *, alone: bool
) -> bool:
    """Append the documents of `part`; False if its YAML broke off half way."""
    loader = Loader(part)
    first = len(documents)
    try:
        while True:
            between = True  # between documents, until the next one has started
            try:
                if not loader.check_node():
                    return True
                between = False
                node = loader.get_node()
            except (yaml.YAMLError, RecursionError) as error:
                # Text left over after a document (`{a: 1}, b}`) belongs to that document.
                if between and len(documents) > first:
                    documents.pop()
                documents.append(_malformed(file, offset, len(documents) + 1, error, alone))
                return False
            documents.append(_document(loader, node, file, offset, len(documents) + 1, limits))
    finally:
        loader.dispose()


def _document(
    loader: Loader, node: Node, file: str, offset: int, index: int, limits: Limits
) -> Document:
    line = offset + node.start_mark.line + 1
    if type(node) is ScalarNode and node.tag == _NULL and node.value == "" and not node.style:
        return Document(index, line, empty=True)
    try:
        data = build(node, loader, limits)
    except _Refused as refused:
        mark = refused.node.start_mark
        problem = Problem(
            file,
            f"document {index} is not read: {refused.reason}",
            offset + mark.line + 1,
            mark.column + 1,
            key=key_path(node, refused.node),
        )
        return Document(index, line, problem=problem, refused_entity=_entity_like(node))
    except Exception as error:  # an unknown tag, a date that is no date: this document only
        mark = getattr(error, "problem_mark", None) or node.start_mark
        reason = getattr(error, "problem", None) or str(error).splitlines()[0]
        problem = Problem(
            file,
            f"document {index} cannot be read ({reason}); it is skipped",
            offset + mark.line + 1,
            mark.column + 1,
        )
        return Document(index, line, problem=problem, refused_entity=_entity_like(node))
    finally:
        _forget(loader)
    return Document(index, line, data)


def _malformed(file: str, offset: int, index: int, error: BaseException, alone: bool) -> Document:
    mark = getattr(error, "problem_mark", None)
    if isinstance(error, RecursionError):
        reason = "nested too deeply to parse"
    else:
        reason = getattr(error, "problem", None) or str(error).splitlines()[0]
    rest = "the rest of the file is not read" if alone else "it is skipped"
    line = offset + mark.line + 1 if mark else None
    problem = Problem(
        file,
        f"document {index} is invalid YAML ({reason}); {rest}",
        line,
        mark.column + 1 if mark else None,
    )
    return Document(index, line or offset + 1, problem=problem, malformed=True)


def _forget(loader: Loader) -> None:
    """Reset what a failed construction left behind, so the next document starts clean."""
    loader.constructed_objects = {}
    loader.recursive_objects = {}
    loader.state_generators = []
    loader.deep_construct = False


def _entity_like(node: Node) -> bool:
    return type(node) is MappingNode and any(
        type(key) is ScalarNode and key.value in ("apiVersion", "kind") for key, _ in node.value
    )


class _Refused(Exception):
    def __init__(self, node: Node, reason: str) -> None:
        self.node = node
        self.reason = reason


def measure(root: Node, limits: Limits = LIMITS) -> tuple[Node, str] | None:
    """The node that breaks a limit and why, or None for a document fit to construct.

    Refused: an expanded size over `limits.expanded`, nesting deeper than `limits.depth`,
    a recursive alias, a duplicate key (Backstage refuses them too), an integer longer
    than `limits.int_chars`, a number JSON cannot hold (`.inf`, `.nan`), a date, binary
    data or a collection as a key.
    """
    try:
        _Walk(limits, None).measure(root)
    except _Refused as refused:
        return refused.node, refused.reason
    return None


def build(root: Node, loader: Loader, limits: Limits = LIMITS) -> Any:
    """The document's data, measured as `measure` does while it is built. Raises `_Refused`,
    or what PyYAML's constructor raises (an unknown tag, a date that is no date)."""
    return _Walk(limits, loader.construct_object).build(root)


# Text up to this length is shared (interned); longer text is rarely repeated.
_SHARED_TEXT = 40
_PENDING = (None, -1, -1)  # a collection being walked: met again, it is a recursive alias


class _Walk:
    """One pass over a document's nodes, each collection once however often an alias
    names it, so an alias bomb costs no more than its text.

    `build` makes the usual nodes (text, lists and mappings with the default tags) itself,
    which costs less than PyYAML's general constructor; any other scalar, a collection
    with another tag and a mapping with a merge key (`<<`) are measured, then handed to
    PyYAML's constructor. Their children are built all the same: an alias elsewhere may
    name one of them.
    """

    def __init__(self, limits: Limits, construct: Any) -> None:
        self.max_depth, self.max_size, self.max_int = (
            limits.depth,
            limits.expanded,
            limits.int_chars,
        )
        self.construct = construct
        # id of a collection node → (its data, its expanded size, its height in levels)
        self.done: dict[int, tuple[Any, int, int]] = {}

    def build(self, root: Node) -> Any:
        if type(root) is ScalarNode:
            return root.value if root.tag is _STR else self.check_scalar(root, None, build=True)
        return self.collection(root, 0)[0]

    def measure(self, root: Node) -> None:
        if type(root) is ScalarNode:
            self.check_scalar(root, None)
        else:
            self.collection(root, 0, build=False)

    def collection(self, node: Node, depth: int, build: bool = True) -> tuple[Any, int, int]:
        done = self.done.get(id(node))
        if done is not None:
            if done is _PENDING:
                raise _Refused(node, "an alias refers to a node that contains it")
            if depth + done[2] > self.max_depth:
                raise _Refused(node, f"nested more than {self.max_depth} levels deep")
            return done
        if depth >= self.max_depth:
            raise _Refused(node, f"nested more than {self.max_depth} levels deep")
        self.done[id(node)] = _PENDING
        is_mapping = type(node) is MappingNode
        plain = build and node.tag is (_MAP if is_mapping else _SEQ)
        if is_mapping:
            pairs = node.value
            if plain and any(key.tag == _MERGE for key, _ in pairs):
                plain = False
            children = list(chain.from_iterable(pairs))
        else:
            children = node.value
        size, height, values = 1, 1, []
        for child in children:
            if type(child) is ScalarNode:
                tag = child.tag
                if tag is _STR:
                    value = child.value
                    if len(value) <= _SHARED_TEXT:
                        # One copy of each key and short value: a catalog repeats the
                        # same keys, kinds, owners and lifecycles in every document, and
                        # sharing them makes a large one a third smaller in memory.
                        value = _intern(value)
                else:
                    value = self.check_scalar(child, node if is_mapping else None, build=plain)
                size += len(child.value) + 1
            else:
                if is_mapping and plain and len(values) % 2 == 0:
                    raise _Refused(child, "a key is a list or a mapping, which JSON cannot hold")
                value, child_size, child_height = self.collection(child, depth + 1, build)
                size += child_size
                if child_height >= height:
                    height = child_height + 1
            values.append(value)
        if size > self.max_size:
            raise _Refused(
                node,
                f"with its aliases expanded it would be about {size:,} characters, over the "
                f"limit of {self.max_size:,}",
            )
        if is_mapping:
            if plain:
                data: Any = dict(zip(values[::2], values[1::2], strict=True))
                if len(data) != len(pairs):
                    _refuse_duplicate(pairs, values[::2])
            else:
                _check_keys(pairs)
                data = self.construct(node, deep=True) if build else None
        elif plain:
            data = values
        else:
            data = self.construct(node, deep=True) if build else None
        done = (data, size, height)
        self.done[id(node)] = done
        return done

    def check_scalar(self, node: ScalarNode, mapping: Node | None, build: bool = False) -> Any:
        tag = node.tag
        if tag in _NUMBERS:
            _check_number(node, self.max_int)
        elif tag in _BAD_KEYS and mapping is not None and _is_key(mapping, node):
            raise _Refused(node, f"a key is {_BAD_KEYS[tag]}, which JSON cannot hold")
        return self.construct(node) if build else None


def _refuse_duplicate(pairs: list[tuple[Node, Node]], keys: list[Any]) -> None:
    """Refuse the first key equal to an earlier one (`1` and `01` are, once read)."""
    first: dict[Any, Node] = {}
    for (node, _), key in zip(pairs, keys, strict=True):
        earlier = first.setdefault(key, node)
        if earlier is not node:
            line = earlier.start_mark.line + 1
            raise _Refused(node, f"duplicate key {node.value!r} (first on line {line})")


def _check_keys(pairs: list[tuple[Node, Node]]) -> None:
    """Refuse the first key that repeats an earlier one (the same text and tag)."""
    first: dict[tuple[str, str], Node] = {}
    for key, _ in pairs:
        if type(key) is ScalarNode:
            earlier = first.setdefault((key.tag, key.value), key)
            if earlier is not key:
                line = earlier.start_mark.line + 1
                raise _Refused(key, f"duplicate key {key.value!r} (first on line {line})")


def _is_key(mapping: Node, node: Node) -> bool:
    return type(mapping) is MappingNode and any(key is node for key, _ in mapping.value)


def _check_number(node: ScalarNode, max_int: int) -> None:
    if node.tag == _INT:
        if len(node.value) > max_int:
            raise _Refused(
                node,
                f"an integer of {len(node.value):,} characters is longer than the limit of "
                f"{max_int:,}",
            )
        return
    try:
        number = _FLOATS.construct_yaml_float(node)
    except ValueError:  # not a number at all: construction reports it
        return
    if not math.isfinite(number):
        raise _Refused(node, _not_finite(node.value))


def key_path(root: Node, target: Node) -> str:
    """The key path (`spec.a8[3]`) of the first way to reach `target` from `root`; for a
    key, the path of the mapping that holds it."""
    seen: set[int] = set()
    stack: list[tuple[Node, tuple[str | int, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if node is target:
            return format_loc(path)
        if type(node) is ScalarNode or id(node) in seen:
            continue
        seen.add(id(node))
        if type(node) is MappingNode:
            for key, value in reversed(node.value):
                name = key.value if type(key) is ScalarNode else "?"
                if key is target:  # a key too long to name is named by its mapping
                    return format_loc(path if len(name) > _KEY_SHOWN else (*path, name))
                stack.append((value, (*path, name)))
        else:
            stack.extend((item, (*path, i)) for i, item in reversed(list(enumerate(node.value))))
    return ""


def _too_large(limit: int) -> str:
    return f"is larger than the limit of {limit:,} bytes for a catalog file"


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a special file"


class Unreadable:
    """Stands in, within parsed JSON, for a number that may not be kept (see `parse_json`)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def parse_json(content: bytes | str, limits: Limits = LIMITS) -> Any:
    """JSON where an integer longer than `limits.int_chars` or a number JSON should not
    hold (`NaN`, `Infinity`, `1e999`) becomes an `Unreadable`, for `measure_data` to refuse
    the item holding it rather than the whole text failing. Raises ValueError and
    RecursionError (nesting deeper than Python's parser goes) as `json.loads` does."""

    def integer(text: str) -> int | Unreadable:
        if len(text) > limits.int_chars:
            return Unreadable(
                f"an integer of {len(text):,} digits is longer than the limit of "
                f"{limits.int_chars:,}"
            )
        return int(text)

    def number(text: str) -> float | Unreadable:
        value = float(text)
        return value if math.isfinite(value) else Unreadable(_not_finite(text))

    return json.loads(
        content,
        parse_int=integer,
        parse_float=number,
        parse_constant=lambda text: Unreadable(_not_finite(text)),
    )


def measure_data(data: Any, limits: Limits = LIMITS) -> str | None:
    """Why parsed JSON breaks a limit (size, depth, an `Unreadable` number), or None."""
    max_depth, max_size = limits.depth, limits.expanded
    total = 0
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        total += 1
        if isinstance(value, str):
            total += len(value)
        elif isinstance(value, dict | list):
            if depth >= max_depth:
                return f"nested more than {max_depth} levels deep"
            if isinstance(value, dict):
                total += sum(len(str(key)) + 1 for key in value)
                value = value.values()
            stack.extend((child, depth + 1) for child in value)
        elif isinstance(value, Unreadable):
            return value.reason
        if total > max_size:
            return f"it is more than {max_size:,} characters long"
    return None


def _not_finite(text: str) -> str:
    return f"{text[:20]!r} is not a finite number, which JSON cannot hold"
