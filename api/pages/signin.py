"""Signing in to the pages: an API token, sent once, opens a session.

A person signs in with a token the server accepts and acts with its role: a runner or
admin may re-run an entity and request exemptions, an admin may approve them, any
token reads the pages when `public_reads` is off. It is sent once through a form;
the server answers with a session (`scorecard.store.sessions`) whose random id is kept
in an HttpOnly, SameSite=Strict cookie: scripts cannot read it and other sites cannot
post with it, which is what stands in for a CSRF token on the page forms, together with
the `Origin` check of every page post. The token itself is never in a cookie.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from fastapi import Request, Response

from scorecard.auth import Principal, Role
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


def token_principal(service: Service, token: str) -> Principal | None:
    """Whose API token `token` is, if the server accepts it (compared in constant time)."""
    return service.tokens.authenticate(token) if token else None


def signed_in(request: Request, service: Service) -> Principal | None:
    """Who holds the visitor's live session, if anyone; read once per request (a page
    asks again when it renders)."""
    if not hasattr(request.state, "visitor"):
        request.state.visitor = _session_principal(request, service)
    return request.state.visitor


def is_writer(request: Request, service: Service) -> bool:
    """Whether the visitor may start runs and request exemptions (a runner or admin)."""
    visitor = signed_in(request, service)
    return visitor is not None and visitor.may(Role.RUNNER)


def is_admin(request: Request, service: Service) -> bool:
    visitor = signed_in(request, service)
    return visitor is not None and visitor.may(Role.ADMIN)


def _session_principal(request: Request, service: Service) -> Principal | None:
    session_id = request.cookies.get(COOKIE)
    if not service.tokens or not session_id:
        return None
    return sessions.lookup(
        service.store.engine, session_id, service.token_fingerprints, datetime.now(UTC)
    )


def start_session(request: Request, service: Service, response: Response, token: str) -> None:
    """Sign the visitor in with `token` (the caller checked it): a new session in the
    cookie.

    Stale sessions go first, expired or of a token no longer accepted, so the table stays
    the size of the sessions in use; so does the one this browser held before, if any.
    """
    fingerprint = sessions.token_fingerprint(token)
    engine = service.store.engine
    now = datetime.now(UTC)
    sessions.prune(engine, service.token_fingerprints, now)
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
    if not service.workspace.public_reads and signed_in(request, service) is None:
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
