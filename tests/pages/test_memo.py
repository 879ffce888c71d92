"""The pages' roll-up memo and the badge cache: kept until a run finishes or the
configuration reloads, and computed once at a time however many requests ask together."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

from api.pages.memo import PageMemo
from api.routes.badges import BadgeCache
from scorecard.badges import Badge

CALLERS = 32
# Long enough for every caller that passed the barrier to reach the memo. A caller that
# came later still finds the value remembered: the count of computations holds either way.
SETTLE = 0.3


def _service(completed: int = 0, loaded_at: float = 1.0) -> Any:
    return SimpleNamespace(
        runs=SimpleNamespace(completed=completed),
        config=SimpleNamespace(current=SimpleNamespace(loaded_at=loaded_at)),
    )


class Gate:
    """A computation that counts its calls and holds until `open()`."""

    def __init__(self, value: Callable[[int], Any] = lambda call: call) -> None:
        self.calls = 0
        self.entered = threading.Event()
        self._open = threading.Event()
        self._value = value
        self._lock = threading.Lock()

    def open(self) -> None:
        self._open.set()

    def __call__(self) -> Any:
        with self._lock:
            self.calls += 1
            call = self.calls
        self.entered.set()
        assert self._open.wait(10), "the gate was never opened"
        return self._value(call)


def _together(count: int, call: Callable[[], Any]) -> list[Any]:
    """`call` from `count` threads released at once; each one's value or exception."""
    barrier = threading.Barrier(count)

    def one() -> Any:
        barrier.wait()
        try:
            return call()
        except Exception as error:
            return error

    with ThreadPoolExecutor(count) as pool:
        return [f.result() for f in [pool.submit(one) for _ in range(count)]]


def _open_later(gate: Gate, seconds: float = SETTLE) -> threading.Timer:
    timer = threading.Timer(seconds, gate.open)
    timer.start()
    return timer


def test_a_value_is_kept_until_a_run_finishes_or_a_reload() -> None:
    memo, service, calls = PageMemo(), _service(), []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert memo.get(service, "rollups", compute) == 1
    assert memo.get(service, "rollups", compute) == 1
    assert memo.get(service, "other", compute) == 2
    service.runs.completed += 1  # a run finished
    assert memo.get(service, "rollups", compute) == 3
    service.config.current.loaded_at = 2.0  # tracks reloaded
    assert memo.get(service, "rollups", compute) == 4
    assert memo.get(service, "rollups", compute) == 4


def test_a_value_expires_after_the_ttl() -> None:
    memo, service = PageMemo(ttl=0.0), _service()
    values = iter(range(10))
    first = memo.get(service, "k", lambda: next(values))
    assert memo.get(service, "k", lambda: next(values)) != first


def test_concurrent_callers_of_a_fresh_memo_compute_once() -> None:
    memo, service, gate = PageMemo(), _service(), Gate(lambda call: {"counted": call})
    _open_later(gate)
    values = _together(CALLERS, lambda: memo.get(service, "rollups", gate))
    assert gate.calls == 1
    assert all(value is values[0] for value in values), values
    assert memo.get(service, "rollups", gate) is values[0]


def test_concurrent_callers_after_a_finished_run_compute_once_more() -> None:
    memo, service = PageMemo(), _service()
    assert memo.get(service, "rollups", lambda: "before") == "before"
    service.runs.completed += 1
    gate = Gate(lambda call: "after")
    _open_later(gate)
    # A run finished: nobody is shown the counts from before it, and they count once.
    assert _together(CALLERS, lambda: memo.get(service, "rollups", gate)) == ["after"] * CALLERS
    assert gate.calls == 1


def test_a_failure_reaches_every_waiting_caller_and_is_not_kept() -> None:
    memo, service = PageMemo(), _service()
    failure = RuntimeError("the database is unavailable")

    def fail(call: int) -> Any:
        raise failure

    gate = Gate(fail)
    _open_later(gate)
    outcomes = _together(CALLERS, lambda: memo.get(service, "rollups", gate))
    assert gate.calls == 1
    assert all(outcome is failure for outcome in outcomes), outcomes
    # Nothing was remembered: the next request counts again, and that one is kept.
    assert memo.get(service, "rollups", lambda: "counted") == "counted"
    assert memo.get(service, "rollups", lambda: "again") == "counted"


def test_an_expired_value_is_served_while_one_caller_refreshes_it() -> None:
    memo, service = PageMemo(), _service()
    assert memo.get(service, "rollups", lambda: "old") == "old"
    memo.ttl = -1.0  # every value is now past its ttl
    gate = Gate(lambda call: "new")
    with ThreadPoolExecutor(1) as pool:
        refreshing = pool.submit(memo.get, service, "rollups", gate)
        assert gate.entered.wait(5)
        # While the refresh is under way, the others get the old value at once.
        assert _together(CALLERS, lambda: memo.get(service, "rollups", gate)) == ["old"] * CALLERS
        gate.open()
        assert refreshing.result(5) == "new"
    assert gate.calls == 1
    memo.ttl = 60.0
    assert memo.get(service, "rollups", gate) == "new"


