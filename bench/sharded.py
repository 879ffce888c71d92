"""Rows D1 and D2: runs on the celery executor, timed against the local executor and
against fewer workers.

Each run goes into a new, empty PostgreSQL schema (created beforehand, dropped after) on
the server that `SCORECARD_BENCH_POSTGRES_URL` names, through a RabbitMQ virtual host of
the rows' own. The workers are `scorecard worker` processes of one pool process each
(`--concurrency 1`) over a workspace written for the run, started and ready, then warmed
up by a small run of entities of their own. What is timed is what `scorecard run` does
with the celery executor: the run started, then `complete_sharded_run` (plan, record and
send the shards, wait for the workers to store them, finish the run). The run is then
read back from the store, untimed, and must hold every result.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import text

from bench import catalog, cluster, load
from bench.cluster import Worker
from bench.context import POSTGRES_URL_VARIABLE, TRACK_FILE, Context, postgres_schema
from bench.peer import Unavailable
from bench.rows import Row
from scorecard.entity import Entity
from scorecard.planner import plan
from scorecard.report import RunReport
from scorecard.results import Outcome
from scorecard.runner import run_and_store
from scorecard.store import Store, WriteStats
from scorecard.tracks import Track
from scorecard.workspace import Workspace

# A run that stops making progress fails after this long instead of the default 15 min.
STALL_SECONDS = 120.0
# Shards of one entity per worker in the warm-up run before each timed run.
WARM_UP_SHARDS = 4
# The process names whose CPU time is counted as the database's and the broker's.
DATABASE_COMMANDS = frozenset({"postgres"})
BROKER_COMMANDS = frozenset({"beam.smp"})

# Row D1: the default shard size, as a workspace gets it without saying.
D1_SHARD_SIZE = 200
D1_WORKERS = (1, 2)
# 2 workers on 2 cores, against 1: see bench/README.md for why not 2×.
D1_TARGET = 1.3

# Row D2: each entity's check is one GET of a server that answers in 50 ms and serves 8
# requests at once, the rest waiting their turn; each worker evaluates 2 entities at once,
# so up to 4 workers stay within the server's limit, and 8 ask for twice what it serves.
# Few at once, so that the requests' CPU (client, server, store) stays well within this
# machine's 2 cores and the row measures the workers, not the cores.
IO_DELAY_MS = 50.0
IO_SERVER_LIMIT = 8
IO_CONCURRENCY = 2
D2_WORKERS = (1, 2, 4, 8)
# Shards of 40 wait 1 s on the server each; 24 of them divide alike among 1, 2, 4 or 8
# workers, and the coordinator's last look (once a second at most) is a small share.
IO_ENTITIES, IO_SHARD_SIZE = 960, 40
SMOKE_IO_ENTITIES, SMOKE_IO_SHARD_SIZE = 160, 20
LINEAR_SHARE = 0.8  # k workers within the limit must reach 0.8 k times one worker's rate

# The check of row D2, written into its workspace's check folder: the run's shared
# httpx.AsyncClient (`http`), one GET per entity, as a check reading an API would.
IO_CHECKS = '''
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from scorecard import Entity, Result, check


class Directory(BaseModel):
    url: str


@check(
    id="registered",
    title="Registered in the service directory",
    params=Directory,
    remediation="Register the service at {url}.",
)
async def registered(entity: Entity, params: Directory, http: Any) -> Result:
    """Passes when the service directory answers for the entity: one GET over the network,
    standing in for a GitHub API call."""
    response = await http.get(params.url, params={"ref": entity.ref})
    if response.status_code == 200:
        return Result.passed(f"{entity.ref} is registered.")
    return Result.failed(f"The directory answered {response.status_code} for {entity.ref}.")
'''


def _io_track(url: str) -> dict[str, Any]:
    return {
        "apiVersion": "scorecard/v1",
        "kind": "Track",
        "id": "bench-io",
        "title": "Benchmark I/O",
        "levels": [
            {"id": "bronze", "checks": [{"check": "registered", "with": {"url": url}}]},
        ],
    }


def _unavailable(ctx: Context) -> str | None:
    """Why the rows cannot run here, or None; raises under `--require-tools` for a missing
    broker or Celery. Without a PostgreSQL server they are skipped as row 13 is (CI leaves
    the variable empty only when no server listens)."""
    lacking = cluster.missing()
    if lacking is not None:
        if ctx.require_tools:
            raise Unavailable(lacking)
        return f"skipped: {lacking}"
    if not os.environ.get(POSTGRES_URL_VARIABLE):
        return (
            f"skipped: set {POSTGRES_URL_VARIABLE} to a PostgreSQL server "
            "(postgresql://user@host/database); each run works in a schema of its own and "
            "drops it"
        )
    return None


def write_workspace(
    folder: Path,
    *,
    database: str,
    broker: str,
    queue: str,
    tracks: list[Path],
    shard_size: int,
    concurrency: int = 16,
    checks: dict[str, str] | None = None,
) -> Path:
    """A workspace for the coordinator and its workers alike; returns its scorecard.yaml.
    `checks` are check modules (file name → source) for its check folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "checks").mkdir(exist_ok=True)
    for name, source in (checks or {}).items():
        (folder / "checks" / name).write_text(source)
    config = {
        # Never read: the run is given its entities, and workers get theirs in the shards.
        "catalog": ["catalog"],
        "tracks": [str(path) for path in tracks],
        "checks": ["checks"],
        "database": database,
        "concurrency": concurrency,
        "reload_interval": 0,
        "executor": {
            "kind": "celery",
            "broker": broker,
            "queue": queue,
            "shard_size": shard_size,
            "stall_timeout": STALL_SECONDS,
        },
    }
    path = folder / "scorecard.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@dataclass(frozen=True)
