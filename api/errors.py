"""Every error is JSON with a `detail` sentence; none carries a traceback."""

from __future__ import annotations

import logging
import re
import sqlite3
import traceback
from collections.abc import Iterable
from functools import cache
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

try:
    from fastapi.routing import iter_route_contexts
except ImportError:  # before FastAPI 0.16x an included router's routes were listed flat

    def iter_route_contexts(routes: Iterable[Any]) -> Iterable[Any]:  # type: ignore[misc]
        return routes


log = logging.getLogger("scorecard.api")

RETRY_AFTER_SECONDS = 10
DATABASE_DOWN = "the database is unavailable; try again shortly"
INTERNAL_ERROR = "internal error; the server log has the details"

_SQLITE_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: a request
# must not be able to end a log line or write a terminal escape into the log.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """`text` with its control characters written as escapes (`\\x00`, `\\n`), for logs."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, invalid_request)
    # A status handler goes before any handler of HTTPException, the pages' included.
    app.add_exception_handler(status.HTTP_405_METHOD_NOT_ALLOWED, _method_not_allowed)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeout, _database_error)
    app.add_exception_handler(Exception, _unexpected)


async def invalid_request(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"] if part != "body")
        problems.append(f"{where}: {item['msg']}")
    return JSONResponse(
        {"detail": "; ".join(problems) or "invalid request", "errors": problems},
        status_code=422,
    )


async def _method_not_allowed(request: Request, error: Exception) -> JSONResponse:
    """405 with `Allow` naming the methods of every route of the path: the router names
    only those of the first route that matched (`GET` and `POST /api/v1/runs` are two)."""
    assert isinstance(error, HTTPException)
    methods = _methods(request)
    headers = {"Allow": ", ".join(methods)} if methods else error.headers
    return JSONResponse({"detail": error.detail}, status_code=405, headers=headers)


def _methods(request: Request) -> list[str]:
    path = request.scope["path"].removeprefix(request.scope.get("root_path", ""))
    methods: set[str] = set()
    concrete: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        template, route_methods = getattr(route, "path", None), getattr(route, "methods", None)
        if template and route_methods and _pattern(template).match(path):
            methods |= route_methods
            if "{" not in template:
                concrete |= route_methods
    # As OpenAPI matches paths: a concrete path (`/tracks/preview`) before a template that
    # also matches it (`/tracks/{track_id}`), so that `Allow` says what the document does.
    return sorted(concrete or methods)


@cache
def _pattern(template: str) -> re.Pattern[str]:
    return compile_path(template)[0]


def database_unreachable(error: Exception) -> bool:
    """Whether `error` says the database cannot be reached, which a retry may mend: no
    connection could be opened (refused, shut down, too many clients), one was lost
    mid-statement, none was free in the pool, or SQLite's lock stayed taken past the busy
    timeout. Any other driver error (bad data, a broken query, a constraint) is a bug."""
    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if isinstance(error, OperationalError | InterfaceError) and error.statement is None:
        return True  # raised on connect: there was no statement yet
    # The primary code: SQLite reports extended ones (SQLITE_BUSY_SNAPSHOT is 517).
    return (getattr(error.orig, "sqlite_errorcode", 0) & 0xFF) in _SQLITE_BUSY


async def _database_error(request: Request, error: Exception) -> JSONResponse:
    where = f"{request.method} {printable(request.url.path)}"
    if not database_unreachable(error):
        return await _unexpected(request, error)
    log.error("database unavailable on %s: %s", where, printable(str(error)))
    return JSONResponse(
        {"detail": DATABASE_DOWN},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    # The frames of the traceback are source lines; only the error's own text may quote
    # the request, so it alone is escaped.
    frames = "".join(traceback.format_tb(error.__traceback__)).rstrip()
    log.error(
        "unexpected error on %s %s: %s\nTraceback (most recent call last):\n%s",
        request.method,
        printable(request.url.path),
        printable(repr(error)),
        frames,
    )
    return JSONResponse(
        {"detail": INTERNAL_ERROR}, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR
    )
