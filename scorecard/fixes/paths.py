"""The paths a fix may write: relative, inside the repository, never into `.git`."""

from __future__ import annotations

from pathlib import PurePosixPath

from scorecard.fixes.templates import FixTemplateError

MAX_PATH_LENGTH = 255


def repository_path(text: str, where: str) -> str:
    """`text` as a normalised POSIX path relative to the repository root, or
    FixTemplateError saying why a fix may not write there."""
    if not text or len(text) > MAX_PATH_LENGTH or "\x00" in text or "\\" in text:
        raise FixTemplateError(f"{where}: {text!r} is not a file path a fix may write")
    path = PurePosixPath(text)
    parts = path.parts
    if path.is_absolute() or any(part in ("..", "") for part in parts):
        raise FixTemplateError(f"{where}: {text!r} leaves the repository; give a relative path")
    parts = tuple(part for part in parts if part != ".")
    if not parts or parts[0].lower() == ".git" or any(p.lower() == ".git" for p in parts):
        raise FixTemplateError(f"{where}: {text!r} is inside .git, where a fix never writes")
    return "/".join(parts)
