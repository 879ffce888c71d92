"""Catalog entities in Backstage's shape, and their entity refs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

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


class Entity:
    """One catalog entity: the raw Backstage document plus where it was read from.

    It stays a thin view over the parsed dict so that loading a large catalog costs little
    more than parsing its YAML.
    """

    __slots__ = ("_owner", "kind", "name", "namespace", "raw", "ref", "source")

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
        self._owner: str | object | None = _UNSET

    def __repr__(self) -> str:
        return f"Entity({self.ref!r})"

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
        annotations = self.metadata.get("annotations")
        return annotations if isinstance(annotations, dict) else {}

    @property
    def labels(self) -> dict[str, Any]:
        labels = self.metadata.get("labels")
        return labels if isinstance(labels, dict) else {}

    @property
    def tags(self) -> list[str]:
        tags = self.metadata.get("tags")
        return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []

    @property
    def title(self) -> str | None:
        return _text(self.metadata.get("title"))

    @property
    def description(self) -> str | None:
        return _text(self.metadata.get("description"))

    @property
    def type(self) -> str | None:
        return _text(self.spec.get("type"))

    @property
    def lifecycle(self) -> str | None:
        return _text(self.spec.get("lifecycle"))

    @property
    def owner(self) -> str | None:
        """The owner as a full entity ref (`group:default/team-a`), or None."""
        # Several checks ask for it on every entity; the document does not change.
        if self._owner is _UNSET:
            self._owner = _parse_owner(self.spec.get("owner"), self.namespace)
        return self._owner  # type: ignore[return-value]

    @property
    def system(self) -> str | None:
        system = _text(self.spec.get("system"))
        if system is None:
            return None
        try:
            return str(parse_ref(system, default_kind="system", default_namespace=self.namespace))
        except ValueError:
            return None


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


def _parse_owner(value: Any, namespace: str) -> str | None:
    owner = _text(value)
    if owner is None:
        return None
    try:
        return str(parse_ref(owner, default_kind="group", default_namespace=namespace))
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    """A non-blank string value, stripped; anything else is None."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None