class Shards:
    """What a run's `run_shard` rows say: who evaluated what, and when."""

    # Per worker: shards stored, and seconds in them from taking each to its results
    # (`run_shard.finished_at` is stamped as the write begins).
    per_worker: dict[str, tuple[int, float]]
    deliveries: int  # summed over the shards: one each unless one was delivered again
    first_started: float  # Unix time
    last_finished: float

    @property
    def count(self) -> int:
        return sum(count for count, _ in self.per_worker.values())


def _shards_of(store: Store, run_id: int) -> Shards:
    query = text(
        "SELECT worker, count(*), sum(extract(epoch FROM finished_at - started_at)),"
        " sum(attempts), min(extract(epoch FROM started_at)),"
        " max(extract(epoch FROM finished_at))"
        " FROM run_shard WHERE run_id = :run AND status = 'done' GROUP BY worker"
    )
    with store.engine.connect() as connection:
        rows = connection.execute(query, {"run": run_id}).all()
    return Shards(
        per_worker={str(row[0]): (int(row[1]), float(row[2] or 0)) for row in rows},
        deliveries=sum(int(row[3]) for row in rows),
        first_started=min(float(row[4]) for row in rows),
        last_finished=max(float(row[5]) for row in rows),
    )


@dataclass
class ShardedRun:
    workers: int
    entities: int
    seconds: float
    # Seconds from the start: the shards all sent (the coordinator's first look at
    # them), the first taken by a worker, the last evaluated (its write then begins), and
    # the last seen stored by the coordinator (which looks every second at most); the rest
    # is finishing the run.
    sent: float
    first_taken: float
    last_evaluated: float
    last_seen: float
    # CPU seconds of the timed run: the workers' processes, the coordinator's (this
    # process), PostgreSQL's and RabbitMQ's (0 when they run on another machine).
    worker_cpu: float
    coordinator_cpu: float
    database_cpu: float
    broker_cpu: float
    shards: Shards
    warmed: int  # workers that evaluated a shard of the warm-up run
    stats: WriteStats
    report: RunReport = field(repr=False)

    @property
    def rate(self) -> float:
        return self.entities / self.seconds

    @property
    def shards_seconds(self) -> float:
        """From the first shard taken to the last evaluated: the part the workers share."""
        return self.last_evaluated - self.first_taken

    def as_dict(self) -> dict[str, Any]:
        # Not asdict(self): it would copy the report's every pair.
        kept = ("workers", "entities", "seconds", "sent", "first_taken", "last_evaluated")
        more = ("last_seen", "worker_cpu", "coordinator_cpu", "database_cpu", "broker_cpu")
        return {name: getattr(self, name) for name in (*kept, *more, "warmed")} | {
            "shards": self.shards.count,
            "deliveries": self.shards.deliveries,
            "per_worker": {name: list(shards) for name, shards in self.shards.per_worker.items()},
            "entities_per_second": self.rate,
            "stats": asdict(self.stats),
        }

    def cpu(self) -> str:
        return cpu_per_entity(
            self.entities,
            workers=self.worker_cpu,
            coordinator=self.coordinator_cpu,
            PostgreSQL=self.database_cpu,
            RabbitMQ=self.broker_cpu,
        )

    def spread(self) -> str:
        """How the shards went: when, and which worker evaluated how many."""
        workers = ", ".join(
            f"{name.split('@')[0]} {count} ({busy:.2f} s)"
            for name, (count, busy) in sorted(self.shards.per_worker.items())
        )
        said = (
            f"{self.shards.count} shards sent by {self.sent:.2f} s, the first taken at "
            f"{self.first_taken:.2f} s, the last evaluated at {self.last_evaluated:.2f} s and "
            f"seen stored at {self.last_seen:.2f} s; per worker, shards (seconds from taking "
            f"to evaluated): {workers}"
        )
        if self.shards.deliveries != self.shards.count:
            said += f"; {self.shards.deliveries - self.shards.count} shards delivered again"
        if self.warmed < self.workers:
            said += f"; the warm-up reached {self.warmed} of the {self.workers} workers"
        return said


