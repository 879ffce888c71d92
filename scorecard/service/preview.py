"""Rollout previews in a server (`POST /api/v1/tracks/preview`, the MCP tool
`preview_rollout`): track documents evaluated on the stored entities and compared with
their stored levels. Nothing is stored but the audit log's row, which says who previewed
what, or what was refused."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from scorecard.preview import PreviewReport, load_track_documents, preview_tracks, stored_entities
from scorecard.problems import ConfigError, Problem
from scorecard.sources.git import git_cache_from

if TYPE_CHECKING:
    from scorecard.service.service import Service


class PreviewRejected(Exception):
    """Track documents that cannot be read: every problem, `NAME:LINE:COL: key: message`."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        self.texts = [str(problem) for problem in problems]
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{len(problems)} {noun} in the track documents: {'; '.join(self.texts)}")


def preview_documents(
    service: Service,
    actor: str,
    documents: Sequence[tuple[str, str]],
    *,
    via: str | None = None,
) -> PreviewReport:
    """Evaluate the `(name, YAML text)` track documents on the stored entities and compare
    each entity with its stored level. The audit log's row names `actor`, and `via` when
    given (how the request came, when not through the API). Raises PreviewRejected, once
    the refusal is recorded, when a document has problems."""
    store, workspace = service.store, service.workspace
    names = [name for name, _ in documents]
    through = {"via": via} if via is not None else {}
    try:
        changed = load_track_documents(documents, service.config.current.registry)
    except ConfigError as error:
        rejected = PreviewRejected(error.problems)
        store.audit(
            actor,
            "tracks.preview_rejected",
            "track",
            change={"documents": names, "problems": rejected.texts, **through},
        )
        raise rejected from None
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
            **through,
        },
    )
    return report
