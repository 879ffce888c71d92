"""Roll-ups the pages show, remembered until the next run finishes, computed once at a time.

The store keeps a track's levels and pass rates counted (a read costs a few milliseconds
at any catalog size), but the overview still reads every track's and counts the catalog's
entities, and 64 requests at once would each do so. The numbers change only when a run
finishes or the configuration is reloaded, so the pages keep them until then, as the
badges do; `ttl` bounds them too, for runs made by another process on the same database.

One computation per key at a time (single flight): a request that finds no value waits
for the count already under way instead of starting its own, so the 64 requests that
reach a server just started count once, not 64 times over on two cores. A value that is
only past its `ttl` is served as it is while one request counts anew
(stale-while-revalidate): it was as good a moment ago, and the ttl is only there for
another process's runs. A run finished or a reload in this process makes the old values
wrong, though, so then requests wait for the new count rather than show a finished run
beside the counts from before it. A count that raises reaches every request waiting for
it, as the same error, and nothing is remembered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any, TypeVar

from scorecard.service.service import Service

T = TypeVar("T")


class PageMemo:
    def __init__(self, ttl: float = 60.0, size: int = 1_000) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._flights: dict[Hashable, Future[Any]] = {}
        self._state: Hashable = None
        # Page handlers are sync and run in a thread pool: a thread lock, and waiting
        # threads block on a Future.
        self._lock = threading.Lock()

    def get(self, service: Service, key: Hashable, compute: Callable[[], T]) -> T:
        state = (service.runs.completed, service.config.current.loaded_at)
        with self._lock:
            if state != self._state:
                # Counts begun before the change are still handed to those waiting for
                # them, but nobody new joins them and they are not kept.
                self._entries.clear()
                self._flights.clear()
                self._state = state
            entry = self._entries.get(key)
            if entry is not None and time.monotonic() - entry[0] <= self.ttl:
                return entry[1]
            flight = self._flights.get(key)
            if flight is not None:
                if entry is not None:
                    return entry[1]  # stale, while another request refreshes it
                leading = False
            else:
                flight = self._flights[key] = Future()
                leading = True
        if not leading:
            return flight.result()
        return self._compute(key, flight, compute)

    def _compute(self, key: Hashable, flight: Future[Any], compute: Callable[[], T]) -> T:
        started = time.monotonic()
        try:
            value = compute()
        except BaseException as error:
            with self._lock:
                if self._flights.get(key) is flight:
                    del self._flights[key]
            flight.set_exception(error)
            raise
        with self._lock:
            if self._flights.get(key) is flight:  # no run finished meanwhile
                del self._flights[key]
                if len(self._entries) >= self.size:
                    self._entries.clear()
                self._entries[key] = (started, value)
        flight.set_result(value)
        return value
