"""Running the json-rules-engine peer (bench/peers/json-rules-engine) from Python."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PEER_DIR = Path(__file__).resolve().parent / "peers" / "json-rules-engine"


class Unavailable(RuntimeError):
    """A tool the row needs is not installed; the message says which and how to get it."""


@dataclass(frozen=True)
class PeerRun:
    version: str
    evaluations: int
    seconds: float
    evaluations_per_second: float
    passes: dict[str, int]
    raw: dict[str, Any]


def ensure_installed() -> str:
    """The path of `node`, after installing the peer's locked packages when missing."""
    node = shutil.which("node")
    if node is None:
        raise Unavailable("Node.js is not installed (https://nodejs.org, 18 or newer)")
    if not (PEER_DIR / "node_modules" / "json-rules-engine").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            raise Unavailable(f"npm is missing: run `npm ci --prefix {PEER_DIR}`")
        subprocess.run(
            [npm, "ci", "--prefix", str(PEER_DIR), "--no-audit", "--no-fund"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return node


def run_peer(catalog_jsonl: Path) -> PeerRun:
    """Evaluate the ten rules over the catalog with json-rules-engine, in a Node process."""
    node = ensure_installed()
    done = subprocess.run(
        [node, str(PEER_DIR / "evaluate.js"), str(catalog_jsonl)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the json-rules-engine peer failed: {done.stderr.strip()[-2000:]}")
    out = json.loads(done.stdout)
    return PeerRun(
        version=out["version"],
        evaluations=out["evaluations"],
        seconds=out["seconds"],
        evaluations_per_second=out["evaluations_per_second"],
        passes=out["passes"],
        raw=out,
    )
