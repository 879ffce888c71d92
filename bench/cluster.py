"""Rows D1 and D2's machinery: a RabbitMQ virtual host of their own and `scorecard worker`
processes, each started and ready before a run is timed, stopped afterwards.

The virtual host keeps the rows' queues and workers apart from anything else on the
broker (tests, another bench), and deleting it removes whatever a crashed row left.
"""

from __future__ import annotations

import collections
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Collection, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

RABBITMQ = ("127.0.0.1", 5672)
READY_SECONDS = 60.0


def missing() -> str | None:
    """What the rows need and this machine lacks, or None."""
    if importlib.util.find_spec("celery") is None:
        return "Celery is not installed (pip install 'scorecard[distributed]')"
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not installed (Debian/Ubuntu: apt-get install rabbitmq-server)"
    try:
        socket.create_connection(RABBITMQ, 2).close()
    except OSError:
        return f"RabbitMQ is not listening on {RABBITMQ[0]}:{RABBITMQ[1]}"
    return None


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


@contextmanager
def virtual_host(prefix: str = "scorecard-bench") -> Iterator[str]:
    """The broker URL of a new RabbitMQ virtual host, deleted (queues and all) afterwards."""
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@{RABBITMQ[0]}:{RABBITMQ[1]}/{name}"
    finally:
        rabbitmqctl("delete_vhost", name)


class Worker:
    """`scorecard worker --concurrency C` for the workspace `config`, in a process group
    of its own (so that stopping it stops the pool processes it forked)."""

    def __init__(self, config: Path, name: str, concurrency: int = 1) -> None:
        self.name = f"{name}@{socket.gethostname()}"
        # The workspace file alone configures the worker: a SCORECARD_DATABASE_URL or
        # SCORECARD_BROKER_URL of the shell running the bench must not redirect it.
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCORECARD_")}
        env["PYTHONUNBUFFERED"] = "1"
        command = [
            sys.executable, "-m", "scorecard", "--config", str(config), "worker",
            f"--concurrency={concurrency}", f"--name={self.name}", "--loglevel=info",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            cwd=config.parent,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self._lines: collections.deque[str] = collections.deque(maxlen=60)
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        # Read to the end, so that a worker logging every shard never fills the pipe.
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._lines.append(line)
            if " ready." in line:
                self._ready.set()

    def wait_ready(self, timeout: float = READY_SECONDS) -> None:
        if not self._ready.wait(timeout):
            raise RuntimeError(f"worker {self.name} was not ready in {timeout:g} s:\n{self.log()}")

    def log(self) -> str:
        """The last lines it wrote."""
        return "".join(self._lines)

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the worker and the pool processes it forked (Linux;
        0 elsewhere)."""
        return _tree_cpu(self.process.pid)

    def stop(self) -> None:
        """A warm shutdown (SIGTERM to the group), then SIGKILL if it takes too long."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(20)


@dataclass(frozen=True)
class _Process:
    pid: int
    parent: int
    command: str
    cpu: float  # seconds, its own and those of the children it has reaped


def _processes() -> list[_Process]:
    """Every process /proc shows (none off Linux)."""
    found = []
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            command, _, rest = entry.read_text().partition(" (")[2].rpartition(")")
        except OSError:
            continue  # ended meanwhile
        fields = rest.split()
        # proc_pid_stat(5) counts from 1: ppid is field 4, utime to cstime fields 14–17.
        cpu = sum(int(value) for value in fields[11:15]) / tick
        found.append(_Process(int(entry.parent.name), int(fields[1]), command, cpu))
    return found


def cpu_of_commands(commands: Collection[str]) -> float:
    """CPU seconds used so far by the processes running `commands` (`postgres`,
    `beam.smp`): PostgreSQL's ended backends count in its postmaster's reaped children."""
    return sum(process.cpu for process in _processes() if process.command in commands)


def _tree_cpu(root: int) -> float:
    processes = _processes()
    below: dict[int, list[_Process]] = {}
    for process in processes:
        below.setdefault(process.parent, []).append(process)
    found = [p for p in processes if p.pid == root]
    for process in found:  # grows as it goes: children, then theirs
        found.extend(below.get(process.pid, []))
    return sum(process.cpu for process in found)


@contextmanager
def workers(config: Path, count: int, prefix: str) -> Iterator[list[Worker]]:
    """`count` workers of one process each for `config`, all ready; stopped on exit."""
    with ExitStack() as stack:
        started = []
        for number in range(1, count + 1):
            worker = Worker(config, f"{prefix}-{number}")
            stack.callback(worker.stop)
            started.append(worker)
        # Started together, waited for together: their imports overlap.
        for worker in started:
            worker.wait_ready()
        yield started
