"""Web pages: the scorecards people look at, server-rendered, every asset served here."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import errors
from api.pages.campaign_fixes import router as campaign_fixes_router
from api.pages.exports import router as exports_router
from api.pages.finding import router as finding_router
from api.pages.memo import PageMemo
from api.pages.routes import PageNotFound, router, warm_overview
from api.pages.run_page import router as run_router
from api.pages.signin import SignInRequired
from api.pages.templating import render

STATIC = Path(__file__).parent / "static"
# Paths whose errors stay JSON: what programs read.
_MACHINE_PREFIXES = ("/api/", "/badges/", "/static/")


def install(app: FastAPI) -> None:
    memo = app.state.page_memo = PageMemo()
    service = app.state.service
    # After each run of this server, the overview is counted again before anyone asks.
    service.runs.on_finished.append(partial(warm_overview, memo, service))
    app.include_router(router)
    app.include_router(exports_router)
    app.include_router(finding_router)
    app.include_router(run_router)
    app.include_router(campaign_fixes_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(PageNotFound, _not_found)
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)


def warm(app: FastAPI) -> None:
    """Count the overview as the server starts, before it listens (`warm_overview`)."""
    warm_overview(app.state.page_memo, app.state.service)


async def _not_found(request: Request, error: Exception) -> Response:
    assert isinstance(error, PageNotFound)
    return render(request, "not_found.html", what=error.what, hint=error.hint, status_code=404)


async def _sign_in(request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInRequired)
    return RedirectResponse(f"/signin?next={error.next_path}", status_code=303)


def _for_a_person(request: Request) -> bool:
    """A browser asking for HTML, off the paths programs read."""
    wants_html = "text/html" in request.headers.get("accept", "")
    return wants_html and not request.url.path.startswith(_MACHINE_PREFIXES)


async def _invalid_request(request: Request, error: Exception) -> Response:
    """A page address with a bad query (`?page=0`, an unknown sort) is a 400 page for a
    person; the API keeps its JSON 422."""
    assert isinstance(error, RequestValidationError)
    if not _for_a_person(request):
        return await errors.invalid_request(request, error)
    problems = [
        f"{'.'.join(str(p) for p in item['loc'] if p != 'query')}: {item['msg']}"
        for item in error.errors()
    ]
    return render(
        request,
        "not_found.html",
        heading="Bad request",
        what=f"This address cannot be shown: {'; '.join(problems)}.",
        hint="",
        status_code=400,
    )


async def _http_error(request: Request, error: Exception) -> Response:
    """A 404 for a person is the friendly page; every other error keeps FastAPI's JSON
    `detail`."""
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 404 and _for_a_person(request):
        return render(
            request,
            "not_found.html",
            what=f"There is no page at {request.url.path}.",
            hint="",
            status_code=404,
        )
    return await http_exception_handler(request, error)
