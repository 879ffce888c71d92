"""Load a YAML configuration file while remembering where each key and item stands.

Errors about configuration must name `FILE:LINE:COL` and the key path, so track and
workspace files are composed node by node (they are small; catalogs are not, and are
parsed with the fast loader instead).
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from scorecard.problems import ConfigError, Problem

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlDocument:
    file: str
    data: Any
    positions: dict[Loc, tuple[int, int]]

    def problem(self, loc: Loc, message: str) -> Problem:
        """A problem at the deepest position known for `loc` (a key path)."""
        line, column = self.position(loc)
        return Problem(self.file, message, line, column, format_loc(loc))

    def position(self, loc: Loc) -> tuple[int, int]:
        found: Loc = ()
        for part in loc:
            if (*found, part) in self.positions:
                found = (*found, part)
            elif not isinstance(part, int):
                break
            # else: validation wrapped a single value in a list; its index has no node.
        return self.positions.get(found, (1, 1))

    def validate(self, model: type[BaseModel], prefix: Loc = (), data: Any = None) -> Any:
        """Validate with pydantic; raise ConfigError naming the position of every error."""
        try:
            return model.model_validate(self.data if data is None else data)
        except ValidationError as error:
            raise ConfigError(self.problems_from(error, model, prefix)) from None

    def problems_from(
        self, error: ValidationError, model: type[BaseModel], prefix: Loc = ()
    ) -> list[Problem]:
        problems = []
        for item in error.errors(include_url=False):
            loc = prefix + tuple(item["loc"])
            problems.append(self.problem(loc, _message(item, model, tuple(item["loc"]))))
        return problems


def format_loc(loc: Loc) -> str:
    """`("levels", 1, "checks", 0)` → `levels[1].checks[0]`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def load_yaml(path: Path) -> YamlDocument:
    """Read one YAML document with the position of every mapping key and list item.

    The catalog's limits apply (see `scorecard.catalog.safe_yaml`): an alias bomb, a
    number too long to print, a device for a file are configuration errors, not crashes.
    """
    file = str(path)
    return load_yaml_text(_read_text(file), file)


def load_yaml_text(text: str, file: str) -> YamlDocument:
    """`load_yaml` of text already read (a track sent to the API, a file at a git ref);
    `file` names it in problems. The same limits apply, the file size limit included."""
    from scorecard.catalog.safe_yaml import LIMITS

    limit = LIMITS.file_bytes
    # Characters first: a text that long is refused without being encoded.
    if len(text) > limit or len(text.encode("utf-8", "replace")) > limit:
        raise ConfigError([Problem(file, f"too large: over the limit of {limit:,} bytes")])
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as error:  # a control character, found before parsing
        line = text.count("\n", 0, error.position) + 1
        column = error.position - text.rfind("\n", 0, error.position)
        reason = f"invalid YAML: character #x{error.character:04x} is not allowed"
        raise ConfigError([Problem(file, reason, line, column)]) from None
    try:
        with _yaml_errors(file):
            node = loader.get_single_node()
            if node is None:
                raise ConfigError([Problem(file, "file is empty", 1, 1)])
            return _document(loader, node, file)
    finally:
        loader.dispose()


def load_yaml_documents(
    path: Path, *, loader_class: type[yaml.SafeLoader] = yaml.SafeLoader
) -> tuple[list[YamlDocument], list[Problem]]:
    """Every document of a multi-document file (`---`), as `load_yaml` reads one, and the
    problems of those that could not be read.

    The same limits apply to each document. A refused document costs only itself; broken
    YAML ends the file, as the parser cannot find the next document after it. Empty
    documents (a trailing `---`, a file of comments) are left out. `loader_class` may
    read some nodes otherwise (a safe loader still: campaign milestones keyed by date).
    """
    file = str(path)
    try:
        text = _read_text(file)
    except ConfigError as error:
        return [], error.problems
    loader = loader_class(text)
    documents: list[YamlDocument] = []
    problems: list[Problem] = []
    try:
        while True:
            try:
                with _yaml_errors(file):
                    if not loader.check_node():
                        break
                    node = loader.get_node()
            except ConfigError as error:
                problems.extend(error.problems)
                break
            if _is_empty(node):
                continue
            try:
                with _yaml_errors(file):
                    documents.append(_document(loader, node, file, find_bad_value=True))
            except ConfigError as error:
                problems.extend(error.problems)
    finally:
        loader.dispose()
    return documents, problems


