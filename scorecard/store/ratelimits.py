"""Rate limits shared by the processes of one store, so that workers respect them together.

A process told by an API that its limit is spent records until when (`spent_until`);
every process asks before a request (`wait_until`) and waits as long. A recorded wait is
never shortened: writers that race keep the later one (one upsert, atomic on PostgreSQL
and serialised by SQLite's write lock). Answers read from the store are reused for
`FRESH_FOR` seconds, so thousands of requests cost a read a second, and a limit spent
in another process is seen at most that late.

The store helps the API's own limit; it is not needed to read the API. When it cannot be
read or written the failure is logged and each process goes on with what it saw itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, case, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from scorecard.store.tables import RateLimitRecord

log = logging.getLogger("scorecard.store")

FRESH_FOR = 1.0  # seconds an answer read from the store is reused
_table = RateLimitRecord.__table__


class SharedRateLimit:
    """The `rate_limit` rows of a store's engine: `SharedRateLimit(store.engine)`.

    Thread-safe; its methods block on the database, so async callers run them in a thread.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        fresh_for: float = FRESH_FOR,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.fresh_for = fresh_for
        self._monotonic = monotonic
        # key → (when read, resume_at as epoch seconds or None)
        self._known: dict[str, tuple[float, float | None]] = {}
        # One thread refreshes an answer that went stale; the others then reuse it.
        self._lock = threading.Lock()

    def wait_until(self, key: str) -> float | None:
        """Epoch seconds until which requests under `key` must wait; None when no process
        has seen the limit spent. A time already past means it has reset."""
        if (known := self._fresh(key)) is not None:
            return known[1]
        with self._lock:
            if (known := self._fresh(key)) is not None:
                return known[1]
            try:
                with self.engine.connect() as connection:
                    stored = connection.scalar(
                        select(_table.c.resume_at).where(_table.c.key == key)
                    )
            except SQLAlchemyError as error:
                log.warning("reading the shared rate limit %s failed: %s", key, error)
                stored = None  # remembered as fresh too: no read per request while it is down
            resume_at = stored.timestamp() if stored is not None else None
            self._known[key] = (self._monotonic(), resume_at)
            return resume_at

    def spent_until(
        self,
        key: str,
        resume_at: float,
        *,
        remaining: int | None = None,
        reset: float | None = None,
    ) -> None:
        """Record that requests under `key` must wait until `resume_at` (epoch seconds);
        `remaining` and `reset` are what the response's headers said, for people to read.
        A later time already recorded is kept."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        insert = dialect.insert(_table).values(
            key=key,
            resume_at=_utc(resume_at),
            remaining=remaining,
            reset_at=None if reset is None else _utc(reset),
            updated_at=datetime.now(UTC),
        )
        new = insert.excluded
        statement = insert.on_conflict_do_update(
            index_elements=[_table.c.key],
            set_={
                "resume_at": case(
                    (new.resume_at > _table.c.resume_at, new.resume_at),
                    else_=_table.c.resume_at,
                ),
                "remaining": new.remaining,
                "reset_at": new.reset_at,
                "updated_at": new.updated_at,
            },
        )
        try:
            with self.engine.begin() as connection:
                connection.execute(statement)
        except SQLAlchemyError as error:
            log.warning("recording the shared rate limit %s failed: %s", key, error)
        with self._lock:
            known = self._known.get(key)
            later = max(resume_at, known[1] or 0.0) if known else resume_at
            self._known[key] = (self._monotonic(), later)

    def _fresh(self, key: str) -> tuple[float, float | None] | None:
        known = self._known.get(key)
        if known is not None and self._monotonic() - known[0] < self.fresh_for:
            return known
        return None


# A header can say anything; no wait is recorded past what a timestamp can hold.
_LATEST = datetime(9999, 1, 1, tzinfo=UTC)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(min(epoch, _LATEST.timestamp()), UTC)
