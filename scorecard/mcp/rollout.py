"""The rollout preview tool's answer: what new or changed tracks would do to the stored
catalog, as `POST /api/v1/tracks/preview` answers it, and recorded in the audit log the
same way."""

from __future__ import annotations

from collections.abc import Sequence

from mcp.server.mcpserver.exceptions import ToolError

from api.routes.preview import PreviewOut
from scorecard.service.preview import PreviewRejected, preview_documents
from scorecard.service.service import Service


def document_names(count: int) -> list[str]:
    """What problems call the documents: `track 1`, `track 2`…"""
    return [f"track {number}" for number in range(1, count + 1)]


def preview_rollout(service: Service, actor: str, documents: Sequence[str]) -> PreviewOut:
    """Evaluate the track documents on the stored entities and compare each entity with
    its stored level; nothing is stored but the audit log's row, which names `actor`."""
    names = document_names(len(documents))
    try:
        report = preview_documents(
            service, actor, list(zip(names, documents, strict=True)), via="mcp"
        )
    except PreviewRejected as error:
        raise ToolError(str(error)) from None
    return PreviewOut.model_validate(report.as_json())
