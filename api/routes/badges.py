"""Badges: `/badges/{kind}/{namespace}/{name}/{track}.svg` and `.json` (shields endpoint).

They carry an ETag and a short Cache-Control, so README renderers and proxies revalidate
cheaply; an unknown entity or track still gets a valid badge saying so, with a 404.
"""

from __future__ import annotations

import json
import time
from collections.abc import Hashable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.deps import check_token
from scorecard.badges import Badge, level_badge, not_found_badge
from scorecard.service.service import Service

CACHE_CONTROL = "public, max-age=300"


class BadgeCache:
    """Badges by entity and track, for the READMEs that fetch them all day long.

    An entry is valid while no run has finished and the configuration has not been
    reloaded in this process since it was made; `ttl` bounds it too, for runs made by
    another process (`scorecard run` on the same database).
    """

    def __init__(self, ttl: float = 60.0, size: int = 100_000) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[Hashable, tuple[float, Badge, int]] = {}
        self._state: Hashable = None

    def get(self, state: Hashable, key: Hashable) -> tuple[Badge, int] | None:
        if state != self._state:
            self._entries.clear()
            self._state = state
            return None
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[1], entry[2]

    def put(self, state: Hashable, key: Hashable, badge: Badge, status: int) -> None:
        if state != self._state or len(self._entries) >= self.size:
            self._entries.clear()
            self._state = state
        self._entries[key] = (time.monotonic(), badge, status)


async def _cached_badge(request: Request) -> tuple[Badge, int]:
    service: Service = request.app.state.service
    if not service.workspace.public_reads:
        check_token(service, request.headers.get("authorization"))
    kind, namespace, name, track = (
        request.path_params[key] for key in ("kind", "namespace", "name", "track")
    )
    cache: BadgeCache = request.app.state.badges
    state = (service.runs.completed, service.config.current.loaded_at)
    key = (kind.lower(), namespace.lower(), name, track)
    hit = cache.get(state, key)
    if hit is not None:
        return hit
    # The store is synchronous: look it up off the event loop.
    badge, status = await run_in_threadpool(_badge, service, kind, namespace, name, track)
    cache.put(state, key, badge, status)
    return badge, status


def _badge(
    service: Service, kind: str, namespace: str, name: str, track_id: str
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


async def svg_badge(request: Request) -> Response:
    """A flat shields-style SVG: "track | level", coloured by level."""
    badge, status = await _cached_badge(request)
    return _respond(request, badge, status, badge.svg(), "image/svg+xml")


async def endpoint_badge(request: Request) -> Response:
    """The same badge as shields.io endpoint JSON, to restyle it through shields:
    `https://img.shields.io/endpoint?url=<this url>`."""
    badge, status = await _cached_badge(request)
    return _respond(request, badge, status, json.dumps(badge.endpoint()), "application/json")


# Plain Starlette routes rather than FastAPI's: badges are fetched far more often than
# anything else, and FastAPI's per-request parameter and dependency machinery cost more
# than serving a cached badge. They are images, not API, so they stay out of OpenAPI.
ROUTES = [
    Route("/badges/{kind}/{namespace}/{name}/{track}.svg", svg_badge, methods=["GET"]),
    Route("/badges/{kind}/{namespace}/{name}/{track}.json", endpoint_badge, methods=["GET"]),
]
