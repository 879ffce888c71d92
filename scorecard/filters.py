"""Entity filters with Backstage catalog-filter semantics.

A filter is a list of filter sets; an entity matches when any set matches (OR). Within a
set every key must match (AND); a key matches when the entity's value at that dot path
equals one of the listed values (OR), compared case-insensitively. A list-valued field
(`metadata.tags`) matches when any of its elements does; `relations.<type>` matches the
target refs of the entity's relations of that type, as in Backstage's search table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scorecard.entity import Entity, lookup


@dataclass(frozen=True)
class EntityFilter:
    sets: tuple[tuple[tuple[str, frozenset[str]], ...], ...]

    @classmethod
    def from_config(cls, sets: Sequence[Mapping[str, str | Sequence[str]]]) -> EntityFilter:
        normalised = []
        for filter_set in sets:
            items = []
            for key, value in filter_set.items():
                values = [value] if isinstance(value, str) else list(value)
                items.append((key, frozenset(v.lower() for v in values)))
            normalised.append(tuple(items))
        return cls(tuple(normalised))

    def matches(self, entity: Entity) -> bool:
        return any(
            all(_field_matches(entity, key, wanted) for key, wanted in filter_set)
            for filter_set in self.sets
        )


def _field_matches(entity: Entity, key: str, wanted: frozenset[str]) -> bool:
    return any(value in wanted for value in _values_at(entity, key))


def _values_at(entity: Entity, key: str) -> Iterable[str]:
    if key.lower() == "kind":
        return (entity.kind.lower(),)
    if key.lower().startswith("relations."):
        relation = key.split(".", 1)[1].lower()
        relations = entity.raw.get("relations")
        return (
            str(r.get("targetRef", "")).lower()
            for r in (relations if isinstance(relations, list) else ())
            if isinstance(r, dict) and str(r.get("type", "")).lower() == relation
        )
    value = lookup(entity.raw, key)
    if value is None:
        value = _lookup_case_insensitive(entity.raw, key)
    if isinstance(value, list):
        return (_scalar(v) for v in value if _scalar(v) is not None)
    scalar = _scalar(value)
    return () if scalar is None else (scalar,)


def _lookup_case_insensitive(data: Any, key: str) -> Any:
    # Backstage lower-cases filter keys; this walks only the dicts along the path.
    node = data
    remaining = key.lower().split(".")
    while remaining:
        if not isinstance(node, dict):
            return None
        lowered = {str(k).lower(): v for k, v in node.items()}
        for end in range(len(remaining), 0, -1):
            candidate = ".".join(remaining[:end])
            if candidate in lowered:
                node, remaining = lowered[candidate], remaining[end:]
                break
        else:
            return None
    return node


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value).lower()
    return None
