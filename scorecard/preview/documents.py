"""What a preview evaluates, when it does not come from track files: track documents sent
as text (the API, the MCP tool, a git ref), and the entities a store holds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from scorecard.entity import Entity
from scorecard.problems import ConfigError, Problem
from scorecard.registry import CheckRegistry
from scorecard.tracks import Track, track_from_document
from scorecard.yamlfile import load_yaml_text

if TYPE_CHECKING:
    from scorecard.store import Store


def load_track_documents(
    documents: Iterable[tuple[str, str]], registry: CheckRegistry
) -> list[Track]:
    """Tracks from `(name, YAML text)` pairs, as the API receives them: read with the
    limits of track files (alias bombs, deep nesting, huge numbers are refused), each
    problem named `name:LINE:COL: key: message`. Raises ConfigError with every problem
    of every document, a track id given twice included."""
    tracks: list[Track] = []
    problems: list[Problem] = []
    first: dict[str, str] = {}
    for name, text in documents:
        try:
            track = track_from_document(load_yaml_text(text, name), registry)
        except ConfigError as error:
            problems.extend(error.problems)
            continue
        if track.id in first:
            problems.append(
                Problem(name, f"track id {track.id!r} is also given by {first[track.id]}")
            )
            continue
        first[track.id] = name
        tracks.append(track)
    if problems:
        raise ConfigError(problems)
    return tracks


def stored_entities(store: Store) -> list[Entity]:
    """The entities of the store's catalog (those gone from it left out), as runs saw
    them last."""
    return [Entity(record.raw, record.source) for record in store.entities()]
