"""Catalog entities in Backstage's shape, and their entity refs."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, NamedTuple

import orjson

DEFAULT_NAMESPACE = "default"

# Backstage's own rules (catalog-model's KubernetesValidatorFunctions).
_NAME = re.compile(r"^([A-Za-z0-9][-_.]?)*[A-Za-z0-9]$")
_NAMESPACE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_MAX_NAME = 63
_SHOWN = 80  # characters of a bad value a message quotes


class InvalidEntity(ValueError):
    """A catalog document that is not a valid entity; the message says why."""


class EntityRef(NamedTuple):
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        # Backstage's stringifyEntityRef: kind and namespace lower-cased, name kept.
        return f"{self.kind.lower()}:{self.namespace.lower()}/{self.name}"


def parse_ref(
    text: str, *, default_kind: str | None = None, default_namespace: str = DEFAULT_NAMESPACE
) -> EntityRef:
    """Parse `[kind:][namespace/]name` as Backstage's parseEntityRef does."""
    text = text.strip()
    kind, sep, rest = text.partition(":")
    if not sep:
        kind, rest = "", text
    namespace, sep, name = rest.partition("/")
    if not sep:
        namespace, name = "", rest
    kind = kind or (default_kind or "")
    if not kind:
        raise ValueError(f"entity ref {text!r} has no kind (expected kind:namespace/name)")
    if not name:
        raise ValueError(f"entity ref {text!r} has no name (expected kind:namespace/name)")
    return EntityRef(kind.lower(), (namespace or default_namespace).lower(), name)


def lookup(data: Any, path: str, default: Any = None) -> Any:
    """Read a dot path such as `metadata.annotations.pagerduty.com/service-id`.

    Keys may contain dots themselves (annotation keys do), so at each level the longest
    run of segments that is a key wins, as in Backstage's catalog filters. List elements
    are addressed by index (`spec.targets.0`).
    """
    parts = path.split(".")
    node = data
    i = 0
    while i < len(parts):
        if isinstance(node, dict):
            for j in range(len(parts), i, -1):
                key = ".".join(parts[i:j])
                if key in node:
                    node = node[key]
                    i = j
                    break
            else:
                return default
        elif isinstance(node, list) and parts[i].isdigit() and int(parts[i]) < len(node):
            node = node[int(parts[i])]
            i += 1
        else:
            return default
    return node


_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


