"""Row 7's machinery: a server process on a free loopback port, and `wrk` against it."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.peer import Unavailable

REPO = Path(__file__).resolve().parent.parent
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass(frozen=True)
class WrkRun:
    requests_per_second: float
    p99_ms: float
    requests: int
    bad_responses: int  # non-2xx/3xx responses plus socket errors
    output: str
    percentiles_ms: dict[str, float] = field(default_factory=dict)  # "50%" … "99%"
    max_ms: float = 0.0
    timeouts: int = 0  # requests that got no answer within wrk's --timeout
    slow: int | None = None  # answered after `slow_script`'s threshold; None: not counted


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def server(args: Sequence[str], timeout: float = 60.0) -> Iterator[str]:
    """`python -m bench.serve ARGS --port P` in its own process (so that the server and
    the load generator never share a GIL); yields its base URL, stops it on exit."""
    with server_process(args, timeout) as (url, _):
        yield url


@contextmanager
def server_process(args: Sequence[str], timeout: float = 60.0) -> Iterator[tuple[str, int]]:
    """`server`, yielding the server process's id beside its URL (to read its memory)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.serve", *args, "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the server exited: {process.stderr.read() if process.stderr else ''}"
                )
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not listen within {timeout:g} s") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def rotate_script(paths: Sequence[str], file: Path) -> Path:
    """A wrk Lua script that requests `paths` in turn, so a run reads many rows of the store
    rather than one cached badge."""
    quoted = ",\n".join(f'  "{p}"' for p in paths)
    file.write_text(
        f"local paths = {{\n{quoted}\n}}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i % #paths + 1\n"
        '  return wrk.format("GET", paths[i])\n'
        "end\n"
    )
    return file


def slow_script(seconds: float, file: Path) -> Path:
    """A wrk Lua script that counts the requests answered after `seconds`, from wrk's own
    histogram of every latency, and prints `slow requests: N` at the end."""
    file.write_text(
        "done = function(summary, latency, requests)\n"
        "  local slow = 0\n"
        "  for i = 1, #latency do\n"
        "    local value, count = latency(i)\n"
        f"    if value > {seconds * 1e6:.0f} then slow = slow + count end\n"
        "  end\n"
        '  io.write(string.format("slow requests: %d\\n", slow))\n'
        "end\n"
    )
    return file


def require_wrk() -> str:
    binary = shutil.which("wrk")
    if binary is None:
        raise Unavailable("wrk is not installed (Debian/Ubuntu: apt-get install wrk)")
    return binary


def wrk(
    url: str,
    seconds: float,
    *,
    connections: int = 64,
    threads: int = 2,
    script: Path | None = None,
    timeout: float | None = None,
) -> WrkRun:
    """Load `url` for `seconds` with wrk and parse requests per second and p99 latency.

    wrk gives up on a request after `timeout` seconds (its default: 2) and leaves it out of
    the latencies, counting it as a socket timeout."""
    command = [require_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    if timeout is not None:
        command.append(f"--timeout={timeout:g}s")
    if script is not None:
        command += ["-s", str(script)]
    done = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout)


def parse_wrk(text: str) -> WrkRun:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)
    total = re.search(r"(\d+) requests in", text)
    if not (rate and p99 and total):
        raise RuntimeError(f"cannot read wrk's output:\n{text}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    latency = re.search(r"^\s+Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s|m)\s", text, re.MULTILINE)
    slow = re.search(r"^slow requests: (\d+)$", text, re.MULTILINE)
    return WrkRun(
        requests_per_second=float(rate.group(1)),
        p99_ms=float(p99.group(1)) * _UNITS[p99.group(2)],
        requests=int(total.group(1)),
        bad_responses=(int(bad.group(1)) if bad else 0)
        + (sum(int(n) for n in errors.groups()) if errors else 0),
        output=text,
        percentiles_ms={
            f"{share}%": float(value) * _UNITS[unit]
            for share, value, unit in re.findall(
                r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE
            )
        },
        max_ms=float(latency.group(1)) * _UNITS[latency.group(2)] if latency else 0.0,
        timeouts=int(errors.group(4)) if errors else 0,
        slow=int(slow.group(1)) if slow else None,
    )
