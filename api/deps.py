"""What routes share: the running service, and bearer-token checks for writes and reads."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scorecard.service.service import Service
from scorecard.workspace import TOKEN_ENV

_bearer = HTTPBearer(auto_error=False, description="The server's API token.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


# Dependencies are async although they do no I/O: FastAPI runs a sync dependency in a
# worker thread, which costs more than the badge it guards.
async def get_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]


def check_token(service: Service, authorization: str | None) -> None:
    """Accept `Authorization: Bearer <the server's token>`; else 401 or 403."""
    scheme, _, token = (authorization or "").partition(" ")
    credentials = (
        HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip())
        if scheme.lower() == "bearer" and token.strip()
        else None
    )
    _check_token(service, credentials)


def _check_token(service: Service, credentials: HTTPAuthorizationCredentials | None) -> None:
    expected = service.workspace.api_token
    if expected is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"writes are disabled: this server has no API token (set {TOKEN_ENV})",
        )
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a bearer token is required: send `Authorization: Bearer <token>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # Constant-time comparison, so the token cannot be guessed by timing.
    if not secrets.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the bearer token is not valid")


async def require_writer(service: ServiceDep, credentials: Credentials) -> None:
    _check_token(service, credentials)


async def require_reader(service: ServiceDep, credentials: Credentials) -> None:
    if not service.workspace.public_reads:
        _check_token(service, credentials)


class TokenBeforeBody(APIRoute):
    """A route that checks the writer's token before it reads the request body.

    FastAPI parses the body before it runs a route's dependencies, so without this a
    request with no token and a malformed body would learn 400 or 422 about the body
    instead of 401. Routes that do not depend on `require_writer` are left as they are.
    """

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handle = super().get_route_handler()
        if not any(d.dependency is require_writer for d in self.dependencies):
            return handle

        async def checked(request: Request) -> Response:
            check_token(request.app.state.service, request.headers.get("authorization"))
            return await handle(request)

        return checked
