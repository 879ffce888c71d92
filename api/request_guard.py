"""Text the server refuses, refused before routing (`RequestGuard`).

A path or query string whose percent-escapes decode to a NUL character or to bytes that
are not UTF-8 (`%00`, `%ED%A0%80`, `%FF`) is refused before any route sees it.
PostgreSQL refuses NUL in text, and Python's decoding would turn the other bytes into
U+FFFD without a word; neither reaches the database.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote_to_bytes

from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

NUL = "holds a NUL character (%00), which the server does not accept"
NOT_UTF8 = "is not UTF-8 text once its percent-escapes are decoded"


class RequestGuard:
    """Pure ASGI middleware around the app, so that no route, mount or 404 is left out.

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
        await self.app(scope, receive, send)


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