def sharded_run(
    store: Store,
    config: Path,
    entities: Sequence[Entity],
    workers: Sequence[Worker],
    before: Callable[[], object] = lambda: None,
) -> ShardedRun:
    """Run `entities` on the ready `workers` of the workspace `config` into `store`, as
    `scorecard run` would, after a warm-up run; then read the run back and check that it
    is whole. `before` is called just before the clock starts."""
    from scorecard.distributed.app import celery_app
    from scorecard.distributed.coordinator import complete_sharded_run
    from scorecard.distributed.fingerprint import configuration_fingerprint
    from scorecard.registry import build_registry
    from scorecard.tracks import load_tracks

    workspace = Workspace.from_file(config)
    tracks = load_tracks(workspace.tracks, build_registry(workspace.checks))
    fingerprint = configuration_fingerprint(workspace)
    # Celery, kombu and the AMQP client are imported and the broker reached before the
    # clock starts: a coordinator that has run before has them.
    with celery_app(workspace.executor).connection_for_write() as connection:
        connection.ensure_connection(max_retries=1)
    warmed = _warm_up(store, workspace, tracks, fingerprint, len(workers))
    looks: list[float] = []
    before()
    gc.collect()
    worker_cpu = sum(worker.cpu_seconds() for worker in workers)
    coordinator_cpu = time.process_time()
    database_cpu = cluster.cpu_of_commands(DATABASE_COMMANDS)
    broker_cpu = cluster.cpu_of_commands(BROKER_COMMANDS)
    start, started_at = time.perf_counter(), time.time()
    run_id = store.start_run("bench", {"tracks": [t.id for t in tracks], "entity": None})
    stored = complete_sharded_run(
        store,
        run_id,
        entities,
        tracks,
        executor=workspace.executor,
        fingerprint=fingerprint,
        progress=lambda _: looks.append(time.perf_counter() - start),
        read_back=False,  # read below, untimed: a server's runs read nothing back
    )
    seconds = time.perf_counter() - start
    coordinator_cpu = time.process_time() - coordinator_cpu
    worker_cpu = sum(worker.cpu_seconds() for worker in workers) - worker_cpu
    database_cpu = cluster.cpu_of_commands(DATABASE_COMMANDS) - database_cpu
    broker_cpu = cluster.cpu_of_commands(BROKER_COMMANDS) - broker_cpu
    report = _read_back(store, entities, tracks)
    shards = _shards_of(store, run_id)
    return ShardedRun(
        workers=len(workers),
        entities=len(entities),
        seconds=seconds,
        sent=looks[0],
        first_taken=shards.first_started - started_at,
        last_evaluated=shards.last_finished - started_at,
        last_seen=looks[-1],
        worker_cpu=worker_cpu,
        coordinator_cpu=coordinator_cpu,
        database_cpu=database_cpu,
        broker_cpu=broker_cpu,
        shards=shards,
        warmed=warmed,
        stats=stored.stats,
        report=report,
    )


