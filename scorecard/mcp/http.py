"""The MCP server over streamable HTTP, at `/mcp` of `scorecard serve`, behind the API's
tokens and roles.

Every request is checked before the SDK sees it, as the API checks its routes: when reads
are private, a request without a token is answered 401 and one whose token is unknown
403; a call of an admin tool needs an admin token, whether reads are private or not. A
refusal is JSON with the API's `detail` and a JSON-RPC `error` carrying the same
sentence, which MCP clients show as the call's error.

The SDK runs stateless, answering each POST with JSON: every tool is one question and
its answer, so no session is kept between requests and any process of the server can
answer any request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from fastapi import HTTPException
from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import (
    DEFAULT_MAX_REQUEST_BODY_SIZE,
    TransportSecuritySettings,
)
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from api.deps import check_token
from scorecard.auth import Principal, Role
from scorecard.mcp.server import ADMIN_TOOLS, PRINCIPAL_KEY, build_server
from scorecard.service.service import Service

# JSON-RPC leaves -32000 to -32099 to servers; this one says the request was refused.
REFUSED = -32001


class McpEndpoint:
    """The ASGI app at `/mcp`: checks the bearer token, then hands the request to the
    SDK's session manager, which runs while the app does (`running`)."""

    PATH = "/mcp"

    def __init__(self, service: Service) -> None:
        self.service = service
        self.server: MCPServer = build_server(service, local=False)
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Serve while the block runs: the app's lifespan. A session manager runs once,
        so each lifespan makes its own."""
        # Any host name may reach the server, as it may reach the API; what DNS
        # rebinding would exploit, a browser's request from another origin, is refused
        # in `__call__` instead.
        self.server.streamable_http_app(
            stateless_http=True,
            json_response=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        manager = self.server.session_manager
        # Stateless, the transport logs "Terminating session: None" at INFO for every
        # request; the access log already has a line for it.
        logging.getLogger("mcp.server.streamable_http").setLevel(logging.WARNING)
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A route: only HTTP requests reach it.
        if self._manager is None:
            await _refuse(
                scope,
                receive,
                send,
                HTTPStatus.SERVICE_UNAVAILABLE,
                "the MCP server is not running",
            )
            return
        headers = Headers(scope=scope)
        if _cross_origin(headers, self.service.workspace.public_url):
            await _refuse(
                scope, receive, send, HTTPStatus.FORBIDDEN,
                "requests from another origin are refused",
            )  # fmt: skip
            return
        authorization = headers.get("authorization")
        try:
            # As the API's routes do, the token is checked before the body is read.
            principal = self._reader(authorization)
        except HTTPException as refusal:
            await _refuse_for(refusal, scope, receive, send)
            return
        body = b""
        if scope["method"] == "POST":
            read = await _read_body(receive, DEFAULT_MAX_REQUEST_BODY_SIZE)
            if read is None:
                await _refuse(
                    scope, receive, send, HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    f"a request body may hold at most {DEFAULT_MAX_REQUEST_BODY_SIZE} bytes",
                )  # fmt: skip
                return
            body = read
        messages = _messages(body)
        if any(_calls_admin_tool(m) for m in messages):
            try:
                principal = check_token(self.service, authorization, Role.ADMIN)
            except HTTPException as refusal:
                await _refuse_for(refusal, scope, receive, send, _request_id(messages))
                return
        # The tools find the principal here (the preview checks it again).
        scope = {**scope, PRINCIPAL_KEY: principal}
        await self._manager.handle_request(scope, _replay(body, receive), send)

    def _reader(self, authorization: str | None) -> Principal | None:
        """The principal of the request's token when reads are private (and it is a
        reader's at least); None when they are public, where no token is looked at, as
        the API's public reads look at none."""
        if self.service.workspace.public_reads:
            return None
        return check_token(self.service, authorization, Role.READER)


def _messages(body: bytes) -> list[dict[str, Any]]:
    """The JSON-RPC messages of a POST body (one, or a batch); none for a body that is
    not JSON, which the SDK answers with its own error."""
    try:
        parsed = json.loads(body) if body else None
    except (ValueError, RecursionError):
        return []
    items = parsed if isinstance(parsed, list) else [parsed]
    return [item for item in items if isinstance(item, dict)]


def _calls_admin_tool(message: dict[str, Any]) -> bool:
    params = message.get("params")
    return (
        message.get("method") == "tools/call"
        and isinstance(params, dict)
        and params.get("name") in ADMIN_TOOLS
    )


def _request_id(messages: list[dict[str, Any]]) -> str | int | None:
    found = messages[0].get("id") if len(messages) == 1 else None
    return found if isinstance(found, str | int) and not isinstance(found, bool) else None


def _cross_origin(headers: Headers, public_url: str | None) -> bool:
    """A browser's request from a page of another site: its `Origin` is neither the
    host the request came to nor the public URL. Clients that are not browsers send no
    `Origin`."""
    origin = headers.get("origin")
    if origin is None:
        return False
    netloc = urlsplit(origin).netloc.lower()
    allowed = {headers.get("host", "").lower()}
    if public_url:
        allowed.add(urlsplit(public_url).netloc.lower())
    return netloc not in allowed


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None once it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away; the SDK will see nothing to answer
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` as if the body had not been read yet."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _refuse_for(
    refusal: HTTPException,
    scope: Scope,
    receive: Receive,
    send: Send,
    request_id: str | int | None = None,
) -> None:
    await _refuse(
        scope, receive, send, refusal.status_code, str(refusal.detail),
        headers=refusal.headers, request_id=request_id,
    )  # fmt: skip


async def _refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    status_code: int,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    request_id: str | int | None = None,
) -> None:
    response = JSONResponse(
        {
            "detail": detail,
            "jsonrpc": "2.0",
            "id": request_id,
            "error": {"code": REFUSED, "message": detail},
        },
        status_code=status_code,
        headers=headers,
    )
    await response(scope, receive, send)
