"""Catalog, track and workspace documents for tests that write a small workspace or build
entities: the shapes those tests share, with what differs (names, owners, checks) passed
in by each test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

TEAM = "group:default/data"
# The annotation `has_oncall` looks for.
ON_CALL = {"pagerduty.com/service-id": "PABC123"}
# The levels of the track most of these tests use: silver needs an on-call annotation.
ON_CALL_LEVELS = {"bronze": ["has_owner"], "silver": ["has_oncall"]}


def component(
    name: str,
    *,
    owner: str = TEAM,
    description: str | None = None,
    annotations: Mapping[str, str] | None = None,
    type: str = "service",
    lifecycle: str = "production",
) -> dict[str, Any]:
    """A Backstage Component document (for `Entity(...)`, or `catalog_yaml(...)` to write)."""
    metadata: dict[str, Any] = {"name": name}
    if description is not None:
        metadata["description"] = description
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": metadata,
        "spec": {"type": type, "owner": owner, "lifecycle": lifecycle},
    }


def catalog_yaml(*documents: Mapping[str, Any]) -> str:
    """A catalog-info.yaml of these documents."""
    return yaml.safe_dump_all([dict(document) for document in documents], sort_keys=False)


def track_yaml(
    track_id: str,
    title: str,
    levels: Mapping[str, Sequence[str]],
    *,
    filter: str | None = "{kind: Component}",
    **settings: str,
) -> str:
    """A track file whose levels (in order) each name their checks; `settings` are more
    top-level keys (`draft="true"`, `grace="24h"`), written as given, before the levels."""
    lines = ["apiVersion: scorecard/v1", "kind: Track", f"id: {track_id}", f"title: {title}"]
    if filter is not None:
        lines.append(f"filter: {filter}")
    lines += [f"{key}: {value}" for key, value in settings.items()]
    lines.append("levels:")
    for level, checks in levels.items():
        lines += [f"  - id: {level}", f"    checks: [{', '.join(checks)}]"]
    return "\n".join(lines) + "\n"


def ops_track_yaml(track_id: str = "ops") -> str:
    """Operations: bronze needs an owner, silver an on-call annotation."""
    return track_yaml(track_id, "Operations", ON_CALL_LEVELS)


def workspace_config(database: str, *settings: str) -> str:
    """A scorecard.yaml over catalog-info.yaml and tracks/, reloaded only when asked (a
    test decides when the files it changes are read), then `settings`: YAML blocks."""
    return (
        "catalog: catalog-info.yaml\n"
        "tracks: tracks\n"
        f"database: {database}\n"
        "reload_interval: 0\n" + "".join(settings)
    )


def write_workspace_files(
    root: Path,
    database: str,
    *settings: str,
    tracks: Mapping[str, str],
    catalog: str | None = None,
) -> Path:
    """A workspace folder: its tracks (by id), its catalog when given (some tests write
    their own) and its scorecard.yaml (`workspace_config`); returns that file."""
    (root / "tracks").mkdir(parents=True, exist_ok=True)
    for track_id, text in tracks.items():
        (root / "tracks" / f"{track_id}.yaml").write_text(text)
    if catalog is not None:
        (root / "catalog-info.yaml").write_text(catalog)
    config = root / "scorecard.yaml"
    config.write_text(workspace_config(database, *settings))
    return config
