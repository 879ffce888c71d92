"""Row 10's measurement of the CSV export: the server's memory while it streams the
catalog, at N/10 and at N rows.

Each store is served afresh by `python -m bench.serve badge` in its own process. After a
warm-up download of one owner's entities (every module, route and query of the export
then loaded), the process's peak RSS is reset to what it holds now (writing 5 to
`/proc/PID/clear_refs`), `/exports/catalog.csv` is read to its end as it streams, and the
peak (VmHWM) less the RSS before the download is what the download cost. VmRSS sampled
every 5 ms during the download stands in where the peak cannot be reset. An export that
holds one chunk of rows at a time costs as much at N rows as at N/10: the ratio of the
two is about 1, where a response built whole would cost ten times as much.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

from bench import load
from bench.context import TRACK_FILE, Context, fresh
from scorecard.runner import run_and_store
from scorecard.store import Store

# Below this, a growth is the allocator's granularity rather than rows kept: ratios are
# taken between growths of at least this much.
FLOOR_MB = 1.0
SAMPLE_SECONDS = 0.005
READ_BYTES = 65_536


@dataclass(frozen=True)
class ExportMemory:
    rows: int
    megabytes: float  # of CSV
    seconds: float
    rss_before_mb: float
    growth_mb: float  # the server's peak RSS during the download, less its RSS before
    how: str  # "VmHWM" (peak reset before the download) or "sampled VmRSS"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def export_memory(ctx: Context) -> tuple[ExportMemory, ExportMemory]:
    """The export of a store of N/10 entities, then of row 2's store of N."""
    tenth = ctx.size // 10
    ctx.log(f"CSV export: a store of {tenth:,} entities, then row 2's of {ctx.size:,}")
    path = fresh(ctx.workdir / "store-tenth.db")
    database = f"sqlite:///{path}"
    with Store(database) as store:
        run_and_store(store, ctx.fresh_entities(tenth), ctx.tracks, trigger="bench")
    owner = next(e.owner for e in ctx.entities[:tenth] if e.owner)
    return _measure(database, tenth, owner), _measure(ctx.cold.database, ctx.size, owner)


def growth_ratio(small: ExportMemory, large: ExportMemory) -> float:
    """The growth at N over that at N/10, each counted as at least `FLOOR_MB`."""
    return max(large.growth_mb, FLOOR_MB) / max(small.growth_mb, FLOOR_MB)


def _measure(database: str, rows: int, owner: str) -> ExportMemory:
    args = ["badge", "--db", database, "--tracks", str(TRACK_FILE)]
    with load.server_process(args) as (url, pid):
        _download(f"{url}/exports/catalog.csv?owner={quote(owner)}")
        before = _status_kb(pid, "VmRSS")
        reset = _reset_peak(pid)
        with _Sampler(pid) as sampled:
            start = time.perf_counter()
            lines, size = _download(f"{url}/exports/catalog.csv")
            seconds = time.perf_counter() - start
        peak = max(_status_kb(pid, "VmHWM"), sampled.peak_kb) if reset else sampled.peak_kb
    if lines - 1 != rows:
        raise RuntimeError(f"the export of {rows:,} entities held {lines - 1:,} rows")
    return ExportMemory(
        rows=rows,
        megabytes=size / 1e6,
        seconds=seconds,
        rss_before_mb=before / 1024,
        growth_mb=max(0, peak - before) / 1024,
        how="VmHWM" if reset else "sampled VmRSS",
    )


def _download(url: str) -> tuple[int, int]:
    """Read `url` to its end a block at a time: (CSV lines, bytes)."""
    lines = size = 0
    ended_in_cr = False
    with urllib.request.urlopen(url, timeout=120) as response:
        if response.status != 200:
            raise RuntimeError(f"GET {url} answered {response.status}")
        while block := response.read(READ_BYTES):
            size += len(block)
            # Rows end in CRLF (a line break inside a quoted cell is a bare LF), which
            # two blocks may split between them.
            lines += block.count(b"\r\n") + (ended_in_cr and block.startswith(b"\n"))
            ended_in_cr = block.endswith(b"\r")
    return lines, size


def _status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


def _reset_peak(pid: int) -> bool:
    """Reset the process's peak RSS (VmHWM) to its RSS now, where the kernel allows."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


class _Sampler:
    """The highest VmRSS of a process, sampled in a thread while the block runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> _Sampler:
        self.peak_kb = _status_kb(self.pid, "VmRSS")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kb = max(self.peak_kb, _status_kb(self.pid, "VmRSS"))

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.peak_kb = max(self.peak_kb, _status_kb(self.pid, "VmRSS"))
