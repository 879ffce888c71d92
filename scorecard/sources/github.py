"""GitHub facts as the `github` input: settings, branch protection, alerts read from the API.

`GitHubClient` is one `httpx.AsyncClient` per run. It keeps an ETag cache (per URL: the
ETag and the body; requests send `If-None-Match` and a 304 reuses the body, which GitHub
does not count against the rate limit) and respects rate limits: when
`X-RateLimit-Remaining` reaches 0 it waits until `X-RateLimit-Reset`, and on a 403/429
secondary limit it waits `Retry-After` (or a minute) before a bounded number of retries.
A wait longer than `max_wait` is not made: the fact is unavailable instead. Every failure
raises `FactUnavailable`, which the executor reports as `unknown` with its sentence. Lists
are read page by page, following the `Link: <...>; rel="next"` header (GitHub's cursor
pagination) for at most `max_pages` pages, each page with its own ETag. `send` writes
(POST, PUT, PATCH, DELETE) through the same rate-limit back-off, without the cache.

Processes that share a store share the limit too: after `share_rate_limit(...)`, the
clients `from_env` builds wait for a limit that any of them saw spent, and record the ones
they see (per API URL and token, in the store's `rate_limit` table). Without it, each
client knows only what it was told itself.

`GitHubRepoFacts` is the input a check receives: one repository's facts, each fetched at
most once per run. An entity's repository is its `github.com/project-slug` annotation
(`org/repo`, Backstage's convention), else a `url:` source location on the GitHub host;
with neither, the input is unavailable and its checks report `unknown` (as for `repo`).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from scorecard.entity import Entity
from scorecard.inputs import SOURCE_LOCATION, InputUnavailable

if TYPE_CHECKING:
    import httpx

    from scorecard.store.ratelimits import SharedRateLimit

# httpx is imported where a client is built and used: the workspace imports this module
# for its settings' names, and a command that never asks GitHub should not pay for it.

DEFAULT_API_URL = "https://api.github.com"
TOKEN_ENV = "GITHUB_TOKEN"
API_URL_ENV = "SCORECARD_GITHUB_API_URL"
SLUG_ANNOTATION = "github.com/project-slug"
# GitHub's advice for a secondary limit without Retry-After: wait at least a minute.
_SECONDARY_WAIT = 60.0
_WRITES = ("POST", "PUT", "PATCH", "DELETE")
PER_PAGE = 100  # GitHub's largest page
MAX_PAGES = 10
SEVERITIES = ("low", "medium", "high", "critical")

# The limit the clients `from_env` builds share with other processes: set once per process.
_shared_limit: SharedRateLimit | None = None


def share_rate_limit(shared: SharedRateLimit | None) -> None:
    """Make the clients `GitHubClient.from_env` builds from now on, in this process, wait
    for and record the rate limit in `shared` (e.g. `SharedRateLimit(store.engine)`), so
    that workers sharing a store respect it together. None: each client on its own."""
    global _shared_limit
    _shared_limit = shared


class FactUnavailable(InputUnavailable):
    """A GitHub fact could not be read (permission, rate limit, outage); `str()` says why."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any
    next: str | None = None  # the Link header's rel="next" URL


class Alerts(list[dict[str, Any]]):
    """Alerts read from GitHub; `complete` is False when more pages were left unread."""

    def __init__(self, alerts: Any = (), *, complete: bool = True) -> None:
        super().__init__(alerts)
        self.complete = complete


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or ""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return response.reason_phrase or ""


