"""The rollout preview tool's answer: what new or changed tracks would do to the stored
catalog, as `POST /api/v1/tracks/preview` answers it, and recorded in the audit log the
same way."""

from __future__ import annotations

from collections.abc import Sequence

from mcp.server.mcpserver.exceptions import ToolError

from api.routes.preview import PreviewOut
from scorecard.preview import load_track_documents, preview_tracks, stored_entities
from scorecard.problems import ConfigError
from scorecard.service.service import Service
from scorecard.sources.git import git_cache_from


def document_names(count: int) -> list[str]:
    """What problems call the documents: `track 1`, `track 2`…"""
    return [f"track {number}" for number in range(1, count + 1)]


def preview_rollout(service: Service, actor: str, documents: Sequence[str]) -> PreviewOut:
    """Evaluate the track documents on the stored entities and compare each entity with
    its stored level; nothing is stored but the audit log's row, which names `actor`."""
    store, workspace = service.store, service.workspace
    names = document_names(len(documents))
    registry = service.config.current.registry
    try:
        changed = load_track_documents(zip(names, documents, strict=True), registry)
    except ConfigError as error:
        texts = [str(problem) for problem in error.problems]
        store.audit(
            actor,
            "tracks.preview_rejected",
            "track",
            change={"documents": names, "problems": texts, "via": "mcp"},
        )
        noun = "problem" if len(texts) == 1 else "problems"
        raise ToolError(f"{len(texts)} {noun} in the track documents: {'; '.join(texts)}") from None
    report = preview_tracks(
        changed,
        entities=stored_entities(store),
        baseline="stored",
        store=store,
        concurrency=workspace.concurrency,
        timeout=workspace.check_timeout,
        git_cache=git_cache_from(workspace.repositories),
        github=workspace.github,
    )
    store.audit(
        actor,
        "tracks.previewed",
        "track",
        ",".join(t.id for t in changed),
        change={
            "documents": names,
            "entities": report.entities,
            "lost": {t.track_id: len(t.lost) for t in report.tracks},
            "gained": {t.track_id: len(t.gained) for t in report.tracks},
            "via": "mcp",
        },
    )
    return PreviewOut.model_validate(report.as_json())
