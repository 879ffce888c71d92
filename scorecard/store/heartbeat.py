"""A running run's liveness mark: how a process tells that another one's run has died.

While a run goes on, a daemon thread writes `run.heartbeat_at` every `HEARTBEAT_INTERVAL`.
A `running` run whose mark is older than `STALE_AFTER` belongs to a process that was
killed, and whichever process opens the store next marks it abandoned. A live run of
another process keeps its mark fresh, so it is never taken for dead.

Each beat is its own one-row transaction. On SQLite it waits (busy timeout) while the
run's own save holds the write lock, and never holds a lock the save needs for longer
than that one-row write; the save takes the write lock with its first statement, so a
beat committed before it cannot make it fail.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType

from scorecard.store.database import SQLITE_BUSY_TIMEOUT_MS

log = logging.getLogger("scorecard.store")

HEARTBEAT_INTERVAL = timedelta(seconds=10)
# Three beats missed, plus the longest a beat may wait behind another process's write on
# SQLite: a live run's mark never grows this old.
STALE_AFTER = 3 * HEARTBEAT_INTERVAL + timedelta(milliseconds=SQLITE_BUSY_TIMEOUT_MS)


class Heartbeat:
    """Calls `beat` every `interval` seconds in a daemon thread, from `__enter__` until
    `__exit__`. A beat that fails is logged and tried again at the next interval: a
    database briefly unreachable must not end the run."""

    def __init__(self, beat: Callable[[], None], interval: float, name: str) -> None:
        self._beat = beat
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        # A beat waiting behind a write finishes on its own; the run need not wait for it.
        self._thread.join(self._interval)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._beat()
            except Exception as error:
                log.warning("%s: writing the liveness mark failed: %s", self._thread.name, error)