class GitHubClient:
    """GitHub's REST API with conditional requests and rate-limit back-off."""

    def __init__(
        self,
        base_url: str = DEFAULT_API_URL,
        token: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        max_wait: float = 20.0,
        max_retries: int = 2,
        timeout: float = 10.0,
        max_pages: int = MAX_PAGES,
        etags: dict[str, tuple[str, Any, str | None]] | None = None,
        on_failure: Callable[[str], None] | None = None,
        shared_limit: SharedRateLimit | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {
            "accept": "application/vnd.github+json",
            "x-github-api-version": "2022-11-28",
            "user-agent": "scorecard",
        }
        if token:
            headers["authorization"] = f"Bearer {token}"
        import httpx

        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            transport=transport,
            timeout=timeout,
            follow_redirects=True,  # a renamed repository answers 301
        )
        self._clock = clock
        self._sleep = sleep
        self.max_wait = max_wait
        self.max_retries = max_retries
        self.max_pages = max(1, max_pages)
        # URL → (ETag, body, next page). Pass a dict of your own to keep it across runs.
        self.etags: dict[str, tuple[str, Any, str | None]] = {} if etags is None else etags
        self.not_modified = 0  # 304s answered from the cache
        self.requests = 0
        self._resume_at = 0.0  # the primary limit is spent until then
        self.on_failure = on_failure  # told "github" for each fact that could not be read
        self.shared_limit = shared_limit  # the limit as other processes saw it, if shared
        # GitHub counts per token (or per address without one): one key per API and token.
        # Only a fingerprint is stored, never the token.
        holder = hashlib.sha256(token.encode()).hexdigest()[:16] if token else "anonymous"
        self.limit_key = f"github:{self.base_url}:{holder}"

    @classmethod
    def from_env(cls, environ: Any = None, settings: Any = None) -> GitHubClient:
        """The client a workspace's `github:` settings (None: defaults) and the environment
        describe.

        The API URL is `SCORECARD_GITHUB_API_URL`, else `settings.api_url`, else
        api.github.com; the token is in the variable `settings.token_env` names
        (`GITHUB_TOKEN` by default), never in the file.
        """
        env = os.environ if environ is None else environ
        api_url = env.get(API_URL_ENV) or getattr(settings, "api_url", None) or DEFAULT_API_URL
        token = env.get(getattr(settings, "token_env", None) or TOKEN_ENV) or None
        if settings is None:
            return cls(api_url, token, shared_limit=_shared_limit)
        return cls(
            api_url,
            token,
            timeout=settings.timeout,
            max_wait=settings.max_wait,
            shared_limit=_shared_limit,
        )

    @property
    def web_host(self) -> str:
        """The host of repository URLs: github.com, or the Enterprise server's host."""
        host = urlsplit(self.base_url).hostname or ""
        return "github.com" if host == "api.github.com" else host

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _wait(self, seconds: float, why: str) -> None:
        if seconds > self.max_wait:
            raise FactUnavailable(
                f"GitHub's {why} would take {seconds:.0f} seconds to clear, longer than the "
                f"{self.max_wait:g} seconds scorecard waits."
            )
        if seconds > 0:
            await self._sleep(seconds)

    async def _wait_for_limit(self) -> None:
        """Wait until a rate limit this client, or any process sharing it, saw spent has
        reset."""
        resume_at = self._resume_at
        if self.shared_limit is not None:
            shared = await asyncio.to_thread(self.shared_limit.wait_until, self.limit_key)
            resume_at = max(resume_at, shared or 0.0)
        if resume_at:
            await self._wait(resume_at - self._clock(), "rate limit")

    async def _share_spent(self, resume_at: float, response: httpx.Response) -> None:
        """Tell the processes sharing the limit that it is spent until `resume_at`."""
        if self.shared_limit is None or not math.isfinite(resume_at):
            return
        headers = response.headers
        remaining = headers.get("x-ratelimit-remaining", "")
        reset = _number(headers.get("x-ratelimit-reset"))
        await asyncio.to_thread(
            self.shared_limit.spent_until,
            self.limit_key,
            resume_at,
            remaining=int(remaining) if remaining.isdigit() else None,
            reset=reset if reset is not None and math.isfinite(reset) else None,
        )

    def _secondary_delay(self, response: httpx.Response, primary_spent: bool) -> float | None:
        """Seconds a 403/429 asks to wait for a secondary limit (`Retry-After`, else a
        minute when its message says so); None when it is not one."""
        retry_after = response.headers.get("retry-after")
        if retry_after is not None:
            delay = _number(retry_after)
            return _SECONDARY_WAIT if delay is None else delay
        if not primary_spent and "rate limit" in _message(response).lower():
            return _SECONDARY_WAIT
        return None

    def _reset_delay(self, response: httpx.Response) -> float | None:
        """Seconds until the primary limit resets, when it is spent; else None."""
        headers = response.headers
        if headers.get("x-ratelimit-remaining") != "0":
            return None
        try:
            reset = float(headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            return _SECONDARY_WAIT
        return max(0.0, reset - self._clock())

    async def get(self, path: str, what: str, *, accept: tuple[int, ...] = ()) -> Reply:
        """GET `path`; a 2xx or a status in `accept` is returned, anything else raises.

        `what` names the fact in messages ("branch protection of org/repo").
        """
        return await self._request("GET", path, what, accept=accept)

    async def send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        json: Any = None,
        accept: tuple[int, ...] = (),
    ) -> Reply:
        """POST, PUT, PATCH or DELETE `path` with `json` as the body; a 2xx or a status in
        `accept` is returned, anything else raises. Rate limits are waited for as by `get`
        (GitHub did not act on a request it refused for a limit, so resending is safe);
        nothing is cached.

        `what` says what the request does, in messages ("opening the pull request for
        org/repo").
        """
        verb = method.upper()
        if verb not in _WRITES:
            raise ValueError(f"send() writes with one of {', '.join(_WRITES)}, not {method!r}")
        return await self._request(verb, path, what, json=json, accept=accept)

    async def _request(
        self,
        method: str,
        path: str,
        what: str,
        *,
        json: Any = None,
        accept: tuple[int, ...] = (),
    ) -> Reply:
        """The request loop of `get` and `send`: waits for spent limits, retries secondary
        limits a bounded number of times; only GETs are conditional and cached."""
        import httpx

        reading = method == "GET"
        url = f"{self.base_url}{path}"
        for attempt in range(self.max_retries + 1):
            await self._wait_for_limit()
            cached = self.etags.get(url) if reading else None
            headers = {"if-none-match": cached[0]} if cached else {}
            self.requests += 1
            try:
                response = await self._http.request(method, url, headers=headers, json=json)
            except httpx.HTTPError as error:
                where = f"for the {what}" if reading else f"while {what}"
                raise FactUnavailable(
                    f"GitHub could not be reached {where}: {type(error).__name__}."
                ) from None
            reset = self._reset_delay(response)
            self._resume_at = self._clock() + reset if reset else 0.0
            if reset:
                await self._share_spent(self._resume_at, response)
            status = response.status_code
            if status == 304 and cached:
                self.not_modified += 1
                return Reply(200, cached[1], cached[2] if len(cached) > 2 else None)
            if status in (403, 429):
                delay = self._secondary_delay(response, primary_spent=reset is not None)
                if delay is not None:
                    await self._share_spent(self._clock() + delay, response)
                if attempt < self.max_retries:
                    if delay is not None:
                        await self._wait(delay, "secondary rate limit")
                        continue
                    if reset is not None:
                        continue  # the next pass waits until the reset
            if 200 <= status < 300 or status in accept:
                try:
                    body = response.json() if response.content else None
                except ValueError:
                    raise FactUnavailable(
                        f"GitHub answered the {what} with something other than JSON."
                        if reading
                        else f"GitHub answered with something other than JSON while {what}."
                    ) from None
                link = response.links.get("next", {}).get("url")
                following = str(response.url.join(link)) if link else None
                etag = response.headers.get("etag")
                if reading and status == 200 and etag:
                    self.etags[url] = (etag, body, following)
                return Reply(status, body, following)
            raise FactUnavailable(self._refusal(response, what, reading=reading))
        raise AssertionError("unreachable")  # pragma: no cover

    async def get_list(self, path: str, what: str) -> tuple[list[Any], bool]:
        """Every item of a paginated list, and whether every page was read.

        Follows `Link: <...>; rel="next"` for at most `max_pages` pages; a next page that
        is not under the API's URL is not requested (it would get the token).
        """
        items: list[Any] = []
        for _ in range(self.max_pages):
            reply = await self.get(path, what)
            if not isinstance(reply.body, list):
                raise FactUnavailable(
                    f"GitHub answered the {what} with something other than a list."
                )
            items.extend(reply.body)
            if reply.next is None:
                return items, True
            following = self._api_path(reply.next)
            if following is None:
                raise FactUnavailable(
                    f"GitHub's next page of the {what} is not under {self.base_url}."
                )
            path = following
        return items, False

    def _api_path(self, url: str) -> str | None:
        """The path of `url` below the API's base URL, with its query; None if not below."""
        import httpx

        link, base = httpx.URL(url), httpx.URL(self.base_url)
        prefix = base.raw_path.split(b"?")[0].rstrip(b"/")
        raw = link.raw_path
        if (link.scheme, link.host, link.port) != (base.scheme, base.host, base.port):
            return None
        if not raw.startswith(prefix + b"/"):
            return None
        return raw[len(prefix) :].decode("ascii")

    def _refusal(self, response: httpx.Response, what: str, *, reading: bool = True) -> str:
        """Why GitHub refused a request: `what` is the fact read, or (not `reading`) what
        the write was doing."""
        status, message = response.status_code, _message(response)
        detail = f"HTTP {status}: {message}" if message else f"HTTP {status}"
        doing = f"reading the {what}" if reading else what
        if status == 401:
            return f"GitHub rejected the token {doing} ({detail})."
        if status in (403, 429) and "rate limit" in message.lower():
            return f"GitHub's rate limit stopped scorecard {doing} ({detail})."
        if not reading:
            return _write_refusal(response, what, detail)
        if status == 403:
            return f"The token cannot read the {what} ({detail})."
        if status == 404:
            return (
                f"The {what} was not found; the repository does not exist or the token "
                f"cannot read it ({detail})."
            )
        return f"GitHub could not give the {what} ({detail})."