def _warm_up(
    store: Store, workspace: Workspace, tracks: Sequence[Track], fingerprint: str, workers: int
) -> int:
    """A run of a few entities of their own, in shards of one, before the timed run; the
    number of workers that took one of its shards.

    A worker process opens its database connection and loads what a check needs on its
    first shard, half a second or more; one in service has done that long before a run
    comes. The entities' names are not the catalog's, so the timed run finds nothing of
    theirs stored and still evaluates and writes every entity."""
    from scorecard.distributed.coordinator import complete_sharded_run

    run_id = store.start_run("bench warm-up", {"tracks": [t.id for t in tracks], "entity": None})
    complete_sharded_run(
        store,
        run_id,
        warm_up_entities(WARM_UP_SHARDS * workers),
        tracks,
        executor=workspace.executor.model_copy(update={"shard_size": 1}),
        fingerprint=fingerprint,
        read_back=False,
    )
    return len(_shards_of(store, run_id).per_worker)


def warm_up_entities(count: int) -> list[Entity]:
    """`count` entities whose names are not the catalog's."""
    documents = list(catalog.generate(count))
    for document in documents:
        document["metadata"]["name"] = f"warm-up-{document['metadata']['name']}"
    return [Entity(document, source="bench warm-up") for document in documents]


def _read_back(store: Store, entities: Sequence[Entity], tracks: Sequence[Track]) -> RunReport:
    wanted = [(item.entity.ref, track) for item in plan(entities, tracks) for track in item.tracks]
    pairs = store.shards.stored_pairs(wanted)
    if len(pairs) != len(wanted):
        raise RuntimeError(f"the run stored {len(pairs):,} of its {len(wanted):,} pairs")
    now = datetime.now(UTC)
    return RunReport(started_at=now, finished_at=now, entities=list(entities), pairs=pairs)


@contextmanager
def _empty_store(server: str) -> Iterator[tuple[str, Store]]:
    """A store in a new schema (its tables created, not part of a run), dropped after."""
    with postgres_schema(server) as database:
        store = Store(database)
        try:
            yield database, store
        finally:
            store.close()


def _server_version(store: Store) -> str:
    return ".".join(map(str, store.engine.dialect.server_version_info or ()))


def _process_cpu() -> float:
    """CPU seconds of this process and of the children it has reaped (forked evaluators)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@dataclass(frozen=True)
class LocalRun:
    seconds: float
    cpu: float  # CPU seconds of this process and the processes it forked
    database_cpu: float
    postgresql: str  # the server's version


def _local_run(ctx: Context, server: str) -> LocalRun:
    """Row 13's cold run, warmed up as the workers are (`_warm_up`)."""
    with _empty_store(server) as (_, store):
        version = _server_version(store)
        run_and_store(store, warm_up_entities(WARM_UP_SHARDS), ctx.tracks, trigger="bench")
        entities = ctx.fresh_entities()
        ctx.log(f"cold run of {ctx.size:,} entities on the local executor")
        gc.collect()
        cpu, database_cpu = _process_cpu(), cluster.cpu_of_commands(DATABASE_COMMANDS)
        start = time.perf_counter()
        stored = run_and_store(store, entities, ctx.tracks, trigger="bench")
        seconds = time.perf_counter() - start
        cpu = _process_cpu() - cpu
        database_cpu = cluster.cpu_of_commands(DATABASE_COMMANDS) - database_cpu
    ctx.check_complete(stored.report, ctx.size)
    ctx.record_passes(stored.report)
    return LocalRun(seconds, cpu, database_cpu, version)


