"""The fingerprint of what a run is evaluated with: its tracks and check modules.

A run records the fingerprint it was planned with, and a worker evaluates a shard only
with the very same configuration: a worker that was not restarted after a track changed
would otherwise certify with the old track. Contents, not paths or times, are hashed, so
that the same files checked out elsewhere, on another worker's machine, match.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from scorecard.tracks import track_files
from scorecard.workspace import Workspace


def configuration_fingerprint(workspace: Workspace) -> str:
    """A short hash of scorecard's version, the track files and the check modules."""
    digest = hashlib.sha256(_scorecard_version().encode())
    for root in workspace.tracks:
        if root.exists():
            base = root if root.is_dir() else root.parent
            _add_files(digest, base, track_files([root]))
    for folder in workspace.checks:
        if folder.is_dir():
            _add_files(digest, folder, folder.glob("*.py"))
    return digest.hexdigest()[:16]


def _add_files(digest: Any, base: Path, files: Iterable[Path]) -> None:
    """Each file's name (relative to its configured folder) and a hash of its content."""
    for path in sorted(files):
        try:
            content = path.read_bytes()
        except OSError:
            content = b"\0unreadable"
        name = path.relative_to(base).as_posix() if path.is_relative_to(base) else path.name
        digest.update(b"\0" + name.encode() + b"\0" + hashlib.sha256(content).digest())


def _scorecard_version() -> str:
    try:
        return version("scorecard")
    except PackageNotFoundError:  # a source tree on sys.path, not installed
        return "source"
