"""Roll-ups the pages show, remembered until the next run finishes.

Counting a track's levels and pass rates reads every result of the track: tens of
milliseconds at 10,000 entities, growing with the catalog. The numbers change only when a
run finishes or the configuration is reloaded, so the pages keep them until then, as the
badges do; `ttl` bounds them too, for runs made by another process on the same database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from scorecard.service.service import Service

T = TypeVar("T")


class PageMemo:
    def __init__(self, ttl: float = 60.0, size: int = 1_000) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._state: Hashable = None
        self._lock = threading.Lock()  # page handlers run in a thread pool

    def get(self, service: Service, key: Hashable, compute: Callable[[], T]) -> T:
        state = (service.runs.completed, service.config.current.loaded_at)
        now = time.monotonic()
        with self._lock:
            if state != self._state:
                self._entries.clear()
                self._state = state
            entry = self._entries.get(key)
            if entry is not None and now - entry[0] <= self.ttl:
                return entry[1]
        value = compute()
        with self._lock:
            if state == self._state:
                if len(self._entries) >= self.size:
                    self._entries.clear()
                self._entries[key] = (now, value)
        return value
