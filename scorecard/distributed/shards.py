"""Splitting a planned run into shards, and a shard's message.

Entities that read one repository go in one shard, so that a run fetches each repository
once however many entities share it (each worker keeps its own clone cache). A group
larger than the shard size stays whole; the others are packed into shards of about
`shard_size` entities, in catalog order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from scorecard.entity import Entity
from scorecard.inputs import SOURCE_LOCATION
from scorecard.planner import EntityPlan
from scorecard.sources.git import remote_location


def split(plans: Sequence[EntityPlan], shard_size: int) -> list[list[EntityPlan]]:
    """The plans in shards of about `shard_size`, those of one repository together."""
    groups: dict[object, list[EntityPlan]] = {}
    for item in plans:
        groups.setdefault(_repository(item.entity), []).append(item)
    shards: list[list[EntityPlan]] = []
    current: list[EntityPlan] = []
    for group in groups.values():
        if current and len(current) + len(group) > shard_size:
            shards.append(current)
            current = []
        current.extend(group)
        if len(current) >= shard_size:
            shards.append(current)
            current = []
    if current:
        shards.append(current)
    return shards


def _repository(entity: Entity) -> object:
    """What an entity's repository checks read: its remote clone, or its local folder;
    an entity that reads none is a group of its own."""
    with contextlib.suppress(ValueError):
        remote = remote_location(entity)
        if remote is not None:
            return ("remote", remote[1].spec)
    annotations = entity.raw.get("metadata", {}).get("annotations")
    if isinstance(annotations, dict):
        location = annotations.get(SOURCE_LOCATION)
        if isinstance(location, str) and location.strip():
            return ("local", entity.source, location.strip())
    return ("entity", entity.ref)


@dataclass(frozen=True)
class ShardMessage:
    """What a worker is sent: the run, the shard, the configuration it was planned with,
    and each entity's document with the tracks to evaluate on it (those a kept pair
    leaves out are not among them)."""

    run_id: int
    shard: int
    fingerprint: str
    items: list[tuple[Entity, tuple[str, ...]]]

    def encode(self) -> dict[str, Any]:
        # The documents as one JSON text: the broker's serializer passes it through as it
        # is, and orjson writes it ten times faster than the json module would.
        documents = orjson.dumps(
            [[entity.raw, entity.source, list(tracks)] for entity, tracks in self.items],
            default=str,
            option=orjson.OPT_NON_STR_KEYS,
        ).decode()
        return {
            "run_id": self.run_id,
            "shard": self.shard,
            "fingerprint": self.fingerprint,
            "entities": documents,
        }

    @classmethod
    def decode(cls, body: dict[str, Any]) -> ShardMessage:
        items = [
            (Entity(raw, source), tuple(tracks))
            for raw, source, tracks in orjson.loads(body["entities"])
        ]
        return cls(int(body["run_id"]), int(body["shard"]), str(body["fingerprint"]), items)


def message_for(run_id: int, shard: int, fingerprint: str, plans: list[EntityPlan]) -> ShardMessage:
    items = [(item.entity, tuple(track.id for track in item.tracks)) for item in plans]
    return ShardMessage(run_id, shard, fingerprint, items)
