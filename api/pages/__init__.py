"""Web pages: the scorecards people look at, server-rendered, every asset served here."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.pages.routes import PageNotFound, router
from api.pages.signin import SignInRequired
from api.pages.templating import render

STATIC = Path(__file__).parent / "static"
# Paths whose errors stay JSON: what programs read.
_MACHINE_PREFIXES = ("/api/", "/badges/", "/static/")


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(PageNotFound, _not_found)
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(StarletteHTTPException, _http_error)


async def _not_found(request: Request, error: Exception) -> Response:
    assert isinstance(error, PageNotFound)
    return render(request, "not_found.html", what=error.what, hint=error.hint, status_code=404)


async def _sign_in(request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInRequired)
    return RedirectResponse(f"/signin?next={error.next_path}", status_code=303)


async def _http_error(request: Request, error: Exception) -> Response:
    """A 404 for a person (a browser asking for HTML, off the API) is the friendly page;
    every other error keeps FastAPI's JSON `detail`."""
    assert isinstance(error, StarletteHTTPException)
    wants_html = "text/html" in request.headers.get("accept", "")
    if (
        error.status_code == 404
        and wants_html
        and not request.url.path.startswith(_MACHINE_PREFIXES)
    ):
        return render(
            request,
            "not_found.html",
            what=f"There is no page at {request.url.path}.",
            hint="",
            status_code=404,
        )
    return await http_exception_handler(request, error)
