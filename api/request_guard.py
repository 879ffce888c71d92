"""What every request goes through before and after routing (`RequestGuard`).

A path or query string whose percent-escapes decode to a NUL character or to bytes that
are not UTF-8 (`%00`, `%ED%A0%80`, `%FF`) is refused before any route sees it.
PostgreSQL refuses NUL in text, and Python's decoding would turn the other bytes into
U+FFFD without a word; neither reaches the database.

A 405 names every method the path serves in `Allow`, not only those of the first route
that matched it (`GET` and `POST /api/v1/runs` are two routes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

try:
    from fastapi.routing import iter_route_contexts
except ImportError:  # before FastAPI 0.16x an included router's routes were listed flat

    def iter_route_contexts(routes: Iterable[Any]) -> Iterable[Any]:  # type: ignore[misc]
        return routes


NUL = "holds a NUL character (%00), which the server does not accept"
NOT_UTF8 = "is not UTF-8 text once its percent-escapes are decoded"


class RequestGuard:
    """Pure ASGI middleware around the app: refuses unreadable text, fixes `Allow`.

    A request with unreadable text in its path or query is answered like any request
    with an invalid parameter, by the app's handler of validation errors: the API and
    badges answer JSON 422, a page its HTML 400 page.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Without a `%` there is nothing to decode: the request line is printable ASCII
        # (the HTTP server refuses anything else). Badges take this path at the cost of
        # two substring tests.
        raw_path = scope.get("raw_path") or b""
        if b"%" in raw_path or b"%" in scope["query_string"]:
            problems = unreadable(raw_path, scope["query_string"])
            if problems:
                request = Request(scope, receive)
                handler = scope["app"].exception_handlers[RequestValidationError]
                response = await handler(request, RequestValidationError(problems))
                await response(scope, receive, send)
                return
        # A GET is refused only on a path without a GET route, and each such path here
        # has a single route, whose own `Allow` is right: GETs (badges above all) go
        # without the wrapper.
        if scope["method"] == "GET":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allow = ", ".join(_methods(scope)).encode("latin-1")
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message = {**message, "headers": [*headers, (b"allow", allow)]}
            await send(message)

        await self.app(scope, receive, send_with_allow)


def unreadable(raw_path: bytes, query_string: bytes) -> list[dict[str, object]]:
    """Validation errors (FastAPI's shape) for the parts of a request that decode to
    text the server refuses; empty when all of it is readable."""
    problems: list[dict[str, object]] = []
    path_problem = _problem(unquote_to_bytes(raw_path))
    if path_problem:
        problems.append(_error(("path",), path_problem))
    # latin-1 keeps every byte as one character, so the decoded bytes can be judged.
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    for name, value in pairs:
        shown = name.encode("latin-1").decode("utf-8", "backslashreplace").replace("\x00", "\\x00")
        problem = _problem(name.encode("latin-1"), "its name ") or _problem(value.encode("latin-1"))
        if problem:
            problems.append(_error(("query", shown), problem))
    return problems


def _problem(data: bytes, subject: str = "") -> str | None:
    if b"\x00" in data:
        return subject + NUL
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return subject + NOT_UTF8
    return None


def _error(loc: tuple[str, ...], message: str) -> dict[str, object]:
    return {"type": "unreadable_text", "loc": loc, "msg": message, "input": None}


def _methods(scope: Scope) -> list[str]:
    """The methods of every route whose path template matches the request's path."""
    path = scope["path"].removeprefix(scope.get("root_path", ""))
    methods: set[str] = set()
    for route in iter_route_contexts(scope["app"].router.routes):
        template, route_methods = getattr(route, "path", None), getattr(route, "methods", None)
        if template and route_methods and _pattern(template).match(path):
            methods |= route_methods
    return sorted(methods)


@cache
def _pattern(template: str) -> re.Pattern[str]:
    return compile_path(template)[0]
