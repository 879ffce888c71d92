"""The inputs a check can ask for besides `entity` and `params`: `repo` and `catalog`.

Each is built at most once per entity per run by the executor; entities that share a
repository folder share one `Repo`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from scorecard.entity import Entity, parse_ref

SOURCE_LOCATION = "backstage.io/source-location"
MANAGED_BY_LOCATION = "backstage.io/managed-by-location"
_MAX_READ = 1 << 20


class InputUnavailable(Exception):
    """An input could not be built for an entity; its checks report `unknown` with this."""


class Repo:
    """A read-only view of a repository's files. Paths are relative, with `/` separators.

    A Repo lives for one run and is shared by every entity and check that reads its folder,
    so it remembers what it has looked up: five entities of one repository, six checks
    each, ask for the same few paths, and resolving a path (a system call per component,
    to keep symlinks from leading outside) cost more than the checks themselves.
    """

    def __init__(self, root: Path, label: str | None = None) -> None:
        self.root = root.resolve()
        self.label = label or self.root.name
        self._kinds: dict[str, str | None] = {}  # path → "file", "dir", "other" or None
        self._globs: dict[str, list[str]] = {}
        self._texts: dict[str, str | None] = {}

    def __repr__(self) -> str:
        return f"Repo({self.label!r})"

    def _inside(self, path: str) -> Path | None:
        candidate = (self.root / path).resolve()
        return candidate if candidate.is_relative_to(self.root) else None

    def _kind(self, path: str) -> str | None:
        """What is at a path inside the repository: "file", "dir", "other" or None."""
        if path in self._kinds:
            return self._kinds[path]
        target = self._inside(path)
        kind = None
        if target is not None:
            if target.is_file():
                kind = "file"
            elif target.is_dir():
                kind = "dir"
            elif target.exists():
                kind = "other"
        self._kinds[path] = kind
        return kind

    def is_file(self, path: str) -> bool:
        return self._kind(path) == "file"

    def is_dir(self, path: str) -> bool:
        return self._kind(path) == "dir"

    def glob(self, pattern: str) -> list[str]:
        """Files and folders matching a glob (`**` spans folders), sorted."""
        found = self._globs.get(pattern)
        if found is None:
            found = self._globs[pattern] = self._glob(pattern)
        return list(found)

    def _glob(self, pattern: str) -> list[str]:
        if not pattern.strip(" ./") or pattern.startswith("/") or ".." in Path(pattern).parts:
            return []
        found = []
        for path in self.root.glob(pattern):
            relative = path.relative_to(self.root)
            # A symlink may point outside the repository; such paths are not its files.
            if ".git" in relative.parts or not path.resolve().is_relative_to(self.root):
                continue
            found.append(relative.as_posix())
        return sorted(found)

    def exists(self, pattern: str) -> bool:
        """True when a file or folder matches the path or glob."""
        if not any(ch in pattern for ch in "*?["):
            return self._kind(pattern) is not None
        return bool(self.glob(pattern))

    def read_text(self, path: str) -> str | None:
        """The file's text, or None if absent.

        Only the first MiB is read (catalog checks look at config files, not data), and
        undecodable bytes are replaced rather than failing the check.
        """
        if path in self._texts:
            return self._texts[path]
        text = None
        if self.is_file(path):
            target = self._inside(path)
            assert target is not None  # is_file: inside the repository
            with target.open("rb") as handle:
                text = handle.read(_MAX_READ).decode("utf-8", errors="replace")
        self._texts[path] = text
        return text

    def first(self, *paths: str) -> str | None:
        """The first of several candidate paths or globs that exists."""
        for path in paths:
            matches = self.glob(path) if any(ch in path for ch in "*?[") else None
            if matches:
                return matches[0]
            if matches is None and self.exists(path):
                return path
        return None


def repository_root(entity: Entity) -> Path:
    """The local folder holding an entity's source, or InputUnavailable saying why not.

    A `dir:` or `file:` source location (relative to the entity's catalog file) wins;
    otherwise the folder holding the entity's catalog file is its repository.
    """
    location = entity.annotations.get(SOURCE_LOCATION)
    catalog_file = entity.catalog_file or _managed_by_file(entity)
    base = catalog_file.parent if catalog_file else None
    if isinstance(location, str) and location.strip():
        kind, _, target = location.strip().partition(":")
        if kind in ("dir", "file") and target:
            path = Path(target.removeprefix("//"))
            if not path.is_absolute():
                if base is None:
                    raise InputUnavailable(
                        f"{entity.ref} has a relative source location {location!r} "
                        "but no catalog file to resolve it against"
                    )
                path = base / path
            if kind == "file":
                path = path.parent
            if not path.is_dir():
                raise InputUnavailable(
                    f"source location {location!r} of {entity.ref} does not exist"
                )
            return path
        raise InputUnavailable(
            f"{entity.ref} has a remote source location {location!r}; "
            "only local dir: and file: locations can be read"
        )
    if base is None:
        raise InputUnavailable(f"{entity.ref} has no source location and no catalog file")
    return base


def _managed_by_file(entity: Entity) -> Path | None:
    """The catalog file a Backstage `file:` location names, for an entity served by a
    catalog API: Backstage records it as `backstage.io/managed-by-location`."""
    location = entity.annotations.get(MANAGED_BY_LOCATION)
    if not isinstance(location, str):
        return None
    kind, _, target = location.strip().partition(":")
    if kind != "file" or not target or target.startswith("//"):
        return None
    path = Path(target)
    return path if path.is_absolute() else None


class CatalogView:
    """Every entity of a run, looked up by entity ref (case-insensitive)."""

    def __init__(self, entities: Iterable[Entity]) -> None:
        self._by_ref = {entity.ref.lower(): entity for entity in entities}

    def __len__(self) -> int:
        return len(self._by_ref)

    def __iter__(self) -> Iterator[Entity]:
        return iter(self._by_ref.values())

    def __contains__(self, ref: object) -> bool:
        return isinstance(ref, str) and ref.lower() in self._by_ref

    def get(self, ref: str, *, default_kind: str | None = None) -> Entity | None:
        """The entity a ref names (`team-a` with default_kind="group" works too)."""
        try:
            key = str(parse_ref(ref, default_kind=default_kind))
        except ValueError:
            return None
        return self._by_ref.get(key.lower())
