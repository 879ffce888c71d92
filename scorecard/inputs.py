"""The inputs a check can ask for besides `entity` and `params`: `repo` and `catalog`.

Each is built at most once per entity per run by the executor; entities that share a
repository folder share one `Repo`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from scorecard.entity import Entity, parse_ref
from scorecard.sources.globbing import (
    MAX_GLOB_ENTRIES,
    MAX_GLOB_SECONDS,
    GlobLimitReached,
    confined_glob,
    is_glob,
)
from scorecard.sources.roots import OUTSIDE, AllowedRoots

SOURCE_LOCATION = "backstage.io/source-location"
MANAGED_BY_LOCATION = "backstage.io/managed-by-location"
_MAX_READ = 1 << 20


class InputUnavailable(Exception):
    """An input could not be built for an entity; its checks report `unknown` with this."""


class GlobTooLarge(InputUnavailable):
    """A glob stopped at its limit: a check would judge on part of the repository."""


class Repo:
    """A read-only view of a repository's files. Paths are relative, with `/` separators.

    A Repo lives for one run and is shared by every entity and check that reads its folder,
    so it remembers what it has looked up: five entities of one repository, six checks
    each, ask for the same few paths, and resolving a path (a system call per component,
    to keep symlinks from leading outside) cost more than the checks themselves.
    """

    def __init__(
        self,
        root: Path,
        label: str | None = None,
        *,
        max_glob_entries: int = MAX_GLOB_ENTRIES,
        max_glob_seconds: float = MAX_GLOB_SECONDS,
    ) -> None:
        self.root = root.resolve()
        self.label = label or self.root.name
        self.max_glob_entries = max_glob_entries
        self.max_glob_seconds = max_glob_seconds
        self._kinds: dict[str, str | None] = {}  # path → "file", "dir", "other" or None
        self._globs: dict[str, list[str] | GlobTooLarge] = {}
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
        """Files and folders matching a glob (`**` spans folders), sorted.

        Never outside the repository (see `scorecard.sources.globbing`); raises
        GlobTooLarge, which makes the check `unknown`, when the walk hits its limit.
        """
        found = self._globs.get(pattern)
        if found is None:
            found = self._globs[pattern] = self._glob(pattern)
        if isinstance(found, GlobTooLarge):
            raise found
        return list(found)

    def _glob(self, pattern: str) -> list[str] | GlobTooLarge:
        try:
            return confined_glob(
                self.root,
                pattern,
                max_entries=self.max_glob_entries,
                max_seconds=self.max_glob_seconds,
            )
        except GlobLimitReached as limit:
            return GlobTooLarge(
                f"the glob {pattern} in {self.label} stopped before the end: {limit} "
                "(the limit of one glob), so it is not judged on part of the repository"
            )

    def exists(self, pattern: str) -> bool:
        """True when a file or folder matches the path or glob."""
        if not is_glob(pattern):
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
            matches = self.glob(path) if is_glob(path) else None
            if matches:
                return matches[0]
            if matches is None and self.exists(path):
                return path
        return None


def repository_root(entity: Entity, roots: AllowedRoots | None = None) -> Path:
    """The local folder holding an entity's source, or InputUnavailable saying why not.

    A `dir:` or `file:` source location (relative to the entity's catalog file) wins;
    otherwise the folder holding the entity's catalog file is its repository. Either is
    catalog data, so it is used only inside the allowed roots (`scorecard.sources.roots`):
    an entity read from a file may reach that file's folder and git work tree, the git
    cache and the listed roots; an entity from a catalog API only the listed roots.
    """
    roots = roots or AllowedRoots()
    location = entity.annotations.get(SOURCE_LOCATION)
    if entity.catalog_file is not None:
        base, allowed = entity.catalog_file.parent, roots.of_file(entity.catalog_file)
        named = f"the folder of the catalog file of {entity.ref}"
    else:
        managed = _managed_by_file(entity)
        base, allowed = (managed.parent if managed else None), roots.listed
        managed_by = entity.annotations.get(MANAGED_BY_LOCATION)
        named = f"the managed-by location {managed_by} of {entity.ref}"
    if isinstance(location, str) and location.strip():
        kind, _, target = location.strip().partition(":")
        if kind not in ("dir", "file") or not target:
            raise InputUnavailable(
                f"{entity.ref} has a remote source location {location!r}; "
                "only local dir: and file: locations can be read"
            )
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
        named = f"the source location {location.strip()} of {entity.ref}"
    elif base is None:
        raise InputUnavailable(f"{entity.ref} has no source location and no catalog file")
    else:
        path = base
    # Containment before existence: a refusal says nothing about what is on the machine.
    resolved = roots.resolve_inside(path, allowed)
    if resolved is None:
        raise InputUnavailable(f"{named} {OUTSIDE}")
    if not resolved.is_dir():
        raise InputUnavailable(f"{named} does not exist")
    return resolved


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