def test_a_count_begun_before_a_run_finished_is_not_kept() -> None:
    memo, service = PageMemo(), _service()
    gate = Gate(lambda call: "begun before the run")
    with ThreadPoolExecutor(1) as pool:
        early = pool.submit(memo.get, service, "rollups", gate)
        assert gate.entered.wait(5)
        service.runs.completed += 1
        # A request after the run finished does not join the earlier count.
        assert memo.get(service, "rollups", lambda: "after the run") == "after the run"
        gate.open()
        assert early.result(5) == "begun before the run"
    assert memo.get(service, "rollups", lambda: "recounted") == "after the run"


def test_different_keys_do_not_wait_for_each_other() -> None:
    memo, service, keys = PageMemo(), _service(), ["a", "b", "c"]
    slow = Gate(lambda call: "slow")
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(memo.get, service, "slow", slow)
        assert slow.entered.wait(5)
        assert [memo.get(service, key, lambda key=key: key) for key in keys] == keys
        slow.open()
        assert held.result(5) == "slow"


# --- the badge cache: the same single flight, on the event loop -------------------------


def _on_a_loop(main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    # In a thread of its own: a live Playwright (tests/pages) marks the main thread's loop
    # as running, so asyncio.run() may not be called there.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result(30)


def _badge(call: int) -> tuple[Badge, int]:
    return Badge("production-readiness", f"lookup {call}", "#4c1"), 200


def test_concurrent_badge_requests_look_the_badge_up_once() -> None:
    cache, calls = BadgeCache(), []

    async def look_up() -> tuple[Badge, int]:
        calls.append(1)
        await asyncio.sleep(0.05)
        return _badge(len(calls))

    async def main() -> list[tuple[Badge, int]]:
        return await asyncio.gather(*(cache.get(0, "key", look_up) for _ in range(CALLERS)))

    assert _on_a_loop(main) == [_badge(1)] * CALLERS
    assert len(calls) == 1


def test_a_failed_badge_lookup_reaches_every_waiter_and_is_not_kept() -> None:
    cache, calls = BadgeCache(), []
    failure = RuntimeError("the database is unavailable")

    async def look_up() -> tuple[Badge, int]:
        calls.append(1)
        await asyncio.sleep(0.05)
        if len(calls) == 1:
            raise failure
        return _badge(len(calls))

    async def main() -> tuple[list[Any], tuple[Badge, int]]:
        waits = (cache.get(0, "key", look_up) for _ in range(CALLERS))
        outcomes = await asyncio.gather(*waits, return_exceptions=True)
        return outcomes, await cache.get(0, "key", look_up)

    outcomes, after = _on_a_loop(main)
    assert all(outcome is failure for outcome in outcomes), outcomes
    assert after == _badge(2) and len(calls) == 2


def test_a_badge_request_that_hangs_up_does_not_cancel_the_lookup_of_the_others() -> None:
    cache, calls = BadgeCache(), []

    async def look_up() -> tuple[Badge, int]:
        calls.append(1)
        await asyncio.sleep(0.1)
        return _badge(len(calls))

    async def main() -> tuple[Badge, int]:
        first = asyncio.ensure_future(cache.get(0, "key", look_up))
        await asyncio.sleep(0.01)
        second = asyncio.ensure_future(cache.get(0, "key", look_up))
        await asyncio.sleep(0.01)
        first.cancel()  # the client that started the lookup went away
        return await second

    assert _on_a_loop(main) == _badge(1)
    assert len(calls) == 1


def test_an_expired_badge_is_served_while_one_request_looks_it_up_again() -> None:
    cache, calls = BadgeCache(), []

    async def look_up() -> tuple[Badge, int]:
        calls.append(1)
        await asyncio.sleep(0.05)
        return _badge(len(calls))

    async def main() -> tuple[tuple[Badge, int], list[tuple[Badge, int]], tuple[Badge, int]]:
        await cache.get(0, "key", look_up)
        cache.ttl = -1.0
        refreshing = asyncio.ensure_future(cache.get(0, "key", look_up))
        await asyncio.sleep(0.01)
        stale = await asyncio.gather(*(cache.get(0, "key", look_up) for _ in range(CALLERS)))
        return await refreshing, stale, await cache.get(1, "key", look_up)

    refreshed, stale, after_a_run = _on_a_loop(main)
    assert refreshed == _badge(2) and stale == [_badge(1)] * CALLERS
    # A finished run (a new state) makes the badge looked up again, not served stale.
    assert after_a_run == _badge(3)
