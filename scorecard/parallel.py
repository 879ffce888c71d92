"""Evaluating a large run on every core: forked processes, each evaluating a share of
the plans, their packed results handed back a slice at a time, in plan order. And
hashing a large catalog's documents for a re-run, most of them in a forked process
while this one reads the stored state (`hash_documents`).

Python runs one thread of checks at a time. A check that reads only the entity, its
params and the catalog is a function of data the process already holds, so a forked
child sees all of it without a copy or a byte pickled; only the packed results (one
string per entity and track) travel back. Checks that read repositories, HTTP or GitHub
share caches and clients across the run, and stay in one process.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, TypeVar

from scorecard.entity import Entity
from scorecard.executor import Executor, Finish, Progress
from scorecard.inputs import CatalogView
from scorecard.planner import EntityPlan

T = TypeVar("T")
R = TypeVar("R")
# What a caller does with each slice of results as it arrives: the slice's plans and
# their results, in plan order.
Taken = Callable[[Sequence[EntityPlan], list[T]], None]

# Inputs that are data the process already holds; any other makes a plan stay in process.
_HELD_INPUTS = frozenset({"entity", "params", "catalog"})
# Below this many check evaluations one process finishes before forking pays off.
MIN_EVALUATIONS = 50_000


def processes_for(plans: Sequence[EntityPlan], limit: int | None = None) -> int:
    """How many processes to evaluate `plans` in: one, unless the run is large, every
    check of it runs inline on held inputs, and there are cores to spare. `limit` caps it
    (None: the cores this process may use)."""
    if not _can_fork():
        return 1
    cores = _cores()
    wanted = min(cores, limit) if limit is not None else cores
    if wanted < 2:
        return 1
    tracks = {id(track): track for plan in plans for track in plan.tracks}
    per_entity = [len(track.checks) for track in tracks.values()]
    if not per_entity or len(plans) * max(per_entity) < MIN_EVALUATIONS:
        return 1
    for track in tracks.values():
        for configured in track.checks:
            check = configured.check
            if not check.runs_inline or not _HELD_INPUTS.issuperset(check.inputs):
                return 1
    return wanted


def _can_fork() -> bool:
    # Fork is POSIX; macOS system libraries are not safe to use in a forked child.
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def evaluate_forked(
    executor: Executor,
    plans: Sequence[EntityPlan],
    catalog: CatalogView,
    progress: Progress | None,
    finish: Finish[T],
    processes: int,
    meanwhile: Callable[[], None] | None = None,
    taken: Taken[T] | None = None,
) -> list[T]:
    """`executor.run` over `plans` in `processes` processes, in plan order: this one
    evaluates the first share while forked children evaluate the others; or, given
    `meanwhile`, children evaluate every share while this process calls it.

    Each child writes its share's results to a spool file, a slice of plans at a time
    (so that it never holds more than a slice's results); this process takes each slice
    as soon as it is written, from whichever child wrote it, and hands it to
    `taken(plans, results)` — so that a run stores a slice while the children evaluate
    the next, rather than everything after the last. A pipe would hold a child back
    until this process read it, which a process busy with its own share does late:
    through a pipe, a 100,000-entity run took 3.4 s on two cores, against 2.2 s through
    files.
    """
    size = -(-len(plans) // processes)
    shares = [(start, min(start + size, len(plans))) for start in range(0, len(plans), size)]
    own = shares[0] if meanwhile is None else (0, 0)
    spools: list[_Spool] = []
    try:
        for start, end in shares[1:] if meanwhile is None else shares:
            spools.append(_fork(executor, plans, start, end, catalog, finish))
        if meanwhile is not None:
            meanwhile()
        start, end = own
        found = executor.run(list(plans[start:end]), catalog, None, finish) if end else []
        if end:
            if taken is not None:
                taken(plans[start:end], found)
            if progress:
                progress(end - start)
        waiting = list(spools)
        while waiting:
            arrived = False
            for spool in list(waiting):
                ended = spool.ended()  # before reading: every slice of an ended child is there
                for start, part in spool.slices():
                    arrived = True
                    if taken is not None:
                        taken(plans[start : start + len(part)], part)
                    if progress:
                        progress(len(part))
                if ended:
                    waiting.remove(spool)
            if not arrived and waiting:
                time.sleep(_POLL_SECONDS)
        for spool in spools:
            found.extend(spool.found)
        return found
    finally:
        for spool in spools:
            spool.close()


# The children yield the cores to this process, which stores each slice as it comes: a
# run of 100,000 entities is bound by its one writer, which had shared the two cores
# with the two children while it wrote the entities and then stored every slice after
# the last (3.4–3.6 s); given the cores first, it stores them as they come (2.9–3.0 s).
_CHILD_NICENESS = 10

# How long this process waits for a child's next slice before looking again.
_POLL_SECONDS = 0.002


def _fork(
    executor: Executor,
    plans: Sequence[EntityPlan],
    start: int,
    end: int,
    catalog: CatalogView,
    finish: Finish[T],
) -> _Spool:
    descriptor, path = tempfile.mkstemp(prefix="scorecard-run-", suffix=".pickle", dir=_SPOOL)
    try:
        pid = os.fork()
    except OSError:
        os.close(descriptor)
        os.unlink(path)
        raise
    if pid == 0:  # the child: evaluate, write, and leave without running the parent's exit
        status = 1
        try:
            os.nice(_CHILD_NICENESS)
            with os.fdopen(descriptor, "wb") as spool:
                # A slice at a time, each written as soon as it is evaluated: the child
                # holds one slice's results, not its whole share's, and the parent can
                # take it while the next is evaluated.
                try:
                    for first in range(start, end, _SLICE):
                        part = list(plans[first : min(first + _SLICE, end)])
                        value: Any = executor.run(part, catalog, None, finish)
                        _write_frame(spool, (first, value))
                        del value
                except BaseException as error:  # reported by the parent, with its reason
                    _write_frame(spool, _Failed(f"{type(error).__name__}: {error}"))
            status = 0
        finally:
            os._exit(status)
    os.close(descriptor)
    return _Spool(pid, path)


def _write_frame(spool: BinaryIO, value: Any) -> None:
    # Its length first: the reader takes a frame only once all of it is in the file.
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    spool.write(len(data).to_bytes(8, "little"))
    spool.write(data)
    spool.flush()


class _Spool:
    """A child's spool file, read a frame at a time as the child writes it."""

    def __init__(self, pid: int, path: str) -> None:
        self.pid = pid
        self.path = path
        self._running = True
        self.found: list[Any] = []  # the child's results so far, in plan order
        self._file = open(path, "rb")  # noqa: SIM115 (closed by `close`)
        self._offset = 0

    def slices(self) -> Iterator[tuple[int, list[Any]]]:
        """The slices written since the last call: (index of the first plan, results)."""
        descriptor = self._file.fileno()
        size = os.fstat(descriptor).st_size
        while size - self._offset >= 8:
            length = int.from_bytes(os.pread(descriptor, 8, self._offset), "little")
            if size - self._offset - 8 < length:
                break  # the child is still writing it
            value = pickle.loads(os.pread(descriptor, length, self._offset + 8))
            self._offset += 8 + length
            if isinstance(value, _Failed):
                raise RuntimeError(f"a process evaluating part of the run failed: {value.reason}")
            start, part = value
            self.found.extend(part)
            yield start, part

    def ended(self) -> bool:
        """Whether the child has exited (raises if it did not exit normally)."""
        if not self._running:
            return True
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return False
        self._running = False  # reaped: its id may be reused
        if status != 0:
            raise RuntimeError(
                f"a process evaluating part of the run ended abnormally "
                f"(wait status {status}); its results are lost, so the run fails"
            )
        return True

    def close(self) -> None:
        """Stop a child still running (this process failed or was interrupted) and
        remove the spool file."""
        if self._running:
            self._running = False
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        self._file.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)


