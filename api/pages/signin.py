"""Signing in to the pages: the server's API token, sent once, opens a session.

The token that writes through the API also lets a person re-run an entity from its
page (and read the pages when `public_reads` is off). It is sent once through a form;
the server answers with a session (`scorecard.store.sessions`) whose random id is kept
in an HttpOnly, SameSite=Strict cookie: scripts cannot read it and other sites cannot
post with it, which is what stands in for a CSRF token on the page forms, together with
the `Origin` check of every page post. The token itself is never in a cookie.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from fastapi import Request, Response

from scorecard.service.service import Service
from scorecard.store import sessions

COOKIE = "scorecard_session"
# Where releases before sessions kept the API token itself: cleared whenever a browser
# that still holds it signs in or out.
TOKEN_COOKIE = "scorecard_token"
# How long a sign-in lasts: a working day, so that a forgotten browser does not stay
# signed in for long.
SESSION_LIFETIME = timedelta(hours=12)
MAX_FORM_BYTES = 16_384


class SignInRequired(Exception):
    """Raised by a page that needs the token when the visitor has not signed in."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def token_matches(service: Service, token: str) -> bool:
    """Whether `token` is the server's API token (compared in constant time)."""
    expected = service.workspace.api_token
    return expected is not None and secrets.compare_digest(token.encode(), expected.encode())


def is_writer(request: Request, service: Service) -> bool:
    """Whether the visitor holds a live session; read once per request (a page asks
    again when it renders)."""
    known: bool | None = getattr(request.state, "writer", None)
    if known is None:
        known = request.state.writer = _has_session(request, service)
    return known


def _has_session(request: Request, service: Service) -> bool:
    token = service.workspace.api_token
    session_id = request.cookies.get(COOKIE)
    if not token or not session_id:
        return False
    fingerprint = sessions.token_fingerprint(token)
    return sessions.lookup(service.store.engine, session_id, fingerprint, datetime.now(UTC))


def start_session(request: Request, service: Service, response: Response) -> None:
    """Sign the visitor in (the caller checked the token): a new session in the cookie.

    Stale sessions go first, expired or of another token, so the table stays the size of
    the sessions in use; so does the one this browser held before, if any.
    """
    token = service.workspace.api_token
    assert token is not None, "start_session without an API token"
    fingerprint = sessions.token_fingerprint(token)
    engine = service.store.engine
    now = datetime.now(UTC)
    sessions.prune(engine, fingerprint, now)
    previous = request.cookies.get(COOKIE)
    if previous:
        sessions.revoke(engine, previous)
    session_id = sessions.create(engine, fingerprint, now, SESSION_LIFETIME)
    response.set_cookie(
        COOKIE,
        session_id,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=int(SESSION_LIFETIME.total_seconds()),
    )
    _forget_token_cookie(request, response)


def end_session(request: Request, service: Service, response: Response) -> None:
    """Sign the visitor out: the session is deleted, so its id opens nothing even if a
    copy of the cookie is replayed; the cookie is cleared."""
    session_id = request.cookies.get(COOKIE)
    if session_id:
        sessions.revoke(service.store.engine, session_id)
    response.delete_cookie(
        COOKIE, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    _forget_token_cookie(request, response)


def _forget_token_cookie(request: Request, response: Response) -> None:
    if TOKEN_COOKIE in request.cookies:
        response.delete_cookie(TOKEN_COOKIE)


def require_reader(request: Request, service: Service) -> None:
    if not service.workspace.public_reads and not is_writer(request, service):
        raise SignInRequired(request.url.path)


def safe_next(path: str | None) -> str:
    """A path on this site to go back to; anything else (another host) is `/`."""
    if not path:
        return "/"
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or path.startswith("//"):
        return "/"
    return path


async def read_form(request: Request) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body, first value of each field."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def same_origin(request: Request) -> bool:
    """A form post from one of this server's own pages: browsers send `Origin` on POST;
    a post without one (an old browser, a script) is judged by the cookie alone."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc == host
