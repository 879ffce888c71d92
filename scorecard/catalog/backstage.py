"""The Backstage catalog source: entities read from a Backstage backend over HTTP.

It pages through `GET {base}/api/catalog/entities/by-query` with the cursor Backstage
returns (`pageInfo.nextCursor`) until there is none. Connection errors, 5xx and 429 are
retried with exponential backoff, honouring `Retry-After`. A listing that fails half way
is returned with what was read and `complete=False`, so that nothing downstream mistakes
a partial listing for "these entities disappeared"; a catalog that cannot be read at all
raises `CatalogUnavailable`. The token is sent as a bearer token and never appears in a
message.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from scorecard.catalog.files import CatalogListing
from scorecard.catalog.safe_yaml import measure_data, parse_json
from scorecard.entity import Entity, InvalidEntity
from scorecard.filters import EntityFilter
from scorecard.problems import ConfigError, Problem

if TYPE_CHECKING:
    import httpx

    from scorecard.tracks import Track

ENDPOINT = "/api/catalog/entities/by-query"
DEFAULT_TOKEN_ENV = "BACKSTAGE_TOKEN"
MAX_DELAY = 60.0  # seconds: the longest wait between attempts, Retry-After included
_BACKOFF = 0.5  # seconds before the first retry; doubled for each further one


class BackstageSource(BaseModel):
    """A `catalog:` entry naming a Backstage backend instead of files."""

    model_config = ConfigDict(extra="forbid")

    backstage: str = Field(description="Base URL of the Backstage backend, e.g. https://bs:7007.")
    token_env: str = Field(
        DEFAULT_TOKEN_ENV, description="Environment variable holding the token; it wins."
    )
    token: str | None = Field(None, repr=False, description="The token, if not in the env.")
    page_size: int = Field(500, ge=1, le=10000, description="Entities per request.")
    timeout: float = Field(30.0, gt=0, description="Seconds before a request gives up.")
    retries: int = Field(4, ge=0, le=10, description="Retries of a page after 5xx, 429, no answer.")

    def resolved_token(self) -> str | None:
        return os.environ.get(self.token_env) or self.token


class CatalogUnavailable(ConfigError):
    """Not one page of the catalog could be read (a bad token, a wrong URL, a dead server)."""


def read_backstage(
    base_url: str,
    token: str | None,
    *,
    filters: Sequence[str] | None = None,
    fields: Sequence[str] | None = None,
    page_size: int = 500,
    timeout: float = 30,
    retries: int = 4,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_failure: Callable[[str], None] | None = None,
) -> CatalogListing:
    """Every entity the catalog lists (matching `filters`, Backstage `filter` strings
    OR'ed together), page by page.

    Raises `CatalogUnavailable` when the first page cannot be read; a later page that
    cannot be read ends the listing with `complete=False` and a problem naming the URL
    and the status.
    """
    import httpx  # here: the workspace imports this module, and most never list Backstage

    base = base_url.rstrip("/")
    url = base + ENDPOINT
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    params: list[tuple[str, str | int]] = [("limit", page_size)]
    params += [("filter", f) for f in filters or ()]
    if fields:
        params.append(("fields", ",".join(fields)))
    entities: list[Entity] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    cursor: str | None = None
    pages = 0
    with httpx.Client(headers=headers, timeout=timeout, transport=transport) as client:
        while True:
            page_params = params if cursor is None else [*params, ("cursor", cursor)]
            try:
                body = _get_page(client, url, page_params, retries, sleep)
            except _PageError as error:
                if on_failure is not None:
                    on_failure("backstage")  # a page that could not be read, retries spent
                problem = Problem(url, str(error))
                if pages == 0:
                    raise CatalogUnavailable([problem]) from None
                problems.append(
                    Problem(url, f"{error}; the listing stopped after {len(entities)} entities")
                )
                return CatalogListing(entities, problems, complete=False)
            pages += 1
            for index, item in enumerate(body.get("items") or (), 1):
                _add(entities, problems, seen, base, item, pages, index)
            page_info = body.get("pageInfo")
            cursor = page_info.get("nextCursor") if isinstance(page_info, dict) else None
            cursor = cursor if isinstance(cursor, str) else None
            if not cursor:
                return CatalogListing(entities, problems)


class _PageError(Exception):
    pass


def _get_page(
    client: httpx.Client,
    url: str,
    params: list[tuple[str, str | int]],
    retries: int,
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    import httpx

    for attempt in range(retries + 1):
        last = attempt == retries
        try:
            response = client.get(url, params=params)
        except httpx.TransportError as error:
            if last:
                kind = type(error).__name__
                raise _PageError(f"cannot be read: {kind} after {retries + 1} attempts") from None
            sleep(_backoff(attempt))
            continue
        status = response.status_code
        if status == 429 or status >= 500:
            if last:
                raise _PageError(_status_message(response, f" after {retries + 1} attempts"))
            sleep(_retry_after(response) or _backoff(attempt))
            continue
        if status != 200:
            raise _PageError(_status_message(response))
        try:
            # Catalog data is untrusted: a huge number spoils its entity, not the page.
            body = parse_json(response.content)
        except ValueError:
            raise _PageError("answered 200 with a body that is not JSON") from None
        except RecursionError:
            raise _PageError("answered 200 with JSON nested too deeply to read") from None
        if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
            raise _PageError("answered 200 without an `items` list; is this a Backstage backend?")
        return body
    raise AssertionError("unreachable")  # pragma: no cover


def _status_message(response: httpx.Response, suffix: str = "") -> str:
    hint = {
        401: " (the token is missing or not accepted)",
        403: " (the token may not read the catalog)",
        404: " (is this the Backstage backend's base URL?)",
    }.get(response.status_code, "")
    return f"cannot be read: HTTP {response.status_code}{hint}{suffix}"


def _backoff(attempt: int) -> float:
    return min(_BACKOFF * 2**attempt, MAX_DELAY)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None  # absent, or an HTTP date: the exponential backoff applies
    return min(max(seconds, 0.0), MAX_DELAY)


def _add(
    entities: list[Entity],
    problems: list[Problem],
    seen: set[str],
    base: str,
    item: Any,
    page: int,
    index: int,
) -> None:
    where = f"{base}{ENDPOINT}"
    if not isinstance(item, dict):
        problems.append(Problem(where, f"page {page} item {index} is not an entity"))
        return
    refusal = measure_data(item)
    if refusal is not None:
        problems.append(Problem(where, f"page {page} item {index} is not read: {refusal}"))
        return
    try:
        entity = Entity(item, source=base)
    except InvalidEntity as error:
        problems.append(Problem(where, f"page {page} item {index} is not a valid entity: {error}"))
        return
    ref = entity.ref.lower()
    if ref in seen:  # a cursor page boundary shifted by a concurrent catalog change
        return
    seen.add(ref)
    entities.append(entity)


def pushdown_filters(tracks: Iterable[Track]) -> list[str] | None:
    """The Backstage `filter` parameters a run of these tracks can send, or None when the
    run needs the whole catalog.

    A check that reads the `catalog` input (does the owner exist? is the system there?)
    looks at entities outside its track's filter, so its run reads every entity.
    """
    tracks = list(tracks)
    if any("catalog" in configured.check.inputs for t in tracks for configured in t.checks):
        return None
    return filter_params(track.filter for track in tracks)


def filter_params(filters: Iterable[EntityFilter | None]) -> list[str] | None:
    """Backstage `filter` parameters selecting at least every entity `filters` match,
    or None when they cannot all be expressed (or one track applies to every entity).

    Each filter set becomes one parameter (`kind=component,spec.type=service`); several
    values of one key repeat the key, which Backstage ORs. The engine filters locally
    anyway, so the server only needs to return a superset.
    """
    params: list[str] = []
    for entity_filter in filters:
        if entity_filter is None:
            return None
        for filter_set in entity_filter.sets:
            parts = []
            for key, values in filter_set:
                if not values or not _expressible(key):
                    return None
                for value in sorted(values):
                    if not _expressible(value):
                        return None
                    parts.append(f"{key}={value}")
            if not parts:
                return None  # an empty set matches every entity
            params.append(",".join(parts))
    return sorted(set(params)) or None


def _expressible(text: str) -> bool:
    return bool(text) and text == text.strip() and "," not in text and "=" not in text
