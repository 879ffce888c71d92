"""Badges: `/badges/{kind}/{namespace}/{name}/{track}.svg` and `.json` (shields endpoint).

They carry an ETag and a short Cache-Control, so README renderers and proxies revalidate
cheaply; an unknown entity or track still gets a valid badge saying so, with a 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.deps import ServiceDep
from scorecard.badges import Badge, level_badge, not_found_badge

router = APIRouter(tags=["badges"])

CACHE_CONTROL = "public, max-age=300"


def _badge(
    service: ServiceDep, kind: str, namespace: str, name: str, track_id: str
) -> tuple[Badge, int]:
    track = service.config.current.track(track_id)
    if track is None:
        return not_found_badge(track_id, "unknown track"), 404
    ref = f"{kind.lower()}:{namespace.lower()}/{name}"
    certification = service.store.certification(ref, track_id)
    if certification is None:
        stored = service.store.entity(ref)
        if stored is not None:
            certification = service.store.certification(stored.ref, track_id)
    if certification is None:
        return not_found_badge(track_id, "not evaluated"), 404
    return level_badge(track, certification.level), 200


def _respond(request: Request, badge: Badge, status: int, body: str, media_type: str) -> Response:
    headers = {"ETag": badge.etag, "Cache-Control": CACHE_CONTROL}
    if status == 200 and badge.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, status_code=status, media_type=media_type, headers=headers)


@router.get(
    "/badges/{kind}/{namespace}/{name}/{track}.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, 304: {}, 404: {}},
)
def svg_badge(
    kind: str, namespace: str, name: str, track: str, request: Request, service: ServiceDep
) -> Response:
    """A flat shields-style SVG: "track | level", coloured by level."""
    badge, status = _badge(service, kind, namespace, name, track)
    return _respond(request, badge, status, badge.svg(), "image/svg+xml")


@router.get(
    "/badges/{kind}/{namespace}/{name}/{track}.json",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}, 304: {}, 404: {}},
)
def endpoint_badge(
    kind: str, namespace: str, name: str, track: str, request: Request, service: ServiceDep
) -> Response:
    """The same badge as shields.io endpoint JSON, to restyle it through shields:
    `https://img.shields.io/endpoint?url=<this url>`."""
    import json

    badge, status = _badge(service, kind, namespace, name, track)
    return _respond(request, badge, status, json.dumps(badge.endpoint()), "application/json")
