"""The FastAPI application: the pages (`/`), `/api/v1` (JSON, OpenAPI at `/docs`) and
`/badges`."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool

from api import contract, docs, errors, metrics, pages
from api.deps import require_reader
from api.pages.templating import compile_templates
from api.request_guard import RequestGuard
from api.routes import (
    admin,
    badges,
    campaigns,
    entities,
    exemptions,
    fixes,
    preview,
    pushed,
    registry,
    rollups,
    runs,
    search,
)
from api.schemas import AUTH_RESPONSES
from scorecard.service.service import Service

API_PREFIX = "/api/v1"


def create_app(service: Service, *, manage_service: bool = True) -> FastAPI:
    """The app serving `service`; with `manage_service` its lifespan starts and stops it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_service:
            service.start()
        compile_templates()
        # The overview's counts too, as the templates: its first visitor finds them kept.
        await run_in_threadpool(pages.warm, app)
        # What the process made to start (modules, routes, the configuration) lives as
        # long as it does: frozen, the collector's full passes no longer walk it. Over a
        # store of 100,000 entities one such pass took 90 ms (135,000 objects), the p99
        # of badge requests under load.
        gc.collect()
        gc.freeze()
        try:
            async with mcp.running():  # the MCP server's session manager
                yield
        finally:
            gc.unfreeze()  # what the app made may be collected once it stops
            if manage_service:
                service.stop()

    app = FastAPI(
        title="scorecard",
        summary="Tech-standards scorecards for a software catalog.",
        version="1",
        lifespan=lifespan,
        # Served by `docs` with their assets from this server, not a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.service = service
    app.state.badges = badges.BadgeCache()
    errors.install(app)
    app.add_middleware(RequestGuard)
    # Open reads need no check per request; badges are fetched far more than anything else.
    private = not service.workspace.public_reads
    readers = [Depends(require_reader)] if private else []
    for router in (
        registry.router,
        entities.router,
        runs.router,
        rollups.router,
        exemptions.router,
        campaigns.router,
        search.router,
    ):
        app.include_router(
            router,
            prefix=API_PREFIX,
            dependencies=readers,
            responses=AUTH_RESPONSES if private else None,
        )
    app.include_router(admin.router, prefix=API_PREFIX)
    app.include_router(pushed.router, prefix=API_PREFIX)
    app.include_router(preview.router, prefix=API_PREFIX)
    app.include_router(fixes.router, prefix=API_PREFIX)
    app.include_router(exemptions.audit_router, prefix=API_PREFIX)
    # First in the routing table: badges are fetched far more than anything else, and
    # the router tries each route in turn (after the API's dozens, half a badge
    # request's time went to matching).
    app.router.routes[0:0] = badges.ROUTES
    # The pages check readers themselves: a person who is not signed in is sent to the
    # sign-in form rather than answered 401.
    pages.install(app)
    docs.install(app)
    # The MCP server (`/mcp`), behind the API's tokens; a route rather than a mount, so
    # that `/mcp` itself is its address, with no redirect to `/mcp/`. Imported here: its
    # tools answer through the API's modules, which import this one through `api`.
    from scorecard.mcp.http import McpEndpoint

    mcp = McpEndpoint(service)
    app.router.add_route(McpEndpoint.PATH, mcp, include_in_schema=False)
    contract.install(app, private_reads=private, has_token=bool(service.tokens))
    metrics.install(app, service)
    return app