class Entity:
    """One catalog entity: the raw Backstage document plus where it was read from.

    It stays a thin view over the parsed dict so that loading a large catalog costs little
    more than parsing its YAML.
    """

    __slots__ = ("_digest", "_owner", "_tags", "kind", "name", "namespace", "raw", "ref", "source")

    def __init__(self, raw: dict[str, Any], source: str | Path | None = None) -> None:
        kind = raw.get("kind")
        metadata = raw.get("metadata")
        if not isinstance(raw.get("apiVersion"), str) or not raw.get("apiVersion"):
            raise InvalidEntity("apiVersion is missing or not a string")
        if not isinstance(kind, str) or not _KIND.match(kind):
            raise InvalidEntity(f"kind {shown(kind)} is missing or not a valid kind")
        if not isinstance(metadata, dict):
            raise InvalidEntity("metadata is missing or not a mapping")
        name = metadata.get("name")
        if not isinstance(name, str) or len(name) > _MAX_NAME or not _NAME.match(name):
            raise InvalidEntity(
                f"metadata.name {shown(name)} is not a valid entity name (letters, digits and "
                f"single -_. separators, at most {_MAX_NAME} characters)"
            )
        namespace = metadata.get("namespace", DEFAULT_NAMESPACE)
        if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
            raise InvalidEntity(f"metadata.namespace {shown(namespace)} is not a valid namespace")
        self.raw = raw
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.ref = f"{kind.lower()}:{namespace.lower()}/{name}"
        self.source = str(source) if source is not None else None
        # Parsed on first use and kept: several checks ask for them on every entity, and
        # the document does not change once read.
        self._owner: str | object | None = _UNSET
        self._tags: tuple[str, ...] | None = None
        self._digest: str | None = None

    def __repr__(self) -> str:
        return f"Entity({self.ref!r})"

    def digest(self) -> str:
        """A hash of the document and its source, made once: the store writes an entity
        only when it changes, and a run keeps the stored results of pure checks only while
        it stays the same. Of the document as JSON with its keys sorted (orjson: twice as
        fast as the repr it replaces), so that reordered keys change nothing; a document
        JSON cannot hold (an integer past 64 bits) is hashed by its repr."""
        if self._digest is None:
            try:
                data = orjson.dumps((self.raw, self.source), default=str, option=_SORTED)
            except orjson.JSONEncodeError:
                data = repr((self.raw, self.source)).encode()
            self._digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        return self._digest

    def remember_digest(self, digest: str) -> None:
        """Take the digest `digest()` would make, made elsewhere (a forked process that
        hashed part of the catalog)."""
        self._digest = digest

    def get(self, path: str, default: Any = None) -> Any:
        return lookup(self.raw, path, default)

    @property
    def catalog_file(self) -> Path | None:
        """The local file the entity was read from; None for one a catalog API served
        (whose `source` is the API's URL)."""
        if self.source is None or "://" in self.source:
            return None
        return Path(self.source)

    @property
    def metadata(self) -> dict[str, Any]:
        return self.raw["metadata"]

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.raw.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def annotations(self) -> dict[str, Any]:
        annotations = self.raw["metadata"].get("annotations")
        return annotations if isinstance(annotations, dict) else {}

    @property
    def labels(self) -> dict[str, Any]:
        labels = self.raw["metadata"].get("labels")
        return labels if isinstance(labels, dict) else {}

    @property
    def tags(self) -> list[str]:
        tags = self._tags
        if tags is None:
            listed = self.raw["metadata"].get("tags")
            tags = self._tags = (
                tuple([t for t in listed if isinstance(t, str)]) if isinstance(listed, list) else ()
            )
        # A new list each time: the caller may change it, the entity keeps its own.
        return list(tags)

    @property
    def title(self) -> str | None:
        return _text(self.raw["metadata"].get("title"))

    @property
    def description(self) -> str | None:
        return _text(self.raw["metadata"].get("description"))

    @property
    def type(self) -> str | None:
        spec = self.raw.get("spec")
        return _text(spec.get("type")) if isinstance(spec, dict) else None

    @property
    def lifecycle(self) -> str | None:
        spec = self.raw.get("spec")
        return _text(spec.get("lifecycle")) if isinstance(spec, dict) else None

    @property
    def owner(self) -> str | None:
        """The owner as a full entity ref (`group:default/team-a`), or None."""
        owner = self._owner
        if owner is _UNSET:
            spec = self.raw.get("spec")
            owner = self._owner = (
                _ref_text(spec.get("owner"), "group", self.namespace)
                if isinstance(spec, dict)
                else None
            )
        return owner  # type: ignore[return-value]

    @property
    def system(self) -> str | None:
        spec = self.raw.get("spec")
        if not isinstance(spec, dict):
            return None
        return _ref_text(spec.get("system"), "system", self.namespace)


_UNSET = object()


def shown(value: Any) -> str:
    """A bad value as a message quotes it: short text in full, long text cut, and only the
    kind of anything else, never its whole repr (an integer of 5,000 digits cannot even be
    printed, and a list may be a million items long)."""
    if value is None or isinstance(value, bool | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= _SHOWN else f"{value[:_SHOWN]!r}…"
    if isinstance(value, int):
        bits = value.bit_length()
        return repr(value) if bits <= 64 else f"(an integer of {bits:,} bits)"
    return f"(a {type(value).__name__})"


def _ref_text(value: Any, default_kind: str, default_namespace: str) -> str | None:
    """`str(parse_ref(...))` of a non-blank string value, or None where parse_ref would
    refuse it (or the value is not a non-blank string), without building an EntityRef.

    `default_kind` is never empty, so only a missing name makes a ref invalid.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    kind, sep, rest = text.partition(":")
    if not sep:
        kind, rest = default_kind, text
    elif not kind:
        kind = default_kind
    namespace, sep, name = rest.partition("/")
    if not sep:
        namespace, name = default_namespace, rest
    elif not namespace:
        namespace = default_namespace
    if not name:
        return None
    return f"{kind.lower()}:{namespace.lower()}/{name}"


def _text(value: Any) -> str | None:
    """A non-blank string value, stripped; anything else is None."""
    if isinstance(value, str):
        return value.strip() or None
    return None
