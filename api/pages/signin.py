"""Signing in to the pages: the server's API token, kept in a cookie.

The token that writes through the API also lets a person re-run an entity from its
page (and read the pages when `public_reads` is off). It is sent once through a form
and kept in an HttpOnly, SameSite=Strict cookie: scripts cannot read it and other sites
cannot post with it, which is what stands in for a CSRF token on the page forms.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

from fastapi import Request

from scorecard.service.service import Service

COOKIE = "scorecard_token"
MAX_FORM_BYTES = 16_384


class SignInRequired(Exception):
    """Raised by a page that needs the token when the visitor has not signed in."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def is_writer(request: Request, service: Service) -> bool:
    expected = service.workspace.api_token
    given = request.cookies.get(COOKIE)
    if not expected or not given:
        return False
    return secrets.compare_digest(given.encode(), expected.encode())


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