def _write_refusal(response: httpx.Response, doing: str, detail: str) -> str:
    """Why a write was refused; a 422's `errors` say which rule it broke, so they are
    named too ("A pull request already exists for org:branch.")."""
    try:
        body = response.json()
    except ValueError:
        body = None
    errors = body.get("errors") if isinstance(body, dict) else None
    reasons = [
        str(error.get("message") or f"{error.get('field')} is {error.get('code')}")
        for error in errors or ()
        if isinstance(error, dict) and (error.get("message") or error.get("field"))
    ]
    if reasons:
        detail = f"{detail}: {'; '.join(reasons)}"
    failed = f"{doing[:1].upper()}{doing[1:]} failed"
    status = response.status_code
    if status == 403:
        return f"{failed}: the token may not do it ({detail})."
    if status == 404:
        return (
            f"{failed}: the repository or branch does not exist, or the token cannot "
            f"see it ({detail})."
        )
    return f"{failed} ({detail})."


def _number(header: str | None) -> float | None:
    try:
        return None if header is None else float(header)
    except ValueError:
        return None


def repository_slug(entity: Entity, web_host: str = "github.com") -> tuple[str, str]:
    """(owner, repo) of an entity's GitHub repository, or InputUnavailable saying why not."""
    slug = entity.annotations.get(SLUG_ANNOTATION)
    if isinstance(slug, str) and slug.strip():
        owner, _, name = slug.strip().partition("/")
        if owner and name and "/" not in name:
            return owner, name.removesuffix(".git")
        raise InputUnavailable(
            f"{entity.ref} has a {SLUG_ANNOTATION} annotation {slug!r} that is not `org/repo`"
        )
    location = entity.annotations.get(SOURCE_LOCATION)
    if isinstance(location, str) and location.strip().startswith("url:"):
        parts = urlsplit(location.strip().removeprefix("url:"))
        segments = [s for s in parts.path.split("/") if s]
        if (parts.hostname or "").lower() == web_host.lower() and len(segments) >= 2:
            return segments[0], segments[1].removesuffix(".git")
    raise InputUnavailable(
        f"no GitHub repository is known for {entity.ref} (no {SLUG_ANNOTATION} annotation "
        f"and no source location on {web_host})"
    )


