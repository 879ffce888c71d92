"""Real Celery workers on this machine's RabbitMQ, for the celery executor's tests.

Each test session gets a RabbitMQ virtual host of its own (removed afterwards), so that
its queues, and the workers that answer `scorecard workers`, are its own. Workers are
`scorecard worker` subprocesses in process groups of their own, so that a test can kill a
worker with everything it forked, as a machine going down would.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path

import pytest
import yaml

from bench.catalog import generate
from bench.cluster import Worker as BenchWorker
from bench.cluster import missing, rabbitmqctl
from bench.cluster import virtual_host as bench_virtual_host

REPO_ROOT = Path(__file__).resolve().parents[2]


def need_rabbitmq() -> None:
    """Skip without RabbitMQ on this machine, except under CI, where it must be there."""
    reason = missing()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def virtual_host() -> AbstractContextManager[str]:
    """The URL of a new RabbitMQ virtual host, deleted (queues and all) afterwards."""
    return bench_virtual_host("scorecard-test")


@contextmanager
def broker_stopped(seconds: float) -> Iterator[None]:
    """RabbitMQ's application stopped for `seconds`, then started again (a broker
    restart: connections drop, durable queues and persistent messages stay)."""
    rabbitmqctl("stop_app")
    try:
        time.sleep(seconds)
        yield
    finally:
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")


# A check module of the test workspace: slow checks to kill a worker in the middle of, and
# one that kills its own process, as a check gone wrong in a native library could.
CHAOS_CHECKS = '''
from __future__ import annotations

import os
import signal
import time

from pydantic import BaseModel

from scorecard import Entity, Result, check


class Pause(BaseModel):
    seconds: float = 0.0


@check(id="takes_time", title="Takes its time", params=Pause, remediation="Wait.")
def takes_time(entity: Entity, params: Pause) -> Result:
    """Passes after a pause: a slow API, standing in."""
    time.sleep(params.seconds)
    return Result.passed(f"{entity.ref} waited {params.seconds} s.")


@check(id="kills_its_process", title="Kills its process", remediation="Do not.")
def kills_its_process(entity: Entity) -> Result:
    """An entity annotated `test/poison: "true"` kills the process that evaluates it."""
    annotations = entity.raw.get("metadata", {}).get("annotations") or {}
    if annotations.get("test/poison") == "true":
        os.kill(os.getpid(), signal.SIGKILL)
    return Result.passed(f"{entity.ref} is harmless.")
'''

CHAOS_TRACK = {
    "apiVersion": "scorecard/v1",
    "kind": "Track",
    "id": "chaos",
    "title": "Chaos",
    "filter": {"kind": "Component"},
    "levels": [
        {
            "id": "bronze",
            "checks": [
                {"check": "takes_time", "with": {"seconds": 0.0}},
                "kills_its_process",
            ],
        }
    ],
}


def write_workspace(
    root: Path,
    *,
    database: str,
    broker: str,
    size: int,
    queue: str = "scorecard",
    shard_size: int = 200,
    pause: float = 0.0,
    poison: tuple[int, ...] = (),
    stall_timeout: float = 120.0,
    shard_attempts: int = 3,
    variant: int = 0,
) -> Path:
    """A workspace of `size` generated entities (and the groups that own some of them),
    the bundled `basics` track and the `chaos` track; returns its scorecard.yaml.

    `pause` is what `takes_time` waits per entity; entities numbered in `poison` kill the
    process that evaluates them. `variant` 1 is the same catalog a week later: every third
    entity has lost its description, one has changed hands, five are gone."""
    documents = list(generate(size))
    if variant == 1:
        for document in documents[::3]:
            document["metadata"].pop("description", None)
        documents[1]["spec"]["owner"] = "group:default/team-002"  # handed to another team
        del documents[-5:]  # retired
    for index in poison:
        annotations = documents[index]["metadata"].setdefault("annotations", {})
        annotations["test/poison"] = "true"
        documents[index]["kind"] = "Component"
    groups = [
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Group",
            "metadata": {"name": f"team-{number:03d}"},
            "spec": {"type": "team", "children": []},
        }
        for number in range(0, 300, 2)  # half the teams exist: owner_exists fails for others
    ]
    (root / "catalog").mkdir(parents=True, exist_ok=True)
    with open(root / "catalog" / "catalog-info.yaml", "w") as file:
        yaml.safe_dump_all(groups + documents, file, sort_keys=False)
    (root / "tracks").mkdir(exist_ok=True)
    shutil.copy(REPO_ROOT / "tracks" / "basics.yaml", root / "tracks" / "basics.yaml")
    track = CHAOS_TRACK | {}
    track["levels"] = [
        {
            "id": "bronze",
            "checks": [{"check": "takes_time", "with": {"seconds": pause}}, "kills_its_process"],
        }
    ]
    (root / "tracks" / "chaos.yaml").write_text(yaml.safe_dump(track, sort_keys=False))
    (root / "checks").mkdir(exist_ok=True)
    (root / "checks" / "chaos.py").write_text(CHAOS_CHECKS)
    config = {
        "catalog": ["catalog"],
        "tracks": ["tracks"],
        "checks": ["checks"],
        "database": {"url": database},
        "reload_interval": 0,
        "executor": {
            "kind": "celery",
            "broker": broker,
            "queue": queue,
            "shard_size": shard_size,
            "shard_attempts": shard_attempts,
            "stall_timeout": stall_timeout,
        },
    }
    path = root / "scorecard.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class Worker(BenchWorker):
    """A `scorecard worker` subprocess (bench.cluster's), started at once; a test may kill
    it as a machine going down would, or stop it as an operator does."""

    def wait_ready(self, timeout: float = 60.0) -> Worker:  # type: ignore[override]
        try:
            super().wait_ready(timeout)
        except RuntimeError as error:
            self.kill()
            raise AssertionError(str(error)) from None
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the worker and every process it forked."""
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
        if sig == signal.SIGKILL:
            self.process.wait(30)

    def terminate(self) -> None:
        """SIGTERM to the worker's main process alone, as `kill PID` or Kubernetes sends
        it: a warm shutdown."""
        self.process.send_signal(signal.SIGTERM)


def start_run(config: Path) -> subprocess.Popen[str]:
    """`scorecard run` as a process of its own: the coordinator of a sharded run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCORECARD_")}
    return subprocess.Popen(
        [sys.executable, "-m", "scorecard", "--config", str(config), "run", "--format", "json"],
        cwd=config.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    """Rows of `sql` on the test's PostgreSQL schema."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def wait_for(what: str, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Wait until `condition()` holds; one that raises (a table not made yet) does not."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def finished_run(process: subprocess.Popen[str], timeout: float = 180.0) -> tuple[int, str, str]:
    """The exit code, output and errors of a `start_run` process."""
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err
