"""What routes share: the running service, and bearer tokens with roles.

A route that writes depends on `require(Role.X)`: it answers 401 without a token, 403 for
a token it does not know or whose role is below X, and otherwise records who asked
(`request.state.principal`: the token's name and role, never the token).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scorecard.auth import Principal, Role
from scorecard.service.service import Service
from scorecard.workspace import TOKEN_ENV

log = logging.getLogger("scorecard.api")

_bearer = HTTPBearer(auto_error=False, description="An API token (see `tokens:`).")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


# Dependencies are async although they do no I/O: FastAPI runs a sync dependency in a
# worker thread, which costs more than the badge it guards.
async def get_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]


def check_token(service: Service, authorization: str | None, role: Role) -> Principal:
    """The principal of `Authorization: Bearer <token>` if its role reaches `role`; else
    401 or 403."""
    scheme, _, token = (authorization or "").partition(" ")
    credentials = (
        HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip())
        if scheme.lower() == "bearer" and token.strip()
        else None
    )
    return _check_token(service, credentials, role)


def _check_token(
    service: Service, credentials: HTTPAuthorizationCredentials | None, role: Role
) -> Principal:
    if not service.tokens:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"writes are disabled: this server has no API token (set {TOKEN_ENV}, "
            "or list tokens under `tokens:` in scorecard.yaml)",
        )
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a bearer token is required: send `Authorization: Bearer <token>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = service.tokens.authenticate(credentials.credentials)
    if principal is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the bearer token is not valid")
    if not principal.may(role):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"token {principal.name!r} is a {principal.role}; this needs a {role} token",
        )
    return principal


def require(role: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets through tokens of `role` and above, and gives the route
    their principal."""

    async def dependency(
        request: Request, service: ServiceDep, credentials: Credentials
    ) -> Principal:
        principal = _check_token(service, credentials, role)
        request.state.principal = principal
        return principal

    dependency.role = role  # type: ignore[attr-defined]  # found by `TokenBeforeBody`
    dependency.__name__ = f"require_{role}"
    return dependency


require_runner = require(Role.RUNNER)
require_admin = require(Role.ADMIN)
Runner = Annotated[Principal, Depends(require_runner)]
Admin = Annotated[Principal, Depends(require_admin)]


async def require_reader(service: ServiceDep, credentials: Credentials) -> None:
    if not service.workspace.public_reads:
        _check_token(service, credentials, Role.READER)


def _required_role(dependant: Dependant) -> Role | None:
    """The highest role any dependency of the route asks for."""
    found: Role | None = None
    for dependency in dependant.dependencies:
        role: Any = getattr(dependency.call, "role", None)
        inner = _required_role(dependency)
        for candidate in (role, inner):
            if candidate is not None and (found is None or candidate.allows(found)):
                found = candidate
    return found


class TokenBeforeBody(APIRoute):
    """A route that checks the token's role before it reads the request body.

    FastAPI parses the body before it runs a route's dependencies, so without this a
    request with no token and a malformed body would learn 400 or 422 about the body
    instead of 401. Routes that need no role are left as they are.
    """

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handle = super().get_route_handler()
        role = _required_role(self.dependant)
        if role is None:
            return handle

        async def checked(request: Request) -> Response:
            check_token(request.app.state.service, request.headers.get("authorization"), role)
            return await handle(request)

        return checked
