"""`GET /metrics` (Prometheus' text format), and the middleware that counts every request.

The metrics themselves are the service's (scorecard/metrics.py); this module serves them
and feeds them what only the HTTP side sees: requests and the badge cache.

`/metrics` is a read like any other: open when reads are public, else it needs the API
token, which Prometheus sends with `authorization: {credentials: ...}` (or
`bearer_token_file`) in its scrape config. There is no setting to open it alone: the
metrics name tracks, checks and how they fail, which a private server keeps private.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import check_token
from scorecard.auth import Role
from scorecard.metrics import CONTENT_TYPE, Metrics
from scorecard.service.service import Service

# The route label of a request no route serves: raw paths would let any client create
# series without bound.
UNMATCHED = "unmatched"
# Likewise for methods: anything else is `other`.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def install(app: FastAPI, service: Service) -> None:
    """Serve `/metrics` and count every request of `app` in the service's metrics."""
    service.metrics.watch_badges(app.state.badges)
    service.metrics.watch_tracks(lambda: service.config.current.tracks)
    app.router.routes.append(Route("/metrics", metrics, methods=["GET"]))
    app.add_middleware(RequestMetrics, metrics=service.metrics, routes=app.router.routes)


async def metrics(request: Request) -> Response:
    service: Service = request.app.state.service
    if not service.workspace.public_reads:
        check_token(service, request.headers.get("authorization"), Role.READER)
    # Collecting reads the store, which is synchronous: off the event loop.
    body = await run_in_threadpool(service.metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE)


class RequestMetrics:
    """Pure ASGI middleware: each request counted by route template, method and status,
    and its duration observed by route template and method.

    The router leaves what it matched in the scope, and its template is looked up once
    per route: a few microseconds a request in all, on the badge route too.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: list[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes  # the app's own list: routes added later are found too
        self._templates: dict[int, str] = {}  # id of the route or endpoint → template
        # (route, method, status) → the counter's and histogram's children: labels() takes
        # a lock and validates its values, once per series rather than per request.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # An exception that ends the request before a response started becomes a 500
        # (ServerErrorMiddleware, outside this one, sends it).
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            key = (self._template(scope), method, status)
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = (
                    self.metrics.http_requests.labels(key[0], method, str(status)),
                    self.metrics.http_duration.labels(key[0], method),
                )
            series[0].inc()
            series[1].observe(time.perf_counter() - started)

    def _template(self, scope: Scope) -> str:
        # FastAPI's routes leave themselves in the scope; plain Starlette routes and
        # mounts (badges, /metrics, static files) only their endpoint.
        matched = scope.get("route") or scope.get("endpoint")
        if matched is None:
            return UNMATCHED
        template = self._templates.get(id(matched))
        if template is None:
            template = self._templates[id(matched)] = self._find(scope, matched)
        return template

    def _find(self, scope: Scope, matched: Any) -> str:
        if isinstance(matched, BaseRoute):
            # A route of an included router knows its path below the router's prefix
            # only; the prefix is what precedes the part of the path the route matched.
            path = scope["path"]
            for index, char in enumerate(path):
                if char == "/" and matched.path_regex.match(path[index:]):
                    return path[:index] + matched.path_format
            return matched.path_format
        for route in self.routes:
            if isinstance(route, Route | Mount) and matched in (
                getattr(route, "endpoint", None),
                getattr(route, "app", None),
            ):
                return route.path_format
        return UNMATCHED