def cpu_per_entity(entities: int, **seconds: float) -> str:
    """CPU milliseconds per entity of each named side, e.g. workers=12.0."""
    shown = ", ".join(f"{name} {cpu * 1000 / entities:.2f}" for name, cpu in seconds.items())
    return f"CPU ms per entity: {shown}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def row_d1(ctx: Context) -> Row:
    """The same cold run on the local executor, then on 1 and 2 celery workers."""
    what = (
        f"cold run of {ctx.size:,} entities into PostgreSQL: local executor, 1 and 2 celery workers"
    )
    target = f"2 workers ≥ {D1_TARGET}× 1 worker"
    skipped = _unavailable(ctx)
    if skipped is not None:
        return Row("D1", what, "—", target, None, skipped)
    server = os.environ[POSTGRES_URL_VARIABLE]
    local = _local_run(ctx, server)
    runs: list[ShardedRun] = []
    with cluster.virtual_host() as broker:
        for count in D1_WORKERS:
            with _empty_store(server) as (database, store):
                config = write_workspace(
                    ctx.workdir / f"d1-{count}-workers",
                    database=database,
                    broker=broker,
                    queue=f"bench-d1-{count}",
                    tracks=[TRACK_FILE],
                    shard_size=D1_SHARD_SIZE,
                )
                with cluster.workers(config, count, f"d1-{count}") as started:
                    entities = ctx.fresh_entities()
                    ctx.log(f"cold run of {ctx.size:,} entities on {_plural(count, 'worker')}")
                    run = sharded_run(store, config, entities, started)
                ctx.check_complete(run.report, ctx.size)
                # The workers must count the passes the local run counted.
                ctx.record_passes(run.report)
            runs.append(run)
    local_rate = ctx.size / local.seconds
    one, two = runs
    over_local, scaling = one.rate / local_rate, two.rate / one.rate
    measured = (
        f"local {local_rate:,.0f}/s, 1 worker {one.rate:,.0f}/s = {over_local:.2f}× local, "
        f"2 workers {two.rate:,.0f}/s = {scaling:.2f}× 1 worker"
    )
    shards_scaling = one.shards_seconds / two.shards_seconds
    local_cpu = cpu_per_entity(ctx.size, run=local.cpu, PostgreSQL=local.database_cpu)
    detail = (
        f"entities/s over the whole run; PostgreSQL {local.postgresql}, shards of "
        f"{D1_SHARD_SIZE}, every worker one process (--concurrency 1); local "
        f"{local.seconds:.2f} s, {local_cpu} (the run forks one process per core when it is "
        f"large); the shards alone (first taken to last evaluated) went "
        f"{shards_scaling:.2f}× as fast on 2 workers as on 1; "
        + "; ".join(
            f"{_plural(run.workers, 'worker')} {run.seconds:.2f} s, {run.cpu()}: {run.spread()}"
            for run in runs
        )
    )
    data = {
        "local": asdict(local),
        "local_entities_per_second": local_rate,
        "one_worker_over_local": over_local,
        "two_workers_over_one": scaling,
        "two_workers_over_one_shards_only": shards_scaling,
        "runs": [run.as_dict() for run in runs],
    }
    return Row("D1", what, measured, target, scaling >= D1_TARGET, detail, data)


def _server_stats(url: str) -> dict[str, int]:
    """The slow server's counts since it was last asked (`bench.serve.slow_app`)."""
    status, body = load.get(f"{url}/stats")
    if status != 200:
        raise RuntimeError(f"GET /stats answered {status}")
    return json.loads(body)


