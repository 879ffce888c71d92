"""GitHub's rate limit shared by workers through the store: two clients, each with its own
store connection as two worker processes have, and only one of them told by GitHub."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from scorecard.sources import github
from scorecard.sources.github import FactUnavailable, GitHubClient, share_rate_limit
from scorecard.store import Store
from scorecard.store.ratelimits import SharedRateLimit

REPO = {"name": "payments", "full_name": "acme/payments", "default_branch": "main"}
NOW = 1_700_000_000.0
PATH = "/repos/acme/payments"


class Clock:
    """A clock that the injected sleep moves forward."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Worker:
    """A client of a worker of its own: its store connection, its clock, its requests."""

    def __init__(
        self,
        store_url: str,
        respond: Callable[[httpx.Request], httpx.Response],
        *,
        token: str = "ghp_test",
        base_url: str = github.DEFAULT_API_URL,
        **options: Any,
    ) -> None:
        self.store = Store(store_url)
        self.clock = Clock()
        self.requested: list[float] = []  # the clock's time at each request

        def handler(request: httpx.Request) -> httpx.Response:
            self.requested.append(self.clock.now)
            return respond(request)

        self.client = GitHubClient(
            base_url,
            token,
            transport=httpx.MockTransport(handler),
            clock=self.clock,
            sleep=self.clock.sleep,
            shared_limit=SharedRateLimit(self.store.engine),
            **options,
        )

    def get(self) -> Any:
        return asyncio.run(self.client.get(PATH, "repository acme/payments")).body

    def close(self) -> None:
        asyncio.run(self.client.aclose())
        self.store.close()


@pytest.fixture
def workers(store_url: str) -> Iterator[Callable[..., Worker]]:
    made: list[Worker] = []

    def make(respond: Callable[[httpx.Request], httpx.Response], **options: Any) -> Worker:
        made.append(Worker(store_url, respond, **options))
        return made[-1]

    yield make
    for worker in made:
        worker.close()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store(store_url) as opened:
        yield opened


def spent(reset: float, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(reset))}
    return lambda request: httpx.Response(status, json=REPO, headers=headers)


def fine(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=REPO, headers={"x-ratelimit-remaining": "4999"})


def test_a_worker_waits_for_a_limit_another_worker_saw_spent(
    workers: Callable[..., Worker],
) -> None:
    told = workers(spent(NOW + 2))
    other = workers(fine)

    told.get()
    assert other.get() == REPO

    assert other.clock.slept == [2.0]
    assert other.requested == [NOW + 2]  # not one request before the reset


def test_a_limit_spent_for_longer_than_a_worker_waits_stops_its_requests(
    workers: Callable[..., Worker],
) -> None:
    told = workers(spent(NOW + 900))
    other = workers(fine)

    told.get()
    with pytest.raises(FactUnavailable, match="rate limit"):
        other.get()

    assert other.requested == []


def test_a_secondary_limit_is_shared_too(workers: Callable[..., Worker]) -> None:
    secondary = {"message": "You have exceeded a secondary rate limit."}
    told = workers(
        lambda r: httpx.Response(403, json=secondary, headers={"retry-after": "5"}), max_retries=0
    )
    other = workers(fine)

    with pytest.raises(FactUnavailable, match="rate limit"):
        told.get()
    other.get()

    assert told.clock.slept == []  # its last attempt: it gave up at once, as before
    assert other.clock.slept == [5.0]


def test_a_limit_is_shared_only_by_the_same_api_and_token(
    workers: Callable[..., Worker],
) -> None:
    workers(spent(NOW + 900)).get()
    other_token = workers(fine, token="ghp_other")
    enterprise = workers(fine, base_url="https://ghe.example.com/api/v3")

    assert other_token.get() == enterprise.get() == REPO
    assert other_token.clock.slept == enterprise.clock.slept == []
    assert "ghp_test" not in other_token.client.limit_key


def test_a_limit_that_reset_holds_nobody_back(workers: Callable[..., Worker]) -> None:
    workers(spent(NOW - 10)).get()
    other = workers(fine)

    other.get()

    assert other.clock.slept == []


def test_from_env_shares_the_limit_set_for_the_process(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(github, "_shared_limit", None)  # put back after the test
    assert GitHubClient.from_env({}).shared_limit is None

    shared = SharedRateLimit(store.engine)
    share_rate_limit(shared)
    assert GitHubClient.from_env({}).shared_limit is shared

    share_rate_limit(None)
    assert GitHubClient.from_env({}).shared_limit is None


# Another process, as a worker on another machine would be: GitHub tells it the limit
# is spent until `reset`.
OTHER_PROCESS = textwrap.dedent(
    """
    import asyncio, sys

    import httpx

    from scorecard.sources.github import GitHubClient
    from scorecard.store import Store
    from scorecard.store.ratelimits import SharedRateLimit

    url, reset = sys.argv[1], sys.argv[2]
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}

    async def main(shared: SharedRateLimit) -> None:
        client = GitHubClient(
            token="ghp_test",
            transport=httpx.MockTransport(lambda r: httpx.Response(200, json={}, headers=headers)),
            shared_limit=shared,
        )
        await client.get("/repos/acme/payments", "repository acme/payments")
        await client.aclose()

    with Store(url) as store:
        asyncio.run(main(SharedRateLimit(store.engine)))
    """
)


def test_a_worker_process_waits_for_a_limit_another_process_saw_spent(store_url: str) -> None:
    reset = int(time.time()) + 30
    subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, store_url, str(reset)], check=True, timeout=60
    )
    slept: list[float] = []
    requested: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)  # no real wait: the test only needs to know how long

    def respond(request: httpx.Request) -> httpx.Response:
        requested.append(time.time())
        return httpx.Response(200, json=REPO)

    with Store(store_url) as store:
        client = GitHubClient(
            token="ghp_test",
            transport=httpx.MockTransport(respond),
            sleep=sleep,
            max_wait=60,
            shared_limit=SharedRateLimit(store.engine),
        )
        started = time.time()
        asyncio.run(client.get(PATH, "repository acme/payments"))
        asyncio.run(client.aclose())

    assert len(slept) == 1 and reset - started - 1 <= slept[0] <= reset - started
    assert len(requested) == 1
