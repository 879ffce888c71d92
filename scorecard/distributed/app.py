"""The Celery application of a workspace's `celery` executor.

Delivery is at least once: a shard's message is acknowledged only after its results are
committed (late acknowledgement), and a worker killed in the middle of one — its process
or its machine — has the broker deliver it again. The store makes the second delivery
write nothing (`scorecard.store.shards.write_shard`). Results are never sent back through
Celery: the store is where a run's coordinator looks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scorecard.workspace import ExecutorConfig

if TYPE_CHECKING:
    from celery import Celery

# The one task: evaluate a shard of a run (`scorecard.distributed.worker`).
EVALUATE_SHARD = "scorecard.evaluate_shard"

MISSING_EXTRA = (
    "the celery executor needs Celery: pip install 'scorecard[distributed]' "
    "(or pip install 'celery>=5.3')"
)


def celery_app(config: ExecutorConfig) -> Celery:
    """A Celery app for the broker and queue of `config`; raises RuntimeError without
    Celery installed."""
    try:
        from celery import Celery
    except ImportError:
        raise RuntimeError(MISSING_EXTRA) from None
    app = Celery("scorecard", broker=config.broker, set_as_current=False)
    app.conf.update(
        task_default_queue=config.queue,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # Acknowledged once the shard is stored; a worker that dies holding one gives it
        # back. One message per worker process at a time, so that a slow shard holds up
        # no other.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # A worker that loses the broker stops the shard it evaluates (it is delivered
        # again) rather than finishing work whose acknowledgement can no longer arrive.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        # Workers wait for a broker that is down (restarted) for as long as it takes; the
        # coordinator's publishing gives up after a few seconds and fails the run.
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        task_publish_retry=True,
        task_publish_retry_policy={
            "max_retries": 5,
            "interval_start": 0.5,
            "interval_step": 1.0,
            "interval_max": 3.0,
        },
        worker_send_task_events=False,
    )
    return app
