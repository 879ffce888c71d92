"""A real scorecard server on a free loopback port, over a copy of the demo workspace."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from scorecard.service.service import Service
from scorecard.workspace import DEMO_DIR, Workspace, bundled_tracks
from tests.serving import ServedApp, free_port

TOKEN = "test-token-0123456789abcdef"

SLOW_CHECK = '''
import asyncio

from scorecard import Result, check


@check(id="slow", title="Takes a while", remediation="Wait.")
async def slow(entity):
    """Passes after half a second."""
    await asyncio.sleep(0.5)
    return Result.passed(f"{entity.ref} waited.")
'''

SLOW_TRACK = """apiVersion: scorecard/v1
kind: Track
id: patience
title: Patience
filter: {kind: Component, metadata.name: payments-gateway}
levels:
  - id: bronze
    checks: [slow]
"""


@dataclass
class Server:
    url: str
    service: Service
    workspace_dir: Path

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)

    def wait_for_run(self, run_id: int, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while time.monotonic() < deadline:
                run = client.get(f"/api/v1/runs/{run_id}").json()
                if run["status"] != "running":
                    return run
                time.sleep(0.05)
        raise AssertionError(f"run {run_id} did not finish within {timeout} s")


POSTGRES_URL_VARIABLE = "SCORECARD_TEST_POSTGRES_URL"


@pytest.fixture(name="free_port")
def free_port_fixture() -> int:
    return free_port()


def make_workspace(root: Path, database: str) -> Workspace:
    shutil.copytree(DEMO_DIR / "catalog", root / "catalog")
    shutil.copytree(bundled_tracks(), root / "tracks")
    (root / "tracks" / "patience.yaml").write_text(SLOW_TRACK)
    shutil.copytree(DEMO_DIR / "checks", root / "checks")
    (root / "checks" / "slow.py").write_text(SLOW_CHECK)
    return Workspace(
        catalog=[str(root / "catalog" / "catalog-info.yaml")],
        tracks=[root / "tracks"],
        checks=[root / "checks"],
        database=database,
        api_token=TOKEN,
        reload_interval=0,
    )


@pytest.fixture(scope="session")
def workspace_factory() -> Callable[[Path, str], Workspace]:
    """`workspace_factory(folder, database_url)`: a copy of the demo workspace in `folder`."""
    return make_workspace


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    workspace = make_workspace(tmp_path, f"sqlite:///{tmp_path / 'scorecard.db'}")
    with RunningServer(workspace, tmp_path) as running:
        yield running


@pytest.fixture
def start_server() -> type[RunningServer]:
    """`with start_server(workspace, folder) as server:` — a server on any workspace."""
    return RunningServer


class RunningServer:
    """A served app over `workspace` as a context manager yielding a `Server`."""

    def __init__(self, workspace: Workspace, root: Path, *, schedule: bool = False) -> None:
        self.served = ServedApp(workspace, schedule=schedule)
        self.service = self.served.service
        self.running = Server(self.served.url, self.service, root)

    def __enter__(self) -> Server:
        self.served.start(timeout=20)
        return self.running

    def __exit__(self, *exc: object) -> None:
        self.served.stop()