def _read_text(file: str) -> str:
    """The file's text, within the catalog's file size limit; ConfigError otherwise."""
    # Imported here: safe_yaml uses format_loc from this module.
    from scorecard.catalog.safe_yaml import LIMITS, FileRefused, read_bounded

    try:
        return read_bounded(file, LIMITS.file_bytes).decode("utf-8")
    except FileRefused as refused:
        raise ConfigError([Problem(file, f"cannot read file: it {refused}")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([Problem(file, f"cannot read file: {error}")]) from None


@contextmanager
def _yaml_errors(file: str) -> Iterator[None]:
    """Turn what parsing raises into a ConfigError with the position PyYAML knows."""
    try:
        yield
    except RecursionError:
        raise ConfigError([Problem(file, "invalid YAML: nested too deeply to parse")]) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = _mark(mark) if mark else (None, None)
        reason = " ".join(filter(None, [error.context, error.problem]))
        raise ConfigError([Problem(file, f"invalid YAML: {reason}", line, column)]) from None
    except yaml.YAMLError as error:
        raise ConfigError([Problem(file, f"invalid YAML: {error}")]) from None


def _document(
    loader: yaml.SafeLoader, node: yaml.Node, file: str, *, find_bad_value: bool = False
) -> YamlDocument:
    """One composed document measured against the limits, walked and constructed.

    A value that cannot be constructed (a date that is no date) is reported at the
    document's start, as track files always have, or with `find_bad_value` at its own
    position and key path.
    """
    from scorecard.catalog.safe_yaml import LIMITS, _forget, key_path, measure

    refusal = measure(node, LIMITS)
    if refusal is not None:
        bad, reason = refusal
        line, column = _mark(bad.start_mark)
        raise ConfigError([Problem(file, reason, line, column, key_path(node, bad))])
    positions: dict[Loc, tuple[int, int]] = {(): _mark(node.start_mark)}
    problems: list[Problem] = []
    _walk(node, (), positions, problems, file)
    if problems:
        raise ConfigError(problems)
    try:
        data = loader.construct_document(node)
    except ValueError as error:  # a date that is no date
        # Left as it was, the loader's state would leak into the next document.
        _forget(loader)
        bad = (_bad_scalar(loader, node) if find_bad_value else None) or node
        line, column = _mark(bad.start_mark)
        problem = Problem(file, f"invalid value: {error}", line, column, key_path(node, bad))
        raise ConfigError([problem]) from None
    return YamlDocument(file, data, positions)


def _bad_scalar(loader: yaml.SafeLoader, root: yaml.Node) -> yaml.Node | None:
    """The first scalar that cannot be constructed (PyYAML's error does not say which)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            constructor = loader.yaml_constructors.get(node.tag)
            try:
                if constructor is not None:
                    constructor(loader, node)
            except ValueError:
                return node
        elif isinstance(node, yaml.MappingNode):
            stack.extend(part for pair in reversed(node.value) for part in reversed(pair))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
    return None


def _is_empty(node: yaml.Node) -> bool:
    """A document with nothing in it: what a trailing `---` leaves."""
    return (
        isinstance(node, yaml.ScalarNode)
        and node.tag == "tag:yaml.org,2002:null"
        and node.value == ""
        and not node.style
    )


def _mark(mark: yaml.Mark) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


def _walk(
    node: yaml.Node,
    loc: Loc,
    positions: dict[Loc, tuple[int, int]],
    problems: list[Problem],
    file: str,
) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            child = (*loc, key)
            if key in seen:
                line, column = _mark(key_node.start_mark)
                problems.append(Problem(file, "duplicate key", line, column, format_loc(child)))
                continue
            seen.add(key)
            positions[child] = _mark(key_node.start_mark)
            _walk(value_node, child, positions, problems, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*loc, index)
            positions[child] = _mark(item.start_mark)
            _walk(item, child, positions, problems, file)


def _message(item: Any, model: type[BaseModel], loc: Loc) -> str:
    kind = item["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        key = str(loc[-1])
        hint = ""
        if allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; allowed: {', '.join(allowed)}"
        return f"unknown key {key!r}{hint}"
    if kind == "missing":
        return "required key is missing"
    message = item["msg"]
    # pydantic prefixes errors raised by our own validators with "Value error, ".
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _allowed_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys a model accepts at `loc`, found by walking field annotations."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            current = _list_item(current)
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = next(
                (f for name, f in current.model_fields.items() if (f.alias or name) == part),
                None,
            )
            current = field.annotation if field else None
        else:
            return []
        current = _unwrap_optional(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [field.alias or name for name, field in current.model_fields.items()]
    return []


def _list_item(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    return args[0] if typing.get_origin(annotation) in (list, tuple) and args else None


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return _unwrap_optional(options[0])
    if typing.get_origin(annotation) is typing.Annotated:
        return typing.get_args(annotation)[0]
    return annotation
