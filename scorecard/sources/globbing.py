"""Globs over a repository's files that never leave it and stop at a limit.

A repository's root comes from catalog data and its patterns from tracks, so a glob must
not be a way to walk the machine: it never goes through `..`, takes no absolute pattern,
does not recurse (`**`) into symlinked folders, and keeps no match whose real path lies
outside the root. It is also bounded: a folder of millions of files, or a symlink loop,
ends in `GlobLimitReached` after MAX_GLOB_ENTRIES directory entries or MAX_GLOB_SECONDS,
never in a verdict on the part that was walked.

Matching follows `pathlib.Path.glob`: `*`, `?` and `[...]` within one name (hidden names
included), `**` for any number of folders, a trailing `/` for folders only; `.git` is
never a match or walked through.
"""

from __future__ import annotations

import fnmatch
import os
import re
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath

MAX_GLOB_ENTRIES = 100_000  # directory entries one glob may look at
MAX_GLOB_SECONDS = 5.0  # and how long it may take
_CLOCK_EVERY = 256  # entries between looks at the clock
_MAGIC = re.compile(r"[*?[]")


class GlobLimitReached(Exception):
    """A glob looked at too many entries, or for too long, to give a complete answer."""


def is_glob(pattern: str) -> bool:
    return _MAGIC.search(pattern) is not None


def confined_glob(
    root: Path,
    pattern: str,
    *,
    max_entries: int = MAX_GLOB_ENTRIES,
    max_seconds: float = MAX_GLOB_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> list[str]:
    """Paths under `root` (already resolved) matching `pattern`, relative with `/`, sorted.

    An absolute pattern or one with `..` matches nothing. Raises GlobLimitReached.
    """
    if not pattern.strip(" ./") or pattern.startswith("/") or ".." in PurePosixPath(pattern).parts:
        return []
    walk = _Walk(root, max_entries, max_seconds, clock)
    return sorted(walk.run(PurePosixPath(pattern).parts, folders_only=pattern.endswith("/")))


class _Walk:
    def __init__(
        self, root: Path, max_entries: int, max_seconds: float, clock: Callable[[], float]
    ) -> None:
        self.root = str(root)
        self.max_entries = max_entries
        self.max_seconds = max_seconds
        self.deadline = clock() + max_seconds
        self.clock = clock
        self.entries = 0

    def run(self, parts: tuple[str, ...], *, folders_only: bool) -> set[str]:
        matchers = [None if p == "**" else _matcher(p) for p in parts]
        last = len(parts) - 1
        found: set[str] = set()
        # (absolute folder, its path relative to the root, index of the part to match in it)
        stack = [(self.root, "", 0)]
        seen: set[tuple[str, int]] = set()
        while stack:
            folder, relative, index = stack.pop()
            if (relative, index) in seen:  # several `**` reach a folder more than one way
                continue
            seen.add((relative, index))
            if index > last:  # a trailing `**` matched this folder
                found.add(relative or ".")
                continue
            matcher = matchers[index]
            if matcher is None:  # `**`: this folder itself, then each folder below it
                stack.append((folder, relative, index + 1))
                for name, path, _ in self._children(folder, parts[index], folders=True):
                    stack.append((path, _join(relative, name), index))
                continue
            for name, path, is_dir in self._children(folder, parts[index], matcher=matcher):
                if index == last:
                    if is_dir or not folders_only:
                        found.add(_join(relative, name))
                elif is_dir:
                    stack.append((path, _join(relative, name), index + 1))
        return found

    def _children(
        self,
        folder: str,
        part: str,
        *,
        matcher: re.Pattern[str] | str | None = None,
        folders: bool = False,
    ) -> list[tuple[str, str, bool]]:
        """(name, path, is a folder) of the entries of `folder` a part matches.

        With `folders` (for `**`): every folder that is not a symlink. Otherwise a symlink
        counts only when its real path is inside the root, and then as what it points to.
        """
        if isinstance(matcher, str):  # a plain name: one lookup, not a listing
            self._count()
            path = os.path.join(folder, matcher)
            kind = self._kind(path, os.path.islink(path)) if os.path.lexists(path) else None
            return [] if kind is None or matcher == ".git" else [(matcher, path, kind == "dir")]
        children = []
        try:
            with os.scandir(folder) as listing:
                for entry in listing:
                    self._count()
                    if entry.name == ".git":
                        continue
                    if folders:
                        if entry.is_dir(follow_symlinks=False):
                            children.append((entry.name, entry.path, True))
                    elif matcher is not None and matcher.match(entry.name):
                        kind = self._kind(entry.path, entry.is_symlink())
                        if kind is not None:
                            children.append((entry.name, entry.path, kind == "dir"))
        except OSError:  # unreadable or vanished: nothing in it matches
            return []
        return children

    def _kind(self, path: str, is_link: bool) -> str | None:
        """ "dir" or "file" (anything else that is not a folder); None for a symlink that
        leads outside the root or nowhere."""
        if is_link:
            target = os.path.realpath(path)
            if not (target == self.root or target.startswith(self.root.rstrip("/") + "/")):
                return None
            if not os.path.exists(target):
                return None
        return "dir" if os.path.isdir(path) else "file"

    def _count(self) -> None:
        self.entries += 1
        if self.entries > self.max_entries:
            raise GlobLimitReached(f"it looked at more than {self.max_entries:,} entries")
        if self.entries % _CLOCK_EVERY == 0 and self.clock() > self.deadline:
            raise GlobLimitReached(f"it took more than {self.max_seconds:g} seconds")


def _matcher(part: str) -> re.Pattern[str] | str:
    if not is_glob(part):
        return part
    # `a**b` is `a*b`, as in pathlib from Python 3.13 on.
    return re.compile(fnmatch.translate(part))


def _join(relative: str, name: str) -> str:
    return f"{relative}/{name}" if relative else name
