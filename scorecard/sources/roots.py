"""The folders on this machine that catalog data may send scorecard to read.

Catalog files are written by every team, so a path read from one is untrusted: a source
location (`dir:/etc`, `dir:../../..`), a git remote (`file:///srv/other-team.git`) or a
`Location` target (`/etc/shadow`). Each is resolved, symlinks followed, and used only when
it lies inside an allowed root:

- the folder of the catalog file it came from, and the git work tree holding that file
  (a catalog-info.yaml in a monorepo's subfolder may name `dir:../..`); for a Location
  target, the folders of the catalog paths the workspace names and their work trees;
- the git cache's folder (source locations only);
- the folders the operator lists in `repositories.local_roots` in scorecard.yaml.

An entity served by a catalog API was read from no file here: its managed-by location is
catalog data too, so only the listed roots hold its files.

Anything else is refused with a reason that names the path and this rule, never what the
path holds, and without saying whether it exists.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

OUTSIDE = (
    "is outside the allowed repository roots; "
    "an operator can allow it with repositories.local_roots"
)


def real(path: str | Path) -> Path:
    """The path with every symlink resolved, whether or not it exists."""
    return Path(os.path.realpath(path))


def inside(path: str | Path, roots: Iterable[Path]) -> bool:
    """Whether the path, symlinks resolved, is one of the (resolved) roots or within one."""
    target = real(path)
    return any(target.is_relative_to(root) for root in roots)


def work_tree(folder: Path) -> Path | None:
    """The top of the git work tree `folder` is in: the nearest folder holding `.git`.

    The file system's root never counts: a `.git` there would make every path allowed.
    """
    for candidate in (folder, *folder.parents):
        if candidate.parent == candidate:
            return None
        if os.path.lexists(candidate / ".git"):
            return candidate
    return None


class AllowedRoots:
    """The roots of one run or one catalog read: listed ones, plus those a file brings.

    `listed` are the operator's `repositories.local_roots`; `cache` is the git cache's
    folder. A catalog file adds its own folder and git work tree, looked up once per
    folder.
    """

    def __init__(self, listed: Iterable[str | Path] = (), *, cache: str | Path | None = None):
        self.listed: tuple[Path, ...] = tuple(dict.fromkeys(real(p) for p in listed))
        self._extra = self.listed + ((real(cache),) if cache is not None else ())
        # Memos for the run: resolving a path costs tens of microseconds, and a catalog's
        # entities share a few folders.
        self._of_folder: dict[str, tuple[Path, ...]] = {}
        self._resolved: dict[tuple[str, tuple[Path, ...]], Path | None] = {}

    def __repr__(self) -> str:
        return f"AllowedRoots({[str(p) for p in self.listed]!r})"

    def of_file(self, file: str | Path) -> tuple[Path, ...]:
        """The roots a path read from this catalog file may lie in."""
        return self.of_folder(os.path.dirname(file) or ".")

    def of_folder(self, folder: str | Path) -> tuple[Path, ...]:
        """A catalog folder's roots: it, its git work tree, the cache and the listed roots."""
        found = self._of_folder.get(str(folder))
        if found is None:
            resolved = real(folder)
            tree = work_tree(resolved)
            own = (resolved,) if tree is None or tree == resolved else (resolved, tree)
            found = self._of_folder[str(folder)] = own + self._extra
        return found

    def resolve_inside(self, path: str | Path, roots: tuple[Path, ...]) -> Path | None:
        """The path, symlinks resolved, when it lies inside one of the roots; else None."""
        key = (str(path), roots)
        if key not in self._resolved:
            target = real(path)
            self._resolved[key] = target if any(target.is_relative_to(r) for r in roots) else None
        return self._resolved[key]
