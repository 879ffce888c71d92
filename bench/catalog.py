"""A deterministic generator of Backstage-shaped catalogs, and writers for both engines.

The mix is meant to look like a real catalog that is half-way through adopting its
standards: most fields are usually there, each is sometimes missing or blank, a tenth of
the entities are owned by a person rather than a team, and owners are written in the
three ways Backstage accepts (`team-a`, `group:team-a`, `group:default/team-a`).
Every value is a plain JSON type, so the YAML and JSON Lines files hold the same data.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

try:
    from yaml import CSafeDumper as _Dumper
except ImportError:  # PyYAML without libyaml: the same files, written more slowly
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]

SEED = 20_240_601
GROUPS = 300
USERS = 2_000
SYSTEMS = 400
DOCS_PER_FILE = 1_000

_KINDS = (("Component", 70), ("API", 20), ("Resource", 10))
_TYPES = {
    "Component": ("service", "website", "library"),
    "API": ("openapi", "grpc", "asyncapi"),
    "Resource": ("database", "s3-bucket", "queue"),
}
_LIFECYCLES = (
    ("production", 55),
    ("experimental", 15),
    ("deprecated", 10),
    ("Production", 3),  # allowed: lifecycles compare case-insensitively
    (" experimental ", 2),  # allowed: surrounding blanks do not count
    (None, 15),
)
# fmt: off
_TAGS = [
    "python", "java", "go", "typescript", "kotlin", "rust", "scala", "ruby", "php", "csharp",
    "payments", "search", "checkout", "identity", "data", "ml", "frontend", "backend",
    "internal", "public", "pci", "gdpr", "grpc", "rest",
]
_WORDS = [
    "takes", "handles", "serves", "stores", "routes", "scores", "sends", "builds", "tracks",
    "syncs", "card", "payments", "orders", "customers", "invoices", "events", "search",
    "results", "images", "emails", "for", "the", "web", "shop", "and", "mobile", "apps",
    "partner", "api", "nightly", "batch", "realtime", "stream",
]
# fmt: on


def _pick(rng: random.Random, weighted: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([value for value, _ in weighted], [w for _, w in weighted])[0]


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choices(_WORDS, k=rng.randint(4, 14))).capitalize() + "."


def _owner(rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.05:
        return None
    if roll < 0.07:
        return "  "  # blank: no owner
    if roll < 0.17:
        user = f"user-{rng.randrange(USERS):04d}"
        return f"user:{user}" if rng.random() < 0.5 else f"user:default/{user}"
    group = f"team-{rng.randrange(GROUPS):03d}"
    form = rng.random()
    if form < 0.6:
        return group  # a bare name is a group, as in Backstage
    return f"group:{group}" if form < 0.8 else f"group:default/{group}"


def entity(index: int, rng: random.Random) -> dict[str, Any]:
    """The entity number `index`, drawn from `rng`."""
    kind = _pick(rng, _KINDS)
    name = f"{kind.lower()}-{index:06d}"
    metadata: dict[str, Any] = {"name": name}
    if rng.random() < 0.1:
        metadata["namespace"] = "default"
    if rng.random() < 0.6:
        metadata["title"] = name.replace("-", " ").title()
    roll = rng.random()
    if roll < 0.72:
        metadata["description"] = _sentence(rng)
    elif roll < 0.77:
        metadata["description"] = rng.choice(["", "   "])  # blank: no description
    roll = rng.random()
    if roll < 0.7:
        metadata["tags"] = rng.sample(_TAGS, rng.randint(1, 4))
    elif roll < 0.75:
        metadata["tags"] = []
    annotations = {}
    if rng.random() < 0.8:
        annotations["github.com/project-slug"] = f"acme/{name}"
    if rng.random() < 0.45:
        annotations["backstage.io/techdocs-ref"] = rng.choice(["dir:.", "url:https://docs/x"])
    if rng.random() < 0.35:
        annotations["pagerduty.com/service-id"] = f"P{rng.randrange(16**6):06X}"
    elif rng.random() < 0.05:
        annotations["pagerduty.com/service-id"] = ""  # blank: not connected
    if annotations:
        metadata["annotations"] = annotations
    if rng.random() < 0.3:
        metadata["links"] = [{"url": f"https://grafana.example.com/d/{name}", "title": "Board"}]
    spec: dict[str, Any] = {"type": rng.choice(_TYPES[kind])}
    lifecycle = _pick(rng, _LIFECYCLES)
    if lifecycle is not None:
        spec["lifecycle"] = lifecycle
    owner = _owner(rng)
    if owner is not None:
        spec["owner"] = owner
    if rng.random() < 0.7:
        system = f"system-{rng.randrange(SYSTEMS):03d}"
        spec["system"] = system if rng.random() < 0.8 else f"system:default/{system}"
    if kind == "API":
        spec["definition"] = "openapi: 3.0.0\ninfo: {title: x, version: '1'}\npaths: {}\n"
    return {"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec}


def generate(size: int, seed: int = SEED) -> Iterator[dict[str, Any]]:
    """`size` entity documents; the same seed and size always give the same catalog, and a
    smaller catalog is a prefix of a larger one."""
    rng = random.Random(seed)
    for index in range(size):
        yield entity(index, rng)


def write_yaml(documents: list[dict[str, Any]], folder: Path) -> list[Path]:
    """Catalog files of `DOCS_PER_FILE` documents each, as a platform team's monorepo of
    catalog-info.yaml files would hold them; returns them in read order."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for number, start in enumerate(range(0, len(documents), DOCS_PER_FILE)):
        path = folder / f"catalog-{number:04d}.yaml"
        with path.open("w", encoding="utf-8") as stream:
            yaml.dump_all(
                documents[start : start + DOCS_PER_FILE],
                stream,
                Dumper=_Dumper,
                sort_keys=False,
                allow_unicode=True,
            )
        files.append(path)
    return files


def write_json_lines(documents: list[dict[str, Any]], path: Path) -> Path:
    """One entity per line: what the json-rules-engine peer reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as stream:
        for document in documents:
            stream.write(json.dumps(document, separators=(",", ":")))
            stream.write("\n")
    return path
