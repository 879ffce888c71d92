"""Row 5's cold run, alone in a process so that its peak RSS is its own.

`python -m bench.coldrun --catalog DIR --track FILE --db URL` does what `scorecard run`
does on an empty store (read the catalog files, evaluate, store) and prints one JSON
object: the seconds taken, RSS once the catalog is loaded, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
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
    with Store(args.db) as store:
        stored = run_and_store(store, listing.entities, tracks, trigger="bench")
    print(
        json.dumps(
            {
                "entities": len(listing.entities),
                "results": stored.report.result_count,
                "seconds": time.perf_counter() - started,
                "rss_after_load_mb": loaded_mb,
                "peak_rss_mb": _peak_mb(),
            }
        )
    )


if __name__ == "__main__":
    main()