@dataclass(frozen=True)
class _Failed:
    reason: str


# Plans a child evaluates and writes at a time.
_SLICE = 2_000


# Memory-backed where Linux has it: a spool file is written once and read once.
_SPOOL = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


# A re-run hashes every document; from this many on, a forked child hashes most of them.
MIN_DOCUMENTS = 20_000
# The share of the documents this process hashes itself: it reads the stored pairs
# meanwhile, which takes about as long as hashing the rest.
_OWN_SHARE = 0.25


def hash_documents(
    entities: Sequence[Entity], meanwhile: Callable[[], R]
) -> tuple[list[str | None], R]:
    """Every entity's document digest (`Entity.digest`, remembered on the entity; None
    for a document that cannot be hashed, which `Entity.digest` raises about), made
    while `meanwhile()` is called, and what it returned.

    A re-run of a large catalog waits for nothing but this and a read of its stored
    state: a forked child hashes most of the documents while this process does the read
    (`meanwhile`) and hashes the rest, then takes the child's digests. If the child
    fails, this process hashes its share too.
    """
    split = len(entities)
    child: int | None = None
    reading = -1
    if len(entities) >= MIN_DOCUMENTS and _can_fork() and _cores() >= 2:
        split = int(len(entities) * _OWN_SHARE)
        reading, writing = os.pipe()
        try:
            child = os.fork()
        except OSError:
            os.close(reading)
            os.close(writing)
            child, reading, split = None, -1, len(entities)
        else:
            if child == 0:  # the child: hash its share, send the digests, leave
                status = 1
                try:
                    os.close(reading)
                    theirs = [_digest_or_none(entity) for entity in entities[split:]]
                    with os.fdopen(writing, "wb") as pipe:
                        pickle.dump(theirs, pipe, protocol=pickle.HIGHEST_PROTOCOL)
                    status = 0
                finally:
                    os._exit(status)
            os.close(writing)
    sent: list[str | None] | None = None
    try:
        found = meanwhile()
        digests = [_digest_or_none(entity) for entity in entities[:split]]
    finally:
        if child is not None:
            sent = _take_digests(child, reading)
    if split < len(entities):
        if sent is None or len(sent) != len(entities) - split:
            sent = [_digest_or_none(entity) for entity in entities[split:]]
        else:
            for entity, digest in zip(entities[split:], sent, strict=True):
                if digest is not None:
                    entity.remember_digest(digest)
        digests.extend(sent)
    return digests, found


def _digest_or_none(entity: Entity) -> str | None:
    try:
        return entity.digest()
    except (ValueError, TypeError, RecursionError):
        return None  # raised again when asked for


def _take_digests(pid: int, reading: int) -> list[str | None] | None:
    """The child's digests, once it has sent them and exited; None if it failed."""
    try:
        with os.fdopen(reading, "rb") as pipe:
            data = pipe.read()
    finally:
        _, status = os.waitpid(pid, 0)
    if status != 0:
        return None
    try:
        digests = pickle.loads(data)
    except Exception:
        return None
    return digests if isinstance(digests, list) else None


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
