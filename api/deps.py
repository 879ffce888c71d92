"""What routes share: the running service, and bearer-token checks for writes and reads."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
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