class GitHubRepoFacts:
    """One repository's facts; each is fetched at most once (failures are remembered too)."""

    def __init__(self, client: GitHubClient, owner: str, repo: str) -> None:
        self.client = client
        self.owner = owner
        self.repo = repo
        self._memo: dict[str, Any] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.repo}"

    @property
    def url(self) -> str:
        """The repository's web page, to which settings paths are appended."""
        return f"https://{self.client.web_host}/{self.slug}"

    def __repr__(self) -> str:
        return f"GitHubRepoFacts({self.slug!r})"

    def _path(self, *parts: str) -> str:
        return "/".join(("/repos", quote(self.owner, safe=""), quote(self.repo, safe=""), *parts))

    async def _once(self, key: str, fetch: Callable[[], Awaitable[Any]]) -> Any:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self._memo:
                try:
                    self._memo[key] = (True, await fetch())
                except FactUnavailable as error:
                    self._memo[key] = (False, error)
                    if self.client.on_failure is not None:
                        self.client.on_failure("github")
        ok, value = self._memo[key]
        if not ok:
            raise value
        return value

    async def repository(self) -> dict[str, Any]:
        """GET /repos/{owner}/{repo}: `default_branch`, `delete_branch_on_merge`, ..."""

        async def fetch() -> dict[str, Any]:
            reply = await self.client.get(self._path(), f"repository {self.slug}")
            return reply.body if isinstance(reply.body, dict) else {}

        return await self._once("repository", fetch)

    async def default_branch(self) -> str:
        branch = (await self.repository()).get("default_branch")
        if not isinstance(branch, str) or not branch:
            raise FactUnavailable(f"GitHub did not give the default branch of {self.slug}.")
        return branch

    async def branch_protection(self, branch: str) -> dict[str, Any] | None:
        """Classic branch protection of a branch; None when the branch is not protected."""

        async def fetch() -> dict[str, Any] | None:
            what = f"branch protection of {branch} in {self.slug}"
            path = self._path("branches", quote(branch, safe=""), "protection")
            reply = await self.client.get(path, what, accept=(404,))
            if reply.status == 404:
                message = (reply.body or {}).get("message", "")
                if "not protected" in str(message).lower():
                    return None
                raise FactUnavailable(
                    f"The {what} was not found; the token cannot read it "
                    f"(HTTP 404: {message or 'Not Found'})."
                )
            return reply.body if isinstance(reply.body, dict) else {}

        return await self._once(f"protection:{branch}", fetch)

    async def branch_rules(self, branch: str) -> list[dict[str, Any]]:
        """The ruleset rules active on a branch (GET /repos/{o}/{r}/rules/branches/{b})."""

        async def fetch() -> list[dict[str, Any]]:
            what = f"rulesets of {branch} in {self.slug}"
            path = self._path("rules", "branches", quote(branch, safe=""))
            reply = await self.client.get(path, what)
            body = reply.body if isinstance(reply.body, list) else []
            return [rule for rule in body if isinstance(rule, dict)]

        return await self._once(f"rules:{branch}", fetch)

    async def vulnerability_alerts_enabled(self) -> bool:
        """True when Dependabot alerts are on: 204 on, 404 "...disabled" off."""

        async def fetch() -> bool:
            what = f"vulnerability alert setting of {self.slug}"
            reply = await self.client.get(self._path("vulnerability-alerts"), what, accept=(404,))
            if reply.status != 404:
                return True
            message = str((reply.body or {}).get("message", ""))
            if "disabled" in message.lower():
                return False
            raise FactUnavailable(
                f"The {what} was not found; the token cannot read it "
                f"(HTTP 404: {message or 'Not Found'})."
            )

        return await self._once("vulnerability-alerts", fetch)

    async def dependabot_alerts(self, state: str = "open", severity: str = "critical") -> Alerts:
        """Dependabot alerts in a state and of a severity, every page of them (up to the
        client's `max_pages`; `.complete` says whether that was all).

        GitHub filters by severity; an alert that states another severity is dropped too,
        for a server that ignores the filter.
        """

        async def fetch() -> Alerts:
            what = f"Dependabot alerts of {self.slug}"
            query = f"?state={quote(state)}&severity={quote(severity)}&per_page={PER_PAGE}"
            path = self._path("dependabot", "alerts") + query
            body, complete = await self.client.get_list(path, what)
            alerts = [a for a in body if isinstance(a, dict) and _is_of(a, severity)]
            return Alerts(alerts, complete=complete)

        return await self._once(f"dependabot:{state}:{severity}", fetch)


def _is_of(alert: dict[str, Any], severity: str) -> bool:
    """Whether an alert is of a severity: yes unless it names only others."""
    stated = [
        str(part.get("severity")).lower()
        for part in (alert.get("security_advisory"), alert.get("security_vulnerability"))
        if isinstance(part, dict) and part.get("severity")
    ]
    return not stated or severity.lower() in stated
