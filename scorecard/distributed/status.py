"""The live workers of a celery executor and its queue's depth (`scorecard workers`,
`/health`)."""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from typing import Any

from scorecard.distributed.app import celery_app
from scorecard.workspace import ExecutorConfig


@dataclass(frozen=True)
class WorkerStatus:
    name: str
    busy: int  # shards it is evaluating
    concurrency: int  # processes it evaluates in
    processed: int  # shards it has taken since it started


@dataclass(frozen=True)
class ExecutorStatus:
    queue: str
    waiting: int  # messages ready in the queue: shards no worker has taken yet
    workers: list[WorkerStatus] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def executor_status(config: ExecutorConfig, *, timeout: float = 2.0) -> ExecutorStatus:
    """Ask the broker for the queue's depth and every worker for what it does; raises
    RuntimeError naming the broker when it cannot be reached."""
    app = celery_app(config)
    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
            waiting = _queue_depth(connection, config.queue)
        inspect = app.control.inspect(timeout=timeout)
        stats = inspect.stats() or {}
        active = inspect.active() or {}
    except Exception as error:
        from scorecard.sources.git import redact

        raise RuntimeError(
            f"the broker at {redact(config.broker or '')} could not be reached: "
            f"{type(error).__name__}: {error}"
        ) from None
    workers = [
        WorkerStatus(
            name=name,
            busy=len(active.get(name) or []),
            concurrency=int((info.get("pool") or {}).get("max-concurrency") or 0),
            processed=sum((info.get("total") or {}).values()),
        )
        for name, info in sorted(stats.items())
    ]
    return ExecutorStatus(queue=config.queue, waiting=waiting, workers=workers)


def _queue_depth(connection: Any, queue: str) -> int:
    """Messages ready in `queue`; 0 when it does not exist yet (no run has used it)."""
    channel = connection.channel()
    try:
        return int(channel.queue_declare(queue=queue, passive=True).message_count)
    except Exception:
        return 0
    finally:
        with contextlib.suppress(Exception):
            channel.close()
