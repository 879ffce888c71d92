"""Every error is JSON with a `detail` sentence; none carries a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger("scorecard.api")


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(DBAPIError, _database_down)
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


async def _database_down(request: Request, error: Exception) -> JSONResponse:
    log.error("database error on %s %s: %s", request.method, request.url.path, error)
    return JSONResponse(
        {"detail": "the database is unavailable; try again shortly"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "10"},
    )


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse(
        {"detail": "internal error; the server log has the details"},
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
