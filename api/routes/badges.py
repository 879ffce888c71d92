"""Badges: `/badges/{kind}/{namespace}/{name}/{track}.svg` and `.json` (shields endpoint).

They carry an ETag and a short Cache-Control, so README renderers and proxies revalidate
cheaply; an unknown entity or track still gets a valid badge saying so, with a 404. The
OpenAPI document describes both (`openapi_paths`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Hashable
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.deps import check_token
from api.schemas import AUTH_RESPONSES, COMMON_RESPONSES, NO_NUL
from scorecard.auth import Role
from scorecard.badges import Badge, draft_badge, level_badge, not_found_badge
from scorecard.service.service import Service

CACHE_CONTROL = "public, max-age=300"


class BadgeCache:
    """Badges by entity and track, for the READMEs that fetch them all day long.

    An entry is valid while no run has finished and the configuration has not been
    reloaded in this process since it was made; `ttl` bounds it too, for runs made by
    another process (`scorecard run` on the same database).

    A badge is looked up once at a time (single flight): requests for a badge already
    being looked up wait for that lookup, and one past its `ttl` is served as it is while
    one request looks it up anew, as the pages' memo does (api/pages/memo.py says why).
    Badge handlers are async and all of this runs on the event loop, so the flights are
    tasks and need no lock; a lookup that raises reaches all its waiters and is not kept.
    """

    def __init__(self, ttl: float = 60.0, size: int = 100_000) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[Hashable, tuple[float, Badge, int]] = {}
        self._flights: dict[Hashable, asyncio.Future[tuple[Badge, int]]] = {}
        self._state: Hashable = None
        self.hits = self.misses = 0  # answered from an entry; waited for a lookup (metrics)

    async def get(
        self,
        state: Hashable,
        key: Hashable,
        look_up: Callable[[], Awaitable[tuple[Badge, int]]],
    ) -> tuple[Badge, int]:
        if state != self._state:
            self._entries.clear()
            self._flights.clear()  # lookups begun before the change are not kept
            self._state = state
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry[0] <= self.ttl:
            self.hits += 1
            return entry[1], entry[2]
        flight = self._flights.get(key)
        if flight is None:
            # A task of its own: a client that hangs up cancels its wait, not the lookup
            # the others wait for.
            flight = self._flights[key] = asyncio.ensure_future(look_up())
            flight.add_done_callback(partial(self._landed, key, time.monotonic()))
        elif entry is not None:
            self.hits += 1
            return entry[1], entry[2]  # stale, while another request looks it up
        self.misses += 1
        return await asyncio.shield(flight)

    def _landed(
        self, key: Hashable, started: float, flight: asyncio.Future[tuple[Badge, int]]
    ) -> None:
        if self._flights.get(key) is not flight:
            return  # a run finished meanwhile
        del self._flights[key]
        if flight.cancelled() or flight.exception() is not None:
            return
        if len(self._entries) >= self.size:
            self._entries.clear()
        badge, status = flight.result()
        self._entries[key] = (started, badge, status)


async def _cached_badge(request: Request) -> tuple[Badge, int]:
    service: Service = request.app.state.service
    if not service.workspace.public_reads:
        check_token(service, request.headers.get("authorization"), Role.READER)
    kind, namespace, name, track = (
        request.path_params[key] for key in ("kind", "namespace", "name", "track")
    )
    cache: BadgeCache = request.app.state.badges
    state = (service.runs.completed, service.config.current.loaded_at)
    key = (kind.lower(), namespace.lower(), name, track)
    # The store is synchronous: look it up off the event loop.
    return await cache.get(
        state, key, partial(run_in_threadpool, _badge, service, kind, namespace, name, track)
    )


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
    if track.draft:
        # Evaluated and stored, but not published: the badge says so, never the level.
        return draft_badge(track), 200
    return level_badge(track, certification.level), 200


def _respond(request: Request, badge: Badge, status: int, body: str, media_type: str) -> Response:
    headers = {"ETag": badge.etag, "Cache-Control": CACHE_CONTROL}
    if status == 200 and badge.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, status_code=status, media_type=media_type, headers=headers)


async def svg_badge(request: Request) -> Response:
    """A flat shields-style SVG: "track | level", coloured by level; "track | draft", grey,
    while the track is a draft."""
    badge, status = await _cached_badge(request)
    return _respond(request, badge, status, badge.svg(), "image/svg+xml")


async def endpoint_badge(request: Request) -> Response:
    """The same badge as shields.io endpoint JSON, to restyle it through shields:
    `https://img.shields.io/endpoint?url=<this url>`."""
    badge, status = await _cached_badge(request)
    return _respond(request, badge, status, json.dumps(badge.endpoint()), "application/json")


# Plain Starlette routes rather than FastAPI's: badges are fetched far more often than
# anything else, and FastAPI's per-request parameter and dependency machinery cost more
# than serving a cached badge. `openapi_paths` describes them by hand.
ROUTES = [
    Route("/badges/{kind}/{namespace}/{name}/{track}.svg", svg_badge, methods=["GET"]),
    Route("/badges/{kind}/{namespace}/{name}/{track}.json", endpoint_badge, methods=["GET"]),
]


def openapi_paths(*, private_reads: bool) -> dict[str, Any]:
    """The badge routes as OpenAPI path items (they are not FastAPI routes, so FastAPI
    does not describe them). Schemas are referenced from `#/components/schemas`."""
    return {
        "/badges/{kind}/{namespace}/{name}/{track}.svg": {
            "get": _operation(
                "svg_badge",
                svg_badge.__doc__ or "",
                "image/svg+xml",
                {"type": "string", "description": "An SVG document."},
                private_reads,
            )
        },
        "/badges/{kind}/{namespace}/{name}/{track}.json": {
            "get": _operation(
                "endpoint_badge",
                endpoint_badge.__doc__ or "",
                "application/json",
                _ref("BadgeEndpointOut"),
                private_reads,
            )
        },
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _operation(
    operation_id: str, description: str, media_type: str, body: dict[str, Any], private: bool
) -> dict[str, Any]:
    segment = {"type": "string", "pattern": NO_NUL}
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": segment}
        for name in ("kind", "namespace", "name", "track")
    ]
    parameters.append(
        {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "description": "The badge's ETag from an earlier answer: 304 while it holds.",
            "schema": {"type": "string"},
        }
    )
    etag = {"ETag": {"required": True, "schema": {"type": "string"}}}
    headers = {**etag, "Cache-Control": {"required": True, "schema": {"type": "string"}}}
    error = {"application/json": {"schema": _ref("ErrorOut")}}
    # A missing entity or track is still a badge; a path that is no badge's is not.
    if media_type == "application/json":
        not_found = {"application/json": {"schema": {"anyOf": [body, _ref("ErrorOut")]}}}
    else:
        not_found = {media_type: {"schema": body}, **error}
    responses: dict[str, Any] = {
        "200": {
            "description": "The badge.",
            "headers": headers,
            "content": {media_type: {"schema": body}},
        },
        "304": {
            "description": "The badge has not changed since `If-None-Match`.",
            "headers": headers,
        },
        "404": {
            "description": "A badge saying the entity or track is unknown.",
            "content": not_found,
        },
        "422": {
            "description": COMMON_RESPONSES[422]["description"],
            "content": {"application/json": {"schema": _ref("InvalidRequestOut")}},
        },
        "500": {"description": COMMON_RESPONSES[500]["description"], "content": error},
        "503": {
            "description": COMMON_RESPONSES[503]["description"],
            "headers": COMMON_RESPONSES[503]["headers"],
            "content": error,
        },
    }
    operation: dict[str, Any] = {
        "tags": ["badges"],
        "operationId": operation_id,
        "description": description,
        "parameters": parameters,
        "responses": responses,
    }
    if private:
        for status, response in AUTH_RESPONSES.items():
            responses[str(status)] = {
                key: value for key, value in response.items() if key != "model"
            } | {"content": error}
        operation["security"] = [{"HTTPBearer": []}]
    return operation
