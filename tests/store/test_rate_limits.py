"""Rate limits shared through the store: what one process records, every other one reads,
and a wait already recorded is never shortened, however writers race."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from scorecard.store import Store
from scorecard.store.ratelimits import SharedRateLimit
from scorecard.store.tables import RateLimitRecord

KEY = "github:https://api.github.com:anonymous"
NOW = 1_700_000_000.0


class Monotonic:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def stores(store_url: str) -> Iterator[tuple[Store, Store]]:
    """Two stores on one database, as two worker processes open it."""
    with Store(store_url) as first, Store(store_url) as second:
        yield first, second


def test_nothing_recorded_means_no_wait(store: Store) -> None:
    assert SharedRateLimit(store.engine).wait_until(KEY) is None


def test_a_spent_limit_is_read_by_another_process(stores: tuple[Store, Store]) -> None:
    first, second = stores

    SharedRateLimit(first.engine).spent_until(KEY, NOW + 2, remaining=0, reset=NOW + 2)

    assert SharedRateLimit(second.engine).wait_until(KEY) == NOW + 2
    with second.engine.connect() as connection:
        row = connection.execute(select(RateLimitRecord.__table__)).one()
    assert row.key == KEY
    assert row.remaining == 0
    assert row.reset_at == datetime.fromtimestamp(NOW + 2, UTC)


def test_a_later_wait_is_never_moved_earlier(stores: tuple[Store, Store]) -> None:
    first, second = stores
    SharedRateLimit(first.engine).spent_until(KEY, NOW + 60)

    SharedRateLimit(second.engine).spent_until(KEY, NOW + 5, remaining=0, reset=NOW + 5)

    assert SharedRateLimit(first.engine).wait_until(KEY) == NOW + 60
    SharedRateLimit(second.engine).spent_until(KEY, NOW + 90)
    assert SharedRateLimit(first.engine).wait_until(KEY) == NOW + 90


def test_writers_racing_keep_the_latest_wait(store_url: str) -> None:
    """Writers with engines of their own, started together on a key not yet stored: the
    first inserts race, then the updates; the latest time wins whatever the order."""
    writers = 8
    opened = [Store(store_url) for _ in range(writers)]
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(store: Store, index: int) -> None:
        try:
            start.wait()
            limit = SharedRateLimit(store.engine)
            for round_ in range(5):
                limit.spent_until(KEY, NOW + (index * 7 + round_ * 13) % 50)
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=write, args=(s, i)) for i, s in enumerate(opened)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        latest = max((i * 7 + r * 13) % 50 for i in range(writers) for r in range(5))
        assert SharedRateLimit(opened[0].engine).wait_until(KEY) == NOW + latest
    finally:
        for store in opened:
            store.close()


def test_an_answer_is_reused_for_a_second(stores: tuple[Store, Store]) -> None:
    first, second = stores
    clock = Monotonic()
    reader = SharedRateLimit(second.engine, monotonic=clock)
    assert reader.wait_until(KEY) is None

    SharedRateLimit(first.engine).spent_until(KEY, NOW + 2)

    clock.now = 0.9
    assert reader.wait_until(KEY) is None  # the answer read a moment ago
    clock.now = 1.0
    assert reader.wait_until(KEY) == NOW + 2


def test_what_a_process_records_it_knows_at_once(store: Store) -> None:
    clock = Monotonic()
    limit = SharedRateLimit(store.engine, monotonic=clock)
    assert limit.wait_until(KEY) is None

    limit.spent_until(KEY, NOW + 2)

    assert limit.wait_until(KEY) == NOW + 2


def test_keys_are_apart(store: Store) -> None:
    SharedRateLimit(store.engine).spent_until(KEY, NOW + 2)

    enterprise = "github:https://ghe.example.com/api/v3:anonymous"
    assert SharedRateLimit(store.engine).wait_until(enterprise) is None


def test_a_store_that_cannot_be_reached_leaves_each_process_on_its_own(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    limit = SharedRateLimit(store.engine)
    # A table that is gone stands for any database error.
    with store.engine.begin() as connection:
        RateLimitRecord.__table__.drop(connection)

    limit.spent_until(KEY, NOW + 2)
    assert limit.wait_until(KEY) == NOW + 2  # what it saw itself
    assert SharedRateLimit(store.engine).wait_until(KEY) is None
    assert "recording the shared rate limit" in caplog.text
    assert "reading the shared rate limit" in caplog.text
