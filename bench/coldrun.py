"""Row 5's cold run, alone in a process so that its peak RSS is its own.

`python -m bench.coldrun --catalog DIR --track FILE --db URL` does what `scorecard run`
does on an empty store (read the catalog files, evaluate, store) and prints one JSON
object: the seconds taken, RSS once the catalog is loaded, the process's peak RSS, and
the peak memory of the process with the children it forks to evaluate.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path


def _rss_mb() -> float | None:
    """The current resident set size (Linux only)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _peak_mb() -> float:
    """This process's peak RSS. On Linux, VmHWM: `ru_maxrss` carries the parent's peak
    across fork and exec, so a child of the (large) bench process would report the
    parent's peak whenever it was the higher."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Kilobytes on Linux, bytes on macOS.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


class _TreeMemory:
    """Samples, every 50 ms in a thread, the memory of this process and of the processes
    it forks (a large run evaluates in forked children): the sum of their PSS, which
    shares each page among the processes that map it, so pages a child only reads from
    its parent count once. Keeps the peak."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> _TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            pids = [os.getpid(), *_children(os.getpid())]
            total = sum(_pss_kb(pid) for pid in pids) / 1024
            self.peak_mb = max(self.peak_mb, total)


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as listed:
                found.extend(int(child) for child in listed.read().split())
    except OSError:
        pass
    return found


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:  # gone already, or not Linux
        pass
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.coldrun")
    parser.add_argument("--catalog", required=True)
    parser.add_argument("--track", type=Path, required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args(argv)

    from scorecard.catalog import read_catalog
    from scorecard.registry import build_registry
    from scorecard.runner import run_and_store
    from scorecard.store import Store
    from scorecard.tracks import load_track

    started = time.perf_counter()
    tracks = [load_track(args.track, build_registry(plugins=False))]
    listing = read_catalog([args.catalog])
    loaded_mb = _rss_mb()
    with Store(args.db) as store, _TreeMemory() as tree:
        stored = run_and_store(store, listing.entities, tracks, trigger="bench")
    print(
        json.dumps(
            {
                "entities": len(listing.entities),
                "results": stored.report.result_count,
                "seconds": time.perf_counter() - started,
                "rss_after_load_mb": loaded_mb,
                "peak_rss_mb": _peak_mb(),
                # With its forked children, sampled: see _TreeMemory.
                "peak_tree_pss_mb": tree.peak_mb,
            }
        )
    )


if __name__ == "__main__":
    main()
