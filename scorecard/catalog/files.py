"""The file catalog source: Backstage descriptor files, folders and globs of them, and the
`Location` entities that point from one file to others.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scorecard.catalog.safe_yaml import LIBYAML, Document, read_documents
from scorecard.entity import Entity, InvalidEntity
from scorecard.problems import Problem
from scorecard.sources.roots import AllowedRoots, inside

__all__ = ["LIBYAML", "CatalogListing", "read_catalog"]

_SUFFIXES = (".yaml", ".yml")
# Backstage's conventional name: a file so named is always read as part of the catalog.
_CATALOG_NAME = ("catalog-info.yaml", "catalog-info.yml")
_REMOTE = "remote location targets are not read by the file source"
_LINKS_OUT = (
    "is a link to a file outside the catalog's roots, so it is not read; an operator can "
    "allow its target's folder with repositories.local_roots"
)
_OUTSIDE_CATALOG = (
    "is outside the catalog's roots (the folders of the catalog paths and their git "
    "repositories), so this Location target is not read; an operator can allow it with "
    "repositories.local_roots"
)


@dataclass(slots=True)
class CatalogListing:
    """The entities read, in file then document order, and every problem met on the way.

    `complete` is False when a source stopped half way (a Backstage backend failing on a
    later page): entities missing from such a listing may well still exist. `filtered` is
    True when a catalog API was asked for only the entities some tracks apply to.
    """

    entities: list[Entity]
    problems: list[Problem]
    complete: bool = True
    filtered: bool = False

    @property
    def shows_removals(self) -> bool:
        """Whether an entity missing from this listing is gone from the catalog: only when
        every source was read to the end, unfiltered, and nothing was skipped as
        unreadable."""
        return self.complete and not self.filtered and not self.problems


def read_catalog(
    paths: Iterable[str | Path], *, local_roots: Iterable[str | Path] = ()
) -> CatalogListing:
    """Read entities from catalog files, folders and globs, following `Location` entities.

    Bad input never raises: a path that matches nothing, invalid YAML, a document that is
    not a valid entity, a duplicate entity ref and a remote location target each become a
    problem, and the rest of the catalog is still read. A Location target is read only
    inside the catalog's roots (the folders of `paths` and their git work trees) or the
    operator's `local_roots`; any other is a problem naming it, and is not opened.
    """
    names = [str(path) for path in paths]
    reader = _Reader()
    reader.target_roots = _catalog_roots(names, local_roots)
    for path in names:
        reader.read_path(path)
    return CatalogListing(reader.entities, reader.problems)


def _catalog_roots(paths: list[str], local_roots: Iterable[str | Path]) -> tuple[Path, ...]:
    """The folders of the catalog paths (a glob's folder before its first wildcard), their
    git work trees, and the listed roots."""
    allowed = AllowedRoots(local_roots)
    roots: dict[Path, None] = dict.fromkeys(allowed.listed)
    for path in paths:
        folder = _static_prefix(path)
        if not os.path.isdir(folder):
            folder = os.path.dirname(folder) or "."
        roots.update(dict.fromkeys(allowed.of_folder(folder)))
    return tuple(roots)


def _static_prefix(path: str) -> str:
    """The part of a path before its first component with a wildcard."""
    parts = Path(path).parts
    for i, part in enumerate(parts):
        if glob.has_magic(part):
            return str(Path(*parts[:i])) if i else "."
    return path


class _Reader:
    def __init__(self) -> None:
        self.entities: list[Entity] = []
        self.problems: list[Problem] = []
        self._read: set[tuple[int, int]] = set()
        self._first_file: dict[str, str] = {}

    def read_path(self, path: str, *, named_in: str | None = None, key: str = "") -> None:
        """Read a file, a folder or a glob; `named_in` is the Location file naming it."""
        matches = expand_glob(path)
        if not matches:
            self._problem(named_in or path, f"no catalog files match {path}", key=key)
        for match in matches:
            if os.path.isdir(match):
                self._scan(match)
            elif match != path and os.path.islink(match) and not inside(match, self.target_roots):
                self._problem(match, _LINKS_OUT)  # a glob's match is a team's file
            else:
                self._read_file(match, named=True)

    def _problem(self, file: str, message: str, key: str = "") -> None:
        self.problems.append(Problem(file, message, key=key))

    def _scan(self, folder: str) -> None:
        # Symlinked folders are not followed (os.walk's default), so a link loop ends.
        for root, folders, files in os.walk(folder, onerror=self._unreadable):
            # Hidden folders hold tooling (.git, .github workflows), never the catalog.
            folders[:] = sorted(f for f in folders if not f.startswith(".") and f != "node_modules")
            for name in sorted(files):
                if not name.endswith(_SUFFIXES):
                    continue
                path = os.path.join(root, name)
                # A team's folder may hold a link to any file on the server; its problems
                # would be published with the run, so a link out is not even opened.
                if os.path.islink(path) and not inside(path, self.target_roots):
                    self._problem(path, _LINKS_OUT)
                    continue
                self._read_file(path, named=False)

    def _unreadable(self, error: OSError) -> None:
        self.problems.append(_read_problem(str(error.filename), error))

    def _read_file(self, file: str, *, named: bool) -> None:
        try:
            stat = os.stat(file)
        except OSError as error:
            self.problems.append(_read_problem(file, error))
            return
        # The same file may be reached by several paths (a folder scan, `./x`, `../a/x`).
        identity = (stat.st_dev, stat.st_ino)
        if identity in self._read:
            return
        self._read.add(identity)
        read = read_documents(file)
        # A folder holds more than the catalog: OpenAPI specs, CI config, mkdocs.yml (whose
        # `!!python/name` tags the safe loader refuses). A file a scan meets is passed over
        # unless it may hold entities; then every one of its documents is read or reported.
        if not named and not (read.may_hold_entities or file.endswith(_CATALOG_NAME)):
            return
        if read.problem is not None:
            self.problems.append(read.problem)
        elif not read.documents:
            self._problem(file, "is empty: it holds no catalog documents")
        locations = []
        for document in read.documents:
            entity = self._add(file, document)
            if entity is not None and entity.kind.lower() == "location":
                locations.append(entity)
        for location in locations:
            self._follow(location)

    def _add(self, file: str, document: Document) -> Entity | None:
        index, line, data = document.index, document.line, document.data
        if document.problem is not None:
            self.problems.append(document.problem)
            return None
        if document.empty:  # nothing but a marker, e.g. a trailing `---`
            return None
        if not isinstance(data, dict):
            found = _KINDS_OF_VALUE.get(type(data), type(data).__name__)
            message = f"document {index} is not an entity: a {found}, not a mapping"
            self.problems.append(Problem(file, message, line))
            return None
        try:
            entity = Entity(data, source=file)
        except InvalidEntity as error:
            message = f"document {index} is not a valid entity: {error}"
            self.problems.append(Problem(file, message, line))
            return None
        # Backstage compares entity refs case-insensitively.
        ref = entity.ref.lower()
        if ref in self._first_file:
            first = self._first_file[ref]
            message = f"document {index}: {entity.ref} is already defined in {first}; skipped"
            self.problems.append(Problem(file, message, line))
            return None
        self._first_file[ref] = file
        self.entities.append(entity)
        return entity

    # Where Location targets may lead; read_catalog sets it (see `_follow_inside`).
    target_roots: tuple[Path, ...] = ()

    def _follow(self, location: Entity) -> None:
        file = str(location.source)
        targets = list(_targets(location))
        if not targets:
            self._problem(file, f"{location.ref} has no spec.target or spec.targets")
        remote_type = location.type not in (None, "file")
        for key, target in targets:
            if not isinstance(target, str) or not target.strip():
                self._problem(file, f"target {target!r} is not a path", key=key)
            elif remote_type or "://" in target:
                self._problem(file, f"{target}: {_REMOTE}", key=key)
            else:
                path = os.path.normpath(os.path.join(os.path.dirname(file), target.strip()))
                self._follow_inside(path, file, key)

    def _follow_inside(self, path: str, file: str, key: str) -> None:
        """Read a Location's target, or each file it matches, that lies (symlinks resolved)
        inside the catalog's roots; the rest is a problem, and is not opened: a catalog
        file may name any path, and its problems are published with the run."""
        if not inside(_static_prefix(path), self.target_roots):
            self._problem(file, f"{path} {_OUTSIDE_CATALOG}", key=key)
            return
        matches = expand_glob(path)
        if not matches:  # reported as matching nothing, as any missing target is
            self.read_path(path, named_in=file, key=key)
        for match in matches:
            if not inside(match, self.target_roots):
                self._problem(file, f"{match} {_OUTSIDE_CATALOG}", key=key)
                continue
            self.read_path(glob.escape(match), named_in=file, key=key)


def _targets(location: Entity) -> Iterator[tuple[str, Any]]:
    """Each target of a Location with its key path, `spec.target` first."""
    spec = location.spec
    if "target" in spec:
        yield "spec.target", spec["target"]
    targets = spec.get("targets")
    if isinstance(targets, list):
        for i, target in enumerate(targets):
            yield f"spec.targets.{i}", target
    elif targets is not None:
        yield "spec.targets", targets


def expand_glob(pattern: str) -> list[str]:
    """`glob.glob(pattern, recursive=True)`, sorted, except that `**` never descends into a
    symlinked folder: Python's does, and two symlink loops in a folder of the catalog would
    keep it going for ever."""
    parts = pattern.split(os.sep)
    if "**" not in parts:
        return sorted(glob.glob(pattern))
    first = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    found: set[str] = set()
    _match(os.sep.join(parts[:first]), parts[first:], found)
    return sorted(found)


def _match(folder: str, parts: list[str], found: set[str]) -> None:
    if not parts:
        found.add(folder)
        return
    part, rest = parts[0], parts[1:]
    if not glob.has_magic(part):
        path = os.path.join(folder, part)
        if os.path.lexists(path) and (not rest or os.path.isdir(path)):
            _match(path, rest, found)
        return
    try:
        with os.scandir(folder or os.curdir) as listing:
            entries = [e for e in listing if part.startswith(".") or not e.name.startswith(".")]
    except OSError:
        return
    if part == "**":
        if folder or rest:
            _match(folder, rest, found)  # `**` as no folder at all
        for entry in entries:
            path = os.path.join(folder, entry.name)
            if entry.is_dir(follow_symlinks=False):
                _match(path, parts, found)
            elif not rest:
                found.add(path)
        return
    for entry in entries:
        if fnmatch.fnmatchcase(entry.name, part) and (not rest or entry.is_dir()):
            _match(os.path.join(folder, entry.name), rest, found)


def _read_problem(file: str, error: OSError) -> Problem:
    return Problem(file, f"cannot be read: {error.strerror or error}")


_KINDS_OF_VALUE: dict[type, str] = {
    type(None): "null",
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    list: "list",
}
