"""Runs evaluated by Celery workers: the `celery` executor (`executor: {kind: celery}`).

The data flow of a local run, split across processes:

    coordinator (serve / `scorecard run`)          workers (`scorecard worker`)
    catalog → planner → shards ──► broker ──►      evaluate a shard → one transaction
       │  (planning transaction: entities,                        (results, history,
       │   layouts, `run_shard` rows)                              certifications)
       └─ waits on the `run_shard` rows ──► finishing transaction (gone, roll-ups, counts)

`shards` splits a planned run; `coordinator` plans, enqueues and waits; `worker` is the
Celery task; `app` configures Celery for at-least-once delivery (late acknowledgement),
which the store's per-shard claim makes exactly-once in effect (`scorecard.store.shards`).
Only `app` and `worker` import Celery, an optional dependency (the `distributed` extra).
"""
