"""The baseline of a preview read from git: track files as they were at a ref (`main`,
a tag, a commit), so that a pull request's tracks can be compared with the merged ones."""

from __future__ import annotations

import subprocess
from pathlib import Path

from scorecard.catalog.safe_yaml import LIMITS
from scorecard.preview.documents import load_track_documents
from scorecard.problems import ConfigError, Problem
from scorecard.registry import CheckRegistry
from scorecard.tracks import Track


def tracks_at_ref(files: list[Path], ref: str, registry: CheckRegistry) -> list[Track]:
    """The tracks `files` held at git `ref`, each read from the repository that holds it
    (`git show REF:path`); a file that did not exist there is left out (a new track).
    Problems are named `REF:path:LINE:COL`."""
    # Refused before git sees it: a ref starting with "-" would be read as an option. Named
    # as the command line (`scorecard preview --baseline-ref`) gives it.
    if not ref or ref.startswith("-") or "\x00" in ref:
        raise ConfigError([Problem("--baseline-ref", f"{ref!r} is not a git ref")])
    documents = []
    for file in files:
        folder = file.resolve().parent
        _git(folder, file, ref, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}")
        spec = f"{ref}:./{file.name}"
        kind = subprocess.run(
            ["git", "-C", str(folder), "cat-file", "-t", spec], capture_output=True, text=True
        )
        if kind.returncode != 0:
            continue  # not there at the ref: a new track
        if kind.stdout.strip() != "blob":
            raise ConfigError([Problem(str(file), f"is a {kind.stdout.strip()} at {ref}")])
        size = int(_git(folder, file, ref, "cat-file", "-s", spec))
        if size > LIMITS.file_bytes:
            raise ConfigError(
                [Problem(f"{ref}:{file}", f"too large: over {LIMITS.file_bytes:,} bytes")]
            )
        text = _git(folder, file, ref, "show", spec)
        documents.append((f"{ref}:{file}", text))
    return load_track_documents(documents, registry)


def _git(folder: Path, file: Path, ref: str, *args: str) -> str:
    """`git -C FOLDER ARGS`'s output; a failure is a problem of `file` at `ref`."""
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, check=True, text=True
        )
    except (OSError, subprocess.CalledProcessError) as error:
        detail = (getattr(error, "stderr", "") or str(error)).strip()
        raise ConfigError(
            [Problem(str(file), f"cannot read it at {ref!r} for the baseline: {detail}")]
        ) from None
    except UnicodeDecodeError:
        raise ConfigError([Problem(f"{ref}:{file}", "is not UTF-8 text")]) from None
    return done.stdout