def row_d2(ctx: Context) -> Row:
    """I/O-bound checks (a GET of 50 ms each) on 1 to 8 celery workers."""
    size, shard_size = (
        (SMOKE_IO_ENTITIES, SMOKE_IO_SHARD_SIZE) if ctx.smoke else (IO_ENTITIES, IO_SHARD_SIZE)
    )
    what = (
        f"{size:,} entities, one {IO_DELAY_MS:g} ms GET each (a server serving "
        f"{IO_SERVER_LIMIT} at once), on {', '.join(map(str, D2_WORKERS))} celery workers"
    )
    most = IO_SERVER_LIMIT // IO_CONCURRENCY
    target = f"k workers ≥ {LINEAR_SHARE:g}k × 1 worker up to k = {most}"
    skipped = _unavailable(ctx)
    if skipped is not None:
        return Row("D2", what, "—", target, None, skipped)
    server = os.environ[POSTGRES_URL_VARIABLE]
    slow = ["slow", "--delay-ms", f"{IO_DELAY_MS:g}", "--limit", str(IO_SERVER_LIMIT)]
    runs: list[tuple[ShardedRun, dict[str, int]]] = []
    with load.server(slow) as url, cluster.virtual_host() as broker:
        track = ctx.workdir / "d2-track.yaml"
        track.write_text(yaml.safe_dump(_io_track(f"{url}/services"), sort_keys=False))
        for count in D2_WORKERS:
            with _empty_store(server) as (database, store):
                config = write_workspace(
                    ctx.workdir / f"d2-{count}-workers",
                    database=database,
                    broker=broker,
                    queue=f"bench-d2-{count}",
                    tracks=[track],
                    shard_size=shard_size,
                    concurrency=IO_CONCURRENCY,
                    checks={"directory.py": IO_CHECKS},
                )
                with cluster.workers(config, count, f"d2-{count}") as started:
                    entities = [Entity(d, source="bench") for d in catalog.generate(size)]
                    ctx.log(f"{size:,} entities, a GET each, on {_plural(count, 'worker')}")
                    # The server's counts start from zero after the warm-up.
                    run = sharded_run(store, config, entities, started, lambda: _server_stats(url))
                    answered = _server_stats(url)
            _check_io_run(run, answered, size)
            runs.append((run, answered))
    base = runs[0][0].rate
    speedups = {run.workers: run.rate / base for run, _ in runs}
    passed = all(speedups[k] >= LINEAR_SHARE * k for k in speedups if k <= most)
    measured = f"1 worker {base:,.1f} entities/s; " + ", ".join(
        f"{k} workers {speedups[k]:.2f}×" for k in speedups if k > 1
    )
    detail = (
        f"each worker evaluates {IO_CONCURRENCY} entities at once (workspace concurrency): "
        f"at most {IO_CONCURRENCY / IO_DELAY_MS * 1000:,.0f} entities/s, and k workers hold "
        f"{IO_CONCURRENCY}k requests open, so beyond {most} workers they wait for the server; "
        f"shards of {shard_size}; "
        + "; ".join(
            f"{_plural(run.workers, 'worker')} {run.seconds:.2f} s, {run.rate:,.1f}/s, at "
            f"most {answered['peak_open']} requests open at once, {run.cpu()}: {run.spread()}"
            for run, answered in runs
        )
    )
    data = {
        "entities": size,
        "delay_ms": IO_DELAY_MS,
        "server_limit": IO_SERVER_LIMIT,
        "concurrency_per_worker": IO_CONCURRENCY,
        "speedups": speedups,
        "runs": [run.as_dict() | {"server": answered} for run, answered in runs],
    }
    return Row("D2", what, measured, target, passed, detail, data)


def _check_io_run(run: ShardedRun, answered: dict[str, int], size: int) -> None:
    """Every entity passed, on one request each: a shard evaluated twice would show as
    more requests than entities."""
    passes = run.report.outcome_count(Outcome.PASS)
    if passes != size or answered["requests"] != size:
        raise RuntimeError(
            f"{_plural(run.workers, 'worker')}: {passes:,} of {size:,} entities passed, the "
            f"server answered {answered['requests']:,} requests"
        )
